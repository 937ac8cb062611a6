#include "botgate/core/error.hpp"

#include <gtest/gtest.h>

#include <boost/asio/error.hpp>

#include <stdexcept>
#include <string>

namespace botgate {
namespace {

struct Expected {
  errc code;
  const char* name;
  unsigned status;
  bool retryable;
};

// Every enumerator, with the status a callback gets and whether the outbox retries it. A new
// enumerator must be added here (the count check below fails otherwise).
constexpr Expected kAll[] = {
    {errc::bad_signature, "bad_signature", 401, false},
    {errc::bad_token, "bad_token", 401, false},
    {errc::decrypt_failed, "decrypt_failed", 401, false},
    {errc::malformed_payload, "malformed_payload", 400, false},
    {errc::stale_request, "stale_request", 401, false},
    {errc::rate_limited, "rate_limited", 429, true},
    {errc::token_unavailable, "token_unavailable", 503, true},
    {errc::token_rejected, "token_rejected", 503, true},
    {errc::platform_unavailable, "platform_unavailable", 503, true},
    {errc::platform_rejected, "platform_rejected", 502, false},
    {errc::timeout, "timeout", 503, true},
    {errc::store_failed, "store_failed", 503, true},
    {errc::cancelled, "cancelled", 503, false},
    {errc::invalid_argument, "invalid_argument", 400, false},
    {errc::not_found, "not_found", 404, false},
    {errc::delivery_uncertain, "delivery_uncertain", 502, false},
    {errc::conflict, "conflict", 409, false},
};

TEST(ErrorTest, EveryValueHasCategoryMessageStatusAndRetryability) {
  for (const Expected& e : kAll) {
    SCOPED_TRACE(e.name);
    const error_code ec = e.code;  // through make_error_code, found by ADL
    EXPECT_STREQ(ec.category().name(), "botgate");
    EXPECT_EQ(&ec.category(), &botgate_category());
    EXPECT_FALSE(ec.message().empty());
    EXPECT_EQ(ec.message(), e.name);
    EXPECT_TRUE(ec) << "no enumerator may be 0, which means success";
    const Error error{e.code};
    EXPECT_TRUE(error.is(e.code));
    EXPECT_EQ(http_status_for(error), e.status);
    EXPECT_EQ(is_retryable(error), e.retryable);
  }
}

TEST(ErrorTest, TableCoversEveryEnumerator) {
  // The enumerators are consecutive from 1; the one after the last has the fallback message.
  const int count = static_cast<int>(std::size(kAll));
  EXPECT_EQ(static_cast<int>(errc::conflict), count);
  for (int value = 1; value <= count; ++value) {
    EXPECT_NE(botgate_category().message(value), "unknown botgate error") << value;
  }
  EXPECT_EQ(botgate_category().message(count + 1), "unknown botgate error");
}

TEST(ErrorTest, MessageJoinsCodeAndDetail) {
  EXPECT_EQ(Error(errc::bad_signature, "X-Lark-Signature does not match").message(),
            "bad_signature: X-Lark-Signature does not match");
  EXPECT_EQ(Error(errc::timeout).message(), "timeout");
}

TEST(ErrorTest, KeepsRetryAfter) {
  const Error error{errc::rate_limited, "429", std::chrono::milliseconds(1500)};
  ASSERT_TRUE(error.retry_after);
  EXPECT_EQ(*error.retry_after, std::chrono::milliseconds(1500));
  EXPECT_FALSE(Error(errc::rate_limited).retry_after);
}

TEST(ErrorTest, IsComparesCodeAndCategory) {
  const Error error{errc::timeout};
  EXPECT_TRUE(error.is(errc::timeout));
  EXPECT_FALSE(error.is(errc::cancelled));
  // Same value, other category: not a botgate timeout.
  const error_code generic(static_cast<int>(errc::timeout), boost::system::generic_category());
  const Error foreign{generic};
  EXPECT_FALSE(foreign.is(errc::timeout));
}

TEST(ErrorTest, ForeignErrorsAreRetryableAnd500) {
  // Socket and TLS errors: the network may come back.
  const Error reset{boost::asio::error::connection_reset, "peer reset"};
  EXPECT_TRUE(is_retryable(reset));
  EXPECT_EQ(http_status_for(reset), 500u);
}

TEST(ErrorTest, ResultValueThrowsWithTheMessage) {
  Result<int> failed = Error{errc::not_found, "no bot named 'x'"};
  ASSERT_FALSE(failed);
  try {
    (void)failed.value();
    FAIL() << "value() of an error must throw";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "not_found: no bot named 'x'");
  }
  Result<int> ok = 7;
  EXPECT_EQ(ok.value(), 7);
}

}  // namespace
}  // namespace botgate

/// The AI bot's sender on a long connection and the AibotLink under it: the frames each
/// message becomes, and how the platform's answers (or their absence) end a send.
#include "botgate/net/http_client.hpp"
#include "botgate/platforms/wecom/aibot_link.hpp"
#include "botgate/platforms/wecom/wecom_sender.hpp"
#include "support/memory_store.hpp"
#include "support/run_until.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <deque>
#include <string>

namespace botgate::wecom {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

/// What the platform answers to each request written, in order; none left: no answer.
struct ScriptedPlatform {
  std::vector<json::object> frames;
  std::deque<std::int64_t> errcodes;
  bool connected = true;
};

class AibotLongconnSenderTest : public ::testing::Test {
 protected:
  AibotLongconnSenderTest() {
    link_->set_writer([this](std::string text) -> asio::awaitable<Result<void>> {
      if (!platform_.connected) co_return Error{errc::platform_unavailable, "not connected"};
      auto frame = json::parse(text).as_object();
      platform_.frames.push_back(frame);
      if (!platform_.errcodes.empty()) {
        const std::int64_t code = platform_.errcodes.front();
        platform_.errcodes.pop_front();
        link_->complete(std::string(frame.at("headers").at("req_id").as_string()),
                        AibotAnswer{code, code == 0 ? "ok" : "refused"});
      }
      co_return Result<void>{};
    });
  }

  WecomSender make_sender() {
    WecomConfig config;
    config.bot_name = "ai";
    config.kind = WecomKind::aibot;
    config.long_connection = true;
    config.bot_id = "aibXYZ";
    config.secret = "s3cret";
    return WecomSender(config, services_, link_);
  }

  Result<SentMessage> send(const OutgoingMessage& message) {
    WecomSender sender = make_sender();
    return botgate::test::run_on(io_, sender.send(message));
  }

  static OutgoingMessage reply(std::string text, std::string req_id) {
    OutgoingMessage m = OutgoingMessage::markdown(std::move(text));
    m.chat_id = "wrkChat";
    m.chat_type = ChatType::group;
    m.reply_credential = std::move(req_id);
    m.idempotency_key = "key-1";
    return m;
  }

  asio::io_context io_;
  net::HttpClient http_{io_.get_executor(), net::HttpClientOptions{}};
  botgate::test::MemoryStore store_;
  platforms::PlatformServices services_{io_.get_executor(), http_, store_};
  std::shared_ptr<AibotLink> link_ = std::make_shared<AibotLink>(io_.get_executor(), 100ms);
  ScriptedPlatform platform_;
};

TEST_F(AibotLongconnSenderTest, AReplyIsOneFinishedStreamOnTheCallbacksReqId) {
  link_->note_callback("cb-1");
  platform_.errcodes = {0};
  auto sent = send(reply("**Hello**", "cb-1"));
  ASSERT_TRUE(sent) << sent.error().message();
  EXPECT_EQ(sent->platform_message_id, "key-1");
  ASSERT_EQ(platform_.frames.size(), 1u);
  const json::object& f = platform_.frames[0];
  EXPECT_EQ(f.at("cmd"), "aibot_respond_msg");
  EXPECT_EQ(f.at("headers").at("req_id"), "cb-1");
  EXPECT_EQ(f.at("body"), json::parse(R"({"msgtype":"stream","stream":)"
                                      R"({"id":"key-1","finish":true,"content":"**Hello**"}})"));
  EXPECT_EQ(link_->waiting(), 0u);
}

TEST_F(AibotLongconnSenderTest, AReplyToACallbackOfAnEarlierConnectionGoesToTheChat) {
  platform_.errcodes = {0};
  auto sent = send(reply("later", "cb-old"));
  ASSERT_TRUE(sent) << sent.error().message();
  ASSERT_EQ(platform_.frames.size(), 1u);
  const json::object& f = platform_.frames[0];
  EXPECT_EQ(f.at("cmd"), "aibot_send_msg");
  EXPECT_TRUE(std::string(f.at("headers").at("req_id").as_string()).starts_with("aibot_send_msg_"));
  EXPECT_EQ(f.at("body"), json::parse(R"({"chatid":"wrkChat","msgtype":"markdown",)"
                                      R"("markdown":{"content":"later"}})"));
}

TEST_F(AibotLongconnSenderTest, AReqIdThePlatformNoLongerKnowsFallsBackToTheChat) {
  link_->note_callback("cb-1");
  platform_.errcodes = {kAibotUnknownReqId, 0};
  auto sent = send(reply("x", "cb-1"));
  ASSERT_TRUE(sent) << sent.error().message();
  ASSERT_EQ(platform_.frames.size(), 2u);
  EXPECT_EQ(platform_.frames[0].at("cmd"), "aibot_respond_msg");
  EXPECT_EQ(platform_.frames[1].at("cmd"), "aibot_send_msg");
}

TEST_F(AibotLongconnSenderTest, ErrcodesBecomeBotgateErrors) {
  link_->note_callback("cb-1");
  platform_.errcodes = {45009};
  auto limited = send(reply("x", "cb-1"));
  ASSERT_FALSE(limited);
  EXPECT_TRUE(limited.error().is(errc::rate_limited));
  ASSERT_TRUE(limited.error().retry_after);
  EXPECT_EQ(*limited.error().retry_after, 60s);

  platform_.errcodes = {40058};
  auto rejected = send(OutgoingMessage::markdown("x").in_reply_to([] {
    Event e;
    e.bot = "ai";
    e.chat.id = "wrkChat";
    return e;
  }()));
  ASSERT_FALSE(rejected);
  EXPECT_TRUE(rejected.error().is(errc::platform_rejected));
  EXPECT_NE(rejected.error().detail.find("40058"), std::string::npos);
}

TEST_F(AibotLongconnSenderTest, NoAnswerIsUncertainAndNoConnectionIsRetryable) {
  link_->note_callback("cb-1");
  auto silent = send(reply("x", "cb-1"));  // no errcode scripted: no answer in 100 ms
  ASSERT_FALSE(silent);
  EXPECT_TRUE(silent.error().is(errc::delivery_uncertain));
  EXPECT_FALSE(is_retryable(silent.error()));
  EXPECT_EQ(link_->waiting(), 0u);

  platform_.connected = false;
  auto down = send(reply("x", "cb-1"));
  ASSERT_FALSE(down);
  EXPECT_TRUE(down.error().is(errc::platform_unavailable));
  EXPECT_TRUE(is_retryable(down.error()));
  EXPECT_EQ(platform_.frames.size(), 1u);
}

TEST_F(AibotLongconnSenderTest, AConnectionLostUnderARequestEndsItUncertainAtOnce) {
  link_->note_callback("cb-1");
  WecomSender sender = make_sender();
  std::optional<Result<SentMessage>> got;
  const OutgoingMessage message = reply("x", "cb-1");
  asio::co_spawn(
      io_, [&]() -> asio::awaitable<void> { got = co_await sender.send(message); },
      asio::detached);
  io_.poll();
  ASSERT_EQ(platform_.frames.size(), 1u);
  EXPECT_FALSE(got);
  link_->connection_lost();
  io_.poll();
  ASSERT_TRUE(got);
  ASSERT_FALSE(*got);
  EXPECT_TRUE(got->error().is(errc::delivery_uncertain));
  EXPECT_FALSE(link_->is_current_callback("cb-1"));
}

TEST(AibotLinkTest, ReqIdsAreDistinctAndNameTheirCommand) {
  asio::io_context io;
  AibotLink a(io.get_executor());
  AibotLink b(io.get_executor());
  const std::string first = a.next_req_id("ping");
  EXPECT_TRUE(first.starts_with("ping_")) << first;
  EXPECT_NE(first, a.next_req_id("ping"));
  EXPECT_NE(first, b.next_req_id("ping"));  // another process (or link) has another nonce
}

TEST(AibotLinkTest, ItRemembersTheLastCallbacksOnly) {
  asio::io_context io;
  AibotLink link(io.get_executor());
  for (std::size_t i = 0; i <= AibotLink::kMaxCallbacks; ++i) {
    link.note_callback("cb-" + std::to_string(i));
  }
  EXPECT_FALSE(link.is_current_callback("cb-0"));
  EXPECT_TRUE(link.is_current_callback("cb-1"));
  EXPECT_TRUE(link.is_current_callback("cb-" + std::to_string(AibotLink::kMaxCallbacks)));
  EXPECT_FALSE(link.complete("cb-1", AibotAnswer{}));  // nobody waits for it
}

}  // namespace
}  // namespace botgate::wecom

#include "botgate/platforms/discord/discord_sender.hpp"

#include "botgate/net/http_client.hpp"
#include "botgate/platforms/discord/discord_markup.hpp"
#include "support/memory_store.hpp"
#include "support/net_test_servers.hpp"
#include "support/platform_test_helpers.hpp"
#include "support/run_until.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace botgate::discord {
namespace {
namespace json = boost::json;
using namespace std::chrono_literals;
using ::botgate::test::json_response;
using Clock = std::chrono::steady_clock;

const std::string kToken = "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs";
const std::string kInteractionToken = "aW50ZXJhY3Rpb24.SECRET-interaction_token";
const std::string kApplicationId = "123456789012345678";
const std::string kUserAgent = "DiscordBot (https://github.com/botgate/botgate, 0.1)";

/// A Discord stand-in under /api/v10. Scripted answers (by target prefix) go first, once each;
/// otherwise GET /users/@me and GET /gateway/bot answer as Discord does, and every message
/// create, edit or follow-up answers 200 with a message id m-1, m-2...
class FakeDiscord {
 public:
  void script(std::string target_prefix, HttpResponse response) {
    std::lock_guard lock(mutex_);
    scripted_.push_back({std::move(target_prefix), std::move(response)});
  }

  HttpResponse handle(const HttpRequest& request) {
    const std::string_view target = request.target();
    {
      std::lock_guard lock(mutex_);
      for (auto it = scripted_.begin(); it != scripted_.end(); ++it) {
        if (target.starts_with(it->first)) {
          HttpResponse response = std::move(it->second);
          scripted_.erase(it);
          return response;
        }
      }
    }
    if (target == "/api/v10/users/@me") {
      return json_response(http::status::ok,
                           R"({"id":"111111111111111111","username":"botgate","bot":true})");
    }
    if (target == "/api/v10/gateway/bot") {
      return json_response(http::status::ok,
                           R"({"url":"wss://gateway.discord.gg","shards":9,"session_start_limit":)"
                           R"({"total":1000,"remaining":999,"reset_after":14400000,)"
                           R"("max_concurrency":1}})");
    }
    const int n = ++messages_;
    return json_response(http::status::ok,
                         R"({"id":"m-)" + std::to_string(n) + R"(","channel_id":"100"})");
  }

 private:
  std::mutex mutex_;
  std::deque<std::pair<std::string, HttpResponse>> scripted_;
  std::atomic<int> messages_{0};
};

HttpResponse error_answer(unsigned status, std::string body) {
  return json_response(static_cast<http::status>(status), std::move(body));
}

class DiscordSenderTest : public ::testing::Test {
 protected:
  DiscordSenderTest()
      : server_({}, [this](const HttpRequest& r) { return fake_.handle(r); }),
        http_(io_.get_executor(), net::HttpClientOptions{}) {}

  DiscordConfig config() const {
    DiscordConfig c;
    c.bot_name = "disco";
    c.api_base = server_.url("/api/v10");
    c.token = kToken;
    c.application_id = kApplicationId;
    return c;
  }

  DiscordSender make_sender() { return DiscordSender(config(), services_); }

  Result<SentMessage> send(DiscordSender& sender, const OutgoingMessage& message) {
    auto sent = botgate::test::run_on(io_, sender.send(message));
    if (!sent) errors_.push_back(sent.error());
    return sent;
  }

  static OutgoingMessage channel_message(std::string text, std::string channel = "100") {
    OutgoingMessage m = OutgoingMessage::plain(std::move(text));
    m.bot = "disco";
    m.chat_id = std::move(channel);
    m.chat_type = ChatType::channel;
    m.idempotency_key = "0123456789abcdef01234567-0";
    return m;
  }

  static OutgoingMessage interaction_reply(std::string text, std::string key) {
    OutgoingMessage m = OutgoingMessage::plain(std::move(text));
    m.bot = "disco";
    m.chat_id = "100";
    m.reply_credential = "interaction:" + kApplicationId + ":" + kInteractionToken;
    m.idempotency_key = std::move(key);
    return m;
  }

  std::vector<HttpRequest> requests() const { return server_.requests(); }

  /// Every error a test saw, to check at the end that none names a secret.
  void expect_no_secret_in_errors() const {
    for (const Error& error : errors_) {
      EXPECT_EQ(error.detail.find(kToken), std::string::npos) << error.detail;
      EXPECT_EQ(error.detail.find(kInteractionToken), std::string::npos) << error.detail;
      EXPECT_EQ(error.detail.find("SECRET"), std::string::npos) << error.detail;
    }
  }

  FakeDiscord fake_;
  botgate::test::TestHttpServer server_;
  boost::asio::io_context io_;
  net::HttpClient http_;
  botgate::test::MemoryStore store_;
  platforms::PlatformServices services_{io_.get_executor(), http_, store_};
  std::vector<Error> errors_;
};

TEST(DiscordNonceTest, TheKeyWhenItFitsElseAStable25CharacterDigest) {
  EXPECT_EQ(discord_nonce("short-key"), "short-key");
  EXPECT_EQ(discord_nonce(std::string(25, 'k')), std::string(25, 'k'));
  const std::string key = "0123456789abcdef01234567-0";  // what the runtime makes: 26 chars
  const std::string nonce = discord_nonce(key);
  EXPECT_EQ(nonce.size(), 25u);
  EXPECT_EQ(nonce, discord_nonce(key));
  EXPECT_NE(nonce, discord_nonce("0123456789abcdef01234567-1"));
  EXPECT_EQ(discord_nonce(""), "");
}

TEST(DiscordInteractionContextTest, ParsesApplicationAndToken) {
  auto reply = parse_interaction_context("interaction:123:tok:with:colons");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->application_id, "123");
  EXPECT_EQ(reply->token, "tok:with:colons");
  EXPECT_FALSE(parse_interaction_context(""));
  EXPECT_FALSE(parse_interaction_context("interaction:123"));
  EXPECT_FALSE(parse_interaction_context("interaction::tok"));
  EXPECT_FALSE(parse_interaction_context("https://example.com/hook"));
}

TEST(DiscordErrorTest, MapsStatusesAndJsonCodes) {
  const std::string what = "POST /channels/{channel_id}/messages";
  struct Case {
    unsigned status;
    std::string body;
    errc expected;
    std::string detail;
  };
  const std::vector<Case> cases{
      {403, R"({"message":"Missing Access","code":50001})", errc::platform_rejected,
       "discord 50001: Missing Access"},
      {403, R"({"message":"Missing Permissions","code":50013})", errc::platform_rejected,
       "discord 50013: Missing Permissions"},
      {404, R"({"message":"Unknown Channel","code":10003})", errc::platform_rejected,
       "discord 10003: Unknown Channel"},
      {404, R"({"message":"Unknown Message","code":10008})", errc::platform_rejected,
       "discord 10008: Unknown Message"},
      {400, R"({"message":"Cannot send an empty message","code":50006})",
       errc::platform_rejected, "discord 50006: Cannot send an empty message"},
      {403, R"({"message":"Cannot send messages to this user","code":50007})",
       errc::platform_rejected, "discord 50007"},
      {400, R"({"message":"Cannot send messages in a non-text channel","code":50008})",
       errc::platform_rejected, "discord 50008"},
      {404, R"({"message":"Unknown interaction","code":10062})", errc::platform_rejected,
       "discord 10062: Unknown interaction"},
      {400, R"({"message":"Interaction has already been acknowledged.","code":40060})",
       errc::platform_rejected, "discord 40060"},
      {413, R"({"message":"Request entity too large","code":40005})", errc::platform_rejected,
       "discord 40005"},
      {400,
       R"({"code":50035,"message":"Invalid Form Body","errors":{"content":{"_errors":)"
       R"([{"code":"BASE_TYPE_MAX_LENGTH","message":"Must be 2000 or fewer in length."}]}}})",
       errc::platform_rejected,
       "discord 50035: Invalid Form Body (content: Must be 2000 or fewer in length.)"},
      {404, "<html>not found</html>", errc::platform_rejected, "discord HTTP 404"},
      {401, R"({"message":"401: Unauthorized","code":0})", errc::token_rejected, "401"},
      {500, "oops", errc::platform_unavailable, "HTTP 500"},
      {502, "<html>bad gateway</html>", errc::platform_unavailable, "HTTP 502"},
      {503, R"({"message":"x","code":0})", errc::platform_unavailable, "HTTP 503"},
  };
  for (const Case& c : cases) {
    const Error error = discord_error(error_answer(c.status, c.body), what);
    EXPECT_TRUE(error.is(c.expected)) << c.body << " -> " << error.message();
    EXPECT_NE(error.detail.find(c.detail), std::string::npos) << error.detail;
    EXPECT_TRUE(error.detail.starts_with(what)) << error.detail;
    if (c.expected == errc::platform_rejected) {
      EXPECT_FALSE(is_retryable(error)) << c.body;
    }
    if (c.expected == errc::platform_unavailable) {
      EXPECT_TRUE(is_retryable(error)) << c.body;
    }
  }
}

TEST(DiscordErrorTest, RateLimitsCarryRetryAfter) {
  Error bucket = discord_error(
      error_answer(429, R"({"message":"You are being rate limited.","retry_after":1.25,)"
                        R"("global":false})"),
      "x");
  EXPECT_TRUE(bucket.is(errc::rate_limited));
  EXPECT_EQ(bucket.retry_after, std::optional<std::chrono::milliseconds>(1250ms));
  Error global = discord_error(
      error_answer(429, R"({"message":"x","retry_after":30,"global":true})"), "x");
  EXPECT_NE(global.detail.find("global"), std::string::npos);
  EXPECT_EQ(global.retry_after, std::optional<std::chrono::milliseconds>(30s));
  // Slowmode and the channel write limit: later, from the body or after 5 s.
  Error slowmode = discord_error(
      error_answer(429, R"({"message":"Slowmode","code":20016,"retry_after":7})"), "x");
  EXPECT_TRUE(slowmode.is(errc::rate_limited));
  EXPECT_EQ(slowmode.retry_after, std::optional<std::chrono::milliseconds>(7s));
  Error write_limit = discord_error(
      error_answer(400, R"({"message":"channel write limit","code":20028})"), "x");
  EXPECT_TRUE(write_limit.is(errc::rate_limited));
  EXPECT_EQ(write_limit.retry_after, std::optional<std::chrono::milliseconds>(5s));
  EXPECT_NE(write_limit.detail.find("discord 20028"), std::string::npos);
}

TEST_F(DiscordSenderTest, PrepareChecksTheTokenAndLearnsTheBotsId) {
  DiscordSender sender = make_sender();
  auto prepared = botgate::test::run_on(io_, sender.prepare());
  ASSERT_TRUE(prepared) << prepared.error().message();
  EXPECT_EQ(sender.api().bot_user_id(), "111111111111111111");
  const auto sent = requests();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].method(), http::verb::get);
  EXPECT_EQ(sent[0].target(), "/api/v10/users/@me");
  EXPECT_EQ(sent[0][http::field::authorization], "Bot " + kToken);
  EXPECT_EQ(sent[0][http::field::user_agent], kUserAgent);
  EXPECT_EQ(sent[0][http::field::content_type], "") << "a request without a body has no type";
}

TEST_F(DiscordSenderTest, A401StopsEveryUseOfTheToken) {
  fake_.script("/api/v10/users/@me", error_answer(401, R"({"message":"401: Unauthorized",)"
                                                       R"("code":0})"));
  DiscordSender sender = make_sender();
  auto prepared = botgate::test::run_on(io_, sender.prepare());
  ASSERT_FALSE(prepared);
  errors_.push_back(prepared.error());
  EXPECT_TRUE(prepared.error().is(errc::token_rejected));
  EXPECT_NE(prepared.error().detail.find("Developer Portal"), std::string::npos);
  EXPECT_NE(prepared.error().detail.find("`token`"), std::string::npos);
  EXPECT_TRUE(sender.api().token_rejected());
  EXPECT_TRUE(sender.api().bot_user_id().empty());
  ASSERT_EQ(requests().size(), 1u);

  // Neither a send nor another prepare reaches Discord again.
  auto sent = send(sender, channel_message("hi"));
  ASSERT_FALSE(sent);
  EXPECT_TRUE(sent.error().is(errc::token_rejected));
  auto again = botgate::test::run_on(io_, sender.prepare());
  ASSERT_FALSE(again);
  errors_.push_back(again.error());
  EXPECT_TRUE(again.error().is(errc::token_rejected));
  auto gateway = botgate::test::run_on(io_, sender.api().gateway_bot());
  ASSERT_FALSE(gateway);
  EXPECT_EQ(requests().size(), 1u);
  EXPECT_EQ(sender.api().rate_limits().invalid_requests(Clock::now()), 1u);
  expect_no_secret_in_errors();
}

TEST_F(DiscordSenderTest, AChannelReplyHasAReferenceANonceAndAllowedMentions) {
  DiscordSender sender = make_sender();
  OutgoingMessage m = channel_message("");
  m.segments = {Mention{"80351110224678912", "nelly"}, Text{" pong"}};
  m.reply_to = "1100000000000000001";
  auto sent = send(sender, m);
  ASSERT_TRUE(sent) << sent.error().message();
  EXPECT_EQ(sent->platform_message_id, "m-1");
  const auto sent_requests = requests();
  ASSERT_EQ(sent_requests.size(), 1u);
  const HttpRequest& request = sent_requests[0];
  EXPECT_EQ(request.method(), http::verb::post);
  EXPECT_EQ(request.target(), "/api/v10/channels/100/messages");
  EXPECT_EQ(request[http::field::authorization], "Bot " + kToken);
  EXPECT_EQ(request[http::field::user_agent], kUserAgent);
  EXPECT_EQ(request[http::field::content_type], "application/json");
  const json::value expected = {
      {"content", "<@80351110224678912> pong"},
      {"allowed_mentions",
       {{"parse", json::array{}}, {"users", json::array{"80351110224678912"}},
        {"replied_user", true}}},
      {"message_reference", {{"message_id", "1100000000000000001"}, {"fail_if_not_exists", false}}},
      {"nonce", discord_nonce(m.idempotency_key)},
      {"enforce_nonce", true}};
  EXPECT_EQ(json::parse(request.body()), expected);
}

TEST_F(DiscordSenderTest, ARetriedSendCarriesTheSameShortNonce) {
  DiscordSender sender = make_sender();
  fake_.script("/api/v10/channels/100/messages", error_answer(502, "<html>bad gateway</html>"));
  OutgoingMessage m = channel_message("once");
  m.idempotency_key = "0123456789abcdef01234567-12";
  auto first = send(sender, m);
  ASSERT_FALSE(first);
  EXPECT_TRUE(first.error().is(errc::platform_unavailable));
  EXPECT_TRUE(is_retryable(first.error()));
  ASSERT_TRUE(send(sender, m));
  const auto sent = requests();
  ASSERT_EQ(sent.size(), 2u);
  const auto nonce0 = json::parse(sent[0].body()).as_object().at("nonce");
  const auto nonce1 = json::parse(sent[1].body()).as_object().at("nonce");
  EXPECT_EQ(nonce0, nonce1);
  EXPECT_LE(nonce0.as_string().size(), 25u);
  EXPECT_EQ(json::parse(sent[1].body()).as_object().at("enforce_nonce"), json::value(true));
  // A proactive message has no message_reference, and a short key is its own nonce.
  OutgoingMessage proactive = channel_message("hello", "200");
  proactive.idempotency_key = "abc";
  ASSERT_TRUE(send(sender, proactive));
  const auto body = json::parse(requests().back().body()).as_object();
  EXPECT_FALSE(body.contains("message_reference"));
  EXPECT_EQ(body.at("nonce"), json::value("abc"));
}

TEST_F(DiscordSenderTest, ImagesAreEmbedsAndEveryoneIsAllowedOnlyWhenMentioned) {
  DiscordSender sender = make_sender();
  OutgoingMessage m = channel_message("");
  m.segments = {Mention{"all", ""}, Text{" chart:"}, Image{"https://example.com/c.png"}};
  ASSERT_TRUE(send(sender, m));
  const auto body = json::parse(requests().back().body()).as_object();
  EXPECT_EQ(body.at("content"), json::value("@everyone chart:"));
  EXPECT_EQ(body.at("embeds"), json::parse(R"([{"image":{"url":"https://example.com/c.png"}}])"));
  EXPECT_EQ(body.at("allowed_mentions"), json::parse(R"({"parse":["everyone"]})"));
}

TEST_F(DiscordSenderTest, AnEmptyMessageIsRejectedWithoutARequest) {
  DiscordSender sender = make_sender();
  auto sent = send(sender, channel_message(""));
  ASSERT_FALSE(sent);
  EXPECT_TRUE(sent.error().is(errc::platform_rejected));
  EXPECT_TRUE(requests().empty());
}

TEST_F(DiscordSenderTest, TheFirstInteractionReplyEditsTheDeferredResponse) {
  DiscordSender sender = make_sender();
  auto first = send(sender, interaction_reply("result", "0123456789abcdef01234567-0"));
  ASSERT_TRUE(first) << first.error().message();
  auto second = send(sender, interaction_reply("and more", "0123456789abcdef01234567-1"));
  ASSERT_TRUE(second) << second.error().message();
  const auto sent = requests();
  ASSERT_EQ(sent.size(), 2u);
  const std::string webhook = "/api/v10/webhooks/" + kApplicationId + "/" + kInteractionToken;
  EXPECT_EQ(sent[0].method(), http::verb::patch);
  EXPECT_EQ(sent[0].target(), webhook + "/messages/@original");
  EXPECT_EQ(sent[1].method(), http::verb::post);
  EXPECT_EQ(sent[1].target(), webhook);
  for (const HttpRequest& request : sent) {
    // The interaction token authorises these: the bot token is not sent.
    EXPECT_TRUE(request.find(http::field::authorization) == request.end());
    EXPECT_EQ(request[http::field::user_agent], kUserAgent);
    const auto body = json::parse(request.body()).as_object();
    EXPECT_FALSE(body.contains("nonce"));
    EXPECT_FALSE(body.contains("message_reference"));
  }
  EXPECT_EQ(json::parse(sent[0].body()).as_object().at("content"), json::value("result"));
}

TEST_F(DiscordSenderTest, ARejectedInteractionTokenIsNotTheBotToken) {
  DiscordSender sender = make_sender();
  fake_.script("/api/v10/webhooks/", error_answer(401, R"({"message":"Invalid Webhook Token",)"
                                                       R"("code":50027})"));
  fake_.script("/api/v10/webhooks/", error_answer(404, R"({"message":"Unknown interaction",)"
                                                       R"("code":10062})"));
  auto expired = send(sender, interaction_reply("late", "0123456789abcdef01234567-0"));
  ASSERT_FALSE(expired);
  EXPECT_TRUE(expired.error().is(errc::platform_rejected)) << expired.error().message();
  EXPECT_FALSE(sender.api().token_rejected());
  auto unknown = send(sender, interaction_reply("late", "0123456789abcdef01234567-1"));
  ASSERT_FALSE(unknown);
  EXPECT_TRUE(unknown.error().is(errc::platform_rejected));
  EXPECT_NE(unknown.error().detail.find("discord 10062"), std::string::npos);
  EXPECT_TRUE(send(sender, channel_message("still fine")));
  expect_no_secret_in_errors();
}

TEST_F(DiscordSenderTest, A429PausesItsBucketButNotAnotherChannel) {
  DiscordSender sender = make_sender();
  HttpResponse limited = error_answer(
      429, R"({"message":"You are being rate limited.","retry_after":60,"global":false})");
  limited.set("X-RateLimit-Bucket", "abcd1234");
  limited.set("X-RateLimit-Limit", "5");
  limited.set("X-RateLimit-Remaining", "0");
  limited.set("X-RateLimit-Reset-After", "60");
  limited.set("X-RateLimit-Scope", "user");
  fake_.script("/api/v10/channels/100/messages", limited);
  auto first = send(sender, channel_message("one"));
  ASSERT_FALSE(first);
  EXPECT_TRUE(first.error().is(errc::rate_limited));
  EXPECT_EQ(first.error().retry_after, std::optional<std::chrono::milliseconds>(60s));
  // The same bucket: refused at once (60 s is beyond max_wait), without asking Discord.
  auto second = send(sender, channel_message("two"));
  ASSERT_FALSE(second);
  EXPECT_TRUE(second.error().is(errc::rate_limited));
  ASSERT_TRUE(second.error().retry_after.has_value());
  EXPECT_GT(*second.error().retry_after, 50s);
  EXPECT_EQ(requests().size(), 1u);
  // Another channel has its own bucket.
  ASSERT_TRUE(send(sender, channel_message("three", "200")));
  EXPECT_EQ(requests().size(), 2u);
  expect_no_secret_in_errors();
}

TEST_F(DiscordSenderTest, ASecondRequestToAnExhaustedBucketWaitsForResetAfter) {
  DiscordSender sender = make_sender();
  HttpResponse last = json_response(http::status::ok, R"({"id":"m-0"})");
  last.set("X-RateLimit-Bucket", "abcd1234");
  last.set("X-RateLimit-Limit", "5");
  last.set("X-RateLimit-Remaining", "0");
  last.set("X-RateLimit-Reset-After", "1");
  fake_.script("/api/v10/channels/100/messages", last);
  ASSERT_TRUE(send(sender, channel_message("uses the last one")));
  const auto exhausted_at = Clock::now();
  // Channel 200 is another bucket: no wait.
  ASSERT_TRUE(send(sender, channel_message("other channel", "200")));
  EXPECT_LT(Clock::now() - exhausted_at, 800ms);
  // Channel 100 waits for its reset, then goes.
  auto waited = send(sender, channel_message("after the reset"));
  ASSERT_TRUE(waited) << waited.error().message();
  EXPECT_GE(Clock::now() - exhausted_at, 900ms);
  EXPECT_EQ(requests().size(), 3u);
}

TEST_F(DiscordSenderTest, AGlobal429PausesEveryChannelButNotInteractionWebhooks) {
  DiscordSender sender = make_sender();
  HttpResponse limited = error_answer(429, R"({"message":"x","retry_after":30,"global":true})");
  limited.set("X-RateLimit-Global", "true");
  limited.set("X-RateLimit-Scope", "global");
  fake_.script("/api/v10/channels/100/messages", limited);
  ASSERT_FALSE(send(sender, channel_message("one")));
  auto other = send(sender, channel_message("two", "200"));
  ASSERT_FALSE(other);
  EXPECT_TRUE(other.error().is(errc::rate_limited));
  EXPECT_NE(other.error().detail.find("global pause"), std::string::npos);
  EXPECT_EQ(requests().size(), 1u);
  ASSERT_TRUE(send(sender, interaction_reply("exempt", "0123456789abcdef01234567-1")));
  EXPECT_EQ(requests().size(), 2u);
}

TEST_F(DiscordSenderTest, ErrorsAreMappedAndNeverNameASecret) {
  DiscordSender sender = make_sender();
  fake_.script("/api/v10/channels/100/messages",
               error_answer(403, R"({"message":"Missing Permissions","code":50013})"));
  fake_.script("/api/v10/channels/100/messages", error_answer(500, "{}"));
  fake_.script("/api/v10/webhooks/", error_answer(500, "{}"));
  fake_.script("/api/v10/channels/100/messages",
               error_answer(429, R"({"message":"Slowmode","code":20016,"retry_after":2})"));
  auto forbidden = send(sender, channel_message("a"));
  ASSERT_FALSE(forbidden);
  EXPECT_TRUE(forbidden.error().is(errc::platform_rejected));
  EXPECT_NE(forbidden.error().detail.find("discord 50013: Missing Permissions"),
            std::string::npos);
  auto busy = send(sender, channel_message("b"));
  ASSERT_FALSE(busy);
  EXPECT_TRUE(busy.error().is(errc::platform_unavailable));
  auto webhook_busy = send(sender, interaction_reply("c", "0123456789abcdef01234567-0"));
  ASSERT_FALSE(webhook_busy);
  EXPECT_TRUE(webhook_busy.error().is(errc::platform_unavailable));
  auto slow = send(sender, channel_message("d"));
  ASSERT_FALSE(slow);
  EXPECT_TRUE(slow.error().is(errc::rate_limited));
  EXPECT_EQ(slow.error().retry_after, std::optional<std::chrono::milliseconds>(2s));
  EXPECT_EQ(errors_.size(), 4u);
  expect_no_secret_in_errors();
}

TEST_F(DiscordSenderTest, AnUnreachableDiscordIsUnavailable) {
  DiscordConfig c = config();
  {
    // A port that was just free: nothing listens there now.
    boost::asio::ip::tcp::acceptor probe(io_, {boost::asio::ip::make_address("127.0.0.1"), 0});
    c.api_base = "http://127.0.0.1:" + std::to_string(probe.local_endpoint().port()) + "/api/v10";
  }
  DiscordSender sender(c, services_);
  auto sent = send(sender, interaction_reply("x", "0123456789abcdef01234567-0"));
  ASSERT_FALSE(sent);
  EXPECT_TRUE(is_retryable(sent.error())) << sent.error().message();
  EXPECT_TRUE(sent.error().is(errc::platform_unavailable)) << sent.error().message();
  expect_no_secret_in_errors();
}

TEST_F(DiscordSenderTest, SplitCutsAt2000CodePointsAndEachPartIsSent) {
  DiscordSender sender = make_sender();
  OutgoingMessage m = channel_message("");
  m.segments = {Text{std::string(1000, 'a')}, Text{"你好世界"}, Markdown{std::string(1500, 'b')},
                Image{"https://example.com/c.png"}};
  m.reply_to = "1100000000000000001";
  const auto parts = sender.split(m);
  ASSERT_EQ(parts.size(), 2u);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    OutgoingMessage part = parts[i];
    part.idempotency_key = "0123456789abcdef01234567-" + std::to_string(i);
    ASSERT_TRUE(send(sender, part));
  }
  const auto sent = requests();
  ASSERT_EQ(sent.size(), 2u);
  const auto first = json::parse(sent[0].body()).as_object();
  const auto second = json::parse(sent[1].body()).as_object();
  EXPECT_EQ(count_code_points(first.at("content").as_string()), 2000u);
  EXPECT_EQ(count_code_points(second.at("content").as_string()), 2504u - 2000u);
  EXPECT_EQ(std::string(first.at("content").as_string()) +
                std::string(second.at("content").as_string()),
            std::string(1000, 'a') + "你好世界" + std::string(1500, 'b'));
  EXPECT_FALSE(first.contains("embeds"));
  EXPECT_TRUE(second.contains("embeds"));  // embeds stay on the last part
  EXPECT_TRUE(first.contains("message_reference"));
  EXPECT_TRUE(second.contains("message_reference"));
  EXPECT_NE(first.at("nonce"), second.at("nonce"));
}

TEST_F(DiscordSenderTest, GatewayBotReadsUrlShardsAndSessionStartLimit) {
  DiscordSender sender = make_sender();
  auto info = botgate::test::run_on(io_, sender.api().gateway_bot());
  ASSERT_TRUE(info) << info.error().message();
  EXPECT_EQ(info->url, "wss://gateway.discord.gg");
  EXPECT_EQ(info->shards, 9);
  EXPECT_EQ(info->total, 1000);
  EXPECT_EQ(info->remaining, 999);
  EXPECT_EQ(info->reset_after, 14400000ms);
  EXPECT_EQ(info->max_concurrency, 1);
  const auto sent = requests();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].target(), "/api/v10/gateway/bot");
  EXPECT_EQ(sent[0][http::field::authorization], "Bot " + kToken);
}

}  // namespace
}  // namespace botgate::discord

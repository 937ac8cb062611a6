#include "botgate/platforms/qq/qq_sender.hpp"

#include "botgate/net/http_client.hpp"
#include "support/memory_store.hpp"
#include "support/net_test_servers.hpp"
#include "support/platform_test_helpers.hpp"
#include "support/run_until.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace botgate::qq {
namespace {
namespace json = boost::json;
using namespace std::chrono_literals;
using ::botgate::test::json_response;

const std::string kAppId = "102000000";
const std::string kAppSecret = "SECRETappSecretValue0123";
const std::string kTokenPrefix = "TOKEN-secret-";
const std::string kTokenPath = "/app/getAppAccessToken";
const std::string kEventKey = "0123456789abcdef01234567";

/// A QQ OpenAPI stand-in: the token endpoint hands out TOKEN-secret-1, -2...; scripted answers (by
/// target prefix) go first, once each; every other send answers 200 with id m-1, m-2...
class FakeQq {
 public:
  void script(std::string target_prefix, HttpResponse response) {
    std::lock_guard lock(mutex_);
    scripted_.push_back({std::move(target_prefix), std::move(response)});
  }

  HttpResponse handle(const HttpRequest& request) {
    const std::string_view target = request.target();
    if (target == kTokenPath) {
      const int n = ++tokens_;
      return json_response(http::status::ok, R"({"access_token":")" + kTokenPrefix +
                                                 std::to_string(n) + R"(","expires_in":"7200"})");
    }
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
    const int n = ++messages_;
    return json_response(http::status::ok,
                         R"({"id":"m-)" + std::to_string(n) + R"(","timestamp":1700000000})");
  }

  int tokens() const { return tokens_.load(); }

 private:
  std::mutex mutex_;
  std::deque<std::pair<std::string, HttpResponse>> scripted_;
  std::atomic<int> messages_{0};
  std::atomic<int> tokens_{0};
};

HttpResponse answer(unsigned status, std::string body) {
  return json_response(static_cast<http::status>(status), std::move(body));
}

class QqSenderTest : public ::testing::Test {
 protected:
  QqSenderTest()
      : server_({}, [this](const HttpRequest& r) { return fake_.handle(r); }),
        http_(io_.get_executor(), net::HttpClientOptions{}) {}

  QqConfig config() const {
    QqConfig c;
    c.bot_name = "qqbot";
    c.api_base = server_.url("");
    c.token_url = server_.url(kTokenPath);
    c.app_id = kAppId;
    c.app_secret = kAppSecret;
    c.mode = QqMode::webhook;
    return c;
  }

  QqSender make_sender() { return QqSender(config(), services_); }

  Result<SentMessage> send(QqSender& sender, const OutgoingMessage& message) {
    auto sent = botgate::test::run_on(io_, sender.send(message));
    if (!sent) errors_.push_back(sent.error());
    return sent;
  }

  /// The i-th reply to message `msg_id` in a chat of `kind`.
  static OutgoingMessage reply(QqChatKind kind, std::string chat, int i = 0,
                               std::string text = "hi", std::string msg_id = "MSG-1") {
    OutgoingMessage m = OutgoingMessage::plain(std::move(text));
    m.bot = "qqbot";
    m.chat_id = std::move(chat);
    m.chat_type = kind == QqChatKind::c2c || kind == QqChatKind::dms ? ChatType::private_chat
                  : kind == QqChatKind::group                        ? ChatType::group
                                                                     : ChatType::channel;
    m.reply_context = to_string(kind);
    m.reply_to = std::move(msg_id);
    m.idempotency_key = kEventKey + "-" + std::to_string(i);
    return m;
  }

  /// The requests to the send API (the token requests left out).
  std::vector<HttpRequest> sends() const {
    std::vector<HttpRequest> out;
    for (auto& request : server_.requests()) {
      if (request.target() != kTokenPath) out.push_back(request);
    }
    return out;
  }

  static json::object body_of(const HttpRequest& request) {
    return json::parse(request.body()).as_object();
  }

  void expect_no_secret_in_errors() const {
    for (const Error& error : errors_) {
      EXPECT_EQ(error.detail.find(kAppSecret), std::string::npos) << error.detail;
      EXPECT_EQ(error.detail.find(kTokenPrefix), std::string::npos) << error.detail;
      EXPECT_EQ(error.detail.find("SECRET"), std::string::npos) << error.detail;
      EXPECT_EQ(error.detail.find("secret"), std::string::npos) << error.detail;
    }
  }

  FakeQq fake_;
  botgate::test::TestHttpServer server_;
  boost::asio::io_context io_;
  net::HttpClient http_;
  botgate::test::MemoryStore store_;
  platforms::PlatformServices services_{io_.get_executor(), http_, store_};
  std::vector<Error> errors_;
};

TEST(QqMsgSeqTest, OnePlusTheReplyIndexOfTheIdempotencyKey) {
  EXPECT_EQ(qq_msg_seq("0123456789abcdef01234567-0"), 1);
  EXPECT_EQ(qq_msg_seq("0123456789abcdef01234567-1"), 2);
  EXPECT_EQ(qq_msg_seq("0123456789abcdef01234567-4"), 5);
  EXPECT_EQ(qq_msg_seq("0123456789abcdef01234567"), 1);
  EXPECT_EQ(qq_msg_seq(""), 1);
  EXPECT_EQ(qq_msg_seq("abc-"), 1);
  EXPECT_EQ(qq_msg_seq("abc-x1"), 1);
  // A message sent through the API or OneBot: its own number, from 6 (past an event's replies),
  // the same on every attempt, another for another message.
  const auto api = qq_msg_seq("s123456789abcdef0123456");
  EXPECT_GE(api, 6);
  EXPECT_LT(api, 2'000'000'000);
  EXPECT_EQ(qq_msg_seq("s123456789abcdef0123456"), api);
  EXPECT_NE(qq_msg_seq("s123456789abcdef0123457"), api);
  EXPECT_NE(qq_msg_seq("s123456789abcdef0123456-1"), qq_msg_seq("s123456789abcdef0123456-0"));
}

TEST(QqSendPathTest, OneEndpointPerKind) {
  EXPECT_EQ(qq_send_path(QqChatKind::channel, "c1"), "/channels/c1/messages");
  EXPECT_EQ(qq_send_path(QqChatKind::dms, "g1"), "/dms/g1/messages");
  EXPECT_EQ(qq_send_path(QqChatKind::group, "G1"), "/v2/groups/G1/messages");
  EXPECT_EQ(qq_send_path(QqChatKind::c2c, "U1"), "/v2/users/U1/messages");
  EXPECT_EQ(qq_send_path(QqChatKind::c2c, "a/b"), "/v2/users/a%2Fb/messages");
}

TEST(QqSendResponseTest, ErrorClasses) {
  auto ok = read_qq_send_response(answer(200, R"({"id":"abc","timestamp":"1"})"));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->platform_message_id, "abc");

  auto audit =
      read_qq_send_response(answer(202, R"({"code":304024,"message":"push async ok",)"
                                        R"("data":{"message_audit":{"audit_id":"a-1"}}})"));
  ASSERT_TRUE(audit);
  EXPECT_EQ(audit->platform_message_id, "");

  auto duplicate = read_qq_send_response(answer(
      400, R"({"message":"消息被去重，请检查请求msgseq","code":40054005,"err_code":40054005})"));
  ASSERT_TRUE(duplicate);
  EXPECT_EQ(duplicate->platform_message_id, "");

  auto token = read_qq_send_response(answer(401, R"({"code":11244,"message":"token expired"})"));
  ASSERT_FALSE(token);
  EXPECT_TRUE(token.error().is(errc::token_rejected));
  auto bare401 = read_qq_send_response(answer(401, "unauthorized"));
  ASSERT_FALSE(bare401);
  EXPECT_TRUE(bare401.error().is(errc::token_rejected));

  auto ip = read_qq_send_response(answer(401, R"({"code":11298,"message":"ip not allowed"})"));
  ASSERT_FALSE(ip);
  EXPECT_TRUE(ip.error().is(errc::platform_rejected));
  EXPECT_EQ(ip.error().detail, "qq 11298: ip not allowed");

  auto limited = read_qq_send_response(answer(429, R"({"code":0,"message":"slow down"})"));
  ASSERT_FALSE(limited);
  EXPECT_TRUE(limited.error().is(errc::rate_limited));
  EXPECT_EQ(limited.error().retry_after, std::chrono::milliseconds(5s));
  HttpResponse with_header = answer(429, "{}");
  with_header.set(http::field::retry_after, "12");
  auto header = read_qq_send_response(with_header);
  ASSERT_FALSE(header);
  EXPECT_EQ(header.error().retry_after, std::chrono::milliseconds(12s));
  for (const char* code : {"20028", "1100308", "610013"}) {
    auto r = read_qq_send_response(
        answer(200, std::string(R"({"code":)") + code + R"(,"message":"limit"})"));
    ASSERT_FALSE(r) << code;
    EXPECT_TRUE(r.error().is(errc::rate_limited)) << code;
    EXPECT_EQ(r.error().retry_after, std::chrono::milliseconds(5s)) << code;
  }

  for (const char* code : {"11242", "306003", "501002", "501012", "304082"}) {
    auto r = read_qq_send_response(
        answer(400, std::string(R"({"code":)") + code + R"(,"message":"retry"})"));
    ASSERT_FALSE(r) << code;
    EXPECT_TRUE(r.error().is(errc::platform_unavailable)) << code;
  }
  auto server = read_qq_send_response(answer(500, R"({"code":500000,"message":"oops"})"));
  ASSERT_FALSE(server);
  EXPECT_TRUE(server.error().is(errc::platform_unavailable));
  auto gateway = read_qq_send_response(answer(504, "<html>gateway timeout</html>"));
  ASSERT_FALSE(gateway);
  EXPECT_TRUE(gateway.error().is(errc::platform_unavailable));

  for (const char* code : {"304003", "50006", "11265", "304031", "304034", "501013"}) {
    auto r = read_qq_send_response(
        answer(400, std::string(R"({"code":)") + code + R"(,"message":"no"})"));
    ASSERT_FALSE(r) << code;
    EXPECT_TRUE(r.error().is(errc::platform_rejected)) << code;
    EXPECT_EQ(r.error().detail, std::string("qq ") + code + ": no");
    EXPECT_FALSE(is_retryable(r.error())) << code;
  }
  auto expired = read_qq_send_response(answer(400, R"({"code":304027,"message":"msg expire"})"));
  ASSERT_FALSE(expired);
  EXPECT_TRUE(expired.error().is(errc::platform_rejected));
  EXPECT_TRUE(expired.error().detail.starts_with("qq 304027: msg expire"))
      << expired.error().detail;
  EXPECT_NE(expired.error().detail.find("reply window"), std::string::npos);
  EXPECT_NE(expired.error().detail.find("60 min"), std::string::npos);
}

TEST_F(QqSenderTest, PrepareFetchesTheTokenOnce) {
  QqSender sender = make_sender();
  ASSERT_TRUE(botgate::test::run_on(io_, sender.prepare()));
  ASSERT_TRUE(botgate::test::run_on(io_, sender.prepare()));
  EXPECT_EQ(fake_.tokens(), 1);
  const auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].target(), kTokenPath);
  const auto body = body_of(requests[0]);
  EXPECT_EQ(body.at("appId").as_string(), kAppId);
}

TEST_F(QqSenderTest, EachKindPostsToItsEndpointWithTheHeaders) {
  QqSender sender = make_sender();
  ASSERT_TRUE(send(sender, reply(QqChatKind::channel, "chan1")));
  ASSERT_TRUE(send(sender, reply(QqChatKind::dms, "guild9")));
  ASSERT_TRUE(send(sender, reply(QqChatKind::group, "GROUPOPENID")));
  auto last = send(sender, reply(QqChatKind::c2c, "USEROPENID"));
  ASSERT_TRUE(last);
  EXPECT_EQ(last->platform_message_id, "m-4");

  const auto requests = sends();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[0].target(), "/channels/chan1/messages");
  EXPECT_EQ(requests[1].target(), "/dms/guild9/messages");
  EXPECT_EQ(requests[2].target(), "/v2/groups/GROUPOPENID/messages");
  EXPECT_EQ(requests[3].target(), "/v2/users/USEROPENID/messages");
  for (const auto& request : requests) {
    EXPECT_EQ(request.method(), http::verb::post);
    EXPECT_EQ(request[http::field::authorization], "QQBot " + kTokenPrefix + "1");
    EXPECT_EQ(request["X-Union-Appid"], kAppId);
    EXPECT_TRUE(request[http::field::content_type].starts_with("application/json"));
  }
  EXPECT_EQ(body_of(requests[0]).at("content").as_string(), "hi");
  EXPECT_FALSE(body_of(requests[0]).contains("msg_type"));
  EXPECT_EQ(body_of(requests[2]).at("msg_type").as_int64(), 0);
  EXPECT_EQ(fake_.tokens(), 1);
}

TEST_F(QqSenderTest, AProactiveChannelMessageHasNoMsgId) {
  QqSender sender = make_sender();
  OutgoingMessage m = OutgoingMessage::plain("news");
  m.chat_id = "chan7";
  m.chat_type = ChatType::channel;
  m.idempotency_key = kEventKey;
  ASSERT_TRUE(send(sender, m));
  const auto requests = sends();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].target(), "/channels/chan7/messages");
  EXPECT_FALSE(body_of(requests[0]).contains("msg_id"));
  EXPECT_FALSE(body_of(requests[0]).contains("msg_seq"));
}

TEST_F(QqSenderTest, WithoutAReplyContextTheChatTypeNamesTheKind) {
  // The send API and `botgate send` carry no event's reply_context: the chat type says where.
  QqSender sender = make_sender();
  OutgoingMessage group = reply(QqChatKind::group, "G", 0, "to the group", "MSG-7");
  group.reply_context.clear();
  OutgoingMessage user = reply(QqChatKind::c2c, "U", 0, "to the user", "MSG-8");
  user.reply_context.clear();
  ASSERT_TRUE(send(sender, group));
  ASSERT_TRUE(send(sender, user));
  const auto requests = sends();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].target(), "/v2/groups/G/messages");
  EXPECT_EQ(body_of(requests[0]).at("msg_id").as_string(), "MSG-7");
  EXPECT_EQ(requests[1].target(), "/v2/users/U/messages");
  EXPECT_EQ(body_of(requests[1]).at("msg_id").as_string(), "MSG-8");
}

TEST_F(QqSenderTest, RepliesCarryMsgIdAndASeqThatRetriesReuse) {
  QqSender sender = make_sender();
  ASSERT_TRUE(send(sender, reply(QqChatKind::group, "G", 0, "first", "MSG-42")));
  ASSERT_TRUE(send(sender, reply(QqChatKind::group, "G", 1, "second", "MSG-42")));
  // A retry of the first reply (same idempotency key), e.g. after a restart.
  ASSERT_TRUE(send(sender, reply(QqChatKind::group, "G", 0, "first", "MSG-42")));

  const auto requests = sends();
  ASSERT_EQ(requests.size(), 3u);
  const std::vector<std::int64_t> seqs{1, 2, 1};
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const auto body = body_of(requests[i]);
    EXPECT_EQ(body.at("msg_id").as_string(), "MSG-42");
    EXPECT_EQ(body.at("msg_seq").as_int64(), seqs[i]) << i;
  }
}

TEST_F(QqSenderTest, ADuplicateSeqMeansTheFirstAttemptLanded) {
  QqSender sender = make_sender();
  fake_.script("/v2/users/", answer(400, R"({"message":"消息被去重，请检查请求msgseq",)"
                                         R"("code":40054005,"err_code":40054005})"));
  auto sent = send(sender, reply(QqChatKind::c2c, "U", 0));
  ASSERT_TRUE(sent) << sent.error().message();
  EXPECT_EQ(sent->platform_message_id, "");
  EXPECT_EQ(sends().size(), 1u);
}

TEST_F(QqSenderTest, MarkdownBodies) {
  QqSender sender = make_sender();
  OutgoingMessage group = reply(QqChatKind::group, "G");
  group.segments = {Markdown{"**bold**"}};
  ASSERT_TRUE(send(sender, group));
  OutgoingMessage channel = reply(QqChatKind::channel, "C");
  channel.segments = {Markdown{"**bold**"}};
  ASSERT_TRUE(send(sender, channel));

  const auto requests = sends();
  ASSERT_EQ(requests.size(), 2u);
  const auto g = body_of(requests[0]);
  EXPECT_EQ(g.at("msg_type").as_int64(), 2);
  EXPECT_EQ(g.at("markdown").as_object().at("content").as_string(), "**bold**");
  EXPECT_FALSE(g.contains("content"));
  const auto c = body_of(requests[1]);
  EXPECT_FALSE(c.contains("msg_type"));
  EXPECT_EQ(c.at("markdown").as_object().at("content").as_string(), "**bold**");
}

TEST_F(QqSenderTest, ARejectedTokenIsFetchedAgainOnce) {
  QqSender sender = make_sender();
  fake_.script("/v2/groups/", answer(401, R"({"code":11244,"message":"token expired"})"));
  auto sent = send(sender, reply(QqChatKind::group, "G"));
  ASSERT_TRUE(sent) << sent.error().message();
  EXPECT_EQ(fake_.tokens(), 2);
  const auto requests = sends();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0][http::field::authorization], "QQBot " + kTokenPrefix + "1");
  EXPECT_EQ(requests[1][http::field::authorization], "QQBot " + kTokenPrefix + "2");
  // The retry is the same message: same msg_seq.
  EXPECT_EQ(body_of(requests[1]).at("msg_seq").as_int64(), 1);
}

TEST_F(QqSenderTest, ATokenRejectedTwiceFailsWithoutALoop) {
  QqSender sender = make_sender();
  fake_.script("/v2/groups/", answer(401, R"({"code":11244,"message":"token expired"})"));
  fake_.script("/v2/groups/", answer(401, "{}"));
  auto sent = send(sender, reply(QqChatKind::group, "G"));
  ASSERT_FALSE(sent);
  EXPECT_TRUE(sent.error().is(errc::token_rejected));
  EXPECT_EQ(fake_.tokens(), 2);
  EXPECT_EQ(sends().size(), 2u);
  expect_no_secret_in_errors();
}

TEST_F(QqSenderTest, RepliesToOneMessagePastTheFifthAreMergedIntoTheFifth) {
  QqSender sender = make_sender();
  std::vector<OutgoingMessage> replies;
  for (int i = 0; i < 7; ++i) {
    replies.push_back(reply(QqChatKind::group, "G", i, "part " + std::to_string(i + 1)));
  }
  replies.push_back(reply(QqChatKind::group, "G", 7, "to another message", "MSG-2"));
  for (int i = 0; i < 6; ++i) {
    replies.push_back(reply(QqChatKind::channel, "C", 8 + i, "channel " + std::to_string(i)));
  }

  const auto out = sender.split_replies(std::move(replies));
  ASSERT_EQ(out.size(), 6u + 6u);  // five to MSG-1, one to MSG-2, six in a channel (no limit)
  EXPECT_EQ(out[4].plain_text(), "part 5\npart 6\npart 7");
  EXPECT_EQ(out[3].plain_text(), "part 4");
  EXPECT_EQ(out[5].plain_text(), "to another message");
  EXPECT_EQ(out[11].plain_text(), "channel 5");
}

TEST(QqSendResponseTest, TheSixthReplyIsRefusedForGood) {
  auto r = read_qq_send_response(answer(400, R"({"code":22009,"message":"msg limit exceed"})"));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::platform_rejected)) << r.error().message();
  EXPECT_FALSE(is_retryable(r.error()));
  EXPECT_NE(r.error().detail.find("22009"), std::string::npos);
}

TEST_F(QqSenderTest, ErrorClassesFromTheApi) {
  QqSender sender = make_sender();
  struct Case {
    HttpResponse response;
    errc expected;
  };
  std::vector<Case> cases;
  cases.push_back({answer(429, "{}"), errc::rate_limited});
  // A sixth reply to one message: no wait makes QQ take it (notes 6.2), so it is final.
  cases.push_back(
      {answer(400, R"({"code":22009,"message":"msg limit exceed"})"), errc::platform_rejected});
  cases.push_back({answer(502, "bad gateway"), errc::platform_unavailable});
  cases.push_back(
      {answer(400, R"({"code":306003,"message":"retry"})"), errc::platform_unavailable});
  cases.push_back(
      {answer(400, R"({"code":304027,"message":"msg expire"})"), errc::platform_rejected});
  cases.push_back(
      {answer(401, R"({"code":11298,"message":"ip not in whitelist"})"), errc::platform_rejected});
  for (auto& c : cases) fake_.script("/v2/groups/", std::move(c.response));
  for (std::size_t i = 0; i < cases.size(); ++i) {
    auto sent = send(sender, reply(QqChatKind::group, "G"));
    ASSERT_FALSE(sent) << i;
    EXPECT_TRUE(sent.error().is(cases[i].expected)) << i << ": " << sent.error().message();
  }
  EXPECT_EQ(errors_[0].retry_after, std::chrono::milliseconds(5s));
  EXPECT_NE(errors_[4].detail.find("reply window"), std::string::npos) << errors_[4].detail;
  // 11298 is not a token problem: no second token.
  EXPECT_EQ(fake_.tokens(), 1);
  EXPECT_EQ(sends().size(), cases.size());
  expect_no_secret_in_errors();
}

TEST_F(QqSenderTest, AnAuditedMessageIsASuccessWithoutId) {
  QqSender sender = make_sender();
  fake_.script("/channels/",
               answer(202, R"({"code":304023,"message":"push message is waiting for audit",)"
                           R"("data":{"message_audit":{"audit_id":"audit-1"}}})"));
  auto sent = send(sender, reply(QqChatKind::channel, "C"));
  ASSERT_TRUE(sent) << sent.error().message();
  EXPECT_EQ(sent->platform_message_id, "");
}

TEST_F(QqSenderTest, NoProactiveMessagesForGroupsAndSingleChats) {
  QqSender sender = make_sender();
  OutgoingMessage group = reply(QqChatKind::group, "G");
  group.reply_to.clear();
  auto g = send(sender, group);
  ASSERT_FALSE(g);
  EXPECT_TRUE(g.error().is(errc::platform_rejected));
  EXPECT_NE(g.error().detail.find("2025-04-21"), std::string::npos) << g.error().detail;
  EXPECT_FALSE(is_retryable(g.error()));

  OutgoingMessage unknown = OutgoingMessage::plain("hello");
  unknown.chat_id = "U";
  unknown.chat_type = ChatType::private_chat;
  auto u = send(sender, unknown);
  ASSERT_FALSE(u);
  EXPECT_TRUE(u.error().is(errc::platform_rejected));
  EXPECT_NE(u.error().detail.find("only replies"), std::string::npos) << u.error().detail;

  OutgoingMessage bogus = reply(QqChatKind::c2c, "U");
  bogus.reply_context = "interaction:x";
  auto b = send(sender, bogus);
  ASSERT_FALSE(b);
  EXPECT_TRUE(b.error().is(errc::platform_rejected));

  EXPECT_TRUE(sends().empty());
  expect_no_secret_in_errors();
}

TEST_F(QqSenderTest, AnEmptyMessageIsNotSent) {
  QqSender sender = make_sender();
  OutgoingMessage m = reply(QqChatKind::c2c, "U");
  m.segments.clear();
  auto sent = send(sender, m);
  ASSERT_FALSE(sent);
  EXPECT_TRUE(sent.error().is(errc::platform_rejected));
  EXPECT_TRUE(sends().empty());
}

TEST_F(QqSenderTest, ATokenEndpointFailureNamesNoSecret) {
  QqConfig bad = config();
  bad.token_url = server_.url("/no-such-token-endpoint");
  QqSender broken(bad, services_);
  auto prepared = botgate::test::run_on(io_, broken.prepare());
  ASSERT_FALSE(prepared);
  errors_.push_back(prepared.error());
  EXPECT_TRUE(prepared.error().is(errc::token_unavailable)) << prepared.error().message();
  expect_no_secret_in_errors();
}

}  // namespace
}  // namespace botgate::qq

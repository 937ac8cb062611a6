#include "botgate/api/send_request.hpp"

#include "botgate/crypto/encoding.hpp"
#include "support/segment_printers.hpp"

#include <gtest/gtest.h>

#include <string>

namespace botgate::api {
namespace {

using namespace std::string_view_literals;

const std::string kPng = std::string("\x89PNG\r\n\x1a\n", 8) + "rest of a png";

SendRequest accepted(std::string_view body) {
  auto parsed = parse_send_request(body);
  if (const auto* refused = std::get_if<FieldError>(&parsed)) {
    ADD_FAILURE() << body << " refused: " << refused->detail();
    return {};
  }
  return std::get<SendRequest>(std::move(parsed));
}

/// The detail of the refusal of `body` ("" when it was accepted).
std::string refusal(std::string_view body) {
  auto parsed = parse_send_request(body);
  const auto* refused = std::get_if<FieldError>(&parsed);
  return refused ? refused->detail() : std::string();
}

TEST(SendRequest, TextToAChatIsAGroupMessageUnlessTheTypeSaysOtherwise) {
  const SendRequest request = accepted(R"({"bot":"feishu","chat_id":"oc_1","text":"hi"})");
  EXPECT_EQ(request.message.bot, "feishu");
  EXPECT_EQ(request.message.chat_id, "oc_1");
  EXPECT_EQ(request.message.chat_type, ChatType::group);
  EXPECT_EQ(request.message.segments, std::vector<Segment>{Text{"hi"}});
  EXPECT_TRUE(request.message.reply_to.empty());
  EXPECT_TRUE(request.message.idempotency_key.empty()) << "the runtime makes one";
  EXPECT_TRUE(request.client_key.empty());

  const SendRequest c2c =
      accepted(R"({"bot":"qq","chat_id":"U1","chat_type":"private","markdown":"**hi**",
                   "reply_to":"MSG-1"})");
  EXPECT_EQ(c2c.message.chat_type, ChatType::private_chat);
  EXPECT_EQ(c2c.message.segments, std::vector<Segment>{Markdown{"**hi**"}});
  EXPECT_EQ(c2c.message.reply_to, "MSG-1");
  EXPECT_EQ(accepted(R"({"bot":"d","chat_id":"1","chat_type":"channel","text":"x"})")
                .message.chat_type,
            ChatType::channel);
}

TEST(SendRequest, AnAnswerToAKeptEventTakesItsChatFromTheEvent) {
  const SendRequest answer =
      accepted(R"({"bot":"qq","reply_to_event":"ev-1","text":"later","idempotency_key":"k"})");
  EXPECT_EQ(answer.reply_to_event, "ev-1");
  EXPECT_EQ(answer.message.bot, "qq");
  EXPECT_TRUE(answer.message.chat_id.empty()) << "the route fills it in from the event";
  EXPECT_EQ(answer.message.segments, std::vector<Segment>{Text{"later"}});
  EXPECT_EQ(answer.client_key, "k");
  EXPECT_TRUE(accepted(R"({"bot":"b","chat_id":"c","text":"x"})").reply_to_event.empty());

  EXPECT_EQ(refusal(R"({"bot":"qq","reply_to_event":"ev-1","chat_id":"c","text":"x"})"),
            "chat_id: not with reply_to_event, which says where the answer goes");
  EXPECT_EQ(refusal(R"({"bot":"qq","reply_to_event":"ev-1","reply_to":"m","text":"x"})"),
            "reply_to: not with reply_to_event, which says where the answer goes");
  EXPECT_EQ(refusal(R"({"bot":"qq","reply_to_event":"ev-1","chat_type":"group","text":"x"})"),
            "chat_type: not with reply_to_event, which says where the answer goes");
  EXPECT_NE(refusal(R"({"bot":"qq","reply_to_event":7,"text":"x"})"), "");
  EXPECT_NE(refusal(R"({"bot":"qq","reply_to_event":"","text":"x"})"), "");
  EXPECT_EQ(refusal(R"({"bot":"qq","text":"x"})"), "chat_id: required");
}

TEST(SendRequest, AnImageByUrlOrByBytes) {
  EXPECT_EQ(accepted(R"({"bot":"b","chat_id":"c","image_url":"https://img.example/a.png"})")
                .message.segments,
            std::vector<Segment>{Image{"https://img.example/a.png"}});
  const std::string body = R"({"bot":"b","chat_id":"c","image_base64":")" +
                           crypto::base64_encode(kPng) + R"("})";
  EXPECT_EQ(accepted(body).message.segments,
            std::vector<Segment>{Image{"data:image/png;base64," + crypto::base64_encode(kPng)}});
}

TEST(SendRequest, SegmentsMapToTheMessageModel) {
  const std::string body = R"({"bot":"b","chat_id":"c","segments":[
      {"type":"mention","user_id":"ou_1","name":"Ann"},
      {"type":"text","text":" see "},
      {"type":"markdown","markdown":"**this**"},
      {"type":"image","url":"http://img.example/x.jpg"},
      {"type":"image","base64":")" + crypto::base64_encode(kPng) + R"("},
      {"type":"mention","user_id":"all"}]})";
  const SendRequest request = accepted(body);
  const std::vector<Segment> expected = {
      Mention{"ou_1", "Ann"},
      Text{" see "},
      Markdown{"**this**"},
      Image{"http://img.example/x.jpg"},
      Image{"data:image/png;base64," + crypto::base64_encode(kPng)},
      Mention{"all", ""}};
  EXPECT_EQ(request.message.segments, expected);
}

TEST(SendRequest, AnIdempotencyKeyIsKeptAndGivesThePlatformAKeyOfItsOwn) {
  const SendRequest a = accepted(R"({"bot":"b","chat_id":"c","text":"x","idempotency_key":"o-17"})");
  EXPECT_EQ(a.client_key, "o-17");
  EXPECT_EQ(a.message.idempotency_key, platform_idempotency_key("b", "o-17"));
  EXPECT_EQ(a.message.idempotency_key.size(), 32u);
  EXPECT_EQ(a.message.idempotency_key.find('-'), std::string::npos) << "QQ reads a part after -";
  const SendRequest again =
      accepted(R"({"bot":"b","chat_id":"other","text":"y","idempotency_key":"o-17"})");
  EXPECT_EQ(again.message.idempotency_key, a.message.idempotency_key) << "stable";
  EXPECT_NE(platform_idempotency_key("b2", "o-17"), a.message.idempotency_key);
  EXPECT_NE(platform_idempotency_key("b", "o-18"), a.message.idempotency_key);
  EXPECT_NE(platform_idempotency_key("ab", "c"), platform_idempotency_key("a", "bc"));
  const std::string longest(kMaxIdempotencyKeyBytes, 'k');
  EXPECT_EQ(accepted(R"({"bot":"b","chat_id":"c","text":"x","idempotency_key":")" + longest +
                     R"("})")
                .client_key,
            longest);
}

TEST(SendRequest, EachMistakeIsRefusedNamingItsField) {
  struct Case {
    std::string body;
    std::string detail_starts;
  };
  const std::string png64 = crypto::base64_encode(kPng);
  const std::string long_text(kMaxSendTextBytes + 1, 'a');
  const std::string long_id(kMaxSendIdBytes + 1, '1');
  const std::string long_key(kMaxIdempotencyKeyBytes + 1, 'k');
  std::string many_segments = R"({"bot":"b","chat_id":"c","segments":[)";
  for (std::size_t i = 0; i <= kMaxSendSegments; ++i) {
    many_segments += std::string(i ? "," : "") + R"({"type":"text","text":"x"})";
  }
  many_segments += "]}";
  const std::vector<Case> cases = {
      {"not json", "body: not JSON"},
      {"[1]", "body: must be a JSON object"},
      {R"({"chat_id":"c","text":"x"})", "bot: required"},
      {R"({"bot":7,"chat_id":"c","text":"x"})", "bot: must be a string"},
      {R"({"bot":"","chat_id":"c","text":"x"})", "bot: empty"},
      {R"({"bot":"b","text":"x"})", "chat_id: required"},
      {R"({"bot":"b","chat_id":12,"text":"x"})", "chat_id: must be a string"},
      {R"({"bot":"b","chat_id":"","text":"x"})", "chat_id: empty"},
      {R"({"bot":"b","chat_id":")" + long_id + R"(","text":"x"})", "chat_id: longer than"},
      {R"({"bot":"b","chat_id":"a\nb","text":"x"})", "chat_id: has control characters"},
      {R"({"bot":"b","chat_id":"c","chat_type":"dm","text":"x"})", "chat_type: must be private"},
      {R"({"bot":"b","chat_id":"c","chat_type":1,"text":"x"})", "chat_type: must be a string"},
      {R"({"bot":"b","chat_id":"c"})", "text: required: one of"},
      {R"({"bot":"b","chat_id":"c","text":""})", "text: empty"},
      {R"({"bot":"b","chat_id":"c","text":" \n "})", "text: empty"},
      {R"({"bot":"b","chat_id":"c","text":null})", "text: must be a string"},
      {R"({"bot":"b","chat_id":"c","text":")" + long_text + R"("})", "text: longer than 65536"},
      {R"({"bot":"b","chat_id":"c","markdown":""})", "markdown: empty"},
      {R"({"bot":"b","chat_id":"c","text":"x","markdown":"y"})", "markdown: give one of"},
      {R"({"bot":"b","chat_id":"c","text":"x","image_url":"https://a/b"})", "image_url: give one"},
      {R"({"bot":"b","chat_id":"c","image_url":"ftp://a/b"})", "image_url: not an http(s) URL"},
      {R"({"bot":"b","chat_id":"c","image_url":"https://a/b c"})", "image_url: has spaces"},
      {R"({"bot":"b","chat_id":"c","image_base64":"not base64!"})", "image_base64: not valid base64"},
      {R"({"bot":"b","chat_id":"c","image_base64":")" + crypto::base64_encode("just text") +
           R"("})",
       "image_base64: not a PNG, JPEG, GIF or WebP image"},
      {R"({"bot":"b","chat_id":"c","image_base64":""})", "image_base64: empty"},
      {R"({"bot":"b","chat_id":"c","segments":[]})", "segments: empty"},
      {R"({"bot":"b","chat_id":"c","segments":{}})", "segments: must be an array"},
      {many_segments, "segments: more than 50"},
      {R"({"bot":"b","chat_id":"c","segments":["x"]})", "segments[0]: must be an object"},
      {R"({"bot":"b","chat_id":"c","segments":[{"text":"x"}]})", "segments[0].type: required"},
      {R"({"bot":"b","chat_id":"c","segments":[{"type":"video"}]})",
       "segments[0].type: must be text, markdown, image or mention"},
      {R"({"bot":"b","chat_id":"c","segments":[{"type":"text","text":"a"},{"type":"text"}]})",
       "segments[1].text: required"},
      {R"({"bot":"b","chat_id":"c","segments":[{"type":"text","text":""}]})",
       "segments[0].text: empty"},
      {R"({"bot":"b","chat_id":"c","segments":[{"type":"text","text":"a","url":"u"}]})",
       "segments[0].url: unknown field"},
      {R"({"bot":"b","chat_id":"c","segments":[{"type":"mention"}]})",
       "segments[0].user_id: required"},
      {R"({"bot":"b","chat_id":"c","segments":[{"type":"mention","user_id":5}]})",
       "segments[0].user_id: must be a string"},
      {R"({"bot":"b","chat_id":"c","segments":[{"type":"image"}]})",
       "segments[0].url: give url or base64"},
      {R"({"bot":"b","chat_id":"c","segments":[{"type":"image","url":"https://a","base64":")" +
           png64 + R"("}]})",
       "segments[0].url: give url or base64"},
      {R"({"bot":"b","chat_id":"c","segments":[{"type":"image","base64":"%%"}]})",
       "segments[0].base64: not valid base64"},
      {R"({"bot":"b","chat_id":"c","text":"x","reply_to":""})", "reply_to: empty"},
      {R"({"bot":"b","chat_id":"c","text":"x","reply_to":3})", "reply_to: must be a string"},
      {R"({"bot":"b","chat_id":"c","text":"x","idempotency_key":""})", "idempotency_key: must be"},
      {R"({"bot":"b","chat_id":"c","text":"x","idempotency_key":")" + long_key + R"("})",
       "idempotency_key: must be 1-128 printable ASCII"},
      {R"({"bot":"b","chat_id":"c","text":"x","idempotency_key":"caf\u00e9"})",
       "idempotency_key: must be"},
      {R"({"bot":"b","chat_id":"c","text":"x","idempotency_key":"a\tb"})",
       "idempotency_key: must be"},
      {R"({"bot":"b","chat_id":"c","text":"x","idempotency_key":1})",
       "idempotency_key: must be a string"},
      {R"({"bot":"b","chat_id":"c","text":"x","colour":"red"})", "colour: unknown field"},
      {R"({"bot":"b","chat_id":"c","text":"x","stream":1})", "stream: must be true or false"},
      {R"({"bot":"b","chat_id":"c","stream":true,"segments":[]})",
       "segments: not in a streamed message"},
      {R"({"bot":"b","chat_id":"c","stream":true,"text":"a","markdown":"b"})",
       "markdown: give one of text and markdown"},
  };
  for (const Case& c : cases) {
    const std::string detail = refusal(c.body);
    EXPECT_TRUE(detail.starts_with(c.detail_starts))
        << c.body.substr(0, 200) << "\n  got: '" << detail << "'\n  want: '" << c.detail_starts
        << "...'";
  }
}

TEST(SendRequest, AStreamOpensWithItsTextOrMarkdownOrEmpty) {
  auto text = parse_send_request(R"({"bot":"b","chat_id":"c","stream":true,"text":"Hi"})");
  ASSERT_TRUE(std::holds_alternative<SendRequest>(text));
  const OutgoingMessage& m = std::get<SendRequest>(text).message;
  EXPECT_TRUE(m.stream);
  EXPECT_EQ(m.segments, std::vector<Segment>{Text{"Hi"}});

  auto markdown = parse_send_request(R"({"bot":"b","chat_id":"c","stream":true,"markdown":""})");
  ASSERT_TRUE(std::holds_alternative<SendRequest>(markdown));
  EXPECT_EQ(std::get<SendRequest>(markdown).message.segments, std::vector<Segment>{Markdown{""}});

  auto empty = parse_send_request(R"({"bot":"b","chat_id":"c","stream":true})");
  ASSERT_TRUE(std::holds_alternative<SendRequest>(empty));
  EXPECT_EQ(std::get<SendRequest>(empty).message.segments, std::vector<Segment>{Text{""}});

  auto not_a_stream = parse_send_request(R"({"bot":"b","chat_id":"c","stream":false,"text":"x"})");
  ASSERT_TRUE(std::holds_alternative<SendRequest>(not_a_stream));
  EXPECT_FALSE(std::get<SendRequest>(not_a_stream).message.stream);
}

TEST(StreamChange, AppendReplaceAndFinishAreRead) {
  auto append = parse_stream_change(R"({"append":" more"})");
  ASSERT_TRUE(std::holds_alternative<StreamChange>(append));
  EXPECT_EQ(std::get<StreamChange>(append).kind, StreamChange::append);
  EXPECT_EQ(std::get<StreamChange>(append).text, " more");
  EXPECT_FALSE(std::get<StreamChange>(append).finish);

  auto replace = parse_stream_change(R"({"text":"all of it","finish":true})");
  ASSERT_TRUE(std::holds_alternative<StreamChange>(replace));
  EXPECT_EQ(std::get<StreamChange>(replace).kind, StreamChange::replace);
  EXPECT_EQ(std::get<StreamChange>(replace).text, "all of it");
  EXPECT_TRUE(std::get<StreamChange>(replace).finish);

  auto finish = parse_stream_change(R"({"finish":true})");
  ASSERT_TRUE(std::holds_alternative<StreamChange>(finish));
  EXPECT_TRUE(std::get<StreamChange>(finish).finish);
  EXPECT_TRUE(std::get<StreamChange>(finish).text.empty());
}

TEST(StreamChange, BadBodiesNameTheirField) {
  const std::string big(kMaxSendTextBytes + 1, 'x');
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[]", "body: must be a JSON object"},
      {"{", "body: not JSON"},
      {"{}", "append: required"},
      {R"({"finish":false})", "append: required"},
      {R"({"append":"a","text":"b"})", "text: give one of append and text"},
      {R"({"append":1})", "append: must be a string"},
      {R"({"text":null})", "text: must be a string"},
      {R"({"finish":"yes"})", "finish: must be true or false"},
      {R"({"append":")" + big + R"("})", "append: longer than"},
      {R"({"append":"a","colour":"red"})", "colour: unknown field"},
  };
  for (const auto& [body, want] : cases) {
    auto parsed = parse_stream_change(body);
    ASSERT_TRUE(std::holds_alternative<FieldError>(parsed)) << body.substr(0, 80);
    EXPECT_TRUE(std::get<FieldError>(parsed).detail().starts_with(want))
        << body.substr(0, 80) << " -> " << std::get<FieldError>(parsed).detail();
  }
}

}  // namespace
}  // namespace botgate::api

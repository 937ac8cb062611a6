#include "botgate/platforms/wecom/wecom_markup.hpp"

#include "botgate/crypto/encoding.hpp"
#include "support/segment_printers.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <string>
#include <vector>

namespace botgate::wecom {
namespace {
namespace json = boost::json;

OutgoingMessage reply(std::vector<Segment> segments, std::string user = "zhangsan") {
  OutgoingMessage m;
  m.bot = "wecom";
  m.chat_id = "wrkSFfCgAALFgnrSsWU38puiv4yvExuw";
  m.chat_type = ChatType::group;
  m.reply_to = "CAIQz7";
  m.reply_to_user = std::move(user);
  m.reply_credential = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k";
  m.segments = std::move(segments);
  return m;
}

json::value body_of(const OutgoingMessage& m, WecomKind kind) {
  auto content = encode_content(m, kind);
  EXPECT_TRUE(content) << content.error().message();
  return json::parse(message_json(*content));
}

/// True when `text` is valid UTF-8 (no character cut in two).
bool valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const std::size_t n = c < 0x80           ? 1
                          : (c >> 5) == 0x6  ? 2
                          : (c >> 4) == 0xE  ? 3
                          : (c >> 3) == 0x1E ? 4
                                             : 0;
    if (n == 0 || i + n > text.size()) return false;
    for (std::size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

std::string data_url(std::string_view bytes) {
  return "data:image/png;base64," + crypto::base64_encode(bytes);
}

std::string chinese(std::size_t characters) {
  std::string out;
  const char* words[] = {"企", "业", "微", "信", "机", "器", "人"};
  for (std::size_t i = 0; i < characters; ++i) out += words[i % 7];
  return out;
}

std::string content_of(const OutgoingMessage& m) {
  const Segment& s = m.segments.at(0);
  if (const auto* t = std::get_if<Text>(&s)) return t->text;
  return std::get<Markdown>(s).markdown;
}

// --- encoding ------------------------------------------------------------------------------------

TEST(WecomMarkupTest, APlainGroupReplyIsTextThatMentionsTheSender) {
  EXPECT_EQ(body_of(reply({Text{"Hello, hi"}}), WecomKind::group),
            json::parse(R"({"msgtype":"text","text":{"content":"Hello, hi",
                          "mentioned_list":["zhangsan"]}})"));
}

TEST(WecomMarkupTest, MentionSegmentsGoToMentionedList) {
  EXPECT_EQ(body_of(reply({Text{"hi "}, Mention{"lisi", "李四"}, Mention{"all", ""}}, ""),
                    WecomKind::group),
            json::parse(R"({"msgtype":"text","text":{"content":"hi @李四@all",
                          "mentioned_list":["lisi","@all"]}})"));
}

TEST(WecomMarkupTest, AMarkdownGroupReplyMentionsTheSenderInline) {
  EXPECT_EQ(body_of(reply({Markdown{"**bold** and [a](https://a.example)"}}), WecomKind::group),
            json::parse(R"j({"msgtype":"markdown","markdown":{
                          "content":"<@zhangsan> **bold** and [a](https://a.example)"}})j"));
  // Already mentioned: not twice.
  EXPECT_EQ(body_of(reply({Markdown{"hi "}, Mention{"zhangsan", ""}}), WecomKind::group),
            json::parse(R"({"msgtype":"markdown","markdown":{"content":"hi <@zhangsan>"}})"));
}

TEST(WecomMarkupTest, TextWithLinksAndImageUrlsIsMarkdown) {
  EXPECT_EQ(body_of(reply({Text{"see "}, Link{"docs", "https://d.example"}, Text{" "},
                           Image{"https://i.example/a.png"}},
                          ""),
                    WecomKind::group),
            json::parse(R"j({"msgtype":"markdown","markdown":{
              "content":"see [docs](https://d.example) [image](https://i.example/a.png)"}})j"));
}

TEST(WecomMarkupTest, LinksAloneAreNews) {
  EXPECT_EQ(body_of(reply({Link{"中秋节礼品领取", "https://www.qq.com"},
                           Image{"https://example.com/a.png"}}),
                    WecomKind::group),
            json::parse(R"({"msgtype":"news","news":{"articles":[{"title":"中秋节礼品领取",
              "url":"https://www.qq.com","picurl":"https://example.com/a.png"}]}})"));
  std::vector<Segment> nine(9, Segment{Link{"x", "https://x.example"}});
  EXPECT_EQ(body_of(reply(nine, ""), WecomKind::group).at("msgtype"), "markdown");
}

TEST(WecomMarkupTest, AnInlineImageIsAnImageMessageWithItsMd5) {
  const std::string png = "\x89PNG\r\n\x1a\nfake image bytes";
  auto m = reply({Image{"data:image/png;base64," + crypto::base64_encode(png)}});
  auto content = encode_content(m, WecomKind::group);
  ASSERT_TRUE(content) << content.error().message();
  EXPECT_EQ(content->msgtype, "image");
  EXPECT_EQ(content->image_base64, crypto::base64_encode(png));
  EXPECT_EQ(content->image_md5.size(), 32u);
  EXPECT_EQ(json::parse(message_json(*content)),
            (json::value{{"msgtype", "image"},
                         {"image", {{"base64", content->image_base64},
                                    {"md5", content->image_md5}}}}));
  // MD5 of "hello", to pin the digest itself.
  auto hello = encode_content(reply({Image{"data:text/plain;base64,aGVsbG8="}}), WecomKind::group);
  ASSERT_TRUE(hello);
  EXPECT_EQ(hello->image_md5, "5d41402abc4b2a76b9719d911017c592");
}

TEST(WecomMarkupTest, AnImageOver2MbIsRejectedBeforeSending) {
  const std::string big(kImageLimit + 1, 'x');
  auto content = encode_content(reply({Image{data_url(big)}}), WecomKind::group);
  ASSERT_FALSE(content);
  EXPECT_TRUE(content.error().is(errc::platform_rejected));
  EXPECT_FALSE(is_retryable(content.error()));
  const std::string exactly(kImageLimit, 'x');
  EXPECT_TRUE(encode_content(reply({Image{data_url(exactly)}}), WecomKind::group));
  auto not_base64 = encode_content(reply({Image{"data:image/png,rawbytes"}}), WecomKind::group);
  ASSERT_FALSE(not_base64);
  EXPECT_TRUE(not_base64.error().is(errc::platform_rejected));
}

TEST(WecomMarkupTest, AnEmptyMessageIsRejected) {
  auto content = encode_content(reply({Text{""}}), WecomKind::group);
  ASSERT_FALSE(content);
  EXPECT_TRUE(content.error().is(errc::platform_rejected));
}

TEST(WecomMarkupTest, AppMessagesCarryTouserAndAgentid) {
  OutgoingMessage m = reply({Text{"你的快递已到"}});
  m.chat_type = ChatType::private_chat;
  auto content = encode_content(m, WecomKind::app);
  ASSERT_TRUE(content);
  EXPECT_EQ(json::parse(message_json(*content, "UserID1", 1000002)),
            json::parse(R"({"msgtype":"text","touser":"UserID1","agentid":1000002,
                          "enable_duplicate_check":1,"duplicate_check_interval":300,
                          "text":{"content":"你的快递已到"}})"));
}

TEST(WecomMarkupTest, AiBotAnswersAreMarkdown) {
  EXPECT_EQ(body_of(reply({Text{"hi"}}), WecomKind::aibot),
            json::parse(R"({"msgtype":"markdown","markdown":{"content":"hi"}})"));
}

// --- splitting -----------------------------------------------------------------------------------

TEST(WecomSplitTest, NeverCutsAUtf8Character) {
  const std::string text = chinese(3000);  // 9000 bytes, no separators
  for (std::size_t limit : {4096u, 4095u, 4094u, 2048u, 100u}) {
    const auto pieces = split_utf8(text, limit);
    std::string joined;
    for (const std::string& piece : pieces) {
      EXPECT_LE(piece.size(), limit);
      EXPECT_TRUE(valid_utf8(piece)) << "limit " << limit;
      joined += piece;
    }
    EXPECT_EQ(joined, text) << "limit " << limit;
  }
  EXPECT_EQ(split_utf8(text, 4096).size(), 3u);
}

TEST(WecomSplitTest, PrefersTheLastNewlineThenASpace) {
  const std::string line = std::string(3000, 'a') + "\n";
  const auto pieces = split_utf8(line + line + "tail", 4096);
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_EQ(pieces[0], std::string(3000, 'a'));
  EXPECT_EQ(pieces[1], std::string(3000, 'a') + "\ntail");
  const auto words = split_utf8(std::string(3000, 'b') + " " + std::string(3000, 'c'), 4096);
  ASSERT_EQ(words.size(), 2u);
  EXPECT_EQ(words[0], std::string(3000, 'b'));
  // A newline too early in the piece is not worth a tiny message.
  const auto early = split_utf8("x\n" + std::string(5000, 'y'), 4096);
  ASSERT_EQ(early.size(), 2u);
  EXPECT_EQ(early[0].size(), 4096u);
}

TEST(WecomSplitTest, ShortTextIsOnePieceAndEmptyTextNone) {
  EXPECT_EQ(split_utf8("hello", 4096), std::vector<std::string>{"hello"});
  EXPECT_TRUE(split_utf8("", 4096).empty());
  EXPECT_EQ(split_utf8(std::string(4096, 'z'), 4096).size(), 1u);
}

TEST(WecomSplitTest, LongMarkdownBecomesMessagesOfAtMost4096BytesAndOnlyTheFirstMentions) {
  const std::string markdown = chinese(4000);  // 12000 bytes
  const auto parts = split_message(reply({Markdown{markdown}}), WecomKind::group);
  ASSERT_EQ(parts.size(), 3u);
  std::string joined;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    auto content = encode_content(parts[i], WecomKind::group);
    ASSERT_TRUE(content);
    EXPECT_EQ(content->msgtype, "markdown");
    EXPECT_LE(content->content.size(), kMarkdownLimit) << i;
    EXPECT_TRUE(valid_utf8(content->content)) << i;
    EXPECT_EQ(parts[i].reply_credential, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k");
    EXPECT_EQ(parts[i].chat_id, "wrkSFfCgAALFgnrSsWU38puiv4yvExuw");
    joined += content_of(parts[i]);
  }
  EXPECT_EQ(parts[0].reply_to_user, "zhangsan");
  EXPECT_TRUE(encode_content(parts[0], WecomKind::group)->content.starts_with("<@zhangsan> "));
  EXPECT_TRUE(parts[1].reply_to_user.empty());
  EXPECT_EQ(joined, markdown);
}

TEST(WecomSplitTest, LongTextSplitsAt2048Bytes) {
  const std::string text = chinese(1000);  // 3000 bytes
  const auto parts = split_message(reply({Text{text}}), WecomKind::group);
  ASSERT_EQ(parts.size(), 2u);
  for (const auto& part : parts) {
    auto content = encode_content(part, WecomKind::group);
    ASSERT_TRUE(content);
    EXPECT_EQ(content->msgtype, "text");
    EXPECT_LE(content->content.size(), kTextLimit);
  }
  EXPECT_EQ(content_of(parts[0]) + content_of(parts[1]), text);
}

TEST(WecomSplitTest, ShortMessagesStayWhole) {
  const OutgoingMessage m = reply({Text{"hi "}, Mention{"lisi", "李四"}});
  const auto parts = split_message(m, WecomKind::group);
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0], m);
}

TEST(WecomSplitTest, AGroupBotSendsInlineImagesOnTheirOwn) {
  const Image image{"data:image/png;base64,aGVsbG8="};
  const auto parts =
      split_message(reply({image, Text{"caption"}, image}), WecomKind::group);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].segments, std::vector<Segment>{image});
  EXPECT_EQ(parts[1].segments, std::vector<Segment>{Text{"caption"}});
  EXPECT_EQ(parts[1].reply_to_user, "zhangsan");  // the first text part @s the sender
  EXPECT_EQ(parts[2].segments, std::vector<Segment>{image});
  // Apps cannot send inline images without an upload: one message with a placeholder.
  EXPECT_EQ(split_message(reply({image, Text{"caption"}}), WecomKind::app).size(), 1u);
}

TEST(WecomSplitTest, AiBotAnswersSplitOnlyPast20480Bytes) {
  EXPECT_EQ(split_message(reply({Text{chinese(6000)}}), WecomKind::aibot).size(), 1u);
  EXPECT_EQ(split_message(reply({Text{chinese(7000)}}), WecomKind::aibot).size(), 2u);
}

// --- user text never mentions anyone -------------------------------------------------------------

TEST(WecomMarkupTest, UserTextCannotMentionInAGroupTextReply) {
  // wecom.md 2.1: "text and markdown contents also accept the inline <@userid> syntax".
  EXPECT_EQ(body_of(reply({Text{"Hello, <@lisi> @all <@wangwu>"}}), WecomKind::group),
            json::parse(R"({"msgtype":"text","text":{
                "content":"Hello, <\u200b@lisi> @\u200ball <\u200b@wangwu>",
                "mentioned_list":["zhangsan"]}})"));
}

TEST(WecomMarkupTest, UserTextCannotMentionInMarkdownAndTheSenderIsStillMentioned) {
  // The sender's own <@zhangsan> typed in the text is no mention: the real one is still added.
  const json::value markdown =
      body_of(reply({Text{"<@zhangsan> <@lisi> @all "}, Link{"a", "https://a.example"}}),
              WecomKind::group);
  EXPECT_EQ(markdown.at("msgtype"), json::value("markdown"));
  EXPECT_EQ(markdown.at("markdown").at("content"),
            json::value("<@zhangsan> <\u200b@zhangsan> <\u200b@lisi> @\u200ball "
                        "[a](https://a.example)"));
  EXPECT_EQ(body_of(reply({Text{"<@lisi> @all"}}), WecomKind::aibot),
            json::parse(R"({"msgtype":"markdown","markdown":{
                "content":"<\u200b@lisi> @\u200ball"}})"));
  EXPECT_EQ(body_of(reply({Text{"<@lisi>"}}), WecomKind::app),
            json::parse(R"({"msgtype":"text","text":{"content":"<\u200b@lisi>"}})"));
}

TEST(WecomMarkupTest, ASplitTextReplyStaysNeutralised) {
  const std::string attack = "<@lisi> @all ";
  std::string text;
  while (text.size() < 3 * kTextLimit) text += attack;
  const auto parts = split_message(reply({Text{text}}), WecomKind::group);
  ASSERT_GE(parts.size(), 2u);
  for (const OutgoingMessage& part : parts) {
    auto content = encode_content(part, WecomKind::group);
    ASSERT_TRUE(content);
    EXPECT_EQ(content->content.find("<@"), std::string::npos);
    EXPECT_EQ(content->content.find("@all"), std::string::npos);
    EXPECT_LE(content->content.size(), kTextLimit);
  }
  // Without spaces the cut falls inside the text: never between a '<' and its zero-width space,
  // or the piece would grow when it is encoded again.
  const auto tight = split_message(reply({Text{"x" + std::string(1000, '<')}}), WecomKind::group);
  ASSERT_EQ(tight.size(), 2u);
  std::size_t brackets = 0;
  for (const OutgoingMessage& part : tight) {
    auto content = encode_content(part, WecomKind::group);
    ASSERT_TRUE(content);
    EXPECT_LE(content->content.size(), kTextLimit);
    EXPECT_TRUE(valid_utf8(content->content));
    for (std::size_t at = content->content.find('<'); at != std::string::npos;
         at = content->content.find('<', at + 1)) {
      ++brackets;
      EXPECT_EQ(content->content.substr(at + 1, 3), "\u200b");
    }
  }
  EXPECT_EQ(brackets, 1000u);
}

}  // namespace
}  // namespace botgate::wecom

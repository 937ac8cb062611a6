#include "botgate/platforms/wecom/wecom_xml.hpp"

#include "platforms/wecom/wecom_test_support.hpp"

#include <gtest/gtest.h>

#include <string>

namespace botgate::wecom {
namespace {

::testing::AssertionResult is_malformed(const Result<XmlElement>& result) {
  if (result) return ::testing::AssertionFailure() << "parsed, root <" << result->name << ">";
  if (!result.error().is(errc::malformed_payload)) {
    return ::testing::AssertionFailure() << result.error().message();
  }
  return ::testing::AssertionSuccess();
}

TEST(WecomXmlTest, ReadsTheGroupBotMessage) {
  auto xml = parse_xml(test::load_testdata("wecom/group_message.xml"));
  ASSERT_TRUE(xml) << xml.error().message();
  EXPECT_EQ(xml->name, "xml");
  EXPECT_EQ(xml->text_at("From/UserId"), "zhangsan");
  EXPECT_EQ(xml->text_at("From/Name"), "张三");
  EXPECT_EQ(xml->text_at("Text/Content"), "@RobotA hello robot");
  EXPECT_EQ(xml->text_at("ChatType"), "group");
  EXPECT_EQ(xml->text_at("WebhookUrl"),
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=xxxxxxx");
  EXPECT_EQ(xml->text_at("Missing/Path"), "");
  EXPECT_EQ(xml->find("From/Missing"), nullptr);
  ASSERT_NE(xml->find("From"), nullptr);
  EXPECT_EQ(xml->find("From")->children.size(), 3u);
}

TEST(WecomXmlTest, ReadsPredefinedEntitiesAndCharacterReferences) {
  auto xml = parse_xml(
      "<xml><A>a &amp; b &lt;c&gt; &#x4F60;&#22909;</A><B><![CDATA[<raw>&amp;]]></B></xml>");
  ASSERT_TRUE(xml) << xml.error().message();
  EXPECT_EQ(xml->text_at("A"), "a & b <c> 你好");
  EXPECT_EQ(xml->text_at("B"), "<raw>&amp;");
}

TEST(WecomXmlTest, ABillionLaughsIsRefusedWithoutExpansion) {
  EXPECT_TRUE(is_malformed(parse_xml(test::load_testdata("wecom/billion_laughs.xml"))));
}

TEST(WecomXmlTest, AnExternalEntityIsRefusedWithoutReadingIt) {
  EXPECT_TRUE(is_malformed(parse_xml(test::load_testdata("wecom/external_entity.xml"))));
}

TEST(WecomXmlTest, AnyDoctypeOrEntityDeclarationIsRefused) {
  for (const char* document : {
           "<!DOCTYPE xml><xml><Encrypt>x</Encrypt></xml>",
           "<!doctype xml><xml/>",
           "<?xml version=\"1.0\"?>\n<!  DOCTYPE xml SYSTEM \"http://example.com/x.dtd\"><xml/>",
           "<xml><Encrypt>x</Encrypt></xml><!ENTITY e \"x\">",
           "<xml><!ENTITY e SYSTEM \"file:///etc/passwd\"></xml>",
       }) {
    EXPECT_TRUE(is_malformed(parse_xml(document))) << document;
  }
}

TEST(WecomXmlTest, TextThatContainsADoctypeIsText) {
  // In CDATA, escaped, or in a comment, "<!DOCTYPE" is no declaration.
  auto cdata =
      parse_xml("<xml><Content><![CDATA[<!DOCTYPE x> and <!ENTITY e \"x\">]]></Content></xml>");
  ASSERT_TRUE(cdata) << cdata.error().message();
  EXPECT_EQ(cdata->text_at("Content"), "<!DOCTYPE x> and <!ENTITY e \"x\">");
  auto escaped = parse_xml("<xml><Content>&lt;!DOCTYPE x&gt;</Content><!-- <!DOCTYPE y> --></xml>");
  ASSERT_TRUE(escaped) << escaped.error().message();
  EXPECT_EQ(escaped->text_at("Content"), "<!DOCTYPE x>");
}

TEST(WecomXmlTest, ADoctypeAfterTheRootOrInsideAnElementIsRefused) {
  for (const char* document : {"<xml><a>x</a></xml><!DOCTYPE x>",
                               "<xml><a><!DOCTYPE x></a></xml>",
                               "<?xml version=\"1.0\"?><!-- c --><!DOCTYPE xml [<!ENTITY a "
                               "\"]>\">]><xml>&a;</xml>"}) {
    EXPECT_TRUE(is_malformed(parse_xml(document))) << document;
  }
}

TEST(WecomXmlTest, InvalidUtf8IsReplacedWithTheReplacementCharacter) {
  auto xml = parse_xml("<xml><A><![CDATA[ok \xe4\xbd\xa0 \xe4\xbd x\x80y]]></A><B>\xf5z</B></xml>");
  ASSERT_TRUE(xml) << xml.error().message();
  EXPECT_EQ(xml->text_at("A"), "ok \u4F60 \uFFFD x\uFFFDy");
  EXPECT_EQ(xml->text_at("B"), "\uFFFDz");
}

TEST(WecomXmlTest, AnUndeclaredEntityIsNotExpanded) {
  auto xml = parse_xml("<xml><Encrypt>&xxe;</Encrypt></xml>");
  if (xml) {
    EXPECT_EQ(xml->text_at("Encrypt"), "&xxe;");  // kept as text, never resolved
  }
}

TEST(WecomXmlTest, ADocumentThatDoesNotParseIsMalformed) {
  for (const char* document : {"", "   ", "not xml", "<xml><Encrypt>x</xml>", "<xml>", "{}",
                               "<xml></xml><second/>"}) {
    EXPECT_TRUE(is_malformed(parse_xml(document))) << document;
  }
}

TEST(WecomXmlTest, DeepNestingIsMalformed) {
  std::string deep;
  for (int i = 0; i < 200; ++i) deep += "<a>";
  for (int i = 0; i < 200; ++i) deep += "</a>";
  EXPECT_TRUE(is_malformed(parse_xml(deep)));
  std::string shallow;
  for (int i = 0; i < 10; ++i) shallow += "<a>";
  for (int i = 0; i < 10; ++i) shallow += "</a>";
  EXPECT_TRUE(parse_xml(shallow));
}

}  // namespace
}  // namespace botgate::wecom

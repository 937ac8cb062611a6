#include "botgate/platforms/discord/discord_interactions.hpp"

#include "botgate/crypto/ed25519.hpp"
#include "botgate/crypto/encoding.hpp"
#include "support/platform_test_helpers.hpp"
#include "support/segment_printers.hpp"
#include "support/testdata.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace botgate::discord {
namespace {
namespace json = boost::json;
using ::botgate::test::acknowledged_without_events;
using ::botgate::test::fails_with;

const std::string kAppId = "123456789012345678";
const std::string kSeed(32, '\x01');
const std::string kOtherSeed(32, '\x02');
constexpr const char* kTimestamp = "1700000000";

json::object load_vectors() {
  const std::string path = botgate::test::testdata_path("discord/interaction_vectors.json");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("missing test data " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return json::parse(text.str()).as_object();
}

std::string field(const json::object& o, std::string_view key) {
  return std::string(o.at(key).as_string());
}

DiscordConfig config_for(std::string public_key, std::string application_id = kAppId) {
  DiscordConfig config;
  config.bot_name = "discord-bot";
  config.application_id = std::move(application_id);
  config.public_key = std::move(public_key);
  config.gateway = false;
  return config;
}

/// The bot of the seed-0x01 key pair, for application kAppId.
DiscordConfig seed01_config() { return config_for(crypto::ed25519_public_key_from_seed(kSeed)); }

/// A POST as Discord sends it, with the signature headers as given.
HttpRequest post(std::string body, std::string_view timestamp, std::string_view signature_hex) {
  HttpRequest request{http::verb::post, "/webhook/discord-bot", 11};
  request.set(http::field::content_type, "application/json");
  if (!signature_hex.empty()) request.set("X-Signature-Ed25519", signature_hex);
  if (!timestamp.empty()) request.set("X-Signature-Timestamp", timestamp);
  request.body() = std::move(body);
  request.prepare_payload();
  return request;
}

/// `body` signed the way Discord signs it (notes 4.2), with `seed`'s key.
HttpRequest signed_post(std::string body, const std::string& seed = kSeed,
                        std::string_view timestamp = kTimestamp) {
  const std::string signature = crypto::ed25519_sign(seed, std::string(timestamp) + body);
  return post(std::move(body), timestamp, crypto::to_hex(signature));
}

/// Holds when `result` is a 200 application/json ack with exactly `body` and no event.
::testing::AssertionResult acks_with(const Result<WebhookOutcome>& result,
                                     std::string_view body) {
  if (auto ok = acknowledged_without_events(result); !ok) return ok;
  if (result->ack[http::field::content_type] != "application/json") {
    return ::testing::AssertionFailure()
           << "content type " << result->ack[http::field::content_type];
  }
  if (result->ack.body() != body) {
    return ::testing::AssertionFailure() << "body " << result->ack.body();
  }
  return ::testing::AssertionSuccess();
}

/// The one event of `result`, which must be acknowledged with DEFERRED_CHANNEL_MESSAGE.
Event only_event(const Result<WebhookOutcome>& result) {
  if (!result) {
    ADD_FAILURE() << result.error().message();
    return {};
  }
  EXPECT_EQ(result->ack.result(), http::status::ok);
  EXPECT_EQ(result->ack[http::field::content_type], "application/json");
  EXPECT_EQ(result->ack.body(), R"({"type":5})");
  EXPECT_EQ(result->reply_window, kInlineReplyWindow);
  if (result->events.size() != 1) {
    ADD_FAILURE() << result->events.size() << " events";
    return {};
  }
  return result->events[0];
}

// The guild command of the notes' 4.3 example, with an option of every scalar kind.
const std::string kGuildCommand =
    R"({"type":2,"token":"A_UNIQUE_TOKEN","id":"786008729715212338",)"
    R"("application_id":"123456789012345678","guild_id":"290926798626357999",)"
    R"("channel_id":"645027906669510667",)"
    R"("member":{"user":{"id":"53908232506183680","username":"Mason"},)"
    R"("roles":["539082325061836999"],"permissions":"2147483647"},)"
    R"("data":{"type":1,"name":"cardsearch","id":"771825006014889984","options":[)"
    R"({"type":3,"name":"cardname","value":"The Gitrog Monster"},)"
    R"({"type":4,"name":"count","value":3},{"type":10,"name":"ratio","value":0.5},)"
    R"({"type":10,"name":"whole","value":2.0},{"type":5,"name":"foil","value":true},)"
    R"({"type":5,"name":"signed","value":false},)"
    R"({"type":6,"name":"owner","value":"80351110224678912"}]},)"
    R"("app_permissions":"442368","locale":"en-US","version":1})";

// A DM (no guild_id, `user` instead of `member`) with sub-command group and sub-command.
const std::string kDmCommand =
    R"({"type":2,"token":"dG9rZW4tZG0","id":"1100000000000000001",)"
    R"("application_id":"123456789012345678","channel_id":"1000000000000000042",)"
    R"("user":{"id":"80351110224678912","username":"nelly","global_name":"Nelly"},)"
    R"("data":{"type":1,"name":"config","id":"771825006014889985","options":[)"
    R"({"type":2,"name":"set","options":[{"type":1,"name":"limit","options":[)"
    R"({"type":4,"name":"value","value":10},{"type":3,"name":"scope","value":"all of it"}]}]}]},)"
    R"("context":1,"version":1})";

class DiscordInteractionsTest : public ::testing::Test {
 protected:
  DiscordInteractions handler_{seed01_config()};
};

// --- The recorded vectors (tests/testdata/discord/interaction_vectors.json) ---

TEST_F(DiscordInteractionsTest, TheSeed01VectorIsAValidPing) {
  const json::object v = load_vectors().at("seed01_ping").as_object();
  const std::string public_key = crypto::from_hex(field(v, "public_key_hex")).value();
  // The vector's key is the one tests derive from the seed, so fresh signatures match it.
  ASSERT_EQ(public_key, crypto::ed25519_public_key_from_seed(kSeed));
  const DiscordInteractions handler(config_for(public_key));
  const HttpRequest request =
      post(field(v, "body"), field(v, "timestamp"), field(v, "signature_hex"));
  EXPECT_TRUE(acks_with(handler.handle(request), R"({"type":1})"));
}

TEST_F(DiscordInteractionsTest, FlippingAnyByteOfTheSeed01VectorIsRefused) {
  const json::object v = load_vectors().at("seed01_ping").as_object();
  const DiscordInteractions handler(
      config_for(crypto::from_hex(field(v, "public_key_hex")).value()));
  const std::string body = field(v, "body");
  const std::string timestamp = field(v, "timestamp");
  const std::string signature = crypto::from_hex(field(v, "signature_hex")).value();

  for (std::size_t i = 0; i < body.size(); ++i) {
    std::string tampered = body;
    tampered[i] = static_cast<char>(tampered[i] ^ 0x01);
    EXPECT_TRUE(fails_with(handler.handle(post(tampered, timestamp, crypto::to_hex(signature))),
                           errc::bad_signature, 401))
        << "body byte " << i;
  }
  for (std::size_t i = 0; i < timestamp.size(); ++i) {
    std::string tampered = timestamp;
    tampered[i] = static_cast<char>(tampered[i] ^ 0x01);  // '0' <-> '1': still digits
    EXPECT_TRUE(fails_with(handler.handle(post(body, tampered, crypto::to_hex(signature))),
                           errc::bad_signature, 401))
        << "timestamp byte " << i;
  }
  for (std::size_t i = 0; i < signature.size(); ++i) {
    std::string tampered = signature;
    tampered[i] = static_cast<char>(tampered[i] ^ 0x01);
    EXPECT_TRUE(fails_with(handler.handle(post(body, timestamp, crypto::to_hex(tampered))),
                           errc::bad_signature, 401))
        << "signature byte " << i;
  }
}

TEST_F(DiscordInteractionsTest, TheRfc8032VectorVerifiesButAnEmptyTimestampIsRefused) {
  const json::object v = load_vectors().at("rfc8032_test1").as_object();
  const std::string public_key = crypto::from_hex(field(v, "public_key_hex")).value();
  const std::string signature = crypto::from_hex(field(v, "signature_hex")).value();
  // Sanity check of the primitive the handler relies on.
  ASSERT_TRUE(crypto::ed25519_verify(public_key, field(v, "message"), signature));
  // The signature covers the empty message, i.e. an empty timestamp and body; Discord always
  // sends a timestamp, so the request is still refused.
  const DiscordInteractions handler(config_for(public_key));
  EXPECT_TRUE(fails_with(handler.handle(post("", "", field(v, "signature_hex"))),
                         errc::bad_signature, 401));
}

// --- Signature checks on fresh requests ---

TEST_F(DiscordInteractionsTest, AFreshlySignedPingGetsPong) {
  const std::string ping = R"({"application_id":")" + kAppId + R"(","id":"1","type":1})";
  EXPECT_TRUE(acks_with(handler_.handle(signed_post(ping)), R"({"type":1})"));
}

TEST_F(DiscordInteractionsTest, UpperCaseHexSignaturesAreAccepted) {
  const std::string ping = R"({"type":1})";
  std::string hex = crypto::to_hex(crypto::ed25519_sign(kSeed, kTimestamp + ping));
  for (char& c : hex) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(acks_with(handler_.handle(post(ping, kTimestamp, hex)), R"({"type":1})"));
}

TEST_F(DiscordInteractionsTest, ASignatureByAnotherKeyIsRefused) {
  EXPECT_TRUE(fails_with(handler_.handle(signed_post(R"({"type":1})", kOtherSeed)),
                         errc::bad_signature, 401));
}

TEST_F(DiscordInteractionsTest, MissingOrMalformedSignatureHeadersAreRefused) {
  const std::string body = R"({"type":1})";
  const std::string good = crypto::to_hex(crypto::ed25519_sign(kSeed, kTimestamp + body));
  const std::vector<std::pair<std::string, std::string>> cases{
      {"", good},                             // no timestamp
      {kTimestamp, ""},                       // no signature
      {kTimestamp, good.substr(1)},           // odd number of hex digits
      {kTimestamp, good.substr(2)},           // 63 bytes
      {kTimestamp, good + "00"},              // 65 bytes
      {kTimestamp, "zz" + good.substr(2)},    // not hex
      {kTimestamp, "0x" + good.substr(2)},    // a prefix (Beast trims spaces itself)
      {"1700000000.0", good},                 // a timestamp that is not a whole number
  };
  for (const auto& [timestamp, signature] : cases) {
    EXPECT_TRUE(fails_with(handler_.handle(post(body, timestamp, signature)), errc::bad_signature,
                           401))
        << "timestamp \"" << timestamp << "\", signature \"" << signature << "\"";
  }
}

TEST_F(DiscordInteractionsTest, ATimestampThatIsNotANumberIsRefusedEvenWhenSigned) {
  EXPECT_TRUE(fails_with(handler_.handle(signed_post(R"({"type":1})", kSeed, "yesterday")),
                         errc::bad_signature, 401));
}

TEST_F(DiscordInteractionsTest, ARepeatedSignatureHeaderIsRefused) {
  HttpRequest request = signed_post(R"({"type":1})");
  const std::string first(request["X-Signature-Ed25519"]);
  request.insert("X-Signature-Ed25519", first);
  EXPECT_TRUE(fails_with(handler_.handle(request), errc::bad_signature, 401));
}

TEST_F(DiscordInteractionsTest, AnUnsignedBodyIsNeverParsed) {
  // Malformed JSON with a wrong signature: 401 (forged), not 400 (malformed).
  const std::string signature = crypto::to_hex(crypto::ed25519_sign(kSeed, "other"));
  EXPECT_TRUE(
      fails_with(handler_.handle(post("{not json", kTimestamp, signature)), errc::bad_signature,
                 401));
}

TEST_F(DiscordInteractionsTest, OnlyPostIsAccepted) {
  HttpRequest request = signed_post(R"({"type":1})");
  request.method(http::verb::get);
  EXPECT_TRUE(fails_with(handler_.handle(request), errc::malformed_payload, 400));
  request.method(http::verb::put);
  EXPECT_TRUE(fails_with(handler_.handle(request), errc::malformed_payload, 400));
}

// --- Payloads after a good signature ---

TEST_F(DiscordInteractionsTest, MalformedPayloadsWithAGoodSignatureAre400) {
  const std::vector<std::string> bodies{
      "{not json",
      "",
      R"([{"type":1}])",                        // not an object
      R"({"id":"1"})",                          // no type
      R"({"type":"1"})",                        // type as a string
      R"({"type":99})",                         // unknown type
      R"({"type":2,"id":"1","channel_id":"2","data":{"name":"x"}})",  // command without token
      R"({"type":2,"id":"1","token":"t","data":{"name":"x"}})",       // ... without channel
      R"({"type":2,"token":"t","channel_id":"2","data":{"name":"x"}})",  // ... without id
      R"({"type":2,"id":"1","token":"t","channel_id":"2"})",          // ... without data
  };
  for (const std::string& body : bodies) {
    EXPECT_TRUE(fails_with(handler_.handle(signed_post(body)), errc::malformed_payload, 400))
        << body;
  }
}

TEST_F(DiscordInteractionsTest, AnotherApplicationIdIsRefused) {
  const std::string ping = R"({"application_id":"999999999999999999","type":1})";
  EXPECT_TRUE(fails_with(handler_.handle(signed_post(ping)), errc::bad_token, 401));
  std::string command = kGuildCommand;
  command.replace(command.find(kAppId), kAppId.size(), "999999999999999999");
  EXPECT_TRUE(fails_with(handler_.handle(signed_post(command)), errc::bad_token, 401));
}

TEST_F(DiscordInteractionsTest, ComponentsAndModalsGetADeferredUpdate) {
  const std::string component =
      R"({"type":3,"id":"1","token":"t","channel_id":"2","data":{"custom_id":"ok",)"
      R"("component_type":2}})";
  EXPECT_TRUE(acks_with(handler_.handle(signed_post(component)), R"({"type":6})"));
  const std::string modal =
      R"({"type":5,"id":"1","token":"t","channel_id":"2","data":{"custom_id":"form",)"
      R"("components":[]}})";
  EXPECT_TRUE(acks_with(handler_.handle(signed_post(modal)), R"({"type":6})"));
}

TEST_F(DiscordInteractionsTest, AutocompleteGetsNoChoices) {
  const std::string autocomplete =
      R"({"type":4,"id":"1","token":"t","channel_id":"2","data":{"name":"cardsearch",)"
      R"("options":[{"type":3,"name":"cardname","value":"Git","focused":true}]}})";
  EXPECT_TRUE(
      acks_with(handler_.handle(signed_post(autocomplete)), R"({"type":8,"data":{"choices":[]}})"));
}

// --- Application commands ---

TEST_F(DiscordInteractionsTest, AGuildCommandBecomesAnEvent) {
  const Event event = only_event(handler_.handle(signed_post(kGuildCommand)));
  EXPECT_EQ(event.platform, "discord");
  EXPECT_EQ(event.bot, "discord-bot");
  EXPECT_EQ(event.platform_event_id, "786008729715212338");
  // (786008729715212338 >> 22) + 1420070400000 ms: 2020-12-08 23:18:04.500 UTC.
  EXPECT_EQ(event.time,
            std::chrono::system_clock::time_point(std::chrono::milliseconds(1'607'469'484'500)));
  EXPECT_EQ(event.chat.id, "645027906669510667");
  EXPECT_EQ(event.chat.type, ChatType::channel);
  EXPECT_EQ(event.chat.guild_id, "290926798626357999");
  EXPECT_EQ(event.sender, (User{"53908232506183680", "Mason", false}));
  ASSERT_TRUE(event.message);
  EXPECT_EQ(event.message->id, "786008729715212338");
  const std::string text = "/cardsearch The Gitrog Monster 3 0.5 2 true false 80351110224678912";
  EXPECT_EQ(event.message->text, text);
  EXPECT_EQ(event.message->segments, (std::vector<Segment>{Text{text}}));
  EXPECT_TRUE(event.message->mentions_bot);
  EXPECT_EQ(event.reply_credential, "interaction:123456789012345678:A_UNIQUE_TOKEN");
}

TEST_F(DiscordInteractionsTest, ADirectMessageCommandFlattensSubCommands) {
  const Event event = only_event(handler_.handle(signed_post(kDmCommand)));
  EXPECT_EQ(event.platform_event_id, "1100000000000000001");
  EXPECT_EQ(event.time,
            std::chrono::system_clock::time_point(std::chrono::milliseconds(1'682'330'837'011)));
  EXPECT_EQ(event.chat.id, "1000000000000000042");
  EXPECT_EQ(event.chat.type, ChatType::private_chat);
  EXPECT_FALSE(event.chat.guild_id);
  EXPECT_EQ(event.sender, (User{"80351110224678912", "nelly", false}));
  ASSERT_TRUE(event.message);
  const std::string text = "/config set limit 10 all of it";
  EXPECT_EQ(event.message->text, text);
  EXPECT_EQ(event.message->segments, (std::vector<Segment>{Text{text}}));
  EXPECT_TRUE(event.message->mentions_bot);
  EXPECT_EQ(event.reply_credential, "interaction:123456789012345678:dG9rZW4tZG0");
}

TEST_F(DiscordInteractionsTest, ACommandWithoutOptionsIsItsName) {
  // A message context-menu command: a name with spaces and a target, no options.
  const std::string command =
      R"({"type":2,"id":"1100000000000000002","token":"t","channel_id":"2",)"
      R"("user":{"id":"3","username":"otherbot","bot":true},)"
      R"("data":{"type":3,"name":"Report Message","target_id":"4"}})";
  const Event event = only_event(handler_.handle(signed_post(command)));
  ASSERT_TRUE(event.message);
  EXPECT_EQ(event.message->text, "/Report Message");
  EXPECT_TRUE(event.sender.is_bot);
  // Without application_id in the body, the configured one addresses the follow-up.
  EXPECT_EQ(event.reply_credential, "interaction:123456789012345678:t");
}

TEST_F(DiscordInteractionsTest, AReplyBecomesTheResponseItselfWhenItIsReadyInTime) {
  const std::string command =
      R"({"type":2,"id":"1100000000000000003","token":"t","channel_id":"2",)"
      R"("user":{"id":"3","username":"ann"},"data":{"type":1,"name":"ping"}})";
  const auto result = handler_.handle(signed_post(command));
  ASSERT_TRUE(result);
  ASSERT_TRUE(result->reply_ack);
  OutgoingMessage reply = OutgoingMessage::markdown("**pong** <@3>");
  reply.segments.emplace_back(Image{"https://example.com/p.png"});
  const auto inline_answer = result->reply_ack(reply);
  ASSERT_TRUE(inline_answer);
  EXPECT_EQ(inline_answer->result(), http::status::ok);
  EXPECT_EQ((*inline_answer)[http::field::content_type], "application/json");
  EXPECT_EQ(inline_answer->body(),
            R"({"type":4,"data":{"content":"**pong** <@3>",)"
            R"("embeds":[{"image":{"url":"https://example.com/p.png"}}],)"
            R"("allowed_mentions":{"parse":[]}}})");  // <@3> in Markdown notifies nobody
  // An image Discord cannot fetch cannot travel inline: the sender reports it instead.
  OutgoingMessage unfetchable;
  unfetchable.segments.emplace_back(Image{"data:image/png;base64,AA"});
  EXPECT_FALSE(result->reply_ack(unfetchable));
}

TEST_F(DiscordInteractionsTest, WithoutAConfiguredApplicationIdTheBodysIsUsed) {
  const DiscordInteractions handler(config_for(crypto::ed25519_public_key_from_seed(kSeed), ""));
  std::string command = kGuildCommand;
  command.replace(command.find(kAppId), kAppId.size(), "999999999999999999");
  const Event event = only_event(handler.handle(signed_post(command)));
  EXPECT_EQ(event.reply_credential, "interaction:999999999999999999:A_UNIQUE_TOKEN");
}

TEST(DiscordInteractionsConstructionTest, NeedsA32BytePublicKey) {
  EXPECT_THROW(DiscordInteractions(config_for("")), std::invalid_argument);
  EXPECT_THROW(DiscordInteractions(config_for(std::string(31, 'k'))), std::invalid_argument);
}

}  // namespace
}  // namespace botgate::discord

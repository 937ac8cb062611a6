// Google Benchmark for the functions every inbound message goes through: verify + decrypt +
// parse per platform, the Event's JSON (what the inbox stores), dedup and the outbox.
// `make bench` runs it; `build/bench/botgate_micro_bench --benchmark_filter=Feishu` runs one.

#include "botgate/core/event_json.hpp"
#include "botgate/crypto/aes.hpp"
#include "botgate/crypto/digest.hpp"
#include "botgate/crypto/ed25519.hpp"
#include "botgate/crypto/encoding.hpp"
#include "botgate/crypto/seal.hpp"
#include "botgate/platforms/feishu/feishu_webhook.hpp"
#include "botgate/platforms/wecom/wecom_webhook.hpp"
#include "botgate/store/sqlite_store.hpp"
#include "platforms/wecom/wecom_test_support.hpp"
#include "support/run_sync.hpp"
#include "support/testdata.hpp"

#include <benchmark/benchmark.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <openssl/evp.h>
#include <sodium.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace botgate {
namespace {

namespace json = boost::json;

std::string testdata(const std::string& name) {
  std::ifstream in(botgate::test::testdata_path(name), std::ios::binary);
  if (!in) throw std::runtime_error("cannot open testdata " + name);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string hex_value(const json::object& o, std::string_view key) {
  return crypto::from_hex(o.at(key).as_string()).value();
}

// --- Feishu: SHA-256 signature, AES-256-CBC, JSON -> Event ---------------------------------------

void BM_FeishuEncryptedCallback(benchmark::State& state) {
  const std::string key = "bench-encrypt-key";
  feishu::FeishuConfig config;
  config.bot_name = "feishu";
  config.platform = "feishu";
  config.app_id = "cli_a1b2c3d4e5f6g7h8";
  config.app_secret = "unused";
  config.encrypt_key = key;
  config.verification_token = "v3rif1cat10n";
  auto identity = std::make_shared<feishu::BotIdentity>();
  identity->set_open_id("ou_bot0000000000000000000000000000");
  feishu::FeishuWebhook webhook(config, identity);

  const std::string plaintext = testdata("feishu/message_p2p.json");
  const std::string iv = crypto::random_bytes(16);
  const std::string ciphertext =
      crypto::aes256_cbc_encrypt(crypto::sha256(key), iv, plaintext).value();
  HttpRequest request{http::verb::post, "/webhook/feishu", 11};
  request.body() = json::serialize(json::object{{"encrypt", crypto::base64_encode(iv + ciphertext)}});
  request.set("X-Lark-Request-Timestamp", "1700000000");
  request.set("X-Lark-Request-Nonce", "n1");
  request.set("X-Lark-Signature",
              crypto::to_hex(crypto::sha256("1700000000n1" + key + request.body())));
  request.prepare_payload();
  for (auto _ : state) {
    auto outcome = webhook.handle(request);
    if (!outcome || outcome->events.size() != 1) state.SkipWithError("not accepted");
    benchmark::DoNotOptimize(outcome);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(request.body().size()));
}
BENCHMARK(BM_FeishuEncryptedCallback);

// --- WeCom: SHA-1 msg_signature, AES-256-CBC, XML -> Event ---------------------------------------

void BM_WecomEncryptedCallback(benchmark::State& state) {
  const wecom::WecomConfig config = wecom::test::official_config(wecom::WecomKind::group);
  wecom::WecomWebhook webhook(config);
  const std::string plaintext = testdata("wecom/group_message.xml");
  const HttpRequest request =
      wecom::test::encrypted_post(wecom::test::crypto_for(config), plaintext);
  for (auto _ : state) {
    auto outcome = webhook.handle(request);
    if (!outcome || outcome->events.size() != 1) state.SkipWithError("not accepted");
    benchmark::DoNotOptimize(outcome);
  }
}
BENCHMARK(BM_WecomEncryptedCallback);

// --- Ed25519 (Discord interactions, QQ webhooks) -------------------------------------------------
// Three rows over the same key, message and signature: what botgate calls, and the two libraries
// it could call, each used directly (OpenSSL as botgate's verifier used it before libsodium).

struct Ed25519Input {
  std::string key;
  std::string signature;
  std::string message;
};

Ed25519Input ed25519_input() {
  const json::object vector =
      json::parse(testdata("discord/interaction_vectors.json")).as_object().at("seed01_ping")
          .as_object();
  return {hex_value(vector, "public_key_hex"), hex_value(vector, "signature_hex"),
          std::string(vector.at("timestamp").as_string()) +
              std::string(vector.at("body").as_string())};
}

const unsigned char* bytes(const std::string& s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

void BM_Ed25519Verify(benchmark::State& state) {
  const Ed25519Input in = ed25519_input();
  for (auto _ : state) {
    const bool valid = crypto::ed25519_verify(in.key, in.message, in.signature);
    if (!valid) state.SkipWithError("signature does not verify");
    benchmark::DoNotOptimize(valid);
  }
}
BENCHMARK(BM_Ed25519Verify);

void BM_Ed25519VerifyOpenSsl(benchmark::State& state) {
  const Ed25519Input in = ed25519_input();
  for (auto _ : state) {
    EVP_PKEY* key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytes(in.key),
                                                in.key.size());
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    const bool valid = key != nullptr && ctx != nullptr &&
                       EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key) == 1 &&
                       EVP_DigestVerify(ctx, bytes(in.signature), in.signature.size(),
                                        bytes(in.message), in.message.size()) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    if (!valid) state.SkipWithError("signature does not verify");
    benchmark::DoNotOptimize(valid);
  }
}
BENCHMARK(BM_Ed25519VerifyOpenSsl);

void BM_Ed25519VerifyLibsodium(benchmark::State& state) {
  if (sodium_init() < 0) state.SkipWithError("sodium_init failed");
  const Ed25519Input in = ed25519_input();
  for (auto _ : state) {
    const bool valid = crypto_sign_verify_detached(bytes(in.signature), bytes(in.message),
                                                   in.message.size(), bytes(in.key)) == 0;
    if (!valid) state.SkipWithError("signature does not verify");
    benchmark::DoNotOptimize(valid);
  }
}
BENCHMARK(BM_Ed25519VerifyLibsodium);

// --- A reply credential sealed for the store (WeCom group and AI bots: every event has one) ------

constexpr std::string_view kWebhookUrl =
    "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa";

void BM_SealReplyCredential(benchmark::State& state) {
  const crypto::Sealer sealer(crypto::random_bytes(32));
  for (auto _ : state) benchmark::DoNotOptimize(sealer.seal("reply_credential", kWebhookUrl));
}
BENCHMARK(BM_SealReplyCredential);

void BM_UnsealReplyCredential(benchmark::State& state) {
  const crypto::Sealer sealer(crypto::random_bytes(32));
  const std::string sealed = sealer.seal("reply_credential", kWebhookUrl);
  for (auto _ : state) {
    auto opened = sealer.unseal("reply_credential", sealed);
    if (!opened) state.SkipWithError("does not open");
    benchmark::DoNotOptimize(opened);
  }
}
BENCHMARK(BM_UnsealReplyCredential);

// --- The Event as the inbox stores it ------------------------------------------------------------

Event sample_event() {
  Event event;
  event.id = "0123456789abcdef0123456789abcdef";
  event.platform = "feishu";
  event.bot = "feishu";
  event.platform_event_id = "5e3702a84e847582be8db7fb73283c02";
  event.time = std::chrono::system_clock::now();
  event.chat = Chat{"oc_5ad11d72b830411d72b836c20", ChatType::group, std::nullopt};
  event.sender = User{"ou_84aad35d084aa403a838cf73ee18467", "Ann", false};
  event.message = Message{"om_5ce6d572455d361153b7cb51da133945", "hello, how are you today?",
                          true, {Text{"hello, how are you today?"}}};
  return event;
}

void BM_EventToJson(benchmark::State& state) {
  const Event event = sample_event();
  for (auto _ : state) benchmark::DoNotOptimize(to_json(event));
}
BENCHMARK(BM_EventToJson);

void BM_EventFromJson(benchmark::State& state) {
  const std::string text = to_json(sample_event());
  for (auto _ : state) {
    auto event = event_from_json(text);
    if (!event) state.SkipWithError("not parsed");
    benchmark::DoNotOptimize(event);
  }
}
BENCHMARK(BM_EventFromJson);

// --- SQLite store: dedup + inbox, a duplicate, the outbox ----------------------------------------

/// A fresh SQLite store in a temporary file, removed afterwards.
class TempStore {
 public:
  TempStore()
      : path_(std::filesystem::temp_directory_path() /
              ("botgate-micro-" + std::to_string(::getpid()) + ".db")),
        store_(std::make_unique<store::SqliteStore>(path_.string())) {}
  ~TempStore() {
    store_.reset();
    for (const char* suffix : {"", "-wal", "-shm", "-key"}) {
      std::filesystem::remove(path_.string() + suffix);
    }
  }
  store::SqliteStore& operator*() { return *store_; }

 private:
  std::filesystem::path path_;
  std::unique_ptr<store::SqliteStore> store_;
};

void BM_StoreAcceptNewEvent(benchmark::State& state) {
  TempStore store;
  Event event = sample_event();
  std::int64_t n = 0;
  for (auto _ : state) {
    event.platform_event_id = "ev-" + std::to_string(n++);
    std::vector<std::string> keys{"e:feishu:" + event.platform_event_id};
    auto accepted = test::run_sync((*store).accept(event, std::move(keys), std::chrono::hours(8)));
    if (!accepted || !*accepted) state.SkipWithError("not accepted");
  }
}
BENCHMARK(BM_StoreAcceptNewEvent)->UseRealTime();

void BM_StoreRejectDuplicate(benchmark::State& state) {
  TempStore store;
  const Event event = sample_event();
  const std::vector<std::string> keys{"e:feishu:dup"};
  (void)test::run_sync((*store).accept(event, keys, std::chrono::hours(8)));
  for (auto _ : state) {
    auto accepted = test::run_sync((*store).accept(event, keys, std::chrono::hours(8)));
    if (!accepted || *accepted) state.SkipWithError("duplicate accepted");
  }
}
BENCHMARK(BM_StoreRejectDuplicate)->UseRealTime();

void BM_StoreOutboxPush(benchmark::State& state) {
  TempStore store;
  OutgoingMessage message = OutgoingMessage::plain("Hello, hello, how are you today?");
  message.bot = "feishu";
  message.chat_id = "oc_5ad11d72b830411d72b836c20";
  std::int64_t n = 0;
  for (auto _ : state) {
    message.idempotency_key = "k-" + std::to_string(n++);
    auto id = test::run_sync((*store).outbox_push(message));
    if (!id) state.SkipWithError("not queued");
  }
}
BENCHMARK(BM_StoreOutboxPush)->UseRealTime();

/// The store's part of answering a burst of events, as the workers drive it: 64 events accepted
/// together, taken, completed with one reply each in one step, the replies taken for sending
/// (the outbox worker), and recorded as sent together in the background (they share the next
/// burst's commit, as in the runtime, instead of waiting 5 ms for others).
void BM_StoreReplyPath(benchmark::State& state) {
  constexpr int kBurst = 64;
  TempStore store;
  Event event = sample_event();
  std::int64_t n = 0;
  asio::io_context io;
  for (auto _ : state) {
    int accepted = 0;
    for (int i = 0; i < kBurst; ++i) {
      event.platform_event_id = "ev-" + std::to_string(n++);
      // Eight chats.
      event.chat.id = "oc_" + std::to_string(n % 8);
      asio::co_spawn(io, [&, e = event]() mutable -> asio::awaitable<void> {
        std::vector<std::string> keys{"e:feishu:" + e.platform_event_id};
        auto done = co_await (*store).accept(std::move(e), std::move(keys), std::chrono::hours(8));
        if (done && *done) ++accepted;
      }, asio::detached);
    }
    io.run();  // and the previous burst's records
    io.restart();
    auto taken = test::run_sync((*store).inbox_take(event.bot, kBurst));
    if (accepted != kBurst || !taken || taken->size() != kBurst) {
      state.SkipWithError("not accepted");
      break;
    }
    std::vector<InboxCompletion> done;
    for (const InboxItem& item : *taken) {
      OutgoingMessage reply = OutgoingMessage::plain("echo: " + item.event.message->text);
      reply.in_reply_to(item.event);
      done.push_back(InboxCompletion{item.id, {std::move(reply)}});
    }
    if (!test::run_sync((*store).inbox_complete(std::move(done)))) {
      state.SkipWithError("not completed");
      break;
    }
    auto out = test::run_sync(
        (*store).outbox_take(event.bot, std::chrono::system_clock::now(), kBurst, kBurst));
    if (!out || out->size() != kBurst) {
      state.SkipWithError("replies not taken");
      break;
    }
    for (const OutboxItem& item : *out) {
      asio::co_spawn(io, [&, id = item.id]() -> asio::awaitable<void> {
        (void)co_await (*store).outbox_sent(id, "om_1");
      }, asio::detached);
    }
  }
  io.run();
  state.SetItemsProcessed(state.iterations() * kBurst);
}
BENCHMARK(BM_StoreReplyPath)->UseRealTime();

}  // namespace
}  // namespace botgate

BENCHMARK_MAIN();

#include "botgate/platforms/feishu/feishu_sender.hpp"

#include "botgate/net/http_client.hpp"
#include "botgate/net/query_string.hpp"
#include "botgate/net/token_call.hpp"
#include "botgate/platforms/common/shared_rate.hpp"
#include "botgate/platforms/common/json_fields.hpp"
#include "botgate/platforms/feishu/feishu_markup.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <charconv>
#include <vector>

namespace botgate::feishu {
namespace json = boost::json;
namespace {

// Token lifetime: `expire` is the remaining time; Feishu issues a new token only when fewer
// than 30 minutes remain, and the Go SDK refreshes 3 minutes ahead. We refresh 5 minutes ahead.
constexpr std::chrono::seconds kRefreshMargin{300};

// 99991663 tenant token invalid, 99991664 app token invalid, 99991671 token format invalid,
// 99991661 token missing (Go SDK core/constants.go): evict the token and fetch a new one.
bool is_token_code(std::int64_t code) {
  return code == 99991663 || code == 99991664 || code == 99991671 || code == 99991661;
}

using platforms::parse_object;
using platforms::string_at;

std::optional<std::int64_t> code_of(const json::object& o) { return platforms::int_at(o, "code"); }

// "The message was withdrawn": recalled before, by this bot or in the client.
constexpr std::string_view kRecalledAlready = "code 230011:";

/// Feishu's limits on the send-message API per app, counted by every instance together
/// (platforms/common/shared_rate): 50 a second and 1,000 a minute. The windows are a little
/// longer than Feishu's, since a request reaches Feishu some time after it is counted here.
struct SendLimit {
  std::string_view scope;
  std::size_t count;
  std::chrono::milliseconds window;
  std::string_view what;
};
constexpr std::array kSendLimits{
    SendLimit{"app-second", 50, std::chrono::milliseconds(1100), "50 messages a second per app"},
    SendLimit{"app-minute", 1000, std::chrono::milliseconds(61000),
              "1,000 messages a minute per app"},
};

/// The store keys of kSendLimits for an app, in their order: made once, not per send (each is
/// a digest).
std::vector<std::string> send_rate_keys_of(const FeishuConfig& config) {
  std::vector<std::string> keys;
  for (const SendLimit& limit : kSendLimits) {
    // Feishu counts per app: bots configured with one app_id share its count.
    keys.push_back(platforms::digest_rate_key(config.platform + ":" + std::string(limit.scope),
                                              config.app_id));
  }
  return keys;
}

std::chrono::milliseconds rate_limit_wait(const HttpResponse& response) {
  // x-ogw-ratelimit-reset: seconds until the window resets.
  const std::string_view reset = response["x-ogw-ratelimit-reset"];
  int seconds = 0;
  auto [ptr, ec] = std::from_chars(reset.data(), reset.data() + reset.size(), seconds);
  if (ec != std::errc{} || seconds <= 0) return std::chrono::seconds(1);
  return std::chrono::seconds(std::min(seconds, 3600));
}

}  // namespace

Result<std::string> message_id_segment(std::string_view message_id) {
  // "." and ".." are dot segments: URL normalisation (RFC 3986 5.2.4) would remove them and
  // the path would name another endpoint. Feishu message ids look like "om_..." anyway.
  if (message_id.empty() || message_id.find_first_not_of('.') == std::string_view::npos) {
    return Error{errc::platform_rejected, "reply_to is not a message id"};
  }
  // Everything but unreserved characters is escaped, so '/', '?', '#' and '%' stay inside the
  // one segment instead of adding path segments, a query or a fragment.
  return net::percent_encode(message_id);
}

Result<std::string> read_send_response(const HttpResponse& response) {
  const unsigned status = response.result_int();
  auto body = parse_object(response.body());
  const auto code = body ? code_of(*body) : std::nullopt;
  if (status == 429 || (code && (*code == 99991400 || *code == 230020))) {
    return Error{errc::rate_limited,
                 "rate limited (code " + std::to_string(code.value_or(0)) + ")",
                 rate_limit_wait(response)};
  }
  if (code && is_token_code(*code)) {
    return Error{errc::token_rejected, "token rejected (code " + std::to_string(*code) + ")"};
  }
  if (status >= 500 || !body || !code) {
    return Error{errc::platform_unavailable, "HTTP " + std::to_string(status)};
  }
  if (*code != 0) {
    return Error{errc::platform_rejected,
                 "code " + std::to_string(*code) + ": " + string_at(*body, "msg")};
  }
  std::string message_id;
  if (const auto* data = body->if_contains("data"); data && data->is_object()) {
    message_id = string_at(data->get_object(), "message_id");
  }
  return message_id;
}

Result<std::string> read_card_created(const HttpResponse& response) {
  auto answered = read_send_response(response);
  if (!answered) return answered.error();
  auto body = parse_object(response.body());
  const json::object* data = body ? platforms::object_at(*body, "data") : nullptr;
  std::string card_id = data ? string_at(*data, "card_id") : std::string();
  if (card_id.empty()) {
    return Error{errc::platform_unavailable, "card created without a card_id in the answer"};
  }
  return card_id;
}

FeishuSender::FeishuSender(FeishuConfig config, platforms::PlatformServices& services,
                           std::shared_ptr<BotIdentity> identity)
    : config_(std::move(config)),
      http_(services.http),
      store_(services.store),
      send_rate_keys_(send_rate_keys_of(config_)),
      identity_(std::move(identity)),
      tokens_(services.executor, services.store,
              config_.platform + ":" + config_.app_id + ":tenant_access_token",
              config_.app_secret, [this] { return fetch_token(); }, kRefreshMargin) {}

asio::awaitable<Result<net::FetchedToken>> FeishuSender::fetch_token() {
  // POST /open-apis/auth/v3/tenant_access_token/internal {"app_id","app_secret"}
  // -> {"code":0,"tenant_access_token":"t-..","expire":7200}
  json::object body{{"app_id", config_.app_id}, {"app_secret", config_.app_secret}};
  HttpRequest request = net::json_post(json::serialize(body));
  net::RequestOptions options;
  options.idempotent = true;  // asking for the token twice gives the same token
  auto response = co_await http_.send(
      config_.api_base + "/open-apis/auth/v3/tenant_access_token/internal", std::move(request),
      options);
  if (!response) {
    co_return Error{errc::token_unavailable, "token endpoint: " + response.error().message()};
  }
  auto answer = parse_object(response->body());
  const auto code = answer ? code_of(*answer) : std::nullopt;
  if (!answer || !code) {
    co_return Error{errc::token_unavailable,
                    "token endpoint answered HTTP " + std::to_string(response->result_int())};
  }
  if (*code != 0) {
    co_return Error{errc::token_unavailable, "token endpoint refused app " + config_.app_id +
                                                 ": code " + std::to_string(*code) + ": " +
                                                 string_at(*answer, "msg")};
  }
  net::FetchedToken token;
  token.value = string_at(*answer, "tenant_access_token");
  token.expires_in = std::chrono::seconds(platforms::int_at(*answer, "expire").value_or(0));
  if (token.value.empty() || token.expires_in.count() <= 0) {
    co_return Error{errc::token_unavailable, "token endpoint answered without a token"};
  }
  spdlog::info("bot {}: tenant_access_token fetched, valid for {} s", config_.bot_name,
               token.expires_in.count());
  co_return token;
}

asio::awaitable<Result<void>> FeishuSender::learn_identity(const std::string& token) {
  // GET /open-apis/bot/v3/info -> {"code":0,"bot":{"open_id":"ou_..",..}}: the bot's own
  // open_id, to tell its mentions (and its own messages) apart.
  HttpRequest request{http::verb::get, "/", 11};
  request.set(http::field::authorization, "Bearer " + token);
  auto response = co_await http_.send(config_.api_base + "/open-apis/bot/v3/info",
                                      std::move(request));
  if (!response) {
    co_return Error{errc::platform_unavailable, "/open-apis/bot/v3/info: " +
                                                     response.error().message()};
  }
  auto answer = parse_object(response->body());
  const auto code = answer ? code_of(*answer) : std::nullopt;
  if (code && is_token_code(*code)) {
    co_await tokens_.invalidate(token);
    co_return Error{errc::token_rejected,
                    "/open-apis/bot/v3/info: token rejected (code " + std::to_string(*code) + ")"};
  }
  std::string open_id;
  if (const auto* bot = answer && code == 0 ? answer->if_contains("bot") : nullptr;
      bot != nullptr && bot->is_object()) {
    open_id = string_at(bot->get_object(), "open_id");
  }
  if (open_id.empty()) {
    co_return Error{errc::platform_unavailable,
                    "/open-apis/bot/v3/info answered HTTP " +
                        std::to_string(response->result_int()) + " without the bot's open_id" +
                        (code ? " (code " + std::to_string(*code) + ")" : std::string())};
  }
  identity_->set_open_id(std::move(open_id));
  co_return Result<void>{};
}

asio::awaitable<Result<void>> FeishuSender::prepare() {
  auto token = co_await tokens_.get();
  if (!token) co_return token.error();
  // Ready only once the bot knows its open_id: until then the webhook cannot tell a mention of
  // the bot from anyone else's and treats none as addressed to it. A failure is tried again
  // (the runtime calls prepare() with backoff until it succeeds).
  if (identity_->open_id().empty()) co_return co_await learn_identity(*token);
  co_return Result<void>{};
}

asio::awaitable<Result<SentMessage>> FeishuSender::send(const OutgoingMessage& message) {
  const FeishuContent content = encode_content(message);
  co_return co_await post_message(message, content.msg_type, content.content);
}

asio::awaitable<Result<SentMessage>> FeishuSender::post_message(const OutgoingMessage& message,
                                                                const std::string& msg_type,
                                                                const std::string& content) {
  json::object body{{"msg_type", msg_type}, {"content", content}};
  // uuid: the same value within an hour is delivered at most once (max 50 characters).
  if (!message.idempotency_key.empty()) body["uuid"] = message.idempotency_key.substr(0, 50);
  std::string url;
  if (!message.reply_to.empty()) {
    auto segment = message_id_segment(message.reply_to);
    if (!segment) co_return segment.error();
    url = config_.api_base + "/open-apis/im/v1/messages/" + *segment + "/reply";
  } else {
    url = config_.api_base + "/open-apis/im/v1/messages?receive_id_type=chat_id";
    body["receive_id"] = message.chat_id;
  }
  const std::string payload = json::serialize(body);
  auto admitted = co_await take_send_rate();
  if (!admitted) co_return admitted.error();
  // With a uuid, a copy that reaches Feishu twice is delivered once: it may be sent again.
  net::RequestOptions options;
  options.idempotent = body.contains("uuid");
  auto send_with = [&](const std::string& token) -> asio::awaitable<Result<SentMessage>> {
    HttpRequest request = net::json_post(payload);
    request.set(http::field::authorization, "Bearer " + token);
    auto response = co_await http_.send(url, std::move(request), options);
    if (!response) co_return response.error();
    auto sent = read_send_response(*response);
    if (!sent) co_return sent.error();
    co_return SentMessage{std::move(*sent)};
  };
  auto sent = co_await net::call_with_token(tokens_, config_.bot_name, send_with);
  if (!sent && sent.error().is(errc::rate_limited) && sent.error().retry_after) {
    // Feishu asked for a pause (99991400 with x-ogw-ratelimit-reset): every instance holds off.
    auto held = co_await store_.rate_hold(send_rate_keys_.front(),
                                          *sent.error().retry_after);
    if (!held) {
      spdlog::warn("bot {}: cannot hold the send limit for the other instances: {}",
                   config_.bot_name, held.error().message());
    }
  }
  co_return sent;
}

asio::awaitable<Result<void>> FeishuSender::take_send_rate() {
  for (std::size_t i = 0; i < kSendLimits.size(); ++i) {
    const SendLimit& limit = kSendLimits[i];
    auto admitted = co_await platforms::take_shared_rate(
        store_, send_rate_keys_[i], limit.count, limit.window, std::string(limit.what));
    if (!admitted) co_return admitted.error();
  }
  co_return Result<void>{};
}

asio::awaitable<Result<void>> FeishuSender::recall(const OutgoingMessage& where,
                                                   const std::string& platform_message_id) {
  (void)where;  // a Feishu message id names its chat
  auto segment = message_id_segment(platform_message_id);
  if (!segment) co_return segment.error();
  const std::string url = config_.api_base + "/open-apis/im/v1/messages/" + *segment;
  net::RequestOptions options;
  options.idempotent = true;  // a second recall finds it recalled, which counts as done
  auto recall_with = [&](const std::string& token) -> asio::awaitable<Result<void>> {
    HttpRequest request{http::verb::delete_, "/", 11};
    request.set(http::field::authorization, "Bearer " + token);
    auto response = co_await http_.send(url, std::move(request), options);
    if (!response) co_return response.error();
    auto answered = read_send_response(*response);
    if (!answered && answered.error().is(errc::platform_rejected) &&
        answered.error().detail.starts_with(kRecalledAlready)) {
      co_return Result<void>{};
    }
    if (!answered) co_return answered.error();
    co_return Result<void>{};
  };
  co_return co_await net::call_with_token(tokens_, config_.bot_name, recall_with);
}

}  // namespace botgate::feishu

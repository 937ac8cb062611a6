#include "botgate/platforms/feishu/longconn_endpoint.hpp"

#include "botgate/net/http_client.hpp"
#include "botgate/net/query_string.hpp"
#include "botgate/platforms/common/json_fields.hpp"

#include <boost/json.hpp>

#include <charconv>
#include <random>

namespace botgate::feishu {
namespace json = boost::json;
namespace {

using platforms::int_at;
using platforms::object_at;
using platforms::parse_object;
using platforms::string_at;

constexpr std::string_view kEndpointPath = "/callback/ws/endpoint";
// The endpoint's answers that the SDKs retry (ws/enum.go): busy, and an internal error.
constexpr std::int64_t kBusy = 1;
constexpr std::int64_t kInternal = 1000040343;
// A refused handshake's Handshake-Autherrcode: the app has all the connections it may (50).
constexpr std::string_view kTooManyConnections = "Handshake-Autherrcode: 1000040350";
constexpr std::string_view kRejectedPrefix = "the long-connection endpoint refused the app";

/// The URL's service_id, which every ping must carry.
std::optional<std::int32_t> service_id_of(const std::string& url) {
  const auto query = url.find('?');
  if (query == std::string::npos) return std::nullopt;
  const auto text = net::query_param("/" + url.substr(query), "service_id");
  if (!text) return std::nullopt;
  std::int32_t value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc{} || end != text->data() + text->size()) return std::nullopt;
  return value;
}

}  // namespace

LongconnEndpoint::LongconnEndpoint(FeishuConfig config, net::HttpClient& http,
                                   std::shared_ptr<LongconnSession> session)
    : config_(std::move(config)), http_(http), session_(std::move(session)) {}

std::vector<std::string> LongconnEndpoint::refusal_headers() {
  return {"Handshake-Status", "Handshake-Msg", "Handshake-Autherrcode"};
}

asio::awaitable<Result<std::string>> LongconnEndpoint::url(std::string) {
  json::object body;
  body["AppID"] = config_.app_id;
  body["AppSecret"] = config_.app_secret;
  HttpRequest request = net::json_post(json::serialize(body));
  request.set("locale", "zh");
  auto response = co_await http_.send(config_.api_base + std::string(kEndpointPath),
                                      std::move(request));
  if (!response) co_return response.error();
  if (response->result_int() != 200) {
    co_return Error{errc::platform_unavailable, "the long-connection endpoint answered HTTP " +
                                                    std::to_string(response->result_int())};
  }
  const auto answer = parse_object(response->body());
  if (!answer) {
    co_return Error{errc::platform_unavailable,
                    "the long-connection endpoint's answer is not a JSON object"};
  }
  const auto code = int_at(*answer, "code");
  const std::string why = "code " + (code ? std::to_string(*code) : std::string("missing")) +
                          ": " + string_at(*answer, "msg");
  if (code && (*code == kBusy || *code == kInternal)) {
    co_return Error{errc::platform_unavailable, "the long-connection endpoint is busy (" + why +
                                                    ")"};
  }
  if (!code || *code != 0) {
    co_return Error{errc::platform_rejected, std::string(kRejectedPrefix) + " (" + why +
                                                 "): check app_id and app_secret, and that the "
                                                 "app is a self-built one"};
  }
  const json::object* data = object_at(*answer, "data");
  const std::string url = data ? string_at(*data, "URL") : std::string();
  const auto service_id = service_id_of(url);
  if (url.empty() || !service_id) {
    co_return Error{errc::platform_unavailable,
                    "the long-connection endpoint gave no usable URL"};
  }
  session_->service_id = *service_id;
  if (const auto* client = data->if_contains("ClientConfig"); client && client->is_object()) {
    apply_client_config(client->get_object(), session_->client);
  }
  co_return url;
}

std::optional<std::string> LongconnEndpoint::fatal(const Error& error) const {
  // Refused with 514 (a 5xx, which alone is retried) and this code: retrying cannot help.
  if (error.detail.find(kTooManyConnections) != std::string::npos) {
    return "the app has all the long connections it may have (50): close some (" +
           error.detail + ")";
  }
  if (!error.is(errc::platform_rejected)) return std::nullopt;  // 514 and the like: retried
  if (error.detail.starts_with(kRejectedPrefix)) return error.detail;
  if (error.detail.find("status 403") != std::string::npos) {
    return "the platform refuses this app long connections (banned): " + error.detail;
  }
  return std::nullopt;
}

std::unique_ptr<EventSource> make_longconn(const FeishuConfig& config,
                                           platforms::PlatformServices& services,
                                           std::shared_ptr<const BotIdentity> identity) {
  auto session = std::make_shared<LongconnSession>();
  auto random = [engine = std::mt19937(std::random_device{}())]() mutable {
    return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
  };
  auto protocol = std::make_unique<LongconnProtocol>(config, std::move(identity), session, random);
  auto endpoint = std::make_shared<LongconnEndpoint>(config, services.http, session);
  platforms::GatewayRunnerOptions options;
  options.label = config.platform + " bot '" + config.bot_name + "' long connection";
  options.session_key = config.platform + ":" + config.bot_name + ":longconn";
  options.ws.proxy_url = services.proxy_url;
  options.ws.refusal_headers = LongconnEndpoint::refusal_headers();
  // The SDKs retry every ReconnectInterval (120 s by default); the backoff reaches that.
  options.backoff = BackoffPolicy{std::chrono::seconds(1), std::chrono::seconds(120), 2.0};
  options.unit_random = random;
  return std::make_unique<platforms::GatewayRunner>(services.executor, services.store,
                                                    std::move(protocol), std::move(endpoint),
                                                    nullptr, std::move(options));
}

}  // namespace botgate::feishu

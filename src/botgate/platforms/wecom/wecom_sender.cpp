#include "botgate/platforms/wecom/wecom_sender.hpp"

#include "botgate/net/http_client.hpp"
#include "botgate/net/query_string.hpp"
#include "botgate/net/token_call.hpp"
#include "botgate/platforms/common/json_fields.hpp"
#include "botgate/platforms/common/shared_rate.hpp"
#include "botgate/platforms/wecom/wecom_markup.hpp"
#include "botgate/platforms/wecom/wecom_token.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

namespace botgate::wecom {
namespace json = boost::json;
namespace {

// access_token lives 7200 s; fetched again 5 minutes before it expires.
constexpr std::chrono::seconds kRefreshMargin{300};
// WeCom counts a message when it arrives, a little after botgate counted it: a second of margin
// keeps the 21st message from arriving while WeCom still sees the 1st inside its minute.
constexpr std::chrono::seconds kWindow{61};
// "超过频率限制 ... 按分钟拦截则被屏蔽 60 秒" (doc 90312).
constexpr std::chrono::seconds kBlockedFor{60};
constexpr std::chrono::seconds kConcurrencyWait{5};
// A retry of an app message is safe while it reaches WeCom within kDuplicateCheckInterval of
// the attempt that may have arrived; the margin covers a request's own deadline (10 s) and more.
constexpr std::chrono::seconds kDuplicateCheckMargin{60};
// How long (and how many) app messages with an uncertain attempt are remembered.
constexpr std::chrono::hours kUncertainMemory{24};
constexpr std::size_t kMaxUncertain = 4096;
// errmsg carries a hint and a link; enough of it for the log.
constexpr std::size_t kMaxErrmsg = 200;

// 40014 invalid access_token, 42001 expired, 42007/42009 expired (Tencent's AbstractApi.py),
// 40001 invalid credential: fetch a new token and try once more.
bool is_token_code(std::int64_t code) {
  return code == 40014 || code == 42001 || code == 42007 || code == 42009 || code == 40001;
}

Error rate_limited(std::string detail, std::chrono::milliseconds wait) {
  return Error{errc::rate_limited, std::move(detail), wait};
}

}  // namespace

Result<std::string> read_send_response(const HttpResponse& response) {
  const unsigned status = response.result_int();
  const auto answer = platforms::parse_object(response.body());
  const auto code = answer ? platforms::int_at(*answer, "errcode") : std::nullopt;
  if (status == 429 || code == 45009) {
    return rate_limited("WeCom frequency limit (errcode " + std::to_string(code.value_or(0)) + ")",
                        kBlockedFor);
  }
  if (code == 45033) {
    return rate_limited("WeCom concurrency limit (errcode 45033)", kConcurrencyWait);
  }
  if (code && is_token_code(*code)) {
    return Error{errc::token_rejected,
                 "access_token rejected (errcode " + std::to_string(*code) + ")"};
  }
  if (status >= 500 || !code || *code == -1) {
    return Error{errc::platform_unavailable, code == -1 ? std::string("system busy (errcode -1)")
                                                        : "HTTP " + std::to_string(status)};
  }
  if (*code != 0) {
    // The start of errmsg (it ends with a hint and a link), cut between UTF-8 characters.
    const auto errmsg = split_utf8(platforms::string_at(*answer, "errmsg"), kMaxErrmsg);
    return Error{errc::platform_rejected, "errcode " + std::to_string(*code) + ": " +
                                              (errmsg.empty() ? std::string() : errmsg.front())};
  }
  return platforms::string_at(*answer, "msgid");
}

std::string webhook_key(std::string_view url) {
  if (auto key = net::query_param(url, "key"); key && !key->empty()) return *key;
  return std::string(url.substr(0, url.find('?')));
}

std::string webhook_rate_key(std::string_view url) {
  return platforms::digest_rate_key("wecom:webhook", webhook_key(url));
}

std::string member_rate_key(const WecomConfig& config, std::string_view member) {
  // WeCom counts per app and member: the same user id in another app is counted apart.
  return platforms::digest_rate_key(
      "wecom:member", config.corp_id + "\n" + std::to_string(config.agent_id) + "\n" +
                          std::string(member));
}

std::string rebase_url(std::string_view url, std::string_view api_base) {
  const std::string_view origin = kDefaultApiBase;
  if (api_base.empty() || api_base == origin || !url.starts_with(origin) ||
      (url.size() > origin.size() && url[origin.size()] != '/')) {
    return std::string(url);
  }
  return std::string(api_base) + std::string(url.substr(origin.size()));
}

Result<void> read_aibot_answer(const AibotAnswer& answer, std::string_view cmd) {
  if (answer.errcode == 0) return Result<void>{};
  const auto errmsg = split_utf8(answer.errmsg, kMaxErrmsg);
  const std::string why = std::string(cmd) + ": errcode " + std::to_string(answer.errcode) +
                          ": " + (errmsg.empty() ? std::string() : errmsg.front());
  if (answer.errcode == 45009) {
    return rate_limited("WeCom frequency limit (" + why + ")", kBlockedFor);
  }
  if (answer.errcode == -1) return Error{errc::platform_unavailable, why};
  return Error{errc::platform_rejected, why};
}

WecomSender::WecomSender(WecomConfig config, platforms::PlatformServices& services,
                         std::shared_ptr<AibotLink> link,
                         std::shared_ptr<AibotPassiveStreams> passive)
    : config_(std::move(config)),
      http_(services.http),
      link_(std::move(link)),
      passive_(std::move(passive)),
      store_(services.store) {
  if (config_.kind == WecomKind::app) {
    tokens_.emplace(services.executor, services.store,
                    "wecom:" + config_.corp_id + ":" + std::to_string(config_.agent_id) +
                        ":access_token",
                    config_.corp_secret, [this] { return fetch_token(); }, kRefreshMargin);
  }
}

std::vector<OutgoingMessage> WecomSender::split(OutgoingMessage message) const {
  return split_message(std::move(message), config_.kind);
}

std::vector<OutgoingMessage> WecomSender::split_replies(std::vector<OutgoingMessage> replies) const {
  if (config_.kind != WecomKind::aibot) return Sender::split_replies(std::move(replies));
  // A second POST to a response_url is refused: every reply of the event goes in the first.
  // Over the long connection, likewise one finished stream answers the callback.
  bool cut = false;
  std::vector<OutgoingMessage> merged = merge_for_response_url(std::move(replies), &cut);
  std::vector<OutgoingMessage> out;
  for (OutgoingMessage& m : merged) {
    if (!m.reply_credential.empty()) {
      out.push_back(std::move(m));
      continue;
    }
    for (OutgoingMessage& part : split(std::move(m))) out.push_back(std::move(part));
  }
  if (cut) {
    spdlog::warn("bot {}: the replies to one message are longer than the {} bytes an AI bot's "
                 "response_url takes; the rest is cut off",
                 config_.bot_name, kAibotMarkdownLimit);
  }
  return out;
}

asio::awaitable<Result<net::FetchedToken>> WecomSender::fetch_token() {
  HttpRequest request{http::verb::get, "/", 11};
  auto response = co_await http_.send(gettoken_url(config_), std::move(request));
  if (!response) {
    co_return Error{errc::token_unavailable, "gettoken: " + response.error().message()};
  }
  auto token = read_token_response(*response);
  if (token) {
    spdlog::info("bot {}: access_token fetched, valid for {} s", config_.bot_name,
                 token->expires_in.count());
  }
  co_return token;
}

asio::awaitable<Result<void>> WecomSender::prepare() {
  if (!tokens_) co_return Result<void>{};
  auto token = co_await tokens_->get();
  if (!token) co_return token.error();
  co_return Result<void>{};
}

asio::awaitable<Result<SentMessage>> WecomSender::send(const OutgoingMessage& message) {
  switch (config_.kind) {
    case WecomKind::group: co_return co_await send_group(message);
    case WecomKind::app: co_return co_await send_app(message);
    case WecomKind::aibot: co_return co_await send_aibot(message);
  }
  co_return Error{errc::invalid_argument, "unknown WeCom kind"};
}

asio::awaitable<Result<HttpResponse>> WecomSender::post(std::string url, std::string body) {
  HttpRequest request = net::json_post(std::move(body));
  co_return co_await http_.send(std::move(url), std::move(request));
}

asio::awaitable<Result<SentMessage>> WecomSender::send_group(const OutgoingMessage& message) {
  // A reply goes to the webhook its callback carried (it answers that chat); anything else to
  // the bot's own webhook.
  const std::string& target = message.reply_credential.empty() ? config_.webhook_url
                                                               : message.reply_credential;
  if (target.empty()) {
    co_return Error{errc::platform_rejected,
                    "no webhook to send to: not a reply to a callback, and no webhook_url"};
  }
  auto content = encode_content(message, config_.kind);
  if (!content) co_return content.error();
  const std::string rate_key = webhook_rate_key(target);
  auto admitted = co_await platforms::take_shared_rate(
      store_, rate_key, kGroupMessagesPerMinute, kWindow,
      std::string("20 messages a minute per group bot webhook"));
  if (!admitted) co_return admitted.error();
  auto response = co_await post(rebase_url(target, config_.api_base), message_json(*content));
  if (!response) co_return response.error();
  auto sent = read_send_response(*response);
  if (!sent && sent.error().is(errc::rate_limited) && sent.error().retry_after) {
    // WeCom blocks the webhook for a while (45009: 60 s): every instance holds off, not only
    // this one. If the store cannot say so, this send waits all the same.
    auto held = co_await store_.rate_hold(rate_key, *sent.error().retry_after);
    if (!held) {
      spdlog::warn("bot {}: cannot hold the webhook's rate limit for the other instances: {}",
                   config_.bot_name, held.error().message());
    }
  }
  if (!sent) {
    // Webhooks carry no token: a token code here is not something a new token fixes.
    if (sent.error().is(errc::token_rejected)) {
      co_return Error{errc::platform_rejected, sent.error().detail};
    }
    co_return sent.error();
  }
  co_return SentMessage{std::move(*sent)};
}

asio::awaitable<Result<void>> WecomSender::recall(const OutgoingMessage& where,
                                                  const std::string& platform_message_id) {
  (void)where;  // a msgid names its message
  if (config_.kind != WecomKind::app || !tokens_) {
    co_return Error{errc::platform_rejected, "WeCom takes back only an app's messages"};
  }
  const std::string body = boost::json::serialize(boost::json::object{{"msgid", platform_message_id}});
  auto recall_with = [&](const std::string& token) -> asio::awaitable<Result<void>> {
    const std::string url = config_.api_base + "/cgi-bin/message/recall?access_token=" +
                            net::percent_encode(token);
    HttpRequest request = net::json_post(body);
    net::RequestOptions options;
    options.idempotent = true;  // taking a message back twice leaves it taken back
    auto response = co_await http_.send(url, std::move(request), options);
    if (!response) co_return response.error();
    auto answered = read_send_response(*response);
    if (!answered) co_return answered.error();
    co_return Result<void>{};
  };
  co_return co_await net::call_with_token(*tokens_, config_.bot_name, recall_with);
}

asio::awaitable<Result<SentMessage>> WecomSender::send_app(const OutgoingMessage& message) {
  if (message.chat_id.empty()) co_return Error{errc::platform_rejected, "no touser (chat_id)"};
  auto content = encode_content(message, config_.kind);
  if (!content) co_return content.error();
  const std::string body = message_json(*content, message.chat_id, config_.agent_id);
  if (auto it = uncertain_since_.find(message.idempotency_key); it != uncertain_since_.end() &&
      std::chrono::steady_clock::now() - it->second >=
          kDuplicateCheckInterval - kDuplicateCheckMargin) {
    // WeCom would no longer drop a copy of the attempt that may have arrived.
    co_return Error{errc::delivery_uncertain,
                    "an earlier attempt may have arrived, and WeCom's duplicate check ("
                    + std::to_string(kDuplicateCheckInterval.count()) +
                    " s) no longer covers a retry; not sent again"};
  }
  auto admitted = co_await platforms::take_shared_rate(
      store_, member_rate_key(config_, message.chat_id), kAppMessagesPerMemberPerMinute, kWindow,
      std::string("30 messages a minute per member"));
  if (!admitted) co_return admitted.error();
  auto send_with = [&](const std::string& token) -> asio::awaitable<Result<SentMessage>> {
    const std::string url = config_.api_base + "/cgi-bin/message/send?access_token=" +
                            net::percent_encode(token);
    auto response = co_await post(url, body);
    if (!response && response.error().is(errc::delivery_uncertain)) {
      co_return after_uncertain_app_send(message, response.error());
    }
    if (!response) co_return response.error();
    auto sent = read_send_response(*response);
    if (!sent) co_return sent.error();
    uncertain_since_.erase(message.idempotency_key);
    co_return SentMessage{std::move(*sent)};
  };
  co_return co_await net::call_with_token(*tokens_, config_.bot_name, send_with);
}

Error WecomSender::after_uncertain_app_send(const OutgoingMessage& message, Error uncertain) {
  if (message.idempotency_key.empty()) return uncertain;  // no way to tell a retry apart
  const auto now = std::chrono::steady_clock::now();
  std::erase_if(uncertain_since_, [&](const auto& entry) {
    return now - entry.second >= kUncertainMemory;
  });
  if (uncertain_since_.size() >= kMaxUncertain) {
    uncertain_since_.erase(std::min_element(
        uncertain_since_.begin(), uncertain_since_.end(),
        [](const auto& a, const auto& b) { return a.second < b.second; }));
  }
  const auto since = uncertain_since_.try_emplace(message.idempotency_key, now).first->second;
  if (now - since >= kDuplicateCheckInterval - kDuplicateCheckMargin) return uncertain;
  // enable_duplicate_check: if this one arrived, WeCom drops the copy a retry sends.
  return Error{errc::platform_unavailable,
               uncertain.detail + " (an app message: sent again under WeCom's duplicate check)"};
}

asio::awaitable<Result<SentMessage>> WecomSender::send_aibot(const OutgoingMessage& message) {
  if (config_.long_connection) co_return co_await send_aibot_longconn(message);
  if (message.reply_credential.empty()) {
    // The long connection (aibot_send_msg) is what sends unprompted; callback mode cannot.
    co_return Error{errc::platform_rejected,
                    "an AI bot in callback mode can only answer a message (response_url)"};
  }
  if (passive_) {
    auto passive = co_await send_passive(message);
    if (!passive) co_return passive.error();
    if (*passive) co_return std::move(**passive);
  }
  co_return co_await post_to_response_url(message);
}

asio::awaitable<Result<SentMessage>> WecomSender::post_to_response_url(
    const OutgoingMessage& message) {
  auto content = encode_content(message, config_.kind);
  if (!content) co_return content.error();
  auto response =
      co_await post(rebase_url(message.reply_credential, config_.api_base), message_json(*content));
  if (!response) co_return response.error();
  auto sent = read_send_response(*response);
  if (!sent) co_return sent.error();
  co_return SentMessage{std::move(*sent)};
}

asio::awaitable<Result<SentMessage>> WecomSender::send_aibot_longconn(
    const OutgoingMessage& message) {
  if (!link_) co_return Error{errc::platform_unavailable, "no long connection"};
  auto content = encode_content(message, config_.kind);
  if (!content) co_return content.error();
  if (!message.reply_credential.empty() && !link_->is_current_callback(message.reply_credential)) {
    // The callback came on an earlier connection (a reconnect or a restart since), whose
    // req_ids died with it: the chat gets the text unprompted.
    spdlog::info("bot {}: the message replied to came on an earlier connection; sending the "
                 "reply to the chat", config_.bot_name);
  } else if (!message.reply_credential.empty()) {
    // The answer to the callback: one finished stream with the whole text (the platform shows
    // a stream's last content). Its id is stable across retries of this message.
    const std::string stream_id =
        message.idempotency_key.empty() ? link_->next_req_id("stream") : message.idempotency_key;
    json::object stream{{"id", stream_id}, {"finish", true}, {"content", content->content}};
    json::object body{{"msgtype", "stream"}, {"stream", std::move(stream)}};
    auto answer = co_await link_->request("aibot_respond_msg", std::move(body),
                                          message.reply_credential);
    if (!answer) co_return answer.error();
    if (answer->errcode != kAibotUnknownReqId) {
      auto sent = read_aibot_answer(*answer, "aibot_respond_msg");
      if (!sent) co_return sent.error();
      co_return SentMessage{stream_id};
    }
    // The platform no longer knows the req_id (the connection changed under the request):
    // refused, so nothing was shown; the chat gets the text unprompted.
    spdlog::info("bot {}: the callback's req_id is no longer known (errcode {}); sending the "
                 "reply to the chat instead",
                 config_.bot_name, kAibotUnknownReqId);
  }
  if (message.chat_id.empty()) co_return Error{errc::platform_rejected, "no chatid (chat_id)"};
  json::object markdown{{"content", content->content}};
  json::object body{{"chatid", message.chat_id}, {"msgtype", "markdown"},
                    {"markdown", std::move(markdown)}};
  auto answer = co_await link_->request("aibot_send_msg", std::move(body));
  if (!answer) co_return answer.error();
  auto sent = read_aibot_answer(*answer, "aibot_send_msg");
  if (!sent) co_return sent.error();
  co_return SentMessage{};
}

}  // namespace botgate::wecom

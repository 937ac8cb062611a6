#include "botgate/platforms/qq/qq_sender.hpp"

#include "botgate/core/utf8.hpp"
#include "botgate/crypto/digest.hpp"
#include "botgate/net/query_string.hpp"
#include "botgate/net/token_call.hpp"
#include "botgate/platforms/common/json_fields.hpp"
#include "botgate/platforms/qq/qq_markup.hpp"

#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include <charconv>
#include <map>

namespace botgate::qq {
namespace {

namespace json = boost::json;

// QQ's message may be long; enough of it for the log.
constexpr std::size_t kMaxMessage = 200;

constexpr std::int64_t kDuplicateSeq = 40054005;
constexpr std::int64_t kPushAsyncOk = 304023;
constexpr std::int64_t kReplyAsyncOk = 304024;
constexpr std::int64_t kMsgExpire = 304027;

// Token missing, invalid, expired (notes 2.2): a new token may fix it.
bool is_token_code(std::int64_t code) { return code == 11241 || code == 11243 || code == 11244; }

// Notes 6.3: 429 and the per-scene throttling codes. Not 22009 "msg limit exceed": in the v2
// API that is the sixth passive reply to one message (notes 6.2), which no wait fixes.
bool is_rate_code(std::int64_t code) {
  return code == 20028 || code == 1100100 || code == 1100308 || code == 610013;
}

constexpr std::int64_t kReplyLimit = 22009;

// Notes 6.4: system errors and the codes marked "(可重试)".
bool is_retryable_code(std::int64_t code) {
  return code == 11242 || code == 11252 || code == 11263 || code == 11281 || code == 306003 ||
         code == 306005 || code == 306006 || (code >= 501002 && code <= 501012) || code == 304082 ||
         code == 304083;
}

// The start of `text`, cut between UTF-8 characters.
std::string clip(std::string_view text) {
  if (text.size() <= kMaxMessage) return std::string(text);
  return std::string(text.substr(0, utf8_prefix_length(text, kMaxMessage))) + "...";
}

std::chrono::milliseconds retry_after_of(const HttpResponse& response) {
  if (auto it = response.find(http::field::retry_after); it != response.end()) {
    const std::string_view value = it->value();
    long seconds = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec == std::errc{} && end == value.data() + value.size() && seconds > 0) {
      return std::chrono::seconds(seconds);
    }
  }
  return kQqDefaultRetryAfter;
}

std::string kind_name(QqChatKind kind) {
  switch (kind) {
    case QqChatKind::group: return "groups";
    case QqChatKind::c2c: return "single chats";
    case QqChatKind::channel: return "guild channels";
    case QqChatKind::dms: return "guild DMs";
  }
  return "this chat";
}

}  // namespace

std::optional<QqChatKind> qq_target_kind(const OutgoingMessage& message) {
  if (message.reply_context.empty()) {
    // A message not answering an event (the send API, `botgate send`) names its chat by type:
    // a group's openid, a user's (a single chat), or a guild channel. Guild DMs need the
    // reply_context of an event from one.
    switch (message.chat_type) {
      case ChatType::channel: return QqChatKind::channel;
      case ChatType::group: return QqChatKind::group;
      case ChatType::private_chat: return QqChatKind::c2c;
    }
    return std::nullopt;
  }
  return qq_chat_kind_from_string(message.reply_context);
}

std::string qq_send_path(QqChatKind kind, std::string_view chat_id) {
  const std::string id = net::percent_encode(chat_id);
  switch (kind) {
    case QqChatKind::channel: return "/channels/" + id + "/messages";
    case QqChatKind::dms: return "/dms/" + id + "/messages";
    case QqChatKind::group: return "/v2/groups/" + id + "/messages";
    case QqChatKind::c2c: return "/v2/users/" + id + "/messages";
  }
  return {};
}

std::vector<OutgoingMessage> merge_passive_replies(std::vector<OutgoingMessage> replies) {
  std::vector<OutgoingMessage> out;
  // msg_id -> how many replies to it are in `out`, and where the last one allowed is.
  std::map<std::string, std::pair<std::size_t, std::size_t>> counted;
  for (OutgoingMessage& reply : replies) {
    const auto kind = qq_target_kind(reply);
    const bool counts = !reply.reply_to.empty() && kind &&
                        (*kind == QqChatKind::group || *kind == QqChatKind::c2c);
    if (!counts) {
      out.push_back(std::move(reply));
      continue;
    }
    auto& [count, last] = counted[reply.reply_to];
    if (count < kQqRepliesPerMessage) {
      ++count;
      last = out.size();
      out.push_back(std::move(reply));
      continue;
    }
    auto& into = out[last].segments;
    into.emplace_back(Text{"\n"});
    for (Segment& segment : reply.segments) into.push_back(std::move(segment));
  }
  return out;
}

std::int64_t qq_msg_seq(std::string_view idempotency_key) {
  if (idempotency_key.starts_with(kSendKeyMark)) {
    // Stable across restarts and builds (a retry must reuse it): the key's SHA-256, not a hash
    // of the standard library's.
    const std::string digest = crypto::sha256(idempotency_key);
    std::uint32_t bits = 0;
    for (int i = 0; i < 4; ++i) bits = (bits << 8) | static_cast<unsigned char>(digest[i]);
    return kQqRepliesPerMessage + 1 + static_cast<std::int64_t>(bits % 1'000'000'000u);
  }
  const auto dash = idempotency_key.rfind('-');
  if (dash == std::string_view::npos || dash + 1 == idempotency_key.size()) return 1;
  const std::string_view digits = idempotency_key.substr(dash + 1);
  std::int64_t index = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
  if (ec != std::errc{} || end != digits.data() + digits.size() || index < 0) return 1;
  return index + 1;
}

Result<SentMessage> read_qq_send_response(const HttpResponse& response) {
  const unsigned status = response.result_int();
  const auto answer = platforms::parse_object(response.body());
  const auto code = answer ? platforms::int_at(*answer, "code") : std::nullopt;
  const bool ok_status = status >= 200 && status < 300;

  if (ok_status && (!code || *code == 0)) {
    SentMessage sent;
    if (answer) sent.platform_message_id = platforms::string_at(*answer, "id");
    return sent;
  }
  if (code == kPushAsyncOk || code == kReplyAsyncOk) {
    // Accepted, held for a manual audit; MESSAGE_AUDIT_PASS/REJECT tells the outcome later.
    const auto* data = answer ? platforms::object_at(*answer, "data") : nullptr;
    const auto* audit = data ? platforms::object_at(*data, "message_audit") : nullptr;
    spdlog::info("qq: message accepted for audit (code {}, audit_id {})", *code,
                 audit ? platforms::string_at(*audit, "audit_id") : std::string());
    return SentMessage{};
  }
  if (code == kDuplicateSeq) {
    // msg_id + msg_seq already used: msg_seq comes from the idempotency key, so this is a retry of
    // a message whose first attempt landed (its answer was lost). Nothing to resend.
    spdlog::info("qq: reply already delivered (msg_seq dedup, code 40054005)");
    return SentMessage{};
  }

  const std::string message = answer ? clip(platforms::string_at(*answer, "message")) : "";
  const std::string detail =
      code ? "qq " + std::to_string(*code) + ": " + message : "qq HTTP " + std::to_string(status);
  if (code && is_token_code(*code)) return Error{errc::token_rejected, detail};
  if (!code && status == 401) return Error{errc::token_rejected, detail};
  if (status == 429 || (code && is_rate_code(*code))) {
    return Error{errc::rate_limited, detail, retry_after_of(response)};
  }
  if ((code && is_retryable_code(*code)) || status >= 500 || (!answer && !ok_status)) {
    return Error{errc::platform_unavailable, detail};
  }
  if (code == kReplyLimit) {
    return Error{errc::platform_rejected,
                 detail + " (QQ takes " + std::to_string(kQqRepliesPerMessage) +
                     " replies to one message)"};
  }
  if (code == kMsgExpire) {
    return Error{errc::platform_rejected,
                 detail +
                     " (the passive reply window passed: 5 min in groups and channels, "
                     "60 min in single chats)"};
  }
  return Error{errc::platform_rejected, detail};
}

QqSender::QqSender(std::shared_ptr<QqApi> api) : api_(std::move(api)) {}

QqSender::QqSender(QqConfig config, platforms::PlatformServices& services)
    : QqSender(std::make_shared<QqApi>(std::move(config), services)) {}

asio::awaitable<Result<void>> QqSender::prepare() { co_return co_await api_->check_token(); }

asio::awaitable<Result<SentMessage>> QqSender::send(const OutgoingMessage& message) {
  const auto kind = qq_target_kind(message);
  if (!kind) {
    co_return Error{errc::platform_rejected,
                    "QQ has no proactive messages for this chat since "
                    "2025-04-21; only replies "
                    "(no QQ chat kind in reply_context)"};
  }
  if ((*kind == QqChatKind::group || *kind == QqChatKind::c2c) && message.reply_to.empty()) {
    co_return Error{
        errc::platform_rejected,
        "QQ has no proactive messages for " + kind_name(*kind) + " since 2025-04-21; only replies"};
  }
  if (message.chat_id.empty()) co_return Error{errc::platform_rejected, "no chat id to send to"};

  auto body = qq_message_body(message.segments, *kind);
  if (!body) co_return body.error();
  if (!message.reply_to.empty()) {
    // Passive reply (notes 6.2): the same msg_seq on every attempt, so QQ drops a duplicate.
    (*body)["msg_id"] = message.reply_to;
    (*body)["msg_seq"] = qq_msg_seq(message.idempotency_key);
  }
  const std::string text = json::serialize(*body);
  const std::string path = qq_send_path(*kind, message.chat_id);

  auto send_with = [&](const std::string& token) -> asio::awaitable<Result<SentMessage>> {
    // msg_id + msg_seq: QQ answers a second copy with 40054005 instead of delivering it. A
    // message without msg_id (a proactive channel message) has no such key.
    auto response = co_await api_->post(path, text, token, !message.reply_to.empty());
    if (!response) co_return response.error();
    co_return read_qq_send_response(*response);
  };
  co_return co_await net::call_with_token(api_->tokens(), api_->bot_name(), send_with);
}

asio::awaitable<Result<void>> QqSender::recall(const OutgoingMessage& where,
                                               const std::string& platform_message_id) {
  const auto kind = qq_target_kind(where);
  if (!kind || where.chat_id.empty() || platform_message_id.empty()) {
    co_return Error{errc::platform_rejected, "qq: no chat or message id to take back"};
  }
  std::string path = qq_send_path(*kind, where.chat_id) + "/" +
                     net::percent_encode(platform_message_id);
  // hidetip=false: the channel shows "a message was recalled", as the other chat kinds do.
  if (*kind == QqChatKind::channel) path += "?hidetip=false";
  auto recall_with = [&](const std::string& token) -> asio::awaitable<Result<void>> {
    auto response = co_await api_->remove(path, token);
    if (!response) co_return response.error();
    // The same codes as a send's answer: a token refused, a rate limit, a message too old.
    auto answered = read_qq_send_response(*response);
    if (!answered) co_return answered.error();
    co_return Result<void>{};
  };
  co_return co_await net::call_with_token(api_->tokens(), api_->bot_name(), recall_with);
}

}  // namespace botgate::qq

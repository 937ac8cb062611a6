#include "botgate/onebot/onebot_actions.hpp"

#include "botgate/core/json_fields.hpp"
#include "botgate/core/runtime.hpp"
#include "botgate/core/store.hpp"
#include "botgate/onebot/onebot_event.hpp"
#include "botgate/onebot/onebot_segments.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

namespace botgate::onebot {

namespace json = boost::json;

std::optional<ActionRequest> parse_action(std::string_view frame) {
  auto object = parse_object(frame);
  if (!object) return std::nullopt;
  const auto* action = object->if_contains("action");
  if (!action || !action->is_string() || action->get_string().empty()) return std::nullopt;
  ActionRequest request;
  request.action = std::string(action->get_string());
  if (const auto* params = object->if_contains("params")) {
    if (const auto* p = params->if_object()) {
      request.params = *p;
    } else if (!params->is_null()) {
      return std::nullopt;
    }
  }
  if (const auto* echo = object->if_contains("echo")) request.echo = *echo;
  return request;
}

namespace {

/// The platform id kept for a message sent through send_msg: this, then its outbox id.
constexpr std::string_view kSentPrefix = "botgate:";

void add_echo(json::object& answer, const ActionRequest& request) {
  if (request.echo) answer["echo"] = *request.echo;
}

}  // namespace

json::object action_ok(json::value data, const ActionRequest& request) {
  json::object answer{{"status", "ok"}, {"retcode", 0}, {"data", std::move(data)}};
  add_echo(answer, request);
  return answer;
}

json::object action_failed(int retcode, std::string wording, const ActionRequest& request) {
  json::object answer{{"status", "failed"},
                      {"retcode", retcode},
                      {"data", nullptr},
                      {"msg", wording},
                      {"wording", wording}};
  add_echo(answer, request);
  return answer;
}

void RecentEvents::note(const Event& event, Clock::time_point now) {
  // Oldest first: what is past the window, then what is over the cap.
  while (!order_.empty() &&
         (now - order_.front().first > kWindow || order_.size() >= kMaxKept)) {
    const auto& [at, id] = order_.front();
    if (auto it = by_id_.find(id); it != by_id_.end() && it->second.at == at) {
      const auto lane = chat_lane(it->second.event.chat.type, it->second.event.chat.id);
      if (auto l = latest_by_lane_.find(lane); l != latest_by_lane_.end() && l->second == id) {
        latest_by_lane_.erase(l);
      }
      by_id_.erase(it);
    }
    order_.pop_front();
  }
  by_id_[event.id] = Kept{event, now};
  order_.emplace_back(now, event.id);
  latest_by_lane_[chat_lane(event.chat.type, event.chat.id)] = event.id;
}

const Event* RecentEvents::find(const std::string& event_id, Clock::time_point now) const {
  auto it = by_id_.find(event_id);
  if (it == by_id_.end() || now - it->second.at > kWindow) return nullptr;
  return &it->second.event;
}

const Event* RecentEvents::latest_in(const std::string& lane, Clock::time_point now) const {
  auto it = latest_by_lane_.find(lane);
  return it == latest_by_lane_.end() ? nullptr : find(it->second, now);
}

Actions::Actions(Runtime& runtime, Store& store, BotIdentity identity, RecentEvents& recent)
    : runtime_(runtime), store_(store), identity_(std::move(identity)), recent_(recent) {}

asio::awaitable<json::object> Actions::run(const ActionRequest& request) {
  const std::string& action = request.action;
  if (action == "send_msg") co_return co_await send(request, "");
  if (action == "send_private_msg") co_return co_await send(request, "private");
  if (action == "send_group_msg") co_return co_await send(request, "group");
  if (action == "get_msg") co_return co_await get_msg(request);
  if (action == "get_login_info") {
    co_return action_ok(json::object{{"user_id", identity_.self_id}, {"nickname", identity_.bot}},
                        request);
  }
  if (action == "get_status") {
    co_return action_ok(json::object{{"online", true}, {"good", true}}, request);
  }
  if (action == "get_version_info") {
    co_return action_ok(json::object{{"app_name", "botgate"},
                                     {"app_version", identity_.version},
                                     {"protocol_version", "v11"},
                                     {"platform", identity_.platform}},
                        request);
  }
  if (action == "delete_msg") co_return co_await delete_msg(request);
  co_return action_failed(kRetcodeUnsupported, action + ": not implemented by botgate", request);
}

asio::awaitable<json::object> Actions::send(const ActionRequest& request, std::string type) {
  const json::object& p = request.params;
  if (type.empty()) {
    type = string_at(p, "message_type");
    if (type.empty()) type = p.contains("group_id") ? "group" : "private";
  }
  if (type != "group" && type != "private") {
    co_return action_failed(kRetcodeBadRequest, "message_type: 'private' or 'group'", request);
  }
  const bool group = type == "group";
  const std::string id_param = group ? "group_id" : "user_id";
  const auto* raw_id = p.if_contains(id_param);
  const auto number = raw_id ? parse_id(*raw_id) : std::nullopt;
  if (!number) {
    co_return action_failed(kRetcodeBadRequest,
                            id_param + ": a positive integer, or a string of digits, below 2^53",
                            request);
  }
  const auto* message = p.if_contains("message");
  std::optional<std::vector<ObSegment>> segments;
  if (message && message->is_string() && bool_at(p, "auto_escape")) {
    segments = std::vector<ObSegment>{
        ObSegment{"text", {{"text", std::string(message->get_string())}}}};
  } else if (message) {
    segments = segments_from_json(*message);
  }
  if (!segments) {
    co_return action_failed(kRetcodeBadRequest,
                            "message: a CQ-code string, a segment or an array of segments",
                            request);
  }
  InboundMessage inbound = from_onebot(*segments);
  for (const auto& dropped : inbound.dropped) {
    spdlog::info("onebot {}: a '{}' segment was dropped (botgate has no such segment, or its "
                 "data did not fit)",
                 identity_.bot, dropped);
  }

  OutgoingMessage out;
  out.bot = identity_.bot;
  auto chat = co_await store_.id_entry(identity_.bot, group ? IdKind::group : IdKind::user,
                                       *number);
  if (!chat) {
    co_return action_failed(kRetcodeStoreFailed, "the store failed: " + chat.error().message(),
                            request);
  }
  const std::string id_text = id_param + " " + std::to_string(*number);
  if (!*chat) {
    co_return action_failed(kRetcodeUnknownId,
                            id_text + ": bot '" + identity_.bot + "' knows no " +
                                (group ? "group" : "user") +
                                " with this id (ids come from the events botgate sends)",
                            request);
  }
  if (group) {
    out.chat_id = (*chat)->platform_id;
    out.chat_type = chat_type_from_string((*chat)->context).value_or(ChatType::group);
  } else {
    if ((*chat)->context.empty()) {
      co_return action_failed(kRetcodeUnknownId,
                              id_text + ": this user has not written to bot '" + identity_.bot +
                                  "' in a private chat, so there is no chat to send to",
                              request);
    }
    out.chat_id = (*chat)->context;
    out.chat_type = ChatType::private_chat;
  }

  for (Segment& segment : inbound.segments) {
    auto* mention = std::get_if<Mention>(&segment);
    if (!mention || mention->user_id == "all") continue;
    const auto user = parse_id_text(mention->user_id);
    auto found = co_await store_.id_entry(identity_.bot, IdKind::user, user.value_or(0));
    if (found && *found) {
      mention->user_id = (*found)->platform_id;
    } else {
      // A user botgate never saw: their number is all there is to show.
      segment = Text{"@" + (mention->name.empty() ? mention->user_id : mention->name)};
    }
  }
  out.segments = std::move(inbound.segments);
  if (out.segments.empty()) {
    co_return action_failed(kRetcodeBadRequest,
                            "message: nothing botgate can send in it (text, at, image by URL, "
                            "face)",
                            request);
  }

  // The event to answer: the reply segment's, else the chat's latest.
  const auto now = RecentEvents::Clock::now();
  std::optional<Event> target;
  if (inbound.reply_to) {
    auto replied = co_await store_.id_entry(identity_.bot, IdKind::message, *inbound.reply_to);
    if (replied && *replied) target = co_await kept_event((*replied)->context);
  }
  if (target && (target->bot != out.bot || chat_lane(target->chat.type, target->chat.id) !=
                                              out.lane())) {
    target.reset();  // a reply to another chat's message: sent to the chat asked for, plainly
  }
  if (!target) {
    if (const Event* recent = recent_.latest_in(out.lane(), now)) target = *recent;
  }
  if (target) out.in_reply_to(*target);

  auto id = co_await runtime_.send(std::move(out));
  if (!id) {
    const int retcode = id.error().is(errc::not_found)          ? kRetcodeUnknownId
                        : id.error().is(errc::invalid_argument) ? kRetcodeBadRequest
                                                                : kRetcodeStoreFailed;
    co_return action_failed(retcode, "not queued: " + id.error().message(), request);
  }
  std::vector<IdKey> keys{{IdKind::message, std::string(kSentPrefix) + std::to_string(*id)}};
  auto numbers = co_await store_.id_numbers(identity_.bot, std::move(keys));
  if (!numbers) {
    co_return action_failed(kRetcodeStoreFailed,
                            "queued as message " + std::to_string(*id) +
                                ", but its OneBot id could not be stored: " +
                                numbers.error().message(),
                            request);
  }
  co_return action_ok(json::object{{"message_id", numbers->at(0)}}, request);
}

asio::awaitable<std::optional<Event>> Actions::kept_event(const std::string& event_id) {
  if (event_id.empty()) co_return std::nullopt;
  if (const Event* recent = recent_.find(event_id, RecentEvents::Clock::now())) co_return *recent;
  auto kept = co_await runtime_.reply_target(event_id);
  if (kept && *kept) co_return std::move(**kept);
  co_return std::nullopt;
}

asio::awaitable<json::object> Actions::get_msg(const ActionRequest& request) {
  const auto* raw = request.params.if_contains("message_id");
  const auto number = raw ? parse_id(*raw) : std::nullopt;
  if (!number) {
    co_return action_failed(kRetcodeBadRequest,
                            "message_id: a positive integer, or a string of digits, below 2^53",
                            request);
  }
  auto entry = co_await store_.id_entry(identity_.bot, IdKind::message, *number);
  if (!entry) {
    co_return action_failed(kRetcodeStoreFailed, "the store failed: " + entry.error().message(),
                            request);
  }
  std::optional<Event> event;
  if (*entry) event = co_await kept_event((*entry)->context);
  if (!event) {
    co_return action_failed(kRetcodeUnknownId,
                            "message_id " + std::to_string(*number) +
                                ": botgate keeps no such received message (it keeps those it "
                                "sent to the framework for 24 hours; not the ones it sends)",
                            request);
  }
  auto keys = event_id_keys(*event);
  auto numbers = co_await store_.id_numbers(identity_.bot, keys);
  if (!numbers) {
    co_return action_failed(kRetcodeStoreFailed, "the store failed: " + numbers.error().message(),
                            request);
  }
  auto ob = message_event(*event, identity_.self_id, numbers_of(keys, *numbers));
  if (!ob) co_return action_failed(kRetcodeUnknownId, "not a message", request);
  json::object data{{"time", ob->at("time")},
                    {"message_type", ob->at("message_type")},
                    {"message_id", ob->at("message_id")},
                    {"real_id", ob->at("message_id")},
                    {"sender", ob->at("sender")},
                    {"message", ob->at("message")},
                    {"raw_message", ob->at("raw_message")}};
  if (ob->contains("group_id")) data["group_id"] = ob->at("group_id");
  co_return action_ok(std::move(data), request);
}

asio::awaitable<json::object> Actions::delete_msg(const ActionRequest& request) {
  const auto* raw = request.params.if_contains("message_id");
  const auto number = raw ? parse_id(*raw) : std::nullopt;
  if (!number) {
    co_return action_failed(kRetcodeBadRequest,
                            "message_id: a positive integer, or a string of digits, below 2^53",
                            request);
  }
  auto entry = co_await store_.id_entry(identity_.bot, IdKind::message, *number);
  if (!entry) {
    co_return action_failed(kRetcodeStoreFailed, "the store failed: " + entry.error().message(),
                            request);
  }
  const std::string unknown = "message_id " + std::to_string(*number) + ": ";
  if (!*entry) {
    co_return action_failed(kRetcodeUnknownId, unknown + "bot '" + identity_.bot +
                                                   "' knows no message with this id",
                            request);
  }
  Result<std::int64_t> queued = Error{errc::not_found};
  const std::string& platform_id = (*entry)->platform_id;
  if (platform_id.starts_with(kSentPrefix)) {
    const auto outbox_id = parse_id_text(std::string_view(platform_id).substr(kSentPrefix.size()));
    if (!outbox_id) {
      co_return action_failed(kRetcodeUnknownId, unknown + "not a message botgate sent", request);
    }
    queued = co_await runtime_.recall_message(*outbox_id);
  } else {
    // A received message: its chat comes from its event, kept for a while.
    std::optional<Event> event = co_await kept_event((*entry)->context);
    if (!event) {
      co_return action_failed(kRetcodeUnknownId,
                              unknown + "botgate no longer keeps the chat of this received "
                                        "message (it keeps those it sent to the framework for 24 "
                                        "hours)",
                              request);
    }
    OutgoingMessage where;
    where.in_reply_to(*event);
    queued = co_await runtime_.recall_platform_message(std::move(where), platform_id);
  }
  if (!queued) {
    const Error& error = queued.error();
    const int retcode = error.is(errc::not_found)           ? kRetcodeUnknownId
                        : error.is(errc::platform_rejected) ? kRetcodeUnsupported
                        : error.is(errc::invalid_argument)  ? kRetcodeBadRequest
                                                            : kRetcodeStoreFailed;
    co_return action_failed(retcode, "delete_msg: " + error.detail, request);
  }
  spdlog::info("onebot {}: message {} is to be taken back (recall {})", identity_.bot, *number,
               *queued);
  co_return action_ok(nullptr, request);
}

}  // namespace botgate::onebot

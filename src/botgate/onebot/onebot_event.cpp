#include "botgate/onebot/onebot_event.hpp"

#include <boost/json.hpp>

#include <type_traits>

namespace botgate::onebot {

namespace json = boost::json;

namespace {

bool is_group(const Event& event) { return event.chat.type != ChatType::private_chat; }

std::int64_t number(const IdNumbers& ids, IdKind kind, const std::string& platform_id) {
  auto it = ids.find({kind, platform_id});
  return it == ids.end() ? 0 : it->second;
}

std::int64_t seconds(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch()).count();
}

}  // namespace

std::vector<IdKey> event_id_keys(const Event& event) {
  std::vector<IdKey> keys;
  if (!event.message) return keys;
  keys.push_back({IdKind::user, event.sender.id, is_group(event) ? "" : event.chat.id});
  if (is_group(event)) keys.push_back({IdKind::group, event.chat.id, to_string(event.chat.type)});
  keys.push_back({IdKind::message, event.message->id, event.id});
  for (const auto& segment : event.message->segments) {
    if (const auto* m = std::get_if<Mention>(&segment); m && m->user_id != "all") {
      keys.push_back({IdKind::user, m->user_id});
    }
  }
  return keys;
}

IdNumbers numbers_of(const std::vector<IdKey>& keys, const std::vector<std::int64_t>& numbers) {
  IdNumbers out;
  for (std::size_t i = 0; i < keys.size() && i < numbers.size(); ++i) {
    out[{keys[i].kind, keys[i].platform_id}] = numbers[i];
  }
  return out;
}

std::vector<ObSegment> to_onebot(const Message& message, bool group, std::int64_t self_id,
                                 const IdNumbers& ids) {
  std::vector<ObSegment> out;
  bool bot_mention_left = group && message.mentions_bot;
  auto text = [&](std::string value) {
    if (value.empty()) return;
    if (!out.empty() && out.back().type == "text") {
      out.back().data[0].second += value;
    } else {
      out.push_back(ObSegment{"text", {{"text", std::move(value)}}});
    }
  };
  auto segments = message.segments;
  if (segments.empty() && !message.text.empty()) segments.emplace_back(Text{message.text});
  for (const auto& segment : segments) {
    std::visit(
        [&](const auto& s) {
          using T = std::decay_t<decltype(s)>;
          if constexpr (std::is_same_v<T, Text>) {
            text(s.text);
          } else if constexpr (std::is_same_v<T, Markdown>) {
            text(s.markdown);
          } else if constexpr (std::is_same_v<T, Link>) {
            text(s.text.empty() || s.text == s.url ? s.url : s.text + " " + s.url);
          } else if constexpr (std::is_same_v<T, Image>) {
            out.push_back(ObSegment{"image", {{"file", s.url}, {"url", s.url}}});
          } else if constexpr (std::is_same_v<T, Mention>) {
            std::string qq;
            if (s.user_id == "all") {
              qq = "all";
            } else if (bot_mention_left) {
              qq = std::to_string(self_id);
              bot_mention_left = false;
            } else {
              qq = std::to_string(number(ids, IdKind::user, s.user_id));
            }
            out.push_back(ObSegment{"at", {{"qq", std::move(qq)}}});
          }
        },
        segment);
  }
  if (bot_mention_left) {
    out.insert(out.begin(), ObSegment{"at", {{"qq", std::to_string(self_id)}}});
  }
  return out;
}

std::optional<json::object> message_event(const Event& event, std::int64_t self_id,
                                          const IdNumbers& ids) {
  if (!event.message) return std::nullopt;
  const bool group = is_group(event);
  const auto segments = to_onebot(*event.message, group, self_id, ids);
  const auto user_id = number(ids, IdKind::user, event.sender.id);
  json::object sender{{"user_id", user_id}, {"nickname", event.sender.name}};
  json::object out{
      {"time", seconds(event.time)},
      {"self_id", self_id},
      {"post_type", "message"},
      {"message_type", group ? "group" : "private"},
      {"sub_type", group ? "normal" : "friend"},
      {"message_id", number(ids, IdKind::message, event.message->id)},
      {"user_id", user_id},
      {"message", to_json(segments)},
      {"raw_message", to_cq(segments)},
      {"font", 0},
  };
  if (group) {
    out["group_id"] = number(ids, IdKind::group, event.chat.id);
    sender["card"] = "";
    sender["role"] = "member";
  }
  out["sender"] = std::move(sender);
  return out;
}

json::object lifecycle_connect(std::int64_t self_id, std::chrono::system_clock::time_point now) {
  return json::object{{"time", seconds(now)},
                      {"self_id", self_id},
                      {"post_type", "meta_event"},
                      {"meta_event_type", "lifecycle"},
                      {"sub_type", "connect"}};
}

json::object heartbeat_event(std::int64_t self_id, std::chrono::system_clock::time_point now,
                             bool online, std::chrono::milliseconds interval) {
  return json::object{{"time", seconds(now)},
                      {"self_id", self_id},
                      {"post_type", "meta_event"},
                      {"meta_event_type", "heartbeat"},
                      {"status", json::object{{"online", online}, {"good", online}}},
                      {"interval", interval.count()}};
}

}  // namespace botgate::onebot

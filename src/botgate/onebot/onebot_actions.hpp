#pragma once
/// OneBot v11 actions ({"action", "params", "echo"} -> {"status", "retcode", "data", "echo"})
/// that a framework calls on its connection: sends go through Runtime::send (the durable
/// outbox) and answer once queued; ids are read as numbers or numeric strings and looked up in
/// the store's id map. Spec: onebot-11 api/public.md, communication/ws.md.
///
/// retcode: 0 ok; 100 an id botgate does not know (or a message it cannot send); 1400 bad
/// params; 1404 an action botgate does not implement (or the platform cannot do); 1500 the
/// store failed (try again).

#include "botgate/core/error.hpp"
#include "botgate/core/event.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <utility>
#include <string>
#include <string_view>

namespace botgate {
class Runtime;
class Store;
}  // namespace botgate

namespace botgate::onebot {

namespace asio = boost::asio;

inline constexpr int kRetcodeUnknownId = 100;
inline constexpr int kRetcodeBadRequest = 1400;
inline constexpr int kRetcodeUnsupported = 1404;
inline constexpr int kRetcodeStoreFailed = 1500;

struct ActionRequest {
  std::string action;
  boost::json::object params;
  /// As the framework sent it (any JSON); absent: null, and the answer carries none.
  std::optional<boost::json::value> echo;
};

/// A frame from the framework as an action; nullopt when it is not one (not JSON, no string
/// `action`, `params` not an object).
std::optional<ActionRequest> parse_action(std::string_view frame);
boost::json::object action_ok(boost::json::value data, const ActionRequest& request);
/// `wording` says what is wrong (also as `msg`, which some frameworks print).
boost::json::object action_failed(int retcode, std::string wording, const ActionRequest& request);

/// Who the framework talks to.
struct BotIdentity {
  std::string bot;  ///< the [[bot]] name
  std::string platform;
  std::int64_t self_id = 0;
  std::string version;  ///< botgate's, for get_version_info
};

/// The events handed to the framework lately (in memory, on the bot's strand), so that a send
/// keeps the platforms' reply rules: a send to a chat with an event within kWindow goes out as
/// a reply to the latest (a QQ passive reply needs its msg_id, a Discord interaction its token),
/// and a reply segment finds its event even before the store keeps it as a reply reference.
class RecentEvents {
 public:
  static constexpr std::chrono::minutes kWindow{5};
  static constexpr std::size_t kMaxKept = 10'000;
  using Clock = std::chrono::steady_clock;

  void note(const Event& event, Clock::time_point now);
  /// The latest event of chat lane `lane` (chat_lane()) within kWindow of `now`, or nullptr.
  const Event* latest_in(const std::string& lane, Clock::time_point now) const;
  /// The event with botgate id `event_id` within kWindow of `now`, or nullptr.
  const Event* find(const std::string& event_id, Clock::time_point now) const;

 private:
  struct Kept {
    Event event;
    Clock::time_point at;
  };
  std::map<std::string, Kept> by_id_;
  std::map<std::string, std::string> latest_by_lane_;  // lane -> event id
  std::deque<std::pair<Clock::time_point, std::string>> order_;  // (noted at, event id)
};

/// Runs the actions of one bot. Calls on the bot's strand.
class Actions {
 public:
  Actions(Runtime& runtime, Store& store, BotIdentity identity, RecentEvents& recent);
  asio::awaitable<boost::json::object> run(const ActionRequest& request);

 private:
  asio::awaitable<boost::json::object> send(const ActionRequest& request, std::string type);
  asio::awaitable<boost::json::object> get_msg(const ActionRequest& request);
  /// The event `event_id` (a message id's kept context): from the recent ones, else the reply
  /// references the store keeps; nullopt when neither has it (or the id is empty).
  asio::awaitable<std::optional<Event>> kept_event(const std::string& event_id);
  /// Queues a recall: of a message sent through send_msg (every part of it), or of a received
  /// one whose event botgate still keeps; answered once queued (the outbox carries it out).
  asio::awaitable<boost::json::object> delete_msg(const ActionRequest& request);

  Runtime& runtime_;
  Store& store_;
  BotIdentity identity_;
  RecentEvents& recent_;
};

}  // namespace botgate::onebot

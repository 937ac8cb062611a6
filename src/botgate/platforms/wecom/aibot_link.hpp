#pragma once
/// What an AI bot's long connection and its sender share: the way to write a frame on the
/// current connection, the req_ids of our requests, and who waits for which answer. The
/// platform answers every request with `{headers:{req_id}, errcode, errmsg}` (no `cmd`),
/// matched by req_id (longconn-and-streaming notes 2.1): the protocol hands those answers here,
/// the sender waits for them.

#include "botgate/core/error.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>

namespace botgate::wecom {

namespace asio = boost::asio;

/// The platform's answer to one request.
struct AibotAnswer {
  std::int64_t errcode = 0;
  std::string errmsg;
};

/// Thread safety: everything on the bot's strand (the runner's and the sender's).
class AibotLink {
 public:
  /// Writes one text frame on the current connection; platform_unavailable when there is none
  /// that is subscribed (GatewayRunner::send_text).
  using Writer = std::function<asio::awaitable<Result<void>>(std::string)>;

  /// `nonce`: the req_ids' last part; empty: a random one (a test or fuzz target fixes it).
  explicit AibotLink(asio::any_io_executor strand,
                     std::chrono::milliseconds answer_timeout = std::chrono::seconds(5),
                     std::string nonce = {});

  void set_writer(Writer writer) { writer_ = std::move(writer); }

  /// A req_id no other request of this process has: "<cmd>_<n>_<random>". The prefix is the
  /// command, as the official SDK names them (the platform echoes it in the answer).
  std::string next_req_id(std::string_view cmd);

  /// `{cmd, headers:{req_id}, body}` as the frame's JSON.
  static std::string frame(std::string_view cmd, std::string_view req_id,
                           const boost::json::object& body);

  /// Writes the request and waits for its answer. `req_id` empty: a new one. Errors:
  /// platform_unavailable when it could not be written (not sent: may be sent again);
  /// delivery_uncertain when it was written but no answer came within the timeout, or the
  /// connection ended first (it may have been carried out: never sent again).
  asio::awaitable<Result<AibotAnswer>> request(std::string cmd, boost::json::object body,
                                               std::string req_id = {});

  /// A callback arrived on the current connection: a reply may answer it there.
  void note_callback(const std::string& req_id);
  /// Whether `req_id` is a callback of the current connection (among the last
  /// kMaxCallbacks). A reply to any other is refused by the platform (846605: the req_ids of a
  /// connection die with it), so it goes to the chat unprompted at once.
  bool is_current_callback(const std::string& req_id) const;
  static constexpr std::size_t kMaxCallbacks = 4096;

  /// An answer frame arrived: true when a request was waiting for it.
  bool complete(const std::string& req_id, AibotAnswer answer);
  /// The connection ended: no answer to what it carried will come. Every waiter ends now
  /// with delivery_uncertain rather than at its timeout, and its callbacks are forgotten.
  void connection_lost();
  std::size_t waiting() const { return waiters_.size(); }

 private:
  struct Waiter;

  asio::any_io_executor strand_;
  std::chrono::milliseconds answer_timeout_;
  Writer writer_;
  std::uint64_t counter_ = 0;
  std::string nonce_;
  std::map<std::string, std::shared_ptr<Waiter>, std::less<>> waiters_;
  std::set<std::string, std::less<>> callbacks_;
  std::deque<std::string> callback_order_;  // oldest first, to forget beyond kMaxCallbacks
};

}  // namespace botgate::wecom

#include "botgate/platforms/wecom/aibot_link.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <optional>
#include <random>

namespace botgate::wecom {
namespace json = boost::json;

/// One request in flight. The timer is the wait: its expiry is the deadline, and an answer (or
/// the connection's end) cancels it.
struct AibotLink::Waiter {
  explicit Waiter(const asio::any_io_executor& strand) : timer(strand) {}
  asio::steady_timer timer;
  std::optional<AibotAnswer> answer;
  bool lost = false;
};

AibotLink::AibotLink(asio::any_io_executor strand, std::chrono::milliseconds answer_timeout,
                     std::string nonce)
    : strand_(std::move(strand)), answer_timeout_(answer_timeout), nonce_(std::move(nonce)) {
  if (!nonce_.empty()) return;
  // Distinct across restarts too: a req_id of an earlier process is never taken for ours.
  std::mt19937_64 engine(std::random_device{}());
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 8; ++i) nonce_ += kHex[engine() % 16];
}

std::string AibotLink::next_req_id(std::string_view cmd) {
  return std::string(cmd) + "_" + std::to_string(++counter_) + "_" + nonce_;
}

std::string AibotLink::frame(std::string_view cmd, std::string_view req_id,
                             const json::object& body) {
  json::object root;
  root["cmd"] = cmd;
  root["headers"] = json::object{{"req_id", req_id}};
  root["body"] = body;
  return json::serialize(root);
}

asio::awaitable<Result<AibotAnswer>> AibotLink::request(std::string cmd, json::object body,
                                                        std::string req_id) {
  if (req_id.empty()) req_id = next_req_id(cmd);
  if (!writer_) co_return Error{errc::platform_unavailable, "the long connection is not running"};
  if (waiters_.contains(req_id)) {
    // The platform wants one request per req_id at a time; the outbox retries this later.
    co_return Error{errc::platform_unavailable, "another request on this req_id is in flight"};
  }
  auto waiter = std::make_shared<Waiter>(strand_);
  waiter->timer.expires_after(answer_timeout_);
  waiters_.emplace(req_id, waiter);
  const std::string text = frame(cmd, req_id, body);
  auto written = co_await writer_(text);
  if (!written) {
    waiters_.erase(req_id);
    co_return written.error();
  }
  // The answer may have come while the write finished: then there is nothing to wait for.
  if (!waiter->answer && !waiter->lost) {
    co_await waiter->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  if (auto it = waiters_.find(req_id); it != waiters_.end() && it->second == waiter) {
    waiters_.erase(it);
  }
  if (waiter->answer) co_return std::move(*waiter->answer);
  if (waiter->lost) {
    co_return Error{errc::delivery_uncertain,
                    cmd + ": the connection ended before the platform answered"};
  }
  co_return Error{errc::delivery_uncertain,
                  cmd + ": no answer within " + std::to_string(answer_timeout_.count()) + " ms"};
}

bool AibotLink::complete(const std::string& req_id, AibotAnswer answer) {
  auto it = waiters_.find(req_id);
  if (it == waiters_.end() || it->second->answer || it->second->lost) return false;
  it->second->answer = std::move(answer);
  it->second->timer.cancel();
  return true;
}

void AibotLink::note_callback(const std::string& req_id) {
  if (!callbacks_.insert(req_id).second) return;
  callback_order_.push_back(req_id);
  if (callback_order_.size() > kMaxCallbacks) {
    callbacks_.erase(callback_order_.front());
    callback_order_.pop_front();
  }
}

bool AibotLink::is_current_callback(const std::string& req_id) const {
  return callbacks_.contains(req_id);
}

void AibotLink::connection_lost() {
  callbacks_.clear();
  callback_order_.clear();
  for (auto& [req_id, waiter] : waiters_) {
    if (waiter->answer) continue;
    waiter->lost = true;
    waiter->timer.cancel();
  }
}

}  // namespace botgate::wecom

#pragma once
/// [forward]: POSTs each event as JSON (DESIGN.md "Event JSON") to the user's service, signed
/// (forward_signature.hpp), and sends back what it answers: {"reply": "text"} or
/// {"messages": [{"text"}|{"markdown"}|{"image_url"}]}; 202 means it answers through the API;
/// a `text/plain`, `text/markdown` or `text/event-stream` 200 is a streamed reply, shown as its
/// body arrives (an LLM's tokens; forward_stream.hpp) and finished at its end, or at once cut
/// short when the body breaks off.
/// A service that is down, slow or answers nonsense does not lose the event: the handler asks
/// for a retry (the event waits in the durable inbox, its chat's later events behind it) with
/// backoff, and gives up (a dead letter) after max_attempts or max_age. It has its own HTTP
/// client, which never carries a platform token.

#include "botgate/core/backoff.hpp"
#include "botgate/core/error.hpp"
#include "botgate/core/handler.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace botgate::net {
class HttpClient;
}

namespace botgate::handlers {

/// The replies a forward response asks for. A body that is empty or has neither key means "no
/// reply"; a body that is not JSON, or has keys of the wrong type, is malformed_payload.
botgate::Result<std::vector<OutgoingMessage>> parse_forward_response(std::string_view body);

/// One service and how hard to try it.
struct ForwardTarget {
  std::string url;
  std::string secret;
  std::chrono::milliseconds timeout{60'000};
  int max_attempts = 10;
  std::chrono::seconds max_age{3600};
};

/// What one POST came to, before the limits on attempts are applied.
struct ForwardFailure {
  std::string reason;
  bool retryable = true;
  /// The service's Retry-After, if it sent one.
  std::optional<std::chrono::milliseconds> retry_after = std::nullopt;
};

/// Whether a failed POST is tried again, and when: retryable failures (a timeout, no
/// connection, 408, 425, 429, 5xx, an unreadable answer) are, with `backoff` (or the service's
/// Retry-After, at most the backoff's max), until attempt `max_attempts` or an event older
/// than `max_age`; others (a 4xx: the service refuses the event) are given up at once.
/// Fills ctx's failure; returns retry or give_up.
HandlerResult decide_forward_failure(const ForwardFailure& failure, const ForwardTarget& target,
                                     const BackoffPolicy& backoff, int attempt,
                                     std::chrono::milliseconds age, double unit_random,
                                     HandlerContext& ctx);

class ForwardHandler final : public Handler {
 public:
  /// `target_of_bot`: which of `targets` serves each bot; bots not in it go on down the chain.
  ForwardHandler(boost::asio::any_io_executor executor, std::vector<ForwardTarget> targets,
                 std::map<std::string, std::size_t> target_of_bot,
                 BackoffPolicy backoff = {std::chrono::seconds(1), std::chrono::minutes(5), 2.0});
  ~ForwardHandler() override;
  /// For a bot it serves: 2xx is done (with the answer's replies, none for 202); a failure is
  /// retry or give_up (decide_forward_failure). It never answers `next` for such a bot, so no
  /// fallback (echo) answers an event the service did not.
  asio::awaitable<HandlerResult> handle(const Event& event, HandlerContext& ctx) override;
  /// The bots it does not serve pass through at once.
  bool immediate_for(const std::string& bot) const override {
    return !target_of_bot_.contains(bot);
  }

 private:
  std::vector<ForwardTarget> targets_;
  std::map<std::string, std::size_t> target_of_bot_;
  BackoffPolicy backoff_;
  std::vector<std::unique_ptr<net::HttpClient>> clients_;  // one per target: its timeouts
};

}  // namespace botgate::handlers

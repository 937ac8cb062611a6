#pragma once
/// A botgate::Sender that records every send instead of calling a platform, and fails on
/// script: the Nth send (Beast's fail-at-N method), the first N sends, the first N prepares.

#include "botgate/core/platform.hpp"

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace botgate::test {

/// One call to send().
struct SendAttempt {
  OutgoingMessage message;
  bool delivered = false;            // false when the call was scripted to fail
  std::string platform_message_id;   // set when delivered
  std::optional<Error> error;        // set when it failed
};

/// Thread safety: every method may be called from any thread; one mutex guards all state.
class RecordingSender final : public Sender {
 public:
  /// Send call number `n` (0-based, counting every call) fails with `error`.
  void fail_at(int n, Error error);
  /// The next `count` send calls fail with `error`.
  void fail_next_sends(int count, Error error);
  /// The next `count` prepare() calls fail with `error` (errc::token_unavailable by default).
  void fail_prepares(int count, Error error = Error{errc::token_unavailable, "scripted"});

  /// Recalls are refused by the runtime unless allowed (Sender::can_recall).
  void allow_recalls(bool allowed = true);
  /// The next `count` recall calls fail with `error`.
  void fail_next_recalls(int count, Error error);
  /// Splits every message at each "|" of its text into parts (Sender::split).
  void split_at_bars(bool split = true);

  asio::awaitable<Result<void>> prepare() override;
  asio::awaitable<Result<SentMessage>> send(const OutgoingMessage& message) override;
  bool can_recall() const override;
  asio::awaitable<Result<void>> recall(const OutgoingMessage& where,
                                       const std::string& platform_message_id) override;
  std::vector<OutgoingMessage> split(OutgoingMessage message) const override;

  /// The platform ids that recall() took back, in order (failed calls not included).
  std::vector<std::string> recalled() const;
  /// Every recall call's chat (as `where` gave it), failed ones included.
  std::vector<std::string> recall_chats() const;

  /// Every send call, in order, failed ones included.
  std::vector<SendAttempt> attempts() const;
  /// The messages that were delivered, in order.
  std::vector<OutgoingMessage> delivered() const;
  int send_calls() const;
  int prepare_calls() const;
  /// How many prepare() calls succeeded.
  int prepared() const;

 private:
  mutable std::mutex mutex_;  // guards everything below
  std::map<int, Error> fail_at_;
  int fail_next_ = 0;
  Error fail_next_error_;
  int fail_prepares_ = 0;
  Error prepare_error_;
  std::vector<SendAttempt> attempts_;
  int prepare_calls_ = 0;
  int prepared_ = 0;
  bool recalls_allowed_ = false;
  int fail_recalls_ = 0;
  Error recall_error_;
  bool split_at_bars_ = false;
  std::vector<std::string> recalled_;
  std::vector<std::string> recall_chats_;
};

}  // namespace botgate::test

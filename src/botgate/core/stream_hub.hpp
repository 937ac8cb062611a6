#pragma once
/// The streamed messages that are live in this process: their text as it grows, shared between
/// the producers that grow them (from any strand) and the send that renders each one (on its
/// bot's strand). The store keeps a copy of the text (Runtime writes it), so that a restart
/// finishes a stream from there; this is the fast side, where a sender waits for the next change.

#include "botgate/core/error.hpp"
#include "botgate/core/stream.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace botgate {

/// Thread safety: every method may be called from any thread; wait() suspends on the caller's
/// executor (a strand).
class StreamHub {
 public:
  using Clock = std::chrono::steady_clock;

  /// Who a stream is, for the message log.
  struct Label {
    std::string bot;
    std::string log_id;  ///< its MessageLog entry's id
  };
  /// What a change made.
  struct Changed {
    StreamSnapshot state;
    Label label;
    /// The change should be written to the store now: the stream ended, or the last write of it
    /// is older than the write interval given to change().
    bool store_now = false;
  };

  /// Makes stream `id` live with `start` (a new stream, or one the outbox gave after a restart)
  /// and the sender's `progress` so far; one already live is left as it is.
  void open(std::int64_t id, StreamSnapshot start, Label label, std::string progress = {});
  /// Applies a producer's change. Errors: not_found, the stream is not live here;
  /// conflict, it ended; invalid_argument, the text would pass kMaxStreamBytes (nothing changes).
  Result<Changed> change(std::int64_t id, const StreamChange& change,
                         std::chrono::milliseconds store_interval);
  /// Ends an open stream as cut short, `why`; returns it as it stands (nullopt when not live).
  std::optional<StreamSnapshot> cut_short(std::int64_t id,
                                          std::string why = "its producer stalled");
  /// Why a stream that was cut short here was (cut_short's `why`); empty for any other.
  std::string cut_reason(std::int64_t id) const;
  /// The stream as it stands; nullopt when it is not live here.
  std::optional<StreamSnapshot> snapshot(std::int64_t id) const;
  std::optional<Label> label(std::int64_t id) const;
  /// When its text or end last changed (or it was opened).
  std::optional<Clock::time_point> last_change(std::int64_t id) const;
  /// The sender's progress as last saved in this process (StreamFeed::save_progress).
  std::string progress(std::int64_t id) const;
  void set_progress(std::int64_t id, std::string progress);
  /// Waits until the stream's version is above `seen`, it ended, it is forgotten, wake_all()
  /// is called, or `deadline`.
  asio::awaitable<void> wait(std::int64_t id, std::uint64_t seen, Clock::time_point deadline);
  /// Wakes every waiter (the runtime stops).
  void wake_all();
  /// Forgets a stream whose send ended (its waiters wake).
  void forget(std::int64_t id);
  std::size_t size() const;

 private:
  struct Live {
    StreamSnapshot state;
    Label label;
    std::string progress;
    std::string cut_reason;
    Clock::time_point last_change;
    Clock::time_point stored_at;
    std::vector<std::shared_ptr<asio::steady_timer>> waiters;
  };
  /// Wakes and drops the waiters of `live`. Under mutex_.
  static void wake(Live& live);

  mutable std::mutex mutex_;
  std::unordered_map<std::int64_t, Live> live_;
};

}  // namespace botgate

#pragma once
/// The recent events and replies that the web console shows and searches: a bounded ring in
/// memory, fed by the runtime. Not durable (the inbox and outbox are). On a store several
/// instances share (Redis), it also holds what the other instances log (Store::share_log), and
/// starts with the recent entries kept there; otherwise it starts empty after a restart and
/// fills again with what is delivered.

#include "botgate/core/event.hpp"
#include "botgate/core/log_entry.hpp"
#include "botgate/core/outgoing.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <unordered_map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace botgate {

namespace asio = boost::asio;

struct LogFilter {
  std::string bot = {};   // exact; empty: any
  std::string chat = {};  // exact chat id; empty: any
  std::string text = {};  // case-insensitive substring of text or user; empty: any
  std::uint64_t after = 0;  // only entries with seq > after
  std::size_t limit = 200;  // the newest `limit` that match
};

/// Thread safety: every method may be called from any thread, set_publisher() excepted.
class MessageLog {
 public:
  /// Told each entry as it stands after this log added or changed it, in the order of their
  /// seqs: what the instances that share a store give each other (Store::share_log).
  using Publisher = std::function<void(const LogEntry&)>;

  explicit MessageLog(std::size_t capacity = 2000);

  /// Called once, before the log is used from other threads (the runtime's constructor).
  void set_publisher(Publisher publisher) { publisher_ = std::move(publisher); }
  /// Called once, as set_publisher: `hook` runs at the log's first read (query() or
  /// wait_for_change()), on the reader's thread, outside the log's lock. The runtime starts
  /// following the other instances' entries then: an instance whose log nobody reads does not
  /// pay for reading theirs.
  void set_first_read_hook(std::function<void()> hook) { first_read_hook_ = std::move(hook); }

  /// The entry of an accepted event.
  static LogEntry incoming(const Event& event);
  /// The entry of a reply to event `event_id` (empty for a proactive message); `platform` is
  /// the platform of the event it answers.
  static LogEntry outgoing(const OutgoingMessage& message, const std::string& platform,
                           const std::string& event_id, LogOutcome outcome = LogOutcome::queued);
  /// Adds an entry (or replaces the one with its id) under a new seq. A queued entry does not
  /// take back the outcome of one past queued (sent, retrying, failed): with several
  /// instances, a reply's queued entry may arrive after the sending instance's delivery.
  void add(LogEntry entry);
  /// As add(), for an entry another instance published: not published again.
  void add_shared(LogEntry entry);
  void add_event(const Event& event) { add(incoming(event)); }
  void add_reply(const OutgoingMessage& message, const std::string& platform,
                 const std::string& event_id, LogOutcome outcome = LogOutcome::queued) {
    add(outgoing(message, platform, event_id, outcome));
  }
  /// A delivery attempt's result for the message with `message.idempotency_key`. A message not
  /// in the log (queued before a restart) is added with `platform`.
  void delivery(const OutgoingMessage& message, const std::string& platform, LogOutcome outcome,
                const std::string& error, int attempts);

  /// A streamed reply's text as it stands, in the entry with id `log_id` (under a new seq, so the
  /// console sees it grow); its outcome stays (a producer's change may come after the send
  /// ended). Nothing when the entry left the log.
  void update_text(const std::string& log_id, std::string text);

  /// The entries that match, ascending by seq.
  std::vector<LogEntry> query(const LogFilter& filter) const;
  /// The newest seq.
  std::uint64_t seq() const;
  /// Waits until seq() > after, `timeout` passes or close() is called. Runs on any executor.
  asio::awaitable<void> wait_for_change(std::uint64_t after, std::chrono::milliseconds timeout);
  /// Wakes every waiter and makes later waits return at once (the server is stopping).
  void close();

 private:
  /// Adds or replaces; returns the entry as it now stands. Under mutex_.
  LogEntry& put(LogEntry entry, std::size_t id_hash);
  LogEntry& insert(LogEntry entry, std::size_t id_hash);  // under mutex_
  /// The entry with `id` (whose hash is `id_hash`), or null. Under mutex_.
  LogEntry* find(const std::string& id, std::size_t id_hash);
  void wake();  // under mutex_

  /// Under mutex_, so that the entries reach it in the order of their seqs.
  void publish(const LogEntry& entry) {
    if (publisher_) publisher_(entry);
  }

  void note_read() const {
    if (first_read_hook_ && !read_.exchange(true, std::memory_order_relaxed)) first_read_hook_();
  }

  std::size_t capacity_;
  Publisher publisher_;
  std::function<void()> first_read_hook_;
  mutable std::atomic<bool> read_{false};
  mutable std::mutex mutex_;
  std::deque<LogEntry> entries_;  // oldest first (by insertion)
  std::uint64_t first_index_ = 0;  // the insertion index of entries_.front()
  // The hash of an id -> its insertion index. Keyed by the hash rather than the id, so that an
  // entry costs no second copy of its id; find() compares the id itself (two ids with one hash
  // only cost the older one its place in the index: a later change adds it again).
  std::unordered_map<std::size_t, std::uint64_t> index_;
  std::uint64_t seq_ = 0;
  bool closed_ = false;
  std::vector<std::shared_ptr<asio::steady_timer>> waiters_;
};

/// The text of a message as the log shows it: plain_text(), then "[image] <url>" per image.
std::string log_text(const OutgoingMessage& message);

}  // namespace botgate

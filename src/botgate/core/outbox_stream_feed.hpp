#pragma once
/// The StreamFeed the outbox gives a sender for one streamed message: the live text from the
/// StreamHub, the stall limit (a producer that stops changing the stream for that long has it
/// cut short), and the sender's progress kept in the store.

#include "botgate/core/store.hpp"
#include "botgate/core/stream.hpp"
#include "botgate/core/stream_hub.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace botgate {

class OutboxStreamFeed final : public StreamFeed {
 public:
  /// `stopping` is the runtime's: once set, next() answers errc::cancelled.
  OutboxStreamFeed(StreamHub& hub, Store& store, std::int64_t id, std::chrono::milliseconds stall,
                   const std::atomic<bool>& stopping);

  asio::awaitable<Result<StreamSnapshot>> next(std::uint64_t seen) override;
  const std::string& progress() const override { return progress_; }
  asio::awaitable<Result<void>> save_progress(std::string progress) override;

 private:
  StreamHub& hub_;
  Store& store_;
  std::int64_t id_;
  std::chrono::milliseconds stall_;
  const std::atomic<bool>& stopping_;
  std::string progress_;
};

}  // namespace botgate

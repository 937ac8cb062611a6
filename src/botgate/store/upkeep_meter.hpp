#pragma once
/// Counts and times one kind of the SQLite store's upkeep (Store::upkeep): runs on the database
/// thread, read from any thread.

#include "botgate/core/store.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace botgate::store {

class UpkeepMeter {
 public:
  explicit UpkeepMeter(std::string kind) : kind_(std::move(kind)) {}

  /// Times one run from its construction to its end.
  class Run {
   public:
    explicit Run(UpkeepMeter& meter) : meter_(meter) {}
    ~Run() { meter_.add(std::chrono::steady_clock::now() - started_); }
    Run(const Run&) = delete;
    Run& operator=(const Run&) = delete;

   private:
    UpkeepMeter& meter_;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  };

  /// One run that took `took`. From one thread at a time.
  void add(std::chrono::nanoseconds took) noexcept;
  /// What was counted so far (each field read on its own: a run may be counted in one and not
  /// yet in another).
  StoreUpkeep figures() const;

 private:
  std::string kind_;
  std::atomic<std::uint64_t> runs_{0};
  std::atomic<std::int64_t> total_ns_{0};
  std::atomic<std::int64_t> longest_ns_{0};
};

}  // namespace botgate::store

#include "botgate/store/upkeep_meter.hpp"

namespace botgate::store {

void UpkeepMeter::add(std::chrono::nanoseconds took) noexcept {
  const std::int64_t ns = took.count();
  runs_.fetch_add(1, std::memory_order_relaxed);
  total_ns_.fetch_add(ns, std::memory_order_relaxed);
  if (ns > longest_ns_.load(std::memory_order_relaxed)) {
    longest_ns_.store(ns, std::memory_order_relaxed);
  }
}

StoreUpkeep UpkeepMeter::figures() const {
  return StoreUpkeep{kind_, runs_.load(std::memory_order_relaxed),
                     std::chrono::nanoseconds(total_ns_.load(std::memory_order_relaxed)),
                     std::chrono::nanoseconds(longest_ns_.load(std::memory_order_relaxed))};
}

}  // namespace botgate::store

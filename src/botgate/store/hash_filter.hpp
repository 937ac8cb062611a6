#pragma once
/// A Bloom filter over 64-bit hashes that are already spread evenly (store/store_key's
/// key_hash): it answers "certainly not there" for nearly every hash that was never added, so
/// that SqliteDedup looks a new event's key up in its index (a B-tree walk per event, the
/// largest single cost of an accept after the commit) only for the few percent it cannot rule
/// out. A hash added is always "maybe there"; a hash removed from the index stays in the filter
/// (a false "maybe", which the lookup answers) until the next rebuild.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace botgate::store {

class HashFilter {
 public:
  /// Sized for `expected` hashes at 16 bits each (about 1.4% false "maybe" with two probes),
  /// between 2^20 bits (128 KiB) and 2^28 (32 MiB); everything added before is forgotten.
  void reset(std::size_t expected);
  void add(std::int64_t hash) noexcept;
  bool may_contain(std::int64_t hash) const noexcept;
  /// More hashes were added since the last reset than it was sized for: rebuild it from the
  /// index, or the false "maybe"s grow.
  bool full() const noexcept { return added_ > capacity_; }
  /// Hashes added since the last reset (one added twice counts twice).
  std::size_t added() const noexcept { return added_; }
  std::size_t bytes() const noexcept { return words_.size() * sizeof(std::uint64_t); }

 private:
  std::vector<std::uint64_t> words_ = std::vector<std::uint64_t>(1);
  std::uint64_t mask_ = 63;  // bits - 1
  std::size_t capacity_ = 0;
  std::size_t added_ = 0;
};

}  // namespace botgate::store

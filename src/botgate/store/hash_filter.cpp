#include "botgate/store/hash_filter.hpp"

#include <algorithm>
#include <bit>

namespace botgate::store {
namespace {

constexpr std::size_t kBitsPerHash = 16;
constexpr std::uint64_t kMinBits = std::uint64_t{1} << 20;
constexpr std::uint64_t kMaxBits = std::uint64_t{1} << 28;

/// The two probes: the hash's halves, the second one odd so that the probes differ.
struct Probes {
  std::uint64_t first;
  std::uint64_t second;
};

Probes probes_of(std::int64_t hash, std::uint64_t mask) noexcept {
  const auto h = static_cast<std::uint64_t>(hash);
  const std::uint64_t low = h & 0xffff'ffffu;
  const std::uint64_t high = (h >> 32) | 1u;
  return {low & mask, (low + high) & mask};
}

}  // namespace

void HashFilter::reset(std::size_t expected) {
  const std::uint64_t wanted = static_cast<std::uint64_t>(std::max<std::size_t>(expected, 1)) *
                               kBitsPerHash;
  const std::uint64_t bits = std::clamp(std::bit_ceil(wanted), kMinBits, kMaxBits);
  words_.assign(static_cast<std::size_t>(bits / 64), 0);
  mask_ = bits - 1;
  capacity_ = static_cast<std::size_t>(bits / kBitsPerHash);
  added_ = 0;
}

void HashFilter::add(std::int64_t hash) noexcept {
  const Probes p = probes_of(hash, mask_);
  words_[p.first >> 6] |= std::uint64_t{1} << (p.first & 63);
  words_[p.second >> 6] |= std::uint64_t{1} << (p.second & 63);
  ++added_;
}

bool HashFilter::may_contain(std::int64_t hash) const noexcept {
  const Probes p = probes_of(hash, mask_);
  return (words_[p.first >> 6] >> (p.first & 63) & 1) != 0 &&
         (words_[p.second >> 6] >> (p.second & 63) & 1) != 0;
}

}  // namespace botgate::store

#include "botgate/app/open_files.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <fstream>

namespace botgate::app {
namespace {

constexpr std::size_t kDefaultConnectionCap = 8192;

/// fs.nr_open: the most descriptors the kernel lets one process have.
std::uint64_t kernel_per_process_max() {
  std::ifstream file("/proc/sys/fs/nr_open");
  std::uint64_t value = 0;
  if (file >> value && value > 0) return value;
  return 1u << 20;  // the kernel's default
}

}  // namespace

OpenFileLimit raise_open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return {};
  OpenFileLimit result;
  const auto as_number = [](rlim_t value) {
    return value == RLIM_INFINITY ? UINT64_MAX : static_cast<std::uint64_t>(value);
  };
  result.before = as_number(limit.rlim_cur);
  result.hard = as_number(limit.rlim_max);
  result.soft = result.before;
  rlim_t target = limit.rlim_max;
  if (target == RLIM_INFINITY) target = static_cast<rlim_t>(kernel_per_process_max());
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < target) {
    rlimit raised = limit;
    raised.rlim_cur = target;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) result.soft = as_number(target);
  }
  return result;
}

std::size_t descriptor_reserve(std::size_t bots) { return 64 + 64 * bots; }

std::size_t connection_cap(std::size_t configured, std::uint64_t soft_limit, std::size_t bots) {
  const std::uint64_t reserve = descriptor_reserve(bots);
  const std::uint64_t budget = soft_limit > 2 * reserve ? soft_limit - reserve : soft_limit / 2;
  const std::uint64_t wanted = configured == 0 ? kDefaultConnectionCap : configured;
  return static_cast<std::size_t>(std::max<std::uint64_t>(1, std::min(wanted, budget)));
}

}  // namespace botgate::app

#include "botgate/core/lease_holder.hpp"

#include <cstdint>
#include <cstdio>
#include <random>

#include <unistd.h>

namespace botgate {
namespace {

std::string make_holder() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  std::random_device device;
  std::uniform_int_distribution<std::uint32_t> any;
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "%08x", any(device));
  return std::string(host) + "/" + std::to_string(::getpid()) + "/" + suffix;
}

}  // namespace

const std::string& process_lease_holder() {
  static const std::string holder = make_holder();
  return holder;
}

}  // namespace botgate

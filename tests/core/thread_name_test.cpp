#include "botgate/core/thread_name.hpp"

#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <thread>

namespace botgate {
namespace {

/// The calling thread's name as the kernel shows it to `top -H` and `ps -L`.
std::string own_comm() {
  std::ifstream comm("/proc/self/task/" + std::to_string(::syscall(SYS_gettid)) + "/comm");
  std::string name;
  std::getline(comm, name);
  return name;
}

TEST(ThreadName, NamesTheCallingThreadOnlyAndCutsALongNameToFifteenCharacters) {
  const std::string before = own_comm();
  std::string named;
  std::string cut;
  std::thread([&] {
    name_this_thread("botgate-store");
    named = own_comm();
    name_this_thread("botgate-a-name-far-too-long");
    cut = own_comm();
  }).join();
  EXPECT_EQ(named, "botgate-store");
  EXPECT_EQ(cut, "botgate-a-name-");
  EXPECT_EQ(own_comm(), before) << "the test's own thread keeps its name";
}

}  // namespace
}  // namespace botgate

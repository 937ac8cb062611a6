#include "botgate/core/thread_name.hpp"

#include <pthread.h>

#include <cstring>

namespace botgate {

void name_this_thread(const char* name) noexcept {
  char cut[16] = {};
  std::strncpy(cut, name, sizeof cut - 1);
  // A name is a label for people: a failure changes nothing botgate does.
  (void)pthread_setname_np(pthread_self(), cut);
}

}  // namespace botgate

#include "support/testdata.hpp"

namespace botgate::test {

std::string testdata_path(std::string_view relative) {
  return std::string(BOTGATE_TESTDATA_DIR) + "/" + std::string(relative);
}

}  // namespace botgate::test

#pragma once
/// Where the tests' data files are. Only testdata.cpp knows the absolute path (a compile
/// definition), so no other test file's object depends on where the checkout lives and ccache
/// shares them between checkouts.

#include <string>
#include <string_view>

namespace botgate::test {

/// The path of a file under tests/testdata/ (`relative` may climb out with "../").
std::string testdata_path(std::string_view relative);

}  // namespace botgate::test

// Boost's assertions in the fuzz tree. botgate_asio, where Beast's HTTP parser is compiled, is
// built here with BOOST_ENABLE_ASSERT_HANDLER (fuzz/CMakeLists.txt), so that a failed
// BOOST_ASSERT comes here: it aborts as usual (a fuzzer finding), apart from one assertion that
// is wrong in Boost 1.81.
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace boost {

void assertion_failed_msg(char const* expr, char const* msg, char const* function,
                          char const* file, long line) {
  // basic_parser::parse_chunk_header asserts that a final chunk seen again is at least 5 bytes,
  // but "0\r\n" followed by one byte of the trailer is 4 when a client sends byte by byte; the
  // code after it returns need_more correctly, which is what a release build (NDEBUG) does.
  // Upstream relaxed the assertion (boostorg/beast pull request 2861).
  if (std::string_view(expr) == "n >= 5" &&
      std::string_view(function).find("parse_chunk_header") != std::string_view::npos) {
    return;
  }
  std::fprintf(stderr, "%s:%ld: %s: Assertion `%s' failed%s%s\n", file, line, function, expr,
               msg != nullptr ? ": " : "", msg != nullptr ? msg : "");
  std::abort();
}

void assertion_failed(char const* expr, char const* function, char const* file, long line) {
  assertion_failed_msg(expr, nullptr, function, file, line);
}

}  // namespace boost

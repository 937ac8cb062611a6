#pragma once
/// Loading the JSON vectors of tests/testdata for the crypto tests.

#include "botgate/crypto/encoding.hpp"
#include "support/testdata.hpp"

#include <boost/json.hpp>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace botgate::crypto::testing {

/// Parses `tests/testdata/<relative>`; throws if it is missing or not JSON.
inline boost::json::value load_json(std::string_view relative) {
  const std::string path = botgate::test::testdata_path(relative);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("cannot open test data " + path);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return boost::json::parse(text.str());
}

/// The string member `key` of the object `v`.
inline std::string str(const boost::json::value& v, std::string_view key) {
  return std::string(v.at(key).as_string());
}

/// Decodes hex that the test data guarantees to be valid.
inline std::string unhex(std::string_view hex) {
  auto bytes = from_hex(hex);
  if (!bytes) {
    throw std::runtime_error("bad hex in test data");
  }
  return *bytes;
}

}  // namespace botgate::crypto::testing

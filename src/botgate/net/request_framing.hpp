#pragma once
/// Whether a request's framing can be trusted: the checks Beast's parser leaves to the server,
/// where a disagreement between two HTTP parsers (a proxy's and ours) lets a request be smuggled
/// inside another one's body.

#include "botgate/core/http.hpp"

#include <optional>
#include <string>

namespace botgate::net {

struct FramingProblem {
  http::status status;
  std::string why;  // for the log
};

/// RFC 9112 section 6.1 and 6.3: a request with Transfer-Encoding whose final coding is not
/// `chunked` has no determinable length (400), and so has HTTP/1.0 with Transfer-Encoding, and a
/// coding the server does not implement (gzip, ...) is 501. `chunked` twice is 400. Beast itself
/// refuses Content-Length beside Transfer-Encoding and conflicting Content-Lengths.
std::optional<FramingProblem> framing_problem(const http::request_header<>& header);

}  // namespace botgate::net

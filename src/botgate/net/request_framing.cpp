#include "botgate/net/request_framing.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/rfc7230.hpp>

#include <vector>

namespace botgate::net {

std::optional<FramingProblem> framing_problem(const http::request_header<>& header) {
  auto [begin, end] = header.equal_range(http::field::transfer_encoding);
  if (begin == end) return std::nullopt;
  if (header.version() < 11) {
    return FramingProblem{http::status::bad_request, "Transfer-Encoding in an HTTP/1.0 request"};
  }
  std::vector<std::string_view> codings;
  for (auto it = begin; it != end; ++it) {
    for (auto coding : http::token_list(it->value())) codings.push_back(coding);
  }
  if (codings.empty() || !boost::beast::iequals(codings.back(), "chunked")) {
    return FramingProblem{http::status::bad_request,
                          "Transfer-Encoding without chunked as its final coding"};
  }
  for (std::size_t i = 0; i + 1 < codings.size(); ++i) {
    if (boost::beast::iequals(codings[i], "chunked")) {
      return FramingProblem{http::status::bad_request, "Transfer-Encoding chunked twice"};
    }
  }
  if (codings.size() > 1) {
    return FramingProblem{http::status::not_implemented,
                          "a transfer coding other than chunked"};
  }
  return std::nullopt;
}

}  // namespace botgate::net

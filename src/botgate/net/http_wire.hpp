#pragma once
/// HTTP/1.1 messages as they go on the wire, written by hand: Beast's serializer walks the
/// fields through a chain of buffer views and costs about as much as the send itself, for the
/// server's responses and the client's requests alike.

#include "botgate/core/http.hpp"

#include <string>

namespace botgate::net {

/// The response as it goes on the wire: status line, fields in order, blank line, body. The
/// fields (Content-Length, Connection) must be prepared already.
std::string serialize(const HttpResponse& response);

/// The request line, the fields in order and the blank line, without the body, which is sent
/// after it as it is (a gather write: no copy of it). The fields must be prepared already, and
/// the body not chunked (Beast's serializer would chunk it; this does not).
std::string request_head(const HttpRequest& request);

}  // namespace botgate::net

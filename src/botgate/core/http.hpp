#pragma once
/// HTTP messages as Beast's types: the server, the client and the webhook handlers share them
/// without copies.

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <functional>

namespace botgate {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;
namespace http = boost::beast::http;

/// What a route answers: the response, and who wants to know whether it was written (a reply
/// carried in a callback's answer counts as sent only then). The server calls `after_write`
/// once, with the outcome of the write, if it is set.
struct HttpAnswer {
  HttpAnswer() = default;
  HttpAnswer(HttpResponse r) : response(std::move(r)) {}  // NOLINT(google-explicit-constructor)
  HttpResponse response;
  std::function<void(bool written)> after_write;
  /// The route wrote its own answer on the connection (net/stream_connection.hpp: server-sent
  /// events, a WebSocket): the server writes nothing more and closes the connection.
  bool connection_taken = false;
};

/// A response with `status`, `content_type` and `body`.
HttpResponse make_response(http::status status, std::string body,
                           std::string_view content_type = "application/json");

/// The path of a request target, without the query string.
std::string_view target_path(std::string_view target) noexcept;
/// The target with its query string removed, for logs: queries may carry secrets.
std::string_view target_for_log(std::string_view target) noexcept;

}  // namespace botgate

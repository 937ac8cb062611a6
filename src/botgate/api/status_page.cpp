#include "botgate/api/status_page.hpp"

namespace botgate::api {
namespace {

std::string escape_html(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

std::string render_status_page(const std::vector<BotStatus>& bots) {
  std::string html = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta http-equiv="refresh" content="5"><title>botgate</title>
<style>body{font:15px system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.4rem;
text-align:left}.ok{color:#070}.bad{color:#b00}</style></head><body>
<h1>botgate</h1>
)";
  if (bots.empty()) {
    html += "<p>No bot is enabled: set the credentials of a bot in the environment (see the "
            "README) and restart.</p>\n";
  } else {
    html += "<table><tr><th>bot</th><th>platform</th><th>state</th><th>callback URL</th>"
            "<th>events in</th><th>sent</th><th>failed</th></tr>\n";
    for (const BotStatus& bot : bots) {
      html += "<tr><td>" + escape_html(bot.name) + "</td><td>" + escape_html(bot.platform) +
              "</td><td class=\"" + (bot.ready ? "ok\">ready" : "bad\">not ready");
      if (!bot.ready && !bot.last_error.empty()) html += ": " + escape_html(bot.last_error);
      for (const EventSourceStatus& connection : bot.connections) {
        html += "<br>gateway " + escape_html(connection.state);
        if (!connection.detail.empty() && connection.state != "fatal") {
          html += ": " + escape_html(connection.detail);
        }
        html += " (" + std::to_string(connection.reconnects) + " reconnects, " +
                std::to_string(connection.resumes) + " resumes)";
      }
      html += "</td><td><code>/webhook/" + escape_html(bot.name) + "</code></td><td>" +
              std::to_string(bot.events_in) + "</td><td>" + std::to_string(bot.messages_sent) +
              "</td><td>" + std::to_string(bot.send_failures) + "</td></tr>\n";
    }
    html += "</table>\n";
  }
  html += "<p><a href=\"/readyz\">/readyz</a> · <a href=\"/healthz\">/healthz</a></p>\n"
          "</body></html>\n";
  return html;
}

void add_status_page(net::Router& router, const Runtime& runtime) {
  router.add("/", {http::verb::get, http::verb::head},
             [&runtime](const HttpRequest&, std::string) -> asio::awaitable<HttpResponse> {
               co_return make_response(http::status::ok, render_status_page(runtime.status()),
                                       "text/html; charset=utf-8");
             });
}

}  // namespace botgate::api

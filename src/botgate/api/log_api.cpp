#include "botgate/api/log_api.hpp"

#include "botgate/api/api_answers.hpp"
#include "botgate/api/api_auth.hpp"
#include "botgate/core/event_json.hpp"
#include "botgate/net/query_string.hpp"


#include <charconv>

namespace botgate::api {
namespace json = boost::json;
namespace {

/// The number in parameter `name`, `fallback` when absent, nullopt when malformed.
std::optional<std::uint64_t> number_param(std::string_view target, std::string_view name,
                                          std::uint64_t fallback) {
  auto text = net::query_param(target, name);
  if (!text || text->empty()) return fallback;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc{} || end != text->data() + text->size()) return std::nullopt;
  return value;
}

}  // namespace

std::optional<LogFilter> log_filter_from(std::string_view target) {
  LogFilter filter;
  filter.bot = net::query_param(target, "bot").value_or("");
  filter.chat = net::query_param(target, "chat").value_or("");
  filter.text = net::query_param(target, "q").value_or("");
  auto after = number_param(target, "after", 0);
  auto limit = number_param(target, "limit", 200);
  if (!after || !limit || *limit == 0 || *limit > 1000) return std::nullopt;
  filter.after = *after;
  filter.limit = static_cast<std::size_t>(*limit);
  return filter;
}

json::object log_entry_json(const LogEntry& entry) {
  return json::object{{"seq", entry.seq},
                      {"id", entry.id},
                      {"time", format_time(entry.time)},
                      {"bot", entry.bot},
                      {"platform", entry.platform},
                      {"chat_id", entry.chat_id},
                      {"direction", entry.incoming ? "in" : "out"},
                      {"user", entry.user},
                      {"text", entry.text},
                      {"outcome", to_string(entry.outcome)},
                      {"error", entry.error},
                      {"attempts", entry.attempts},
                      {"reply_to", entry.reply_to}};
}

void add_log_api(net::Router& router, MessageLog& log, const ApiAccess& access) {
  router.add(
      "/api/v1/log", {http::verb::get},
      with_api_token(access, [&log](const HttpRequest& request,
                                                  std::string) -> asio::awaitable<HttpResponse> {
        const std::string_view target = request.target();
        std::optional<LogFilter> filter = log_filter_from(target);
        auto wait_ms = number_param(target, "wait_ms", 0);
        if (!filter || !wait_ms) {
          co_return make_response(http::status::bad_request,
                                  R"({"error":"after, limit (1-1000) and wait_ms are numbers"})");
        }
        const auto wait = std::min(std::chrono::milliseconds(*wait_ms), kMaxLogWait);
        const auto deadline = std::chrono::steady_clock::now() + wait;
        std::uint64_t seen = log.seq();
        std::vector<LogEntry> entries = log.query(*filter);
        // Changes that do not match the filter wake the wait too: wait again for the rest.
        while (entries.empty()) {
          const auto left = std::chrono::ceil<std::chrono::milliseconds>(
              deadline - std::chrono::steady_clock::now());
          if (left.count() <= 0) break;
          co_await log.wait_for_change(seen, left);
          const std::uint64_t now_seq = log.seq();
          if (now_seq == seen) break;  // the time passed, or the server is stopping
          seen = now_seq;
          entries = log.query(*filter);
        }
        json::array items;
        for (const LogEntry& entry : entries) items.emplace_back(log_entry_json(entry));
        json::object body{{"seq", std::max(seen, entries.empty() ? 0 : entries.back().seq)},
                          {"entries", std::move(items)}};
        co_return json_answer(http::status::ok, body);
      }));
}

}  // namespace botgate::api

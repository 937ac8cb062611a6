#pragma once
/// GET /api/v1/log: recent events and replies from the runtime's message log, searchable by
/// bot, chat and text, each with its outcome; `after` + `wait_ms` make it a long poll that the
/// console uses as its live feed.

#include "botgate/api/api_auth.hpp"
#include "botgate/core/message_log.hpp"
#include "botgate/net/router.hpp"

#include <boost/json/object.hpp>

#include <string>

namespace botgate::api {

/// The longest a long poll may wait; the browser and proxies keep the request open that long.
inline constexpr std::chrono::milliseconds kMaxLogWait{25'000};

void add_log_api(net::Router& router, MessageLog& log, const ApiAccess& access);

/// The filter from the query of `target`: bot, chat, q, after, limit (1..1000). nullopt when
/// a number is malformed.
std::optional<LogFilter> log_filter_from(std::string_view target);

boost::json::object log_entry_json(const LogEntry& entry);

}  // namespace botgate::api

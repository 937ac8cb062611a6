#pragma once
/// The send API: POST /api/v1/messages queues a message to any bot and chat through the outbox
/// (202 with its id once it is durable); GET /api/v1/messages/{id} tells what became of it.
/// Both behind the API checks (api_auth.hpp). docs/api.md is the client's description.

#include "botgate/api/api_auth.hpp"
#include "botgate/core/runtime.hpp"
#include "botgate/net/router.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string_view>

namespace botgate::api {

void add_messages_api(net::Router& router, Runtime& runtime, const ApiAccess& access);


/// The answer of GET /api/v1/messages/{id}: {"id", "bot", "state", "attempts",
/// "platform_message_id"?, "error"?}. "retrying" is a queued message tried before; "error" is
/// the platform's last error of a retrying or failed one.
boost::json::object message_status_json(std::int64_t id, const OutboxStatus& status);

}  // namespace botgate::api

#pragma once
/// The dead letters: events a handler gave up on (a forward service that kept failing or
/// refused them), kept with the reason so that nothing accepted is lost silently.
///   GET    /api/v1/dead-letters?bot=&before=&limit=   newest first, paged by `before`
///   POST   /api/v1/dead-letters/{id}/retry            back into its bot's inbox (202)
///   DELETE /api/v1/dead-letters/{id}                  discarded (204)
/// The event JSON shown is what a forward service gets: no platform credential.

#include "botgate/api/api_auth.hpp"
#include "botgate/core/runtime.hpp"
#include "botgate/net/router.hpp"

#include <boost/json/object.hpp>

namespace botgate::api {

void add_dead_letter_api(net::Router& router, Runtime& runtime, const ApiAccess& access);

boost::json::object dead_letter_json(const DeadLetter& letter);

}  // namespace botgate::api

#pragma once
/// The web console: GET / and /assets/<file> serve the page (no token needed: it holds no
/// data; the Host check applies), and POST /api/v1/sandbox/messages takes a message typed in
/// its sandbox chat (behind the API checks). The page reads /api/v1/status and /api/v1/log.

#include "botgate/api/api_auth.hpp"
#include "botgate/core/runtime.hpp"
#include "botgate/net/router.hpp"

#include <string>

namespace botgate::api {

/// `sandbox_bot` names the runtime's built-in bot whose callback takes the typed messages (the
/// wiring finds it from the platforms' declarations); an unknown or empty name answers 404.
void add_console(net::Router& router, Runtime& runtime, const ApiAccess& access,
                 std::string sandbox_bot);

/// The Content-Type for a console file, by its extension.
std::string_view content_type_for(std::string_view file_name);

}  // namespace botgate::api

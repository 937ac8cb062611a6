#include "botgate/onebot/forward_access.hpp"

#include "botgate/crypto/encoding.hpp"
#include "botgate/net/query_string.hpp"

#include <algorithm>

namespace botgate::onebot {

TokenCheck check_access_token(const HttpRequest& request, std::string_view token) {
  bool sent = false;
  bool matched = false;
  if (const auto header = request.find(http::field::authorization); header != request.end()) {
    sent = true;
    constexpr std::string_view scheme = "Bearer ";
    const std::string_view value = header->value();
    // Both branches compare, so that the time taken says nothing about the header's form.
    const std::string_view given = value.starts_with(scheme) ? value.substr(scheme.size()) : "";
    matched = crypto::constant_time_equal(given, token) && !given.empty();
  }
  if (auto query = net::query_param(request.target(), "access_token")) {
    sent = true;
    matched = (crypto::constant_time_equal(*query, token) && !query->empty()) || matched;
  }
  if (matched) return TokenCheck::ok;
  return sent ? TokenCheck::wrong : TokenCheck::missing;
}

std::variant<std::string, BotRefusal> resolve_forward_bot(std::string_view named,
                                                          const std::vector<std::string>& bound) {
  if (!named.empty()) {
    if (std::find(bound.begin(), bound.end(), named) != bound.end()) return std::string(named);
    return BotRefusal{"no bot named '" + std::string(named) +
                      "' is served over the OneBot forward WebSocket"};
  }
  if (bound.size() == 1) return bound.front();
  if (bound.empty()) return BotRefusal{"no bot is served over the OneBot forward WebSocket"};
  std::string names;
  for (const std::string& bot : bound) names += (names.empty() ? "" : ", ") + bot;
  return BotRefusal{"several bots are served over OneBot (" + names +
                    "): name one, /onebot/v11/ws/<bot>"};
}

}  // namespace botgate::onebot

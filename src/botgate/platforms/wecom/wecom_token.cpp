#include "botgate/platforms/wecom/wecom_token.hpp"

#include "botgate/net/query_string.hpp"
#include "botgate/platforms/common/json_fields.hpp"

namespace botgate::wecom {

std::string gettoken_url(const WecomConfig& config) {
  return config.api_base + "/cgi-bin/gettoken?corpid=" + net::percent_encode(config.corp_id) +
         "&corpsecret=" + net::percent_encode(config.corp_secret);
}

Result<net::FetchedToken> read_token_response(const HttpResponse& response) {
  const auto answer = platforms::parse_object(response.body());
  const auto code = answer ? platforms::int_at(*answer, "errcode") : std::nullopt;
  if (!code) {
    return Error{errc::token_unavailable,
                 "gettoken answered HTTP " + std::to_string(response.result_int())};
  }
  if (*code != 0) {
    return Error{errc::token_unavailable, "gettoken refused: errcode " + std::to_string(*code) +
                                              ": " + platforms::string_at(*answer, "errmsg")};
  }
  net::FetchedToken token;
  token.value = platforms::string_at(*answer, "access_token");
  token.expires_in = std::chrono::seconds(platforms::int_at(*answer, "expires_in").value_or(0));
  if (token.value.empty() || token.expires_in.count() <= 0) {
    return Error{errc::token_unavailable, "gettoken answered without a token"};
  }
  return token;
}

}  // namespace botgate::wecom

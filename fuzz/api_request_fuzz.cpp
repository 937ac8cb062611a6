// The API's and the sandbox's request parsing: the token, Host and content-type checks
// (api/api_auth.hpp), the log query (api/log_api.hpp), the send API's body and a stream's change
// (api/send_request.hpp)
// and the sandbox's message body (platforms/sandbox), on a request whose target, Host, Authorization, Content-Type and body come
// from the input.
#include "botgate/api/api_auth.hpp"
#include "botgate/api/log_api.hpp"
#include "botgate/api/send_request.hpp"
#include "botgate/platforms/sandbox/sandbox_platform.hpp"
#include "fuzz_request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace botgate;
  static const platforms::SandboxWebhook sandbox(
      platforms::SandboxOptions{{"feishu", "wecom", "qq", "discord"}});
  static const api::ApiAccess access = [] {
    api::ApiAccess a;
    a.set_token("fuzz-api-token");
    a.add_listen("127.0.0.1", 8080);
    a.add_allowed_hosts({"bot.example.com", "proxy.example.com:8443"});
    return a;
  }();

  FuzzedDataProvider input(data, size);
  const http::verb method = fuzz::fuzzed_method(input);
  const std::string target = "/api/v1/" + input.ConsumeRandomLengthString(300);
  const std::string host = fuzz::header_value(input);
  const std::string authorization = fuzz::header_value(input);
  const std::string content_type = fuzz::header_value(input);
  HttpRequest request = fuzz::make_request(method, target, input.ConsumeRemainingBytesAsString());
  if (!authorization.empty()) request.set(http::field::authorization, authorization);
  request.set(http::field::content_type, content_type);
  request.set(http::field::host, host);

  (void)access.host_allowed(request);
  (void)access.has_token(request);
  (void)api::is_json_content_type(content_type);
  (void)api::log_filter_from(request.target());
  (void)api::parse_send_request(request.body());
  (void)api::parse_stream_change(request.body());
  (void)sandbox.handle(request);
  return 0;
}

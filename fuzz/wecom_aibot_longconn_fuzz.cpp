// The WeCom AI bot's long-connection protocol (platforms/wecom/aibot_longconn_protocol.hpp) fed
// fuzzed JSON frames, pings due and closes (gateway_frames.hpp). The link's req_ids end in a
// fixed nonce, so that the seeds can answer the subscribe ("aibot_subscribe_1_fuzz").
#include "botgate/platforms/wecom/aibot_longconn_protocol.hpp"
#include "gateway_frames.hpp"

#include <boost/asio/io_context.hpp>

#include <memory>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace botgate;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  static boost::asio::io_context io;  // the link's timers are never started here
  wecom::WecomConfig config;
  config.bot_name = "fuzz";
  config.kind = wecom::WecomKind::aibot;
  config.long_connection = true;
  config.bot_id = "aibFuzz";
  config.secret = "fuzz-secret";
  auto link = std::make_shared<wecom::AibotLink>(io.get_executor(), std::chrono::seconds(5),
                                                 "fuzz");
  wecom::AibotLongconnProtocol protocol(config, link);
  fuzz::drive_gateway(protocol, input, "");
  return 0;
}

#include "botgate/platforms/feishu/longconn_frame.hpp"

#include <gtest/gtest.h>

#include <string>

namespace botgate::feishu {
namespace {

using namespace std::string_literals;

// A ping as the protobuf wire format spells it (field number << 3 | wire type), written out by
// hand from pbbp2.proto: SeqID 0, LogID 0, service 7, method 0, header {type: ping}.
const std::string kPingBytes =
    "\x08\x00"s "\x10\x00"s "\x18\x07"s "\x20\x00"s
    "\x2a\x0c"s "\x0a\x04type"s "\x12\x04ping"s;

TEST(LongconnFrameTest, EncodesAPingAsTheWireFormatSpellsIt) {
  LongconnFrame ping;
  ping.service = 7;
  ping.method = kControlFrame;
  ping.headers.emplace_back("type", "ping");
  EXPECT_EQ(encode_frame(ping), kPingBytes);
}

TEST(LongconnFrameTest, DecodesTheWireFormat) {
  const auto frame = decode_frame(kPingBytes);
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->service, 7);
  EXPECT_EQ(frame->method, kControlFrame);
  EXPECT_EQ(frame->header("type"), "ping");
  EXPECT_EQ(frame->header("absent"), "");
  EXPECT_FALSE(frame->payload);
  EXPECT_FALSE(frame->log_id_new);
}

TEST(LongconnFrameTest, KeepsWhichOptionalFieldsArePresent) {
  LongconnFrame event;
  event.seq_id = 18'446'744'073'709'551'615ull;  // a uint64 the SDKs' JSON numbers would round
  event.log_id = 9'007'199'254'740'993ull;
  event.service = 3;
  event.method = kDataFrame;
  event.headers = {{"type", "event"}, {"message_id", "m1"}, {"sum", "1"}, {"seq", "0"}};
  event.payload = std::string("{\"a\":1}\0tail", 12);  // bytes, not text
  event.log_id_new = "";
  const auto back = decode_frame(encode_frame(event));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->seq_id, event.seq_id);
  EXPECT_EQ(back->log_id, event.log_id);
  EXPECT_EQ(back->headers, event.headers);
  EXPECT_EQ(back->payload, event.payload);
  ASSERT_TRUE(back->log_id_new);  // present though empty: an ack echoes it
  EXPECT_EQ(*back->log_id_new, "");
  EXPECT_FALSE(back->payload_type);
}

TEST(LongconnFrameTest, RefusesWhatIsNotAFrame) {
  EXPECT_FALSE(decode_frame("{\"type\":\"ping\"}"));
  // service and method (required) missing.
  EXPECT_FALSE(decode_frame("\x08\x00\x10\x00"s));
  // A length that runs past the end.
  EXPECT_FALSE(decode_frame("\x08\x00\x10\x00\x18\x07\x20\x00\x2a\x40"s));
}

}  // namespace
}  // namespace botgate::feishu

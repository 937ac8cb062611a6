#include "botgate/platforms/feishu/longconn_frame.hpp"

#include "platforms/feishu/pbbp2.pb.h"  // generated from pbbp2.proto

namespace botgate::feishu {

std::string_view LongconnFrame::header(std::string_view key) const {
  for (const auto& [name, value] : headers) {
    if (name == key) return value;
  }
  return {};
}

std::optional<LongconnFrame> decode_frame(std::string_view bytes) {
  pbbp2::Frame wire;
  // ParseFromArray fails on a frame without a required field, as the platform's SDKs do.
  if (bytes.size() > static_cast<std::size_t>(INT32_MAX) ||
      !wire.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return std::nullopt;
  }
  LongconnFrame frame;
  frame.seq_id = wire.seqid();
  frame.log_id = wire.logid();
  frame.service = wire.service();
  frame.method = wire.method();
  frame.headers.reserve(static_cast<std::size_t>(wire.headers_size()));
  for (const pbbp2::Header& h : wire.headers()) frame.headers.emplace_back(h.key(), h.value());
  if (wire.has_payload_encoding()) frame.payload_encoding = wire.payload_encoding();
  if (wire.has_payload_type()) frame.payload_type = wire.payload_type();
  if (wire.has_payload()) frame.payload = wire.payload();
  if (wire.has_logidnew()) frame.log_id_new = wire.logidnew();
  return frame;
}

std::string encode_frame(const LongconnFrame& frame) {
  pbbp2::Frame wire;
  wire.set_seqid(frame.seq_id);
  wire.set_logid(frame.log_id);
  wire.set_service(frame.service);
  wire.set_method(frame.method);
  for (const auto& [key, value] : frame.headers) {
    pbbp2::Header* h = wire.add_headers();
    h->set_key(key);
    h->set_value(value);
  }
  if (frame.payload_encoding) wire.set_payload_encoding(*frame.payload_encoding);
  if (frame.payload_type) wire.set_payload_type(*frame.payload_type);
  if (frame.payload) wire.set_payload(*frame.payload);
  if (frame.log_id_new) wire.set_logidnew(*frame.log_id_new);
  return wire.SerializeAsString();
}

}  // namespace botgate::feishu

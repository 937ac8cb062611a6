#include "botgate/core/handler.hpp"

namespace botgate {

void HandlerContext::reply(OutgoingMessage message) {
  message.in_reply_to(event_);
  replies_.push_back(std::move(message));
}

void HandlerContext::fail(std::string reason, std::chrono::milliseconds retry_after) {
  failure_ = std::move(reason);
  retry_after_ = retry_after;
}

}  // namespace botgate

namespace botgate {

asio::awaitable<Result<ReplyStream>> HandlerContext::open_stream(OutgoingMessage start) {
  if (streams_ == nullptr) {
    co_return Error{errc::invalid_argument, "no runtime to open a streamed reply with"};
  }
  start.in_reply_to(event_);
  // The event's id and the stream's number in it: handled again, the event opens the same one.
  std::string client_key = "stream:" + event_.id + ":" + std::to_string(streams_opened_++);
  auto id = co_await streams_->open_stream(std::move(start), std::move(client_key));
  if (!id) co_return id.error();
  co_return ReplyStream(*streams_, *id);
}

asio::awaitable<Result<void>> ReplyStream::change(StreamChange change) {
  auto grown = co_await streams_->grow_stream(id_, std::move(change));
  if (!grown) co_return grown.error();
  co_return Result<void>{};
}

asio::awaitable<Result<void>> ReplyStream::append(std::string text, bool finish) {
  StreamChange change{StreamChange::append, std::move(text), finish};
  co_return co_await this->change(std::move(change));
}

asio::awaitable<Result<void>> ReplyStream::replace(std::string text, bool finish) {
  StreamChange change{StreamChange::replace, std::move(text), finish};
  co_return co_await this->change(std::move(change));
}

asio::awaitable<Result<void>> ReplyStream::cut_short(std::string why) {
  co_return co_await streams_->cut_stream(id_, std::move(why));
}

asio::awaitable<Result<void>> ReplyStream::finish() {
  StreamChange change{StreamChange::append, {}, true};
  co_return co_await this->change(std::move(change));
}

}  // namespace botgate

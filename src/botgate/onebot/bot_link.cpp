#include "botgate/onebot/bot_link.hpp"

#include "botgate/onebot/delivery.hpp"
#include "botgate/onebot/forward_server.hpp"
#include "botgate/onebot/reverse_client.hpp"

namespace botgate::onebot {

BotLink::BotLink(asio::any_io_executor strand, Runtime& runtime, Store& store,
                 BotIdentity identity)
    : strand_(strand), identity_(std::move(identity)), actions_(runtime, store, identity_, recent_) {}

asio::awaitable<Result<void>> BotLink::post_event(std::string frame) {
  // Forward connections first: they only queue it, so the reverse write below runs beside
  // their writes rather than before them.
  auto delivery = std::make_shared<Delivery>(strand_);
  const std::size_t offered = forward_ ? forward_->offer(frame, delivery) : 0;
  Error why{errc::platform_unavailable, "no OneBot framework is connected"};
  if (reverse_) {
    auto posted = co_await reverse_->post_event(std::move(frame));
    if (posted) co_return Result<void>{};
    if (offered == 0) co_return posted.error();
  }
  if (offered > 0) {
    if (co_await delivery->wait()) co_return Result<void>{};
    why.detail = "every framework connection closed before it took the event";
  }
  co_return why;
}

}  // namespace botgate::onebot

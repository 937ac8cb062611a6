#include "botgate/onebot/onebot_handler.hpp"

#include "botgate/core/store.hpp"
#include "botgate/onebot/onebot_event.hpp"
#include "botgate/onebot/bot_link.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

namespace botgate::onebot {

OneBotHandler::OneBotHandler(Store& store, std::map<std::string, BotLink*> links,
                             BackoffPolicy retry)
    : store_(store), links_(std::move(links)), retry_(retry) {}

asio::awaitable<HandlerResult> OneBotHandler::handle(const Event& event, HandlerContext& ctx) {
  auto it = links_.find(event.bot);
  if (it == links_.end()) co_return HandlerResult::next;
  BotLink& link = *it->second;
  // Only message events have a OneBot form here; the others are handled (by nobody).
  if (!event.message) co_return HandlerResult::done;
  const auto wait = backoff_delay(retry_, ctx.attempt(), unit_random());
  auto keys = event_id_keys(event);
  auto numbers = co_await store_.id_numbers(event.bot, keys);
  if (!numbers) {
    ctx.fail("the OneBot ids could not be stored: " + numbers.error().message(), wait);
    co_return HandlerResult::retry;
  }
  auto ob = message_event(event, link.identity().self_id, numbers_of(keys, *numbers));
  link.recent().note(event, RecentEvents::Clock::now());
  auto posted = co_await link.post_event(boost::json::serialize(*ob));
  if (!posted) {
    if (ctx.attempt() == 1) {
      spdlog::info("onebot bot '{}': event {} waits for the framework: {}", event.bot, event.id,
                   posted.error().message());
    }
    ctx.fail(posted.error().message(), wait);
    co_return HandlerResult::retry;
  }
  ctx.answer_later();
  co_return HandlerResult::done;
}

}  // namespace botgate::onebot

#include "botgate/core/reply_waiters.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace botgate {
namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
}  // namespace

struct ReplyWaiters::Waiter {
  Waiter(asio::any_io_executor executor, ReplyAck ack)
      : timer(std::move(executor)), reply_ack(std::move(ack)) {}

  enum class State { waiting, answered, gave_up };

  /// Records the outcome of the answer's write (the first one told wins) and wakes the inbox
  /// worker if it waits.
  void settle_write(bool ok) {
    std::shared_ptr<asio::steady_timer> wake;
    {
      std::lock_guard lock(mutex);
      if (written) return;
      written = ok;
      wake = write_timer;
    }
    // Posted: the inbox worker may have set the timer and not yet started its wait; its strand
    // runs this only once it has.
    if (wake) asio::post(wake->get_executor(), [wake] { wake->cancel(); });
  }

  std::mutex mutex;  // guards everything below but the timer's own use on its executor
  asio::steady_timer timer;  // the callback's wait, on its executor
  ReplyAck reply_ack;
  State state = State::waiting;
  std::optional<HttpResponse> response;
  std::optional<bool> written;                       // unknown until the server says
  std::shared_ptr<asio::steady_timer> write_timer;  // the inbox worker's wait for that
};

namespace {

/// Held by the answer's after_write: the server calls it with the write's outcome; an answer
/// dropped unwritten (its connection gone, the server stopped) settles it as not written.
class WriteNotice {
 public:
  explicit WriteNotice(std::shared_ptr<ReplyWaiters::Waiter> waiter) : waiter_(std::move(waiter)) {}
  WriteNotice(const WriteNotice&) = delete;
  WriteNotice& operator=(const WriteNotice&) = delete;
  ~WriteNotice();
  void settle(bool ok);

 private:
  std::shared_ptr<ReplyWaiters::Waiter> waiter_;
};

}  // namespace

// Out of the anonymous namespace's class body: Waiter is complete only here.
WriteNotice::~WriteNotice() { waiter_->settle_write(false); }
void WriteNotice::settle(bool ok) { waiter_->settle_write(ok); }

std::shared_ptr<ReplyWaiters::Waiter> ReplyWaiters::open(const std::string& event_id,
                                                         ReplyAck reply_ack,
                                                         asio::any_io_executor executor) {
  auto waiter = std::make_shared<Waiter>(std::move(executor), std::move(reply_ack));
  std::lock_guard lock(mutex_);
  waiters_[event_id] = waiter;
  return waiter;
}

asio::awaitable<void> ReplyWaiters::wait(std::shared_ptr<Waiter> waiter,
                                         std::chrono::milliseconds window) {
  waiter->timer.expires_after(window);
  {
    std::lock_guard lock(waiter->mutex);
    if (waiter->state == Waiter::State::answered) co_return;
  }
  // A reply handed over after this check cancels the timer through this coroutine's executor,
  // which runs that only once the wait below has started.
  co_await waiter->timer.async_wait(use_tuple);
}

std::optional<HttpAnswer> ReplyWaiters::close(const std::string& event_id) {
  std::shared_ptr<Waiter> waiter;
  {
    std::lock_guard lock(mutex_);
    auto it = waiters_.find(event_id);
    if (it == waiters_.end()) return std::nullopt;
    waiter = std::move(it->second);
    waiters_.erase(it);
  }
  std::lock_guard lock(waiter->mutex);
  if (waiter->state != Waiter::State::answered) {
    waiter->state = Waiter::State::gave_up;
    return std::nullopt;
  }
  HttpAnswer answer(std::move(*waiter->response));
  auto notice = std::make_shared<WriteNotice>(waiter);
  answer.after_write = [notice](bool written) { notice->settle(written); };
  return answer;
}

std::shared_ptr<ReplyWaiters::Waiter> ReplyWaiters::hand(const std::string& event_id,
                                                         const OutgoingMessage& reply) {
  std::shared_ptr<Waiter> waiter;
  {
    std::lock_guard lock(mutex_);
    auto it = waiters_.find(event_id);
    if (it == waiters_.end()) return nullptr;
    waiter = it->second;
  }
  {
    std::lock_guard lock(waiter->mutex);
    if (waiter->state != Waiter::State::waiting) return nullptr;
  }
  // Outside the lock: the platform's conversion may take a while for a long reply.
  std::optional<HttpResponse> response = waiter->reply_ack(reply);
  if (!response) return nullptr;
  {
    std::lock_guard lock(waiter->mutex);
    if (waiter->state != Waiter::State::waiting) return nullptr;  // the window just closed
    waiter->state = Waiter::State::answered;
    waiter->response = std::move(response);
  }
  asio::post(waiter->timer.get_executor(), [waiter] { waiter->timer.cancel(); });
  return waiter;
}

asio::awaitable<bool> ReplyWaiters::written(std::shared_ptr<Waiter> waiter,
                                            std::chrono::milliseconds limit) {
  auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor, limit);
  {
    std::lock_guard lock(waiter->mutex);
    if (waiter->written) co_return *waiter->written;
    waiter->write_timer = timer;
  }
  co_await timer->async_wait(use_tuple);
  std::lock_guard lock(waiter->mutex);
  waiter->write_timer.reset();
  co_return waiter->written.value_or(false);
}

std::size_t ReplyWaiters::size() const {
  std::lock_guard lock(mutex_);
  return waiters_.size();
}

}  // namespace botgate

#pragma once
/// Group commit for the SQLite store: requests that arrive while the database thread is busy
/// wait here and are then written in one transaction, so a burst costs one commit (and one write
/// of each touched page) instead of one each. Each caller resumes on its own executor once its
/// own request is committed.

#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace botgate::store {

namespace asio = boost::asio;

/// Resumes one waiting caller with `Result` (called on the database thread).
template <class Result>
struct BatchDone {
  virtual ~BatchDone() = default;
  virtual void operator()(Result result) = 0;
};

/// Thread safety: push() from any thread, take() on the database thread.
template <class Request, class Result>
class BatchQueue {
 public:
  struct Pending {
    Request request;
    std::unique_ptr<BatchDone<Result>> done;
  };

  /// Queues `request` and waits for its result. `schedule(caller)` is called (on the caller's
  /// thread, with the caller's executor) when the queue was idle: it must post a drain (take()
  /// and write) to the database thread.
  template <class Schedule>
  asio::awaitable<Result> submit(Request request, Schedule schedule) {
    return asio::async_initiate<const asio::use_awaitable_t<>, void(Result)>(
        [this, schedule](auto handler, Request request) mutable {
          using Handler = decltype(handler);
          struct Done final : BatchDone<Result> {
            explicit Done(Handler h)
                : handler(std::move(h)), work(asio::make_work_guard(handler)) {}
            void operator()(Result result) override {
              auto executor = work.get_executor();
              asio::dispatch(executor, [h = std::move(handler),
                                        result = std::move(result)]() mutable {
                std::move(h)(std::move(result));
              });
            }
            Handler handler;
            decltype(asio::make_work_guard(std::declval<Handler&>())) work;
          };
          auto caller = asio::get_associated_executor(handler);
          bool idle = false;
          {
            std::lock_guard lock(mutex_);
            queue_.push_back(Pending{std::move(request), std::make_unique<Done>(std::move(handler))});
            idle = !scheduled_;
            scheduled_ = true;
          }
          if (idle) schedule(caller);
        },
        asio::use_awaitable, std::move(request));
  }

  /// Everything queued so far; requests pushed from now on schedule a new drain.
  std::vector<Pending> take() {
    std::vector<Pending> batch;
    std::lock_guard lock(mutex_);
    batch.swap(queue_);
    scheduled_ = false;
    return batch;
  }

 private:
  std::mutex mutex_;  // guards queue_ and scheduled_
  std::vector<Pending> queue_;
  bool scheduled_ = false;
};

}  // namespace botgate::store

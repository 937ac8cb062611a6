#pragma once
/// Helpers for tests where several coroutines share one io_context (a runtime's workers, a
/// server and its clients, waiters on a token): `run_on(io, awaitable)` runs one coroutine to
/// completion while the others make progress, and `run_until(io, condition)` drives the context
/// until a condition holds, with a deadline. run_sync.hpp covers the single-coroutine case.
///
/// Header-only: the test binaries get Asio through the library under test.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace botgate::test {

namespace run_until_detail {

/// Runs handlers of `io` one at a time until `done`. Throws std::logic_error when `io` runs out
/// of work first: the coroutine waits for something that can no longer happen.
inline void drive(boost::asio::io_context& io, const bool& done) {
  if (io.stopped()) {
    io.restart();
  }
  while (!done) {
    if (io.run_one() == 0) {
      io.restart();
      if (!done) {
        throw std::logic_error("run_on: the io_context ran out of work before the coroutine ended");
      }
    }
  }
}

}  // namespace run_until_detail

/// Spawns `awaitable` on `io` and runs `io` on this thread until it completes. Other work on
/// `io` runs alongside it and may still be pending afterwards. Rethrows what the coroutine threw.
template <class T>
T run_on(boost::asio::io_context& io, boost::asio::awaitable<T> awaitable) {
  bool done = false;
  std::exception_ptr error;
  if constexpr (std::is_void_v<T>) {
    boost::asio::co_spawn(io, std::move(awaitable), [&](std::exception_ptr e) {
      error = e;
      done = true;
    });
    run_until_detail::drive(io, done);
    if (error) {
      std::rethrow_exception(error);
    }
  } else {
    std::optional<T> result;
    boost::asio::co_spawn(io, std::move(awaitable), [&](std::exception_ptr e, T value) {
      error = e;
      if (!e) {
        result.emplace(std::move(value));
      }
      done = true;
    });
    run_until_detail::drive(io, done);
    if (error) {
      std::rethrow_exception(error);
    }
    return std::move(*result);
  }
}

/// Runs `io` on this thread until `condition()` holds or `timeout` passes; returns whether it
/// holds. The condition is checked after every handler: the timeout only bounds a test that
/// would otherwise hang, it never stands in for synchronisation.
inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& condition,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      return false;
    }
    if (io.stopped()) {
      io.restart();
    }
    // Bounded, so that the deadline holds even when nothing is ready to run.
    io.run_one_for(std::min<std::chrono::steady_clock::duration>(deadline - now,
                                                                 std::chrono::milliseconds(10)));
  }
  return true;
}

}  // namespace botgate::test

#pragma once
/// Runs a coroutine to completion on a private io_context, for tests of awaitable APIs.
///
/// Header-only: the test binaries get Asio through the library under test (botgate_asio compiles it
/// once).

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <utility>

namespace botgate::test {

/// Runs `awaitable` until it finishes and returns its result; an exception it throws is rethrown
/// here. Everything the coroutine references must outlive the call, which it does when the
/// arguments are locals of the test.
template <class T>
T run_sync(boost::asio::awaitable<T> awaitable) {
  boost::asio::io_context io;
  auto result = boost::asio::co_spawn(io, std::move(awaitable), boost::asio::use_future);
  io.run();
  return result.get();
}

}  // namespace botgate::test

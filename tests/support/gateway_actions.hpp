#pragma once
/// Reading what a GatewayProtocol returned (core/gateway.hpp), for the protocols' unit tests.

#include "botgate/core/gateway.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <variant>
#include <vector>

namespace botgate::test {

/// Action `i` of `actions` as a `T`; a failed expectation (and an empty T) when there is no
/// such action or it is of another kind.
template <class T>
const T& action_at(const std::vector<GatewayAction>& actions, std::size_t i) {
  static const T none{};
  if (i >= actions.size()) {
    ADD_FAILURE() << "no action " << i << " (" << actions.size() << " in all)";
    return none;
  }
  const T* value = std::get_if<T>(&actions[i]);
  if (value == nullptr) {
    ADD_FAILURE() << "action " << i << " is of another kind";
    return none;
  }
  return *value;
}

}  // namespace botgate::test

#include "botgate/core/log_entry.hpp"

#include <array>
#include <utility>

namespace botgate {
namespace {

constexpr std::array kOutcomes{LogOutcome::received, LogOutcome::queued,  LogOutcome::sent,
                               LogOutcome::retrying, LogOutcome::failed,  LogOutcome::streaming};

}  // namespace

const char* to_string(LogOutcome outcome) noexcept {
  switch (outcome) {
    case LogOutcome::received: return "received";
    case LogOutcome::queued: return "queued";
    case LogOutcome::sent: return "sent";
    case LogOutcome::retrying: return "retrying";
    case LogOutcome::failed: return "failed";
    case LogOutcome::streaming: return "streaming";
  }
  return "unknown";
}

std::optional<LogOutcome> log_outcome_of(std::string_view name) noexcept {
  for (LogOutcome outcome : kOutcomes) {
    if (name == to_string(outcome)) return outcome;
  }
  return std::nullopt;
}

}  // namespace botgate

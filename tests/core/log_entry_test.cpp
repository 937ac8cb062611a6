#include "botgate/core/log_entry.hpp"

#include <gtest/gtest.h>

namespace botgate {
namespace {

TEST(LogEntry, EveryOutcomeHasANameThatReadsBack) {
  for (LogOutcome outcome : {LogOutcome::received, LogOutcome::queued, LogOutcome::sent,
                             LogOutcome::retrying, LogOutcome::failed, LogOutcome::streaming}) {
    EXPECT_EQ(log_outcome_of(to_string(outcome)), outcome) << to_string(outcome);
  }
  EXPECT_FALSE(log_outcome_of("unknown"));
  EXPECT_FALSE(log_outcome_of(""));
  EXPECT_FALSE(log_outcome_of("Sent")) << "names are exact";
}

}  // namespace
}  // namespace botgate

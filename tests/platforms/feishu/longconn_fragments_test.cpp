#include "botgate/platforms/feishu/longconn_fragments.hpp"

#include <gtest/gtest.h>

namespace botgate::feishu {
namespace {

using namespace std::chrono_literals;
using Outcome = FragmentAssembler::Outcome;

const FragmentAssembler::Clock::time_point t0{100s};

TEST(FragmentAssembler, AWholeMessageNeedsNoBuffer) {
  FragmentAssembler assembler;
  auto added = assembler.add("m1", 1, 0, R"({"schema":"2.0"})", t0);
  EXPECT_EQ(added.outcome, Outcome::complete);
  EXPECT_EQ(added.payload, R"({"schema":"2.0"})");
  EXPECT_EQ(assembler.pending(), 0u);
}

TEST(FragmentAssembler, FragmentsInAnyOrderMakeTheMessageInSeqOrder) {
  FragmentAssembler assembler;
  EXPECT_EQ(assembler.add("m1", 3, 2, "c", t0).outcome, Outcome::incomplete);
  EXPECT_EQ(assembler.add("m2", 2, 0, "x", t0).outcome, Outcome::incomplete);
  EXPECT_EQ(assembler.add("m1", 3, 0, "a", t0 + 1ms).outcome, Outcome::incomplete);
  EXPECT_EQ(assembler.pending(), 2u);
  EXPECT_EQ(assembler.pending_bytes(), 3u);
  auto done = assembler.add("m1", 3, 1, "b", t0 + 2ms);
  EXPECT_EQ(done.outcome, Outcome::complete);
  EXPECT_EQ(done.payload, "abc");
  EXPECT_EQ(assembler.pending(), 1u) << "m1 is forgotten once whole; m2 waits";
  EXPECT_EQ(assembler.pending_bytes(), 1u);
}

TEST(FragmentAssembler, AFragmentSentTwiceIsCountedOnce) {
  FragmentAssembler assembler;
  EXPECT_EQ(assembler.add("m1", 3, 0, "a", t0).outcome, Outcome::incomplete);
  EXPECT_EQ(assembler.add("m1", 3, 0, "a", t0).outcome, Outcome::incomplete);
  EXPECT_EQ(assembler.add("m1", 3, 1, "b", t0).outcome, Outcome::incomplete)
      << "two of three, not three: the repeat does not complete it";
  auto done = assembler.add("m1", 3, 2, "c", t0);
  EXPECT_EQ(done.outcome, Outcome::complete);
  EXPECT_EQ(done.payload, "abc");
}

TEST(FragmentAssembler, AFragmentRepeatedAfterTheMessageWasWholeDoesNotMakeItWholeAgain) {
  FragmentAssembler assembler;
  assembler.add("m1", 2, 0, "a", t0);
  EXPECT_EQ(assembler.add("m1", 2, 1, "b", t0).outcome, Outcome::complete);
  EXPECT_EQ(assembler.add("m1", 2, 1, "b", t0 + 1ms).outcome, Outcome::incomplete);
  EXPECT_EQ(assembler.add("m1", 2, 1, "b", t0 + 2ms).outcome, Outcome::incomplete);
  EXPECT_EQ(assembler.add("m1", 2, 1, "b", t0 + 11s).outcome, Outcome::incomplete)
      << "the lone repeat expired and starts over, still alone";
  EXPECT_EQ(assembler.dropped(), 1u);
}

TEST(FragmentAssembler, AnIncompleteMessageExpiresAfterItsLastFragment) {
  FragmentAssembler assembler(FragmentLimits{.expiry = 5s});
  assembler.add("m1", 3, 0, "a", t0);
  assembler.add("m1", 3, 1, "b", t0 + 4s);  // refreshes it
  EXPECT_EQ(assembler.add("m1", 3, 2, "c", t0 + 8s).outcome, Outcome::complete);
  assembler.add("m2", 2, 0, "x", t0 + 10s);
  EXPECT_EQ(assembler.add("m2", 2, 1, "y", t0 + 15s).outcome, Outcome::incomplete)
      << "5 s after its last fragment it was gone; this one starts a new message";
  EXPECT_EQ(assembler.dropped(), 1u);
  EXPECT_EQ(assembler.pending(), 1u);
}

TEST(FragmentAssembler, HeadersThatMakeNoSenseAreRejected) {
  FragmentAssembler assembler(FragmentLimits{.max_fragments = 8});
  EXPECT_EQ(assembler.add("m1", 0, 0, "a", t0).outcome, Outcome::rejected);
  EXPECT_EQ(assembler.add("m1", 2, 2, "a", t0).outcome, Outcome::rejected);
  EXPECT_EQ(assembler.add("m1", 2, -1, "a", t0).outcome, Outcome::rejected);
  EXPECT_EQ(assembler.add("m1", 9, 0, "a", t0).outcome, Outcome::rejected);
  EXPECT_EQ(assembler.add("", 2, 0, "a", t0).outcome, Outcome::rejected);
  EXPECT_EQ(assembler.pending(), 0u);

  assembler.add("m2", 3, 0, "a", t0);
  const auto disagree = assembler.add("m2", 4, 1, "b", t0);
  EXPECT_EQ(disagree.outcome, Outcome::rejected);
  EXPECT_FALSE(disagree.reason.empty());
  EXPECT_EQ(assembler.pending(), 0u) << "neither count can be trusted: the message is dropped";
}

TEST(FragmentAssembler, WhatWaitsIsBoundedByDroppingTheOldest) {
  FragmentAssembler assembler(FragmentLimits{.max_bytes = 10, .max_messages = 2});
  assembler.add("m1", 2, 0, "aaaa", t0);
  assembler.add("m2", 2, 0, "bbbb", t0 + 1ms);
  assembler.add("m3", 2, 0, "cccc", t0 + 2ms);
  EXPECT_EQ(assembler.pending(), 2u) << "two messages at most: m1 made room";
  EXPECT_EQ(assembler.add("m1", 2, 1, "a", t0 + 3ms).outcome, Outcome::incomplete);
  EXPECT_LE(assembler.pending_bytes(), 10u);
  EXPECT_EQ(assembler.add("m3", 2, 1, "cc", t0 + 4ms).outcome, Outcome::complete);
  EXPECT_GE(assembler.dropped(), 2u);
  // One fragment larger than everything allowed is never held.
  EXPECT_EQ(assembler.add("big", 2, 0, std::string(11, 'x'), t0 + 5ms).outcome,
            Outcome::incomplete);
  EXPECT_LE(assembler.pending_bytes(), 10u);
}

}  // namespace
}  // namespace botgate::feishu

#include "botgate/core/log_entry_json.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

namespace botgate {
namespace {

LogEntry reply_entry() {
  LogEntry entry;
  entry.seq = 42;
  entry.id = "out:e1-0";
  entry.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1765000000123));
  entry.bot = "support";
  entry.platform = "feishu";
  entry.chat_id = "oc_1";
  entry.incoming = false;
  entry.text = "héllo \"there\"\n[image] https://x/y.png";
  entry.outcome = LogOutcome::retrying;
  entry.error = "429 slow down";
  entry.attempts = 2;
  entry.reply_to = "in:e1";
  return entry;
}

TEST(LogEntryJson, AnEntryComesBackAsItWentOutItsSeqLeftToTheReader) {
  const LogEntry sent = reply_entry();
  const auto text = boost::json::serialize(log_entry_json(sent));
  auto back = log_entry_from_json(boost::json::parse(text).as_object());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->seq, 0u);
  EXPECT_EQ(back->id, sent.id);
  EXPECT_EQ(back->time, sent.time);
  EXPECT_EQ(back->bot, sent.bot);
  EXPECT_EQ(back->platform, sent.platform);
  EXPECT_EQ(back->chat_id, sent.chat_id);
  EXPECT_FALSE(back->incoming);
  EXPECT_EQ(back->text, sent.text);
  EXPECT_EQ(back->outcome, LogOutcome::retrying);
  EXPECT_EQ(back->error, sent.error);
  EXPECT_EQ(back->attempts, 2);
  EXPECT_EQ(back->reply_to, sent.reply_to);

  LogEntry incoming = sent;
  incoming.incoming = true;
  incoming.user = "Ann";
  incoming.outcome = LogOutcome::received;
  auto in = log_entry_from_json(log_entry_json(incoming));
  ASSERT_TRUE(in);
  EXPECT_TRUE(in->incoming);
  EXPECT_EQ(in->user, "Ann");
  EXPECT_EQ(in->outcome, LogOutcome::received);
}

TEST(LogEntryJson, ARecordWithoutIdDirectionOutcomeOrTimeIsDropped) {
  const auto good = log_entry_json(reply_entry());
  for (const char* key : {"id", "direction", "outcome", "time"}) {
    auto damaged = good;
    damaged.erase(key);
    EXPECT_FALSE(log_entry_from_json(damaged)) << key;
  }
  auto unknown = good;
  unknown["outcome"] = "exploded";
  EXPECT_FALSE(log_entry_from_json(unknown));
  unknown = good;
  unknown["direction"] = "sideways";
  EXPECT_FALSE(log_entry_from_json(unknown));
  auto negative = good;
  negative["attempts"] = -5;
  auto read = log_entry_from_json(negative);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->attempts, 0);
}

TEST(LogEntryJson, EveryOutcomeHasANameThatReadsBack) {
  for (LogOutcome outcome : {LogOutcome::received, LogOutcome::queued, LogOutcome::sent,
                             LogOutcome::retrying, LogOutcome::failed, LogOutcome::streaming}) {
    EXPECT_EQ(log_outcome_of(to_string(outcome)), outcome) << to_string(outcome);
  }
  EXPECT_FALSE(log_outcome_of("unknown"));
}

}  // namespace
}  // namespace botgate

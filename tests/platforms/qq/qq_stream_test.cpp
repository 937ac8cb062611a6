#include "botgate/platforms/qq/qq_stream.hpp"

#include "botgate/platforms/qq/qq_sender.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace botgate::qq {
namespace {

TEST(QqStreamMsgSeqTest, StableDistinctPerChunkAndAboveEventReplies) {
  const std::string key = "s0123456789abcdef";
  std::set<std::int64_t> seqs;
  for (std::int64_t index = 0; index < 200; ++index) {
    const std::int64_t seq = qq_stream_msg_seq(key, index);
    EXPECT_EQ(seq, qq_stream_msg_seq(key, index)) << "stable across retries";
    EXPECT_GT(seq, static_cast<std::int64_t>(kQqRepliesPerMessage)) << "no event reply's";
    EXPECT_LE(seq, 1'000'000'005);
    seqs.insert(seq);
  }
  EXPECT_EQ(seqs.size(), 200u);
  EXPECT_NE(qq_stream_msg_seq(key, 0), qq_stream_msg_seq("s-other", 0));
  EXPECT_NE(qq_stream_msg_seq(key, 0), qq_msg_seq(key)) << "not the whole message's";
}

TEST(QqStreamChunkTest, AppendsOnlyTheNewText) {
  auto chunk = next_qq_chunk("Once upon", "Once upon a time", false, false);
  ASSERT_TRUE(chunk);
  EXPECT_EQ(chunk->text, " a time");
  EXPECT_FALSE(chunk->reset);
  EXPECT_FALSE(chunk->last);
  EXPECT_EQ(next_qq_chunk("", "Once", false, false)->text, "Once");
}

TEST(QqStreamChunkTest, NothingNewWhileOpenIsNoChunk) {
  EXPECT_EQ(next_qq_chunk("same", "same", false, false), std::nullopt);
  EXPECT_EQ(next_qq_chunk("", "", false, false), std::nullopt);
}

TEST(QqStreamChunkTest, AReplacedTextOrAnUnknownScreenIsSentWholeWithReset) {
  auto replaced = next_qq_chunk("Draft one", "Final", false, false);
  ASSERT_TRUE(replaced);
  EXPECT_TRUE(replaced->reset);
  EXPECT_EQ(replaced->text, "Final");
  auto retried = next_qq_chunk("Once", "Once upon", false, true);
  ASSERT_TRUE(retried);
  EXPECT_TRUE(retried->reset);
  EXPECT_EQ(retried->text, "Once upon");
}

TEST(QqStreamChunkTest, TheLastChunkEndsWithANewline) {
  auto last = next_qq_chunk("Once", "Once upon", true, false);
  ASSERT_TRUE(last);
  EXPECT_TRUE(last->last);
  EXPECT_EQ(last->text, " upon\n");
  // Nothing new at the end: the newline alone closes the stream.
  EXPECT_EQ(next_qq_chunk("Done", "Done", true, false)->text, "\n");
  // One is not added twice.
  EXPECT_EQ(next_qq_chunk("", "Line\n", true, false)->text, "Line\n");
  auto reset_last = next_qq_chunk("x", "y", true, false);
  EXPECT_TRUE(reset_last->reset && reset_last->last);
  EXPECT_EQ(reset_last->text, "y\n");
}

TEST(QqStreamProgressTest, RoundTrips) {
  QqStreamProgress progress{"ROBOT1.0_abc", 7, 120};
  EXPECT_EQ(parse_qq_stream_progress(to_json(progress)), progress);
  QqStreamProgress first{"", 0, 0};
  EXPECT_EQ(parse_qq_stream_progress(to_json(first)), first);
}

TEST(QqStreamProgressTest, AnythingElseIsNone) {
  EXPECT_EQ(parse_qq_stream_progress(""), std::nullopt);
  EXPECT_EQ(parse_qq_stream_progress(R"(["ROBOT1.0_x"])"), std::nullopt);  // a plain message's
  EXPECT_EQ(parse_qq_stream_progress("{"), std::nullopt);
  EXPECT_EQ(parse_qq_stream_progress(R"({"stream_id":"x"})"), std::nullopt);
  EXPECT_EQ(parse_qq_stream_progress(R"({"stream_id":"x","index":-2})"), std::nullopt);
}

}  // namespace
}  // namespace botgate::qq

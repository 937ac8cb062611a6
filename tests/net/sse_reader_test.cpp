#include "botgate/net/sse_reader.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace botgate::net {
namespace {

/// What the reader makes of `pieces`, fed one after another: "name=data" per event.
std::vector<std::string> read_all(const std::vector<std::string>& pieces) {
  SseReader reader;
  std::vector<std::string> out;
  for (const std::string& piece : pieces) {
    for (SseEvent& event : reader.feed(piece)) out.push_back(event.name + "=" + event.data);
  }
  return out;
}

TEST(SseReader, DispatchesAtABlankLineWithItsNameAndData) {
  EXPECT_EQ(read_all({"data: one\n\nevent: replace\ndata: two\n\n"}),
            (std::vector<std::string>{"message=one", "replace=two"}));
}

TEST(SseReader, JoinsDataLinesAndStripsOneSpace) {
  EXPECT_EQ(read_all({"data:  two spaces\ndata:none\ndata\n\n"}),
            (std::vector<std::string>{"message= two spaces\nnone\n"}));
}

TEST(SseReader, AnyLineEndAndPiecesEndingAnywhere) {
  const std::string body = "data: a\r\n\r\ndata: b\r\rdata: c\n\n";
  const std::vector<std::string> want{"message=a", "message=b", "message=c"};
  EXPECT_EQ(read_all({body}), want);
  // Every split of the body into two pieces, a "\r\n" split included, reads the same.
  for (std::size_t cut = 0; cut <= body.size(); ++cut) {
    EXPECT_EQ(read_all({body.substr(0, cut), body.substr(cut)}), want) << "cut at " << cut;
  }
  // And byte by byte.
  std::vector<std::string> bytes;
  for (char c : body) bytes.emplace_back(1, c);
  EXPECT_EQ(read_all(bytes), want);
}

TEST(SseReader, CommentsOtherFieldsAndEventsWithoutDataAreDropped) {
  EXPECT_EQ(read_all({": keep-alive\n\nid: 7\nretry: 100\n\nevent: ping\n\ndata: x\n\n"}),
            (std::vector<std::string>{"message=x"}));
}

TEST(SseReader, ALeadingBomIsNotPartOfTheFirstField) {
  EXPECT_EQ(read_all({"\xEF\xBB", "\xBF" "data: x\n\n"}), (std::vector<std::string>{"message=x"}));
}

TEST(SseReader, AnEventNotYetEndedWaitsForItsBlankLine) {
  SseReader reader;
  EXPECT_TRUE(reader.feed("data: half").empty());
  EXPECT_TRUE(reader.feed(" more\n").empty());
  auto events = reader.feed("\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "half more");
}

TEST(SseReader, ALineLongerThanTheLimitIsDroppedNotKept) {
  SseReader reader;
  EXPECT_TRUE(reader.feed("data: " + std::string(SseReader::kMaxLine + 1, 'x')).empty());
  EXPECT_TRUE(reader.feed("yyy\n").empty()) << "the rest of the long line is dropped too";
  auto events = reader.feed("data: short\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "short");
}

}  // namespace
}  // namespace botgate::net

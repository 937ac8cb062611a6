#include "botgate/onebot/send_queue.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

namespace botgate::onebot {
namespace {

TEST(SendQueue, BoundsEventsByCountAndSizeButNeverAnswers) {
  boost::asio::io_context io;
  auto delivery = std::make_shared<Delivery>(io.get_executor());
  SendQueue queue(2, 10);
  EXPECT_TRUE(queue.push_event("aaaa", delivery));
  EXPECT_TRUE(queue.push_event("bbbb", delivery));
  EXPECT_FALSE(queue.push_event("c", delivery)) << "a third event passes the count";
  for (int i = 0; i < 5; ++i) queue.push_answer("answer");
  EXPECT_EQ(queue.events(), 2u);

  auto first = queue.pop();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->frame, "aaaa");
  EXPECT_EQ(first->delivery, delivery);
  EXPECT_FALSE(queue.push_event("ccccccc", delivery)) << "4 + 7 bytes pass the size";
  EXPECT_TRUE(queue.push_event("cccccc", delivery)) << "4 + 6 bytes fit";

  auto all = queue.take_all();
  ASSERT_EQ(all.size(), 7u);
  EXPECT_EQ(all[0].frame, "bbbb");
  EXPECT_EQ(all[1].frame, "answer");
  EXPECT_EQ(all[1].delivery, nullptr);
  EXPECT_EQ(all[6].frame, "cccccc");
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.events(), 0u);
  EXPECT_TRUE(queue.push_event("dddddddddd", delivery)) << "emptied, the bounds start again";
}

}  // namespace
}  // namespace botgate::onebot

#include "botgate/api/metrics_text.hpp"

#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace botgate::api {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool has_line(const std::string& text, const std::string& line) {
  for (const std::string& l : lines_of(text)) {
    if (l == line) return true;
  }
  return false;
}

BotFigures feishu() {
  BotFigures bot;
  bot.status.name = "feishu";
  bot.status.platform = "feishu";
  bot.status.ready = true;
  bot.status.events_in = 12;
  bot.status.messages_sent = 11;
  bot.status.callbacks_rejected = 3;
  bot.status.rate_limited_ms = 1500;
  bot.status.last_event_at = std::chrono::system_clock::time_point(1'700'000'000'250ms);
  bot.depth = QueueDepth{2, 5, 1};
  return bot;
}

BotFigures discord() {
  BotFigures bot;
  bot.status.name = "discord";
  bot.status.platform = "discord";
  EventSourceStatus shard0;
  shard0.state = "connected";
  shard0.reconnects = 4;
  shard0.resumes = 3;
  EventSourceStatus shard1;
  shard1.state = "reconnecting";
  bot.status.connections = {shard0, shard1};
  return bot;  // depth unknown: the store did not answer
}

TEST(MetricsText, EachBotsFiguresAreSamplesLabelledWithBotAndPlatform) {
  const std::string text =
      metrics_text({feishu(), discord()},
                   {std::chrono::system_clock::time_point(1'699'999'000s), 20 * 1024 * 1024, {}});
  EXPECT_TRUE(has_line(text, "process_start_time_seconds 1699999000")) << text;
  EXPECT_TRUE(has_line(text, "process_resident_memory_bytes 20971520"));
  EXPECT_TRUE(has_line(text, R"(botgate_bot_ready{bot="feishu",platform="feishu"} 1)"));
  EXPECT_TRUE(has_line(text, R"(botgate_bot_ready{bot="discord",platform="discord"} 0)"));
  EXPECT_TRUE(has_line(text, R"(botgate_events_received_total{bot="feishu",platform="feishu"} 12)"));
  EXPECT_TRUE(has_line(text, R"(botgate_messages_sent_total{bot="feishu",platform="feishu"} 11)"));
  EXPECT_TRUE(
      has_line(text, R"(botgate_callbacks_rejected_total{bot="feishu",platform="feishu"} 3)"));
  EXPECT_TRUE(
      has_line(text, R"(botgate_rate_limited_seconds_total{bot="feishu",platform="feishu"} 1.500)"));
  EXPECT_TRUE(has_line(
      text, R"(botgate_last_event_timestamp_seconds{bot="feishu",platform="feishu"} 1700000000.250)"));
  EXPECT_TRUE(has_line(text, R"(botgate_inbox_depth{bot="feishu",platform="feishu"} 2)"));
  EXPECT_TRUE(has_line(text, R"(botgate_outbox_depth{bot="feishu",platform="feishu"} 5)"));
  EXPECT_TRUE(has_line(text, R"(botgate_dead_letters{bot="feishu",platform="feishu"} 1)"));
  EXPECT_EQ(text.find(R"(botgate_inbox_depth{bot="discord")"), std::string::npos)
      << "a queue the store could not count is left out, not reported as empty";
  EXPECT_EQ(text.find(R"(botgate_last_event_timestamp_seconds{bot="discord")"), std::string::npos);

  EXPECT_TRUE(has_line(
      text,
      R"(botgate_gateway_state{bot="discord",platform="discord",shard="0",state="connected"} 1)"));
  EXPECT_TRUE(has_line(
      text,
      R"(botgate_gateway_state{bot="discord",platform="discord",shard="1",state="reconnecting"} 1)"));
  EXPECT_TRUE(has_line(
      text, R"(botgate_gateway_reconnects_total{bot="discord",platform="discord",shard="0"} 4)"));
  EXPECT_TRUE(has_line(
      text, R"(botgate_gateway_resumes_total{bot="discord",platform="discord",shard="0"} 3)"));
}

ProcessFigures with_store_upkeep() {
  ProcessFigures process;
  process.store_upkeep = {{"checkpoint", 21, 98'765'432ns, 4'567'891ns},
                          {"dedup_merge", 300, 250'000us, 0ns}};
  return process;
}

TEST(MetricsText, TheStoresUpkeepIsASamplePerKindInSecondsToTheMicrosecond) {
  const std::string text = metrics_text({feishu()}, with_store_upkeep());
  EXPECT_TRUE(has_line(text, R"(botgate_store_upkeep_total{kind="checkpoint"} 21)"));
  EXPECT_TRUE(has_line(text, R"(botgate_store_upkeep_total{kind="dedup_merge"} 300)"));
  EXPECT_TRUE(has_line(text, R"(botgate_store_upkeep_seconds_total{kind="checkpoint"} 0.098765)"));
  EXPECT_TRUE(has_line(text,
                       R"(botgate_store_upkeep_seconds_total{kind="dedup_merge"} 0.250000)"));
  EXPECT_TRUE(has_line(text,
                       R"(botgate_store_upkeep_longest_seconds{kind="checkpoint"} 0.004568)"));
  EXPECT_EQ(metrics_text({feishu()}, {}).find("botgate_store_upkeep"), std::string::npos)
      << "a store without upkeep of its own: no family";
}

TEST(MetricsText, IsWellFormedExpositionWithEachFamilyDeclaredOnceBeforeItsSamples) {
  const std::string text = metrics_text({feishu(), discord()}, with_store_upkeep());
  const std::regex help(R"(# HELP ([a-z_]+) \S.*)");
  const std::regex type(R"(# TYPE ([a-z_]+) (counter|gauge))");
  const std::regex sample(R"(([a-z_]+)(\{[a-z_]+="[^"\\]*"(,[a-z_]+="[^"\\]*")*\})? -?[0-9]+(\.[0-9]+)?)");
  std::map<std::string, int> declared;
  std::string current;
  for (const std::string& line : lines_of(text)) {
    std::smatch m;
    if (std::regex_match(line, m, help)) {
      EXPECT_EQ(declared[m[1]]++, 0) << m[1] << " declared twice";
      current = m[1];
    } else if (std::regex_match(line, m, type)) {
      EXPECT_EQ(m[1], current) << line;
    } else if (std::regex_match(line, m, sample)) {
      EXPECT_EQ(m[1], current) << "a sample outside its family: " << line;
      if (current.ends_with("_total")) {
        EXPECT_NE(text.find("# TYPE " + current + " counter"), std::string::npos) << current;
      }
    } else {
      ADD_FAILURE() << "not exposition format: '" << line << "'";
    }
  }
  EXPECT_GT(declared.size(), 15u);
  EXPECT_EQ(declared.count("process_resident_memory_bytes"), 0u) << "0 means unknown: left out";
}

TEST(MetricsText, LabelValuesAreEscaped) {
  EXPECT_EQ(escape_label_value(R"(a"b\c)"), R"(a\"b\\c)");
  EXPECT_EQ(escape_label_value("line\nbreak"), "line\\nbreak");
  EXPECT_EQ(escape_label_value("飞书-bot"), "飞书-bot");
  BotFigures odd = feishu();
  odd.status.name = "x\"} 1\nbotgate_fake 9";
  const std::string text = metrics_text({odd}, {});
  EXPECT_EQ(text.find("\nbotgate_fake 9"), std::string::npos) << "a name injected a sample";
  EXPECT_TRUE(has_line(text, R"(botgate_bot_ready{bot="x\"} 1\nbotgate_fake 9",platform="feishu"} 1)"));
}

TEST(MetricsText, ResidentMemoryIsReadFromTheProcess) {
  const std::uint64_t bytes = resident_memory_bytes();
  EXPECT_GT(bytes, 1024u * 1024u);
  EXPECT_LT(bytes, 64ull * 1024 * 1024 * 1024);
}

}  // namespace
}  // namespace botgate::api

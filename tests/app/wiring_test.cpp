#include "botgate/app/wiring.hpp"

#include "botgate/platforms/common/registry.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

namespace botgate::app {
namespace {

/// Answers nothing: only its place in the chain matters here.
class QuietHandler final : public Handler {
 public:
  asio::awaitable<HandlerResult> handle(const Event&, HandlerContext&) override {
    co_return HandlerResult::next;
  }
};

class WiringTest : public ::testing::Test {
 protected:
  WiringTest()
      : dir_(std::filesystem::temp_directory_path() /
             ("botgate-wiring-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
              "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  ~WiringTest() override { std::filesystem::remove_all(dir_); }

  Config config() const {
    platforms::PlatformRegistry registry;
    platforms::register_all_platforms(registry);
    const std::map<std::string, std::string> environment;
    const std::string text = "[server]\nlisten = \"127.0.0.1:0\"\n[store]\nurl = \"sqlite://" +
                             (dir_ / "botgate.db").string() + "\"\n";
    return parse_config(text, "test.toml", registry, &environment);
  }

  std::filesystem::path dir_;
};

TEST_F(WiringTest, HandlersAreAddedBeforeTheGatewayStartsAndNotAfter) {
  const Config cfg = config();
  Gateway gateway(cfg);
  EXPECT_NO_THROW(gateway.add_handler(std::make_unique<QuietHandler>()));
  EXPECT_NO_THROW(gateway.add_handler(std::make_unique<QuietHandler>()));
  // send_one starts the runtime's work (here it stops at once: no such bot).
  EXPECT_EQ(gateway.send_one("no-such-bot", "chat", OutgoingMessage::plain("hi")), 2);
  EXPECT_THROW(gateway.add_handler(std::make_unique<QuietHandler>()), std::logic_error);
}

}  // namespace
}  // namespace botgate::app

#pragma once
/// [[rule]] handlers: the first rule whose RE2 pattern matches the message text answers with its
/// reply template. RE2 runs in linear time, so a user's message cannot stall the bot.

#include "botgate/core/handler.hpp"

#include <memory>
#include <string>
#include <vector>

namespace botgate::handlers {

struct Rule {
  std::string match;                   // RE2 pattern, searched in the text (use ^...$ to anchor)
  std::string reply;                   // template, see render_reply()
  std::vector<std::string> platforms;  // empty: every platform
  std::vector<std::string> bots;       // empty: every bot
  /// Answer only messages addressed to the bot (addressed_to_bot()); false: any message it
  /// matches, as a discord.py command does.
  bool mention = false;
};

/// Fills a reply template: {text} {user} {user_id} {chat_id} {platform} {bot}, and {1}..{9}
/// for the pattern's capture groups. Unknown placeholders stay as they are.
std::string render_reply(std::string_view reply_template, const Event& event,
                         const std::vector<std::string>& captures);

class RulesHandler final : public Handler {
 public:
  /// Compiles every pattern. Throws std::invalid_argument naming the rule (by index) and
  /// RE2's reason when one does not compile.
  explicit RulesHandler(std::vector<Rule> rules);
  ~RulesHandler() override;
  asio::awaitable<HandlerResult> handle(const Event& event, HandlerContext& ctx) override;
  /// RE2 matching and a reply, on any thread.
  bool immediate_for(const std::string&) const override { return true; }

 private:
  struct Compiled;
  std::vector<std::unique_ptr<Compiled>> rules_;
};

/// Checks a pattern without building a handler: empty when it compiles, else RE2's reason.
std::string rule_pattern_error(const std::string& pattern);

}  // namespace botgate::handlers

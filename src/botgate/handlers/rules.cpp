#include "botgate/handlers/rules.hpp"

#include "botgate/handlers/addressed.hpp"

#include <re2/re2.h>

#include <algorithm>
#include <stdexcept>

namespace botgate::handlers {
namespace {

bool listed_or_empty(const std::vector<std::string>& list, const std::string& value) {
  return list.empty() || std::find(list.begin(), list.end(), value) != list.end();
}

RE2::Options rule_options() {
  RE2::Options options;
  options.set_log_errors(false);
  options.set_encoding(RE2::Options::EncodingUTF8);
  return options;
}

}  // namespace

struct RulesHandler::Compiled {
  Rule rule;
  RE2 pattern;
  Compiled(Rule r) : rule(std::move(r)), pattern(rule.match, rule_options()) {}
};

std::string rule_pattern_error(const std::string& pattern) {
  RE2 re(pattern, rule_options());
  return re.ok() ? std::string() : re.error();
}

std::string render_reply(std::string_view reply_template, const Event& event,
                         const std::vector<std::string>& captures) {
  const std::string text = event.message ? event.message->text : std::string();
  std::string out;
  out.reserve(reply_template.size() + text.size());
  std::size_t pos = 0;
  while (pos < reply_template.size()) {
    const char c = reply_template[pos];
    const auto close = c == '{' ? reply_template.find('}', pos) : std::string_view::npos;
    if (close == std::string_view::npos) {
      out += c;
      ++pos;
      continue;
    }
    const std::string_view name = reply_template.substr(pos + 1, close - pos - 1);
    if (name == "text") {
      out += text;
    } else if (name == "user") {
      out += event.sender.name.empty() ? event.sender.id : event.sender.name;
    } else if (name == "user_id") {
      out += event.sender.id;
    } else if (name == "chat_id") {
      out += event.chat.id;
    } else if (name == "platform") {
      out += event.platform;
    } else if (name == "bot") {
      out += event.bot;
    } else if (name.size() == 1 && name[0] >= '1' && name[0] <= '9') {
      const auto index = static_cast<std::size_t>(name[0] - '1');
      if (index < captures.size()) out += captures[index];
    } else {
      out += c;  // not a placeholder: keep the brace
      ++pos;
      continue;
    }
    pos = close + 1;
  }
  return out;
}

RulesHandler::RulesHandler(std::vector<Rule> rules) {
  for (std::size_t i = 0; i < rules.size(); ++i) {
    auto compiled = std::make_unique<Compiled>(std::move(rules[i]));
    if (!compiled->pattern.ok()) {
      throw std::invalid_argument("rule " + std::to_string(i + 1) + ": match: " +
                                  compiled->pattern.error());
    }
    rules_.push_back(std::move(compiled));
  }
}

RulesHandler::~RulesHandler() = default;

asio::awaitable<HandlerResult> RulesHandler::handle(const Event& event, HandlerContext& ctx) {
  if (!event.message) co_return HandlerResult::next;
  const std::string& text = event.message->text;
  const bool addressed = addressed_to_bot(event);
  for (const auto& compiled : rules_) {
    if (!listed_or_empty(compiled->rule.platforms, event.platform) ||
        !listed_or_empty(compiled->rule.bots, event.bot) ||
        (compiled->rule.mention && !addressed)) {
      continue;
    }
    const int groups = std::min(compiled->pattern.NumberOfCapturingGroups(), 9);
    std::vector<re2::StringPiece> pieces(static_cast<std::size_t>(groups) + 1);
    if (!compiled->pattern.Match(text, 0, text.size(), RE2::UNANCHORED, pieces.data(),
                                 static_cast<int>(pieces.size()))) {
      continue;
    }
    std::vector<std::string> captures;
    for (std::size_t i = 1; i < pieces.size(); ++i) {
      captures.emplace_back(pieces[i].data() ? std::string(pieces[i].data(), pieces[i].size())
                                             : std::string());
    }
    ctx.reply(OutgoingMessage::plain(render_reply(compiled->rule.reply, event, captures)));
    co_return HandlerResult::done;
  }
  co_return HandlerResult::next;
}

}  // namespace botgate::handlers

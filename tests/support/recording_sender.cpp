#include "support/recording_sender.hpp"

#include <utility>

namespace botgate::test {

void RecordingSender::fail_at(int n, Error error) {
  std::lock_guard lock(mutex_);
  fail_at_[n] = std::move(error);
}

void RecordingSender::fail_next_sends(int count, Error error) {
  std::lock_guard lock(mutex_);
  fail_next_ = count;
  fail_next_error_ = std::move(error);
}

void RecordingSender::fail_prepares(int count, Error error) {
  std::lock_guard lock(mutex_);
  fail_prepares_ = count;
  prepare_error_ = std::move(error);
}

asio::awaitable<Result<void>> RecordingSender::prepare() {
  std::lock_guard lock(mutex_);
  ++prepare_calls_;
  if (fail_prepares_ > 0) {
    --fail_prepares_;
    co_return prepare_error_;
  }
  ++prepared_;
  co_return Result<void>{};
}

asio::awaitable<Result<SentMessage>> RecordingSender::send(const OutgoingMessage& message) {
  std::lock_guard lock(mutex_);
  const int call = static_cast<int>(attempts_.size());
  SendAttempt attempt;
  attempt.message = message;
  std::optional<Error> failure;
  if (auto it = fail_at_.find(call); it != fail_at_.end()) {
    failure = it->second;
  } else if (fail_next_ > 0) {
    --fail_next_;
    failure = fail_next_error_;
  }
  if (failure) {
    attempt.error = *failure;
    attempts_.push_back(std::move(attempt));
    co_return *failure;
  }
  attempt.delivered = true;
  attempt.platform_message_id = "pm-" + std::to_string(call);
  SentMessage sent{attempt.platform_message_id};
  attempts_.push_back(std::move(attempt));
  co_return sent;
}

void RecordingSender::allow_recalls(bool allowed) {
  std::lock_guard lock(mutex_);
  recalls_allowed_ = allowed;
}

void RecordingSender::fail_next_recalls(int count, Error error) {
  std::lock_guard lock(mutex_);
  fail_recalls_ = count;
  recall_error_ = std::move(error);
}

void RecordingSender::split_at_bars(bool split) {
  std::lock_guard lock(mutex_);
  split_at_bars_ = split;
}

bool RecordingSender::can_recall() const {
  std::lock_guard lock(mutex_);
  return recalls_allowed_;
}

asio::awaitable<Result<void>> RecordingSender::recall(const OutgoingMessage& where,
                                                      const std::string& platform_message_id) {
  std::lock_guard lock(mutex_);
  recall_chats_.push_back(where.chat_id);
  if (fail_recalls_ > 0) {
    --fail_recalls_;
    co_return recall_error_;
  }
  recalled_.push_back(platform_message_id);
  co_return Result<void>{};
}

std::vector<OutgoingMessage> RecordingSender::split(OutgoingMessage message) const {
  std::vector<OutgoingMessage> parts;
  const std::string text = message.plain_text();
  {
    std::lock_guard lock(mutex_);
    if (!split_at_bars_ || text.find('|') == std::string::npos) {
      parts.push_back(std::move(message));
      return parts;
    }
  }
  std::size_t start = 0;
  while (true) {
    const std::size_t bar = text.find('|', start);
    OutgoingMessage part = message;
    part.segments = {Text{text.substr(start, bar == std::string::npos ? bar : bar - start)}};
    parts.push_back(std::move(part));
    if (bar == std::string::npos) break;
    start = bar + 1;
  }
  return parts;
}

std::vector<std::string> RecordingSender::recalled() const {
  std::lock_guard lock(mutex_);
  return recalled_;
}

std::vector<std::string> RecordingSender::recall_chats() const {
  std::lock_guard lock(mutex_);
  return recall_chats_;
}

std::vector<SendAttempt> RecordingSender::attempts() const {
  std::lock_guard lock(mutex_);
  return attempts_;
}

std::vector<OutgoingMessage> RecordingSender::delivered() const {
  std::lock_guard lock(mutex_);
  std::vector<OutgoingMessage> out;
  for (const SendAttempt& attempt : attempts_) {
    if (attempt.delivered) {
      out.push_back(attempt.message);
    }
  }
  return out;
}

int RecordingSender::send_calls() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(attempts_.size());
}

int RecordingSender::prepare_calls() const {
  std::lock_guard lock(mutex_);
  return prepare_calls_;
}

int RecordingSender::prepared() const {
  std::lock_guard lock(mutex_);
  return prepared_;
}

}  // namespace botgate::test

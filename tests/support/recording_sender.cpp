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

#pragma once
/// An AI bot's replies in callback (webhook) mode, as WeCom fetches them (wecom.md 7.1,
/// longconn-and-streaming.md 2.2). botgate answers each message callback, once the message is
/// durable, with a passive reply that opens a stream: {"msgtype":"stream","stream":{"id",
/// "finish":false,"content":""}}. WeCom then shows the bot as answering and POSTs "stream
/// refresh" callbacks for that id until a refresh answer says finish, or 6 minutes after the
/// message. The sender puts the event's reply here as it grows (a streamed reply) or at once
/// (any other); the webhook answers each refresh from here.
///
/// A stream's id is derived from the message's response_url, which both sides have: the
/// webhook in the callback, the sender as the reply's reply_credential. Only the sender
/// creates content, and only for the replies the outbox holds, so a refresh (signed by WeCom)
/// never makes this grow; entries are dropped once WeCom stops asking.
///
/// Thread safety: every method from any thread (the webhook runs on the server's threads, the
/// sender on the bot's strand).

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace botgate::wecom {

class AibotPassiveStreams {
 public:
  using Clock = std::chrono::steady_clock;

  /// WeCom asks for a stream's content until 6 minutes after the user's message.
  static constexpr std::chrono::seconds kWindow{360};
  /// Answers are given up on a little before that, for the refresh that takes the last one.
  static constexpr std::chrono::seconds kWindowMargin{20};
  /// WeCom asks about every second while a stream is open: this long without a refresh means
  /// it stopped asking (the passive reply was lost, or the window is over), and the sender
  /// answers through the response_url instead.
  static constexpr std::chrono::seconds kQuietLimit{15};
  /// The stream id for the message whose response_url is `response_url`.
  static std::string stream_id_for(std::string_view response_url);

  /// A message callback was answered with stream `id`: its window starts now. A redelivered
  /// message keeps the window of its first callback.
  void opened(const std::string& id, Clock::time_point now);

  /// What a refresh of stream `id` is answered with.
  struct Answer {
    std::string content;
    bool finish = false;
  };
  /// Answers a refresh: the content as last published (empty before any), finished once the
  /// reply ended; a finished answer counts as delivered.
  Answer refresh(const std::string& id, Clock::time_point now);

  /// What publish() did.
  enum class Published {
    shown,   ///< the next refresh shows it
    closed,  ///< the stream cannot show it (another message has it, it was finished, or WeCom
             ///< stopped asking): send it through the response_url
  };
  /// The sender: `content` becomes what refreshes of stream `id` show, finished with `finish`.
  /// `owner` names the message (its idempotency key): one message per stream; a retry of the
  /// same message may publish again.
  Published publish(const std::string& id, const std::string& owner, std::string content,
                    bool finish, Clock::time_point now);

  /// Where the finished content of stream `id` stands.
  enum class Delivery {
    waiting,    ///< published, not yet given to a refresh; WeCom is still asking
    delivered,  ///< given to a refresh
    closed,     ///< not given, and WeCom stopped asking (or the window is over)
  };
  Delivery delivery(const std::string& id, Clock::time_point now);

  /// The event of stream `id` was handled with no reply: the stream is finished empty, so that
  /// WeCom stops showing the bot as answering. Nothing when a message has it already.
  void finish_unanswered(const std::string& id, Clock::time_point now);

  /// Streams kept (for the tests).
  std::size_t size() const;

 private:
  struct Entry {
    /// The callback's time, when this process answered it (unknown after a restart).
    Clock::time_point opened{};
    bool opened_known = false;
    /// The last time WeCom asked, or the stream was opened or published.
    Clock::time_point last_contact{};
    std::string owner;
    std::string content;
    bool finish = false;
    bool delivered = false;
  };
  bool open_for_answers(const Entry& entry, Clock::time_point now) const;
  void drop_expired(Clock::time_point now);

  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  Clock::time_point next_sweep_{};
};

}  // namespace botgate::wecom

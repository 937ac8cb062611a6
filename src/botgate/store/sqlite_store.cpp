#include "botgate/store/sqlite_store.hpp"

#include "botgate/core/event_json.hpp"
#include "botgate/core/message_status.hpp"
#include "botgate/core/thread_name.hpp"
#include "botgate/crypto/seal.hpp"
#include "botgate/store/batch_queue.hpp"
#include "botgate/store/event_log_purge.hpp"
#include "botgate/store/inbox_mirror.hpp"
#include "botgate/store/outbox_index.hpp"
#include "botgate/store/outbox_purge.hpp"
#include "botgate/store/private_file.hpp"
#include "botgate/store/sqlite_dedup.hpp"
#include "botgate/store/sqlite_statement.hpp"
#include "botgate/store/store_key.hpp"
#include "botgate/store/upkeep_meter.hpp"
#include "botgate/store/wal_sync_ahead.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/container/small_vector.hpp>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <sched.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <mutex>
#include <span>
#include <stdexcept>
#include <unordered_set>
#include <utility>

namespace botgate::store {
namespace {

std::int64_t to_ms(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
SystemTime from_ms(std::int64_t ms) {
  return SystemTime(std::chrono::duration_cast<SystemTime::duration>(std::chrono::milliseconds(ms)));
}
std::int64_t now_ms() { return to_ms(std::chrono::system_clock::now()); }

/// Makes the calling thread (the database thread) a batch thread for the scheduler: woken by
/// a write on a busy core, it no longer preempts the network thread that queued it at once, but
/// runs when that thread waits for the network or its time slice ends, by which time more writes
/// have queued for the same round. Fairness is unchanged; a woken thread on an idle core runs at
/// once as before. One core (the benchmark): Discord flood ~10,900 -> ~12,100 events/s (median
/// of five quick runs each), ingress unchanged. Without it (another OS) nothing else changes.
void yield_to_network_threads_on_wakeup() {
#ifdef SCHED_BATCH
  sched_param param{};
  if (sched_setscheduler(0, SCHED_BATCH, &param) != 0) {
    spdlog::debug("store: the database thread stays a normal thread: {}", std::strerror(errno));
  }
#endif
}

/// What a reply credential's seal is bound to: a sealed value opens in this column only.
constexpr std::string_view kCredentialLabel = "botgate store: reply_credential";

/// A reply credential as the database keeps it: sealed (store_key.hpp); none stays none.
std::string seal_credential(const crypto::Sealer& sealer, std::string_view credential) {
  return credential.empty() ? std::string() : sealer.seal(kCredentialLabel, credential);
}

/// The credential of a row. One written before credentials were sealed is used as it is; one
/// that does not open (the key file was replaced) is logged and left out: the reply then fails
/// for want of it, and says so.
std::string open_credential(const crypto::Sealer& sealer, std::string_view stored,
                            std::string_view row) {
  if (stored.empty()) return {};
  if (!crypto::Sealer::looks_sealed(stored)) return std::string(stored);
  if (auto opened = sealer.unseal(kCredentialLabel, stored)) return std::move(*opened);
  spdlog::error("store: the reply credential of {} does not open with this database's key: its "
                "reply cannot be sent",
                row);
  return {};
}

/// The rows of a `SELECT id, message, attempts, reply_credential, stream_text, stream_end,
/// stream_progress FROM outbox`; an unreadable one is logged and passed over.
std::vector<OutboxItem> read_outbox_items(Statement& s, const crypto::Sealer& sealer) {
  std::vector<OutboxItem> items;
  while (s.step() == SQLITE_ROW) {
    auto message = outgoing_from_json(s.column_text(1));
    if (!message) {
      spdlog::error("store: outbox item {} is unreadable: {}", s.column_int(0),
                    message.error().message());
      continue;
    }
    message->reply_credential = open_credential(sealer, s.column_text(3),
                                                "outbox message " + std::to_string(s.column_int(0)));
    StreamRecord stream{s.column_text(4), static_cast<StreamEnd>(s.column_int(5)),
                        s.column_text(6)};
    items.push_back(OutboxItem{s.column_int(0), std::move(*message),
                               static_cast<int>(s.column_int(2)), std::move(stream)});
  }
  return items;
}

/// How long an outbox update may wait to share a commit with other writes. Each "sent" removes
/// its message from the lane index at its chat's place: the longer the hold, the more of them
/// share a page (Discord flood, 1 -> 5 ms: 1.8 -> 1.2 SQLite pages written per event, ~+10%
/// events/s).
/// It is also how much longer than the send itself a crash may leave a message unrecorded as
/// sent (it is sent again after the restart).
constexpr std::chrono::milliseconds kUpdateHold{5};

constexpr int kQueued = 0;
constexpr int kSent = 1;
constexpr int kFailed = 2;

/// A reply_context of a row written before reply credentials had their own column that is one:
/// a WeCom WebhookUrl or response_url, or a Discord "interaction:<application>:<token>" (the
/// other platforms' contexts are plain words, QQ's chat kinds).
bool is_legacy_credential(std::string_view reply_context) {
  return reply_context.starts_with("https://") || reply_context.starts_with("http://") ||
         reply_context.starts_with("interaction:");
}

/// After the migration that gives older databases the lane column: the index by lane that the
/// outbox worker's reads of one chat used is gone with those reads (the queued messages' lanes
/// are indexed in memory, OutboxIndex); each queued and each sent message wrote to it.
constexpr const char* kOutboxLaneIndex = "DROP INDEX IF EXISTS outbox_lane";

/// One botgate process owns its database: the lock is taken once and held, instead of a file
/// lock and a shared-memory WAL-index check around every transaction (several us of a callback),
/// and a second process on the same file fails to open it rather than sending everything twice.
/// Before journal_mode, so that the WAL index lives in the process's memory.
constexpr const char* kExclusive = "PRAGMA locking_mode=EXCLUSIVE;";

/// A checkpoint (here every ~4 MiB of WAL, SQLite's default) copies the WAL back and syncs both
/// files on the database thread, and every callback waits behind it: at ~16 MiB they came a
/// quarter as often but each held the callbacks up for tens of ms (p99 16-57 ms against 8-10 ms,
/// at the same throughput). The store runs them itself (on_wal_commit) instead of SQLite's
/// automatic ones, to have the WAL synced ahead (WalSyncAhead).
constexpr int kCheckpointFrames = 1000;

constexpr const char* kSchema = R"sql(
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
-- 2 MiB of page cache. 8 MiB was slower on every row of bench/ (quick runs, one after the
-- other: Feishu ingress 58 -> 53 us a callback, QQ 120 -> 114, the send API 56 -> 53 us a
-- request, up to 104 -> 53 in longer runs): profiles of the 8 MiB build spent 6-11 % in one loop
-- of SQLite's page cache that walks its whole hash table (the truncation at a transaction's
-- end), which grows with the cache. Why it runs so often is not understood yet; a smaller
-- cache costs it less, and the pages it no longer holds are re-read from the OS's cache.
PRAGMA cache_size=-2048;
PRAGMA foreign_keys=ON;
-- A deleted or rewritten value (a reply credential once its message is sent, an inbox event
-- once handled) is overwritten with zeros in the pages that are written anyway, instead of
-- staying readable in their free space; FAST adds no page writes.
PRAGMA secure_delete=FAST;
-- Inbox ids are internal (only the worker that completes an item uses them), so they may be
-- given out again once deleted: no AUTOINCREMENT, whose counter row is one more page written
-- per commit. Outbox ids are message ids in the API: those are never reused.
-- reply_credential (inbox, outbox, dead_letters): Event::reply_credential, kept out of the
-- JSON, which leaves botgate (forward, API); NULL once the message that used it is sent or
-- failed. attempts, last_error: the failed attempts to handle an event (inbox_retry).
CREATE TABLE IF NOT EXISTS inbox (
  id INTEGER PRIMARY KEY,
  bot TEXT NOT NULL,
  event TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  reply_credential TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT
);
CREATE INDEX IF NOT EXISTS inbox_by_bot ON inbox (bot, id);
-- Events given up on (inbox_dead_letter). Their ids are API ids: never reused. accepted_at is
-- the inbox row's created_at.
CREATE TABLE IF NOT EXISTS dead_letters (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  bot TEXT NOT NULL,
  event TEXT NOT NULL,
  reply_credential TEXT,
  attempts INTEGER NOT NULL,
  reason TEXT NOT NULL,
  accepted_at INTEGER NOT NULL,
  dead_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_by_bot ON dead_letters (bot, id);
-- Events whose handler answers later through the API (a forward service's 202), by event id,
-- with their sealed reply credential, until expires_at (ms).
CREATE TABLE IF NOT EXISTS reply_refs (
  event_id TEXT PRIMARY KEY,
  bot TEXT NOT NULL,
  event TEXT NOT NULL,
  reply_credential TEXT,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS reply_refs_by_expiry ON reply_refs (expires_at);
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  bot TEXT NOT NULL,
  message TEXT NOT NULL,
  state INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at INTEGER NOT NULL,
  last_error TEXT NOT NULL DEFAULT '',
  platform_message_id TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  lane TEXT NOT NULL DEFAULT '',
  reply_credential TEXT
);
-- Only the queued messages are indexed (sent and failed ones are read by id alone), by bot and
-- id: queue_depth counts them. Which of them to send next is decided in memory (OutboxIndex,
-- filled from this table at open). It replaced outbox_due (bot, state, next_at, id), which each
-- update moved an entry in.
DROP INDEX IF EXISTS outbox_due;
CREATE INDEX IF NOT EXISTS outbox_queued ON outbox (bot, id, next_at) WHERE state = 0;
-- The event log (Store::events_after, the event stream): each accepted event under its cursor,
-- written in the accept's transaction with the JSON its inbox row has (no reply credential),
-- deleted after the retention by EventLogPurge, which keeps the newest row: the next cursor is
-- read from it at open. No index besides the cursor: an accept appends one row at the end of
-- one B-tree; a reader with a filter scans by cursor from where it left off.
CREATE TABLE IF NOT EXISTS events (
  cursor INTEGER PRIMARY KEY,
  bot TEXT NOT NULL,
  platform TEXT NOT NULL,
  chat TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  event TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sessions (
  key TEXT PRIMARY KEY,
  session_id TEXT NOT NULL,
  sequence INTEGER NOT NULL,
  resume_url TEXT NOT NULL,
  user_id TEXT NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
-- Platform ids as numbers (Store::id_numbers, for OneBot v11), per bot and kind (IdKind).
-- AUTOINCREMENT: a number once given never stands for another id, even after rows go.
CREATE TABLE IF NOT EXISTS id_map (
  number INTEGER PRIMARY KEY AUTOINCREMENT,
  bot TEXT NOT NULL,
  kind INTEGER NOT NULL,
  platform_id TEXT NOT NULL,
  context TEXT NOT NULL DEFAULT '',
  UNIQUE (bot, kind, platform_id)
);
)sql";

}  // namespace

std::optional<std::string> sqlite_path_from_url(std::string_view url) {
  constexpr std::string_view kScheme = "sqlite://";
  if (!url.starts_with(kScheme)) return std::nullopt;
  std::string path(url.substr(kScheme.size()));
  if (path.empty()) return std::nullopt;
  return path;
}

struct SqliteStore::Impl {
  Impl(const std::string& path, SqliteStoreOptions options)
      : path_(path), sealer_(load_or_create_store_key(path)) {
    make_private(path);
    if (sqlite3_open_v2(path.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
      std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw std::runtime_error("cannot open the store '" + path + "': " + why);
    }
    sqlite3_busy_timeout(db_, 5000);
    char* message = nullptr;
    if ((!options.shared_file &&
         sqlite3_exec(db_, kExclusive, nullptr, nullptr, &message) != SQLITE_OK) ||
        sqlite3_exec(db_, kSchema, nullptr, nullptr, &message) != SQLITE_OK ||
        sqlite3_exec(db_, kDedupSchema, nullptr, nullptr, &message) != SQLITE_OK) {
      const bool locked = sqlite3_errcode(db_) == SQLITE_BUSY;
      std::string why = message ? message : "unknown error";
      sqlite3_free(message);
      sqlite3_close(db_);
      if (locked) {
        throw std::runtime_error("cannot open the store '" + path +
                                 "': another process has it open (one botgate process per "
                                 "SQLite file)");
      }
      throw std::runtime_error("cannot create the schema of the store '" + path + "': " + why);
    }
    sqlite3_wal_hook(db_, &Impl::on_wal_commit, this);
    statements_ = std::make_unique<Statements>(db_);
    dedup_ = std::make_unique<SqliteDedup>(*statements_);
    purge_ = std::make_unique<OutboxPurge>(*statements_, options.finished_retention,
                                           options.purge_every);
    event_purge_ = std::make_unique<EventLogPurge>(*statements_, options.event_retention,
                                                   options.purge_every);
    try {
      add_outbox_lanes();
      add_reply_credentials();
      add_inbox_attempts();
      add_client_keys();
      add_message_parts();
      add_streams();
      dedup_->load(now_ms());
      load_outbox_index();
      load_last_cursor();
      asio::post(pool_, [] {
        name_this_thread("botgate-store");
        yield_to_network_threads_on_wakeup();
      });
    } catch (const std::exception& e) {
      event_purge_.reset();
      purge_.reset();
      dedup_.reset();
      statements_.reset();
      sqlite3_close(db_);
      throw std::runtime_error("cannot read the store '" + path + "': " + e.what());
    }
  }
  ~Impl() {
    pool_.join();
    event_purge_.reset();
    purge_.reset();
    dedup_.reset();
    statements_.reset();
    sqlite3_close(db_);
  }

  /// SQLite's hook after each commit in WAL mode (in place of its automatic checkpoints): keeps
  /// the WAL synced ahead and checkpoints every kCheckpointFrames frames, as SQLite would, once
  /// the sync ahead caught up.
  static int on_wal_commit(void* self, sqlite3* db, const char* name, int frames) {
    auto* impl = static_cast<Impl*>(self);
    if (impl->wal_sync_.wal_grew(frames)) {
      UpkeepMeter::Run run(impl->checkpoints_);
      // A checkpoint that cannot finish now (it never waits) is tried again at the next commit.
      sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    }
    return SQLITE_OK;
  }

  std::vector<StoreUpkeep> upkeep() const {
    return {checkpoints_.figures(), merges_.figures(), outbox_purges_.figures(),
            event_purges_.figures()};
  }

  /// True when `table` already has `column` (databases made by older versions lack some).
  bool has_column(std::string_view table, std::string_view column) {
    Use found(statement("SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2"));
    found->bind(1, table).bind(2, column);
    return found->step() == SQLITE_ROW;
  }

  /// Databases made before the outbox had lanes get the column, filled in for what is queued.
  void add_outbox_lanes() {
    if (!has_column("outbox", "lane")) {
      begin();
      exec("ALTER TABLE outbox ADD COLUMN lane TEXT NOT NULL DEFAULT ''");
      std::vector<std::pair<std::int64_t, std::string>> lanes;
      {
        Use queued(statement("SELECT id, message FROM outbox WHERE state = 0"));
        while (queued->step() == SQLITE_ROW) {
          if (auto message = outgoing_from_json(queued->column_text(1))) {
            lanes.emplace_back(queued->column_int(0), message->lane());
          }
        }
      }
      for (const auto& [id, lane] : lanes) {
        Use s(statement("UPDATE outbox SET lane = ?2 WHERE id = ?1"));
        s->bind(1, id).bind(2, lane);
        check(s->step(), "set the lane of an outbox message");
      }
      commit();
    }
    exec(kOutboxLaneIndex);
  }

  /// Databases made before reply credentials were kept apart get the inbox and outbox column.
  /// The credentials that the rows' JSON carried in reply_context (a WeCom webhook or
  /// response_url, a Discord interaction) move to it, or are dropped from the messages already
  /// sent or failed; one rewrite of those rows, once.
  void add_reply_credentials() {
    if (has_column("inbox", "reply_credential")) return;
    begin();
    exec("ALTER TABLE inbox ADD COLUMN reply_credential TEXT");
    exec("ALTER TABLE outbox ADD COLUMN reply_credential TEXT");
    struct Moved {
      std::int64_t id;
      std::string json;
      std::string credential;
    };
    std::vector<Moved> events;
    {
      Use rows(statement("SELECT id, event FROM inbox"));
      while (rows->step() == SQLITE_ROW) {
        auto event = event_from_json(rows->column_text(1));
        if (!event || !is_legacy_credential(event->reply_context)) continue;
        std::string credential = std::exchange(event->reply_context, {});
        events.push_back({rows->column_int(0), to_json(*event), std::move(credential)});
      }
    }
    for (const Moved& row : events) {
      Use s(statement("UPDATE inbox SET event = ?2, reply_credential = ?3 WHERE id = ?1"));
      s->bind(1, row.id).bind(2, row.json).bind(3, seal_credential(sealer_, row.credential));
      check(s->step(), "move the reply credential of an inbox event");
    }
    std::vector<Moved> messages;
    {
      Use rows(statement("SELECT id, message, state FROM outbox"));
      while (rows->step() == SQLITE_ROW) {
        auto message = outgoing_from_json(rows->column_text(1));
        if (!message || !is_legacy_credential(message->reply_context)) continue;
        std::string credential = std::exchange(message->reply_context, {});
        if (rows->column_int(2) != kQueued) credential.clear();
        messages.push_back({rows->column_int(0), to_json(*message), std::move(credential)});
      }
    }
    for (const Moved& row : messages) {
      Use s(statement(
          "UPDATE outbox SET message = ?2, reply_credential = NULLIF(?3, '') WHERE id = ?1"));
      s->bind(1, row.id).bind(2, row.json).bind(3, seal_credential(sealer_, row.credential));
      check(s->step(), "move the reply credential of an outbox message");
    }
    commit();
    spdlog::info("store: reply credentials moved out of {} inbox events and {} outbox messages",
                 events.size(), messages.size());
  }

  /// Databases made before failed attempts were counted get the inbox's attempts and
  /// last_error columns (the dead_letters table is made by the schema): every event so far has
  /// none.
  void add_inbox_attempts() {
    if (has_column("inbox", "attempts")) return;
    begin();
    exec("ALTER TABLE inbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0");
    exec("ALTER TABLE inbox ADD COLUMN last_error TEXT");
    commit();
  }

  /// The outbox's client_key column (the API's idempotency_key, on a message's first part) and
  /// its index, made here rather than in kSchema so that older databases get both. The index
  /// is UNIQUE, on (bot, client_key), and partial: only rows that have a key are in it, so a
  /// reply queued without one (the reply path, a write per reply) writes no index entry for it.
  void add_client_keys() {
    if (!has_column("outbox", "client_key")) exec("ALTER TABLE outbox ADD COLUMN client_key TEXT");
    exec("CREATE UNIQUE INDEX IF NOT EXISTS outbox_client_key ON outbox (bot, client_key) "
         "WHERE client_key IS NOT NULL");
  }

  /// The outbox's columns of a streamed message (OutboxItem::stream): NULL on every other row,
  /// so a message sent whole writes nothing more than before.
  void add_streams() {
    if (has_column("outbox", "stream_text")) return;
    exec("ALTER TABLE outbox ADD COLUMN stream_text TEXT");
    exec("ALTER TABLE outbox ADD COLUMN stream_end INTEGER");
    exec("ALTER TABLE outbox ADD COLUMN stream_progress TEXT");
  }

  /// The outbox's first_part column: on the second and later parts of a message (Sender::split),
  /// the id of its first part, so that outbox_status can answer for the whole message. NULL on a
  /// first part, and on every row older databases queued (their messages answer as their first
  /// part). Its index is partial: a message sent whole writes no entry.
  void add_message_parts() {
    if (!has_column("outbox", "first_part")) {
      exec("ALTER TABLE outbox ADD COLUMN first_part INTEGER");
    }
    exec("CREATE INDEX IF NOT EXISTS outbox_first_part ON outbox (first_part) "
         "WHERE first_part IS NOT NULL");
  }

  /// Runs `f` on the database thread; the caller resumes on its own executor with the result.
  template <class F>
  auto run(F f) -> asio::awaitable<std::invoke_result_t<F&>> {
    using R = std::invoke_result_t<F&>;
    return asio::async_initiate<const asio::use_awaitable_t<>, void(R)>(
        [this](auto handler, F fn) {
          auto work = asio::make_work_guard(handler);
          asio::post(pool_, [this, handler = std::move(handler), work = std::move(work),
                             fn = std::move(fn)]() mutable {
            R result = guarded(fn);
            auto executor = work.get_executor();
            asio::dispatch(executor, [handler = std::move(handler),
                                      result = std::move(result)]() mutable {
              std::move(handler)(std::move(result));
            });
          });
        },
        asio::use_awaitable, std::move(f));
  }

  /// Turns a thrown sqlite failure into an Error value for Result-returning work.
  template <class F>
  std::invoke_result_t<F&> guarded(F& fn) {
    try {
      return fn();
    } catch (const std::exception& e) {
      if (in_transaction_) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        in_transaction_ = false;
      }
      spdlog::error("store: {}", e.what());
      return Error{errc::store_failed, e.what()};
    }
  }

  Statement& statement(const char* sql) { return (*statements_)(sql); }
  void exec(const char* sql) { statements_->exec(sql); }
  void check(int rc, const char* what) { statements_->check(rc, what); }

  void begin() {
    exec("BEGIN IMMEDIATE");
    in_transaction_ = true;
  }
  void commit() {
    exec("COMMIT");
    in_transaction_ = false;
    commits_.fetch_add(1, std::memory_order_relaxed);
  }
  void rollback() {
    exec("ROLLBACK");
    in_transaction_ = false;
  }

  struct AcceptRequest {
    Event event;
    std::vector<std::string> keys;
    std::chrono::seconds ttl{};
    /// Set for an event handled already (Store::accept_handled): no inbox row, these replies
    /// queued instead.
    std::optional<std::vector<OutgoingMessage>> replies;
  };

  /// What an accept wrote: whether the event was new (a duplicate writes nothing), its inbox
  /// row (0 for a handled event), its log cursor and its JSON (for the event log's listener),
  /// and the outbox ids of a handled event's replies.
  struct Accepted {
    bool is_new = false;
    std::int64_t row = 0;
    std::int64_t cursor = 0;
    std::string json;
    std::vector<std::int64_t> reply_ids;
  };

  /// Group commit of accepts (see BatchQueue and drain_writes): a burst of callbacks shares one
  /// transaction.
  asio::awaitable<Result<bool>> accept_batched(
      Event event, std::vector<std::string> keys, std::chrono::seconds ttl,
      std::optional<std::vector<OutgoingMessage>> replies = std::nullopt) {
    AcceptRequest request{std::move(event), std::move(keys), ttl, std::move(replies)};
    return accepts_.submit(std::move(request),
                           [this](const auto& caller) { schedule_writes(caller); });
  }

  using AcceptQueue = BatchQueue<AcceptRequest, Result<bool>>;
  using CompletionQueue = BatchQueue<std::vector<InboxCompletion>, Result<void>>;

  /// The drain is posted from the caller's executor rather than at once, so that it starts after
  /// the handlers the caller's thread has ready (the other callbacks of the same epoll round):
  /// those queue their writes first and share the round. Woken at the first write, the database
  /// thread took a few writes per commit and took the core from the callbacks that were about to
  /// queue theirs (one core: 49 -> 38-42 us of CPU per Feishu callback, ~+25% requests/s).
  template <class Executor>
  void schedule_writes(const Executor& caller) {
    asio::post(caller, [this] { asio::post(pool_, [this] { drain_writes(); }); });
  }

  /// On the database thread: one transaction for every write queued so far, of all four kinds
  /// (accepts, inbox completions, outbox updates, messages queued). A busy bot has them all
  /// waiting at once (the events it is told, the replies it queues, the replies it has sent, the
  /// API's sends): one commit, and one write of each page they share, instead of one per kind.
  void drain_writes() {
    auto accepts = accepts_.take();
    auto completions = completions_.take();
    auto updates = updates_.take();
    auto pushes = pushes_.take();
    const int kinds =
        !accepts.empty() + !completions.empty() + !updates.empty() + !pushes.empty();
    if (kinds == 0) return;  // taken by an earlier round
    schedule_outbox_purge();  // after this round
    schedule_event_purge();
    if (kinds == 1) {
      // Alone, each kind is written the way it isolates its own failures.
      if (!accepts.empty()) write_accepts_alone(accepts);
      if (!completions.empty()) write_completions_alone(completions);
      if (!updates.empty()) write_updates_alone(updates);
      if (!pushes.empty()) write_pushes_alone(pushes);
      return;
    }
    std::vector<Accepted> rows;
    std::vector<std::vector<std::int64_t>> ids;
    std::vector<Pushed> pushed;
    const std::int64_t now = now_ms();
    try {
      begin();
      rows = write_accepts(accepts, now);
      ids = write_completions(completions, now);
      write_outbox_updates(updates, 0, updates.size());
      pushed = write_pushes(pushes, 0, pushes.size(), now);
      commit();
    } catch (const std::exception& e) {
      roll_back_after(e);
      dedup_->rolled_back();
      // One failed write must not fail the others: each kind is written again on its own.
      write_accepts_alone(accepts);
      write_completions_alone(completions);
      write_updates_alone(updates);
      write_pushes_alone(pushes);
      return;
    }
    accepts_committed(accepts, rows, now);
    completions_committed(completions, ids, now);
    for (auto& pending : updates) {
      update_committed(pending.request);
      (*pending.done)(Result<void>{});
    }
    pushes_committed(pushes, 0, pushed, now);
  }

  void roll_back_after(const std::exception& e) {
    if (in_transaction_) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      in_transaction_ = false;
    }
    spdlog::error("store: {}", e.what());
  }

  /// Runs `write` in a transaction of its own; when it fails, rolls back and returns why.
  template <class F>
  std::optional<std::string> in_own_transaction(F&& write) {
    try {
      begin();
      write();
      commit();
      return std::nullopt;
    } catch (const std::exception& e) {
      roll_back_after(e);
      return std::string(e.what());
    }
  }

  /// Inside a transaction: the inbox row of each new event, 0 for a duplicate, accepted at `now`
  /// (one clock reading for the round, which the copy in memory gets too).
  std::vector<Accepted> write_accepts(const std::vector<AcceptQueue::Pending>& batch,
                                      std::int64_t now) {
    std::vector<Accepted> rows;
    rows.reserve(batch.size());
    for (const auto& pending : batch) {
      const AcceptRequest& r = pending.request;
      rows.push_back(accept_one(r.event, r.keys, r.ttl, now, r.replies));
    }
    return rows;
  }

  void accepts_committed(std::vector<AcceptQueue::Pending>& batch, std::vector<Accepted>& rows,
                         std::int64_t accepted_at) {
    if (batch.empty()) return;
    dedup_->committed();
    // Before the callers resume: a stream client sees an event no later than its platform
    // sees the acknowledgement.
    tell_logged(batch, rows);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      AcceptRequest& request = batch[i].request;
      // The replies are in the outbox index before the caller resumes: it wakes the outbox
      // worker, which takes from the index on its own thread.
      if (rows[i].is_new && request.replies) {
        replies_queued(*request.replies, rows[i].reply_ids, accepted_at);
      }
      (*batch[i].done)(rows[i].is_new);
      if (rows[i].is_new && !request.replies) {
        inbox_mirror_.added(rows[i].row, std::move(request.event), from_ms(accepted_at));
      }
    }
    schedule_dedup_merge();
  }

  /// The accepts in one transaction of their own; when it fails, nothing of the batch is stored
  /// and each caller answers so that the platform retries.
  void write_accepts_alone(std::vector<AcceptQueue::Pending>& batch) {
    if (batch.empty()) return;
    std::vector<Accepted> rows;
    const std::int64_t now = now_ms();
    if (auto error = in_own_transaction([&] { rows = write_accepts(batch, now); })) {
      dedup_->rolled_back();
      const Error failed{errc::store_failed, *error};
      for (auto& pending : batch) (*pending.done)(failed);
      return;
    }
    accepts_committed(batch, rows, now);
  }

  /// Inside a transaction: the replies of each completion queued, their ids, and the completed
  /// events removed from the inbox.
  std::vector<std::vector<std::int64_t>> write_completions(
      const std::vector<CompletionQueue::Pending>& batch, std::int64_t now) {
    std::vector<std::vector<std::int64_t>> ids;
    ids.reserve(batch.size());
    for (const auto& pending : batch) {
      auto& queued = ids.emplace_back();
      for (const InboxCompletion& item : pending.request) {
        for (const OutgoingMessage& reply : item.replies) queued.push_back(push(reply, now));
        if (item.keep_reply_ref) keep_reply_ref(item, now);
        Use s(statement("DELETE FROM inbox WHERE id = ?1"));
        s->bind(1, item.inbox_id);
        check(s->step(), "delete inbox item");
      }
    }
    return ids;
  }

  /// Inside a transaction: the inbox row of `item` copied to reply_refs as it is (its sealed
  /// credential too); every 256 copies the expired ones are deleted.
  void keep_reply_ref(const InboxCompletion& item, std::int64_t now) {
    Use s(statement(
        "INSERT OR REPLACE INTO reply_refs (event_id, bot, event, reply_credential, expires_at) "
        "SELECT ?2, bot, event, reply_credential, ?3 FROM inbox WHERE id = ?1"));
    s->bind(1, item.inbox_id)
        .bind(2, item.event_id)
        .bind(3, now + std::chrono::duration_cast<std::chrono::milliseconds>(kReplyRefTtl).count());
    check(s->step(), "keep a reply reference");
    if (++reply_refs_kept_ % 256 == 0) {
      Use purge(statement("DELETE FROM reply_refs WHERE expires_at <= ?1"));
      purge->bind(1, now);
      check(purge->step(), "delete expired reply references");
    }
  }

  /// The oldest `limit` events of `bot` in the table that are not in `taken`. Those in `taken`
  /// are read too (at most as many as there are), for the copy in memory that may start from
  /// this read. An unreadable row is logged and passed over (and counts as taken, if `taken` is
  /// taken_, so that it is logged once).
  std::vector<InboxItem> read_inbox(const std::string& bot, std::size_t limit,
                                    const std::unordered_set<std::int64_t>& taken) {
    const std::size_t wanted = limit + taken.size();
    std::vector<InboxItem> all;
    std::size_t rows = 0;
    Use s(statement("SELECT id, event, reply_credential, attempts, created_at FROM inbox "
                    "WHERE bot = ?1 ORDER BY id LIMIT ?2"));
    s->bind(1, bot).bind(2, static_cast<std::int64_t>(wanted));
    while (s->step() == SQLITE_ROW) {
      ++rows;
      const std::int64_t id = s->column_int(0);
      auto event = event_from_json(s->column_text(1));
      if (!event) {
        spdlog::error("store: inbox item {} is unreadable: {}", id, event.error().message());
        if (&taken == &taken_) taken_.insert(id);
        continue;
      }
      event->reply_credential =
          open_credential(sealer_, s->column_text(2), "inbox event " + std::to_string(id));
      all.push_back(InboxItem{id, std::move(*event), static_cast<int>(s->column_int(3)),
                              from_ms(s->column_int(4))});
    }
    // Fewer rows than asked for: that was all of the bot's inbox, the copy in memory starts.
    if (rows < wanted) inbox_mirror_.read_from_table(bot, all, wanted);
    std::vector<InboxItem> items;
    for (InboxItem& item : all) {
      if (items.size() >= limit) break;
      if (!taken.contains(item.id)) items.push_back(std::move(item));
    }
    return items;
  }

  void completions_committed(std::vector<CompletionQueue::Pending>& batch,
                             const std::vector<std::vector<std::int64_t>>& ids,
                             std::int64_t queued_at) {
    for (std::size_t i = 0; i < batch.size(); ++i) {
      std::size_t next = 0;
      for (InboxCompletion& item : batch[i].request) {
        inbox_mirror_.removed(item.inbox_id);
        taken_.erase(item.inbox_id);
        const auto first = ids[i].begin() + static_cast<std::ptrdiff_t>(next);
        next += item.replies.size();
        replies_queued(item.replies, {first, ids[i].begin() + static_cast<std::ptrdiff_t>(next)},
                       queued_at);
      }
      (*batch[i].done)(Result<void>{});
    }
  }

  /// After the commit that queued `replies` under `ids`: they join the outbox index.
  void replies_queued(std::vector<OutgoingMessage>& replies, std::span<const std::int64_t> ids,
                      std::int64_t queued_at) {
    for (std::size_t k = 0; k < replies.size(); ++k) {
      const std::int64_t id = ids[k];
      std::string lane = replies[k].lane();
      std::string bot = replies[k].bot;
      outbox_index_.queued(bot, lane, id, queued_at, OutboxItem{id, std::move(replies[k]), 0});
    }
  }

  /// Each caller's completions in a transaction of their own: one that fails (its replies and
  /// removals roll back together) fails only its caller.
  void write_completions_alone(std::vector<CompletionQueue::Pending>& batch) {
    for (auto& pending : batch) {
      std::vector<CompletionQueue::Pending> one;
      one.push_back(std::move(pending));
      std::vector<std::vector<std::int64_t>> ids;
      const std::int64_t now = now_ms();
      if (auto error = in_own_transaction([&] { ids = write_completions(one, now); })) {
        (*one.front().done)(Error{errc::store_failed, *error});
        continue;
      }
      completions_committed(one, ids, now);
    }
  }

  /// Inside the batch's transaction; the new event's inbox row (or, handled already, its
  /// `replies` queued) and log entry; nothing for a duplicate. Keys recorded earlier in the same
  /// batch count as seen.
  Accepted accept_one(const Event& event, const std::vector<std::string>& keys,
                      std::chrono::seconds ttl, std::int64_t now,
                      const std::optional<std::vector<OutgoingMessage>>& replies) {
    // Hashed once each for the lookup and the record (an event has one or two keys).
    boost::container::small_vector<std::int64_t, 2> hashes;
    for (const std::string& key : keys) {
      hashes.push_back(key_hash(key));
      if (dedup_->seen(hashes.back(), now)) return {};
    }
    const std::int64_t expires = now + std::chrono::duration_cast<std::chrono::milliseconds>(ttl).count();
    for (const std::int64_t hash : hashes) dedup_->record(hash, expires);
    Accepted accepted;
    accepted.is_new = true;
    accepted.json = to_json(event);
    if (replies) {
      for (const OutgoingMessage& reply : *replies) accepted.reply_ids.push_back(push(reply, now));
    } else {
      Use s(statement("INSERT INTO inbox (bot, event, created_at, reply_credential) "
                      "VALUES (?1, ?2, ?3, NULLIF(?4, ''))"));
      s->bind(1, event.bot).bind(2, accepted.json).bind(3, now);
      s->bind(4, seal_credential(sealer_, event.reply_credential));
      check(s->step(), "insert inbox event");
      accepted.row = statements_->last_insert_rowid();
    }
    // The log entry: the JSON already made for the inbox, in the same transaction (no second
    // commit, no second sync). A cursor of a transaction rolled back is not given again: the
    // counter only grows.
    accepted.cursor = next_cursor_++;
    Use s(statement("INSERT INTO events (cursor, bot, platform, chat, created_at, event) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
    s->bind(1, accepted.cursor).bind(2, event.bot).bind(3, event.platform).bind(4, event.chat.id);
    s->bind(5, now).bind(6, accepted.json);
    check(s->step(), "log an accepted event");
    return accepted;
  }

  /// The cursor of the newest log entry (the purge keeps it): the next one goes on from it.
  void load_last_cursor() {
    Use s(statement("SELECT MAX(cursor) FROM events"));
    std::int64_t last = 0;
    if (s->step() == SQLITE_ROW) last = s->column_int(0);
    next_cursor_ = last + 1;
    told_cursor_ = last;
  }

  /// After the accepts' commit: the listener learns the new entries, in cursor order.
  void tell_logged(std::vector<AcceptQueue::Pending>& batch, std::vector<Accepted>& accepted) {
    std::lock_guard lock(listener_mutex_);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      Accepted& entry = accepted[i];
      if (!entry.is_new) continue;
      told_cursor_ = entry.cursor;
      if (!listener_) continue;
      const Event& event = batch[i].request.event;
      listener_(LoggedEvent{entry.cursor, event.bot, event.platform, event.chat.id,
                            std::move(entry.json)});
    }
  }

  /// Like the outbox purge: the next step of a due purge of the event log goes behind the
  /// writes already queued, one chunk per transaction.
  void schedule_event_purge() {
    if (event_purge_scheduled_ || !event_purge_->due()) return;
    event_purge_scheduled_ = true;
    asio::post(pool_, [this] {
      event_purge_scheduled_ = false;
      UpkeepMeter::Run run(event_purges_);
      if (in_own_transaction([&] { event_purge_->step(now_ms()); })) {
        event_purge_->rolled_back();
        return;
      }
      event_purge_->committed();
      if (event_purge_->in_pass()) schedule_event_purge();
    });
  }

  /// Queues the next step of a due merge of dedup keys behind the accepts already queued, so
  /// that a merge never holds callbacks up for more than one chunk.
  void schedule_dedup_merge() {
    if (merge_scheduled_ || !dedup_->merge_due()) return;
    merge_scheduled_ = true;
    asio::post(pool_, [this] {
      merge_scheduled_ = false;
      // On failure (logged) the keys stay in dedup_log and in memory; the step is tried
      // again after the next accepts.
      UpkeepMeter::Run run(merges_);
      if (in_own_transaction([&] { dedup_->merge_step(now_ms()); })) return;
      dedup_->merge_committed();
      schedule_dedup_merge();
    });
  }

  /// Like a merge: the next step of a due outbox purge goes behind the writes already queued,
  /// one chunk per transaction.
  void schedule_outbox_purge() {
    if (purge_scheduled_ || !purge_->due()) return;
    purge_scheduled_ = true;
    asio::post(pool_, [this] {
      purge_scheduled_ = false;
      UpkeepMeter::Run run(outbox_purges_);
      if (in_own_transaction([&] { purge_->step(now_ms()); })) {
        purge_->rolled_back();
        return;
      }
      purge_->committed();
      // The next step of this pass; the next pass starts after a later round of writes.
      if (purge_->in_pass()) schedule_outbox_purge();
    });
  }

  /// `client_key` empty: none (the column stays NULL, outside the outbox_client_key index).
  /// `first_part` 0: the row is a message's first part (or all of it).
  std::int64_t push(const OutgoingMessage& message, std::int64_t now,
                    std::string_view client_key = {}, std::int64_t first_part = 0) {
    Use s(statement(
        "INSERT INTO outbox (bot, message, next_at, created_at, updated_at, lane, "
        "reply_credential, client_key, first_part) VALUES (?1, ?2, ?3, ?3, ?3, ?4, "
        "NULLIF(?5, ''), NULLIF(?6, ''), NULLIF(?7, 0))"));
    s->bind(1, message.bot).bind(2, to_json(message)).bind(3, now).bind(4, message.lane());
    s->bind(5, seal_credential(sealer_, message.reply_credential)).bind(6, client_key);
    s->bind(7, first_part);
    check(s->step(), "insert outbox message");
    return sqlite3_last_insert_rowid(db_);
  }

  /// The message of `bot` queued with `client_key`, if the outbox still has it.
  std::optional<std::int64_t> find_client_key(const std::string& bot,
                                              const std::string& client_key) {
    Use s(statement("SELECT id FROM outbox WHERE bot = ?1 AND client_key = ?2"));
    s->bind(1, bot).bind(2, client_key);
    if (s->step() != SQLITE_ROW) return std::nullopt;
    return s->column_int(0);
  }

  void update_outbox(std::int64_t id, int state, std::int64_t next_at, std::string_view error,
                     std::string_view platform_id, bool count_attempt) {
    // A message sent or failed for good needs its reply credential no more: it goes in the same
    // write (a retry keeps it).
    Use s(statement(
        "UPDATE outbox SET state = ?2, next_at = ?3, last_error = ?4, platform_message_id = ?5, "
        "attempts = attempts + ?6, updated_at = ?7, "
        "reply_credential = CASE WHEN ?2 = 0 THEN reply_credential END WHERE id = ?1"));
    s->bind(1, id).bind(2, std::int64_t{state}).bind(3, next_at).bind(4, error).bind(5, platform_id)
        .bind(6, std::int64_t{count_attempt ? 1 : 0}).bind(7, now_ms());
    check(s->step(), "update outbox message");
  }

  /// An outbox message sent, rescheduled or failed for good (one attempt more in each case).
  struct OutboxUpdate {
    std::int64_t id = 0;
    int state = kQueued;
    std::int64_t next_at = 0;
    std::string error;
    std::string platform_id;
  };
  using UpdateQueue = BatchQueue<OutboxUpdate, Result<void>>;

  /// A message to queue (Store::outbox_push_message): its parts, and the client's idempotency
  /// key ("" for none).
  struct OutboxPush {
    std::vector<OutgoingMessage> parts;
    std::string client_key;
  };
  using PushQueue = BatchQueue<OutboxPush, Result<OutboxPushed>>;
  /// What a push wrote: the ids of its parts, or the message an earlier push with its key made.
  struct Pushed {
    std::vector<std::int64_t> ids;
    std::optional<std::int64_t> known;
  };

  /// Group commit of pushes (see BatchQueue and drain_writes): the send API under load, or a
  /// bot queueing the replies of many chats, shares a commit.
  asio::awaitable<Result<OutboxPushed>> push_batched(OutboxPush push) {
    return pushes_.submit(std::move(push),
                          [this](const auto& caller) { schedule_writes(caller); });
  }

  /// Inside a transaction: each push of `batch` [first, last), in order. A key pushed earlier,
  /// also earlier in this batch (the same connection sees its own insert), names that message.
  std::vector<Pushed> write_pushes(std::vector<PushQueue::Pending>& batch, std::size_t first,
                                   std::size_t last, std::int64_t now) {
    std::vector<Pushed> out;
    out.reserve(last - first);
    for (std::size_t i = first; i < last; ++i) {
      const OutboxPush& push = batch[i].request;
      Pushed pushed;
      if (!push.client_key.empty()) {
        pushed.known = find_client_key(push.parts.front().bot, push.client_key);
      }
      if (!pushed.known) {
        for (std::size_t j = 0; j < push.parts.size(); ++j) {
          pushed.ids.push_back(j == 0 ? this->push(push.parts[j], now, push.client_key)
                                      : this->push(push.parts[j], now, "", pushed.ids.front()));
        }
      }
      out.push_back(std::move(pushed));
    }
    return out;
  }

  /// After the commit: the new messages join the outbox index, and each caller gets its id.
  void pushes_committed(std::vector<PushQueue::Pending>& batch, std::size_t first,
                        std::vector<Pushed>& written, std::int64_t now) {
    for (std::size_t k = 0; k < written.size(); ++k) {
      auto& pending = batch[first + k];
      Pushed& pushed = written[k];
      if (pushed.known) {
        (*pending.done)(OutboxPushed{*pushed.known, false});
        continue;
      }
      std::vector<OutgoingMessage>& parts = pending.request.parts;
      const std::string bot = parts.front().bot;
      for (std::size_t j = 0; j < parts.size(); ++j) {
        std::string lane = parts[j].lane();
        outbox_index_.queued(bot, lane, pushed.ids[j], now,
                             OutboxItem{pushed.ids[j], std::move(parts[j]), 0});
      }
      (*pending.done)(OutboxPushed{pushed.ids.front(), true});
    }
  }

  /// The pushes in one transaction of their own; when it fails, each is written again on its
  /// own, so that one bad message does not fail the others.
  void write_pushes_alone(std::vector<PushQueue::Pending>& batch) {
    if (batch.empty()) return;
    const std::int64_t now = now_ms();
    std::vector<Pushed> written;
    std::optional<std::string> error =
        in_own_transaction([&] { written = write_pushes(batch, 0, batch.size(), now); });
    if (!error) {
      pushes_committed(batch, 0, written, now);
      return;
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (batch.size() > 1) {
        error = in_own_transaction([&] { written = write_pushes(batch, i, i + 1, now); });
      }
      if (error) {
        (*batch[i].done)(Error{errc::store_failed, *error});
      } else {
        pushes_committed(batch, i, written, now);
      }
    }
  }

  /// The index in memory follows a committed update: a retried message stays taken.
  void update_committed(const OutboxUpdate& update) {
    if (update.state == kQueued) {
      outbox_index_.retried(update.id, update.next_at);
    } else {
      outbox_index_.ended(update.id);
    }
  }

  /// One failed attempt more at inbox row `id`. On its own (a statement is its transaction):
  /// failures are rare, and the row stays where it is, taken.
  void retry_inbox(std::int64_t id, std::string_view error) {
    Use s(statement("UPDATE inbox SET attempts = attempts + 1, last_error = ?2 WHERE id = ?1"));
    s->bind(1, id).bind(2, error);
    check(s->step(), "count a failed attempt at an inbox event");
    if (sqlite3_changes(db_) > 0) inbox_mirror_.retried(id);
  }

  /// Inbox row `id` into the dead letters, in one transaction; the dead letter's id, 0 when the
  /// inbox has no such row. The sealed credential moves as it is (one seal for both tables).
  std::int64_t move_to_dead_letters(std::int64_t id, std::string_view reason) {
    begin();
    std::int64_t dead = 0;
    {
      Use s(statement(
          "INSERT INTO dead_letters (bot, event, reply_credential, attempts, reason, "
          "accepted_at, dead_at) SELECT bot, event, reply_credential, attempts + 1, ?2, "
          "created_at, ?3 FROM inbox WHERE id = ?1"));
      s->bind(1, id).bind(2, reason).bind(3, now_ms());
      check(s->step(), "insert dead letter");
    }
    if (sqlite3_changes(db_) == 0) {
      rollback();
      return 0;
    }
    dead = statements_->last_insert_rowid();
    {
      Use s(statement("DELETE FROM inbox WHERE id = ?1"));
      s->bind(1, id);
      check(s->step(), "delete inbox item");
    }
    commit();
    inbox_mirror_.removed(id);
    taken_.erase(id);
    return dead;
  }

  /// Dead letter `id` back into the inbox as a new row, accepted now with no attempts, in one
  /// transaction; its bot, nullopt when there is no such dead letter. The new row's id is above
  /// every inbox row, as the copy in memory needs (SQLite gives a row inserted without an id the
  /// largest id in the table plus one). A dead letter whose event cannot be read stays.
  std::optional<std::string> move_back_to_inbox(std::int64_t id) {
    std::optional<Event> event;
    {
      Use s(statement("SELECT event, reply_credential FROM dead_letters WHERE id = ?1"));
      s->bind(1, id);
      if (s->step() != SQLITE_ROW) return std::nullopt;
      auto parsed = event_from_json(s->column_text(0));
      if (!parsed) {
        throw std::runtime_error("dead letter " + std::to_string(id) +
                                 " is unreadable: " + parsed.error().message());
      }
      parsed->reply_credential =
          open_credential(sealer_, s->column_text(1), "dead letter " + std::to_string(id));
      event = std::move(*parsed);
    }
    const std::int64_t now = now_ms();
    begin();
    {
      Use s(statement("INSERT INTO inbox (bot, event, created_at, reply_credential) "
                      "SELECT bot, event, ?2, reply_credential FROM dead_letters WHERE id = ?1"));
      s->bind(1, id).bind(2, now);
      check(s->step(), "move a dead letter back into the inbox");
    }
    const std::int64_t row = statements_->last_insert_rowid();
    {
      Use s(statement("DELETE FROM dead_letters WHERE id = ?1"));
      s->bind(1, id);
      check(s->step(), "delete dead letter");
    }
    commit();
    std::string bot = event->bot;
    inbox_mirror_.added(row, std::move(*event), from_ms(now));
    return bot;
  }

  /// Dead letters newest first: of `bot` (all when empty), with ids below `before` (all when
  /// 0), at most `limit`. One that cannot be read is logged and passed over.
  std::vector<DeadLetter> read_dead_letters(const std::string& bot, std::int64_t before,
                                            std::size_t limit) {
    constexpr std::int64_t kAll = std::numeric_limits<std::int64_t>::max();
    Statement& s = bot.empty()
                       ? statement("SELECT id, event, reply_credential, attempts, reason, "
                                   "accepted_at, dead_at FROM dead_letters "
                                   "WHERE id < ?2 ORDER BY id DESC LIMIT ?3")
                       : statement("SELECT id, event, reply_credential, attempts, reason, "
                                   "accepted_at, dead_at FROM dead_letters "
                                   "WHERE bot = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3");
    Use use(s);
    if (!bot.empty()) s.bind(1, bot);
    // A limit past INT64_MAX wraps to a negative LIMIT, which SQLite reads as none.
    s.bind(2, before == 0 ? kAll : before).bind(3, static_cast<std::int64_t>(limit));
    std::vector<DeadLetter> letters;
    while (s.step() == SQLITE_ROW) {
      const std::int64_t id = s.column_int(0);
      auto event = event_from_json(s.column_text(1));
      if (!event) {
        spdlog::error("store: dead letter {} is unreadable: {}", id, event.error().message());
        continue;
      }
      event->reply_credential =
          open_credential(sealer_, s.column_text(2), "dead letter " + std::to_string(id));
      letters.push_back(DeadLetter{id, std::move(*event), static_cast<int>(s.column_int(3)),
                                   s.column_text(4), from_ms(s.column_int(5)),
                                   from_ms(s.column_int(6))});
    }
    return letters;
  }

  /// Every queued message into the index in memory, without its JSON (read when taken).
  void load_outbox_index() {
    Use s(statement("SELECT id, bot, lane, next_at FROM outbox WHERE state = 0 ORDER BY id"));
    while (s->step() == SQLITE_ROW) {
      outbox_index_.queued(s->column_text(1), s->column_text(2), s->column_int(0),
                           s->column_int(3));
    }
  }

  /// On the database thread: the messages outbox_take gives. Those the index does not keep
  /// whole are read from the table by id; if a read fails, the messages taken are given back
  /// and the error thrown on (nothing is lost: they may be taken again).
  std::vector<OutboxItem> take_outbox(const std::string& bot, std::int64_t now, std::size_t limit,
                                      std::size_t lane_limit) {
    std::vector<OutboxIndex::Taken> taken = outbox_index_.take(bot, now, limit, lane_limit);
    std::vector<OutboxItem> items;
    items.reserve(taken.size());
    try {
      for (OutboxIndex::Taken& one : taken) {
        if (one.item) {
          items.push_back(std::move(*one.item));
          continue;
        }
        ++outbox_rows_read_;
        Use s(statement("SELECT id, message, attempts, reply_credential, stream_text, "
                        "stream_end, stream_progress FROM outbox WHERE id = ?1 AND state = 0"));
        s->bind(1, one.id);
        std::vector<OutboxItem> row = read_outbox_items(*s, sealer_);
        if (row.empty()) {
          // Unreadable (logged) or gone: not given; it stays in the table for the next open.
          outbox_index_.ended(one.id);
          continue;
        }
        items.push_back(std::move(row.front()));
      }
    } catch (...) {
      for (auto it = taken.rbegin(); it != taken.rend(); ++it) outbox_index_.give_back(it->id);
      throw;
    }
    return items;
  }

  /// Group commit of outbox updates (see BatchQueue and drain_writes): a bot that sends to many
  /// chats at once settles them in one transaction.
  asio::awaitable<Result<void>> update_outbox_batched(OutboxUpdate update) {
    return updates_.submit(std::move(update), [this](const auto&) {
      // Nobody waits on an update to go on (a lane records its sends in the background), so
      // updates wait up to kUpdateHold for the next round of accepts and completions, or for
      // each other, instead of taking a commit each.
      asio::post(pool_, [this] {
        update_hold_.expires_after(kUpdateHold);
        update_hold_.async_wait([this](boost::system::error_code) { drain_writes(); });
      });
    });
  }

  /// The updates in one transaction of their own; when it fails, each is written again on its
  /// own, so that one bad update does not fail the others.
  void write_updates_alone(std::vector<UpdateQueue::Pending>& batch) {
    if (batch.empty()) return;
    std::optional<std::string> error =
        in_own_transaction([&] { write_outbox_updates(batch, 0, batch.size()); });
    if (!error) {
      for (auto& pending : batch) {
        update_committed(pending.request);
        (*pending.done)(Result<void>{});
      }
      return;
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (batch.size() > 1) {
        error = in_own_transaction([&] { write_outbox_updates(batch, i, i + 1); });
      }
      Result<void> result;
      if (error) {
        result = Error{errc::store_failed, *error};
      } else {
        update_committed(batch[i].request);
      }
      (*batch[i].done)(std::move(result));
    }
  }

  /// Inside a transaction: updates [first, last) of `batch`.
  void write_outbox_updates(const std::vector<UpdateQueue::Pending>& batch, std::size_t first,
                            std::size_t last) {
    for (std::size_t i = first; i < last; ++i) {
      const OutboxUpdate& u = batch[i].request;
      update_outbox(u.id, u.state, u.next_at, u.error, u.platform_id, true);
    }
  }

  std::string path_;
  const crypto::Sealer sealer_;  // of reply credentials
  WalSyncAhead wal_sync_{path_ + "-wal", kCheckpointFrames};
  // Store::upkeep. A step of a merge or a purge is timed with its commit, and so with a
  // checkpoint that commit ran: that checkpoint counts in both.
  UpkeepMeter checkpoints_{"checkpoint"};
  UpkeepMeter merges_{"dedup_merge"};
  UpkeepMeter outbox_purges_{"outbox_purge"};
  UpkeepMeter event_purges_{"event_purge"};
  sqlite3* db_ = nullptr;
  std::unique_ptr<Statements> statements_;
  std::unique_ptr<SqliteDedup> dedup_;
  std::unique_ptr<OutboxPurge> purge_;
  bool purge_scheduled_ = false;  // database thread only
  std::unique_ptr<EventLogPurge> event_purge_;
  bool event_purge_scheduled_ = false;  // database thread only
  std::int64_t next_cursor_ = 1;  // database thread only: the next event log cursor
  /// Guards the event log's listener and the last cursor it was told (watch_events runs on any
  /// thread; the database thread tells it after each commit of accepts).
  std::mutex listener_mutex_;
  EventLogListener listener_;
  std::int64_t told_cursor_ = 0;
  InboxMirror inbox_mirror_;
  OutboxIndex outbox_index_;  // locks itself: taken from on the runtime's thread
  std::atomic<std::uint64_t> outbox_rows_read_{0};
  /// Inbox rows given out by inbox_take and not completed yet (database thread only).
  std::unordered_set<std::int64_t> taken_;
  bool merge_scheduled_ = false;  // database thread only
  std::uint64_t reply_refs_kept_ = 0;  // database thread only
  bool in_transaction_ = false;
  std::atomic<std::uint64_t> commits_{0};
  AcceptQueue accepts_;
  CompletionQueue completions_;
  UpdateQueue updates_;
  PushQueue pushes_;
  asio::thread_pool pool_{1};  // the database thread: the only one that touches db_
  asio::steady_timer update_hold_{pool_};  // database thread only
};

SqliteStore::SqliteStore(const std::string& path, SqliteStoreOptions options)
    : impl_(std::make_unique<Impl>(path, options)) {}
SqliteStore::~SqliteStore() = default;

std::vector<StoreUpkeep> SqliteStore::upkeep() const { return impl_->upkeep(); }

std::uint64_t SqliteStore::commits() const noexcept {
  return impl_->commits_.load(std::memory_order_relaxed);
}

std::uint64_t SqliteStore::outbox_purges() const noexcept { return impl_->purge_->passes(); }
std::uint64_t SqliteStore::outbox_purged() const noexcept { return impl_->purge_->deleted(); }
std::uint64_t SqliteStore::wal_syncs_ahead() const noexcept { return impl_->wal_sync_.syncs(); }
std::uint64_t SqliteStore::outbox_rows_read() const noexcept {
  return impl_->outbox_rows_read_.load(std::memory_order_relaxed);
}

asio::awaitable<Result<bool>> SqliteStore::accept(Event event, std::vector<std::string> keys,
                                                  std::chrono::seconds ttl) {
  co_return co_await impl_->accept_batched(std::move(event), std::move(keys), ttl);
}

asio::awaitable<Result<bool>> SqliteStore::accept_handled(Event event,
                                                          std::vector<std::string> keys,
                                                          std::chrono::seconds ttl,
                                                          std::vector<OutgoingMessage> replies) {
  co_return co_await impl_->accept_batched(std::move(event), std::move(keys), ttl,
                                           std::move(replies));
}

asio::awaitable<Result<std::vector<InboxItem>>> SqliteStore::inbox_pending(std::string bot,
                                                                           std::size_t limit) {
  co_return co_await impl_->run([&]() -> Result<std::vector<InboxItem>> {
    static const std::unordered_set<std::int64_t> kNone;
    if (auto mirrored = impl_->inbox_mirror_.pending(bot, limit, kNone)) {
      return std::move(*mirrored);
    }
    return impl_->read_inbox(bot, limit, kNone);
  });
}

asio::awaitable<Result<std::vector<InboxItem>>> SqliteStore::inbox_take(std::string bot,
                                                                        std::size_t limit) {
  co_return co_await impl_->run([&]() -> Result<std::vector<InboxItem>> {
    auto& taken = impl_->taken_;
    std::vector<InboxItem> items;
    if (auto mirrored = impl_->inbox_mirror_.pending(bot, limit, taken)) {
      items = std::move(*mirrored);
    } else {
      items = impl_->read_inbox(bot, limit, taken);
    }
    for (const InboxItem& item : items) taken.insert(item.id);
    return items;
  });
}

asio::awaitable<Result<void>> SqliteStore::inbox_complete(std::vector<InboxCompletion> done) {
  co_return co_await impl_->completions_.submit(
      std::move(done), [this](const auto& caller) { impl_->schedule_writes(caller); });
}

asio::awaitable<Result<void>> SqliteStore::inbox_retry(std::int64_t inbox_id, std::string error) {
  co_return co_await impl_->run([&]() -> Result<void> {
    impl_->retry_inbox(inbox_id, error);
    return {};
  });
}

asio::awaitable<Result<std::int64_t>> SqliteStore::inbox_dead_letter(std::int64_t inbox_id,
                                                                     std::string reason) {
  co_return co_await impl_->run([&]() -> Result<std::int64_t> {
    const std::int64_t id = impl_->move_to_dead_letters(inbox_id, reason);
    if (id == 0) return Error{errc::not_found, "no inbox item " + std::to_string(inbox_id)};
    return id;
  });
}

asio::awaitable<Result<std::vector<DeadLetter>>> SqliteStore::dead_letters(std::string bot,
                                                                           std::int64_t before,
                                                                           std::size_t limit) {
  co_return co_await impl_->run([&]() -> Result<std::vector<DeadLetter>> {
    return impl_->read_dead_letters(bot, before, limit);
  });
}

asio::awaitable<Result<std::optional<std::string>>> SqliteStore::dead_letter_retry(
    std::int64_t id) {
  co_return co_await impl_->run([&]() -> Result<std::optional<std::string>> {
    return impl_->move_back_to_inbox(id);
  });
}

asio::awaitable<Result<bool>> SqliteStore::dead_letter_discard(std::int64_t id) {
  co_return co_await impl_->run([&]() -> Result<bool> {
    Use s(impl_->statement("DELETE FROM dead_letters WHERE id = ?1"));
    s->bind(1, id);
    impl_->check(s->step(), "discard dead letter");
    return sqlite3_changes(impl_->db_) > 0;
  });
}

asio::awaitable<Result<std::vector<LoggedEvent>>> SqliteStore::events_after(
    std::int64_t after, EventFilter filter, std::size_t limit) {
  co_return co_await impl_->run([&]() -> Result<std::vector<LoggedEvent>> {
    // Empty filter fields match everything: one statement for every combination.
    Use s(impl_->statement(
        "SELECT cursor, bot, platform, chat, event FROM events WHERE cursor > ?1 "
        "AND (?2 = '' OR bot = ?2) AND (?3 = '' OR platform = ?3) AND (?4 = '' OR chat = ?4) "
        "ORDER BY cursor LIMIT ?5"));
    s->bind(1, after).bind(2, filter.bot).bind(3, filter.platform).bind(4, filter.chat);
    s->bind(5, static_cast<std::int64_t>(limit));
    std::vector<LoggedEvent> events;
    int rc = SQLITE_ROW;
    while ((rc = s->step()) == SQLITE_ROW) {
      events.push_back(LoggedEvent{s->column_int(0), s->column_text(1), s->column_text(2),
                                   s->column_text(3), s->column_text(4)});
    }
    impl_->check(rc, "read the event log");
    return events;
  });
}

std::int64_t SqliteStore::watch_events(EventLogListener listener) {
  std::lock_guard lock(impl_->listener_mutex_);
  impl_->listener_ = std::move(listener);
  return impl_->told_cursor_;
}

std::uint64_t SqliteStore::events_purged() const noexcept { return impl_->event_purge_->deleted(); }

asio::awaitable<Result<std::optional<Event>>> SqliteStore::reply_ref(std::string event_id) {
  co_return co_await impl_->run([&]() -> Result<std::optional<Event>> {
    Use s(impl_->statement(
        "SELECT event, reply_credential FROM reply_refs WHERE event_id = ?1 AND expires_at > ?2"));
    s->bind(1, event_id).bind(2, now_ms());
    if (s->step() != SQLITE_ROW) return std::optional<Event>{};
    auto event = event_from_json(s->column_text(0));
    if (!event) return event.error();
    event->reply_credential =
        open_credential(impl_->sealer_, s->column_text(1), "reply reference " + event_id);
    return std::optional<Event>{std::move(*event)};
  });
}

asio::awaitable<Result<std::int64_t>> SqliteStore::outbox_push(OutgoingMessage message) {
  co_return co_await impl_->run([&]() -> Result<std::int64_t> {
    const std::int64_t now = now_ms();
    const std::int64_t id = impl_->push(message, now);
    std::string lane = message.lane();
    std::string bot = message.bot;
    impl_->outbox_index_.queued(bot, lane, id, now, OutboxItem{id, std::move(message), 0});
    return id;
  });
}

asio::awaitable<Result<OutboxPushed>> SqliteStore::outbox_push_message(
    std::vector<OutgoingMessage> parts, std::string client_key) {
  if (parts.empty()) co_return Error{errc::invalid_argument, "a message with no parts"};
  for (const OutgoingMessage& part : parts) {
    if (part.bot != parts.front().bot) {
      co_return Error{errc::invalid_argument, "the parts of one message are of several bots"};
    }
  }
  // The look-up and the insert run on the database thread, the only one that writes, in
  // queue order: a second call with the same key finds the first, also in the same commit.
  // Named first: GCC 12 miscompiles an aggregate temporary inside a co_await (STYLE.md 4.3).
  Impl::OutboxPush push{std::move(parts), std::move(client_key)};
  co_return co_await impl_->push_batched(std::move(push));
}

asio::awaitable<Result<std::vector<OutboxItem>>> SqliteStore::outbox_take(std::string bot,
                                                                          SystemTime now,
                                                                          std::size_t limit,
                                                                          std::size_t lane_limit) {
  // What the index keeps whole is taken here, on the caller's thread: in a flood the database
  // thread runs one round of accepts after another, and a reply must not wait for a round to
  // go out. Only messages that must be read from the table go to the database thread.
  const std::int64_t now_at = to_ms(now);
  OutboxIndex::Kept kept = impl_->outbox_index_.take_kept(bot, now_at, limit, lane_limit);
  if (kept.complete) co_return std::move(kept.items);
  const std::size_t rest_limit = limit - kept.items.size();
  auto rest = co_await impl_->run([&]() -> Result<std::vector<OutboxItem>> {
    return impl_->take_outbox(bot, now_at, rest_limit, lane_limit);
  });
  if (!rest) {
    // Those taken are given, or they would stay taken until a restart; the rest is tried at
    // the next take.
    if (!kept.items.empty()) {
      spdlog::warn("store: bot {}: outbox messages not read, taken again later: {}", bot,
                   rest.error().message());
      co_return std::move(kept.items);
    }
    co_return rest.error();
  }
  for (OutboxItem& item : *rest) kept.items.push_back(std::move(item));
  co_return std::move(kept.items);
}

asio::awaitable<Result<std::optional<SystemTime>>> SqliteStore::outbox_next_due(std::string bot) {
  if (auto next = impl_->outbox_index_.next_due(bot)) {
    co_return std::optional<SystemTime>{from_ms(*next)};
  }
  co_return std::optional<SystemTime>{};
}

asio::awaitable<Result<QueueDepth>> SqliteStore::queue_depth(std::string bot) {
  co_return co_await impl_->run([&]() -> Result<QueueDepth> {
    Use s(impl_->statement("SELECT (SELECT COUNT(*) FROM inbox WHERE bot = ?1), "
                           "(SELECT COUNT(*) FROM outbox WHERE bot = ?1 AND state = 0), "
                           "(SELECT COUNT(*) FROM dead_letters WHERE bot = ?1)"));
    s->bind(1, bot);
    QueueDepth depth;
    if (s->step() == SQLITE_ROW) {
      depth.inbox = s->column_int(0);
      depth.outbox = s->column_int(1);
      depth.dead_letters = s->column_int(2);
    }
    return depth;
  });
}

asio::awaitable<Result<void>> SqliteStore::outbox_sent(std::int64_t id, std::string platform_id) {
  Impl::OutboxUpdate update{id, kSent, 0, "", std::move(platform_id)};
  co_return co_await impl_->update_outbox_batched(std::move(update));
}

asio::awaitable<Result<void>> SqliteStore::outbox_retry(std::int64_t id, SystemTime next_attempt,
                                                        std::string error) {
  Impl::OutboxUpdate update{id, kQueued, to_ms(next_attempt), std::move(error), ""};
  co_return co_await impl_->update_outbox_batched(std::move(update));
}

asio::awaitable<Result<void>> SqliteStore::outbox_failed(std::int64_t id, std::string error) {
  Impl::OutboxUpdate update{id, kFailed, 0, std::move(error), ""};
  co_return co_await impl_->update_outbox_batched(std::move(update));
}

// A streamed message's text and progress are read from the table when it is taken after a
// restart; within one run the runtime holds the live text itself (core/stream_hub), so the copy
// the index keeps of a message queued in this run need not follow.
asio::awaitable<Result<void>> SqliteStore::outbox_stream_text(std::int64_t id, std::string text,
                                                              StreamEnd end) {
  co_return co_await impl_->run([&]() -> Result<void> {
    Use s(impl_->statement(
        "UPDATE outbox SET stream_text = ?2, stream_end = ?3 WHERE id = ?1 AND state = 0"));
    s->bind(1, id).bind(2, text).bind(3, static_cast<std::int64_t>(end));
    impl_->check(s->step(), "store a stream's text");
    return {};
  });
}

asio::awaitable<Result<void>> SqliteStore::outbox_stream_progress(std::int64_t id,
                                                                  std::string progress) {
  co_return co_await impl_->run([&]() -> Result<void> {
    Use s(impl_->statement("UPDATE outbox SET stream_progress = ?2 WHERE id = ?1 AND state = 0"));
    s->bind(1, id).bind(2, progress);
    impl_->check(s->step(), "store a stream's progress");
    return {};
  });
}

asio::awaitable<Result<std::optional<OutboxStatus>>> SqliteStore::outbox_status(std::int64_t id) {
  co_return co_await impl_->run([&]() -> Result<std::optional<OutboxStatus>> {
    // The message's first part, then its later ones (first_part names it), in queue order.
    Use s(impl_->statement(
        "SELECT id, state, attempts, last_error, platform_message_id, bot, message, stream_end "
        "FROM outbox WHERE id = ?1 UNION ALL SELECT id, state, attempts, last_error, "
        "platform_message_id, bot, NULL, NULL FROM outbox WHERE first_part = ?1 ORDER BY id"));
    s->bind(1, id);
    std::vector<StoredPart> rows;
    std::string first_message;
    StreamEnd stream_end = StreamEnd::open;
    while (s->step() == SQLITE_ROW) {
      StoredPart row;
      row.part.id = s->column_int(0);
      const auto state = s->column_int(1);
      row.part.state = state == kSent     ? OutboxState::sent
                       : state == kFailed ? OutboxState::failed
                                          : OutboxState::queued;
      row.attempts = static_cast<int>(s->column_int(2));
      row.last_error = s->column_text(3);
      row.part.platform_message_id = s->column_text(4);
      row.bot = s->column_text(5);
      if (row.part.id == id) {
        first_message = s->column_text(6);
        stream_end = static_cast<StreamEnd>(s->column_int(7));
      }
      rows.push_back(std::move(row));
    }
    if (rows.empty() || rows.front().part.id != id) return std::optional<OutboxStatus>{};
    auto message = outgoing_from_json(first_message);
    if (!message) return message.error();
    OutboxStatus status = message_status(std::move(rows), *message);
    if (message->stream) status.stream = stream_end;
    return std::optional<OutboxStatus>{std::move(status)};
  });
}

asio::awaitable<Result<std::optional<CachedToken>>> SqliteStore::token_get(std::string key) {
  co_return co_await impl_->run([&]() -> Result<std::optional<CachedToken>> {
    Use s(impl_->statement("SELECT value, expires_at FROM tokens WHERE key = ?1"));
    s->bind(1, key);
    if (s->step() != SQLITE_ROW) return std::optional<CachedToken>{};
    return std::optional<CachedToken>{CachedToken{s->column_text(0), from_ms(s->column_int(1))}};
  });
}

asio::awaitable<Result<void>> SqliteStore::token_put(std::string key, CachedToken token) {
  co_return co_await impl_->run([&]() -> Result<void> {
    Use s(impl_->statement(
        "INSERT OR REPLACE INTO tokens (key, value, expires_at) VALUES (?1, ?2, ?3)"));
    s->bind(1, key).bind(2, token.value).bind(3, to_ms(token.expires_at));
    impl_->check(s->step(), "store token");
    return {};
  });
}

asio::awaitable<Result<void>> SqliteStore::token_erase(std::string key) {
  co_return co_await impl_->run([&]() -> Result<void> {
    Use s(impl_->statement("DELETE FROM tokens WHERE key = ?1"));
    s->bind(1, key);
    impl_->check(s->step(), "erase token");
    return {};
  });
}

asio::awaitable<Result<std::vector<std::int64_t>>> SqliteStore::id_numbers(
    std::string bot, std::vector<IdKey> keys) {
  co_return co_await impl_->run([&]() -> Result<std::vector<std::int64_t>> {
    std::vector<std::int64_t> numbers;
    numbers.reserve(keys.size());
    impl_->begin();
    for (const auto& key : keys) {
      const auto kind = static_cast<std::int64_t>(key.kind);
      std::optional<std::int64_t> number;
      std::string kept;
      {
        Use s(impl_->statement(
            "SELECT number, context FROM id_map WHERE bot = ?1 AND kind = ?2 AND "
            "platform_id = ?3"));
        s->bind(1, bot).bind(2, kind).bind(3, key.platform_id);
        if (s->step() == SQLITE_ROW) {
          number = s->column_int(0);
          kept = s->column_text(1);
        }
      }
      if (!number) {
        Use s(impl_->statement(
            "INSERT INTO id_map (bot, kind, platform_id, context) VALUES (?1, ?2, ?3, ?4)"));
        s->bind(1, bot).bind(2, kind).bind(3, key.platform_id).bind(4, key.context);
        impl_->check(s->step(), "map an id");
        number = impl_->statements_->last_insert_rowid();
        if (*number > kMaxMappedId) throw std::runtime_error("the id map is out of numbers");
      } else if (!key.context.empty() && key.context != kept) {
        Use s(impl_->statement("UPDATE id_map SET context = ?2 WHERE number = ?1"));
        s->bind(1, *number).bind(2, key.context);
        impl_->check(s->step(), "update an id's context");
      }
      numbers.push_back(*number);
    }
    impl_->commit();
    return numbers;
  });
}

asio::awaitable<Result<std::optional<IdEntry>>> SqliteStore::id_entry(std::string bot,
                                                                      IdKind kind,
                                                                      std::int64_t number) {
  co_return co_await impl_->run([&]() -> Result<std::optional<IdEntry>> {
    Use s(impl_->statement(
        "SELECT platform_id, context FROM id_map WHERE number = ?1 AND bot = ?2 AND kind = ?3"));
    s->bind(1, number).bind(2, bot).bind(3, static_cast<std::int64_t>(kind));
    if (s->step() != SQLITE_ROW) return std::optional<IdEntry>{};
    return std::optional<IdEntry>{IdEntry{s->column_text(0), s->column_text(1)}};
  });
}

asio::awaitable<Result<std::optional<GatewaySession>>> SqliteStore::session_get(std::string key) {
  co_return co_await impl_->run([&]() -> Result<std::optional<GatewaySession>> {
    Use s(impl_->statement(
        "SELECT session_id, sequence, resume_url, user_id FROM sessions WHERE key = ?1"));
    s->bind(1, key);
    if (s->step() != SQLITE_ROW) return std::optional<GatewaySession>{};
    GatewaySession session;
    session.session_id = s->column_text(0);
    session.sequence = s->column_int(1);
    session.resume_url = s->column_text(2);
    session.user_id = s->column_text(3);
    return std::optional<GatewaySession>{std::move(session)};
  });
}

asio::awaitable<Result<void>> SqliteStore::session_put(std::string key, GatewaySession session) {
  co_return co_await impl_->run([&]() -> Result<void> {
    if (session.session_id.empty()) {
      Use s(impl_->statement("DELETE FROM sessions WHERE key = ?1"));
      s->bind(1, key);
      impl_->check(s->step(), "clear gateway session");
      return {};
    }
    Use s(impl_->statement(
        "INSERT OR REPLACE INTO sessions (key, session_id, sequence, resume_url, user_id, "
        "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
    s->bind(1, key)
        .bind(2, session.session_id)
        .bind(3, session.sequence)
        .bind(4, session.resume_url)
        .bind(5, session.user_id)
        .bind(6, to_ms(std::chrono::system_clock::now()));
    impl_->check(s->step(), "store gateway session");
    return {};
  });
}

asio::awaitable<Result<std::optional<Lease>>> SqliteStore::lease_acquire(
    std::string name, std::string holder, std::chrono::milliseconds ttl) {
  co_return leases_.acquire(name, holder, ttl);
}

asio::awaitable<Result<bool>> SqliteStore::lease_renew(std::string name, std::string holder,
                                                std::int64_t epoch,
                                                std::chrono::milliseconds ttl) {
  co_return leases_.renew(name, holder, epoch, ttl);
}

asio::awaitable<Result<void>> SqliteStore::lease_release(std::string name, std::string holder,
                                                  std::int64_t epoch) {
  leases_.release(name, holder, epoch);
  co_return Result<void>{};
}

asio::awaitable<Result<std::size_t>> SqliteStore::presence(std::string group, std::string member,
                                                           std::chrono::milliseconds ttl) {
  co_return leases_.presence(group, member, ttl);
}

asio::awaitable<Result<std::optional<std::chrono::milliseconds>>> SqliteStore::rate_take(
    std::string key, std::size_t limit, std::chrono::milliseconds window) {
  co_return rates_.take(key, limit, window);
}

asio::awaitable<Result<void>> SqliteStore::rate_hold(std::string key,
                                                     std::chrono::milliseconds duration) {
  rates_.hold(key, duration);
  co_return Result<void>{};
}

}  // namespace botgate::store

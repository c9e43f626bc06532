#pragma once
// The postgres sink: typed rows into PostgreSQL tables oura.<stream> (see README.md and
// statements.hpp for the table conventions), one transaction per batch, upserts that leave
// unchanged rows untouched, sample streams replaced per document, deletions marked, the sync
// state committed with the rows, and a per-account run lock (a session advisory lock).

#include <cstdint>
#include <map>
#include <memory>
#include <oura_sdk/sink.hpp>
#include <set>
#include <string>
#include <vector>

#include "pg_connection.hpp"
#include "pg_settings.hpp"

namespace oura::plugins::postgres {

/// The advisory-lock key of an account's run lock: FNV-1a 64 of "oura-collector:" + account,
/// as a signed bigint (stable across builds and platforms).
std::int64_t runLockKey(const std::string& account);

/// See README.md.
class PostgresSink : public sdk::SinkPlugin {
 public:
  static sdk::ConfigSchema configSchema();
  /// Validates the configuration; connects to nothing. @throws sdk::ConfigError.
  explicit PostgresSink(const sdk::PluginContext& context);
  ~PostgresSink() override;

  /// Connects, checks that the tables of every stream of `collections` exist with the
  /// expected columns, and takes the run lock of `account` (unless `lock = false`).
  /// @throws sdk::UnavailableError (unreachable: names host:port), sdk::ConfigError (no
  /// schema, or a table or column missing: "run `oura-collector init-db`"),
  /// sdk::RunLockedError (another session holds the account's lock: names its pid).
  void open(const std::string& account,
            const std::vector<const sdk::CollectionSpec*>& collections) override;
  /// One transaction. Holds the batch account's run lock (taken again after a reconnect, or
  /// here first when open() was not called for that account).
  /// @throws sdk::RunLockedError when another session holds the account's run lock; every
  /// data or connection problem is an outcome (RetryLater / Failed), never an exception.
  sdk::SinkOutcome write(const sdk::SinkBatch& batch) override;
  /// From oura.sync_state. Holds the account's run lock like write().
  /// @throws sdk::UnavailableError, sdk::RunLockedError, sdk::Error.
  void rememberBackfill(const std::string& account, const std::string& collection,
                        const sdk::DayWindow& days) override;
  std::optional<sdk::DayWindow> pendingBackfill(const std::string& account,
                                                const std::string& collection) override;
  std::optional<std::string> syncedThrough(const std::string& account,
                                           const std::string& collection) override;
  /// Releases the run locks and disconnects.
  void close() override;

  /// One statement (so one transaction): a row of oura.runs and one of oura.run_collections
  /// per collection. Reconnects when the connection was lost since the last batch, and tries
  /// once more after a connection lost during the statement; a run already recorded (same
  /// account, command and start) is not recorded twice. Takes no run lock.
  /// @throws sdk::UnavailableError (unreachable), sdk::ConfigError (no run log table: "run
  /// `oura-collector init-db`"), sdk::Error (any other failure; nothing recorded).
  void recordRun(const sdk::RunRecord& run) override;
  /// From oura.sync_state, oura.runs and oura.run_collections; takes no run lock.
  /// @throws sdk::UnavailableError, sdk::ConfigError (tables missing), sdk::Error.
  std::optional<std::vector<sdk::CollectionStatus>> status(const std::string& account) override;

  /// One statement over the daily tables and the main sleep (type long_sleep) of each day;
  /// takes no run lock. @throws sdk::UnavailableError, sdk::ConfigError (tables missing),
  /// sdk::Error.
  std::optional<std::vector<sdk::DaySummary>> daySummaries(const std::string& account,
                                                           const std::string& first_day,
                                                           const std::string& last_day) override;
  std::vector<int> migrate(const std::vector<sdk::Migration>& migrations) override;
  std::optional<int> schemaVersion() override;
  /// Takes the account's run lock, then deletes from every table of schema oura that has an
  /// account column (stream tables, sync_state, runs and run_collections), in one transaction.
  std::uint64_t purge(const std::string& account) override;
  /// Keyset pagination, 500 documents a statement, by the day column then the key: nothing
  /// is open on the connection while `on_document` runs, so it may write through this sink.
  bool readRejected(const std::string& account, const sdk::CollectionSpec& collection,
                    const std::function<void(const sdk::RejectedDocument&)>& on_document) override;
  bool readRaw(const std::string& account, const sdk::CollectionSpec& collection,
               const std::function<void(const std::string& raw)>& on_document) override;

  /// The settings the instance connects with (for tests and `plugins describe`).
  const ConnectionSettings& settings() const { return settings_; }

 private:
  // After migrate(): compares schema oura with what the migrations build (built in a rolled-back
  // transaction, oura renamed aside), re-creates what is missing (every migration again: IF NOT
  // EXISTS throughout), and throws sdk::ConfigError naming what still differs.
  void verifyAndRepair(Connection& c, const std::vector<sdk::Migration>& migrations,
                       const std::string& lock);
  /// Connects when not connected (after a lost connection: again, and forgets its locks).
  /// @throws sdk::UnavailableError.
  Connection& connection();
  void disconnect() noexcept;
  /// Takes the account's run lock on this session unless held already or `lock = false`.
  /// @throws sdk::RunLockedError, PgError.
  void lockAccount(const std::string& account);
  sdk::SinkOutcome writeBatch(const sdk::SinkBatch& batch);
  /// Creates the session's staging table of `stream` unless done (outside any transaction).
  /// Returns false, and turns staging off for the session, when the role may not create
  /// temporary tables (the batches then bind their rows as JSON). @throws PgError.
  bool ensureStaging(Connection& c, const sdk::StreamSchema& stream);
  /// Finds the row holding a value that does not fit its column: first one whose jsonb value
  /// is not JSON (`reason` says so), else by bisection, casting without writing. Returns its key
  /// for the message, or "" when none is found.
  std::string locateBadValue(const sdk::StreamSchema& stream, const std::vector<sdk::Row>& rows,
                             const std::vector<std::size_t>& which, std::string& reason);
  [[noreturn]] void throwUnavailable(const std::string& what, const PgError& e) const;

  sdk::Logger logger_;
  ConnectionSettings settings_;
  bool lock_ = true;
  std::unique_ptr<Connection> connection_;
  std::set<std::string> locked_accounts_;  // run locks held by the current session
  bool staging_ = true;                    // false: the role may not create temp tables
  std::set<std::string> staged_;           // streams whose staging table the session has
  // Per stream: whether the next batch is first COPYed straight into the table (its last
  // batch's rows were all new); a key that exists already turns it off until a batch is new.
  std::map<std::string, bool> copy_first_;
  int former_pid_ = 0;  // the server pid of the last session lost (its lock may linger)
};

}  // namespace oura::plugins::postgres

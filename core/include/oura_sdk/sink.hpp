#pragma once
/// @file sink.hpp
/// Sink plugins: where rows go. A sink receives typed rows in batches (one batch = one fetched
/// window or page of one collection, with all its streams) and answers each batch with an
/// explicit outcome.

#include <oura_sdk/endpoint.hpp>
#include <oura_sdk/plugin.hpp>
#include <oura_sdk/rows.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace oura::sdk {

/// The days a batch covers, inclusive, as "YYYY-MM-DD". Empty strings for snapshots.
struct DayWindow {
  std::string first_day;
  std::string last_day;
};

/// One unit of work for a sink: write it all or nothing.
struct SinkBatch {
  std::string account;               ///< account label from the manifest
  const CollectionSpec* collection = nullptr;  ///< owned by the endpoint plugin
  DayWindow window;                  ///< the days these rows were fetched for
  /// True when `streams` holds every document of `window` (the whole window fetched to the last
  /// page): a sink that tracks deletions may treat rows of the window absent here as deleted.
  bool window_complete = false;
  /// When `window_complete`: the key values (in `streams[0].schema->primary_key` order, without
  /// the account) of EVERY document fetched for `window`, across all the batches of that window
  /// (a window's rows may arrive in several batches; this is the last). Rows of the window's
  /// days (judged by the collection's `day_field` column) whose key is not listed here are gone
  /// upstream. Empty `window.first_day` (snapshots): the whole collection of the account.
  std::vector<Row> window_document_keys;
  /// When set, the sink records that the collection is synced through this day in the same
  /// transaction as the rows ("YYYY-MM-DD").
  std::optional<std::string> synced_through;
  std::vector<StreamRows> streams;   ///< one entry per stream of the collection, same order
};

/// One numbered schema migration, from the `sql/` folder: `NNN_name.sql`.
struct Migration {
  int version = 0;   ///< NNN, from 1, no gaps
  std::string name;  ///< the file name, e.g. "001_init.sql"
  std::string sql;   ///< the file's statements, run as one transaction
};

/// What the sink did with a batch.
struct SinkOutcome {
  enum class Status {
    Done,        ///< written (and committed)
    RetryLater,  ///< nothing written; a transient failure (connection lost): the core may retry
    Failed,      ///< nothing written; retrying will not help (schema mismatch, constraint)
  };
  Status status = Status::Done;
  std::string message;          ///< for RetryLater / Failed: what went wrong, no secrets
  std::uint64_t inserted = 0;   ///< rows that did not exist before
  std::uint64_t updated = 0;    ///< rows whose content changed
};

/// Base class of sink plugins. The core calls one sink from one thread at a time.
class SinkPlugin : public Plugin {
 public:
  ~SinkPlugin() override;

  /// Called once before the first batch with every collection the run will fetch.
  /// May connect; the run stops before fetching anything when it throws.
  /// @param account the account label of the run (the manifest's `collector.account`); a sink
  ///   that guards runs takes the account's run lock here.
  /// @throws UnavailableError (the destination cannot be reached: exit 69), RunLockedError
  ///   (another run holds the account's lock: exit 75), ConfigError (e.g. the schema is behind:
  ///   exit 78), Error (any other reason the destination is unusable).
  virtual void open(const std::string& account,
                    const std::vector<const CollectionSpec*>& collections);

  /// Writes one batch. Must not throw for data or connection problems: answer with an outcome.
  virtual SinkOutcome write(const SinkBatch& batch) = 0;

  /// The last day recorded as synced for (account, collection), or nothing when unknown (a sink
  /// without state, or a first run). The core starts an incremental run from this day minus the
  /// overlap.
  virtual std::optional<std::string> syncedThrough(const std::string& account,
                                                   const std::string& collection);

  /// Called once after the last batch (also after an interrupted run). Flushes and disconnects.
  virtual void close();

  // --- Sinks that keep a schema and stored data (PostgreSQL). The defaults say "none". ---

  /// Applies, in order, every migration whose version is not yet recorded as applied, each in
  /// its own transaction together with its record; stops at the first failure (earlier ones
  /// stay applied). Returns the versions applied now (empty: already up to date).
  /// The default (a sink without a schema) applies nothing.
  /// @throws UnavailableError when the destination cannot be reached; Error when one fails.
  virtual std::vector<int> migrate(const std::vector<Migration>& migrations);

  /// The highest migration version applied, or nothing for a sink without a schema.
  /// 0 means "reachable, but no migration applied yet".
  /// @throws UnavailableError when the destination cannot be reached.
  virtual std::optional<int> schemaVersion();

  /// Deletes every row and the sync state of `account`, in one transaction.
  /// @return rows deleted. @throws Error when the sink keeps nothing (the default) or it fails.
  virtual std::uint64_t purge(const std::string& account);

  /// Calls `on_document` with the stored raw document (JSON text) of every row of the document
  /// stream of `collection` for `account` that is not marked deleted, oldest first. Holds
  /// nothing open while it calls back: the callback may `write()` to this same sink (reprocess
  /// does), and may throw, which ends the read and propagates.
  /// @return false when the sink cannot read back (the default; stdout).
  /// @throws Error when reading fails.
  virtual bool readRaw(const std::string& account, const CollectionSpec& collection,
                       const std::function<void(const std::string& raw)>& on_document);
};

}  // namespace oura::sdk

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

/// A document the core could not turn into rows (not JSON, not an object, its key missing or too
/// long for an index, ...): quarantined, so the rest of its window lands and the sync state
/// advances. A sink with a dead-letter store (PostgreSQL: `oura.rejected_documents`) keeps it
/// with the batch; `reprocess --rejected` tries it again after an upgrade.
struct RejectedDocument {
  std::string key;     ///< the document's id (or "of <day>") for people, "" when it has none
  std::string reason;  ///< why it was rejected, printable (no control characters)
  std::string raw;     ///< the bytes the server sent (may be invalid UTF-8, may hold NUL)
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
  /// transaction as the rows ("YYYY-MM-DD"). A sink that remembers backfills
  /// (rememberBackfill) also shrinks the collection's pending backfill in that transaction: when
  /// `window.first_day` is at or before the pending range's first day, the days through
  /// `synced_through` have landed, and the range starts the day after (it is forgotten once
  /// nothing of it is left).
  std::optional<std::string> synced_through;
  std::vector<StreamRows> streams;   ///< one entry per stream of the collection, same order
  /// Documents of this batch's collection quarantined since the last batch; a sink with a
  /// dead-letter store keeps them in the same transaction as the rows (others ignore them: the
  /// core has logged each).
  std::vector<RejectedDocument> rejected;
  /// `reprocess --rejected`: the raw bytes of earlier rejected documents that now mapped (their
  /// rows are in `streams`); the sink removes them from its dead-letter store in the same
  /// transaction.
  std::vector<std::string> accepted_rejections;
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

/// One collection's part of a finished run, as the core's run summary counts it (the same
/// fields as an entry of `--summary-json`'s `collections`, docs/operations.md "Run summary").
/// Counts are for the whole run; `inserted`/`updated` are what every sink of the run reported,
/// added up.
struct RunCollectionRecord {
  std::string collection;  ///< Oura collection name, e.g. "daily_sleep", "vO2_max"
  std::string endpoint;    ///< the endpoint plugin instance that serves it
  /// The window asked for, inclusive, "YYYY-MM-DD"; both "" for snapshots, full re-fetches and
  /// `reprocess` (no window).
  std::string first_day;
  std::string last_day;
  std::uint64_t requests = 0;   ///< HTTP requests sent to the Oura API (every attempt counts)
  std::uint64_t retries = 0;    ///< of those, attempts after the first
  std::uint64_t pages = 0;      ///< response pages read
  std::uint64_t documents = 0;  ///< documents kept (inside the window) and mapped
  std::uint64_t rows = 0;       ///< rows of all streams handed to the sinks
  std::uint64_t inserted = 0;   ///< rows the sinks inserted (did not exist before)
  std::uint64_t updated = 0;    ///< rows the sinks updated (content changed)
  std::uint64_t skipped = 0;    ///< documents that could not be mapped
  std::uint64_t rejected = 0;   ///< of those, quarantined (SinkBatch::rejected)
  std::uint64_t replaced = 0;   ///< `\u0000` escapes stored as U+FFFD
  std::uint64_t warnings = 0;   ///< lenient-parsing warnings (absent required key, wrong type)
  /// One word: "ok", "failed", "not_authorised", "upgrade_required", "login_needed",
  /// "interrupted".
  std::string outcome;
  std::string message;  ///< what failed or was skipped and what to do; usually "" when ok
};

/// A finished `scrape` or `reprocess` (also an interrupted one), handed to every sink by
/// SinkPlugin::recordRun() just before the sinks are closed. Runs that stop before the sinks
/// are opened (usage, configuration, no token, a sink unreachable) are not recorded.
struct RunRecord {
  std::string account;  ///< the account label of the run (as in SinkBatch::account)
  std::string command;  ///< "scrape" or "reprocess"
  std::int64_t started_at_ms = 0;   ///< when the run started, milliseconds since the Unix epoch (UTC)
  std::int64_t finished_at_ms = 0;  ///< when it finished, milliseconds since the Unix epoch (UTC)
  int exit_code = 0;  ///< the program's exit code for the run (docs/DESIGN.md "Exit codes")
  /// `exit_code` as one word: "ok" (0), "partial" (1), "unavailable" (69), "interrupted" (75),
  /// "login_needed" (77), "config" (78), "usage" (64), "internal" (anything else).
  std::string outcome;
  /// "" for a run whose every collection ended ok; otherwise one line per collection that did
  /// not ("collection: message"), so the run row alone says what went wrong.
  std::string error;
  std::string program_version;  ///< the oura-collector version that ran, e.g. "0.4.0"
  std::vector<RunCollectionRecord> collections;  ///< one per collection of the run, in run order
};

/// What a sink that keeps state knows about one (account, collection): the answer of
/// SinkPlugin::status(), shown by `oura-collector status`. Times are milliseconds since the
/// Unix epoch (UTC); absent when unknown.
struct CollectionStatus {
  std::string account;     ///< the account label
  std::string collection;  ///< Oura collection name
  /// The last day fully synced ("YYYY-MM-DD"), absent without sync state (never synced, or a
  /// snapshot collection, which keeps none).
  std::optional<std::string> synced_through;
  std::optional<std::int64_t> synced_at_ms;  ///< when `synced_through` was last written
  /// The last recorded run that included the collection: when it started and finished, the
  /// command ("scrape"/"reprocess") and the collection's outcome word in it
  /// (RunCollectionRecord::outcome); all absent/"" when no run is recorded.
  std::optional<std::int64_t> last_run_started_at_ms;
  std::optional<std::int64_t> last_run_finished_at_ms;
  std::string last_run_command;
  std::string last_run_outcome;
  std::uint64_t last_run_inserted = 0;  ///< rows inserted for the collection by that run
  std::uint64_t last_run_updated = 0;   ///< rows updated for the collection by that run
  /// The last recorded run in which the collection did not end "ok": when it finished, the
  /// collection's outcome word and message; absent/"" when every recorded run was ok.
  std::optional<std::int64_t> last_error_at_ms;
  std::string last_error_outcome;
  std::string last_error;
  /// Documents of the collection in the sink's dead-letter store (SinkBatch::rejected).
  std::uint64_t rejected_documents = 0;
  /// A backfill asked for but not landed completely (pendingBackfill): the days still missing.
  std::optional<DayWindow> missing;
};

/// One day of an account's data as `oura-collector report` shows it: the answer of
/// SinkPlugin::daySummaries(). Every value is absent when the sink holds none for the day (no
/// document, a null field, or a document marked deleted). `day` is the wearer's own calendar day
/// (the documents' `day`, never a UTC date).
struct DaySummary {
  std::string day;  ///< "YYYY-MM-DD"
  std::optional<double> sleep_score;      ///< daily_sleep.score, 1-100
  std::optional<double> readiness_score;  ///< daily_readiness.score, 1-100
  std::optional<double> activity_score;   ///< daily_activity.score, 1-100
  std::optional<double> steps;            ///< daily_activity.steps, steps
  std::optional<double> active_calories;  ///< daily_activity.active_calories, kcal
  /// daily_readiness.temperature_deviation: skin temperature against the baseline, degrees Celsius
  std::optional<double> temperature_deviation;
  /// daily_readiness.contributors.hrv_balance: a score, 1-100 (not milliseconds)
  std::optional<double> hrv_balance;
  std::optional<double> stress_high;    ///< daily_stress.stress_high: time in high stress, seconds
  std::optional<double> recovery_high;  ///< daily_stress.recovery_high, seconds
  std::optional<double> spo2;           ///< daily_spo2 average, percent (Oura's 0 placeholder: absent)
  // The main sleep of the night that ends on `day` (Oura's sleep type `long_sleep`); naps and
  // other periods are not counted.
  std::optional<double> resting_heart_rate;  ///< its lowest_heart_rate, bpm
  std::optional<double> average_hrv;         ///< its average_hrv (RMSSD), milliseconds
  std::optional<double> total_sleep;         ///< total_sleep_duration, seconds
  std::optional<double> deep_sleep;          ///< deep_sleep_duration, seconds
  std::optional<double> rem_sleep;           ///< rem_sleep_duration, seconds
  std::optional<double> light_sleep;         ///< light_sleep_duration, seconds
  std::optional<double> awake_time;          ///< awake_time, seconds
  std::optional<double> efficiency;          ///< efficiency, percent
  std::optional<double> latency;             ///< latency (time to fall asleep), seconds
  /// bedtime_start and bedtime_end as Oura sent them (ISO 8601 with the wearer's UTC offset, so
  /// the wall-clock time can be read off).
  std::optional<std::string> bedtime_start;
  std::optional<std::string> bedtime_end;
  /// sleep_phase_5_min: the stage of each 5 minutes from bedtime_start, one character each
  /// ('1' deep, '2' light, '3' REM, '4' awake), as Oura sent it.
  std::optional<std::string> sleep_phase_5_min;
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

  /// Remembers that `days` of (account, collection) were asked for and have not landed yet
  /// (a backfill: `scrape --since`, or a first run), durably and before anything of it is
  /// fetched, merged with a range already pending (the smallest range covering both). Every
  /// batch with `synced_through` shrinks it in its own transaction (see SinkBatch), so an
  /// interrupted or failed backfill leaves exactly the range still missing.
  /// The default (a sink without state: stdout) remembers nothing.
  /// @throws UnavailableError / Error when it cannot be recorded (the run then stops: 69/1).
  virtual void rememberBackfill(const std::string& account, const std::string& collection,
                                const DayWindow& days);

  /// The range of (account, collection) asked for by a backfill that has not landed completely,
  /// or nothing. The next incremental run fetches it first.
  virtual std::optional<DayWindow> pendingBackfill(const std::string& account,
                                                   const std::string& collection);

  /// Called once after the last batch (also after an interrupted run). Flushes and disconnects.
  virtual void close();

  /// Records a finished run (the run log). Called once per run, after the last batch and just
  /// before close(), also for an interrupted run; the sink may have lost its connection since
  /// the last batch and should connect again. All or nothing (one transaction).
  /// The default (a sink that keeps no run log) does nothing.
  /// @throws Error (or UnavailableError) when it cannot be recorded: never fatal, the core logs
  ///   it as a warning and the run's exit code stays as it is.
  virtual void recordRun(const RunRecord& run);

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

  /// Per collection, what the sink knows of `account`'s syncs and runs (sync state, the last
  /// recorded run, the last run that did not end ok), sorted by account then collection; only
  /// collections with sync state or a recorded run appear. An empty `account` means every
  /// account. Reads only: takes no run lock, needs no open(), and may be called while a run
  /// holds the lock.
  /// @return nothing when the sink keeps no state (the default; stdout).
  /// @throws UnavailableError when the destination cannot be reached; Error when reading fails.
  virtual std::optional<std::vector<CollectionStatus>> status(const std::string& account);

  /// One DaySummary per day from `first_day` through `last_day` ("YYYY-MM-DD", inclusive) on
  /// which the sink holds any of its values for `account`, oldest first. Reads only, like
  /// status(): no run lock, no open() needed. Used by `oura-collector report`.
  /// @return nothing when the sink cannot read back (the default; stdout).
  /// @throws UnavailableError when the destination cannot be reached; ConfigError when its
  ///   schema is behind; Error when reading fails.
  virtual std::optional<std::vector<DaySummary>> daySummaries(const std::string& account,
                                                              const std::string& first_day,
                                                              const std::string& last_day);

  /// Calls `on_document` with the stored raw document (JSON text) of every row of the document
  /// stream of `collection` for `account` that is not marked deleted, oldest first. Holds
  /// nothing open while it calls back: the callback may `write()` to this same sink (reprocess
  /// does), and may throw, which ends the read and propagates.
  /// @return false when the sink cannot read back (the default; stdout).
  /// @throws Error when reading fails.
  virtual bool readRaw(const std::string& account, const CollectionSpec& collection,
                       const std::function<void(const std::string& raw)>& on_document);

  /// Calls `on_document` with every document of `collection` for `account` in the sink's
  /// dead-letter store (SinkBatch::rejected), oldest first, under the same rules as readRaw.
  /// @return false when the sink keeps no rejected documents (the default; stdout).
  virtual bool readRejected(const std::string& account, const CollectionSpec& collection,
                            const std::function<void(const RejectedDocument&)>& on_document);
};

}  // namespace oura::sdk

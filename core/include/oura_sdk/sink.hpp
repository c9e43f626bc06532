#pragma once
/// @file sink.hpp
/// Sink plugins: where rows go. A sink receives typed rows in batches (one batch = one fetched
/// window or page of one collection, with all its streams) and answers each batch with an
/// explicit outcome.

#include <oura_sdk/endpoint.hpp>
#include <oura_sdk/plugin.hpp>
#include <oura_sdk/rows.hpp>

#include <cstdint>
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
  const CollectionSpec* collection;  ///< owned by the endpoint plugin
  DayWindow window;                  ///< the days these rows were fetched for
  /// True when `streams` holds every document of `window` (the whole window fetched to the last
  /// page): a sink that tracks deletions may treat rows of the window absent here as deleted.
  bool window_complete = false;
  /// When set, the sink records that the collection is synced through this day in the same
  /// transaction as the rows ("YYYY-MM-DD").
  std::optional<std::string> synced_through;
  std::vector<StreamRows> streams;   ///< one entry per stream of the collection, same order
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
  /// May connect; @throws Error when the destination is unusable (the run stops before fetching).
  virtual void open(const std::vector<const CollectionSpec*>& collections);

  /// Writes one batch. Must not throw for data or connection problems: answer with an outcome.
  virtual SinkOutcome write(const SinkBatch& batch) = 0;

  /// The last day recorded as synced for (account, collection), or nothing when unknown (a sink
  /// without state, or a first run). The core starts an incremental run from this day minus the
  /// overlap.
  virtual std::optional<std::string> syncedThrough(const std::string& account,
                                                   const std::string& collection);

  /// Called once after the last batch (also after an interrupted run). Flushes and disconnects.
  virtual void close();
};

}  // namespace oura::sdk

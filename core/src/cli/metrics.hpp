#pragma once
// The run's figures for Prometheus (docs/operations.md "Metrics"): the text exposition format
// (version 0.0.4, what node_exporter's textfile collector and the Pushgateway read), written
// atomically to --metrics-file and/or PUT to --pushgateway at the end of every scrape and
// reprocess, whatever its outcome. Names follow Prometheus' conventions: prefix
// oura_collector_, base units (_seconds), timestamps as _timestamp_seconds, per-run figures as
// gauges named last_run (a counter would have to survive the process).

#include "sync/run_summary.hpp"

#include <oura_sdk/sink.hpp>
#include <oura_sdk/token_store.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace oura::core {

struct RunMetrics {
  std::string command;    // scrape, reprocess
  std::string account;
  int exit_code = 0;
  double started_at = 0;  // seconds since the Unix epoch
  double finished_at = 0;
  const RunSummary* summary = nullptr;  // null when the run ended before its collections
  // Per collection (the sinks' sync state after the run, read back): "YYYY-MM-DD".
  std::map<std::string, std::string> synced_through;
  // Per collection: when it last ended ok (seconds since the epoch): this run's end for the
  // collections that ended ok, else the value of the previous metrics (previousSuccesses).
  std::map<std::string, double> last_success;
  std::optional<sdk::TokenSet> tokens;  // the token store's state (expiry, last refresh)
};

// The exposition text of `m`.
std::string renderMetrics(const RunMetrics& m);

// collection -> last success timestamp, read from an earlier exposition `text` (the previous
// metrics file); empty when there is none.
std::map<std::string, double> previousSuccesses(const std::string& text);

// Writes `text` to `path` atomically (a temporary file in the same folder, fsync, rename; mode
// 0644 so node_exporter can read it). Throws std::runtime_error naming the path.
void writeMetricsFile(const std::string& path, const std::string& text);

// PUTs `text` to `base_url` + /metrics/job/oura-collector/account/<account>/command/<command>
// (replacing that group). Throws std::runtime_error with the status or the connection problem.
void pushMetrics(const std::string& base_url, const std::string& account,
                 const std::string& command, const std::string& text);

// Checks a --pushgateway URL (http or https with a host); throws std::invalid_argument.
void checkPushgatewayUrl(const std::string& url);

}  // namespace oura::core

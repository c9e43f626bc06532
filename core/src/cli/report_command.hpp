#pragma once
// `oura-collector report`: a self-contained HTML report of the last N days (the views of the
// Overview and Sleep dashboards and the collector's health) from the sinks' stored data. Needs no
// token and sends nothing to Oura.

#include "plugin_host/runtime.hpp"

#include <optional>
#include <string>

namespace oura::core {

struct ReportOptions {
  int days = 30;                      // --days: the period ends on `until`, `days` days long
  std::optional<std::string> until;   // --until YYYY-MM-DD, default today (local calendar)
  std::optional<std::string> account; // --account, else collector.account, else the only one
  std::string output;                 // --output FILE ("-": stdout)
};

// The command line's checks, before the manifest is read or anything connects. Throws Error
// 64: no --output, a folder that cannot be written, a bad --until, --days out of range.
void checkReportOptions(const ReportOptions& options);

// Reads the first sink that can answer daySummaries() (the postgres sink) and writes the page to
// `options.output` (a temporary file beside it, renamed over it). Returns the exit code.
// Throws Error: 64 (no --output, a bad --until, an output folder that cannot be written, an
// account that has to be chosen), 69 (the database is unreachable, the file cannot be written),
// 78 (no sink can read back, the schema is behind).
int runReportCommand(Runtime& runtime, const ReportOptions& options);

}  // namespace oura::core

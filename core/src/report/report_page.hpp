#pragma once
// The HTML page of `oura-collector report`: one self-contained file (inline CSS and SVG, no
// script, no font or image fetched) with the views of the Overview and Sleep dashboards and the
// collector's health, readable on screen and on paper.

#include <oura_sdk/sink.hpp>

#include <string>
#include <vector>

namespace oura::report {

struct ReportInput {
  std::string account;
  std::string first_day;  // "YYYY-MM-DD", the period shown (inclusive)
  std::string last_day;
  std::string generated_at;     // when, as text ("2024-01-31 06:00 UTC")
  std::string program_version;  // e.g. "0.4.0"
  std::string source;           // where the data came from, e.g. "sink db (postgres)"
  std::vector<sdk::DaySummary> days;           // days of the period with data, oldest first
  std::vector<sdk::CollectionStatus> health;   // the sink's status() for the account
  std::string today;  // "YYYY-MM-DD", the local calendar day, for "days behind"
  int overlap_days = 2;  // a collection more than overlap + 1 days behind is shown as stale
};

// The whole page. Throws std::invalid_argument when first_day/last_day/today are not days or
// the period is empty.
std::string renderReport(const ReportInput& input);

// Hours from midnight of `day` on the wearer's wall clock of an ISO 8601 time with its UTC offset
// ("2024-01-09T23:15:00+02:00" for day 2024-01-10 gives -0.75); nothing when it cannot be read.
std::optional<double> wallClockHours(const std::string& iso, const std::string& day);

}  // namespace oura::report

#pragma once
// `status --format json` and the health verdict of `status` (docs/operations.md "Run log and
// status"): an enabled collection is STALE when its last success (the sync state's last write,
// or for snapshot collections the last ok run) is older than --max-age or missing, and FAILED
// when its last recorded run ended failed or login_needed. Any of them makes `status` exit 1,
// so it can serve as a Nagios check or a Kubernetes probe.

#include "plugin_host/runtime.hpp"

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace oura::core {

struct StatusVerdict {
  std::vector<std::string> problems;  // one sentence per stale or failed collection
};

// Reads every sink's status for `account` (every account when empty). `json`: writes the JSON
// document to `out`; otherwise the table (printStatus) followed by the problem lines. Returns the
// verdict. Throws Error (Unavailable, Config) like printStatus.
StatusVerdict reportStatus(Runtime& runtime, const std::string& account, bool json,
                           std::chrono::seconds max_age, std::ostream& out, long today,
                           std::int64_t now_ms);

// "3" (days), "3d", "36h", "90m", "600s" -> seconds; throws std::invalid_argument.
std::chrono::seconds parseMaxAge(const std::string& text);

}  // namespace oura::core

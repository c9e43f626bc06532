#pragma once
// The exit codes of every command (DESIGN.md "Exit codes"; README "Exit codes").

#include <stdexcept>
#include <string>

namespace oura::core {

enum ExitCode : int {
  kExitOk = 0,            // every enabled collection synced (not-authorised skips are warnings)
  kExitPartial = 1,       // at least one collection failed after retries; the rest landed
  kExitUsage = 64,        // usage error on the command line
  kExitUnavailable = 69,  // a required service is unreachable at start, nothing done
  kExitInternal = 70,     // internal error (a bug)
  kExitInterrupted = 75,  // interrupted, or another run holds the lock; safe to run again
  kExitLoginNeeded = 77,  // no token, refresh token rejected, every collection 401
  kExitConfig = 78,       // configuration error (manifest, plugin config, plugin load)
};

// Ends a command with a given exit code and a message for the user (stderr).
class ExitError : public std::runtime_error {
 public:
  ExitError(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const noexcept { return code_; }

 private:
  int code_;
};

}  // namespace oura::core

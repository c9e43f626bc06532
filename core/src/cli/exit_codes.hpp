#pragma once
// The exit codes of every command (DESIGN.md "Errors and exit codes"; README "Exit codes"; the
// table of docs/retries.md), and the one place that turns the engine's errors into them.

#include "errors.hpp"

#include <exception>
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

// The exit code of a kind of ending (ErrorKind::None: 0).
int exitCode(ErrorKind kind) noexcept;
// An exit code as one word (--summary-json, the run log): ok, partial, usage, unavailable,
// interrupted, login_needed, config; anything else is internal.
const char* exitName(int code) noexcept;

// A command that ended with an exception, as the user sees it: "oura-collector: " + prefix +
// message on stderr, and the exit code of `kind`.
struct Failure {
  ErrorKind kind = ErrorKind::Internal;
  std::string prefix;   // "configuration error: ", "login needed: ", "internal error: " or ""
  std::string message;
};
// Classifies the exception `error` (core::Error, the SDK's errors, Poco's, the standard ones).
Failure classify(const std::exception_ptr& error);

}  // namespace oura::core

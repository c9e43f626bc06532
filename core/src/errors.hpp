#pragma once
// The one taxonomy of how the engine fails (DESIGN.md "Errors and exit codes"). Every subsystem
// (config, plugin_host, sync, auth, schema, http) throws `Error` with one `ErrorKind`, or one of
// the SDK's exceptions (oura_sdk/errors.hpp), which cli/exit_codes.hpp classifies into the same
// kinds. Only core/src/cli/ turns a kind into an exit code and words (cli/exit_codes.hpp).

#include <stdexcept>
#include <string>

namespace oura::core {

enum class ErrorKind {
  None,         // nothing failed: every enabled collection synced
  Partial,      // at least one collection failed after retries; the rest landed
  Usage,        // the command line is wrong
  Unavailable,  // a required service (API, database, token store) cannot be reached
  Internal,     // a bug
  Interrupted,  // stopped by a signal, or another process holds a lock: safe to run again
  LoginNeeded,  // no usable token, the grant was rejected, or every collection answered 401
  Config,       // the configuration (manifest, plugin config, database schema) is wrong
};

// A failure of the engine: what happened (`what()`, a sentence the user can act on, never a
// secret) and its kind.
class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

}  // namespace oura::core

#pragma once
/// @file errors.hpp
/// Exceptions that cross the plugin boundary. All derive from `oura::sdk::Error`, whose
/// out-of-line destructor lives in the shared SDK library, so a plugin's throw is caught by the
/// program's `catch`.

#include <stdexcept>
#include <string>

namespace oura::sdk {

/// Base of every SDK exception. `what()` is a message a user can act on; it never carries a
/// token, secret or password.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message);
  ~Error() override;
};

/// A plugin's configuration is invalid (thrown by a plugin factory or by the core's validation).
/// The program exits 78.
class ConfigError : public Error {
 public:
  explicit ConfigError(const std::string& message);
  ~ConfigError() override;
};

/// A document cannot be mapped at all (not an object, or its key is missing). The core reports
/// it with the collection and document id, skips that document and keeps the rest of the page.
class MappingError : public Error {
 public:
  explicit MappingError(const std::string& message);
  ~MappingError() override;
};

/// No usable access token, or the API rejected every request with 401: a new login is needed.
/// The program exits 77.
class LoginNeededError : public Error {
 public:
  explicit LoginNeededError(const std::string& message);
  ~LoginNeededError() override;
};

/// A required service (a sink's database) cannot be reached at start: nothing was done.
/// `what()` names the host and port (never a password). The program exits 69.
class UnavailableError : public Error {
 public:
  explicit UnavailableError(const std::string& message);
  ~UnavailableError() override;
};

/// Another run holds the account's run lock (a sink's PostgreSQL advisory lock): this run did
/// nothing and is safe to repeat. The program exits 75.
class RunLockedError : public Error {
 public:
  explicit RunLockedError(const std::string& message);
  ~RunLockedError() override;
};

}  // namespace oura::sdk

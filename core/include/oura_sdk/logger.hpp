#pragma once
/// @file logger.hpp
/// A per-instance logger handed to every plugin instance.

#include <string>

namespace Poco {
class Logger;
}

namespace oura::sdk {

/// A logger named after one plugin instance (`oura.<kind>.<instance>`), so two instances of one
/// plugin log under different names. Messages go to the program's log channel (stderr by
/// default). Never pass a token, secret or password to it.
class Logger {
 public:
  /// @param name the full logger name, e.g. "oura.sink.out".
  explicit Logger(const std::string& name);
  Logger(const Logger&) = default;
  Logger& operator=(const Logger&) = default;
  ~Logger();

  /// The logger's full name.
  const std::string& name() const noexcept { return name_; }

  void debug(const std::string& message) const;
  void info(const std::string& message) const;
  void warning(const std::string& message) const;
  void error(const std::string& message) const;
  /// True when debug messages would be written (to skip building expensive messages).
  bool debugEnabled() const;

 private:
  std::string name_;
  Poco::Logger* logger_;
};

}  // namespace oura::sdk

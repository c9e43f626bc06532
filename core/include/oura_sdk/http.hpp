#pragma once
/// @file http.hpp
/// Errors of the core's HTTP layer that endpoint plugins and sinks may see or rethrow.

#include <oura_sdk/errors.hpp>

#include <string>

namespace oura::sdk {

/// An HTTP request to the Oura API failed for good (after the retry policy gave up, or with a
/// status that is never retried). `what()` names the method, URL (without secrets) and problem.
class HttpError : public Error {
 public:
  /// @param status the HTTP status, or 0 for transport errors (reset, timeout, truncated body)
  HttpError(int status, std::string url, const std::string& message);
  ~HttpError() override;
  int status() const noexcept { return status_; }
  const std::string& url() const noexcept { return url_; }

 private:
  int status_;
  std::string url_;
};

}  // namespace oura::sdk

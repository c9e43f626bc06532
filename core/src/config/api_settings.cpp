#include "config/api_settings.hpp"

#include "auth/token_provider.hpp"
#include "errors.hpp"
#include "http/api_client.hpp"
#include "http/rate_limiter.hpp"
#include "http/retry_policy.hpp"

#include <oura_sdk/errors.hpp>

namespace oura::core {

std::string apiSettingsProblem(const Manifest& manifest, const std::string& problem) {
  // The CA file is an api.* setting too; name the key that the problem is about.
  const std::string key = problem.find("CA file") != std::string::npos ? "api.ca_file" : "api.base_url";
  if (manifest.base_url_from_environment && key == "api.base_url") {
    return "environment variable OURA_API_BASE_URL: " + problem;
  }
  return manifest.file + ": " + key + ": " + problem;
}

void checkApiSettings(const Manifest& manifest) {
  RateLimiter limiter(manifest.rate_limit);
  RetryPolicy policy(manifest.retry);
  struct NoTokens : TokenProvider {
    std::string accessToken() override { return {}; }
    bool refreshAfterUnauthorized(const std::string&) override { return false; }
  } tokens;
  try {
    ApiClient client(manifest.http, limiter, policy, tokens);  // validates; connects to nothing
  } catch (const sdk::ConfigError& e) {
    throw Error(ErrorKind::Config, apiSettingsProblem(manifest, e.what()));
  }
}

}  // namespace oura::core

#include "auth/scopes.hpp"

#include <algorithm>
#include <string_view>

namespace oura::core {

namespace {

constexpr std::string_view kPrefix = "extapi:";

std::string bare(const std::string& scope) {
  return scope.compare(0, kPrefix.size(), kPrefix) == 0 ? scope.substr(kPrefix.size()) : scope;
}

// Names of one scope: the live server's first, then the OpenAPI spec's.
const std::vector<std::vector<std::string>>& aliasGroups() {
  static const std::vector<std::vector<std::string>> groups = {{"spo2", "spo2Daily"}};
  return groups;
}

}  // namespace

std::vector<std::string> scopeAliases(const std::string& scope) {
  if (scope.empty()) return {};
  const std::string name = bare(scope);
  std::vector<std::string> names{name};
  for (const auto& group : aliasGroups()) {
    if (std::find(group.begin(), group.end(), name) != group.end()) names = group;
  }
  std::vector<std::string> out;
  for (const std::string& n : names) {
    out.push_back(n);
    out.push_back(std::string(kPrefix) + n);
  }
  return out;
}

bool scopeGranted(const std::vector<std::string>& granted, const std::string& scope) {
  if (scope.empty()) return true;
  const std::vector<std::string> aliases = scopeAliases(scope);
  return std::any_of(granted.begin(), granted.end(), [&](const std::string& g) {
    return std::find(aliases.begin(), aliases.end(), g) != aliases.end();
  });
}

const std::vector<std::string>& defaultScopes() {
  static const std::vector<std::string> scopes = {
      "email",   "personal", "daily", "heartrate", "workout",      "tag",
      "session", "spo2",     "stress", "heart_health", "ring_configuration"};
  return scopes;
}

std::vector<std::string> withNeededScopes(std::vector<std::string> scopes,
                                          const std::vector<std::string>& needed) {
  for (const std::string& scope : needed) {
    if (!scope.empty() && !scopeGranted(scopes, scope)) scopes.push_back(scope);
  }
  return scopes;
}

}  // namespace oura::core

#include "env_store.hpp"

#include <oura_sdk/errors.hpp>

#include <Poco/Environment.h>

namespace oura::plugins {

using namespace oura::sdk;

ConfigSchema EnvTokenStore::configSchema() {
  return {
      ConfigKey{"variable", ConfigType::String, false, ConfigValue{std::string("OURA_ACCESS_TOKEN")},
                "name of the environment variable that holds the access token"},
      ConfigKey{"scopes", ConfigType::StringList, false, std::nullopt,
                "the scopes the token was granted, when known (collections outside them are "
                "skipped without a request); unset: unknown, every collection is tried"},
  };
}

EnvTokenStore::EnvTokenStore(const PluginContext& context)
    : variable_(context.config.getString("variable")) {
  if (variable_.empty() || variable_.find('=') != std::string::npos) {
    throw ConfigError("variable: not a valid environment variable name");
  }
  if (context.config.has("scopes")) scopes_ = context.config.getStringList("scopes");
}

EnvTokenStore::~EnvTokenStore() = default;

std::string EnvTokenStore::describe() const { return "environment variable " + variable_; }

std::optional<TokenSet> EnvTokenStore::load() {
  std::string token = Poco::Environment::get(variable_, "");
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) {
    token.pop_back();
  }
  if (token.empty()) return std::nullopt;
  TokenSet tokens;
  tokens.access_token = std::move(token);
  tokens.scopes = scopes_;
  return tokens;
}

}  // namespace oura::plugins

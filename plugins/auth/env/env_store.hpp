#pragma once
#include <oura_sdk/token_store.hpp>

namespace oura::plugins {

/// A read-only token store: the access token comes from an environment variable (a legacy
/// personal access token, or a token managed elsewhere). It never refreshes; a 401 means
/// "provide a new token". See README.md.
class EnvTokenStore : public oura::sdk::TokenStore {
 public:
  static oura::sdk::ConfigSchema configSchema();
  explicit EnvTokenStore(const oura::sdk::PluginContext& context);
  ~EnvTokenStore() override;
  std::string describe() const override;
  std::optional<oura::sdk::TokenSet> load() override;
  bool writable() const override { return false; }

 private:
  std::string variable_;
  std::vector<std::string> scopes_;
};

}  // namespace oura::plugins

#pragma once
// The plugin instances a manifest asks for, loaded, validated and created: the token store, the
// endpoints (and the collections they serve) and the sinks.

#include "plugin_host/loader.hpp"
#include "config/manifest.hpp"

#include <oura_sdk/endpoint.hpp>
#include <oura_sdk/sink.hpp>
#include <oura_sdk/token_store.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace oura::core {

struct EndpointInstance {
  std::string name;
  LoadedPlugin loaded;
  std::shared_ptr<sdk::EndpointPlugin> plugin;
};

struct SinkInstance {
  std::string name;
  LoadedPlugin loaded;
  std::shared_ptr<sdk::SinkPlugin> plugin;
  std::unique_ptr<std::mutex> mutex = std::make_unique<std::mutex>();  // one writer at a time
};

// One collection and the endpoint instance that serves it.
struct ServedCollection {
  const EndpointInstance* endpoint;
  const sdk::CollectionSpec* spec;
};

struct Runtime {
  Manifest manifest;
  std::unique_ptr<PluginLoader> loader;
  std::string token_store_name;
  std::shared_ptr<sdk::TokenStore> token_store;
  std::vector<EndpointInstance> endpoints;
  std::vector<SinkInstance> sinks;
  std::vector<ServedCollection> collections;  // every collection served, in endpoint order

  // The served collection of that name, or nullptr.
  const ServedCollection* find(const std::string& collection) const;
};

// Loads and creates every plugin instance of the manifest. With `dry_run`, the manifest's sinks
// are replaced by one `stdout` sink with its defaults. Touches no network.
// Throws sdk::ConfigError (exit 78) naming the manifest location and the problem.
std::unique_ptr<Runtime> buildRuntime(Manifest manifest, bool dry_run);

// Validates one plugin instance's config table against the loaded plugin's schema and creates it.
template <typename T>
std::shared_ptr<T> instantiate(PluginLoader& loader, const LoadedPlugin& loaded,
                               const PluginInstance& instance, const std::string& manifest_file,
                               const std::string& key_path);

}  // namespace oura::core

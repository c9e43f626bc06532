#include "plugin_host/runtime.hpp"

#include <oura_sdk/errors.hpp>

namespace oura::core {

const ServedCollection* Runtime::find(const std::string& collection) const {
  for (const auto& c : collections) {
    if (c.spec->name == collection) return &c;
  }
  return nullptr;
}

template <typename T>
std::shared_ptr<T> instantiate(PluginLoader& loader, const LoadedPlugin& loaded,
                               const PluginInstance& instance, const std::string& manifest_file,
                               const std::string& key_path) {
  sdk::PluginConfig config = validatePluginConfig(instance.config, loaded.descriptor->config_schema(),
                                                  manifest_file, key_path + ".config");
  sdk::PluginContext context{
      instance.name,
      sdk::Logger(std::string("oura.") + sdk::toString(instance.kind) + "." + instance.name),
      std::move(config)};
  try {
    return loader.create<T>(loaded, context);
  } catch (const sdk::ConfigError& e) {
    throw sdk::ConfigError(instance.where + ": " + key_path + ".config: " + e.what());
  }
}

template std::shared_ptr<sdk::EndpointPlugin> instantiate(PluginLoader&, const LoadedPlugin&,
                                                          const PluginInstance&, const std::string&,
                                                          const std::string&);
template std::shared_ptr<sdk::SinkPlugin> instantiate(PluginLoader&, const LoadedPlugin&,
                                                      const PluginInstance&, const std::string&,
                                                      const std::string&);
template std::shared_ptr<sdk::TokenStore> instantiate(PluginLoader&, const LoadedPlugin&,
                                                      const PluginInstance&, const std::string&,
                                                      const std::string&);

namespace {
LoadedPlugin loadInstance(PluginLoader& loader, const PluginInstance& instance,
                          const std::string& key_path) {
  try {
    return loader.load(instance.kind, instance.plugin, instance.path);
  } catch (const sdk::ConfigError& e) {
    throw sdk::ConfigError(instance.where + ": " + key_path + ": " + e.what());
  }
}
}  // namespace

std::unique_ptr<Runtime> buildRuntime(Manifest manifest, bool dry_run) {
  auto rt = std::make_unique<Runtime>();
  rt->manifest = std::move(manifest);
  const Manifest& m = rt->manifest;
  rt->loader = std::make_unique<PluginLoader>(m.plugin_dirs);
  PluginLoader& loader = *rt->loader;

  {
    LoadedPlugin loaded = loadInstance(loader, m.token_store, "token_store");
    rt->token_store_name = m.token_store.name;
    rt->token_store = instantiate<sdk::TokenStore>(loader, loaded, m.token_store, m.file,
                                                   "token_store");
  }

  rt->endpoints.reserve(m.endpoints.size());
  for (std::size_t i = 0; i < m.endpoints.size(); ++i) {
    const PluginInstance& instance = m.endpoints[i];
    const std::string key = "endpoints[" + std::to_string(i) + "]";
    LoadedPlugin loaded = loadInstance(loader, instance, key);
    auto plugin = instantiate<sdk::EndpointPlugin>(loader, loaded, instance, m.file, key);
    rt->endpoints.push_back(EndpointInstance{instance.name, loaded, std::move(plugin)});
  }
  for (const EndpointInstance& endpoint : rt->endpoints) {
    for (const sdk::CollectionSpec& spec : endpoint.plugin->collections()) {
      if (const ServedCollection* other = rt->find(spec.name)) {
        throw sdk::ConfigError(m.file + ": collection " + spec.name + " is served by both " +
                               other->endpoint->name + " and " + endpoint.name +
                               ": enable only one of them");
      }
      if (spec.streams.empty()) {
        throw sdk::ConfigError(endpoint.loaded.file + ": collection " + spec.name +
                               " declares no stream");
      }
      rt->collections.push_back(ServedCollection{&endpoint, &spec});
    }
  }

  if (dry_run) {
    PluginInstance stdout_instance;
    stdout_instance.kind = sdk::PluginKind::Sink;
    stdout_instance.plugin = "stdout";
    stdout_instance.name = "dry-run";
    stdout_instance.where = m.file;
    LoadedPlugin loaded = loadInstance(loader, stdout_instance, "--dry-run sink");
    auto plugin = instantiate<sdk::SinkPlugin>(loader, loaded, stdout_instance, m.file,
                                               "--dry-run sink");
    rt->sinks.push_back(SinkInstance{stdout_instance.name, loaded, std::move(plugin)});
  } else {
    for (std::size_t i = 0; i < m.sinks.size(); ++i) {
      const PluginInstance& instance = m.sinks[i];
      const std::string key = "sinks[" + std::to_string(i) + "]";
      LoadedPlugin loaded = loadInstance(loader, instance, key);
      auto plugin = instantiate<sdk::SinkPlugin>(loader, loaded, instance, m.file, key);
      rt->sinks.push_back(SinkInstance{instance.name, loaded, std::move(plugin)});
    }
  }
  return rt;
}

}  // namespace oura::core

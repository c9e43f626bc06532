#pragma once
// Loads plugins with Boost.DLL (rtld_now | rtld_local), checks the descriptor (magic, API
// version, build fingerprint) before calling anything, and creates instances whose deleter keeps
// the library loaded. Every failure is a sdk::ConfigError naming the file and the reason.

#include <oura_sdk/plugin.hpp>

#include <boost/dll/shared_library.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace oura::core {

struct LoadedPlugin {
  std::shared_ptr<boost::dll::shared_library> library;
  const sdk::PluginDescriptor* descriptor = nullptr;
  std::string file;
};

class PluginLoader {
 public:
  explicit PluginLoader(std::vector<std::string> plugin_dirs);

  // The file name a plugin of `kind` and `name` has: "oura-<kind>-<name>.so".
  static std::string fileName(sdk::PluginKind kind, const std::string& name);

  // Loads `path` if given, else the first plugin_dir holding fileName(kind, name). Checks that
  // the descriptor's kind and name match. Loading the same file twice returns the same library.
  // Throws sdk::ConfigError: missing file (lists the folders searched), not a plugin (no
  // oura_plugin_v1 alias), unresolved symbol, bad magic, API version mismatch (both versions),
  // fingerprint mismatch (both fingerprints), kind or name mismatch.
  LoadedPlugin load(sdk::PluginKind kind, const std::string& name,
                    const std::optional<std::string>& path = std::nullopt);

  // Loads one library file and checks its descriptor (no kind/name expectation).
  LoadedPlugin loadFile(const std::string& path);

  // Every oura-*.so in the plugin dirs, loaded; failures come back as error strings.
  struct Discovered {
    std::vector<LoadedPlugin> plugins;
    std::vector<std::string> errors;
  };
  Discovered discover();

  // Creates an instance; the returned pointer's deleter keeps `plugin.library` loaded.
  // Throws sdk::ConfigError if the factory throws one or the object is not of type T.
  template <typename T>
  std::shared_ptr<T> create(const LoadedPlugin& plugin, const sdk::PluginContext& context) {
    std::shared_ptr<sdk::Plugin> base(createRaw(plugin, context),
                                      [lib = plugin.library](sdk::Plugin* p) { delete p; });
    std::shared_ptr<T> typed = std::dynamic_pointer_cast<T>(base);
    if (!typed) throwWrongType(plugin);
    return typed;
  }

  const std::vector<std::string>& dirs() const { return dirs_; }

 private:
  sdk::Plugin* createRaw(const LoadedPlugin& plugin, const sdk::PluginContext& context);
  [[noreturn]] void throwWrongType(const LoadedPlugin& plugin);
  std::vector<std::string> dirs_;
  std::vector<LoadedPlugin> loaded_;
};

}  // namespace oura::core

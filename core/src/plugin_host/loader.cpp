// Plugin loading with Boost.DLL. See loader.hpp.
#include "plugin_host/loader.hpp"

#include "plugin_host/trust.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <boost/dll/shared_library_load_mode.hpp>
#include <cstring>
#include <exception>
#include <filesystem>
#include <oura_sdk/errors.hpp>
#include <oura_sdk/version.hpp>
#include <set>
#include <sstream>
#include <system_error>

namespace oura::core {

namespace {

namespace fs = std::filesystem;

constexpr const char* kAlias = "oura_plugin_v1";

std::string hex(std::uint32_t value) {
  std::ostringstream out;
  out << "0x" << std::hex << std::uppercase << value;
  return out.str();
}

std::string listDirs(const std::vector<std::string>& dirs) {
  if (dirs.empty()) return "(no plugin folders configured)";
  std::string out;
  for (const auto& dir : dirs) {
    if (!out.empty()) out += ", ";
    out += dir;
  }
  return out;
}

// "sink plugin 'stdout'" for messages.
std::string describePlugin(sdk::PluginKind kind, const std::string& name) {
  return std::string(sdk::toString(kind)) + " plugin '" + name + "'";
}

bool isPluginFileName(const std::string& file_name) {
  constexpr std::string_view prefix = "oura-";
  constexpr std::string_view suffix = ".so";
  return file_name.size() > prefix.size() + suffix.size() &&
         file_name.compare(0, prefix.size(), prefix) == 0 &&
         file_name.compare(file_name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

PluginLoader::PluginLoader(std::vector<std::string> plugin_dirs) : dirs_(std::move(plugin_dirs)) {}

std::string PluginLoader::fileName(sdk::PluginKind kind, const std::string& name) {
  return std::string("oura-") + sdk::toString(kind) + "-" + name + ".so";
}

LoadedPlugin PluginLoader::load(sdk::PluginKind kind, const std::string& name,
                                const std::optional<std::string>& path) {
  std::string file;
  if (path) {
    std::error_code ec;
    if (!fs::is_regular_file(*path, ec)) {
      throw sdk::ConfigError(describePlugin(kind, name) + ": plugin file " + *path + " not found");
    }
    file = *path;
  } else {
    const std::string wanted = fileName(kind, name);
    for (const auto& dir : dirs_) {
      std::error_code ec;
      const fs::path candidate = fs::path(dir) / wanted;
      if (fs::is_regular_file(candidate, ec)) {
        file = candidate.string();
        break;
      }
    }
    if (file.empty()) {
      throw sdk::ConfigError(describePlugin(kind, name) + ": " + wanted +
                             " not found in the plugin folders searched: " + listDirs(dirs_) +
                             " (set [collector] plugin_dirs, or OURA_PLUGIN_DIR)");
    }
  }

  LoadedPlugin plugin = loadFile(file);
  const sdk::PluginDescriptor& d = *plugin.descriptor;
  const std::string actual_name = d.name ? d.name : "";
  if (d.kind != kind || actual_name != name) {
    throw sdk::ConfigError(plugin.file + ": expected " + describePlugin(kind, name) +
                           ", but the file holds " + describePlugin(d.kind, actual_name));
  }
  return plugin;
}

LoadedPlugin PluginLoader::loadFile(const std::string& path) {
  std::error_code fs_ec;
  fs::path canonical = fs::canonical(path, fs_ec);
  if (fs_ec) {
    throw sdk::ConfigError(path + ": cannot open plugin file: " + fs_ec.message());
  }
  const std::string file = canonical.string();
  for (const auto& loaded : loaded_) {
    if (loaded.file == file) return loaded;
  }
  // Before dlopen runs any of its code: who could have put this library here?
  if (auto reason = untrustedPathReason(path)) {
    throw sdk::ConfigError("refusing to load plugin " + path + ": " + *reason +
                           " (a plugin file and every folder above it must be owned by root or "
                           "the running user and not writable by group or others)");
  }

  auto library = std::make_shared<boost::dll::shared_library>();
  boost::dll::fs::error_code ec;
  ::dlerror();  // clear any stale message
  library->load(boost::dll::fs::path(file),
                boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
  if (ec || !library->is_loaded()) {
    const char* dl_message = ::dlerror();
    throw sdk::ConfigError(file + ": cannot load the plugin library: " +
                           (dl_message ? std::string(dl_message) : ec.message()));
  }

  if (!library->has(kAlias)) {
    throw sdk::ConfigError(file + ": not an oura-collector plugin (no " + std::string(kAlias) +
                           " symbol)");
  }
  const sdk::PluginDescriptor* descriptor = nullptr;
  try {
    descriptor = &library->get_alias<const sdk::PluginDescriptor>(kAlias);
  } catch (const std::exception& e) {
    throw sdk::ConfigError(file + ": not an oura-collector plugin (cannot read " +
                           std::string(kAlias) + ": " + e.what() + ")");
  }
  if (!descriptor) {
    throw sdk::ConfigError(file + ": not an oura-collector plugin (" + std::string(kAlias) +
                           " is null)");
  }

  // The first three fields keep their offsets in every API version: read them before anything.
  if (descriptor->magic != sdk::kDescriptorMagic) {
    throw sdk::ConfigError(file + ": not an oura-collector plugin (descriptor magic " +
                           hex(descriptor->magic) + ", expected " + hex(sdk::kDescriptorMagic) +
                           ")");
  }
  if (descriptor->api_version != sdk::kApiVersion) {
    throw sdk::ConfigError(
        file + ": plugin built for SDK API version " + std::to_string(descriptor->api_version) +
        ", but this program has SDK API version " + std::to_string(sdk::kApiVersion) +
        "; rebuild the plugin against this SDK");
  }
  const char* program_fingerprint = sdk::buildFingerprint();
  if (!descriptor->fingerprint || std::strcmp(descriptor->fingerprint, program_fingerprint) != 0) {
    throw sdk::ConfigError(
        file + ": plugin build fingerprint '" +
        (descriptor->fingerprint ? std::string(descriptor->fingerprint) : std::string("(none)")) +
        "' differs from this program's '" + program_fingerprint +
        "'; rebuild the plugin with the same compiler, Boost and Poco");
  }
  if (!descriptor->name || !*descriptor->name || !descriptor->create ||
      !descriptor->config_schema) {
    throw sdk::ConfigError(file +
                           ": invalid plugin descriptor (missing name, factory or config "
                           "schema)");
  }
  switch (descriptor->kind) {
    case sdk::PluginKind::Endpoint:
    case sdk::PluginKind::Sink:
    case sdk::PluginKind::TokenStore:
      break;
    default:
      throw sdk::ConfigError(file + ": invalid plugin descriptor (unknown kind " +
                             std::to_string(static_cast<std::uint32_t>(descriptor->kind)) + ")");
  }

  LoadedPlugin plugin{std::move(library), descriptor, file};
  loaded_.push_back(plugin);
  return plugin;
}

PluginLoader::Discovered PluginLoader::discover() {
  Discovered result;
  std::set<std::string> seen;  // file names: the first folder holding a name wins, as in load()
  for (const auto& dir : dirs_) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    if (auto reason = untrustedFolderReason(dir)) {
      result.errors.push_back("refusing plugin folder " + dir + ": " + *reason);
      continue;
    }
    std::vector<fs::path> files;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string file_name = it->path().filename().string();
      std::error_code type_ec;
      if (isPluginFileName(file_name) && it->is_regular_file(type_ec)) files.push_back(it->path());
    }
    if (ec) {
      result.errors.push_back(dir + ": cannot list the plugin folder: " + ec.message());
      continue;
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      if (!seen.insert(file.filename().string()).second) continue;
      try {
        result.plugins.push_back(loadFile(file.string()));
      } catch (const std::exception& e) {
        result.errors.emplace_back(e.what());
      }
    }
  }
  return result;
}

sdk::Plugin* PluginLoader::createRaw(const LoadedPlugin& plugin,
                                     const sdk::PluginContext& context) {
  const sdk::PluginDescriptor& d = *plugin.descriptor;
  const std::string prefix = std::string(sdk::toString(d.kind)) + " '" + context.instance_name +
                             "' (plugin " + d.name + ", " + plugin.file + "): ";
  sdk::Plugin* object = nullptr;
  try {
    object = d.create(context);
  } catch (const sdk::ConfigError& e) {
    throw sdk::ConfigError(prefix + e.what());
  } catch (const std::exception& e) {
    throw sdk::ConfigError(prefix + "the plugin failed to start: " + e.what());
  } catch (...) {
    throw sdk::ConfigError(prefix + "the plugin failed to start with an unknown exception");
  }
  if (!object) throw sdk::ConfigError(prefix + "the plugin's factory returned no object");
  return object;
}

void PluginLoader::throwWrongType(const LoadedPlugin& plugin) {
  const sdk::PluginDescriptor& d = *plugin.descriptor;
  throw sdk::ConfigError(plugin.file + ": plugin '" + d.name +
                         "' created an object that is not of the type the program expects (it "
                         "declares itself a " +
                         sdk::toString(d.kind) + " plugin)");
}

}  // namespace oura::core

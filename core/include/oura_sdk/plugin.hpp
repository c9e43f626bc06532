#pragma once
/// @file plugin.hpp
/// The plugin descriptor and the base class of every plugin object. A plugin shared library
/// exports exactly one alias, `oura_plugin_v1`, pointing at a `PluginDescriptor`; use
/// `OURA_PLUGIN(...)` to define both.

#include <oura_sdk/config.hpp>
#include <oura_sdk/logger.hpp>
#include <oura_sdk/version.hpp>

#include <boost/dll/alias.hpp>

#include <cstdint>
#include <string>

namespace oura::sdk {

/// The three kinds of plugin.
enum class PluginKind : std::uint32_t {
  Endpoint = 1,    ///< fetches Oura collections (`EndpointPlugin`)
  Sink = 2,        ///< stores rows (`SinkPlugin`)
  TokenStore = 3,  ///< keeps OAuth2 tokens (`TokenStore`)
};

/// "endpoint", "sink" or "auth" (the word used in plugin file names and the manifest).
const char* toString(PluginKind kind) noexcept;

/// Everything a plugin instance receives at creation.
struct PluginContext {
  std::string instance_name;  ///< unique per manifest, e.g. "out" or "daily"
  Logger logger;              ///< named "oura.<kind>.<instance_name>"
  PluginConfig config;        ///< validated against the plugin's `ConfigSchema`
};

/// Base of every plugin object. The destructor is out of line in the SDK library, so
/// `dynamic_cast` to `EndpointPlugin`, `SinkPlugin` or `TokenStore` works across the boundary.
class Plugin {
 public:
  Plugin();
  Plugin(const Plugin&) = delete;
  Plugin& operator=(const Plugin&) = delete;
  virtual ~Plugin();
};

/// The descriptor a plugin exports. Plain data, read by the loader before it calls anything:
/// the first three fields keep their offsets in every API version so that a mismatch is reported
/// rather than misread.
struct PluginDescriptor {
  std::uint32_t magic;       ///< `kDescriptorMagic`
  std::uint32_t api_version; ///< `kApiVersion` the plugin was compiled against
  const char* fingerprint;   ///< `OURA_SDK_BUILD_FINGERPRINT` as the plugin was compiled
  PluginKind kind;
  const char* name;          ///< e.g. "daily", "stdout", "env"
  const char* version;       ///< the plugin's own version, e.g. "0.1.0"
  const char* description;   ///< one line
  /// The configuration keys this plugin accepts.
  ConfigSchema (*config_schema)();
  /// Creates and configures one instance. Validates only; never touches the network.
  /// @throws ConfigError when the configuration is unusable.
  Plugin* (*create)(const PluginContext& context);
};

}  // namespace oura::sdk

/// Defines the descriptor and exports it as `oura_plugin_v1`.
/// `CLASS` must have a constructor `CLASS(const oura::sdk::PluginContext&)` and a static
/// `oura::sdk::ConfigSchema configSchema()`.
#define OURA_PLUGIN(KIND, NAME, VERSION, DESCRIPTION, CLASS)                             \
  namespace {                                                                            \
  ::oura::sdk::Plugin* oura_plugin_create(const ::oura::sdk::PluginContext& context) {   \
    return new CLASS(context);                                                           \
  }                                                                                      \
  const ::oura::sdk::PluginDescriptor oura_plugin_descriptor{                            \
      ::oura::sdk::kDescriptorMagic, ::oura::sdk::kApiVersion, OURA_SDK_BUILD_FINGERPRINT, \
      KIND, NAME, VERSION, DESCRIPTION, &CLASS::configSchema, &oura_plugin_create};      \
  }                                                                                      \
  BOOST_DLL_ALIAS(oura_plugin_descriptor, oura_plugin_v1)

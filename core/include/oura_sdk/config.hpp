#pragma once
/// @file config.hpp
/// Declared plugin configuration: a plugin lists its keys (name, type, default, required,
/// description); the core validates the plugin's TOML table against that list, resolves secret
/// references, and only then hands the plugin a `PluginConfig`.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace oura::sdk {

/// The type of one configuration key, as written in the manifest.
enum class ConfigType {
  String,      ///< a TOML string, or a reference `{ env = "NAME" }` / `{ file = "PATH" }`
  Integer,     ///< a TOML integer (64-bit)
  Float,       ///< a TOML float or integer
  Boolean,     ///< a TOML boolean
  StringList,  ///< a TOML array of strings
  Secret,      ///< a string that must come from a reference, never inline: `{ env = "NAME" }`
               ///< or `{ file = "PATH" }` (the file's content, one trailing newline removed)
};

/// The printable name of a config type ("string", "integer", ...).
const char* toString(ConfigType type) noexcept;

/// A configuration value after validation. Secrets and references arrive as their resolved
/// `std::string`.
using ConfigValue = std::variant<std::string, std::int64_t, double, bool, std::vector<std::string>>;

/// One declared configuration key.
struct ConfigKey {
  ConfigKey() = default;
  /// `ConfigKey{"port", ConfigType::Integer, false, ConfigValue{std::int64_t{5432}},
  /// "server port", "OURA_DB_PORT"}`; the environment variable is optional.
  ConfigKey(std::string name_, ConfigType type_, bool required_,
            std::optional<ConfigValue> default_value_, std::string description_,
            std::string env_ = {})
      : name(std::move(name_)), type(type_), required(required_),
        default_value(std::move(default_value_)), description(std::move(description_)),
        env(std::move(env_)) {}

  std::string name;                         ///< TOML key, lower_snake_case
  ConfigType type = ConfigType::String;     ///< expected type
  bool required = false;                    ///< must be present when no default is given
  std::optional<ConfigValue> default_value; ///< used when the key is absent
  std::string description;                  ///< one line for `plugins describe`, with units
  /// An environment variable that, when set and not empty, overrides the manifest's value
  /// (precedence: environment, manifest, default), e.g. "OURA_DB_HOST". Empty: none. The core
  /// converts its text to `type` (integers and floats as written, booleans true/false/1/0,
  /// string lists comma-separated) and reports a bad value naming the variable, never the value.
  std::string env;
};

/// The keys a plugin accepts. Keys not listed here are rejected with `file:line:column`.
using ConfigSchema = std::vector<ConfigKey>;

/// Validated configuration of one plugin instance: every declared key with a default or a value
/// is present with the declared type.
class PluginConfig {
 public:
  PluginConfig();
  explicit PluginConfig(std::map<std::string, ConfigValue> values);
  PluginConfig(const PluginConfig&);
  PluginConfig& operator=(const PluginConfig&);
  ~PluginConfig();

  /// True when the key has a value (given, or from its default).
  bool has(const std::string& key) const;
  /// @throws ConfigError when the key is absent or has another type.
  const std::string& getString(const std::string& key) const;
  /// @throws ConfigError when the key is absent or has another type.
  std::int64_t getInt(const std::string& key) const;
  /// Integers are widened. @throws ConfigError when the key is absent or has another type.
  double getFloat(const std::string& key) const;
  /// @throws ConfigError when the key is absent or has another type.
  bool getBool(const std::string& key) const;
  /// @throws ConfigError when the key is absent or has another type.
  const std::vector<std::string>& getStringList(const std::string& key) const;
  /// All values, by key.
  const std::map<std::string, ConfigValue>& values() const noexcept { return values_; }

 private:
  const ConfigValue& at(const std::string& key) const;
  std::map<std::string, ConfigValue> values_;
};

}  // namespace oura::sdk

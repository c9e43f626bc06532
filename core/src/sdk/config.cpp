#include <oura_sdk/config.hpp>
#include <oura_sdk/errors.hpp>

namespace oura::sdk {

PluginConfig::PluginConfig() = default;
PluginConfig::PluginConfig(std::map<std::string, ConfigValue> values) : values_(std::move(values)) {}
PluginConfig::PluginConfig(const PluginConfig&) = default;
PluginConfig& PluginConfig::operator=(const PluginConfig&) = default;
PluginConfig::~PluginConfig() = default;

bool PluginConfig::has(const std::string& key) const { return values_.count(key) != 0; }

const ConfigValue& PluginConfig::at(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end()) throw ConfigError("configuration key '" + key + "' is not set");
  return it->second;
}

namespace {
template <typename T>
const T& typed(const ConfigValue& value, const std::string& key, const char* type) {
  if (const T* v = std::get_if<T>(&value)) return *v;
  throw ConfigError("configuration key '" + key + "' is not " + type);
}
}  // namespace

const std::string& PluginConfig::getString(const std::string& key) const {
  return typed<std::string>(at(key), key, "a string");
}
std::int64_t PluginConfig::getInt(const std::string& key) const {
  return typed<std::int64_t>(at(key), key, "an integer");
}
double PluginConfig::getFloat(const std::string& key) const {
  const ConfigValue& v = at(key);
  if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
  return typed<double>(v, key, "a float");
}
bool PluginConfig::getBool(const std::string& key) const {
  return typed<bool>(at(key), key, "a boolean");
}
const std::vector<std::string>& PluginConfig::getStringList(const std::string& key) const {
  return typed<std::vector<std::string>>(at(key), key, "an array of strings");
}

}  // namespace oura::sdk

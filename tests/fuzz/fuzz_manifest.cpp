// libFuzzer target: our manifest validation layer over Debian's compiled toml++
// (`loadManifest`), and each plugin table through `validatePluginConfig` against a schema that
// has every config type, a secret and an environment override.
//
// Input: manifest text. Expected outcomes: a Manifest, or sdk::ConfigError; anything else
// (another exception type, a crash) is a finding. A crash inside toml++ itself is reported, not
// patched (ISSUE 6).
#include "config/manifest.hpp"

#include <oura_sdk/config.hpp>
#include <oura_sdk/errors.hpp>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <unistd.h>

namespace {

namespace sdk = oura::sdk;

const sdk::ConfigSchema& schema() {
  static const sdk::ConfigSchema keys = {
      sdk::ConfigKey{"host", sdk::ConfigType::String, false, sdk::ConfigValue{std::string("")},
                     "a string", "OURA_FUZZ_HOST"},
      sdk::ConfigKey{"port", sdk::ConfigType::Integer, false, sdk::ConfigValue{std::int64_t{5432}},
                     "an integer", "OURA_FUZZ_PORT"},
      sdk::ConfigKey{"ratio", sdk::ConfigType::Float, false, std::nullopt, "a float"},
      sdk::ConfigKey{"enabled", sdk::ConfigType::Boolean, false, sdk::ConfigValue{true}, "a bool"},
      sdk::ConfigKey{"names", sdk::ConfigType::StringList, false, std::nullopt, "a list"},
      sdk::ConfigKey{"password", sdk::ConfigType::Secret, false, std::nullopt, "a secret"},
  };
  return keys;
}

std::string manifestPath() {
  static const std::string path = [] {
    char name[] = "/tmp/oura-fuzz-manifest-XXXXXX";
    const int fd = mkstemp(name);
    if (fd < 0) std::abort();
    close(fd);
    return std::string(name);
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = manifestPath();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    const oura::core::Manifest m = oura::core::loadManifest(path);
    auto validate = [&](const oura::core::PluginInstance& instance) {
      try {
        oura::core::validatePluginConfig(instance.config, schema(), path, instance.name);
      } catch (const sdk::ConfigError&) {
      }
    };
    validate(m.token_store);
    for (const auto& instance : m.endpoints) validate(instance);
    for (const auto& instance : m.sinks) validate(instance);
  } catch (const sdk::ConfigError&) {
  }
  return 0;
}

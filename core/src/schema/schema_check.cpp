#include "schema/schema_check.hpp"

#include "errors.hpp"
#include "schema/migrations.hpp"

#include <oura_sdk/errors.hpp>

#include <optional>

namespace oura::core {

void requireCurrentSchema(Runtime& rt) {
  std::optional<int> newest_known;
  auto newest = [&] {
    if (!newest_known) {
      try {
        newest_known = loadMigrations(migrationsDir(rt.manifest)).back().version;
      } catch (const sdk::ConfigError& e) {
        throw Error(ErrorKind::Config, e.what());
      }
    }
    return *newest_known;
  };
  for (SinkInstance& sink : rt.sinks) {
    std::optional<int> version;
    try {
      version = sink.plugin->schemaVersion();
    } catch (const std::exception& e) {
      throw Error(ErrorKind::Unavailable, "sink " + sink.name + ": " + e.what() +
                                            "; nothing was fetched");
    }
    if (!version) continue;  // a sink without a schema
    if (*version < newest()) {
      throw Error(ErrorKind::Config,
                      "sink " + sink.name + ": the database schema is at migration " +
                          std::to_string(*version) + ", this program needs " +
                          std::to_string(newest()) + ": run `oura-collector init-db` first");
    }
    if (*version > newest()) {
      throw Error(ErrorKind::Config, "sink " + sink.name + ": the database schema is at migration " +
                                       std::to_string(*version) + ", newer than this program's " +
                                       std::to_string(newest()) + ": upgrade oura-collector");
    }
  }
}

}  // namespace oura::core

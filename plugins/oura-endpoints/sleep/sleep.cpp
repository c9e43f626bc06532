// Endpoint plugin `sleep`: Oura's sleep periods (`sleep`, with heart rate and HRV samples) and
// bedtime recommendations (`sleep_time`). The specs live in collections.cpp; documents are
// mapped by the SDK's generic mapper (EndpointPlugin::mapDocument = mapByPaths): every column
// is a plain JSON path and both sample series are PublicSample objects, so nothing needs a
// mapper of its own.
#include "collections.hpp"

#include <oura_sdk/config.hpp>
#include <oura_sdk/endpoint.hpp>
#include <oura_sdk/plugin.hpp>

#include <string>
#include <vector>

namespace oura::endpoints::sleep {

/// One instance of the plugin. Holds its own collection specs (no global state, so two
/// instances coexist); the specs and their stream schemas live as long as the instance.
class SleepEndpoint : public sdk::EndpointPlugin {
 public:
  /// The plugin takes no configuration keys (pick collections with the manifest's
  /// `collector.collections`).
  static sdk::ConfigSchema configSchema() { return {}; }

  explicit SleepEndpoint(const sdk::PluginContext& context)
      : logger_(context.logger), collections_(makeCollections()) {
    if (logger_.debugEnabled()) {
      logger_.debug("sleep endpoint '" + context.instance_name + "' serves " +
                    std::to_string(collections_.size()) + " collections");
    }
  }

  const std::vector<sdk::CollectionSpec>& collections() const override { return collections_; }

 private:
  sdk::Logger logger_;
  const std::vector<sdk::CollectionSpec> collections_;
};

}  // namespace oura::endpoints::sleep

OURA_PLUGIN(oura::sdk::PluginKind::Endpoint, "sleep", "0.1.0",
            "Oura sleep periods: sleep (+ heart rate and HRV samples) and sleep_time "
            "(bedtime recommendations)",
            oura::endpoints::sleep::SleepEndpoint)

// Endpoint plugin `daily`: Oura's once-a-day collections. The specs live in collections.cpp;
// documents are mapped by the SDK's generic mapper (EndpointPlugin::mapDocument = mapByPaths).
#include "collections.hpp"

#include <oura_sdk/config.hpp>
#include <oura_sdk/endpoint.hpp>
#include <oura_sdk/plugin.hpp>

#include <string>
#include <vector>

namespace oura::endpoints::daily {

/// One instance of the plugin. Holds its own collection specs (no global state, so two
/// instances coexist); the specs and their stream schemas live as long as the instance.
class DailyEndpoint : public sdk::EndpointPlugin {
 public:
  /// The plugin takes no configuration keys (pick collections with the manifest's
  /// `collector.collections`).
  static sdk::ConfigSchema configSchema() { return {}; }

  explicit DailyEndpoint(const sdk::PluginContext& context)
      : logger_(context.logger), collections_(makeCollections()) {
    if (logger_.debugEnabled()) {
      logger_.debug("daily endpoint '" + context.instance_name + "' serves " +
                    std::to_string(collections_.size()) + " collections");
    }
  }

  const std::vector<sdk::CollectionSpec>& collections() const override { return collections_; }

 private:
  sdk::Logger logger_;
  const std::vector<sdk::CollectionSpec> collections_;
};

}  // namespace oura::endpoints::daily

OURA_PLUGIN(oura::sdk::PluginKind::Endpoint, "daily", "0.1.0",
            "Oura once-a-day summaries: daily_activity (+ MET samples), daily_sleep, "
            "daily_readiness, daily_spo2, daily_stress, daily_resilience, daily_cardiovascular_age",
            oura::endpoints::daily::DailyEndpoint)

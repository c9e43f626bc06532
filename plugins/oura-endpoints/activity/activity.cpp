// Endpoint plugin `activity`: Oura's workouts (`workout`) and guided or unguided sessions
// (`session`, with heart rate, HRV and motion samples). The specs live in collections.cpp;
// documents are mapped by the SDK's generic mapper (EndpointPlugin::mapDocument = mapByPaths):
// every column is a plain JSON path and the three sample series are PublicSample objects, so
// nothing needs a mapper of its own.
#include "collections.hpp"

#include <oura_sdk/config.hpp>
#include <oura_sdk/endpoint.hpp>
#include <oura_sdk/plugin.hpp>

#include <string>
#include <vector>

namespace oura::endpoints::activity {

/// One instance of the plugin. Holds its own collection specs (no global state, so two
/// instances coexist); the specs and their stream schemas live as long as the instance.
class ActivityEndpoint : public sdk::EndpointPlugin {
 public:
  /// The plugin takes no configuration keys (pick collections with the manifest's
  /// `collector.collections`).
  static sdk::ConfigSchema configSchema() { return {}; }

  explicit ActivityEndpoint(const sdk::PluginContext& context)
      : logger_(context.logger), collections_(makeCollections()) {
    if (logger_.debugEnabled()) {
      logger_.debug("activity endpoint '" + context.instance_name + "' serves " +
                    std::to_string(collections_.size()) + " collections");
    }
  }

  const std::vector<sdk::CollectionSpec>& collections() const override { return collections_; }

 private:
  sdk::Logger logger_;
  const std::vector<sdk::CollectionSpec> collections_;
};

}  // namespace oura::endpoints::activity

OURA_PLUGIN(oura::sdk::PluginKind::Endpoint, "activity", "0.1.0",
            "Oura workouts and sessions: workout, session (+ heart rate, HRV and motion samples)",
            oura::endpoints::activity::ActivityEndpoint)

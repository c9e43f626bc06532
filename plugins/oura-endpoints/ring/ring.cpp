// Endpoint plugin `ring`: the user's personal info, ring configurations, ring battery levels and
// rest mode periods. The specs live in collections.cpp; documents are mapped by the SDK's
// generic mapper (EndpointPlugin::mapDocument = mapByPaths): every column is a plain JSON path
// (`episodes` is one jsonb value), so no override is needed.
#include "collections.hpp"

#include <oura_sdk/config.hpp>
#include <oura_sdk/endpoint.hpp>
#include <oura_sdk/plugin.hpp>

#include <string>
#include <vector>

namespace oura::endpoints::ring {

/// One instance of the plugin. Holds its own collection specs (no global state, so two
/// instances coexist); the specs and their stream schemas live as long as the instance.
class RingEndpoint : public sdk::EndpointPlugin {
 public:
  /// The plugin takes no configuration keys (pick collections with the manifest's
  /// `collector.collections`).
  static sdk::ConfigSchema configSchema() { return {}; }

  explicit RingEndpoint(const sdk::PluginContext& context)
      : logger_(context.logger), collections_(makeCollections()) {
    if (logger_.debugEnabled()) {
      logger_.debug("ring endpoint '" + context.instance_name + "' serves " +
                    std::to_string(collections_.size()) + " collections");
    }
  }

  const std::vector<sdk::CollectionSpec>& collections() const override { return collections_; }

 private:
  sdk::Logger logger_;
  const std::vector<sdk::CollectionSpec> collections_;
};

}  // namespace oura::endpoints::ring

OURA_PLUGIN(oura::sdk::PluginKind::Endpoint, "ring", "0.1.0",
            "Oura user and ring: personal_info, ring_configuration, ring_battery_level "
            "(time series) and rest_mode_period (whole history each run)",
            oura::endpoints::ring::RingEndpoint)

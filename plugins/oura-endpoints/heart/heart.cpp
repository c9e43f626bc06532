// Endpoint plugin `heart`: Oura's heart-rate time series and VO2 max estimates. The specs live in
// collections.cpp; documents are mapped by the SDK's generic mapper
// (EndpointPlugin::mapDocument = mapByPaths): every column is a plain JSON path, so no override
// is needed.
#include "collections.hpp"

#include <oura_sdk/config.hpp>
#include <oura_sdk/endpoint.hpp>
#include <oura_sdk/plugin.hpp>

#include <string>
#include <vector>

namespace oura::endpoints::heart {

/// One instance of the plugin. Holds its own collection specs (no global state, so two
/// instances coexist); the specs and their stream schemas live as long as the instance.
class HeartEndpoint : public sdk::EndpointPlugin {
 public:
  /// The plugin takes no configuration keys (pick collections with the manifest's
  /// `collector.collections`).
  static sdk::ConfigSchema configSchema() { return {}; }

  explicit HeartEndpoint(const sdk::PluginContext& context)
      : logger_(context.logger), collections_(makeCollections()) {
    if (logger_.debugEnabled()) {
      logger_.debug("heart endpoint '" + context.instance_name + "' serves " +
                    std::to_string(collections_.size()) + " collections");
    }
  }

  const std::vector<sdk::CollectionSpec>& collections() const override { return collections_; }

 private:
  sdk::Logger logger_;
  const std::vector<sdk::CollectionSpec> collections_;
};

}  // namespace oura::endpoints::heart

OURA_PLUGIN(oura::sdk::PluginKind::Endpoint, "heart", "0.1.0",
            "Oura heart data: heartrate (time series, one row per sample) and vO2_max "
            "(daily VO2 max estimates)",
            oura::endpoints::heart::HeartEndpoint)

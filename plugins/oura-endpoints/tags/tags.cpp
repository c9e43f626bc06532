// Endpoint plugin `tags`: the tags a user enters in the Oura app. The specs live in
// collections.cpp; documents are mapped by the SDK's generic mapper
// (EndpointPlugin::mapDocument = mapByPaths): every column is a plain JSON path, so no override
// is needed.
#include "collections.hpp"

#include <oura_sdk/config.hpp>
#include <oura_sdk/endpoint.hpp>
#include <oura_sdk/plugin.hpp>

#include <string>
#include <vector>

namespace oura::endpoints::tags {

/// One instance of the plugin. Holds its own collection specs (no global state, so two
/// instances coexist); the specs and their stream schemas live as long as the instance.
class TagsEndpoint : public sdk::EndpointPlugin {
 public:
  /// The plugin takes no configuration keys (pick collections with the manifest's
  /// `collector.collections`).
  static sdk::ConfigSchema configSchema() { return {}; }

  explicit TagsEndpoint(const sdk::PluginContext& context)
      : logger_(context.logger), collections_(makeCollections()) {
    if (logger_.debugEnabled()) {
      logger_.debug("tags endpoint '" + context.instance_name + "' serves " +
                    std::to_string(collections_.size()) + " collections");
    }
  }

  const std::vector<sdk::CollectionSpec>& collections() const override { return collections_; }

 private:
  sdk::Logger logger_;
  const std::vector<sdk::CollectionSpec> collections_;
};

}  // namespace oura::endpoints::tags

OURA_PLUGIN(oura::sdk::PluginKind::Endpoint, "tags", "0.1.0",
            "Oura user-entered tags: enhanced_tag (tag types, durations, comments) and the "
            "deprecated tag (notes with a list of tags)",
            oura::endpoints::tags::TagsEndpoint)

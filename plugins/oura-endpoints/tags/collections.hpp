#pragma once
/// @file collections.hpp
/// The collections of the `tags` endpoint plugin: the tags a user enters in the Oura app, in
/// the old form (`tag`, deprecated by Oura but still served) and the new one (`enhanced_tag`),
/// declared as stream schemas whose columns are read by the SDK's generic mapper
/// (`oura::sdk::mapByPaths`).

#include <oura_sdk/endpoint.hpp>

#include <vector>

namespace oura::endpoints::tags {

/// Builds the specs of every collection this plugin serves, in a fixed order:
/// - `tag` (OpenAPI TagModel): DateWindow on `day`;
/// - `enhanced_tag` (OpenAPI EnhancedTagModel): DateWindow on `start_day`.
/// Both: `{data, next_token}` envelope, at most 365 days a request, key (`id`) (a day can hold
/// several tags), scope "tag", one stream (the document stream named like the collection, last
/// column `raw`, the source document); nothing is `raw_only`.
/// Returns fresh values on every call (no shared state).
std::vector<oura::sdk::CollectionSpec> makeCollections();

}  // namespace oura::endpoints::tags

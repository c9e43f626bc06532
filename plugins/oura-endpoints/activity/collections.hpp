#pragma once
/// @file collections.hpp
/// The collections of the `activity` endpoint plugin: Oura's workouts (`workout`, OpenAPI
/// PublicWorkout) and sessions (`session`, OpenAPI PublicSession), declared as stream schemas
/// whose columns are read by the SDK's generic mapper (`oura::sdk::mapByPaths`).

#include <oura_sdk/endpoint.hpp>

#include <vector>

namespace oura::endpoints::activity {

/// Builds the specs of every collection this plugin serves, in a fixed order: `workout`, then
/// `session`.
/// Both: strategy DateWindow on `day`, envelope `{data, next_token}`, at most 365 days a
/// request, several documents a day, so keyed by (`id`); streams[0] the document stream named
/// like the collection (last column `raw`, the source document).
/// - `workout`: scope "workout"; no child streams.
/// - `session`: scope "session"; child streams `session_heart_rate` (bpm),
///   `session_heart_rate_variability` (ms) and `session_motion_count` (count), keyed by
///   (`session_id`, `timestamp`).
/// Returns fresh values on every call (no shared state).
std::vector<oura::sdk::CollectionSpec> makeCollections();

}  // namespace oura::endpoints::activity

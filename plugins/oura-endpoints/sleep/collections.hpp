#pragma once
/// @file collections.hpp
/// The collections of the `sleep` endpoint plugin: Oura's sleep periods (`sleep`, OpenAPI
/// PublicModifiedSleepModel) and bedtime recommendations (`sleep_time`, OpenAPI
/// PublicSleepTime), declared as stream schemas whose columns are read by the SDK's generic
/// mapper (`oura::sdk::mapByPaths`).

#include <oura_sdk/endpoint.hpp>

#include <vector>

namespace oura::endpoints::sleep {

/// Builds the specs of every collection this plugin serves, in a fixed order: `sleep`, then
/// `sleep_time`.
/// Both: strategy DateWindow on `day`, envelope `{data, next_token}`, at most 365 days a
/// request, scope "daily" (the spec's OAuth2 scope list has no narrower one for sleep),
/// streams[0] the document stream named like the collection (last column `raw`, the source
/// document).
/// - `sleep`: several documents a day (long_sleep, sleep, late_nap, rest, deleted), so keyed by
///   (`id`); child streams `sleep_heart_rate` (bpm) and `sleep_hrv` (ms), keyed by (`sleep_id`,
///   `timestamp`).
/// - `sleep_time`: one document a day, keyed by (`day`); `id` is an ordinary column.
/// Returns fresh values on every call (no shared state).
std::vector<oura::sdk::CollectionSpec> makeCollections();

}  // namespace oura::endpoints::sleep

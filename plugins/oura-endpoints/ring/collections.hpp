#pragma once
/// @file collections.hpp
/// The collections of the `ring` endpoint plugin: the user (`personal_info`), the rings
/// (`ring_configuration`), the ring's battery (`ring_battery_level`) and rest mode
/// (`rest_mode_period`), declared as stream schemas whose columns are read by the SDK's generic
/// mapper (`oura::sdk::mapByPaths`).

#include <oura_sdk/endpoint.hpp>

#include <vector>

namespace oura::endpoints::ring {

/// Builds the specs of every collection this plugin serves, in a fixed order:
/// - `personal_info` (OpenAPI PersonalInfoResponse): Snapshot, a bare object (no envelope, no
///   dates), no day field; key (`id`); scope "personal" (`email` also needs "email");
/// - `ring_configuration` (OpenAPI PublicRingConfiguration): Snapshot, `{data, next_token}`
///   envelope without dates, no day field; key (`id`); scope "ring_configuration" (the live
///   server's; the OpenAPI export lists no scope for it);
/// - `ring_battery_level` (OpenAPI PublicRingBatteryLevelRow): DateTimeWindow
///   (`start_datetime`/`end_datetime`), at most 30 days a request, rows kept by the first 10
///   characters of `timestamp`; key (`timestamp`); scope "ring_configuration" (the live server's);
/// - `rest_mode_period` (OpenAPI PublicRestModePeriod): FullRefetch (the whole history each run,
///   so open periods close), day field `start_day`; key (`id`); scope "daily"; `episodes` is
///   one jsonb column.
/// Each has one stream, the document stream named like the collection (last column `raw`, the
/// source document); nothing is `raw_only`.
/// Returns fresh values on every call (no shared state).
std::vector<oura::sdk::CollectionSpec> makeCollections();

}  // namespace oura::endpoints::ring

#pragma once
/// @file collections.hpp
/// The collections of the `heart` endpoint plugin: Oura's heart-rate time series (`heartrate`)
/// and VO2 max estimates (`vO2_max`), declared as stream schemas whose columns are read by the
/// SDK's generic mapper (`oura::sdk::mapByPaths`).

#include <oura_sdk/endpoint.hpp>

#include <vector>

namespace oura::endpoints::heart {

/// Builds the specs of every collection this plugin serves, in a fixed order:
/// - `heartrate` (OpenAPI PublicHeartRateRow): DateTimeWindow (`start_datetime`/`end_datetime`),
///   at most 30 days a request, `{data, next_token}` envelope, rows kept by the first 10
///   characters of `timestamp` (its UTC date); key (`timestamp`, `source`); scope "heartrate";
/// - `vO2_max` (OpenAPI PublicVO2Max, path `/v2/usercollection/vO2_max` with a capital O):
///   DateWindow on `day`, at most 365 days a request; key (`day`), `id` an ordinary column;
///   scope "heart_health" (the live server's; the OpenAPI export lists none).
/// Each has one stream, the document stream named like the collection (`heartrate`, `vO2_max`;
/// last column `raw`, the source document); nothing is `raw_only`.
/// Returns fresh values on every call (no shared state).
std::vector<oura::sdk::CollectionSpec> makeCollections();

}  // namespace oura::endpoints::heart

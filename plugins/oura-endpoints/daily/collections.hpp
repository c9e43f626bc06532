#pragma once
/// @file collections.hpp
/// The collections of the `daily` endpoint plugin: Oura's once-a-day documents
/// (`daily_activity`, `daily_sleep`, `daily_readiness`, `daily_spo2`, `daily_stress`,
/// `daily_resilience`, `daily_cardiovascular_age`), declared as stream schemas whose columns are
/// read by the SDK's generic mapper (`oura::sdk::mapByPaths`).

#include <oura_sdk/endpoint.hpp>

#include <vector>

namespace oura::endpoints::daily {

/// Builds the specs of every collection this plugin serves, in a fixed order.
/// Every collection: strategy DateWindow on `day`, envelope `{data, next_token}`, at most 365 days
/// a request, key (`day`), streams[0] the document stream named like the collection (last column
/// `raw`, the source document). `daily_activity` has a child stream `daily_activity_met`.
/// Scopes: "daily", except `daily_spo2` ("spo2", as the live authorization server grants it; the
/// OpenAPI export calls it "spo2Daily", an alias the core accepts), `daily_resilience`
/// ("stress") and `daily_cardiovascular_age` ("heart_health"): the live server gates those two on
/// scopes the OpenAPI export does not list.
/// Returns fresh values on every call (no shared state).
std::vector<oura::sdk::CollectionSpec> makeCollections();

}  // namespace oura::endpoints::daily

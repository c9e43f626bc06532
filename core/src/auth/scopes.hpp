#pragma once
// OAuth2 scope names as Oura's live authorization server grants them (docs/DESIGN.md "Oura API
// facts", docs/operations.md "Scopes"). The OpenAPI export lists 8 scopes, but the live server
// grants the SpO2 scope as `spo2` (the spec says `spo2Daily`) and gates more collections on
// scopes the spec does not list (`stress`, `heart_health`, `ring_configuration`); applications
// of the new developer portal see every name with an `extapi:` prefix. A name is therefore
// compared as a set of aliases: with and without `extapi:`, and `spo2` = `spo2Daily`.

#include <string>
#include <vector>

namespace oura::core {

// Every spelling of `scope` that grants the same access: itself without and with the
// `extapi:` prefix, and the same for its alias (`spo2` <-> `spo2Daily`). Empty for "".
std::vector<std::string> scopeAliases(const std::string& scope);

// True when one of `granted` is an alias of `scope` (or `scope` is empty).
bool scopeGranted(const std::vector<std::string>& granted, const std::string& scope);

// The scopes `auth login` asks for by default: `email` and `personal` (the account's id and
// address) and every scope a collection of the bundled endpoint plugins needs, live names.
const std::vector<std::string>& defaultScopes();

// `scopes` plus every scope of `needed` that none of them grants (in `needed`'s order, without
// duplicates): what a login must ask for so that the enabled collections are authorised.
std::vector<std::string> withNeededScopes(std::vector<std::string> scopes,
                                          const std::vector<std::string>& needed);

}  // namespace oura::core

#pragma once
// The api.* settings of a manifest, checked the way a scrape would use them.

#include "config/manifest.hpp"

#include <string>

namespace oura::core {

// The message for a problem with the api.* settings, naming where the value came from
// (the manifest's key, or $OURA_API_BASE_URL).
std::string apiSettingsProblem(const Manifest& manifest, const std::string& problem);

// Validates the api.* settings the way a scrape would (URL, plain http only to loopback, TLS
// set-up with the CA file) without connecting. Throws Error (Config).
void checkApiSettings(const Manifest& manifest);

}  // namespace oura::core

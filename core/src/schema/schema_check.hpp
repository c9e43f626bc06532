#pragma once
// Whether the sinks' database schemas match this program's migrations.

#include "plugin_host/runtime.hpp"

namespace oura::core {

// Before a scrape or reprocess into sinks that keep a schema: every such sink's schema must be
// at the newest migration of the migrations folder (read only when a sink keeps a schema).
// Throws Error (Config, "... run init-db") when one is behind, (Config) when it is ahead (an older
// program) or the folder is unusable, (69) when a sink cannot be reached.
void requireCurrentSchema(Runtime& runtime);

}  // namespace oura::core

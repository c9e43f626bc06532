#pragma once
// Replacing an output file (--summary-json, --metrics-file, report --output) so that a reader
// sees the previous content or the new one, never half of one.

#include <string>

namespace oura::core {

// Writes `body` to a new file of our own beside `path` (mkstemp: O_EXCL, never through a planted
// symbolic link; its name never ends like the target's, so node_exporter never reads it
// half-written), mode 0644, fsyncs it and renames it over `path`.
// Returns "" on success, else what failed ("cannot create a file beside PATH: <strerror>" or
// "cannot write PATH: <strerror>"); the temporary file is removed on failure. Never throws.
std::string replaceFile(const std::string& path, const std::string& body);

}  // namespace oura::core

#pragma once
// Whether a file may be loaded into the process (a plugin library): the rule OpenSSH's
// StrictModes and sudo apply. The file and every folder up to the root must be owned by root or
// by the running user and must not be writable by group or others; a root-owned folder with the
// sticky bit (such as /tmp) may sit above a folder that passes. Symbolic links are followed and
// both the link's folders and the target's are checked. docs/operations.md "Trust rules".

#include <optional>
#include <string>

namespace oura::core {

// Nothing when `path` may be loaded; else why not, naming the offending path and the reason
// ("/opt/p: writable by group and others (mode 0777)").
std::optional<std::string> untrustedPathReason(const std::string& path);

// The same check for a folder (the folder and its ancestors).
std::optional<std::string> untrustedFolderReason(const std::string& folder);

}  // namespace oura::core

// See trust.hpp.
#include "plugin_host/trust.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <system_error>

namespace oura::core {

namespace {

namespace fs = std::filesystem;

std::string octalMode(mode_t mode) {
  std::ostringstream out;
  out << "0" << std::oct << (mode & 07777);
  return out.str();
}

// Why one path (not its ancestors) is not trusted; `above_passing_folder`: a root-owned sticky
// folder is then accepted.
std::optional<std::string> checkOne(const fs::path& path, bool above_passing_folder) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    return path.string() + ": cannot check: " + std::strerror(errno);
  }
  const uid_t me = ::geteuid();
  if (st.st_uid != 0 && st.st_uid != me) {
    return path.string() + ": owned by uid " + std::to_string(st.st_uid) +
           ", neither root nor the running user (uid " + std::to_string(me) + ")";
  }
  const bool group_w = (st.st_mode & S_IWGRP) != 0;
  const bool other_w = (st.st_mode & S_IWOTH) != 0;
  if (!group_w && !other_w) return std::nullopt;
  if (above_passing_folder && S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX) != 0 &&
      st.st_uid == 0) {
    return std::nullopt;  // /tmp-like: others cannot replace what a passing folder below holds
  }
  return path.string() + ": writable by " +
         (group_w && other_w ? std::string("group and others")
                             : group_w ? std::string("group") : std::string("others")) +
         " (mode " + octalMode(st.st_mode) + ")";
}

// `folder` (absolute, no symlinks) and every ancestor; `first_is_holder`: `folder` directly holds
// the file being checked, so it must pass on its own (no sticky exception).
std::optional<std::string> checkChain(const fs::path& folder, bool first_is_holder) {
  bool holder = first_is_holder;
  for (fs::path at = folder;; at = at.parent_path()) {
    if (auto reason = checkOne(at, !holder)) return reason;
    holder = false;
    if (at == at.root_path() || at.parent_path() == at) break;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> untrustedFolderReason(const std::string& folder) {
  std::error_code ec;
  const fs::path canonical = fs::canonical(folder, ec);
  if (ec) return folder + ": cannot check: " + ec.message();
  const fs::path absolute = fs::absolute(folder, ec).lexically_normal();
  if (!ec && absolute != canonical) {
    // A link's own folders decide who can redirect it.
    if (auto reason = checkChain(fs::canonical(absolute.parent_path(), ec), false)) return reason;
  }
  return checkChain(canonical, true);
}

std::optional<std::string> untrustedPathReason(const std::string& path) {
  std::error_code ec;
  const fs::path absolute = fs::absolute(path, ec).lexically_normal();
  if (ec) return path + ": cannot check: " + ec.message();
  // The folders holding the name as given (a symbolic link is replaceable by whoever can write
  // its folder)...
  const fs::path given_parent = fs::canonical(absolute.parent_path(), ec);
  if (ec) return path + ": cannot check: " + ec.message();
  if (auto reason = checkChain(given_parent, true)) return reason;
  // ...and the file itself with the folders holding what it resolves to.
  const fs::path target = fs::canonical(absolute, ec);
  if (ec) return path + ": cannot check: " + ec.message();
  if (auto reason = checkOne(target, false)) return reason;
  if (target.parent_path() != given_parent) {
    if (auto reason = checkChain(target.parent_path(), true)) return reason;
  }
  return std::nullopt;
}

}  // namespace oura::core

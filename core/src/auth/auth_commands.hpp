#pragma once
// The `auth` commands: login (authorization-code flow with a loopback listener or a pasted
// URL), status, refresh (forced), logout (revoke, then clear the store). See README "Commands"
// and docs/DESIGN.md "OAuth2 and token stores".

#include "errors.hpp"
#include "plugin_host/runtime.hpp"

#include <atomic>
#include <string>
#include <vector>

namespace oura::core {

// `args` are the words after `auth` (e.g. {"login", "--no-listen"}). Returns how it ended
// (ErrorKind::None: ok);
// throws Error / sdk errors mapped by the application.
ErrorKind runAuthCommand(Runtime& rt, const std::vector<std::string>& args, bool no_listen,
                         const std::atomic<bool>& stop);

}  // namespace oura::core

// Helpers shared by every test: run a program, environment, temp folders, plain HTTP GET.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace oura::test {

/// What a finished program left behind: its exit code (256 + signal number when a signal
/// killed it, -1 when it could not be started) and everything it wrote to stdout and stderr.
struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// Runs `program` (looked up on PATH when it has no '/') with `args`, the current environment
/// plus `extra_env`, and `stdin_text` on its stdin (then closed). Reads stdout and stderr fully
/// (each on its own thread, so a chatty child never deadlocks) and waits for the exit.
/// Throws std::runtime_error when the program cannot be started.
CommandResult runCommand(const std::string& program, const std::vector<std::string>& args,
                         const std::map<std::string, std::string>& extra_env = {},
                         const std::string& stdin_text = "");

/// The value of environment variable `name`, or `fallback` when it is unset or empty.
std::string envOr(const char* name, const std::string& fallback);

/// A fresh, empty folder under $TMPDIR (default /tmp), e.g. /tmp/oura-test-AbC123.
/// The caller removes it (or leaves it for inspection). Throws std::runtime_error.
std::string makeTempDir();

/// Writes `content` to `dir`/`name` (replacing it) and returns the full path.
/// Throws std::runtime_error when the file cannot be written.
std::string writeFile(const std::string& dir, const std::string& name, const std::string& content);

/// One HTTP answer: status, headers (names lower-cased) and the body as received
/// (not decompressed).
struct HttpResult {
  int status = 0;
  std::map<std::string, std::string> headers;
  std::string body;
};

/// A plain HTTP/1.1 request to `base_url` ("http://127.0.0.1:PORT") + `path_and_query`, e.g.
/// httpRequest(fake.baseUrl(), "/v2/usercollection/daily_sleep?start_date=...",
///             {{"Authorization", "Bearer " + fake.token()}}).
/// Throws std::runtime_error on a connection failure; any HTTP status is returned.
HttpResult httpRequest(const std::string& base_url, const std::string& path_and_query,
                       const std::map<std::string, std::string>& headers = {},
                       const std::string& method = "GET", const std::string& body = "",
                       const std::string& content_type = "application/json");

}  // namespace oura::test

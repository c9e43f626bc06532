// The process side of every Python fake server in tests/fakes/ (fake_oura.py, fake_azure.py):
// started with the interpreter, its first stdout line (where it says where it listens) awaited,
// its stderr kept, stopped with SIGTERM (SIGKILL after a grace period); and the JSON control
// endpoints (/_fake/...) the fakes share. FakeOura and FakeAzure are built on it.
#pragma once

#include <Poco/Dynamic/Var.h>

#include <memory>
#include <string>
#include <vector>

namespace oura::test {

/// One running fake: `python3 <script> <args...>` on this machine, owned by its creator.
///
///   PythonFake process("the fake Oura server", script, {"--port", "0", "--quiet"});
///   if (process.firstLine().rfind("listening on ", 0) != 0) process.failedToStart();
class PythonFake {
 public:
  /// Starts the script with $OURA_PYTHON, else /usr/bin/python3 when present (a version-manager
  /// shim on PATH can add a second to every start), else python3 from PATH, and waits at most
  /// 20 s for its first stdout line. `what` names the fake in errors.
  /// @throws std::runtime_error when the interpreter cannot be started.
  PythonFake(std::string what, const std::string& script, const std::vector<std::string>& args);
  /// stop().
  ~PythonFake();
  PythonFake(const PythonFake&) = delete;
  PythonFake& operator=(const PythonFake&) = delete;

  /// The first stdout line without its newline; empty when the process ended (or 20 s went by)
  /// before writing one.
  const std::string& firstLine() const { return first_line_; }
  /// What the fake has written to stderr so far.
  std::string serverStderr() const;
  /// SIGTERM, then SIGKILL after 5 s; reaps the process and joins the reader threads.
  /// Idempotent.
  void stop();
  /// Stops the fake and throws std::runtime_error "<what> did not start (first line: '...');
  /// its stderr: ...".
  [[noreturn]] void failedToStart();

 private:
  struct Impl;
  std::string what_;
  std::unique_ptr<Impl> impl_;
  std::string first_line_;
};

/// GET `base_url` + `path` of a fake's control endpoint, parsed as JSON.
/// @throws std::runtime_error unless it answers 200 with JSON.
Poco::Dynamic::Var fakeGetJson(const std::string& base_url, const std::string& path);

/// POST `json_body` to `base_url` + `control_path`; the answer's body.
/// @throws std::runtime_error unless it answers 200.
std::string fakePost(const std::string& base_url, const std::string& control_path,
                     const std::string& json_body);

}  // namespace oura::test

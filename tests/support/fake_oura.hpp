// Launcher for the fake Oura API server (tests/fakes/fake_oura.py, see tests/fakes/README.md).
#pragma once

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <memory>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace oura::test {

class PythonFake;

/// One running fake Oura server on 127.0.0.1, owned by the test that created it.
///
///   oura::test::FakeOura fake({"--page-size", "3"});
///   auto page = httpRequest(fake.baseUrl(), "/v2/usercollection/daily_sleep?...",
///                           {{"Authorization", "Bearer " + fake.token()}});
class FakeOura {
 public:
  /// Starts `python3 $OURA_FAKE_SERVER --port 0 --quiet <extra_args...>` and waits (at most
  /// 20 s) for its "listening on http://127.0.0.1:PORT" line. The interpreter is $OURA_PYTHON,
  /// else /usr/bin/python3 when present, else python3 from PATH. Throws std::runtime_error with
  /// the server's stderr when it exits, times out or OURA_FAKE_SERVER is unset.
  explicit FakeOura(std::vector<std::string> extra_args = {});
  /// Terminates the server (SIGTERM, then SIGKILL after 5 s) and reaps it.
  ~FakeOura();
  FakeOura(const FakeOura&) = delete;
  FakeOura& operator=(const FakeOura&) = delete;

  int port() const;
  /// "http://127.0.0.1:PORT"
  std::string baseUrl() const;
  /// The accepted bearer token: "test-token" unless `--token` was passed.
  std::string token() const;
  /// What the server has written to stderr so far (the request log when not --quiet).
  std::string serverStderr() const;

  /// GET /_fake/documents: the documents of `collection` whose day is in
  /// [start_date, end_date] (both inclusive, YYYY-MM-DD), as the API serves them.
  Poco::JSON::Array::Ptr documents(const std::string& collection, const std::string& start_date,
                                   const std::string& end_date);
  /// GET /_fake/stats: {"total": n, "per_route": {path: n}, "log": [{path, query, status}]}.
  Poco::JSON::Object::Ptr stats();
  /// GET /_fake/oauth: {"token_calls", "refresh_calls", "authorize_calls", "revoke_calls",
  /// "refresh_tokens": [currently valid], "access_tokens": [currently valid], "lifetime",
  /// "granted_scopes", "log": [{endpoint, grant_type, status, error}]}.
  Poco::JSON::Object::Ptr oauth();
  /// POST /_fake/oauth {"seed": true}: a fresh token pair the fake accepts, as
  /// {"access_token", "refresh_token", "expires_in", "scope"} (to seed a token store).
  Poco::JSON::Object::Ptr seedTokens();
  /// POST `json_body` to a control endpoint, e.g. post("/_fake/faults", R"({...})").
  /// Throws std::runtime_error unless the server answers 200.
  void post(const std::string& control_path, const std::string& json_body);
  /// POST /_fake/reset: clears faults, stats and config overrides.
  void reset();

 private:
  std::unique_ptr<PythonFake> process_;
  std::string token_ = "test-token";
  int port_ = 0;
};

}  // namespace oura::test

// Launcher for the fake Azure services (tests/fakes/fake_azure.py: Entra ID token endpoint,
// IMDS, Key Vault secrets API; see tests/fakes/README.md "Fake Azure").
#pragma once

#include <Poco/JSON/Object.h>

#include <memory>
#include <string>
#include <vector>

#include "test_ca.hpp"
#include "test_support.hpp"

namespace oura::test {

class PythonFake;

/// One running fake on 127.0.0.1, owned by the test that created it: HTTPS (Entra ID and Key
/// Vault, with a test certificate made in `dir`) and plain HTTP (IMDS and the /_fake control
/// endpoints).
///
///   oura::test::FakeAzure azure(dir);
///   config["vault_url"] = azure.httpsUrl();  config["ca_file"] = azure.caFile();
///   azure.post("/_fake/faults", R"({"faults":[{"kind":"429","retry_after":"2"}]})");
class FakeAzure {
 public:
  /// Makes a test certificate for IP:127.0.0.1 in `dir` and starts
  /// `python3 $OURA_SOURCE_DIR/tests/fakes/fake_azure.py --quiet --cert ... --key ... <extra>`,
  /// waiting (at most 20 s) for its "listening on" line. The interpreter is $OURA_PYTHON, else
  /// /usr/bin/python3 when present, else python3 from PATH.
  /// @throws std::runtime_error with the fake's stderr when it does not start.
  explicit FakeAzure(const std::string& dir, std::vector<std::string> extra_args = {});
  /// Terminates the fake (SIGTERM, then SIGKILL after 5 s) and reaps it.
  ~FakeAzure();
  FakeAzure(const FakeAzure&) = delete;
  FakeAzure& operator=(const FakeAzure&) = delete;

  /// "https://127.0.0.1:PORT": the vault URL and the authority host.
  std::string httpsUrl() const { return https_url_; }
  /// "http://127.0.0.1:PORT": the IMDS endpoint and the control endpoints.
  std::string httpUrl() const { return http_url_; }
  /// The PEM file to trust (the fake's self-signed certificate).
  std::string caFile() const { return certificate_.cert; }
  /// Defaults of the fake's command line (tenant, app and workload client ids, client secret).
  static constexpr const char* kTenant = "test-tenant";
  static constexpr const char* kClientId = "test-client";
  static constexpr const char* kClientSecret = "test-client-secret";
  static constexpr const char* kWorkloadClientId = "test-workload-client";

  /// GET /_fake/stats (see the README). @throws std::runtime_error unless 200.
  Poco::JSON::Object::Ptr stats();
  /// POST `json_body` to a control endpoint. @throws std::runtime_error unless 200.
  void post(const std::string& control_path, const std::string& json_body);
  /// What the fake has written to stderr so far.
  std::string serverStderr() const;

 private:
  TestCertificate certificate_;
  std::unique_ptr<PythonFake> process_;
  std::string https_url_;
  std::string http_url_;
};

}  // namespace oura::test

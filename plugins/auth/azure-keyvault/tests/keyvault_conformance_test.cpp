// The shared token-store conformance suite (tests/support/token_store_conformance.hpp) for the
// built azure-keyvault plugin, loaded through the program's plugin loader, against
// tests/fakes/fake_azure.py over HTTPS with each credential type and both lock providers (the
// PostgreSQL one on the cluster of the test command: PGHOST, PGPORT, PGUSER).
#include <Poco/File.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "fake_azure.hpp"
#include "test_support.hpp"
#include "token_store_conformance.hpp"

namespace {

using oura::test::FakeAzure;
using oura::test::TokenStoreCase;

// One fake for the whole program (a case's setup empties it); children forked by the suite
// inherit it and only talk to it.
struct Shared {
  std::string dir = oura::test::makeTempDir();
  std::unique_ptr<FakeAzure> azure = std::make_unique<FakeAzure>(dir);
  ~Shared() {
    azure.reset();
    Poco::File(dir).remove(true);
  }
};

Shared& shared() {
  static Shared instance;
  return instance;
}

std::string common() {
  FakeAzure& azure = *shared().azure;
  return "vault_url = '" + azure.httpsUrl() + "'\nauthority_host = '" + azure.httpsUrl() +
         "'\nimds_endpoint = '" + azure.httpUrl() + "'\nca_file = '" + azure.caFile() +
         "'\ntimeout_seconds = 5\npurge_on_clear = true\n";
}

std::string postgresLock() {
  return "lock = 'postgres'\n" + oura::test::testPostgresToml("postgres");
}

std::string fileLock() { return "lock = 'file'\nlock_file = '" + shared().dir + "/kv.lock'\n"; }

TokenStoreCase makeCase(const std::string& name, std::function<std::string()> config,
                        bool postgres) {
  TokenStoreCase c;
  c.name = name;
  c.setup = [] {
    shared().azure->post("/_fake/reset", "{}");
    shared().azure->post("/_fake/config", R"({"imds_clients": ["conformance-identity"]})");
  };
  c.make = [config] { return oura::test::loadTokenStore("azure-keyvault", config()); };
  if (postgres) {
    // The holding session's application_name carries the holder process's pid.
    c.expected_holder = [](int pid) { return "(pid " + std::to_string(pid) + ")"; };
  }
  return c;
}

std::vector<TokenStoreCase> cases() {
  ::setenv("OURA_TEST_KV_CLIENT_SECRET", FakeAzure::kClientSecret, 1);
  return {
      makeCase("client_secret_postgres_lock",
               [] {
                 return common() + postgresLock() +
                        "credential = 'client_secret'\ntenant_id = '" + FakeAzure::kTenant +
                        "'\nclient_id = '" + FakeAzure::kClientId +
                        "'\nclient_secret = { env = 'OURA_TEST_KV_CLIENT_SECRET' }\n";
               },
               true),
      makeCase("managed_identity_file_lock",
               [] {
                 return common() + fileLock() +
                        "credential = 'managed_identity'\nclient_id = 'conformance-identity'\n";
               },
               false),
      makeCase("workload_identity_postgres_lock",
               [] {
                 const std::string file = oura::test::writeFile(
                     shared().dir, "federated-token", "conformance-assertion");
                 return common() + postgresLock() + "credential = 'workload_identity'\n" +
                        "tenant_id = '" + FakeAzure::kTenant + "'\nclient_id = '" +
                        FakeAzure::kWorkloadClientId + "'\nfederated_token_file = '" + file +
                        "'\nsecret_name = 'workload-tokens'\n";
               },
               true),
  };
}

}  // namespace

using oura::test::TokenStoreConformance;
INSTANTIATE_TEST_SUITE_P(AzureKeyVault, TokenStoreConformance,
                         ::testing::ValuesIn(oura::test::tokenStoreCases(cases())),
                         oura::test::tokenStoreCaseName);

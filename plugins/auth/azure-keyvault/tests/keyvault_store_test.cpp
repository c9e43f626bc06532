// The azure-keyvault token store against tests/fakes/fake_azure.py (Entra ID, IMDS, Key Vault)
// over HTTPS with a test CA, every credential type, the Key Vault faults, and both lock
// providers (the PostgreSQL one against the real cluster of the test command).
#include "../keyvault_store.hpp"

#include <Poco/File.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <oura_sdk/errors.hpp>
#include <string>
#include <vector>

#include "fake_azure.hpp"
#include "test_support.hpp"

namespace {

using namespace oura::sdk;
using oura::plugins::azure_keyvault::KeyVaultTokenStore;
using oura::test::FakeAzure;
using std::chrono::milliseconds;

TokenSet tokensOf(std::int64_t generation, const std::string& tag) {
  TokenSet t;
  t.access_token = "fake-at-" + tag;
  t.refresh_token = "fake-rt-" + tag;
  t.expires_at = 1900000000 + generation;
  t.scopes = {"daily", "heartrate"};
  t.generation = generation;
  t.refreshed_at = 1800000000 + generation;
  return t;
}

std::string errorOf(const std::function<void()>& call) {
  try {
    call();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no exception)";
}

class KeyVaultStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = oura::test::makeTempDir();
    azure_ = std::make_unique<FakeAzure>(dir_);
  }
  void TearDown() override {
    azure_.reset();
    Poco::File(dir_).remove(true);
  }

  // Every key with its schema default, then the fake's endpoints, then `overrides`.
  std::map<std::string, ConfigValue> config(const std::string& credential,
                                            std::map<std::string, ConfigValue> overrides = {}) {
    std::map<std::string, ConfigValue> values;
    for (const ConfigKey& key : KeyVaultTokenStore::configSchema()) {
      if (key.default_value) values[key.name] = *key.default_value;
    }
    values["vault_url"] = azure_->httpsUrl();
    values["authority_host"] = azure_->httpsUrl();
    values["imds_endpoint"] = azure_->httpUrl();
    values["ca_file"] = azure_->caFile();
    values["credential"] = credential;
    values["timeout_seconds"] = std::int64_t{5};
    values["lock"] = std::string("file");
    values["lock_file"] = dir_ + "/kv.lock";
    if (credential == "client_secret") {
      values["tenant_id"] = std::string(FakeAzure::kTenant);
      values["client_id"] = std::string(FakeAzure::kClientId);
      values["client_secret"] = std::string(FakeAzure::kClientSecret);
    }
    for (auto& [key, value] : overrides) values[key] = value;
    return values;
  }

  std::unique_ptr<KeyVaultTokenStore> make(const std::map<std::string, ConfigValue>& values) {
    auto store = std::make_unique<KeyVaultTokenStore>(
        PluginContext{"token", Logger("oura.auth.token"), PluginConfig(values)});
    store->setSleepForTesting([this](milliseconds wait) { waits_.push_back(wait); });
    return store;
  }
  std::unique_ptr<KeyVaultTokenStore> make(const std::string& credential = "client_secret") {
    return make(config(credential));
  }

  Poco::JSON::Object::Ptr secretStats(const std::string& name = "oura-tokens") {
    auto secrets = azure_->stats()->getObject("secrets");
    return secrets ? secrets->getObject(name) : nullptr;
  }
  int versions(const std::string& name = "oura-tokens") {
    auto s = secretStats(name);
    return s ? s->getValue<int>("versions") : 0;
  }
  int stat(const std::string& key) { return azure_->stats()->getValue<int>(key); }
  int tokenRequests(const std::string& kind) {
    return azure_->stats()->getObject("token_requests")->getValue<int>(kind);
  }
  void faults(const std::string& json) { azure_->post("/_fake/faults", json); }

  std::string dir_;
  std::unique_ptr<FakeAzure> azure_;
  std::vector<milliseconds> waits_;
};

// ---------------------------------------------------------------------------------------------
// Round trips with each credential type
// ---------------------------------------------------------------------------------------------

TEST_F(KeyVaultStoreTest, ClientSecretSavesLoadsAndCachesTheVaultToken) {
  auto store = make();
  EXPECT_FALSE(store->load().has_value());  // 404 SecretNotFound: nothing stored
  ASSERT_TRUE(store->save(tokensOf(1, "one"), 0));
  auto loaded = store->load();
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->access_token, "fake-at-one");
  EXPECT_EQ(loaded->refresh_token, "fake-rt-one");
  EXPECT_EQ(loaded->generation, 1);
  EXPECT_EQ(loaded->expires_at, 1900000001);
  EXPECT_EQ(loaded->refreshed_at, 1800000001);
  EXPECT_FALSE(loaded->refresh_started_at.has_value());
  EXPECT_EQ(loaded->scopes, (std::vector<std::string>{"daily", "heartrate"}));
  ASSERT_TRUE(store->save(tokensOf(2, "two"), 1));
  EXPECT_EQ(store->load()->access_token, "fake-at-two");
  EXPECT_EQ(versions(), 2);  // one new version per PUT
  EXPECT_EQ(secretStats()->getValue<std::string>("content_type"), "application/json");
  // One token for all of it: cached until near expiry (the fake's tokens live an hour).
  EXPECT_EQ(tokenRequests("client_secret"), 1);
  EXPECT_EQ(store->describe().find("fake-"), std::string::npos);
  EXPECT_EQ(store->describe().find(FakeAzure::kClientSecret), std::string::npos);
  EXPECT_TRUE(waits_.empty());
}

TEST_F(KeyVaultStoreTest, ManagedIdentitySendsTheMetadataHeaderToImds) {
  // The fake refuses an IMDS request without `Metadata: true` ...
  const auto refused = oura::test::httpRequest(
      azure_->httpUrl(),
      "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net");
  EXPECT_EQ(refused.status, 400);
  EXPECT_NE(refused.body.find("Required metadata header not specified"), std::string::npos);
  EXPECT_EQ(stat("imds_refused"), 1);
  // ... and the store's requests are accepted, so it sends it.
  auto store = make("managed_identity");
  ASSERT_TRUE(store->save(tokensOf(1, "mi"), 0));
  EXPECT_EQ(store->load()->access_token, "fake-at-mi");
  EXPECT_EQ(stat("imds_requests"), 1);
  EXPECT_EQ(stat("imds_refused"), 1);
  auto ids = azure_->stats()->getArray("imds_client_ids");
  ASSERT_EQ(ids->size(), 1u);
  EXPECT_EQ(ids->getElement<std::string>(0), "");  // system-assigned: no client_id
}

TEST_F(KeyVaultStoreTest, UserAssignedManagedIdentityPassesItsClientId) {
  azure_->post("/_fake/config", R"({"imds_clients": ["user-assigned-1"]})");
  auto store = make(config("managed_identity", {{"client_id", std::string("user-assigned-1")}}));
  ASSERT_TRUE(store->save(tokensOf(1, "ua"), 0));
  auto ids = azure_->stats()->getArray("imds_client_ids");
  ASSERT_EQ(ids->size(), 1u);
  EXPECT_EQ(ids->getElement<std::string>(0), "user-assigned-1");

  auto unknown = make(config("managed_identity", {{"client_id", std::string("nobody")}}));
  const std::string message = errorOf([&] { unknown->load(); });
  EXPECT_NE(message.find("Identity not found"), std::string::npos) << message;
  EXPECT_THROW(unknown->load(), ConfigError);
}

TEST_F(KeyVaultStoreTest, WorkloadIdentityReReadsTheFederatedTokenFileOnEveryRequest) {
  // Tokens shorter-lived than the 5-minute margin are never reused: every vault call asks for
  // a new one, so two loads are two token requests.
  azure_->post("/_fake/config", R"({"token_lifetime": 60})");
  const std::string file = oura::test::writeFile(dir_, "federated-token", "assertion-one\n");
  auto store = make(config("workload_identity",
                           {{"tenant_id", std::string(FakeAzure::kTenant)},
                            {"client_id", std::string(FakeAzure::kWorkloadClientId)},
                            {"federated_token_file", file}}));
  EXPECT_FALSE(store->load().has_value());
  oura::test::writeFile(dir_, "federated-token", "assertion-two\n");  // the kubelet rotated it
  EXPECT_FALSE(store->load().has_value());
  auto assertions = azure_->stats()->getArray("assertions");
  ASSERT_EQ(assertions->size(), 2u);
  EXPECT_EQ(assertions->getElement<std::string>(0), "assertion-one");
  EXPECT_EQ(assertions->getElement<std::string>(1), "assertion-two");
  EXPECT_EQ(tokenRequests("workload_identity"), 2);
  ASSERT_TRUE(store->save(tokensOf(1, "wi"), 0));
  EXPECT_EQ(store->load()->access_token, "fake-at-wi");
}

TEST_F(KeyVaultStoreTest, WorkloadIdentityDefaultsComeFromTheAzureEnvironment) {
  const std::string file = oura::test::writeFile(dir_, "federated-token", "assertion-env");
  ::setenv("AZURE_TENANT_ID", FakeAzure::kTenant, 1);
  ::setenv("AZURE_CLIENT_ID", FakeAzure::kWorkloadClientId, 1);
  ::setenv("AZURE_FEDERATED_TOKEN_FILE", file.c_str(), 1);
  ::setenv("AZURE_AUTHORITY_HOST", azure_->httpsUrl().c_str(), 1);
  auto values = config("workload_identity");
  values.erase("authority_host");
  auto store = make(values);
  ::unsetenv("AZURE_TENANT_ID");
  ::unsetenv("AZURE_CLIENT_ID");
  ::unsetenv("AZURE_FEDERATED_TOKEN_FILE");
  ::unsetenv("AZURE_AUTHORITY_HOST");
  ASSERT_TRUE(store->save(tokensOf(1, "env"), 0));
  auto assertions = azure_->stats()->getArray("assertions");
  ASSERT_EQ(assertions->size(), 1u);
  EXPECT_EQ(assertions->getElement<std::string>(0), "assertion-env");
  // Without them, the missing key is named with its variable.
  const std::string message = errorOf([&] { make(config("workload_identity")); });
  EXPECT_NE(message.find("tenant_id"), std::string::npos) << message;
  EXPECT_NE(message.find("AZURE_TENANT_ID"), std::string::npos) << message;
}

// ---------------------------------------------------------------------------------------------
// Compare-and-set and concurrent writers
// ---------------------------------------------------------------------------------------------

TEST_F(KeyVaultStoreTest, AStaleGenerationIsRefusedWithoutAWrite) {
  auto store = make();
  ASSERT_TRUE(store->save(tokensOf(1, "one"), 0));
  EXPECT_FALSE(store->save(tokensOf(1, "late"), 0));  // the store holds 1, not 0
  EXPECT_EQ(versions(), 1);
  EXPECT_EQ(store->load()->access_token, "fake-at-one");
  EXPECT_THROW(store->save(tokensOf(5, "bad"), 1), Error);  // generation must be expected + 1
}

TEST_F(KeyVaultStoreTest, AWriterAfterOurPutIsDetectedByTheReadAfterWrite) {
  auto store = make();
  ASSERT_TRUE(store->save(tokensOf(1, "one"), 0));
  // Right after our PUT is applied, another writer stores its own version.
  faults(R"({"faults": [{"kind": "write_after_put", "value": "{\"format\": \"oura-collector-tokens/1\", \"generation\": 2, \"write_id\": \"other\", \"access_token\": \"fake-at-other\"}"}]})");
  EXPECT_FALSE(store->save(tokensOf(2, "mine"), 1));
  EXPECT_EQ(versions(), 3);
  EXPECT_EQ(store->load()->access_token, "fake-at-other");
}

TEST_F(KeyVaultStoreTest, A409ConflictIsAConcurrentWriteAndSaveSaysFalse) {
  auto store = make();
  faults(R"({"faults": [{"kind": "409", "method": "PUT"}]})");
  EXPECT_FALSE(store->save(tokensOf(1, "one"), 0));
  EXPECT_EQ(versions(), 0);
  EXPECT_TRUE(store->save(tokensOf(1, "one"), 0));  // the caller re-reads and tries again
}

TEST_F(KeyVaultStoreTest, ASecretOfAnotherApplicationIsNeverOverwritten) {
  azure_->post("/_fake/secrets", R"({"name": "oura-tokens", "value": "hunter2"})");
  auto store = make();
  const std::string message = errorOf([&] { store->load(); });
  EXPECT_NE(message.find("does not hold oura-collector tokens"), std::string::npos) << message;
  EXPECT_EQ(message.find("hunter2"), std::string::npos);
  EXPECT_THROW(store->checkWritable(), Error);
  EXPECT_THROW(store->save(tokensOf(1, "one"), 0), Error);
  EXPECT_EQ(versions(), 1);
}

// ---------------------------------------------------------------------------------------------
// Soft delete
// ---------------------------------------------------------------------------------------------

TEST_F(KeyVaultStoreTest, ClearSoftDeletesAndALaterSaveSaysHowToRecoverOrPurge) {
  auto store = make();
  ASSERT_TRUE(store->save(tokensOf(1, "one"), 0));
  store->clear();
  EXPECT_TRUE(secretStats()->getValue<bool>("deleted"));
  EXPECT_FALSE(store->load().has_value());
  store->clear();  // nothing left to delete: fine

  for (const auto& call : std::vector<std::function<void()>>{
           [&] { store->save(tokensOf(1, "again"), 0); }, [&] { store->checkWritable(); }}) {
    const std::string message = errorOf(call);
    EXPECT_NE(message.find("deleted but recoverable"), std::string::npos) << message;
    EXPECT_NE(message.find("recover"), std::string::npos) << message;
    EXPECT_NE(message.find("purge"), std::string::npos) << message;
    EXPECT_NE(message.find("secret_name"), std::string::npos) << message;
    EXPECT_THROW(call(), ConfigError);  // exit 78
  }
}

TEST_F(KeyVaultStoreTest, PurgeOnClearFreesTheName) {
  auto store = make(config("client_secret", {{"purge_on_clear", true}}));
  ASSERT_TRUE(store->save(tokensOf(1, "one"), 0));
  store->clear();
  EXPECT_EQ(secretStats(), nullptr);  // purged
  store->checkWritable();
  EXPECT_TRUE(store->save(tokensOf(1, "new-login"), 0));
}

// ---------------------------------------------------------------------------------------------
// Faults: 429, 5xx, resets, 401, 403
// ---------------------------------------------------------------------------------------------

TEST_F(KeyVaultStoreTest, ThrottlingWaitsForRetryAfterThenSucceeds) {
  auto store = make();
  ASSERT_TRUE(store->save(tokensOf(1, "one"), 0));
  faults(R"({"faults": [{"kind": "429", "method": "GET", "retry_after": "2", "count": 2}]})");
  waits_.clear();
  EXPECT_EQ(store->load()->access_token, "fake-at-one");
  EXPECT_EQ(waits_, (std::vector<milliseconds>{milliseconds(2000), milliseconds(2000)}));
  EXPECT_EQ(stat("faults_fired"), 2);
}

TEST_F(KeyVaultStoreTest, ServerErrorsAreRetriedThenTheWriteSucceeds) {
  auto store = make();
  faults(R"({"faults": [{"kind": "500", "method": "PUT"}, {"kind": "503", "method": "PUT"}]})");
  EXPECT_TRUE(store->save(tokensOf(1, "one"), 0));
  EXPECT_EQ(waits_.size(), 2u);
  EXPECT_EQ(versions(), 1);
  EXPECT_EQ(store->load()->access_token, "fake-at-one");
}

TEST_F(KeyVaultStoreTest, RetriesAreBoundedAndEndAsUnavailable) {
  auto store = make(config("client_secret", {{"max_attempts", std::int64_t{3}}}));
  faults(R"({"faults": [{"kind": "503", "count": 10}]})");
  const std::string message = errorOf([&] { store->load(); });
  EXPECT_NE(message.find("503"), std::string::npos) << message;
  EXPECT_NE(message.find("after 3 attempts"), std::string::npos) << message;
  EXPECT_THROW(store->load(), UnavailableError);
  EXPECT_EQ(waits_.size(), 4u);  // two waits per load of three attempts
}

TEST_F(KeyVaultStoreTest, AResetAfterAnAppliedPutIsResolvedByReadingBack) {
  auto store = make();
  ASSERT_TRUE(store->save(tokensOf(1, "one"), 0));
  faults(R"({"faults": [{"kind": "reset_after_put"}]})");
  EXPECT_TRUE(store->save(tokensOf(2, "two"), 1));  // applied: reported truthfully
  EXPECT_EQ(versions(), 2);                          // and not written twice
  auto loaded = store->load();
  EXPECT_EQ(loaded->access_token, "fake-at-two");
  EXPECT_EQ(loaded->generation, 2);
  // The log shows the PUT without an answer (status 0) and the GET that followed it.
  auto log = azure_->stats()->getArray("log");
  bool reset_then_get = false;
  for (unsigned i = 0; i + 1 < log->size(); ++i) {
    auto entry = log->getObject(i);
    auto next = log->getObject(i + 1);
    if (entry->getValue<std::string>("method") == "PUT" && entry->getValue<int>("status") == 0 &&
        next->getValue<std::string>("method") == "GET") {
      reset_then_get = true;
    }
  }
  EXPECT_TRUE(reset_then_get);
}

TEST_F(KeyVaultStoreTest, AnUnauthorizedVaultCallGetsOneNewToken) {
  // The fake answers a request without a bearer token with Key Vault's challenge.
  Poco::Net::Context::Params params;
  params.verificationMode = Poco::Net::Context::VERIFY_STRICT;
  params.caLocation = azure_->caFile();
  Poco::Net::Context::Ptr context =
      new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
  const Poco::URI base(azure_->httpsUrl());
  Poco::Net::HTTPSClientSession session(base.getHost(), base.getPort(), context);
  Poco::Net::HTTPRequest request("GET", "/secrets/oura-tokens?api-version=7.4",
                                 Poco::Net::HTTPMessage::HTTP_1_1);
  session.sendRequest(request);
  Poco::Net::HTTPResponse response;
  std::string body;
  Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
  EXPECT_EQ(response.getStatus(), 401);
  EXPECT_EQ(response.get("WWW-Authenticate", ""),
            "Bearer authorization=\"https://login.microsoftonline.com/test-tenant\", "
            "resource=\"https://vault.azure.net\"");

  auto store = make();
  ASSERT_TRUE(store->save(tokensOf(1, "one"), 0));
  EXPECT_EQ(tokenRequests("client_secret"), 1);
  azure_->post("/_fake/revoke", "{}");  // the cached token is no longer accepted
  EXPECT_EQ(store->load()->access_token, "fake-at-one");
  EXPECT_EQ(tokenRequests("client_secret"), 2);
  EXPECT_EQ(stat("vault_unauthorized"), 2);  // ours above, and the revoked token once

  // A vault that refuses every token: one new token, then a configuration error.
  faults(R"({"faults": [{"kind": "401", "count": 5}]})");
  const std::string message = errorOf([&] { store->load(); });
  EXPECT_NE(message.find("401"), std::string::npos) << message;
  EXPECT_NE(message.find("vault_resource"), std::string::npos) << message;
  EXPECT_EQ(tokenRequests("client_secret"), 3);
}

TEST_F(KeyVaultStoreTest, ForbiddenNamesTheRoleToGrant) {
  azure_->post("/_fake/config", R"({"forbidden_clients": ["test-client"]})");
  auto store = make();
  const std::string message = errorOf([&] { store->load(); });
  EXPECT_NE(message.find("403"), std::string::npos) << message;
  EXPECT_NE(message.find("grant the identity 'Key Vault Secrets Officer' (get/set) on the vault"),
            std::string::npos)
      << message;
  EXPECT_THROW(store->checkWritable(), ConfigError);
  EXPECT_THROW(store->save(tokensOf(1, "one"), 0), ConfigError);
}

TEST_F(KeyVaultStoreTest, AWrongClientSecretIsAConfigurationErrorWithoutTheSecret) {
  auto store = make(config("client_secret", {{"client_secret", std::string("wrong-secret-xyz")}}));
  const std::string message = errorOf([&] { store->load(); });
  EXPECT_NE(message.find("invalid_client"), std::string::npos) << message;
  EXPECT_NE(message.find("client_secret"), std::string::npos) << message;
  EXPECT_EQ(message.find("wrong-secret-xyz"), std::string::npos) << message;
  EXPECT_THROW(store->load(), ConfigError);
}

TEST_F(KeyVaultStoreTest, TheSystemCasDoNotTrustTheTestCertificate) {
  auto values = config("client_secret");
  values.erase("ca_file");
  auto store = make(values);
  const std::string message = errorOf([&] { store->load(); });
  EXPECT_NE(message.find("certificate"), std::string::npos) << message;
  EXPECT_THROW(store->load(), ConfigError);
  EXPECT_EQ(tokenRequests("client_secret"), 0);
}

// ---------------------------------------------------------------------------------------------
// Configuration (validated without any network)
// ---------------------------------------------------------------------------------------------

TEST_F(KeyVaultStoreTest, ConfigurationIsCheckedUpFront) {
  const std::vector<std::pair<std::map<std::string, ConfigValue>, std::string>> bad = {
      {config("client_secret", {{"vault_url", std::string("http://my-vault.vault.azure.net")}}),
       "vault_url"},
      {config("client_secret", {{"authority_host", std::string("http://login.example")}}),
       "authority_host"},
      {config("client_secret", {{"vault_url", std::string("https://v.vault.azure.net/x")}}),
       "vault_url"},
      {config("certificate"), "credential"},
      {config("client_secret", {{"secret_name", std::string("no_underscores")}}), "secret_name"},
      {config("client_secret", {{"lock", std::string("redis")}}), "lock"},
      {config("client_secret", {{"lock", std::string("postgres")}}), "lock_file"},
      {config("client_secret", {{"ca_file", std::string("/nonexistent/ca.pem")}}), "ca_file"},
      {config("client_secret", {{"tenant_id", std::string("a/b")}}), "tenant_id"},
      {config("managed_identity", {{"tenant_id", std::string("t")}}), "tenant_id"},
  };
  for (const auto& entry : bad) {
    // Not a structured binding: clang 14 (the sanitizer tree) cannot capture one in a lambda.
    const auto& values = entry.first;
    const auto& key = entry.second;
    const std::string message = errorOf([&] { make(values); });
    EXPECT_EQ(message.rfind(key + ":", 0), 0u) << message;
    EXPECT_THROW(make(values), ConfigError) << key;
  }
  auto no_secret = config("client_secret");
  no_secret.erase("client_secret");
  EXPECT_EQ(errorOf([&] { make(no_secret); }).rfind("client_secret:", 0), 0u);
  auto file_lock_without_file = config("client_secret");
  file_lock_without_file.erase("lock_file");
  EXPECT_EQ(errorOf([&] { make(file_lock_without_file); }).rfind("lock_file:", 0), 0u);
  // IMDS is plain http:// anywhere, as Azure's 169.254.169.254.
  EXPECT_NO_THROW(make(config("managed_identity",
                              {{"imds_endpoint", std::string("http://169.254.169.254")}})));
  EXPECT_EQ(stat("imds_requests") + tokenRequests("client_secret"), 0);  // no network
}

// ---------------------------------------------------------------------------------------------
// Lock providers
// ---------------------------------------------------------------------------------------------

TEST_F(KeyVaultStoreTest, TheFileLockExcludesASecondHolderAndNamesIt) {
  auto first = make();
  auto second = make();
  auto held = first->lock(milliseconds(1000));
  const std::string message = errorOf([&] { second->lock(milliseconds(100)); });
  EXPECT_NE(message.find("process " + std::to_string(::getpid())), std::string::npos) << message;
  EXPECT_NE(message.find(dir_ + "/kv.lock"), std::string::npos) << message;
  EXPECT_THROW(second->lock(milliseconds(50)), TokenLockTimeout);
  held.reset();
  EXPECT_NE(second->lock(milliseconds(1000)), nullptr);
}

// The default provider, against the PostgreSQL of the test command (PGHOST, PGPORT, PGUSER):
// fails, never skips, without one.
TEST_F(KeyVaultStoreTest, ThePostgresLockExcludesASecondHolderAndNamesIt) {
  const char* host = std::getenv("PGHOST");
  const char* port = std::getenv("PGPORT");
  const char* user = std::getenv("PGUSER");
  ASSERT_TRUE(host && port && user) << "start a PostgreSQL: .ci/pg-cluster start DIR && source DIR/env";
  auto values = config("client_secret", {{"lock", std::string("postgres")},
                                         {"host", std::string(host)},
                                         {"port", std::int64_t{std::atoi(port)}},
                                         {"user", std::string(user)},
                                         {"dbname", std::string("postgres")}});
  values.erase("lock_file");
  auto first = make(values);
  auto second = make(values);
  EXPECT_NE(first->describe().find("PostgreSQL advisory lock"), std::string::npos);
  auto held = first->lock(milliseconds(2000));
  const std::string message = errorOf([&] { second->lock(milliseconds(200)); });
  EXPECT_NE(message.find("PostgreSQL session pid"), std::string::npos) << message;
  EXPECT_NE(message.find("(pid " + std::to_string(::getpid()) + ")"), std::string::npos)
      << message;
  EXPECT_THROW(second->lock(milliseconds(0)), TokenLockTimeout);
  held.reset();
  EXPECT_NE(second->lock(milliseconds(2000)), nullptr);
  // Another secret is another lock.
  values["secret_name"] = std::string("other-account");
  auto other = make(values);
  auto held_first = first->lock(milliseconds(2000));
  EXPECT_NE(other->lock(milliseconds(200)), nullptr);
}

}  // namespace

// The refresh protocol across processes, for every writable token store (file, postgres,
// azure-keyvault; a store is one entry in stores() below): eight oura-collector processes started
// at once with an expired access token refresh exactly once and all succeed; a process killed
// (SIGKILL) at each step of the protocol (OURA_FAILPOINT) and then a fresh run either goes on with
// a valid token (exit 0) or exits 77 saying the refresh was interrupted, and every run after
// that exits 77 without a token request (the rejection is remembered in the store): never a
// loop of invalid_grant, never a lost token when the kill came before the refresh request was
// sent.
//
// Against the fake Oura server's OAuth2 endpoints (single-use refresh tokens, --require-oauth:
// data calls need a currently valid access token), the fake Azure services (Key Vault) and the
// real PostgreSQL the test command starts (PGHOST, PGPORT, PGUSER: the postgres store, and the
// Key Vault store's default lock provider; fails without one, never skips).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <oura_sdk/token_store.hpp>
#include <random>
#include <set>
#include <thread>

#include "fake_azure.hpp"
#include "fake_oura.hpp"
#include "test_support.hpp"
#include "token_store_conformance.hpp"

namespace fs = std::filesystem;
namespace sdk = oura::sdk;
using namespace oura::test;

namespace {

// --- the stores ------------------------------------------------------------------------------

/// Where one store's tokens live for one test: the manifest's [token_store] and what the
/// store needs around it (a folder, a database, fake services), removed when destroyed.
class StoreUnderTest {
 public:
  virtual ~StoreUnderTest() = default;
  virtual std::string plugin() const = 0;
  /// The body of [token_store.config].
  virtual std::string config() const = 0;
  /// Extra environment for the program (e.g. a CA to trust).
  virtual std::map<std::string, std::string> environment() const { return {}; }
  /// An instance in this test process, through the plugin loader.
  std::shared_ptr<sdk::TokenStore> open() const { return loadTokenStore(plugin(), config()); }
};

class FileStore : public StoreUnderTest {
 public:
  FileStore() : dir_(makeTempDir()) {}
  ~FileStore() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string plugin() const override { return "file"; }
  std::string config() const override { return "path = '" + dir_ + "/tokens.json'\n"; }

 private:
  std::string dir_;
};

/// A database of its own with init-db's migrations (the shared TestDatabase).
class PostgresStore : public StoreUnderTest {
 public:
  std::string plugin() const override { return "postgres"; }
  std::string config() const override {
    return testPostgresToml(db_.name()) + "account = 'default'\n";
  }

 private:
  TestDatabase db_{"oura_refresh_"};
};

/// Key Vault on the fake Azure services (HTTPS with a test CA), client-secret credential, the
/// default lock provider (a PostgreSQL advisory lock on the test server).
class KeyVaultStore : public StoreUnderTest {
 public:
  KeyVaultStore() : dir_(makeTempDir()), azure_(std::make_unique<FakeAzure>(dir_)) {
    ::setenv(kSecretVariable, FakeAzure::kClientSecret, 1);  // for open() in this process
  }
  ~KeyVaultStore() override {
    azure_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string plugin() const override { return "azure-keyvault"; }
  std::string config() const override {
    return "vault_url = '" + azure_->httpsUrl() + "'\nauthority_host = '" + azure_->httpsUrl() +
           "'\nca_file = '" + azure_->caFile() + "'\ncredential = 'client_secret'\ntenant_id = '" +
           FakeAzure::kTenant + "'\nclient_id = '" + FakeAzure::kClientId +
           "'\nclient_secret = { env = '" + kSecretVariable + "' }\nlock = 'postgres'\n" +
           testPostgresToml(requireEnv("PGDATABASE"));
  }
  std::map<std::string, std::string> environment() const override {
    return {{kSecretVariable, FakeAzure::kClientSecret}};
  }

 private:
  static constexpr const char* kSecretVariable = "OURA_TEST_KEYVAULT_CLIENT_SECRET";
  std::string dir_;
  std::unique_ptr<FakeAzure> azure_;
};

/// The stores under test: adding one is one entry here (and its StoreUnderTest).
const std::vector<std::pair<std::string, std::function<std::unique_ptr<StoreUnderTest>()>>>&
stores() {
  static const std::vector<std::pair<std::string, std::function<std::unique_ptr<StoreUnderTest>()>>>
      list{
          {"file", [] { return std::make_unique<FileStore>(); }},
          {"postgres", [] { return std::make_unique<PostgresStore>(); }},
          {"azure_keyvault", [] { return std::make_unique<KeyVaultStore>(); }},
      };
  return list;
}

// --- the program -----------------------------------------------------------------------------

std::string manifestFor(const FakeOura& fake, const StoreUnderTest& store) {
  return "[collector]\naccount = \"refresh\"\nplugin_dirs = ['" + requireEnv("OURA_PLUGIN_DIR") +
         "']\n[api]\nbase_url = \"" + fake.baseUrl() +
         "\"\n[retry]\nbase_delay = 0.01\nmax_delay = 0.05\n"
         "[oauth]\nclient_id = \"test-client\"\nclient_secret = { env = \"OURA_CLIENT_SECRET\" }\n"
         "lock_timeout_seconds = 120\n"
         "[token_store]\nplugin = \"" +
         store.plugin() + "\"\n[token_store.config]\n" + store.config() +
         "[[endpoints]]\nplugin = \"daily\"\n[[sinks]]\nplugin = \"stdout\"\n";
}

/// One dry-run scrape of one collection, which needs a valid access token.
CommandResult scrapeOnce(const std::string& manifest_path, const FakeOura& fake,
                         const StoreUnderTest& store, const std::string& failpoint = "") {
  std::map<std::string, std::string> env = store.environment();
  env["OURA_CLIENT_SECRET"] = "test-secret";
  env["OURA_OAUTH_BASE_URL"] = fake.baseUrl();
  env["OURA_FAILPOINT"] = failpoint;  // empty: none
  return runCommand(requireEnv("OURA_BINARY"),
                    {"--config", manifest_path, "scrape", "--dry-run", "--collections",
                     "daily_sleep", "--since", "2024-03-01", "--until", "2024-03-02"},
                    env);
}

std::int64_t now() { return static_cast<std::int64_t>(std::time(nullptr)); }

/// Seeds `store` with a pair the fake issued, its access token expired (the store says so, and
/// the fake no longer accepts it): the first command must refresh.
sdk::TokenSet seedExpired(FakeOura& fake, const StoreUnderTest& store) {
  const auto issued = fake.seedTokens();
  fake.post("/_fake/oauth", R"({"invalidate_access_tokens": true})");
  sdk::TokenSet t;
  t.access_token = issued->getValue<std::string>("access_token");
  t.refresh_token = issued->getValue<std::string>("refresh_token");
  t.expires_at = now() - 600;
  t.refreshed_at = now() - 4000;
  t.generation = 1;
  if (!store.open()->save(t, 0)) throw std::runtime_error("the store was not empty");
  return t;
}

std::set<std::string> stringsOf(const Poco::JSON::Object::Ptr& o, const std::string& key) {
  std::set<std::string> out;
  const auto a = o->getArray(key);
  for (std::size_t i = 0; a && i < a->size(); ++i) {
    out.insert(a->getElement<std::string>(static_cast<unsigned>(i)));
  }
  return out;
}

int invalidGrants(const Poco::JSON::Object::Ptr& oauth) {
  int n = 0;
  const auto log = oauth->getArray("log");
  for (std::size_t i = 0; log && i < log->size(); ++i) {
    const auto entry = log->getObject(static_cast<unsigned>(i));
    if (!entry->isNull("error") && entry->getValue<std::string>("error") == "invalid_grant") ++n;
  }
  return n;
}

/// The store holds a pair the fake accepts now, with no refresh mark.
void expectValidTokensStored(FakeOura& fake, const StoreUnderTest& store) {
  const auto stored = store.open()->load();
  ASSERT_TRUE(stored.has_value());
  const auto oauth = fake.oauth();
  EXPECT_TRUE(stringsOf(oauth, "access_tokens").count(stored->access_token))
      << "the stored access token is not one the fake accepts";
  EXPECT_TRUE(stringsOf(oauth, "refresh_tokens").count(stored->refresh_token))
      << "the stored refresh token is not one the fake accepts";
  EXPECT_FALSE(stored->refresh_started_at.has_value()) << "the refresh mark was left behind";
  ASSERT_TRUE(stored->expires_at.has_value());
  EXPECT_GT(*stored->expires_at, now());
}

class TokenRefreshProcesses : public ::testing::TestWithParam<std::size_t> {
 protected:
  void SetUp() override { store_ = stores().at(GetParam()).second(); }
  void TearDown() override { store_.reset(); }
  std::unique_ptr<StoreUnderTest> store_;
};

std::string storeName(const ::testing::TestParamInfo<std::size_t>& info) {
  std::string name;
  for (char c : stores().at(info.param).first)
    name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return name;
}

}  // namespace

TEST_P(TokenRefreshProcesses, EightProcessesWithAnExpiredTokenRefreshOnceAndAllSucceed) {
  // The refresh takes a while, so the other seven find the lock taken and wait for it.
  FakeOura fake({"--require-oauth", "--token-delay-ms", "400", "--first-day", "2024-03-01",
                 "--last-day", "2024-03-03"});
  const sdk::TokenSet seeded = seedExpired(fake, *store_);
  const std::string dir = makeTempDir();
  const std::string manifest = writeFile(dir, "manifest.toml", manifestFor(fake, *store_));

  std::vector<CommandResult> results(8);
  std::vector<std::thread> runs;
  for (std::size_t i = 0; i < results.size(); ++i) {
    runs.emplace_back([&, i] { results[i] = scrapeOnce(manifest, fake, *store_); });
  }
  for (auto& t : runs) t.join();

  const auto oauth = fake.oauth();
  EXPECT_EQ(oauth->getValue<int>("refresh_calls"), 1) << "exactly one refresh reached the fake";
  EXPECT_EQ(invalidGrants(oauth), 0);
  for (std::size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].exit_code, 0) << "process " << i << ":\n" << results[i].err;
    EXPECT_NE(results[i].out.find("\"stream\""), std::string::npos)
        << "process " << i << " wrote no rows";
    const std::string all = results[i].out + results[i].err;
    EXPECT_EQ(all.find("fake-at-"), std::string::npos) << "a token in the output of process " << i;
    EXPECT_EQ(all.find("fake-rt-"), std::string::npos) << "a token in the output of process " << i;
  }
  expectValidTokensStored(fake, *store_);
  const auto stored = store_->open()->load();
  ASSERT_TRUE(stored.has_value());
  EXPECT_NE(stored->refresh_token, seeded.refresh_token) << "rotated";
  EXPECT_EQ(stored->generation, 3) << "the mark and the new pair: two saves, no more";
  fs::remove_all(dir);
}

// SIGKILL at each failpoint of the refresh protocol, then a fresh run.
TEST_P(TokenRefreshProcesses,
       AProcessKilledAtEachStepLeavesARunThatGoesOnOrSaysTheRefreshWasInterrupted) {
  struct Step {
    const char* failpoint;
    bool before_post;  // killed before the refresh request was sent: the grant must survive
  };
  for (const Step step : {Step{"after-lock", true}, Step{"after-mark", true},
                          Step{"after-response", false}, Step{"after-save", false}}) {
    SCOPED_TRACE(step.failpoint);
    store_ = stores().at(GetParam()).second();  // a fresh store and fake for each step
    FakeOura fake({"--require-oauth", "--first-day", "2024-03-01", "--last-day", "2024-03-03"});
    const sdk::TokenSet seeded = seedExpired(fake, *store_);
    const std::string dir = makeTempDir();
    const std::string manifest = writeFile(dir, "manifest.toml", manifestFor(fake, *store_));

    const CommandResult killed = scrapeOnce(manifest, fake, *store_, step.failpoint);
    ASSERT_EQ(killed.exit_code, 256 + SIGKILL)
        << "the failpoint " << step.failpoint << " did not kill the process:\n"
        << killed.err;
    const int refreshes_before = fake.oauth()->getValue<int>("refresh_calls");
    EXPECT_EQ(refreshes_before, step.before_post ? 0 : 1);

    const CommandResult next = scrapeOnce(manifest, fake, *store_);
    const auto oauth = fake.oauth();
    EXPECT_LE(invalidGrants(oauth), 1) << "no loop of invalid_grant";
    const std::string all = next.out + next.err + killed.out + killed.err;
    EXPECT_EQ(all.find("fake-at-"), std::string::npos) << all;
    EXPECT_EQ(all.find("fake-rt-"), std::string::npos) << all;
    if (step.before_post) {
      EXPECT_EQ(next.exit_code, 0) << "the grant was lost although the refresh was never sent:\n"
                                   << next.err;
    } else {
      EXPECT_TRUE(next.exit_code == 0 || next.exit_code == 77) << next.err;
    }
    if (next.exit_code == 0) {
      expectValidTokensStored(fake, *store_);
    } else if (next.exit_code == 77) {
      EXPECT_NE(next.err.find("interrupted"), std::string::npos)
          << "a 77 after a killed refresh must say the refresh was interrupted:\n"
          << next.err;
      // The stored tokens are kept for diagnosis, never deleted.
      const auto stored = store_->open()->load();
      ASSERT_TRUE(stored.has_value()) << "the stored tokens were deleted";
      EXPECT_EQ(stored->refresh_token, seeded.refresh_token);
      EXPECT_TRUE(stored->refresh_rejected_at.has_value()) << "the rejection was not remembered";
      // A third run (and a fourth) exits 77 at once: the rejected refresh token is never sent
      // again, so no token request reaches the fake.
      const int refreshes = fake.oauth()->getValue<int>("refresh_calls");
      const int rejections = invalidGrants(fake.oauth());
      for (int run = 3; run <= 4; ++run) {
        SCOPED_TRACE(run);
        const CommandResult later = scrapeOnce(manifest, fake, *store_);
        EXPECT_EQ(later.exit_code, 77) << later.err;
        EXPECT_NE(later.err.find("was rejected at "), std::string::npos) << later.err;
        EXPECT_NE(later.err.find("run `oura-collector auth login`"), std::string::npos)
            << later.err;
        EXPECT_EQ(fake.oauth()->getValue<int>("refresh_calls"), refreshes) << "a token request";
        EXPECT_EQ(invalidGrants(fake.oauth()), rejections);
        EXPECT_EQ((later.out + later.err).find("fake-"), std::string::npos) << later.err;
      }
    }
    if (std::string(step.failpoint) == "after-response") {
      // Oura rotated the pair and the kill came before it was saved: the stored refresh token
      // is spent (the fake's are single-use), so this is the 77 branch, for every store.
      EXPECT_EQ(next.exit_code, 77) << next.err;
    }
    if (std::string(step.failpoint) == "after-save") {
      EXPECT_EQ(next.exit_code, 0) << next.err;
      EXPECT_EQ(oauth->getValue<int>("refresh_calls"), 1) << "the saved pair is used as it is";
    }
    fs::remove_all(dir);
  }
}

INSTANTIATE_TEST_SUITE_P(Stores, TokenRefreshProcesses,
                         ::testing::Range<std::size_t>(0, stores().size()), storeName);

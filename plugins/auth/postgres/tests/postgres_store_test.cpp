// The `postgres` token store: the conformance suite every writable store passes, and what only
// the table has: its own schema (untouched by purge), the database down (69), no table or no
// privilege (78), accounts apart, a lost connection, the lock naming the holding session.
// Runs against the real PostgreSQL the test command starts (PGHOST, PGPORT, PGUSER); each test
// gets a fresh database with sql/ applied by the built postgres sink's migrate() (as init-db):
// the shared TestDatabase of token_store_support.hpp.
#include <Poco/Net/ServerSocket.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <oura_sdk/errors.hpp>
#include <oura_sdk/sink.hpp>
#include <stdexcept>

#include "plugin_host/loader.hpp"
#include "test_support.hpp"
#include "token_store_conformance.hpp"

using namespace oura::test;
namespace sdk = oura::sdk;
using sdk::ConfigError;
using sdk::TokenSet;
using sdk::TokenStore;

namespace {

/// The store's [token_store.config] for `db`.
std::string configFor(const std::string& db, const std::string& extra = "") {
  return testPostgresToml(db) + extra;
}

std::shared_ptr<TokenStore> storeOn(const std::string& db, const std::string& extra = "") {
  return loadTokenStore("postgres", configFor(db, extra));
}

int unusedPort() {
  Poco::Net::ServerSocket s(Poco::Net::SocketAddress("127.0.0.1", 0));
  return s.address().port();
}

// The conformance case: a fresh migrated database per test.
std::shared_ptr<std::unique_ptr<TestDatabase>> conformanceDb =
    std::make_shared<std::unique_ptr<TestDatabase>>();

TokenStoreCase postgresCase() {
  TokenStoreCase c;
  c.name = "postgres";
  c.setup = [] { *conformanceDb = std::make_unique<TestDatabase>("oura_store_"); };
  c.teardown = [] { conformanceDb->reset(); };
  c.make = [] { return storeOn((*conformanceDb)->name()); };
  // The holding session's application_name carries the holder process's pid.
  c.expected_holder = [](int pid) { return "pid " + std::to_string(pid) + " token lock"; };
  return c;
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(Postgres, TokenStoreConformance,
                         ::testing::ValuesIn(tokenStoreCases({postgresCase()})),
                         tokenStoreCaseName);

// --- configuration ---------------------------------------------------------------------------

TEST(PostgresTokenStore, DeclaresTheSinksConnectionKeysWithTheirEnvironmentOverridesAndAnAccount) {
  const auto loaded = builtPluginLoader().load(sdk::PluginKind::TokenStore, "postgres");
  std::map<std::string, sdk::ConfigKey> keys;
  for (const auto& k : loaded.descriptor->config_schema()) {
    EXPECT_FALSE(k.description.empty()) << k.name;
    keys[k.name] = k;
  }
  EXPECT_EQ(keys.at("host").env, "OURA_DB_HOST");
  EXPECT_EQ(keys.at("port").env, "OURA_DB_PORT");
  EXPECT_EQ(keys.at("dbname").env, "OURA_DB_NAME");
  EXPECT_EQ(keys.at("user").env, "OURA_DB_USER");
  EXPECT_EQ(keys.at("password").env, "OURA_DB_PASSWORD");
  EXPECT_EQ(keys.at("password").type, sdk::ConfigType::Secret);
  EXPECT_TRUE(keys.count("sslmode") && keys.count("sslrootcert") && keys.count("connect_timeout") &&
              keys.count("application_name"));
  EXPECT_EQ(std::get<std::string>(*keys.at("account").default_value), "default");
  EXPECT_EQ(keys.size(), 10u);
  // The sink declares the same connection keys (one shared list).
  const auto sink = builtPluginLoader().load(sdk::PluginKind::Sink, "postgres");
  for (const auto& k : sink.descriptor->config_schema()) {
    if (k.name == "lock") continue;
    ASSERT_TRUE(keys.count(k.name)) << k.name;
    EXPECT_EQ(keys.at(k.name).description, k.description) << k.name;
    EXPECT_EQ(keys.at(k.name).env, k.env) << k.name;
  }

  EXPECT_THROW(loadTokenStore("postgres", "account = ''"), ConfigError);
  EXPECT_THROW(loadTokenStore("postgres", "sslmode = 'verify_full'"), ConfigError);
  EXPECT_THROW(loadTokenStore("postgres", "port = 0"), ConfigError);
  EXPECT_THROW(loadTokenStore("postgres", "password = 'inline'"), ConfigError)
      << "a password only by reference";
  EXPECT_EQ(loadTokenStore("postgres", "host = 'db.example.org'\naccount = 'alice'")->describe(),
            "PostgreSQL table oura_auth.tokens (account alice) in database oura at "
            "db.example.org:5432");
  ::setenv("OURA_DB_NAME", "from_env", 1);
  const std::string described = loadTokenStore("postgres", "dbname = 'manifest'")->describe();
  ::unsetenv("OURA_DB_NAME");
  EXPECT_NE(described.find("database from_env"), std::string::npos) << described;
}

// --- the table -------------------------------------------------------------------------------

TEST(PostgresTokenStore, TokensAreTextColumnsOfOneRowPerAccountInSchemaOuraAuth) {
  TestDatabase db("oura_store_");
  auto store = storeOn(db.name(), "account = 'alice'");
  ASSERT_TRUE(store->save(fullTokenSet(1, "alice"), 0));
  const auto rows = testQuery(
      db.name(),
      "SELECT account, generation, access_token, refresh_token, array_to_string(scopes, ' '), "
      "extract(epoch FROM expires_at)::bigint, refresh_started_at IS NOT NULL FROM "
      "oura_auth.tokens");
  ASSERT_EQ(rows.size(), 1u);
  const TokenSet t = fullTokenSet(1, "alice");
  EXPECT_EQ(rows[0], (std::vector<std::string>{"alice", "1", t.access_token, t.refresh_token,
                                               "email personal daily heartrate extapi:workout",
                                               std::to_string(*t.expires_at), "t"}));
  EXPECT_EQ(testQuery(db.name(),
                      "SELECT count(*) FROM pg_tables WHERE schemaname = 'oura' AND "
                      "tablename LIKE '%token%'")[0][0],
            "0")
      << "nothing of the store in schema oura";
}

TEST(PostgresTokenStore, PurgeOfTheAccountLeavesItsTokens) {
  TestDatabase db("oura_store_");
  auto store = storeOn(db.name(), "account = 'me'");
  ASSERT_TRUE(store->save(fullTokenSet(1, "kept"), 0));
  auto sink = postgresSinkOn(db.name());
  sink->purge("me");
  auto loaded = store->load();
  ASSERT_TRUE(loaded.has_value()) << "purge deleted the user's grant";
  expectSameTokens(fullTokenSet(1, "kept"), *loaded);
}

TEST(PostgresTokenStore, AccountsAreApartAndSoAreTheirLocks) {
  TestDatabase db("oura_store_");
  auto alice = storeOn(db.name(), "account = 'alice'");
  auto bob = storeOn(db.name(), "account = 'bob'");
  ASSERT_TRUE(alice->save(fullTokenSet(1, "alice"), 0));
  EXPECT_FALSE(bob->load().has_value());
  ASSERT_TRUE(bob->save(fullTokenSet(1, "bob"), 0));
  expectSameTokens(fullTokenSet(1, "alice"), *alice->load());
  auto lock = alice->lock(std::chrono::seconds(1));
  EXPECT_NO_THROW(bob->lock(std::chrono::milliseconds(200))) << "bob's lock is another lock";
  bob->clear();
  EXPECT_TRUE(alice->load().has_value());
}

TEST(PostgresTokenStore, TheLockTimeoutNamesTheHoldingSession) {
  TestDatabase db("oura_store_");
  auto holder = storeOn(db.name());
  auto lock = holder->lock(std::chrono::seconds(1));
  const auto pids = testQuery(db.name(),
                              "SELECT pid FROM pg_stat_activity WHERE application_name LIKE "
                              "'%token lock' AND datname = current_database()");
  ASSERT_EQ(pids.size(), 1u);
  try {
    storeOn(db.name())->lock(std::chrono::milliseconds(100));
    ADD_FAILURE() << "took a held lock";
  } catch (const sdk::TokenLockTimeout& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("PostgreSQL session pid " + pids[0][0]), std::string::npos) << m;
    EXPECT_NE(m.find("pid " + std::to_string(::getpid()) + " token lock"), std::string::npos) << m;
    EXPECT_NE(m.find("account default"), std::string::npos) << m;
  }
  lock.reset();
  EXPECT_TRUE(testQuery(db.name(),
                        "SELECT pid FROM pg_stat_activity WHERE application_name LIKE "
                        "'%token lock' AND datname = current_database()")
                  .empty())
      << "the lock's connection is closed with it";
}

TEST(PostgresTokenStore, AConnectionEndedByTheServerIsReplacedOnTheNextCall) {
  TestDatabase db("oura_store_");
  auto store = storeOn(db.name());
  ASSERT_TRUE(store->save(fullTokenSet(1, "x"), 0));
  testQuery(db.name(),
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
            "current_database() AND pid <> pg_backend_pid()");
  auto loaded = store->load();
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->generation, 1);
}

// --- what checkWritable refuses --------------------------------------------------------------

TEST(PostgresTokenStore, ADatabaseThatIsDownIsUnavailable69NamingHostAndPort) {
  const int port = unusedPort();
  ::setenv("OURA_TEST_STORE_PASSWORD", "s3cret-pass", 1);
  auto store = loadTokenStore(
      "postgres", "host = '127.0.0.1'\nport = " + std::to_string(port) +
                      "\nconnect_timeout = 3\npassword = { env = 'OURA_TEST_STORE_PASSWORD' }");
  ::unsetenv("OURA_TEST_STORE_PASSWORD");
  const std::string where = "127.0.0.1:" + std::to_string(port);
  try {
    store->checkWritable();
    ADD_FAILURE() << "checkWritable passed with the database down";
  } catch (const sdk::UnavailableError& e) {
    EXPECT_NE(std::string(e.what()).find(where), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("s3cret"), std::string::npos) << e.what();
  }
  EXPECT_THROW(store->load(), sdk::UnavailableError);
  EXPECT_THROW(store->lock(std::chrono::milliseconds(100)), sdk::UnavailableError);
  EXPECT_THROW(store->save(fullTokenSet(1, "x"), 0), sdk::UnavailableError);
}

TEST(PostgresTokenStore, WithoutTheMigrationCheckWritableAsksForInitDb) {
  TestDatabase db("oura_store_", /*migrated=*/false);
  auto store = storeOn(db.name());
  try {
    store->checkWritable();
    ADD_FAILURE() << "no table, yet checkWritable passed";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("init-db"), std::string::npos) << e.what();
  }
  EXPECT_THROW(store->load(), ConfigError);
  EXPECT_THROW(store->save(fullTokenSet(1, "x"), 0), ConfigError);
}

// The least-privilege roles of docs/operations.md: the writer role gets the table; a role without
// the grant is refused by checkWritable, naming what it lacks.
TEST(PostgresTokenStore, CheckWritableNeedsTheGrantsOfTheOperationsGuide) {
  struct DropRoles {  // declared before the database: dropped after it (and its grants)
    std::string writer = randomName("oura_writer_"), reader = randomName("oura_reader_");
    ~DropRoles() {
      try {
        testQuery(requireEnv("PGDATABASE"), "DROP ROLE IF EXISTS " + writer + ", " + reader);
      } catch (const std::exception&) {
      }
    }
  } roles;
  TestDatabase db("oura_store_");
  const std::string &writer = roles.writer, &reader = roles.reader;
  testQuery(db.name(), "CREATE ROLE " + writer + " LOGIN; CREATE ROLE " + reader + " LOGIN");
  auto as = [&](const std::string& role) {
    return loadTokenStore("postgres", "host = '" + requireEnv("PGHOST") + "'\nport = " +
                                          requireEnv("PGPORT") + "\nuser = '" + role +
                                          "'\ndbname = '" + db.name() + "'\nsslmode = 'disable'");
  };
  {
    auto store = as(reader);
    testQuery(db.name(), "GRANT USAGE ON SCHEMA oura_auth TO " + reader +
                             "; GRANT SELECT ON oura_auth.tokens TO " + reader);
    try {
      store->checkWritable();
      ADD_FAILURE() << "a read-only role passed";
    } catch (const ConfigError& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find("INSERT"), std::string::npos) << m;
      EXPECT_NE(m.find("UPDATE"), std::string::npos) << m;
      EXPECT_NE(m.find("GRANT SELECT, INSERT, UPDATE, DELETE ON oura_auth.tokens TO " + reader),
                std::string::npos)
          << m;
    }
    EXPECT_FALSE(store->load().has_value()) << "reading is allowed";
    EXPECT_THROW(store->save(fullTokenSet(1, "r"), 0), ConfigError);
  }
  // The guide's grants for the writer role.
  testQuery(db.name(), "GRANT USAGE ON SCHEMA oura_auth TO " + writer +
                           "; GRANT SELECT, INSERT, UPDATE, DELETE ON oura_auth.tokens TO " +
                           writer);
  auto store = as(writer);
  EXPECT_NO_THROW(store->checkWritable());
  EXPECT_TRUE(store->save(fullTokenSet(1, "w"), 0));
  EXPECT_NO_THROW(store->lock(std::chrono::seconds(1)));
  EXPECT_NO_THROW(store->clear());
}

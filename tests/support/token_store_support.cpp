// Helpers of the token-store tests (see token_store_support.hpp): loading a store through the
// plugin loader, token sets, the other process that holds a lock, the test PostgreSQL.
#include "token_store_support.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <oura_sdk/errors.hpp>
#include <random>
#include <sstream>
#include <stdexcept>

#include "plugin_host/loader.hpp"
#include "config/manifest.hpp"
#include "schema/migrations.hpp"

namespace oura::test {

using sdk::TokenLockTimeout;
using sdk::TokenSet;
using sdk::TokenStore;

// ---------------------------------------------------------------------------------------------
// Helpers

core::PluginLoader& builtPluginLoader() {
  static core::PluginLoader loader({requireEnv("OURA_PLUGIN_DIR")});
  return loader;
}

std::shared_ptr<TokenStore> loadTokenStore(const std::string& plugin,
                                           const std::string& config_toml) {
  core::PluginLoader& loader = builtPluginLoader();
  const core::LoadedPlugin loaded = loader.load(sdk::PluginKind::TokenStore, plugin);
  toml::table table;
  try {
    table = toml::parse(config_toml, std::string_view("<test token_store.config>"));
  } catch (const toml::parse_error& e) {
    throw std::runtime_error("bad test config for token store " + plugin + ": " +
                             std::string(e.description()));
  }
  sdk::PluginContext context{"token", sdk::Logger("oura.auth.token"),
                             core::validatePluginConfig(table, loaded.descriptor->config_schema(),
                                                        "<test>", "token_store.config")};
  return loader.create<TokenStore>(loaded, context);
}

TokenSet fullTokenSet(std::int64_t generation, const std::string& tag) {
  TokenSet t;
  t.access_token = "fake-at-" + tag + "-A.b~c+d/e==";
  t.refresh_token = "fake-rt-" + tag + "-F_g-h/i";
  t.expires_at = 1900000000 + generation;
  t.scopes = {"email", "personal", "daily", "heartrate", "extapi:workout"};
  t.generation = generation;
  t.refreshed_at = 1800000000 + generation;
  t.refresh_started_at = 1800000100 + generation;
  t.refresh_rejected_at = 1800000200 + generation;
  return t;
}

void expectSameTokens(const TokenSet& want, const TokenSet& have) {
  // Token values are test values (fake-...), safe to print here.
  EXPECT_EQ(have.access_token, want.access_token);
  EXPECT_EQ(have.refresh_token, want.refresh_token);
  EXPECT_EQ(have.expires_at, want.expires_at);
  EXPECT_EQ(have.scopes, want.scopes);
  EXPECT_EQ(have.generation, want.generation);
  EXPECT_EQ(have.refreshed_at, want.refreshed_at);
  EXPECT_EQ(have.refresh_started_at, want.refresh_started_at);
  EXPECT_EQ(have.refresh_rejected_at, want.refresh_rejected_at);
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

std::string requireEnv(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') {
    throw std::runtime_error(std::string(name) +
                             " is not set: run the test through ctest, with a PostgreSQL for the "
                             "tests started (`.ci/pg-cluster start .run/pg && source "
                             ".run/pg/env`)");
  }
  return v;
}

std::string randomName(const std::string& prefix) {
  std::random_device rd;
  std::string s = prefix;
  for (int i = 0; i < 10; ++i) s += static_cast<char>('a' + rd() % 26);
  return s;
}

std::string testPostgresToml(const std::string& db) {
  return "host = '" + requireEnv("PGHOST") + "'\nport = " + requireEnv("PGPORT") + "\nuser = '" +
         requireEnv("PGUSER") + "'\ndbname = '" + db + "'\nsslmode = 'disable'\n";
}

std::vector<std::vector<std::string>> testQuery(const std::string& db, const std::string& sql,
                                                const std::string& user) {
  const std::string host = requireEnv("PGHOST"), port = requireEnv("PGPORT");
  const std::string who = user.empty() ? requireEnv("PGUSER") : user;
  const char* keys[] = {"host", "port", "user", "dbname", nullptr};
  const char* values[] = {host.c_str(), port.c_str(), who.c_str(), db.c_str(), nullptr};
  PGconn* c = PQconnectdbParams(keys, values, 0);
  if (PQstatus(c) != CONNECTION_OK) {
    std::string m = PQerrorMessage(c);
    PQfinish(c);
    throw std::runtime_error("connecting to " + db + ": " + m);
  }
  PGresult* r = PQexec(c, sql.c_str());
  const auto status = PQresultStatus(r);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    std::string m = PQresultErrorMessage(r);
    PQclear(r);
    PQfinish(c);
    throw std::runtime_error(sql + ": " + m);
  }
  std::vector<std::vector<std::string>> rows;
  for (int i = 0; i < PQntuples(r); ++i) {
    rows.emplace_back();
    for (int j = 0; j < PQnfields(r); ++j) rows.back().push_back(PQgetvalue(r, i, j));
  }
  PQclear(r);
  PQfinish(c);
  return rows;
}

std::shared_ptr<sdk::SinkPlugin> postgresSinkOn(const std::string& db) {
  core::PluginLoader& loader = builtPluginLoader();
  const auto loaded = loader.load(sdk::PluginKind::Sink, "postgres");
  std::map<std::string, sdk::ConfigValue> values;
  for (const auto& key : loaded.descriptor->config_schema()) {
    if (key.default_value) values[key.name] = *key.default_value;
  }
  values["host"] = requireEnv("PGHOST");
  values["port"] = static_cast<std::int64_t>(std::stoi(requireEnv("PGPORT")));
  values["user"] = requireEnv("PGUSER");
  values["dbname"] = db;
  values["sslmode"] = std::string("disable");
  return loader.create<sdk::SinkPlugin>(
      loaded, sdk::PluginContext{"out", sdk::Logger("oura.sink.out"), sdk::PluginConfig(values)});
}

TestDatabase::TestDatabase(const std::string& prefix, bool migrated) : name_(randomName(prefix)) {
  testQuery(requireEnv("PGDATABASE"), "CREATE DATABASE " + name_);
  if (migrated) {
    postgresSinkOn(name_)->migrate(core::loadMigrations(requireEnv("OURA_SOURCE_DIR") + "/sql"));
  }
}

TestDatabase::~TestDatabase() {
  try {
    testQuery(requireEnv("PGDATABASE"), "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (const std::exception&) {
  }
}

// ---------------------------------------------------------------------------------------------
// The other process

namespace {

/// Reads the child's next reply: 'L' (locked), 'R' (released), or 'E' + message.
std::string readReply(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  const int ready = ::poll(&p, 1, timeout_ms);
  if (ready <= 0) throw std::runtime_error("the lock-holder process did not answer");
  char buf[2048];
  const ssize_t n = ::read(fd, buf, sizeof buf);
  if (n <= 0) throw std::runtime_error("the lock-holder process ended without an answer");
  return std::string(buf, static_cast<std::size_t>(n));
}

void writeByte(int fd, char c) {
  while (::write(fd, &c, 1) < 0 && errno == EINTR) {
  }
}

}  // namespace

LockHolderProcess::LockHolderProcess(const std::function<std::shared_ptr<TokenStore>()>& make) {
  int down[2], up[2];
  if (::pipe2(down, O_CLOEXEC) != 0 || ::pipe2(up, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe2 failed");
  }
  std::fflush(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::close(down[1]);
    ::close(up[0]);
    try {
      std::shared_ptr<TokenStore> store = make();
      std::unique_ptr<sdk::TokenLock> lock = store->lock(std::chrono::seconds(30));
      writeByte(up[1], 'L');
      char c = 0;
      const ssize_t n = ::read(down[0], &c, 1);  // 'r', or end of file: release
      lock.reset();
      writeByte(up[1], 'R');
      if (n == 1) {
        while (::read(down[0], &c, 1) > 0) {  // until the parent is done
        }
      }
      store.reset();
      ::_exit(0);
    } catch (const std::exception& e) {
      const std::string m = std::string("E") + e.what();
      if (::write(up[1], m.data(), m.size()) < 0) ::_exit(2);
      ::_exit(1);
    } catch (...) {
      ::_exit(3);
    }
  }
  ::close(down[0]);
  ::close(up[1]);
  to_child_ = down[1];
  from_child_ = up[0];
  const std::string reply = readReply(from_child_, 60000);
  if (reply != "L") {
    throw std::runtime_error("the lock-holder process could not take the lock: " +
                             (reply.empty() ? reply : reply.substr(1)));
  }
}

void LockHolderProcess::release() {
  writeByte(to_child_, 'r');
  const std::string reply = readReply(from_child_, 60000);
  if (reply != "R") throw std::runtime_error("the lock-holder process did not release: " + reply);
}

LockHolderProcess::~LockHolderProcess() {
  if (to_child_ >= 0) ::close(to_child_);
  int status = 0;
  for (int i = 0; i < 600; ++i) {  // up to a minute for a clean end, then SIGKILL
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      break;
    }
    ::usleep(100000);
  }
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
  }
  if (from_child_ >= 0) ::close(from_child_);
}

}  // namespace oura::test

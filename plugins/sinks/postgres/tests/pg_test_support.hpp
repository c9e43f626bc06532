// Helpers for the postgres sink tests: a fresh database per test on the PostgreSQL that the test
// command starts (PGHOST, PGPORT, PGUSER from .ci/pg-cluster's env), plain queries on it, the
// migrations of sql/, tables for test-only streams, a log capture and a fake server that
// records the password a client sends.
#pragma once

#include <Poco/Channel.h>
#include <Poco/Net/ServerSocket.h>
#include <libpq-fe.h>

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <oura_sdk/endpoint.hpp>
#include <oura_sdk/plugin.hpp>
#include <oura_sdk/sink.hpp>
#include <string>
#include <thread>
#include <vector>

namespace pgtest {

/// The value of an environment variable the tests need. Throws std::runtime_error (the test
/// FAILS, never skips) when it is unset: run the tests through the test command, or start
/// `.ci/pg-cluster start DIR` and `source DIR/env`.
std::string requireEnv(const char* name);

using Rows = std::vector<std::vector<std::optional<std::string>>>;

/// A database created for one test (random name) and dropped (WITH FORCE) at the end.
class Database {
 public:
  Database();
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  const std::string& name() const { return name_; }
  /// Runs `sql` on this database (a new connection as PGUSER each time). Throws on an error.
  Rows query(const std::string& sql, const std::vector<std::string>& params = {}) const;
  /// The first column of the first row ("" for NULL). Throws when there is no row.
  std::string scalar(const std::string& sql, const std::vector<std::string>& params = {}) const;
  /// Runs statements (no result). Throws on an error.
  void exec(const std::string& sql) const;

 private:
  std::string name_;
};

/// A libpq connection from the environment (PGHOST, PGPORT, PGUSER) to `dbname`.
/// Throws std::runtime_error with libpq's message.
PGconn* connect(const std::string& dbname);

/// The sink's configuration for `db`: host = $PGHOST, port = $PGPORT, user = $PGUSER, plus
/// `overrides`, with every declared default filled in.
oura::sdk::PluginConfig sinkConfig(const std::string& dbname,
                                   std::map<std::string, oura::sdk::ConfigValue> overrides = {});

/// The migrations of $OURA_TEST_SQL_DIR if set, else $OURA_SOURCE_DIR/sql (the real ones).
std::vector<oura::sdk::Migration> migrations();

/// CREATE TABLE statements for the streams of a test-only collection, following the table
/// conventions (account first, columns in order, deleted_at on the document stream, primary
/// key (account, key...)).
std::string conventionDdl(const oura::sdk::CollectionSpec& collection);

/// Collects every message logged to one Poco logger (at every level) while alive.
class LogCapture {
 public:
  explicit LogCapture(const std::string& logger_name);
  ~LogCapture();
  std::vector<std::string> messages() const;
  std::string all() const;

 private:
  class Channel;
  std::string name_;
  Poco::AutoPtr<Channel> channel_;
  Poco::AutoPtr<Poco::Channel> previous_;
  int previous_level_;
};

/// A fake PostgreSQL server on 127.0.0.1: refuses TLS, asks for a cleartext password, records
/// it and answers "password authentication failed". Speaks just enough of the protocol for
/// libpq to deliver the password.
class PasswordRecorder {
 public:
  PasswordRecorder();
  ~PasswordRecorder();
  int port() const { return port_; }
  /// The passwords received so far, in order.
  std::vector<std::string> passwords() const;
  /// The startup parameters (user, database, application_name...) of the last connection.
  std::map<std::string, std::string> startup() const;

 private:
  void run();
  Poco::Net::ServerSocket socket_;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::vector<std::string> passwords_;
  std::map<std::string, std::string> startup_;
  std::thread thread_;
};

/// A TCP port on 127.0.0.1 that nothing listens on (bound, read, released).
int unusedPort();

}  // namespace pgtest

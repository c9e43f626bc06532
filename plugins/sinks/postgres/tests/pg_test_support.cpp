#include "pg_test_support.hpp"

#include <Poco/Logger.h>
#include <Poco/Message.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/StreamSocket.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <cstdlib>
#include <random>
#include <sstream>
#include <stdexcept>

#include "../postgres_sink.hpp"
#include "../statements.hpp"
#include "schema/migrations.hpp"

namespace pgtest {

using namespace oura;

std::string requireEnv(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    throw std::runtime_error(
        std::string("environment variable ") + name +
        " is not set: the postgres sink tests need a real PostgreSQL. Run them through "
        ".ci/test, or `.ci/pg-cluster start DIR && source DIR/env` first (PGHOST, PGPORT, "
        "PGUSER)");
  }
  return value;
}

PGconn* connect(const std::string& dbname) {
  requireEnv("PGHOST");
  const char* keywords[] = {"dbname", nullptr};
  const char* values[] = {dbname.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keywords, values, 0);
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn);
    PQfinish(conn);
    throw std::runtime_error("cannot connect to the test PostgreSQL: " + message);
  }
  return conn;
}

namespace {

Rows run(PGconn* conn, const std::string& sql, const std::vector<std::string>& params) {
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p.c_str());
  PGresult* r = PQexecParams(conn, sql.c_str(), static_cast<int>(params.size()), nullptr,
                             values.data(), nullptr, nullptr, 0);
  const ExecStatusType status = PQresultStatus(r);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    std::string message = PQresultErrorMessage(r);
    PQclear(r);
    throw std::runtime_error(sql + ": " + message);
  }
  Rows rows;
  for (int i = 0; i < PQntuples(r); ++i) {
    std::vector<std::optional<std::string>> row;
    for (int j = 0; j < PQnfields(r); ++j) {
      if (PQgetisnull(r, i, j)) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(PQgetvalue(r, i, j));
      }
    }
    rows.push_back(std::move(row));
  }
  PQclear(r);
  return rows;
}

std::string randomSuffix() {
  std::random_device rd;
  std::ostringstream out;
  out << std::hex << rd() << rd();
  return out.str();
}

}  // namespace

Database::Database() {
  static std::atomic<int> counter{0};
  name_ = "oura_sink_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" +
          randomSuffix();
  PGconn* admin = connect(requireEnv("PGDATABASE"));
  try {
    run(admin, "CREATE DATABASE " + name_, {});
  } catch (...) {
    PQfinish(admin);
    throw;
  }
  PQfinish(admin);
}

Database::~Database() {
  try {
    PGconn* admin = connect(requireEnv("PGDATABASE"));
    run(admin, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)", {});
    PQfinish(admin);
  } catch (...) {
  }
}

Rows Database::query(const std::string& sql, const std::vector<std::string>& params) const {
  PGconn* conn = connect(name_);
  try {
    Rows rows = run(conn, sql, params);
    PQfinish(conn);
    return rows;
  } catch (...) {
    PQfinish(conn);
    throw;
  }
}

std::string Database::scalar(const std::string& sql, const std::vector<std::string>& params) const {
  Rows rows = query(sql, params);
  if (rows.empty() || rows[0].empty()) throw std::runtime_error(sql + ": no row");
  return rows[0][0].value_or("");
}

void Database::exec(const std::string& sql) const {
  PGconn* conn = connect(name_);
  PGresult* r = PQexec(conn, sql.c_str());
  const ExecStatusType status = PQresultStatus(r);
  std::string message = PQresultErrorMessage(r);
  PQclear(r);
  PQfinish(conn);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    throw std::runtime_error(sql.substr(0, 200) + ": " + message);
  }
}

sdk::PluginConfig sinkConfig(const std::string& dbname,
                             std::map<std::string, sdk::ConfigValue> overrides) {
  std::map<std::string, sdk::ConfigValue> values;
  for (const sdk::ConfigKey& key : plugins::postgres::PostgresSink::configSchema()) {
    if (key.default_value) values[key.name] = *key.default_value;
  }
  values["host"] = requireEnv("PGHOST");
  values["port"] = static_cast<std::int64_t>(std::stoi(requireEnv("PGPORT")));
  values["user"] = requireEnv("PGUSER");
  values["dbname"] = dbname;
  for (auto& [k, v] : overrides) values[k] = v;
  return sdk::PluginConfig(std::move(values));
}

std::vector<sdk::Migration> migrations() {
  const char* dir = std::getenv("OURA_TEST_SQL_DIR");
  if (dir != nullptr && *dir != '\0') return core::loadMigrations(dir);
  return core::loadMigrations(requireEnv("OURA_SOURCE_DIR") + "/sql");
}

std::string conventionDdl(const sdk::CollectionSpec& collection) {
  std::string ddl;
  for (std::size_t i = 0; i < collection.streams.size(); ++i) {
    const sdk::StreamSchema& s = collection.streams[i];
    ddl += "CREATE TABLE " + plugins::postgres::tableName(s) + " (account text NOT NULL";
    for (const sdk::Column& c : s.columns) {
      ddl += ", " + plugins::postgres::quoteIdent(c.name) + " " + sdk::toSqlType(c.type);
    }
    if (i == 0) ddl += ", deleted_at timestamptz";
    ddl += ", PRIMARY KEY (account";
    for (const std::string& k : s.primary_key) ddl += ", " + plugins::postgres::quoteIdent(k);
    ddl += "));\n";
  }
  return ddl;
}

class LogCapture::Channel : public Poco::Channel {
 public:
  void log(const Poco::Message& message) override {
    std::lock_guard lock(mutex);
    messages.push_back(message.getText());
  }
  mutable std::mutex mutex;
  std::vector<std::string> messages;
};

LogCapture::LogCapture(const std::string& logger_name) : name_(logger_name), channel_(new Channel) {
  Poco::Logger& logger = Poco::Logger::get(name_);
  previous_ = logger.getChannel();
  previous_level_ = logger.getLevel();
  logger.setChannel(channel_);
  logger.setLevel(Poco::Message::PRIO_TRACE);
}

LogCapture::~LogCapture() {
  Poco::Logger& logger = Poco::Logger::get(name_);
  logger.setChannel(previous_);
  logger.setLevel(previous_level_);
}

std::vector<std::string> LogCapture::messages() const {
  std::lock_guard lock(channel_->mutex);
  return channel_->messages;
}

std::string LogCapture::all() const {
  std::string out;
  for (const std::string& m : messages()) out += m + "\n";
  return out;
}

namespace {

void readExact(Poco::Net::StreamSocket& s, char* buffer, int n) {
  int got = 0;
  while (got < n) {
    const int r = s.receiveBytes(buffer + got, n - got);
    if (r <= 0) throw std::runtime_error("fake server: the client closed the connection");
    got += r;
  }
}

std::uint32_t readInt(Poco::Net::StreamSocket& s) {
  std::uint32_t v = 0;
  readExact(s, reinterpret_cast<char*>(&v), 4);
  return ntohl(v);
}

void appendInt(std::string& out, std::uint32_t v) {
  v = htonl(v);
  out.append(reinterpret_cast<const char*>(&v), 4);
}

}  // namespace

PasswordRecorder::PasswordRecorder() : socket_(Poco::Net::SocketAddress("127.0.0.1", 0)) {
  port_ = socket_.address().port();
  thread_ = std::thread([this] { run(); });
}

PasswordRecorder::~PasswordRecorder() {
  stop_ = true;
  thread_.join();
}

std::vector<std::string> PasswordRecorder::passwords() const {
  std::lock_guard lock(mutex_);
  return passwords_;
}

std::map<std::string, std::string> PasswordRecorder::startup() const {
  std::lock_guard lock(mutex_);
  return startup_;
}

void PasswordRecorder::run() {
  while (!stop_) {
    if (!socket_.poll(Poco::Timespan(0, 100000), Poco::Net::Socket::SELECT_READ)) continue;
    try {
      Poco::Net::StreamSocket client = socket_.acceptConnection();
      client.setReceiveTimeout(Poco::Timespan(10, 0));
      // SSLRequest / GSSENCRequest: refuse with 'N', then the startup message follows.
      std::string params;
      for (;;) {
        const std::uint32_t length = readInt(client);
        const std::uint32_t code = readInt(client);
        if (code == 80877103u || code == 80877104u) {
          client.sendBytes("N", 1);
          continue;
        }
        params.resize(length - 8);
        readExact(client, params.data(), static_cast<int>(params.size()));
        break;
      }
      std::map<std::string, std::string> startup;
      for (std::size_t at = 0; at < params.size() && params[at] != '\0';) {
        const std::string key(params.c_str() + at);
        at += key.size() + 1;
        const std::string value(params.c_str() + at);
        at += value.size() + 1;
        startup[key] = value;
      }
      // AuthenticationCleartextPassword.
      std::string ask = "R";
      appendInt(ask, 8);
      appendInt(ask, 3);
      client.sendBytes(ask.data(), static_cast<int>(ask.size()));
      char type = 0;
      readExact(client, &type, 1);
      const std::uint32_t length = readInt(client);
      std::string password(length - 4, '\0');
      readExact(client, password.data(), static_cast<int>(password.size()));
      if (type == 'p' && !password.empty() && password.back() == '\0') password.pop_back();
      {
        std::lock_guard lock(mutex_);
        passwords_.push_back(password);
        startup_ = startup;
      }
      std::string fields;
      fields += 'S';
      fields += "FATAL";
      fields += '\0';
      fields += 'V';
      fields += "FATAL";
      fields += '\0';
      fields += 'C';
      fields += "28P01";
      fields += '\0';
      fields += 'M';
      fields += "password authentication failed for user \"" + startup["user"] + "\"";
      fields += '\0';
      fields += '\0';
      std::string error = "E";
      appendInt(error, static_cast<std::uint32_t>(fields.size() + 4));
      error += fields;
      client.sendBytes(error.data(), static_cast<int>(error.size()));
      client.close();
    } catch (const std::exception&) {
      // a client that went away: wait for the next one
    }
  }
}

int unusedPort() {
  Poco::Net::ServerSocket s(Poco::Net::SocketAddress("127.0.0.1", 0));
  const int port = s.address().port();
  s.close();
  return port;
}

}  // namespace pgtest

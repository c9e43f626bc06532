#pragma once
// A thin RAII layer over libpq, shared by the plugins that use PostgreSQL (the postgres sink,
// the postgres token store, the Key Vault store's PostgreSQL lock provider): connection settings turned into libpq's
// keyword/value parameters (PQconnectdbParams: no connection string is ever assembled, so no
// value needs quoting and none is parsed as connection syntax), statements with text
// parameters, errors that carry their SQLSTATE, and a redactor so that the password never
// reaches a message.
//
// Poco::Data::PostgreSQL is not used on purpose: Poco 1.11's SessionImpl::open splits the
// connection string on every space (a password with a space cannot work), and its exceptions
// carry no SQLSTATE (a lost connection could not be told from bad data).

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <oura_sdk/logger.hpp>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace oura::plugins::postgres {

/// Where and how to connect (the config keys of pg_settings.hpp).
struct ConnectionSettings {
  std::string host = "localhost";  ///< host name, address, or a Unix socket folder ("/...")
  int port = 5432;
  std::string dbname = "oura";
  std::string user = "oura";
  std::optional<std::string> password;  ///< absent: libpq's own lookup (~/.pgpass, PGPASSWORD)
  std::string sslmode = "prefer";
  std::optional<std::string> sslrootcert;
  int connect_timeout = 10;  ///< seconds; 0 waits forever
  std::string application_name = "oura-collector";
};

/// libpq keyword/value pairs for PQconnectdbParams, in order (the password last, when set).
/// Connection::Connection passes them with expand_dbname = 0, so a dbname is only ever a
/// database name. Adds client_encoding UTF8 and TCP keepalives (a dead server is noticed
/// during a long run instead of hanging it).
std::vector<std::pair<std::string, std::string>> connectionParameters(const ConnectionSettings& s);

/// "host:port" as used in messages ("/run/postgresql:5432" for a socket folder). No password.
std::string endpointName(const ConnectionSettings& s);

/// Replaces every occurrence of a secret in messages by "***".
class Redactor {
 public:
  explicit Redactor(std::optional<std::string> secret = std::nullopt);
  std::string operator()(std::string text) const;

 private:
  std::optional<std::string> secret_;
};

/// A failed statement. `what()` is redacted and names the SQLSTATE when there is one.
class PgError : public std::runtime_error {
 public:
  PgError(const std::string& message, std::string sqlstate, bool connection_lost);
  /// Five characters ("23505"), or empty when libpq produced the error itself.
  const std::string& sqlstate() const noexcept { return sqlstate_; }
  /// The connection is gone (or the server is going away): reconnect and try again later.
  bool connectionLost() const noexcept { return connection_lost_; }
  /// Worth trying again: connection lost, serialization failure, deadlock, server busy or
  /// starting up, statement cancelled.
  bool transient() const noexcept;

 private:
  std::string sqlstate_;
  bool connection_lost_;
};

/// The result of one statement (always successful: failures throw PgError).
class Result {
 public:
  explicit Result(PGresult* result) : result_(result, &PQclear) {}
  int rows() const { return PQntuples(result_.get()); }
  bool isNull(int row, int column) const { return PQgetisnull(result_.get(), row, column) != 0; }
  std::string value(int row, int column) const {
    return std::string(PQgetvalue(result_.get(), row, column),
                       static_cast<std::size_t>(PQgetlength(result_.get(), row, column)));
  }
  std::optional<std::string> nullable(int row, int column) const {
    if (isNull(row, column)) return std::nullopt;
    return value(row, column);
  }
  /// Rows affected by INSERT/UPDATE/DELETE (PQcmdTuples).
  std::uint64_t affected() const;

 private:
  std::unique_ptr<PGresult, decltype(&PQclear)> result_;
};

/// One libpq connection. Not thread-safe (the core calls a plugin from one thread at a time).
class Connection {
 public:
  /// Connects. @throws sdk::UnavailableError naming host and port (never the password).
  Connection(const ConnectionSettings& settings, const sdk::Logger& logger);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Runs `sql` (several statements allowed) without parameters. @throws PgError.
  Result exec(const std::string& sql);
  /// Runs one statement with text parameters ($1, $2, ...; nullopt is NULL). @throws PgError.
  Result exec(const std::string& sql, const std::vector<std::optional<std::string>>& params);

  /// Runs `copy_sql` (a `COPY ... FROM STDIN`, text format) and sends `data` (whole lines) in
  /// chunks. Returns the command's result (affected() = rows copied). @throws PgError: the
  /// server's error (with its SQLSTATE; the COPY is over and an open transaction is aborted),
  /// or the connection lost.
  Result copyIn(const std::string& copy_sql, const std::string& data);

  /// True while the connection is usable.
  bool ok() const;
  /// True when a transaction block is open (or failed) on this connection.
  bool inTransaction() const;
  /// Rolls back an open transaction; ignores failures (the connection may be gone).
  void rollbackQuietly() noexcept;
  /// The server process id of this session.
  int backendPid() const;
  const Redactor& redactor() const { return redact_; }

 private:
  Result check(PGresult* result);
  // The result of the query just sent (the last one of several statements), waiting so that a
  // stop request (SIGINT/SIGTERM) cancels it. @throws PgError when it was cancelled so.
  PGresult* awaitResult();
  static void onNotice(void* self, const PGresult* result);

  PGconn* conn_ = nullptr;
  Redactor redact_;
  sdk::Logger logger_;
};

/// Quotes an SQL identifier ("name", embedded quotes doubled).
std::string quoteIdent(const std::string& name);

}  // namespace oura::plugins::postgres

#include "pg_connection.hpp"

#include <chrono>
#include <optional>

#include <dlfcn.h>
#include <poll.h>

#include <algorithm>
#include <cstdlib>
#include <oura_sdk/errors.hpp>

namespace oura::plugins::postgres {

namespace {

// libpq messages end with a newline and sometimes span lines ("...failed: ...\n\tIs the
// server running...?"): one line for our messages.
std::string oneLine(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\t' || c == '\r') c = ' ';
  }
  std::string out;
  bool space = false;
  for (char c : text) {
    if (c == ' ') {
      if (!space && !out.empty()) out += c;
      space = true;
    } else {
      out += c;
      space = false;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

bool startsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

std::vector<std::pair<std::string, std::string>> connectionParameters(const ConnectionSettings& s) {
  std::vector<std::pair<std::string, std::string>> p{
      {"host", s.host},
      {"port", std::to_string(s.port)},
      {"dbname", s.dbname},
      {"user", s.user},
      {"sslmode", s.sslmode},
      {"connect_timeout", std::to_string(s.connect_timeout)},
      {"application_name", s.application_name},
      {"client_encoding", "UTF8"},
      {"keepalives", "1"},
      {"keepalives_idle", "60"},
      {"keepalives_interval", "10"},
      {"keepalives_count", "6"},
  };
  if (s.sslrootcert) p.emplace_back("sslrootcert", *s.sslrootcert);
  if (s.password) p.emplace_back("password", *s.password);
  return p;
}

std::string endpointName(const ConnectionSettings& s) {
  return s.host + ":" + std::to_string(s.port);
}

Redactor::Redactor(std::optional<std::string> secret) : secret_(std::move(secret)) {
  if (secret_ && secret_->empty()) secret_.reset();
}

std::string Redactor::operator()(std::string text) const {
  if (!secret_) return text;
  for (std::size_t at = text.find(*secret_); at != std::string::npos;
       at = text.find(*secret_, at + 3)) {
    text.replace(at, secret_->size(), "***");
  }
  return text;
}

PgError::PgError(const std::string& message, std::string sqlstate, bool connection_lost)
    : std::runtime_error(message),
      sqlstate_(std::move(sqlstate)),
      connection_lost_(connection_lost) {}

bool PgError::transient() const noexcept {
  if (connection_lost_) return true;
  const std::string& s = sqlstate_;
  return startsWith(s, "08")     // connection exception
         || s == "40001"         // serialization_failure
         || s == "40P01"         // deadlock_detected
         || startsWith(s, "53")  // insufficient resources (too many connections, disk full)
         || s == "55P03"         // lock_not_available
         || s == "57014"         // query_canceled (statement_timeout)
         || s == "57P01"         // admin_shutdown (pg_terminate_backend, fast shutdown)
         || s == "57P02"         // crash_shutdown
         || s == "57P03";        // cannot_connect_now (starting up)
}

std::uint64_t Result::affected() const {
  const char* n = PQcmdTuples(result_.get());
  return (n && *n) ? std::strtoull(n, nullptr, 10) : 0;
}

Connection::Connection(const ConnectionSettings& settings, const sdk::Logger& logger)
    : redact_(settings.password), logger_(logger) {
  const auto params = connectionParameters(settings);
  std::vector<const char*> keywords, values;
  for (const auto& [k, v] : params) {
    keywords.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  keywords.push_back(nullptr);
  values.push_back(nullptr);
  conn_ = PQconnectdbParams(keywords.data(), values.data(), /*expand_dbname=*/0);
  if (conn_ == nullptr) {
    throw sdk::UnavailableError("cannot connect to PostgreSQL at " + endpointName(settings) +
                                ": out of memory");
  }
  if (PQstatus(conn_) != CONNECTION_OK) {
    const std::string reason = oneLine(redact_(PQerrorMessage(conn_)));
    const bool needs_password = PQconnectionNeedsPassword(conn_) != 0;
    PQfinish(conn_);
    conn_ = nullptr;
    std::string message = "cannot connect to PostgreSQL at " + endpointName(settings) +
                          " (database " + settings.dbname + ", user " + settings.user +
                          "): " + reason;
    if (needs_password) {
      message +=
          "; the server asks for a password and none is configured: set the plugin's "
          "password = { env = \"OURA_DB_PASSWORD\" } or the environment variable "
          "OURA_DB_PASSWORD";
    } else if (reason.find("FATAL") != std::string::npos) {
      message +=
          "; the server refused the connection: check user, password and dbname (and "
          "the server's pg_hba.conf)";
    } else {
      message += "; is PostgreSQL running there (check host and port)?";
    }
    throw sdk::UnavailableError(message);
  }
  PQsetNoticeReceiver(conn_, &Connection::onNotice, this);
}

Connection::~Connection() {
  if (conn_ != nullptr) PQfinish(conn_);
}

void Connection::onNotice(void* self, const PGresult* result) {
  auto* c = static_cast<Connection*>(self);
  const char* text = PQresultErrorMessage(result);
  if (text && *text) c->logger_.debug("server: " + oneLine(c->redact_(text)));
}

bool Connection::ok() const { return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK; }

bool Connection::inTransaction() const {
  if (conn_ == nullptr) return false;
  const PGTransactionStatusType s = PQtransactionStatus(conn_);
  return s == PQTRANS_INTRANS || s == PQTRANS_INERROR || s == PQTRANS_ACTIVE;
}

void Connection::rollbackQuietly() noexcept {
  if (!ok() || !inTransaction()) return;
  PGresult* r = PQexec(conn_, "ROLLBACK");
  if (r) PQclear(r);
}

int Connection::backendPid() const { return conn_ ? PQbackendPID(conn_) : 0; }

Result Connection::check(PGresult* result) {
  const ExecStatusType status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY) {
    return Result(result);
  }
  std::string sqlstate;
  std::string message;
  if (result) {
    if (const char* s = PQresultErrorField(result, PG_DIAG_SQLSTATE)) sqlstate = s;
    const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
    message = primary ? primary : PQresultErrorMessage(result);
    if (const char* detail = PQresultErrorField(result, PG_DIAG_MESSAGE_DETAIL)) {
      message += std::string(" (") + detail + ")";
    }
    PQclear(result);
  }
  if (message.empty()) message = PQerrorMessage(conn_);
  const bool lost = PQstatus(conn_) != CONNECTION_OK;
  message = oneLine(redact_(message));
  if (message.size() > 600) message = message.substr(0, 600) + "...";
  if (!sqlstate.empty()) message += " [SQLSTATE " + sqlstate + "]";
  if (lost) message += " (the connection to the server was lost)";
  throw PgError(message, sqlstate, lost);
}

namespace {

// SIGINT/SIGTERM of the program, when the program tells (oura-collector exports
// oura_stop_requested(); a test harness may not): a database wait must not outlast it.
bool stopRequested() {
  using Probe = int (*)();
  static const Probe probe = reinterpret_cast<Probe>(::dlsym(RTLD_DEFAULT, "oura_stop_requested"));
  return probe != nullptr && probe() != 0;
}

}  // namespace

PGresult* Connection::awaitResult() {
  // Waits in slices of 100 ms so that a stop request cancels a statement that is still waiting
  // 2 s after it (PQcancel): a lock wait, a long migration. The server then ends it with
  // query_canceled and rolls back. The grace lets the short statements of an orderly stop finish:
  // the batch in flight, the run log's record of the interrupted run.
  constexpr auto kGrace = std::chrono::seconds(2);
  bool cancelled = false;
  std::optional<std::chrono::steady_clock::time_point> stop_seen;
  PGresult* last = nullptr;
  for (;;) {
    while (PQisBusy(conn_)) {
      if (!stop_seen && stopRequested()) stop_seen = std::chrono::steady_clock::now();
      if (!cancelled && stop_seen && std::chrono::steady_clock::now() - *stop_seen >= kGrace) {
        cancelled = true;
        if (PGcancel* cancel = PQgetCancel(conn_)) {
          char error[256];
          PQcancel(cancel, error, sizeof error);
          PQfreeCancel(cancel);
        }
      }
      pollfd fd{PQsocket(conn_), POLLIN, 0};
      if (fd.fd < 0) break;
      ::poll(&fd, 1, 100);
      if (PQconsumeInput(conn_) == 0) break;
    }
    PGresult* next = PQgetResult(conn_);
    if (next == nullptr) break;
    if (last) PQclear(last);
    last = next;
    const ExecStatusType status = PQresultStatus(next);
    if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH ||
        PQstatus(conn_) == CONNECTION_BAD) {
      break;
    }
  }
  if (cancelled && last != nullptr && PQresultStatus(last) == PGRES_FATAL_ERROR) {
    PQclear(last);
    throw PgError(
        "stopped by a signal while waiting on the database: the statement was cancelled and its "
        "transaction rolled back",
        "57014", false);
  }
  return last;
}

Result Connection::exec(const std::string& sql) {
  if (conn_ == nullptr) throw PgError("not connected", "", true);
  if (PQsendQuery(conn_, sql.c_str()) == 0) return check(nullptr);
  return check(awaitResult());
}

Result Connection::exec(const std::string& sql,
                        const std::vector<std::optional<std::string>>& params) {
  if (conn_ == nullptr) throw PgError("not connected", "", true);
  std::vector<const char*> values;
  std::vector<int> lengths;
  for (const auto& p : params) {
    values.push_back(p ? p->c_str() : nullptr);
    lengths.push_back(p ? static_cast<int>(p->size()) : 0);
  }
  if (PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr,
                        values.data(), lengths.data(), nullptr, 0) == 0) {
    return check(nullptr);
  }
  return check(awaitResult());
}

Result Connection::copyIn(const std::string& copy_sql, const std::string& data) {
  if (conn_ == nullptr) throw PgError("not connected", "", true);
  PGresult* start = PQexec(conn_, copy_sql.c_str());
  if (start == nullptr || PQresultStatus(start) != PGRES_COPY_IN) {
    check(start);  // throws for an error
    throw PgError("not a COPY FROM STDIN: " + copy_sql.substr(0, 80), "", false);
  }
  PQclear(start);
  constexpr std::size_t kChunk = 256 * 1024;
  const char* failure = nullptr;
  for (std::size_t at = 0; at < data.size(); at += kChunk) {
    const std::size_t n = std::min(kChunk, data.size() - at);
    if (PQputCopyData(conn_, data.data() + at, static_cast<int>(n)) != 1) {
      failure = "sending the COPY data failed";
      break;
    }
  }
  // On a failure above the server is told to abandon the COPY; the result below says why.
  PQputCopyEnd(conn_, failure);
  PGresult* result = PQgetResult(conn_);
  while (PGresult* extra = PQgetResult(conn_)) PQclear(extra);
  if (result == nullptr) {
    const bool lost = PQstatus(conn_) != CONNECTION_OK;
    throw PgError(oneLine(redact_(PQerrorMessage(conn_))) +
                      (lost ? " (the connection to the server was lost)" : ""),
                  "", lost);
  }
  return check(result);
}

std::string quoteIdent(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace oura::plugins::postgres

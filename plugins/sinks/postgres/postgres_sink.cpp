// The postgres sink (see README.md). Everything goes through libpq (plugins/common/postgres:
// pg_connection.hpp, pg_settings.hpp); the SQL
// is built from the stream schemas in statements.cpp; rows travel by COPY, straight into the
// table when they are all new, else through a session temp table the upsert reads (or, without
// the TEMPORARY privilege, as one JSON array per statement) (row_json.cpp).
#include "postgres_sink.hpp"

#include <Poco/UTF8Encoding.h>

#include <algorithm>
#include <chrono>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/NumberParser.h>
#include <oura_sdk/errors.hpp>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "row_json.hpp"
#include "statements.hpp"

namespace oura::plugins::postgres {

using sdk::ColumnType;
using sdk::ConfigKey;
using sdk::ConfigType;
using sdk::ConfigValue;
using sdk::SinkOutcome;
using sdk::StreamSchema;

namespace {

constexpr int kFetchRows = 500;  // readRaw: documents per FETCH

std::int64_t lockKey(const std::string& text) { return advisoryLockKey(text); }

std::uint64_t toCount(const std::string& text) { return std::stoull(text); }

bool schemaMismatch(const std::string& sqlstate) {
  return sqlstate == "42P01"      // undefined_table
         || sqlstate == "42703"   // undefined_column
         || sqlstate == "42P10"   // invalid_column_reference (no unique index for ON CONFLICT)
         || sqlstate == "42804"   // datatype_mismatch
         || sqlstate == "3F000";  // invalid_schema_name
}

// `bytes` as a bytea literal in hex format ("\\x..."), for a text parameter.
std::string byteaHex(const std::string& bytes) {
  static const char* hex = "0123456789abcdef";
  std::string out = "\\x";
  out.reserve(2 + bytes.size() * 2);
  for (unsigned char b : bytes) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

std::string fromHex(const std::string& text) {
  auto nibble = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  std::string out;
  out.reserve(text.size() / 2);
  for (std::size_t i = 0; i + 1 < text.size(); i += 2) {
    out += static_cast<char>(nibble(text[i]) << 4 | nibble(text[i + 1]));
  }
  return out;
}

// `text` fit for a text column: every byte that is not part of a valid UTF-8 sequence (and
// NUL) becomes \xNN.
std::string validText(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const std::size_t n = lead < 0x80 ? 1 : (lead >> 5) == 6 ? 2 : (lead >> 4) == 14 ? 3
                                                             : (lead >> 3) == 30 ? 4 : 0;
    if (lead != 0 && n != 0 && i + n <= text.size() &&
        Poco::UTF8Encoding::isLegal(reinterpret_cast<const unsigned char*>(text.data() + i),
                                    static_cast<int>(n))) {
      out.append(text, i, n);
      i += n;
      continue;
    }
    static const char* hex = "0123456789abcdef";
    out += "\\x";
    out += hex[lead >> 4];
    out += hex[lead & 15];
    ++i;
  }
  return out;
}

constexpr const char* kRejectSql =
    "INSERT INTO oura.rejected_documents AS r (account, collection, document_key, reason, raw)"
    " VALUES ($1::text, $2::text, $3::text, $4::text, $5::bytea)"
    " ON CONFLICT (account, collection, raw_md5) DO UPDATE SET"
    " document_key = EXCLUDED.document_key, reason = EXCLUDED.reason,"
    " last_rejected_at = now(), times = r.times + 1";
constexpr const char* kAcceptRejectedSql =
    "DELETE FROM oura.rejected_documents WHERE account = $1::text AND collection = $2::text"
    " AND raw_md5 = md5($3::bytea)";

SinkOutcome outcome(SinkOutcome::Status status, std::string message) {
  SinkOutcome o;
  o.status = status;
  o.message = std::move(message);
  return o;
}

// Which statement of a batch failed, for the message and the search for a bad value.
struct Stage {
  const StreamSchema* stream = nullptr;
  const std::vector<sdk::Row>* rows = nullptr;
  const std::vector<std::size_t>* which = nullptr;
  std::string what;  // "stream sleep", "oura.sync_state", ...
};

}  // namespace

std::int64_t runLockKey(const std::string& account) { return lockKey("oura-collector:" + account); }

sdk::ConfigSchema PostgresSink::configSchema() {
  sdk::ConfigSchema keys = connectionConfigKeys();  // host ... application_name
  keys.push_back(ConfigKey{"lock", ConfigType::Boolean, false, ConfigValue{true},
                           "take the account's run lock (a session advisory lock) so that two "
                           "runs for one account never overlap; the second exits 75"});
  return keys;
}

PostgresSink::PostgresSink(const sdk::PluginContext& context)
    : logger_(context.logger),
      settings_(connectionSettingsFrom(context.config)),
      lock_(context.config.getBool("lock")) {}

PostgresSink::~PostgresSink() {
  try {
    close();
  } catch (...) {
  }
}

Connection& PostgresSink::connection() {
  if (connection_ && connection_->ok()) return *connection_;
  if (connection_) {
    logger_.warning("the connection to PostgreSQL at " + endpointName(settings_) +
                    " was lost; reconnecting");
    disconnect();
  }
  connection_ = std::make_unique<Connection>(settings_, logger_);
  logger_.debug("connected to PostgreSQL at " + endpointName(settings_) + ", database " +
                settings_.dbname + " as " + settings_.user + " (session pid " +
                std::to_string(connection_->backendPid()) + ")");
  return *connection_;
}

void PostgresSink::disconnect() noexcept {
  if (connection_) former_pid_ = connection_->backendPid();
  connection_.reset();
  locked_accounts_.clear();
  staged_.clear();
}

void PostgresSink::throwUnavailable(const std::string& what, const PgError& e) const {
  throw sdk::UnavailableError(what + ": PostgreSQL at " + endpointName(settings_) + ": " +
                              e.what());
}

void PostgresSink::lockAccount(const std::string& account) {
  if (!lock_ || locked_accounts_.count(account)) return;
  Connection& c = connection();
  const std::int64_t key = runLockKey(account);
  for (int attempt = 0;; ++attempt) {
    if (c.exec("SELECT pg_try_advisory_lock($1::bigint)", {std::to_string(key)}).value(0, 0) ==
        "t") {
      locked_accounts_.insert(account);
      logger_.debug("took the run lock of account " + account);
      return;
    }
    const std::optional<LockHolder> holder = advisoryLockHolder(c, key);
    const int pid = holder ? holder->pid : 0;
    // Our own former session (the connection broke, the server has not noticed yet): end it.
    if (pid != 0 && pid == former_pid_ && attempt < 20) {
      if (attempt == 0) {
        logger_.warning("the run lock of account " + account +
                        " is still held by this "
                        "program's former session (pid " +
                        std::to_string(pid) + "); ending it");
        try {
          c.exec("SELECT pg_terminate_backend($1::int)", {std::to_string(pid)});
        } catch (const PgError& e) {
          logger_.warning(std::string("could not end the former session: ") + e.what());
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    if (pid == 0 && attempt < 3) {  // released meanwhile
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    const std::string who = holder ? " (" + holder->describe() + ")" : std::string();
    throw sdk::RunLockedError("another oura-collector run holds the lock of account " + account +
                              who + " in database " + settings_.dbname + " at " +
                              endpointName(settings_) +
                              ": this run did nothing; run again when it has finished");
  }
}

void PostgresSink::open(const std::string& account,
                        const std::vector<const sdk::CollectionSpec*>& collections) {
  Connection* c = &connection();         // UnavailableError
  const int version = *schemaVersion();  // UnavailableError, Error
  const std::string where = "database " + settings_.dbname + " at " + endpointName(settings_);
  if (version == 0) {
    throw sdk::ConfigError(where +
                           " has no oura schema yet (no migration applied): run "
                           "`oura-collector init-db` first");
  }
  Result problems = [&] {
    try {
      return c->exec(schemaCheckSql(), {expectedColumnsJson(collections)});
    } catch (const PgError& e) {
      if (e.connectionLost()) throwUnavailable("cannot open", e);
      throw sdk::Error("cannot check the schema of " + where + ": " + e.what());
    }
  }();
  if (problems.rows() > 0) {
    std::string list;
    std::set<std::string> missing_tables;
    int listed = 0;
    for (int r = 0; r < problems.rows(); ++r) {
      const std::string table = problems.value(r, 0);
      std::string item;
      if (problems.value(r, 4) != "t") {
        if (!missing_tables.insert(table).second) continue;
        item = "table oura." + table + " is missing";
      } else if (problems.isNull(r, 3)) {
        item = "column oura." + table + "." + problems.value(r, 1) + " is missing";
      } else {
        item = "column oura." + table + "." + problems.value(r, 1) + " is " + problems.value(r, 3) +
               ", expected " + problems.value(r, 2);
      }
      if (listed++ < 8) list += (list.empty() ? "" : "; ") + item;
    }
    if (listed > 8) list += "; and " + std::to_string(listed - 8) + " more";
    throw sdk::ConfigError("the tables of " + where + " (schema version " +
                           std::to_string(version) + ") do not match this program: " + list +
                           "; run `oura-collector init-db`");
  }
  try {
    lockAccount(account);
  } catch (const PgError& e) {
    if (e.connectionLost()) disconnect();
    throwUnavailable("cannot take the run lock of account " + account, e);
  }
  logger_.info("connected to PostgreSQL at " + endpointName(settings_) + ", database " +
               settings_.dbname + " as " + settings_.user + " (schema version " +
               std::to_string(version) + ", " + std::to_string(collections.size()) +
               " collections checked" +
               (lock_ ? ", run lock of account " + account + " held" : "") + ")");
}

SinkOutcome PostgresSink::write(const sdk::SinkBatch& batch) {
  try {
    return writeBatch(batch);
  } catch (const sdk::RunLockedError&) {
    throw;
  } catch (const sdk::UnavailableError& e) {
    return outcome(SinkOutcome::Status::RetryLater, e.what());
  } catch (const PgError& e) {  // outside a statement of the batch (the run lock)
    if (connection_) connection_->rollbackQuietly();
    if (e.connectionLost()) disconnect();
    return outcome(e.transient() ? SinkOutcome::Status::RetryLater : SinkOutcome::Status::Failed,
                   "PostgreSQL at " + endpointName(settings_) + ": " + e.what());
  } catch (const std::exception& e) {
    if (connection_) connection_->rollbackQuietly();
    return outcome(SinkOutcome::Status::Failed, e.what());
  }
}

SinkOutcome PostgresSink::writeBatch(const sdk::SinkBatch& batch) {
  if (batch.collection == nullptr || batch.collection->streams.empty()) {
    return outcome(SinkOutcome::Status::Failed, "a batch without its collection");
  }
  const sdk::CollectionSpec& spec = *batch.collection;
  const StreamSchema& document = spec.streams[0];

  // Every stream's rows are serialised before the transaction: as COPY text lines (staging),
  // or, when the role may not create temporary tables, as one JSON array.
  struct Prepared {
    const StreamSchema* schema;
    const std::vector<sdk::Row>* rows;
    std::vector<std::size_t> which;  // the last row of each key
    std::string data;                // COPY text (staging) or the JSON array
    std::string parents_json;        // sample streams: the keys of the batch's documents
  };
  bool staging = staging_;
  auto serialise = [&](Prepared& p) {
    p.data = staging ? rowsCopyText(*p.schema, *p.rows, p.which, batch.account)
                     : rowsJson(*p.schema, *p.rows, p.which);
  };
  std::vector<Prepared> prepared;
  const sdk::StreamRows* documents = nullptr;
  std::vector<std::size_t> document_which;
  for (const sdk::StreamRows& stream : batch.streams) {
    if (stream.schema == nullptr)
      return outcome(SinkOutcome::Status::Failed, "a stream without its schema");
    if (!stream.schema->samples && stream.schema->name == document.name) documents = &stream;
  }
  for (const sdk::StreamRows& stream : batch.streams) {
    const StreamSchema& schema = *stream.schema;
    Prepared p{&schema, &stream.rows, {}, {}, {}};
    try {
      p.which = lastRowPerKey(schema, stream.rows);
      if (p.which.size() < stream.rows.size()) {
        logger_.debug("stream " + schema.name + ": " +
                      std::to_string(stream.rows.size() - p.which.size()) +
                      " rows repeat a key within the batch; the last one of each is kept");
      }
      serialise(p);
      if (&stream == documents) document_which = p.which;
    } catch (const BadRow& e) {
      return outcome(SinkOutcome::Status::Failed, "stream " + schema.name + ", document " +
                                                      describeKey(schema, stream.rows.at(e.row())) +
                                                      ": " + e.what());
    } catch (const std::invalid_argument& e) {
      return outcome(SinkOutcome::Status::Failed, e.what());
    }
    prepared.push_back(std::move(p));
  }
  for (Prepared& p : prepared) {
    if (!p.schema->samples || documents == nullptr || documents->rows.empty()) continue;
    try {
      const std::vector<const sdk::Column*> key = parentKeyColumns(*p.schema, document);
      std::vector<std::string> names;
      for (const sdk::Column* c : key) names.push_back(c->name);
      p.parents_json = keysJson(key, names, keyIndices(document), documents->rows, document_which);
    } catch (const BadRow& e) {
      return outcome(SinkOutcome::Status::Failed,
                     "stream " + document.name + ", document " +
                         describeKey(document, documents->rows.at(e.row())) + ": " + e.what());
    } catch (const std::invalid_argument& e) {
      return outcome(SinkOutcome::Status::Failed, e.what());
    }
  }
  std::string window_keys_json;
  std::optional<std::string> mark_sql;
  const bool windowed = !batch.window.first_day.empty();
  if (batch.window_complete) {
    try {
      mark_sql = markDeletedSql(spec, windowed);
      std::vector<const sdk::Column*> key;
      std::vector<std::size_t> positions, all(batch.window_document_keys.size());
      for (std::size_t i = 0; i < document.primary_key.size(); ++i) {
        key.push_back(&document.columns[document.columnIndex(document.primary_key[i])]);
        positions.push_back(i);
      }
      for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
      window_keys_json =
          keysJson(key, document.primary_key, positions, batch.window_document_keys, all);
    } catch (const std::exception& e) {
      return outcome(SinkOutcome::Status::Failed,
                     "stream " + document.name + ": the window's document keys: " + e.what());
    }
    if (!mark_sql) {
      logger_.warning(spec.name + ": day_field \"" + spec.day_field +
                      "\" is not a date, timestamptz or text column of stream " + document.name +
                      ": documents gone upstream are not marked deleted");
    }
  }

  Connection& c = connection();  // UnavailableError -> RetryLater
  lockAccount(batch.account);    // RunLockedError is thrown on
  Stage stage;
  SinkOutcome result;

  // One stream by COPY: rows that are all new straight into the table (under a savepoint: a
  // key that exists already rolls it back), else into the staging table, which the sample
  // stream's stale samples are judged by and the upsert reads.
  auto writeStaged = [&](const Prepared& p) {
    const StreamSchema& schema = *p.schema;
    bool stored = false;  // the batch's documents have samples stored: some may be stale
    if (!p.parents_json.empty()) {
      stored = c.exec(storedChildrenExistSql(schema, document), {p.parents_json, batch.account})
                   .value(0, 0) == "t";
    }
    if (p.which.empty()) {  // no rows: the documents' stored samples are all stale
      if (stored) {
        c.exec(deleteStaleChildrenFromStagingSql(schema, document),
               {p.parents_json, batch.account});
      }
      return;
    }
    bool& copy_first = copy_first_.try_emplace(schema.name, true).first->second;
    if (copy_first && !stored) {
      c.exec("SAVEPOINT oura_new_rows");
      try {
        result.inserted += c.copyIn(copyToTableSql(schema), p.data).affected();
        c.exec("RELEASE SAVEPOINT oura_new_rows");
        return;
      } catch (const PgError& e) {
        if (e.sqlstate() != "23505" || !c.ok()) throw;  // 23505: a key exists already
      }
      c.exec("ROLLBACK TO SAVEPOINT oura_new_rows");
      copy_first = false;
    }
    c.copyIn(copyToStagingSql(schema), p.data);
    if (stored) {
      c.exec(deleteStaleChildrenFromStagingSql(schema, document), {p.parents_json, batch.account});
    }
    Result r = c.exec(upsertFromStagingSql(schema, !schema.samples));
    const std::uint64_t inserted = toCount(r.value(0, 0));
    result.inserted += inserted;
    result.updated += toCount(r.value(0, 1));
    copy_first = inserted == p.which.size();
  };

  try {
    if (staging) {
      stage.what = "creating the staging tables";
      for (const Prepared& p : prepared) {
        if (!ensureStaging(c, *p.schema)) staging = false;
      }
      if (!staging) {  // the role may not create temporary tables: JSON, from now on
        for (Prepared& p : prepared) {
          try {
            serialise(p);
          } catch (const BadRow& e) {
            return outcome(SinkOutcome::Status::Failed,
                           "stream " + p.schema->name + ", document " +
                               describeKey(*p.schema, p.rows->at(e.row())) + ": " + e.what());
          }
        }
      }
    }
    stage.what = "BEGIN";
    c.exec("BEGIN");
    for (const Prepared& p : prepared) {
      stage = Stage{p.schema, p.rows, &p.which, "stream " + p.schema->name};
      if (staging) {
        writeStaged(p);
        continue;
      }
      if (!p.parents_json.empty()) {
        c.exec(deleteStaleChildrenSql(*p.schema, document),
               {p.parents_json, batch.account, p.data});
      }
      if (p.which.empty()) continue;
      Result r = c.exec(upsertSql(*p.schema, !p.schema->samples), {p.data, batch.account});
      result.inserted += toCount(r.value(0, 0));
      result.updated += toCount(r.value(0, 1));
    }
    std::uint64_t marked = 0;
    if (mark_sql) {
      stage = Stage{nullptr, nullptr, nullptr, "stream " + document.name + " (marking deletions)"};
      std::vector<std::optional<std::string>> params{batch.account, window_keys_json};
      if (windowed) {
        params.emplace_back(batch.window.first_day);
        params.emplace_back(batch.window.last_day);
      }
      marked = toCount(c.exec(*mark_sql, params).value(0, 0));
    }
    if (!batch.rejected.empty() || !batch.accepted_rejections.empty()) {
      stage = Stage{nullptr, nullptr, nullptr, "oura.rejected_documents"};
      for (const sdk::RejectedDocument& r : batch.rejected) {
        c.exec(kRejectSql, {batch.account, spec.name,
                            r.key.empty() ? std::nullopt : std::optional<std::string>(validText(r.key)),
                            validText(r.reason), byteaHex(r.raw)});
      }
      for (const std::string& raw : batch.accepted_rejections) {
        c.exec(kAcceptRejectedSql, {batch.account, spec.name, byteaHex(raw)});
      }
    }
    if (batch.synced_through) {
      stage = Stage{nullptr, nullptr, nullptr, "oura.sync_state"};
      c.exec(
          "INSERT INTO oura.sync_state AS s (account, collection, synced_through) "
          "VALUES ($1::text, $2::text, $3::date) ON CONFLICT (account, collection) DO UPDATE "
          "SET synced_through = EXCLUDED.synced_through, updated_at = now()",
          {batch.account, spec.name, *batch.synced_through});
      // The pending backfill (004_backfill_pending.sql) shrinks with the state it covers: a
      // window that starts at or before its first day landed everything through the synced
      // day. Nothing left: forgotten.
      stage = Stage{nullptr, nullptr, nullptr, "oura.backfill_pending"};
      c.exec(
          "WITH shrunk AS (UPDATE oura.backfill_pending SET first_day = $3::date + 1 "
          "WHERE account = $1::text AND collection = $2::text AND first_day >= $4::date "
          "AND first_day <= $3::date AND $3::date < last_day RETURNING 1) "
          "DELETE FROM oura.backfill_pending WHERE account = $1::text AND collection = $2::text "
          "AND first_day >= $4::date AND last_day <= $3::date",
          {batch.account, spec.name, *batch.synced_through,
           batch.window.first_day.empty() ? *batch.synced_through : batch.window.first_day});
    }
    stage = Stage{nullptr, nullptr, nullptr, "COMMIT"};
    c.exec("COMMIT");
    const std::string window =
        windowed ? " " + batch.window.first_day + ".." + batch.window.last_day : "";
    if (marked > 0) {
      logger_.info(spec.name + window + ": " + std::to_string(marked) +
                   " documents no longer returned by the API were marked deleted");
    }
    if (logger_.debugEnabled()) {
      logger_.debug(spec.name + window + ": " + std::to_string(result.inserted) + " inserted, " +
                    std::to_string(result.updated) + " updated" +
                    (batch.synced_through ? ", synced through " + *batch.synced_through : ""));
    }
    return result;
  } catch (const PgError& e) {
    c.rollbackQuietly();
    std::string message = stage.what + ": " + e.what();
    if (e.connectionLost() || !c.ok()) {
      disconnect();
      return outcome(SinkOutcome::Status::RetryLater,
                     "PostgreSQL at " + endpointName(settings_) + ": " + message +
                         "; nothing was written, the sink reconnects for the next attempt");
    }
    if (e.transient()) {
      return outcome(SinkOutcome::Status::RetryLater, "PostgreSQL at " + endpointName(settings_) +
                                                          ": " + message + "; nothing was written");
    }
    if (schemaMismatch(e.sqlstate())) {
      message +=
          "; the database schema does not match this program: run `oura-collector "
          "init-db`";
    } else if (e.sqlstate().rfind("22", 0) == 0 && stage.stream != nullptr) {
      std::string reason;
      const std::string key = locateBadValue(*stage.stream, *stage.rows, *stage.which, reason);
      if (!key.empty()) {
        message = stage.what + ", document " + key + ": " + (reason.empty() ? e.what() : reason);
      }
    }
    return outcome(SinkOutcome::Status::Failed, message + "; nothing was written");
  }
}

bool PostgresSink::ensureStaging(Connection& c, const StreamSchema& stream) {
  if (!staging_) return false;
  if (staged_.count(stream.name)) return true;
  try {
    c.exec(createStagingSql(stream));
  } catch (const PgError& e) {
    if (e.sqlstate() != "42501") throw;  // insufficient_privilege
    staging_ = false;
    logger_.warning("role " + settings_.user + " may not create temporary tables in database " +
                    settings_.dbname + " (" + e.what() +
                    "): rows are sent as JSON instead of by COPY, which is slower; `GRANT "
                    "TEMPORARY ON DATABASE " +
                    settings_.dbname + " TO " + settings_.user + "` allows the faster way");
    return false;
  }
  staged_.insert(stream.name);
  return true;
}

std::string PostgresSink::locateBadValue(const StreamSchema& stream,
                                         const std::vector<sdk::Row>& rows,
                                         const std::vector<std::size_t>& which,
                                         std::string& reason) {
  // A jsonb value that is not JSON (the COPY sends values unparsed).
  try {
    (void)rowsJson(stream, rows, which);
  } catch (const BadRow& e) {
    reason = e.what();
    return describeKey(stream, rows.at(e.row()));
  } catch (const std::exception&) {
    return {};
  }
  if (!connection_ || !connection_->ok() || which.empty()) return {};
  const std::string sql = castCheckSql(stream);
  auto fails = [&](std::size_t from, std::size_t to) {
    std::vector<std::size_t> part(which.begin() + static_cast<std::ptrdiff_t>(from),
                                  which.begin() + static_cast<std::ptrdiff_t>(to));
    try {
      connection_->exec(sql, {rowsJson(stream, rows, part)});
      return false;
    } catch (const PgError& e) {
      if (e.transient()) throw;
      return true;
    }
  };
  try {
    std::size_t lo = 0, hi = which.size();
    if (!fails(lo, hi)) return {};
    while (hi - lo > 1) {
      const std::size_t mid = lo + (hi - lo) / 2;
      if (fails(lo, mid)) {
        hi = mid;
      } else {
        lo = mid;
      }
    }
    return describeKey(stream, rows[which[lo]]);
  } catch (const std::exception&) {
    return {};
  }
}

void PostgresSink::rememberBackfill(const std::string& account, const std::string& collection,
                                    const sdk::DayWindow& days) {
  for (int attempt = 1;; ++attempt) {
    try {
      Connection& c = connection();
      lockAccount(account);
      // One statement, its own transaction: durable before anything of the range is fetched.
      c.exec(
          "INSERT INTO oura.backfill_pending AS p (account, collection, first_day, last_day) "
          "VALUES ($1::text, $2::text, $3::date, $4::date) ON CONFLICT (account, collection) DO "
          "UPDATE SET first_day = least(p.first_day, EXCLUDED.first_day), "
          "last_day = greatest(p.last_day, EXCLUDED.last_day), requested_at = now()",
          {account, collection, days.first_day, days.last_day});
      return;
    } catch (const PgError& e) {
      if (e.connectionLost() && attempt < 2) {
        disconnect();
        continue;
      }
      if (e.connectionLost()) throwUnavailable("recording the backfill", e);
      if (schemaMismatch(e.sqlstate())) {
        throw sdk::ConfigError("recording the backfill of " + account + "/" + collection +
                               " in oura.backfill_pending: " + e.what() +
                               "; run `oura-collector init-db`");
      }
      throw sdk::Error("recording the backfill of " + account + "/" + collection +
                       " in oura.backfill_pending: " + e.what());
    }
  }
}

std::optional<sdk::DayWindow> PostgresSink::pendingBackfill(const std::string& account,
                                                            const std::string& collection) {
  for (int attempt = 1;; ++attempt) {
    try {
      Connection& c = connection();
      lockAccount(account);
      Result r = c.exec(
          "SELECT to_char(first_day, 'YYYY-MM-DD'), to_char(last_day, 'YYYY-MM-DD') "
          "FROM oura.backfill_pending WHERE account = $1::text AND collection = $2::text",
          {account, collection});
      if (r.rows() == 0) return std::nullopt;
      return sdk::DayWindow{r.value(0, 0), r.value(0, 1)};
    } catch (const PgError& e) {
      if (e.connectionLost() && attempt < 2) {
        disconnect();
        continue;
      }
      if (e.connectionLost()) throwUnavailable("reading the pending backfills", e);
      throw sdk::Error("reading oura.backfill_pending of " + account + "/" + collection + ": " +
                       e.what());
    }
  }
}

std::optional<std::string> PostgresSink::syncedThrough(const std::string& account,
                                                       const std::string& collection) {
  for (int attempt = 1;; ++attempt) {
    try {
      Connection& c = connection();
      lockAccount(account);
      Result r = c.exec(
          "SELECT to_char(synced_through, 'YYYY-MM-DD') FROM oura.sync_state "
          "WHERE account = $1::text AND collection = $2::text",
          {account, collection});
      if (r.rows() == 0 || r.isNull(0, 0)) return std::nullopt;
      return r.value(0, 0);
    } catch (const PgError& e) {
      if (e.connectionLost() && attempt < 2) {
        disconnect();
        continue;
      }
      if (e.connectionLost()) throwUnavailable("reading the sync state", e);
      throw sdk::Error("reading oura.sync_state of " + account + "/" + collection + ": " +
                       e.what());
    }
  }
}

void PostgresSink::close() {
  if (connection_ && connection_->ok()) {
    for (const std::string& account : locked_accounts_) {
      try {
        connection_->exec("SELECT pg_advisory_unlock($1::bigint)",
                          {std::to_string(runLockKey(account))});
        logger_.debug("released the run lock of account " + account);
      } catch (const PgError&) {
        // disconnecting releases it as well
      }
    }
  }
  connection_.reset();
  locked_accounts_.clear();
  staged_.clear();
}

namespace {

// $3/$4 (ms since the epoch) as timestamptz, exactly (no float).
constexpr const char* kRecordRunSql =
    "WITH run AS ("
    " INSERT INTO oura.runs (account, command, started_at, finished_at, exit_code, outcome,"
    " error, program_version)"
    " SELECT $1::text, $2::text, 'epoch'::timestamptz + $3::bigint * interval '1 millisecond',"
    " 'epoch'::timestamptz + $4::bigint * interval '1 millisecond', $5::int, $6::text, $7::text,"
    " $8::text"
    // A retry after a connection lost during the statement must not record the run twice.
    " WHERE NOT EXISTS (SELECT 1 FROM oura.runs r WHERE r.account = $1::text AND r.command ="
    " $2::text AND r.started_at = 'epoch'::timestamptz + $3::bigint * interval '1 millisecond')"
    " RETURNING id) "
    "INSERT INTO oura.run_collections (run_id, account, collection, endpoint, first_day,"
    " last_day, requests, retries, pages, documents, \"rows\", inserted, updated, skipped,"
    " warnings, rejected, replaced, outcome, message)"
    " SELECT run.id, $1::text, c.collection, c.endpoint, c.first_day, c.last_day, c.requests,"
    " c.retries, c.pages, c.documents, c.\"rows\", c.inserted, c.updated, c.skipped, c.warnings,"
    " c.rejected, c.replaced, c.outcome, c.message"
    " FROM run CROSS JOIN jsonb_to_recordset($9::jsonb) AS c(collection text, endpoint text,"
    " first_day date, last_day date, requests bigint, retries bigint, pages bigint, documents"
    " bigint, \"rows\" bigint, inserted bigint, updated bigint, skipped bigint, warnings bigint,"
    " rejected bigint, replaced bigint, outcome text, message text)";

// Per (account, collection) known from the sync state, a pending backfill or the run log: the
// sync state, the latest run, the latest run that did not end ok, the backfill still missing and
// the count of its documents in the dead-letter store. The run log's distinct keys come from a
// loose index scan of run_collections_latest_idx (one probe per key, however many runs).
// $1 = account, '' for every account. Times as ms since the epoch.
constexpr const char* kStatusSql =
    "WITH RECURSIVE run_keys AS ("
    " (SELECT account, collection FROM oura.run_collections"
    "  WHERE ($1::text = '' OR account = $1::text) ORDER BY account, collection LIMIT 1)"
    " UNION ALL"
    " SELECT n.account, n.collection FROM run_keys k CROSS JOIN LATERAL ("
    "  SELECT r.account, r.collection FROM oura.run_collections r"
    "  WHERE ($1::text = '' OR r.account = $1::text)"
    "  AND (r.account, r.collection) > (k.account, k.collection)"
    "  ORDER BY r.account, r.collection LIMIT 1) n"
    "), keys AS ("
    " SELECT account, collection FROM run_keys"
    " UNION"
    " SELECT account, collection FROM oura.sync_state WHERE ($1::text = '' OR account = $1::text)"
    " UNION"
    " SELECT account, collection FROM oura.backfill_pending"
    " WHERE ($1::text = '' OR account = $1::text)"
    ") "
    "SELECT k.account, k.collection, to_char(s.synced_through, 'YYYY-MM-DD'),"
    " round(extract(epoch FROM s.updated_at) * 1000)::bigint,"
    " round(extract(epoch FROM lr.started_at) * 1000)::bigint,"
    " round(extract(epoch FROM lr.finished_at) * 1000)::bigint,"
    " lr.command, last.outcome, last.inserted, last.updated,"
    " round(extract(epoch FROM er.finished_at) * 1000)::bigint, err.outcome, err.message,"
    " to_char(bp.first_day, 'YYYY-MM-DD'), to_char(bp.last_day, 'YYYY-MM-DD'),"
    " (SELECT count(*) FROM oura.rejected_documents d WHERE d.account = k.account"
    "  AND d.collection = k.collection)"
    " FROM keys k"
    " LEFT JOIN oura.sync_state s ON s.account = k.account AND s.collection = k.collection"
    " LEFT JOIN LATERAL (SELECT rc.run_id, rc.outcome, rc.inserted, rc.updated"
    "  FROM oura.run_collections rc WHERE rc.account = k.account AND rc.collection = k.collection"
    "  ORDER BY rc.run_id DESC LIMIT 1) last ON true"
    " LEFT JOIN oura.runs lr ON lr.id = last.run_id"
    " LEFT JOIN LATERAL (SELECT rc.run_id, rc.outcome, rc.message"
    "  FROM oura.run_collections rc WHERE rc.account = k.account AND rc.collection = k.collection"
    "  AND rc.outcome <> 'ok' ORDER BY rc.run_id DESC LIMIT 1) err ON true"
    " LEFT JOIN oura.runs er ON er.id = err.run_id"
    " LEFT JOIN oura.backfill_pending bp ON bp.account = k.account AND bp.collection = k.collection"
    " ORDER BY k.account, k.collection";

std::optional<std::int64_t> optionalMs(const Result& r, int row, int column) {
  if (r.isNull(row, column)) return std::nullopt;
  return std::stoll(r.value(row, column));
}

// The collections of a run as the JSON array kRecordRunSql reads ("" days and messages as null).
std::string runCollectionsJson(const sdk::RunRecord& run) {
  Poco::JSON::Array list;
  auto text_or_null = [](Poco::JSON::Object& o, const std::string& key, const std::string& v) {
    if (v.empty()) {
      o.set(key, Poco::Dynamic::Var());
    } else {
      o.set(key, v);
    }
  };
  for (const sdk::RunCollectionRecord& c : run.collections) {
    Poco::JSON::Object o;
    o.set("collection", c.collection);
    o.set("endpoint", c.endpoint);
    text_or_null(o, "first_day", c.first_day);
    text_or_null(o, "last_day", c.last_day);
    o.set("requests", c.requests);
    o.set("retries", c.retries);
    o.set("pages", c.pages);
    o.set("documents", c.documents);
    o.set("rows", c.rows);
    o.set("inserted", c.inserted);
    o.set("updated", c.updated);
    o.set("skipped", c.skipped);
    o.set("warnings", c.warnings);
    o.set("rejected", c.rejected);
    o.set("replaced", c.replaced);
    o.set("outcome", c.outcome);
    text_or_null(o, "message", c.message);
    list.add(o);
  }
  std::ostringstream out;
  list.stringify(out);
  return out.str();
}

}  // namespace

void PostgresSink::recordRun(const sdk::RunRecord& run) {
  const std::string collections = runCollectionsJson(run);
  const std::string where = "recording the run in oura.runs";
  for (int attempt = 1;; ++attempt) {
    try {
      Connection& c = connection();  // reconnects after a connection lost since the last batch
      c.exec(kRecordRunSql,
             {run.account, run.command, std::to_string(run.started_at_ms),
              std::to_string(run.finished_at_ms), std::to_string(run.exit_code), run.outcome,
              run.error.empty() ? std::nullopt : std::optional<std::string>(run.error),
              run.program_version, collections});
      logger_.debug("recorded the " + run.command + " run of account " + run.account + " (" +
                    run.outcome + ", " + std::to_string(run.collections.size()) +
                    " collections) in oura.runs");
      return;
    } catch (const PgError& e) {
      if (e.connectionLost()) {
        disconnect();
        if (attempt < 2) continue;
        throwUnavailable(where, e);
      }
      if (schemaMismatch(e.sqlstate())) {
        throw sdk::ConfigError(where + ": " + e.what() +
                               "; the database has no run log yet: run `oura-collector init-db`");
      }
      throw sdk::Error(where + " at " + endpointName(settings_) + ": " + e.what());
    }
  }
}

std::optional<std::vector<sdk::CollectionStatus>> PostgresSink::status(const std::string& account) {
  for (int attempt = 1;; ++attempt) {
    try {
      Result r = connection().exec(kStatusSql, {account});
      std::vector<sdk::CollectionStatus> out;
      for (int i = 0; i < r.rows(); ++i) {
        sdk::CollectionStatus s;
        s.account = r.value(i, 0);
        s.collection = r.value(i, 1);
        s.synced_through = r.nullable(i, 2);
        s.synced_at_ms = optionalMs(r, i, 3);
        s.last_run_started_at_ms = optionalMs(r, i, 4);
        s.last_run_finished_at_ms = optionalMs(r, i, 5);
        s.last_run_command = r.nullable(i, 6).value_or("");
        s.last_run_outcome = r.nullable(i, 7).value_or("");
        s.last_run_inserted = r.isNull(i, 8) ? 0 : toCount(r.value(i, 8));
        s.last_run_updated = r.isNull(i, 9) ? 0 : toCount(r.value(i, 9));
        s.last_error_at_ms = optionalMs(r, i, 10);
        s.last_error_outcome = r.nullable(i, 11).value_or("");
        s.last_error = r.nullable(i, 12).value_or("");
        if (!r.isNull(i, 13)) s.missing = sdk::DayWindow{r.value(i, 13), r.value(i, 14)};
        s.rejected_documents = toCount(r.value(i, 15));
        out.push_back(std::move(s));
      }
      return out;
    } catch (const PgError& e) {
      if (e.connectionLost() && attempt < 2) {
        disconnect();
        continue;
      }
      if (e.connectionLost()) throwUnavailable("reading the run log", e);
      if (schemaMismatch(e.sqlstate())) {
        throw sdk::ConfigError("reading oura.sync_state and the run log (oura.runs, "
                               "oura.run_collections) at " + endpointName(settings_) + ": " +
                               e.what() + "; run `oura-collector init-db`");
      }
      throw sdk::Error("reading oura.sync_state and the run log at " + endpointName(settings_) +
                       ": " + e.what());
    }
  }
}

// One row per day of the range that has any value: the daily documents by their `day` and the
// night's main sleep (the longest long_sleep of the day, should Oura ever send two).
constexpr const char* kDaySummariesSql =
    "SELECT d::date::text, ds.score, dr.score, da.score, da.steps, da.active_calories,"
    " dr.temperature_deviation, dr.contributors_hrv_balance, st.stress_high, st.recovery_high,"
    " NULLIF(sp.spo2_percentage_average, 0), s.lowest_heart_rate, s.average_hrv,"
    " s.total_sleep_duration, s.deep_sleep_duration, s.rem_sleep_duration,"
    " s.light_sleep_duration, s.awake_time, s.efficiency, s.latency,"
    " s.raw->>'bedtime_start', s.raw->>'bedtime_end', s.sleep_phase_5_min"
    " FROM generate_series($2::date, $3::date, interval '1 day') AS d"
    " LEFT JOIN oura.daily_sleep ds"
    "  ON ds.account = $1::text AND ds.day = d::date AND ds.deleted_at IS NULL"
    " LEFT JOIN oura.daily_readiness dr"
    "  ON dr.account = $1::text AND dr.day = d::date AND dr.deleted_at IS NULL"
    " LEFT JOIN oura.daily_activity da"
    "  ON da.account = $1::text AND da.day = d::date AND da.deleted_at IS NULL"
    " LEFT JOIN oura.daily_stress st"
    "  ON st.account = $1::text AND st.day = d::date AND st.deleted_at IS NULL"
    " LEFT JOIN oura.daily_spo2 sp"
    "  ON sp.account = $1::text AND sp.day = d::date AND sp.deleted_at IS NULL"
    " LEFT JOIN LATERAL (SELECT * FROM oura.sleep n"
    "  WHERE n.account = $1::text AND n.day = d::date AND n.type = 'long_sleep'"
    "  AND n.deleted_at IS NULL ORDER BY n.total_sleep_duration DESC NULLS LAST LIMIT 1) s ON true"
    " WHERE num_nonnulls(ds.day, dr.day, da.day, st.day, sp.day, s.day) > 0"
    " ORDER BY 1";

std::optional<std::vector<sdk::DaySummary>> PostgresSink::daySummaries(
    const std::string& account, const std::string& first_day, const std::string& last_day) {
  for (int attempt = 1;; ++attempt) {
    try {
      Result r = connection().exec(kDaySummariesSql, {account, first_day, last_day});
      std::vector<sdk::DaySummary> out;
      for (int i = 0; i < r.rows(); ++i) {
        auto number = [&](int column) -> std::optional<double> {
          if (r.isNull(i, column)) return std::nullopt;
          return Poco::NumberParser::parseFloat(r.value(i, column));
        };
        sdk::DaySummary d;
        d.day = r.value(i, 0);
        d.sleep_score = number(1);
        d.readiness_score = number(2);
        d.activity_score = number(3);
        d.steps = number(4);
        d.active_calories = number(5);
        d.temperature_deviation = number(6);
        d.hrv_balance = number(7);
        d.stress_high = number(8);
        d.recovery_high = number(9);
        d.spo2 = number(10);
        d.resting_heart_rate = number(11);
        d.average_hrv = number(12);
        d.total_sleep = number(13);
        d.deep_sleep = number(14);
        d.rem_sleep = number(15);
        d.light_sleep = number(16);
        d.awake_time = number(17);
        d.efficiency = number(18);
        d.latency = number(19);
        d.bedtime_start = r.nullable(i, 20);
        d.bedtime_end = r.nullable(i, 21);
        d.sleep_phase_5_min = r.nullable(i, 22);
        out.push_back(std::move(d));
      }
      return out;
    } catch (const PgError& e) {
      if (e.connectionLost() && attempt < 2) {
        disconnect();
        continue;
      }
      if (e.connectionLost()) throwUnavailable("reading the daily data", e);
      if (schemaMismatch(e.sqlstate())) {
        throw sdk::ConfigError("reading the daily tables at " + endpointName(settings_) + ": " +
                               e.what() + "; run `oura-collector init-db`");
      }
      throw sdk::Error("reading the daily tables at " + endpointName(settings_) + ": " +
                       e.what());
    }
  }
}

std::vector<int> PostgresSink::migrate(const std::vector<sdk::Migration>& migrations) {
  for (std::size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version < 1 ||
        (i > 0 && migrations[i].version <= migrations[i - 1].version)) {
      throw sdk::ConfigError("migrations must be numbered 1, 2, 3, ... in order; got " +
                             migrations[i].name);
    }
  }
  const std::string lock = std::to_string(lockKey("oura-collector:migrate"));
  std::vector<int> applied_now;
  Connection* c = nullptr;
  std::string current = "preparing oura.schema_migrations";
  try {
    c = &connection();
    // The bookkeeping table, created once; concurrent init-db runs queue on the lock.
    c->exec("BEGIN");
    c->exec("SELECT pg_advisory_xact_lock($1::bigint)", {lock});
    if (c->exec("SELECT to_regnamespace('oura') IS NULL").value(0, 0) == "t") {
      c->exec("CREATE SCHEMA oura");
    }
    if (c->exec("SELECT to_regclass('oura.schema_migrations') IS NULL").value(0, 0) == "t") {
      c->exec(
          "CREATE TABLE oura.schema_migrations (version integer PRIMARY KEY, name text NOT "
          "NULL, applied_at timestamptz NOT NULL DEFAULT now())");
    }
    c->exec("COMMIT");
    std::set<int> applied;
    Result r = c->exec("SELECT version FROM oura.schema_migrations");
    for (int i = 0; i < r.rows(); ++i) applied.insert(std::stoi(r.value(i, 0)));
    for (const sdk::Migration& m : migrations) {
      if (applied.count(m.version)) continue;
      current = "migration " + m.name;
      c->exec("BEGIN");
      c->exec("SELECT pg_advisory_xact_lock($1::bigint)", {lock});
      if (c->exec("SELECT 1 FROM oura.schema_migrations WHERE version = $1::int",
                  {std::to_string(m.version)})
              .rows() > 0) {
        c->exec("COMMIT");  // another init-db applied it meanwhile
        continue;
      }
      c->exec(m.sql);
      if (!c->inTransaction()) {
        throw sdk::Error("migration " + m.name +
                         " ends the transaction itself (COMMIT or ROLLBACK in the file): its "
                         "statements were committed but not recorded; remove BEGIN/COMMIT from "
                         "the file (init-db runs each migration in its own transaction)");
      }
      c->exec("INSERT INTO oura.schema_migrations (version, name) VALUES ($1::int, $2::text)",
              {std::to_string(m.version), m.name});
      c->exec("COMMIT");
      applied_now.push_back(m.version);
      logger_.info("applied migration " + m.name);
    }
    const int known = migrations.empty() ? 0 : migrations.back().version;
    if (!applied.empty() && *applied.rbegin() > known) {
      // A newer program's schema: its objects are not this program's to judge.
    } else {
      current = "verifying the schema against the migrations";
      verifyAndRepair(*c, migrations, lock);
    }
    if (!applied.empty() && *applied.rbegin() > known) {
      logger_.warning("the database has migration " + std::to_string(*applied.rbegin()) +
                      " applied, newer than the " + std::to_string(known) +
                      " this program knows: a newer oura-collector initialised it");
    }
    return applied_now;
  } catch (const PgError& e) {
    if (c) c->rollbackQuietly();
    if (e.connectionLost()) {
      disconnect();
      throwUnavailable(current, e);
    }
    throw sdk::Error(
        current + " failed: " + e.what() +
        (applied_now.empty() ? std::string() : "; the migrations before it stay applied"));
  }
}

namespace {

// Schema oura's objects (tables, columns with type and NOT NULL, indexes, constraints), each as
// "kind name" -> definition; oura.schema_migrations is the sink's bookkeeping and left out.
std::map<std::string, std::string> catalogue(Connection& c) {
  Result r = c.exec(
      "SELECT 'table oura.' || c.relname, '' FROM pg_catalog.pg_class c "
      "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
      "WHERE n.nspname = 'oura' AND c.relkind IN ('r', 'p') AND c.relname <> 'schema_migrations' "
      "UNION ALL "
      "SELECT 'column oura.' || c.relname || '.' || a.attname, "
      "format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END "
      "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
      "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
      "WHERE n.nspname = 'oura' AND c.relkind IN ('r', 'p') AND c.relname <> 'schema_migrations' "
      "AND a.attnum > 0 AND NOT a.attisdropped "
      "UNION ALL "
      "SELECT 'index oura.' || i.relname, pg_catalog.pg_get_indexdef(i.oid) "
      "FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid "
      "JOIN pg_catalog.pg_class t ON t.oid = x.indrelid "
      "JOIN pg_catalog.pg_namespace n ON n.oid = i.relnamespace "
      "WHERE n.nspname = 'oura' AND t.relname <> 'schema_migrations' "
      "UNION ALL "
      "SELECT 'constraint oura.' || t.relname || '.' || k.conname, "
      "pg_catalog.pg_get_constraintdef(k.oid) "
      "FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class t ON t.oid = k.conrelid "
      "JOIN pg_catalog.pg_namespace n ON n.oid = k.connamespace "
      "WHERE n.nspname = 'oura' AND t.relname <> 'schema_migrations'");
  std::map<std::string, std::string> out;
  for (int i = 0; i < r.rows(); ++i) out[r.value(i, 0)] = r.value(i, 1);
  return out;
}

// "missing: table oura.daily_sleep (and its 12 columns...), ...; different: ..." of what
// `present` lacks or has otherwise than `expected`; empty when they agree on every expected
// object (objects the migrations do not create are left alone: an operator's own index).
std::string schemaDifferences(const std::map<std::string, std::string>& expected,
                              const std::map<std::string, std::string>& present) {
  std::set<std::string> missing_tables;
  std::vector<std::string> missing, different;
  for (const auto& [object, definition] : expected) {
    auto found = present.find(object);
    if (found == present.end()) {
      if (object.rfind("table ", 0) == 0) missing_tables.insert(object.substr(6));
      missing.push_back(object);
    } else if (found->second != definition) {
      different.push_back(object + " (is " + found->second + ", the migrations make " +
                          definition + ")");
    }
  }
  // A missing table's columns, indexes and constraints are implied: name the table only.
  std::vector<std::string> shown;
  for (const std::string& object : missing) {
    bool implied = false;
    for (const std::string& table : missing_tables) {
      const std::size_t space = object.find(' ');
      const std::string name = object.substr(space + 1);
      if (object.rfind("table ", 0) != 0 &&
          (name.rfind(table + ".", 0) == 0 || (object.rfind("index ", 0) == 0 &&
                                               expected.at(object).find(" ON " + table + " ") !=
                                                   std::string::npos))) {
        implied = true;
      }
    }
    if (!implied) shown.push_back(object);
  }
  auto list = [](const std::vector<std::string>& items) {
    std::string text;
    for (std::size_t i = 0; i < items.size() && i < 10; ++i) text += (i ? ", " : "") + items[i];
    if (items.size() > 10) text += " and " + std::to_string(items.size() - 10) + " more";
    return text;
  };
  std::string out;
  if (!shown.empty()) out += "missing: " + list(shown);
  if (!different.empty()) out += std::string(out.empty() ? "" : "; ") + "different: " + list(different);
  return out;
}

}  // namespace

void PostgresSink::verifyAndRepair(Connection& c, const std::vector<sdk::Migration>& migrations,
                                   const std::string& lock) {
  // What the migrations build, learnt by building it: in a transaction that is rolled back,
  // schema oura is renamed aside and every migration runs into a fresh one.
  std::map<std::string, std::string> expected;
  c.exec("BEGIN");
  try {
    c.exec("SELECT pg_advisory_xact_lock($1::bigint)", {lock});
    c.exec("ALTER SCHEMA oura RENAME TO oura_verify_" + std::to_string(c.backendPid()));
    c.exec("CREATE SCHEMA oura");
    for (const sdk::Migration& m : migrations) c.exec(m.sql);
    expected = catalogue(c);
  } catch (const PgError& e) {
    if (e.sqlstate() != "42501") throw;  // not a missing privilege
    c.rollbackQuietly();
    logger_.warning("cannot verify the schema against the migrations (" + std::string(e.what()) +
                    "): the role running init-db needs CREATE on the database for that");
    return;
  }
  c.exec("ROLLBACK");
  const auto present = catalogue(c);
  const std::string before = schemaDifferences(expected, present);
  if (before.empty()) return;
  // Every migration creates with IF NOT EXISTS: running them all again creates what is missing
  // and leaves every existing table and row as it is.
  logger_.warning("the database schema does not match the migrations (" + before +
                  "); re-creating what is missing");
  c.exec("BEGIN");
  c.exec("SELECT pg_advisory_xact_lock($1::bigint)", {lock});
  for (const sdk::Migration& m : migrations) c.exec(m.sql);
  c.exec("COMMIT");
  const std::string after = schemaDifferences(expected, catalogue(c));
  if (!after.empty()) {
    throw sdk::ConfigError("the database schema differs from the migrations and cannot be "
                           "repaired by re-creating missing objects: " + after +
                           "; fix these objects by hand (or restore the database), then run "
                           "init-db again");
  }
  logger_.warning("re-created the missing schema objects (" + before +
                  "); existing tables and rows were not touched");
}

std::optional<int> PostgresSink::schemaVersion() {
  for (int attempt = 1;; ++attempt) {
    try {
      Connection& c = connection();
      if (c.exec("SELECT to_regclass('oura.schema_migrations') IS NULL").value(0, 0) == "t") {
        return 0;
      }
      return std::stoi(
          c.exec("SELECT coalesce(max(version), 0) FROM oura.schema_migrations").value(0, 0));
    } catch (const PgError& e) {
      if (e.connectionLost() && attempt < 2) {
        disconnect();
        continue;
      }
      if (e.connectionLost()) throwUnavailable("reading the schema version", e);
      throw sdk::Error("reading oura.schema_migrations: " + std::string(e.what()));
    }
  }
}

std::uint64_t PostgresSink::purge(const std::string& account) {
  Connection* c = nullptr;
  try {
    c = &connection();
    lockAccount(account);
    c->exec("BEGIN");
    // Every table of schema oura with an account column; tables without deleted_at (sample
    // streams, sync_state) first, in case a migration adds foreign keys to documents.
    Result tables = c->exec(
        "SELECT c.relname FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'oura' "
        "JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attname = 'account' AND "
        "NOT a.attisdropped "
        "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND "
        "c.relname <> 'schema_migrations' "
        "ORDER BY EXISTS (SELECT 1 FROM pg_catalog.pg_attribute d WHERE d.attrelid = c.oid AND "
        "d.attname = 'deleted_at' AND NOT d.attisdropped), c.relname");
    std::uint64_t deleted = 0;
    for (int i = 0; i < tables.rows(); ++i) {
      deleted += c->exec("DELETE FROM oura." + quoteIdent(tables.value(i, 0)) +
                             " WHERE account = $1::text",
                         {account})
                     .affected();
    }
    c->exec("COMMIT");
    logger_.info("purged account " + account + ": " + std::to_string(deleted) + " rows from " +
                 std::to_string(tables.rows()) + " tables");
    return deleted;
  } catch (const PgError& e) {
    if (c) c->rollbackQuietly();
    if (e.connectionLost()) {
      disconnect();
      throwUnavailable("purge", e);
    }
    throw sdk::Error("purging account " + account + ": " + e.what() + "; nothing was deleted");
  }
}

bool PostgresSink::readRaw(const std::string& account, const sdk::CollectionSpec& collection,
                           const std::function<void(const std::string& raw)>& on_document) {
  if (collection.streams.empty()) return false;
  const StreamSchema& stream = collection.streams[0];
  ReadRawSql sql;
  try {
    sql = readRawSql(collection, kFetchRows);
  } catch (const std::invalid_argument& e) {
    throw sdk::Error(e.what());
  }
  try {
    // Keyset pagination: each chunk is its own statement, so nothing stays open on the
    // connection while on_document runs (it may write through this sink).
    Result chunk = connection().exec(sql.first, {account});
    for (;;) {
      const int rows = chunk.rows();
      for (int i = 0; i < rows; ++i) on_document(chunk.value(i, 0));
      if (rows < kFetchRows) break;
      std::vector<std::optional<std::string>> after{account};
      for (std::size_t k = 0; k < sql.key_columns; ++k) {
        after.push_back(chunk.value(rows - 1, static_cast<int>(k + 1)));
      }
      chunk = connection().exec(sql.next, after);
    }
    return true;
  } catch (const PgError& e) {
    if (e.connectionLost()) {
      disconnect();
      throwUnavailable("reading " + stream.name, e);
    }
    throw sdk::Error("reading " + tableName(stream) + ": " + e.what());
  }
}

bool PostgresSink::readRejected(
    const std::string& account, const sdk::CollectionSpec& collection,
    const std::function<void(const sdk::RejectedDocument&)>& on_document) {
  // Read whole before calling back (the callback may write through this sink); the table holds
  // the few documents a server got wrong, not a collection.
  std::vector<sdk::RejectedDocument> documents;
  try {
    Result r = connection().exec(
        "SELECT coalesce(document_key, ''), reason, encode(raw, 'hex') FROM "
        "oura.rejected_documents WHERE account = $1::text AND collection = $2::text "
        "ORDER BY first_rejected_at, raw_md5",
        {account, collection.name});
    for (int i = 0; i < r.rows(); ++i) {
      documents.push_back(sdk::RejectedDocument{r.value(i, 0), r.value(i, 1), fromHex(r.value(i, 2))});
    }
  } catch (const PgError& e) {
    if (e.connectionLost()) {
      disconnect();
      throwUnavailable("reading oura.rejected_documents", e);
    }
    if (schemaMismatch(e.sqlstate())) {
      throw sdk::ConfigError("reading oura.rejected_documents: " + std::string(e.what()) +
                             "; run `oura-collector init-db`");
    }
    throw sdk::Error("reading oura.rejected_documents: " + std::string(e.what()));
  }
  for (const sdk::RejectedDocument& d : documents) on_document(d);
  return true;
}

}  // namespace oura::plugins::postgres

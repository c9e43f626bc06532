// upsert_bench: how fast the postgres sink upserts heart-rate rows, against a plain libpq COPY
// of the same rows into the same table (the ceiling). Prints figures; asserts no time (it only
// fails when a count is wrong, i.e. a correctness bug, or when PostgreSQL is unreachable).
//
//   .ci/pg-cluster start .run/bench-pg && source .run/bench-pg/env
//   build-bench/tests/bench/upsert_bench [--rows 500000] [--batches 1000,5000,20000,50000]
//                                        [--repeat 3] [--no-variants] [--keep-db]
//
// What runs, in ONE fresh database (CREATE DATABASE, then sql/ applied through the sink's
// migrate()), table oura.heartrate truncated before every timed run:
//  - "COPY, one statement": every row in one COPY FROM STDIN (text format) in one transaction;
//  - "COPY, one per batch": one COPY (and one transaction) per batch;
//  - "sink, new rows": the built oura-sink-postgres.so, loaded through core's PluginLoader as
//    the program loads it, write() of one SinkBatch per batch into the empty table (what a
//    backfill does; the sink COPYs rows that are all new straight into the table);
//  - "sink, unchanged rows": the same batches again (a re-fetch of days already stored: the
//    "touch only changed rows" path; the sink COPYs into its staging table and upserts from
//    it, which writes nothing);
//  - other ways, written here with libpq, to compare (--no-variants leaves them out):
//      "staging COPY + INSERT ... SELECT": every batch through a session temp table and the
//        sink's ON CONFLICT ... WHERE IS DISTINCT FROM upsert (the sink's path once a key
//        exists), without the COPY straight into the table first;
//      "JSON parameter (Poco::JSON) + jsonb_to_recordset": the rows as one JSON array built
//        with Poco::JSON, bound to the upsert (the sink's path without the TEMPORARY privilege,
//        and its only path before COPY);
//      "jsonb_to_recordset, plain JSON writer": the same statement, the JSON written directly
//        (no Poco::JSON tree, jsonb values embedded unparsed): what a faster JSON writer alone
//        would give.
// Times are wall-clock (steady_clock) around the writes only (the batches are built before);
// "client CPU" is this process's user+sys time over the same span (serialising rows; the rest
// of the wall time is PostgreSQL, on the same machine). Every figure is the median of
// --repeat runs.
#include <Poco/AutoPtr.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/Logger.h>
#include <libpq-fe.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <oura_sdk/endpoint.hpp>
#include <oura_sdk/errors.hpp>
#include <oura_sdk/logger.hpp>
#include <oura_sdk/sink.hpp>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "plugin_host/loader.hpp"
#include "schema/migrations.hpp"
#include "pg_connection.hpp"
#include "row_json.hpp"
#include "statements.hpp"

#ifndef OURA_BENCH_PLUGIN_DIR
#define OURA_BENCH_PLUGIN_DIR ""
#endif
#ifndef OURA_BENCH_SQL_DIR
#define OURA_BENCH_SQL_DIR ""
#endif
#ifndef OURA_BENCH_BUILD_TYPE
#define OURA_BENCH_BUILD_TYPE "unknown"
#endif

namespace {

using namespace oura;
using sdk::ColumnType;
using sdk::Row;
using sdk::StreamSchema;
using sdk::Value;

const std::string kAccount = "bench";

std::string envOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? std::string(v) : fallback;
}

// --- libpq, just enough -------------------------------------------------------------------

class Pg {
 public:
  explicit Pg(const std::string& dbname) {
    const char* keywords[] = {"dbname", "client_encoding", "options", nullptr};
    const char* values[] = {dbname.c_str(), "UTF8", "-c client_min_messages=warning", nullptr};
    conn_ = PQconnectdbParams(keywords, values, 0);
    if (PQstatus(conn_) != CONNECTION_OK) {
      std::string message = PQerrorMessage(conn_);
      PQfinish(conn_);
      throw std::runtime_error("cannot connect to PostgreSQL (PGHOST=" + envOr("PGHOST", "") +
                               ", PGPORT=" + envOr("PGPORT", "") + ") database " + dbname + ": " +
                               message +
                               "start one: .ci/pg-cluster start .run/bench-pg && source "
                               ".run/bench-pg/env");
    }
  }
  ~Pg() { PQfinish(conn_); }
  Pg(const Pg&) = delete;
  Pg& operator=(const Pg&) = delete;

  // Runs one statement; returns the rows as text.
  std::vector<std::vector<std::string>> exec(const std::string& sql,
                                             const std::vector<std::string>& params = {}) {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p.c_str());
    PGresult* r = PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr,
                               values.data(), nullptr, nullptr, 0);
    return take(r, sql);
  }
  std::string scalar(const std::string& sql, const std::vector<std::string>& params = {}) {
    auto rows = exec(sql, params);
    if (rows.empty() || rows[0].empty()) throw std::runtime_error(sql + ": no row");
    return rows[0][0];
  }
  // COPY ... FROM STDIN with `data` (text format), in chunks of 1 MiB.
  void copy(const std::string& copy_sql, const std::string& data) {
    PGresult* r = PQexec(conn_, copy_sql.c_str());
    if (PQresultStatus(r) != PGRES_COPY_IN) take(r, copy_sql);
    PQclear(r);
    constexpr std::size_t kChunk = 1 << 20;
    for (std::size_t at = 0; at < data.size(); at += kChunk) {
      const std::size_t n = std::min(kChunk, data.size() - at);
      if (PQputCopyData(conn_, data.data() + at, static_cast<int>(n)) != 1) {
        throw std::runtime_error(std::string("PQputCopyData: ") + PQerrorMessage(conn_));
      }
    }
    if (PQputCopyEnd(conn_, nullptr) != 1) {
      throw std::runtime_error(std::string("PQputCopyEnd: ") + PQerrorMessage(conn_));
    }
    take(PQgetResult(conn_), copy_sql);
    while (PGresult* extra = PQgetResult(conn_)) PQclear(extra);
  }

 private:
  std::vector<std::vector<std::string>> take(PGresult* r, const std::string& sql) {
    const ExecStatusType status = PQresultStatus(r);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
      std::string message = PQresultErrorMessage(r);
      PQclear(r);
      throw std::runtime_error(sql.substr(0, 300) + ": " + message);
    }
    std::vector<std::vector<std::string>> rows;
    for (int i = 0; i < PQntuples(r); ++i) {
      std::vector<std::string> row;
      for (int j = 0; j < PQnfields(r); ++j) row.emplace_back(PQgetvalue(r, i, j));
      rows.push_back(std::move(row));
    }
    PQclear(r);
    return rows;
  }
  PGconn* conn_ = nullptr;
};

// --- the rows ------------------------------------------------------------------------------

std::string isoUtc(std::int64_t epoch) {
  std::time_t t = static_cast<std::time_t>(epoch);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[40];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
  return buffer;
}

// Heart-rate rows shaped like Oura's (and the fake's): UTC timestamps without fraction, a few
// seconds to five minutes apart, now and then an awake and a workout row sharing a second;
// timestamp_unix absent (NULL), as in real responses; raw = the row's JSON as the core passes it.
std::vector<Row> makeRows(const StreamSchema& stream, std::size_t n) {
  std::mt19937 rng(1);
  const char* sources[] = {"awake", "rest", "sleep", "workout"};
  std::int64_t t = 1577836800;  // 2020-01-01T00:00:00Z
  std::vector<Row> rows;
  rows.reserve(n);
  const std::size_t ts = stream.columnIndex("timestamp"), src = stream.columnIndex("source"),
                    bpm = stream.columnIndex("bpm"), raw = stream.columnIndex("raw");
  int source = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (i % 997 == 0 && i > 0) {
      source = (source + 1) % 4;  // same second, another source
    } else {
      t += 1 + static_cast<std::int64_t>(rng() % 300);
      source = static_cast<int>(rng() % 4);
    }
    const std::string stamp = isoUtc(t);
    const std::int64_t beats = 45 + static_cast<std::int64_t>(rng() % 130);
    Row row(stream.columns.size());
    row[ts] = stamp;
    row[src] = std::string(sources[source]);
    row[bpm] = beats;
    row[raw] = "{\"bpm\":" + std::to_string(beats) + ",\"source\":\"" + sources[source] +
               "\",\"timestamp\":\"" + stamp + "\"}";
    rows.push_back(std::move(row));
  }
  return rows;
}

// --- the JSON of the "plain JSON writer" variant -------------------------------------------

void appendNumber(std::string& out, const Value& v) {
  char buffer[64];
  std::to_chars_result r{};
  if (const auto* i = std::get_if<std::int64_t>(&v)) {
    r = std::to_chars(buffer, buffer + sizeof buffer, *i);
  } else {
    r = std::to_chars(buffer, buffer + sizeof buffer, std::get<double>(v));
  }
  out.append(buffer, r.ptr);
}

void appendJsonString(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
          out += buffer;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

// The sink's JSON parameter written directly (jsonb values embedded verbatim: they are not
// validated here, which is why the sink builds a Poco tree).
std::string plainJson(const StreamSchema& stream, const std::vector<Row>& rows,
                      const std::vector<std::size_t>& which) {
  std::string out = "[";
  bool first_row = true;
  for (std::size_t index : which) {
    const Row& row = rows[index];
    out += first_row ? "{" : ",{";
    first_row = false;
    for (std::size_t c = 0; c < row.size(); ++c) {
      if (c) out += ',';
      appendJsonString(out, stream.columns[c].name);
      out += ':';
      const Value& v = row[c];
      if (std::holds_alternative<std::monostate>(v)) {
        out += "null";
      } else if (const auto* s = std::get_if<std::string>(&v)) {
        if (stream.columns[c].type == ColumnType::Jsonb) {
          out += *s;
        } else {
          appendJsonString(out, *s);
        }
      } else if (const auto* d = std::get_if<double>(&v); d && !std::isfinite(*d)) {
        out += "null";
      } else if (const auto* b = std::get_if<bool>(&v)) {
        out += *b ? "true" : "false";
      } else {
        appendNumber(out, v);
      }
    }
    out += '}';
  }
  out += ']';
  return out;
}

// --- measuring -----------------------------------------------------------------------------

double cpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct Timing {
  double wall = 0;  // seconds
  double cpu = 0;   // this process, seconds
};

Timing timed(const std::function<void()>& work) {
  const double cpu0 = cpuSeconds();
  const auto t0 = std::chrono::steady_clock::now();
  work();
  const auto t1 = std::chrono::steady_clock::now();
  return {std::chrono::duration<double>(t1 - t0).count(), cpuSeconds() - cpu0};
}

Timing median(std::vector<Timing> runs) {
  std::sort(runs.begin(), runs.end(),
            [](const Timing& a, const Timing& b) { return a.wall < b.wall; });
  return runs[runs.size() / 2];
}

struct Figure {
  std::string what;
  std::size_t batch = 0;  // 0: one statement
  Timing t;
};

std::vector<std::size_t> parseList(const std::string& text) {
  std::vector<std::size_t> out;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ',');) out.push_back(std::stoul(part));
  return out;
}

[[noreturn]] void usage(int code) {
  std::cerr << "usage: upsert_bench [--rows N] [--batches A,B,...] [--repeat R] [--no-variants] "
               "[--keep-db]\n"
               "  PostgreSQL from PGHOST/PGPORT/PGUSER (.ci/pg-cluster's env); plugins from "
               "$OURA_PLUGIN_DIR (default: this build's); migrations from $OURA_SQL_DIR "
               "(default: the source tree's sql/)\n";
  std::exit(code);
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t total_rows = 500000;
  std::vector<std::size_t> batch_sizes{1000, 5000, 20000, 50000};
  int repeat = 3;
  bool variants = true, keep_db = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage(64);
      return argv[++i];
    };
    if (arg == "--rows") {
      total_rows = std::stoul(next());
    } else if (arg == "--batches") {
      batch_sizes = parseList(next());
    } else if (arg == "--repeat") {
      repeat = std::max(1, std::stoi(next()));
    } else if (arg == "--no-variants") {
      variants = false;
    } else if (arg == "--keep-db") {
      keep_db = true;
    } else if (arg == "--help" || arg == "-h") {
      usage(0);
    } else {
      usage(64);
    }
  }
  // Quiet plugin loggers: warnings only, on stderr.
  Poco::AutoPtr<Poco::ConsoleChannel> console(new Poco::ConsoleChannel(std::cerr));
  Poco::Logger::root().setChannel(console);
  Poco::Logger::root().setLevel(Poco::Message::PRIO_WARNING);

  const std::string plugin_dir = envOr("OURA_PLUGIN_DIR", OURA_BENCH_PLUGIN_DIR);
  const std::string sql_dir = envOr("OURA_SQL_DIR", OURA_BENCH_SQL_DIR);
  const std::string db = "oura_bench_" + std::to_string(::getpid());
  if (envOr("PGHOST", "").empty()) {
    std::cerr << "upsert_bench: PGHOST is not set: start PostgreSQL first: .ci/pg-cluster start "
                 ".run/bench-pg && source .run/bench-pg/env\n";
    return 69;
  }
  try {
    Pg admin(envOr("PGDATABASE", "postgres"));
    admin.exec("CREATE DATABASE " + db);
    struct Dropper {
      Pg& admin;
      std::string db;
      bool keep;
      ~Dropper() {
        if (keep) {
          std::cout << "kept database " << db << "\n";
          return;
        }
        try {
          admin.exec("DROP DATABASE IF EXISTS " + db + " WITH (FORCE)");
        } catch (const std::exception& e) {
          std::cerr << "upsert_bench: " << e.what() << "\n";
        }
      }
    } dropper{admin, db, keep_db};

    // The heart endpoint (for the heartrate stream schema) and the sink, as the program loads
    // them.
    core::PluginLoader loader({plugin_dir});
    core::LoadedPlugin heart_lib = loader.load(sdk::PluginKind::Endpoint, "heart");
    core::LoadedPlugin sink_lib = loader.load(sdk::PluginKind::Sink, "postgres");
    auto defaults = [](const core::LoadedPlugin& p) {
      std::map<std::string, sdk::ConfigValue> values;
      for (const auto& key : p.descriptor->config_schema()) {
        if (key.default_value) values.emplace(key.name, *key.default_value);
      }
      return values;
    };
    auto heart = loader.create<sdk::EndpointPlugin>(
        heart_lib, sdk::PluginContext{"heart", sdk::Logger("oura.endpoint.heart"),
                                      sdk::PluginConfig(defaults(heart_lib))});
    const sdk::CollectionSpec* spec = nullptr;
    for (const auto& c : heart->collections()) {
      if (c.name == "heartrate") spec = &c;
    }
    if (spec == nullptr) throw std::runtime_error("the heart plugin serves no heartrate");
    const StreamSchema& stream = spec->streams.at(0);

    auto sink_values = defaults(sink_lib);
    sink_values["host"] = envOr("PGHOST", "");
    sink_values["port"] = static_cast<std::int64_t>(std::stoi(envOr("PGPORT", "5432")));
    sink_values["user"] = envOr("PGUSER", "postgres");
    sink_values["dbname"] = db;
    auto sink = loader.create<sdk::SinkPlugin>(
        sink_lib, sdk::PluginContext{"bench", sdk::Logger("oura.sink.bench"),
                                     sdk::PluginConfig(sink_values)});
    const auto applied = sink->migrate(core::loadMigrations(sql_dir));
    sink->open(kAccount, {spec});

    Pg pg(db);
    const std::string version = pg.scalar("SHOW server_version");
    const std::string settings = pg.scalar(
        "SELECT string_agg(name || '=' || setting, ' ' ORDER BY name) FROM pg_settings WHERE "
        "name IN ('fsync', 'synchronous_commit', 'shared_buffers', 'wal_level', "
        "'full_page_writes', 'max_wal_size')");
    std::vector<Row> rows = makeRows(stream, total_rows);
    const std::size_t unique = plugins::postgres::lastRowPerKey(stream, rows).size();

    std::cout << "upsert_bench: " << total_rows << " heartrate rows (" << unique
              << " distinct keys) of stream " << stream.name << " (" << stream.columns.size()
              << " columns), " << applied.size() << " migration(s) applied to fresh database " << db
              << "\n"
              << "  PostgreSQL " << version << " (" << settings << ")\n"
              << "  build " << OURA_BENCH_BUILD_TYPE << "; sink " << sink_lib.file << "; median of "
              << repeat << " run(s)\n";
    if (std::string(OURA_BENCH_BUILD_TYPE) != "Release") {
      std::cout << "  NOTE: not a Release build: client-side figures are slower than shipped\n";
    }
    std::cout << std::flush;

    const std::string table = plugins::postgres::tableName(stream);
    auto truncate = [&] {
      pg.exec("TRUNCATE " + table);
      pg.exec("CHECKPOINT");
    };
    auto count = [&] { return std::stoul(pg.scalar("SELECT count(*) FROM " + table)); };
    bool ok = true;
    auto check = [&](bool good, const std::string& what) {
      if (!good) {
        std::cout << "CHECK FAILED: " << what << "\n";
        ok = false;
      }
    };
    std::vector<Figure> figures;
    // COPY text lines (the sink's writer: the same serialisation for COPY and the sink).
    namespace pgs = plugins::postgres;
    const std::string copy_all_sql = pgs::copyToTableSql(stream);
    auto copyText = [&](const std::vector<Row>& some) {
      std::vector<std::size_t> all(some.size());
      for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
      return pgs::rowsCopyText(stream, some, all, kAccount);
    };

    // COPY, one statement: the ceiling.
    {
      std::vector<Timing> runs;
      for (int r = 0; r < repeat; ++r) {
        truncate();
        runs.push_back(timed([&] { pg.copy(copy_all_sql, copyText(rows)); }));
        check(count() == rows.size(), "COPY: row count");
      }
      figures.push_back({"COPY, one statement", 0, median(runs)});
    }

    for (std::size_t batch_size : batch_sizes) {
      // The batches, as the core hands them over (built before the clock starts).
      std::vector<sdk::SinkBatch> batches;
      for (std::size_t at = 0; at < rows.size(); at += batch_size) {
        sdk::SinkBatch b;
        b.account = kAccount;
        b.collection = spec;
        const std::size_t end = std::min(rows.size(), at + batch_size);
        b.window = {std::get<std::string>(rows[at][0]).substr(0, 10),
                    std::get<std::string>(rows[end - 1][0]).substr(0, 10)};
        b.streams.push_back(sdk::StreamRows{
            &stream, std::vector<Row>(rows.begin() + static_cast<std::ptrdiff_t>(at),
                                      rows.begin() + static_cast<std::ptrdiff_t>(end))});
        batches.push_back(std::move(b));
      }
      const std::string label = " (" + std::to_string(batches.size()) + " batches)";

      {  // COPY per batch, one transaction each
        std::vector<Timing> runs;
        for (int r = 0; r < repeat; ++r) {
          truncate();
          runs.push_back(timed([&] {
            for (const auto& b : batches) pg.copy(copy_all_sql, copyText(b.streams[0].rows));
          }));
          check(count() == rows.size(), "COPY per batch: row count");
        }
        figures.push_back({"COPY, one per batch" + label, batch_size, median(runs)});
      }

      {  // the sink: new rows, then the same rows again
        std::vector<Timing> fresh, again;
        for (int r = 0; r < repeat; ++r) {
          truncate();
          for (int pass = 0; pass < 2; ++pass) {
            std::uint64_t inserted = 0, updated = 0;
            Timing t = timed([&] {
              for (const auto& b : batches) {
                sdk::SinkOutcome o = sink->write(b);
                if (o.status != sdk::SinkOutcome::Status::Done) {
                  throw std::runtime_error("sink write: " + o.message);
                }
                inserted += o.inserted;
                updated += o.updated;
              }
            });
            if (pass == 0) {
              check(inserted == unique && updated == 0, "sink new rows: inserted " +
                                                            std::to_string(inserted) +
                                                            ", updated " + std::to_string(updated));
              fresh.push_back(t);
            } else {
              check(inserted == 0 && updated == 0, "sink unchanged rows: inserted " +
                                                       std::to_string(inserted) + ", updated " +
                                                       std::to_string(updated));
              again.push_back(t);
            }
          }
          check(count() == unique, "sink: row count");
        }
        figures.push_back({"sink, new rows" + label, batch_size, median(fresh)});
        figures.push_back({"sink, unchanged rows" + label, batch_size, median(again)});
      }

      if (variants) {
        // Staging: COPY into a session temp table (the sink's statements, in this session),
        // then upsert from it, one transaction a batch.
        pg.exec(pgs::createStagingSql(stream));
        const std::string stage_copy = pgs::copyToStagingSql(stream);
        const std::string stage_upsert = pgs::upsertFromStagingSql(stream, true);
        const std::string json_upsert = plugins::postgres::upsertSql(stream, true);
        struct Variant {
          std::string name;
          std::function<std::pair<std::uint64_t, std::uint64_t>(const sdk::SinkBatch&)> write;
        };
        std::vector<Variant> list{
            {"staging COPY + INSERT ... SELECT",
             [&](const sdk::SinkBatch& b) {
               const auto& batch_rows = b.streams[0].rows;
               const auto which = pgs::lastRowPerKey(stream, batch_rows);
               const std::string data = pgs::rowsCopyText(stream, batch_rows, which, kAccount);
               pg.exec("BEGIN");
               pg.copy(stage_copy, data);
               auto r = pg.exec(stage_upsert);
               pg.exec("COMMIT");
               return std::make_pair(static_cast<std::uint64_t>(std::stoull(r[0][0])),
                                     static_cast<std::uint64_t>(std::stoull(r[0][1])));
             }},
            {"JSON parameter (Poco::JSON) + jsonb_to_recordset",
             [&](const sdk::SinkBatch& b) {
               const auto& batch_rows = b.streams[0].rows;
               const auto which = plugins::postgres::lastRowPerKey(stream, batch_rows);
               const std::string json = plugins::postgres::rowsJson(stream, batch_rows, which);
               pg.exec("BEGIN");
               auto r = pg.exec(json_upsert, {json, kAccount});
               pg.exec("COMMIT");
               return std::make_pair(static_cast<std::uint64_t>(std::stoull(r[0][0])),
                                     static_cast<std::uint64_t>(std::stoull(r[0][1])));
             }},
            {"jsonb_to_recordset, plain JSON writer",
             [&](const sdk::SinkBatch& b) {
               const auto& batch_rows = b.streams[0].rows;
               const auto which = plugins::postgres::lastRowPerKey(stream, batch_rows);
               const std::string json = plainJson(stream, batch_rows, which);
               pg.exec("BEGIN");
               auto r = pg.exec(json_upsert, {json, kAccount});
               pg.exec("COMMIT");
               return std::make_pair(static_cast<std::uint64_t>(std::stoull(r[0][0])),
                                     static_cast<std::uint64_t>(std::stoull(r[0][1])));
             }},
        };
        for (const Variant& v : list) {
          std::vector<Timing> fresh, again;
          for (int r = 0; r < repeat; ++r) {
            truncate();
            for (int pass = 0; pass < 2; ++pass) {
              std::uint64_t inserted = 0, updated = 0;
              Timing t = timed([&] {
                for (const auto& b : batches) {
                  auto [i, u] = v.write(b);
                  inserted += i;
                  updated += u;
                }
              });
              check(pass == 0 ? (inserted == unique && updated == 0)
                              : (inserted == 0 && updated == 0),
                    v.name + " pass " + std::to_string(pass + 1) + ": inserted " +
                        std::to_string(inserted) + ", updated " + std::to_string(updated));
              (pass == 0 ? fresh : again).push_back(t);
            }
          }
          figures.push_back({v.name + ", new rows" + label, batch_size, median(fresh)});
          figures.push_back({v.name + ", unchanged rows" + label, batch_size, median(again)});
        }
        pg.exec("DROP TABLE " + pgs::stagingTableName(stream));
      }
      std::cout << "  done: batches of " << batch_size << "\n" << std::flush;
    }
    sink->close();

    const double ceiling = static_cast<double>(rows.size()) / figures.at(0).t.wall;
    std::cout << "\n"
              << std::left << std::setw(80) << "what" << std::right << std::setw(7) << "batch"
              << std::setw(11) << "rows/s" << std::setw(9) << "wall s" << std::setw(13)
              << "client cpu s" << std::setw(10) << "vs COPY"
              << "\n";
    for (const Figure& f : figures) {
      const double rate = static_cast<double>(rows.size()) / f.t.wall;
      std::cout << std::left << std::setw(80) << f.what << std::right << std::setw(7)
                << (f.batch ? std::to_string(f.batch) : std::string("all")) << std::setw(11)
                << static_cast<long long>(std::llround(rate)) << std::setw(9) << std::fixed
                << std::setprecision(2) << f.t.wall << std::setw(13) << f.t.cpu << std::setw(10)
                << std::setprecision(2) << rate / ceiling << "\n"
                << std::defaultfloat;
    }
    std::cout << "\nrows/s = " << rows.size()
              << " rows / wall time; 'vs COPY' = rows/s divided by COPY, one statement's ("
              << static_cast<long long>(std::llround(ceiling)) << " rows/s); goal for "
              << "'sink, new rows' at batch 5000: >= 0.50\n";
    if (!ok) {
      std::cout << "some checks FAILED (see above)\n";
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "upsert_bench: " << e.what() << "\n";
    return 1;
  }
}

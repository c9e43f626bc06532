// The shipped Grafana dashboards (etc/grafana/dashboards/*.json) and alert rules
// (etc/grafana/provisioning/alerting/oura.yaml) against the real schema: after a scrape from the
// fake server into a migrated database, every panel's and variable's query, with Grafana's macros
// and variables expanded the way Grafana expands them, runs as a read-only role (USAGE on schema
// oura, SELECT on its tables: docs/operations.md "Roles") and returns rows of the shape its panel
// needs. Every panel declares a unit, and a series with a unit of its own gets an axis of its own.
// A renamed column or table breaks this test, not a user's dashboard.
#include "fake_oura.hpp"
#include "test_support.hpp"
#include "token_store_support.hpp"

#include <Poco/DateTime.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/NumberParser.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

using oura::test::CommandResult;
using oura::test::envOr;
using oura::test::FakeOura;
using Poco::JSON::Array;
using Poco::JSON::Object;

namespace {

const std::string kAccount = "dash";
// The dashboard's time range in the test, "the last 30 days" as a user would pick it: from
// midnight UTC 30 days ago to the end of today (UTC), so it holds the scraped days (the last 11)
// and the runs the scrape recorded just now.
const Poco::DateTime kToday = [] {
  Poco::DateTime now;
  return Poco::DateTime(now.year(), now.month(), now.day());
}();
const long kFromEpoch = kToday.timestamp().epochTime() - 30 * 86400;
const long kToEpoch = kToday.timestamp().epochTime() + 86400 - 1;
std::string isoUtc(long epoch) {
  return Poco::DateTimeFormatter::format(Poco::Timestamp::fromEpochTime(epoch), "%Y-%m-%dT%H:%M:%SZ");
}
std::string dayOf(long epoch) {
  return Poco::DateTimeFormatter::format(Poco::Timestamp::fromEpochTime(epoch), "%Y-%m-%d");
}
const std::string kFrom = isoUtc(kFromEpoch), kTo = isoUtc(kToEpoch);
// Grafana's $__interval for a month on a panel about 1,000 pixels wide.
const std::string kInterval = "1h";

// Seconds of a Grafana interval ("5m", "1h", "1d", quoted or not).
long intervalSeconds(std::string text) {
  text = std::regex_replace(text, std::regex(R"(^\s*'?|'?\s*$)"), "");
  std::smatch m;
  if (!std::regex_match(text, m, std::regex(R"((\d+)(ms|s|m|h|d|w))"))) {
    throw std::runtime_error("not a Grafana interval: " + text);
  }
  const long n = std::stol(m[1].str());
  const std::map<std::string, long> unit = {{"ms", 0}, {"s", 1}, {"m", 60}, {"h", 3600},
                                            {"d", 86400}, {"w", 604800}};
  return n * unit.at(m[2].str());
}

// A Grafana variable or macro left in the SQL ($name, ${name...}, $__macro); a '$' that ends a
// regular expression ('^[0-5]+$') is not one.
bool unexpanded(const std::string& sql) { return std::regex_search(sql, std::regex(R"(\$(\w|\{))")); }

std::string trim(const std::string& s) { return std::regex_replace(s, std::regex(R"(^\s+|\s+$)"), ""); }

// Grafana's template variables, then the PostgreSQL data source's macros
// (pkg/tsdb/grafana-postgresql-datasource/macros.go), for the test's range. `variables` holds
// each variable's chosen value; ${name:sqlstring} quotes it as a SQL string like Grafana does.
std::string expand(std::string sql, const std::map<std::string, std::string>& variables) {
  for (const auto& [name, value] : variables) {
    const std::string quoted = "'" + std::regex_replace(value, std::regex("'"), "''") + "'";
    sql = std::regex_replace(sql, std::regex("\\$\\{" + name + ":sqlstring\\}"), quoted);
    sql = std::regex_replace(sql, std::regex("\\$\\{" + name + "\\}"), value);
    sql = std::regex_replace(sql, std::regex("\\$" + name + "\\b"), value);
  }
  sql = std::regex_replace(sql, std::regex(R"(\$__interval_ms\b)"),
                           std::to_string(intervalSeconds(kInterval) * 1000));
  sql = std::regex_replace(sql, std::regex(R"(\$__interval\b)"), kInterval);
  // Macros with their arguments (no nested parentheses, as Grafana's parser requires).
  const std::regex macro(R"(\$__(\w+)\(([^()]*)\))");
  std::smatch m;
  std::string out;
  auto begin = sql.cbegin();
  while (std::regex_search(begin, sql.cend(), m, macro)) {
    out.append(begin, m[0].first);
    const std::string name = m[1].str();
    std::vector<std::string> args;
    if (!trim(m[2].str()).empty()) {
      std::string arg;
      std::istringstream in(m[2].str());
      while (std::getline(in, arg, ',')) args.push_back(trim(arg));
    }
    auto need = [&](std::size_t n) {
      if (args.size() < n) throw std::runtime_error("$__" + name + " needs " + std::to_string(n) + " arguments");
    };
    if (name == "timeFilter") {
      need(1);
      out += args[0] + " BETWEEN '" + kFrom + "' AND '" + kTo + "'";
    } else if (name == "timeFrom") {
      out += "'" + kFrom + "'";
    } else if (name == "timeTo") {
      out += "'" + kTo + "'";
    } else if (name == "time") {
      need(1);
      out += args[0] + " AS \"time\"";
    } else if (name == "timeEpoch") {
      need(1);
      out += "extract(epoch from " + args[0] + ") AS \"time\"";
    } else if (name == "timeGroup" || name == "timeGroupAlias") {
      need(2);
      const std::string s = std::to_string(intervalSeconds(args[1]));
      out += "floor(extract(epoch from " + args[0] + ")/" + s + ")*" + s;
      if (name == "timeGroupAlias") out += " AS \"time\"";
    } else if (name == "unixEpochFilter") {
      need(1);
      out += args[0] + " >= " + std::to_string(kFromEpoch) + " AND " + args[0] +
             " <= " + std::to_string(kToEpoch);
    } else if (name == "unixEpochFrom") {
      out += std::to_string(kFromEpoch);
    } else if (name == "unixEpochTo") {
      out += std::to_string(kToEpoch);
    } else if (name == "unixEpochGroup" || name == "unixEpochGroupAlias") {
      need(2);
      const std::string s = std::to_string(intervalSeconds(args[1]));
      out += "floor((" + args[0] + ")/" + s + ")*" + s;
      if (name == "unixEpochGroupAlias") out += " AS \"time\"";
    } else {
      throw std::runtime_error("a Grafana macro this test does not know: $__" + name);
    }
    begin = m[0].second;
  }
  out.append(begin, sql.cend());
  return out;
}

// A query's result: column names, PostgreSQL type OIDs, rows as text (NULL as nullopt).
struct QueryResult {
  std::vector<std::string> names;
  std::vector<Oid> types;
  std::vector<std::vector<std::optional<std::string>>> rows;
};

QueryResult queryAs(const std::string& db, const std::string& user, const std::string& sql) {
  const std::string host = oura::test::requireEnv("PGHOST"), port = oura::test::requireEnv("PGPORT");
  const char* keys[] = {"host", "port", "user", "dbname", nullptr};
  const char* values[] = {host.c_str(), port.c_str(), user.c_str(), db.c_str(), nullptr};
  PGconn* c = PQconnectdbParams(keys, values, 0);
  if (PQstatus(c) != CONNECTION_OK) {
    std::string m = PQerrorMessage(c);
    PQfinish(c);
    throw std::runtime_error("connecting as " + user + ": " + m);
  }
  // As Grafana's connection would be: the role's own rights, nothing written.
  PQclear(PQexec(c, "SET default_transaction_read_only = on"));
  PGresult* r = PQexec(c, sql.c_str());
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    std::string m = PQresultErrorMessage(r);
    PQclear(r);
    PQfinish(c);
    throw std::runtime_error(m);
  }
  QueryResult out;
  for (int j = 0; j < PQnfields(r); ++j) {
    out.names.push_back(PQfname(r, j));
    out.types.push_back(PQftype(r, j));
  }
  for (int i = 0; i < PQntuples(r); ++i) {
    out.rows.emplace_back();
    for (int j = 0; j < PQnfields(r); ++j) {
      out.rows.back().push_back(PQgetisnull(r, i, j) ? std::nullopt
                                                     : std::optional<std::string>(PQgetvalue(r, i, j)));
    }
  }
  PQclear(r);
  PQfinish(c);
  return out;
}

// PostgreSQL type OIDs (pg_type.dat).
bool isNumber(Oid t) { return t == 20 || t == 21 || t == 23 || t == 700 || t == 701 || t == 1700; }
bool isTime(Oid t) { return t == 1082 || t == 1114 || t == 1184; }
bool isText(Oid t) { return t == 25 || t == 1043 || t == 19; }

// The shape a panel needs from its query: time series (a "time" column first, then numbers, an
// optional text "metric"), or a table (for stat, pie and table panels: at least one number
// unless it is a plain table).
void checkShape(const std::string& panel_type, const std::string& format, const QueryResult& r) {
  ASSERT_FALSE(r.names.empty());
  if (format == "time_series") {
    ASSERT_EQ(r.names[0], "time") << "a time series query's first column is `time`";
    EXPECT_TRUE(isTime(r.types[0]) || isNumber(r.types[0])) << "time column type " << r.types[0];
    int numbers = 0;
    for (std::size_t j = 1; j < r.names.size(); ++j) {
      if (r.names[j] == "metric") {
        EXPECT_TRUE(isText(r.types[j])) << "metric is text";
      } else {
        EXPECT_TRUE(isNumber(r.types[j])) << "column " << r.names[j] << " is a number, not type "
                                          << r.types[j];
        ++numbers;
      }
    }
    EXPECT_GE(numbers, 1) << "a time series query returns at least one value column";
    // Rows in time order, as Grafana requires of time series.
    if (isTime(r.types[0])) {
      for (std::size_t i = 1; i < r.rows.size(); ++i) {
        if (r.rows[i - 1][0] && r.rows[i][0]) {
          EXPECT_LE(*r.rows[i - 1][0], *r.rows[i][0]) << "rows sorted by time";
        }
      }
    }
    // Something to draw: a value that is not NULL.
    bool any = false;
    for (const auto& row : r.rows) {
      for (std::size_t j = 1; j < row.size(); ++j) any = any || (row[j] && r.names[j] != "metric");
    }
    EXPECT_TRUE(any) << "every value is NULL";
  } else {
    EXPECT_EQ(format, "table");
    if (panel_type != "table") {
      bool number = false;
      for (Oid t : r.types) number = number || isNumber(t);
      EXPECT_TRUE(number) << "a " << panel_type << " panel needs a numeric column";
    }
  }
}

struct Query {
  std::string what;
  std::string panel_type;
  std::string format;
  std::string sql;
};

std::vector<std::string> dashboardFiles() {
  std::vector<std::string> files;
  const std::filesystem::path dir = envOr("OURA_SOURCE_DIR", "") + "/etc/grafana/dashboards";
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".json") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

Object::Ptr parseFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + " not found");
  return Poco::JSON::Parser().parse(in).extract<Object::Ptr>();
}

// The alert rule file as JSON (python3-yaml; the test has no YAML parser of its own).
Object::Ptr alertRules() {
  const std::string path = envOr("OURA_SOURCE_DIR", "") + "/etc/grafana/provisioning/alerting/oura.yaml";
  CommandResult r = oura::test::runCommand(
      "/usr/bin/python3",
      {"-c", "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)", path});
  if (r.exit_code != 0) throw std::runtime_error("reading " + path + ": " + r.err);
  return Poco::JSON::Parser().parse(r.out).extract<Object::Ptr>();
}

// A login role with the reader's grants of docs/operations.md, dropped at the end (after the
// test's database, so nothing of it is left).
class ReaderRole {
 public:
  ReaderRole() : name_(oura::test::randomName("oura_reader_")) {
    oura::test::testQuery(oura::test::requireEnv("PGDATABASE"), "CREATE ROLE " + name_ + " LOGIN");
  }
  ~ReaderRole() {
    try {
      oura::test::testQuery(oura::test::requireEnv("PGDATABASE"), "DROP ROLE IF EXISTS " + name_);
    } catch (const std::exception&) {
    }
  }
  void grantOn(const std::string& db) {
    oura::test::testQuery(db, "GRANT USAGE ON SCHEMA oura TO " + name_ +
                                  "; GRANT SELECT ON ALL TABLES IN SCHEMA oura TO " + name_);
  }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

class DashboardTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    reader_ = new ReaderRole();
    db_ = new oura::test::TestDatabase("oura_dash_");
    FakeOura fake({"--first-day", dayOf(kFromEpoch - 10 * 86400), "--last-day", dayOf(kToEpoch)});
    std::string manifest = "[collector]\naccount = \"" + kAccount + "\"\nplugin_dirs = [\"" +
                           envOr("OURA_PLUGIN_DIR", "") + "\"]\nsql_dir = \"" +
                           envOr("OURA_SOURCE_DIR", "") + "/sql\"\n[api]\nbase_url = \"" +
                           fake.baseUrl() +
                           "\"\n[token_store]\nplugin = \"env\"\n[token_store.config]\n"
                           "variable = \"OURA_E2E_TOKEN\"\n";
    for (const char* endpoint : {"daily", "sleep", "heart", "activity", "ring"}) {
      manifest += std::string("[[endpoints]]\nplugin = \"") + endpoint + "\"\n";
    }
    manifest += "[[sinks]]\nplugin = \"postgres\"\n[sinks.config]\nhost = \"" +
                envOr("PGHOST", "") + "\"\nport = " + envOr("PGPORT", "5432") + "\ndbname = \"" +
                db_->name() + "\"\nuser = \"" + envOr("PGUSER", "postgres") + "\"\n";
    const std::string path =
        oura::test::writeFile(oura::test::makeTempDir(), "manifest.toml", manifest);
    CommandResult scrape = oura::test::runCommand(
        envOr("OURA_BINARY", "oura-collector"),
        {"--config", path, "scrape", "--days", "11"},
        {{"OURA_E2E_TOKEN", fake.token()}});
    scrape_exit_ = scrape.exit_code;
    scrape_err_ = scrape.err;
    reader_->grantOn(db_->name());
  }
  static void TearDownTestSuite() {
    delete db_;
    delete reader_;
  }

  void SetUp() override { ASSERT_EQ(scrape_exit_, 0) << scrape_err_; }

  static QueryResult run(const std::string& sql) { return queryAs(db_->name(), reader_->name(), sql); }

  static inline ReaderRole* reader_ = nullptr;
  static inline oura::test::TestDatabase* db_ = nullptr;
  static inline int scrape_exit_ = -1;
  static inline std::string scrape_err_;
};

TEST_F(DashboardTest, EveryPanelsAndVariablesQueryRunsAsTheReaderAndHasThePanelsShape) {
  const auto files = dashboardFiles();
  ASSERT_EQ(files.size(), 6u);
  std::size_t queries_run = 0;
  for (const std::string& file : files) {
    SCOPED_TRACE(file);
    const Object::Ptr dash = parseFile(file);
    // Variables first, in order: each one's first value is chosen, as Grafana does.
    std::map<std::string, std::string> chosen;
    Array::Ptr variables = dash->getObject("templating")->getArray("list");
    for (std::size_t i = 0; i < variables->size(); ++i) {
      auto v = variables->getObject(static_cast<unsigned>(i));
      if (v->getValue<std::string>("type") != "query") continue;
      const std::string name = v->getValue<std::string>("name");
      SCOPED_TRACE("variable " + name);
      const std::string sql = expand(v->getValue<std::string>("query"), chosen);
      ASSERT_FALSE(unexpanded(sql)) << sql;
      QueryResult r;
      ASSERT_NO_THROW(r = run(sql)) << sql;
      ASSERT_FALSE(r.rows.empty()) << "no values after a scrape: " << sql;
      // __text/__value pairs, or one column of values.
      std::size_t col = 0;
      for (std::size_t j = 0; j < r.names.size(); ++j) {
        if (r.names[j] == "__value") col = j;
      }
      if (r.names.size() > 1) {
        EXPECT_NE(std::find(r.names.begin(), r.names.end(), "__text"), r.names.end());
        EXPECT_NE(std::find(r.names.begin(), r.names.end(), "__value"), r.names.end());
      }
      ASSERT_TRUE(r.rows[0][col].has_value());
      chosen[name] = *r.rows[0][col];
      ++queries_run;
    }
    EXPECT_EQ(chosen["account"], kAccount);

    Array::Ptr panels = dash->getArray("panels");
    for (std::size_t i = 0; i < panels->size(); ++i) {
      auto panel = panels->getObject(static_cast<unsigned>(i));
      const std::string type = panel->getValue<std::string>("type");
      if (type == "row") continue;
      const std::string title = panel->getValue<std::string>("title");
      SCOPED_TRACE("panel " + title);
      Array::Ptr targets = panel->getArray("targets");
      ASSERT_TRUE(targets && targets->size() > 0);
      for (std::size_t t = 0; t < targets->size(); ++t) {
        auto target = targets->getObject(static_cast<unsigned>(t));
        const std::string format = target->getValue<std::string>("format");
        const std::string sql = expand(target->getValue<std::string>("rawSql"), chosen);
        if (unexpanded(sql)) {
          ADD_FAILURE() << "unexpanded Grafana variable or macro in:\n" << sql;
          continue;
        }
        QueryResult r;
        try {
          r = run(sql);
        } catch (const std::exception& e) {
          ADD_FAILURE() << e.what() << "\n" << sql;
          continue;
        }
        EXPECT_FALSE(r.rows.empty()) << "no rows after a scrape:\n" << sql;
        checkShape(type, format, r);
        ++queries_run;
      }
    }
  }
  std::cout << "dashboard queries run as the reader: " << queries_run << "\n";
  EXPECT_GE(queries_run, 50u);
}

TEST_F(DashboardTest, EveryPanelHasAUnitAndASecondUnitHasItsOwnAxis) {
  for (const std::string& file : dashboardFiles()) {
    const Object::Ptr dash = parseFile(file);
    Array::Ptr panels = dash->getArray("panels");
    for (std::size_t i = 0; i < panels->size(); ++i) {
      auto panel = panels->getObject(static_cast<unsigned>(i));
      const std::string type = panel->getValue<std::string>("type");
      if (type == "row") continue;
      SCOPED_TRACE(file + ": panel " + panel->getValue<std::string>("title"));
      auto defaults = panel->getObject("fieldConfig")->getObject("defaults");
      ASSERT_TRUE(defaults->has("unit"));
      EXPECT_FALSE(defaults->getValue<std::string>("unit").empty());
      if (type != "timeseries") continue;
      // An override that changes a series' unit on a graph also moves it to an axis of its own.
      auto overrides = panel->getObject("fieldConfig")->getArray("overrides");
      for (std::size_t o = 0; o < overrides->size(); ++o) {
        auto properties = overrides->getObject(static_cast<unsigned>(o))->getArray("properties");
        bool unit = false, axis = false;
        for (std::size_t p = 0; p < properties->size(); ++p) {
          const std::string id = properties->getObject(static_cast<unsigned>(p))->getValue<std::string>("id");
          unit = unit || id == "unit";
          axis = axis || id == "custom.axisPlacement";
        }
        EXPECT_TRUE(!unit || axis) << "override " << o << " sets a unit on the same axis";
      }
    }
  }
}

// The quantities a graph shows on one axis are of one magnitude: a series a hundred times larger
// than another on the same axis (steps and SpO2 %) hides the smaller one and is most likely of
// another unit. Stacked series are parts of one total (time per activity class adds up to the
// day), so they are left out.
TEST_F(DashboardTest, SeriesSharingAnAxisAreOfOneMagnitude) {
  for (const std::string& file : dashboardFiles()) {
    const Object::Ptr dash = parseFile(file);
    std::map<std::string, std::string> chosen = {{"account", kAccount}};
    Array::Ptr variables = dash->getObject("templating")->getArray("list");
    for (std::size_t i = 0; i < variables->size(); ++i) {
      auto v = variables->getObject(static_cast<unsigned>(i));
      if (v->getValue<std::string>("type") != "query" || v->getValue<std::string>("name") == "account") continue;
      QueryResult r = run(expand(v->getValue<std::string>("query"), chosen));
      if (!r.rows.empty()) chosen[v->getValue<std::string>("name")] = r.rows[0].back().value_or("");
    }
    Array::Ptr panels = dash->getArray("panels");
    for (std::size_t i = 0; i < panels->size(); ++i) {
      auto panel = panels->getObject(static_cast<unsigned>(i));
      if (panel->getValue<std::string>("type") != "timeseries") continue;
      SCOPED_TRACE(file + ": panel " + panel->getValue<std::string>("title"));
      auto custom = panel->getObject("fieldConfig")->getObject("defaults")->getObject("custom");
      if (custom && custom->has("stacking") &&
          custom->getObject("stacking")->getValue<std::string>("mode") != "none") {
        continue;
      }
      // Series moved to their own axis by an override are left out.
      std::set<std::string> own_axis;
      auto overrides = panel->getObject("fieldConfig")->getArray("overrides");
      for (std::size_t o = 0; o < overrides->size(); ++o) {
        auto ov = overrides->getObject(static_cast<unsigned>(o));
        auto props = ov->getArray("properties");
        for (std::size_t p = 0; p < props->size(); ++p) {
          if (props->getObject(static_cast<unsigned>(p))->getValue<std::string>("id") == "custom.axisPlacement") {
            own_axis.insert(ov->getObject("matcher")->getValue<std::string>("options"));
          }
        }
      }
      auto target = panel->getArray("targets")->getObject(0);
      QueryResult r = run(expand(target->getValue<std::string>("rawSql"), chosen));
      // Typical size of each series: its median absolute value.
      std::vector<double> sizes;
      for (std::size_t j = 1; j < r.names.size(); ++j) {
        if (r.names[j] == "metric" || own_axis.count(r.names[j])) continue;
        std::vector<double> values;
        for (const auto& row : r.rows) {
          if (row[j]) values.push_back(std::fabs(Poco::NumberParser::parseFloat(*row[j])));
        }
        if (values.empty()) continue;
        std::sort(values.begin(), values.end());
        if (values[values.size() / 2] > 0) sizes.push_back(values[values.size() / 2]);
      }
      if (sizes.size() < 2) continue;
      const auto [low, high] = std::minmax_element(sizes.begin(), sizes.end());
      EXPECT_LT(*high / *low, 100.0) << "series of sizes " << *low << " and " << *high
                                     << " share one axis";
    }
  }
}

// Each alert rule's query, by its uid (one per rule: its data source query).
std::map<std::string, std::string> alertQueries() {
  std::map<std::string, std::string> out;
  Array::Ptr groups = alertRules()->getArray("groups");
  for (std::size_t g = 0; g < groups->size(); ++g) {
    Array::Ptr rules = groups->getObject(static_cast<unsigned>(g))->getArray("rules");
    for (std::size_t i = 0; i < rules->size(); ++i) {
      auto rule = rules->getObject(static_cast<unsigned>(i));
      Array::Ptr data = rule->getArray("data");
      for (std::size_t d = 0; d < data->size(); ++d) {
        auto query = data->getObject(static_cast<unsigned>(d));
        if (query->getValue<std::string>("datasourceUid") != "oura") continue;
        out[rule->getValue<std::string>("uid")] =
            expand(query->getObject("model")->getValue<std::string>("rawSql"), {});
      }
    }
  }
  return out;
}

// The alert's values per row, keyed by the row's labels joined with '/'.
std::map<std::string, double> alertValues(const QueryResult& r) {
  std::map<std::string, double> out;
  for (const auto& row : r.rows) {
    std::string labels;
    double value = NAN;
    for (std::size_t j = 0; j < row.size(); ++j) {
      if (isNumber(r.types[j])) {
        value = row[j] ? Poco::NumberParser::parseFloat(*row[j]) : NAN;
      } else {
        labels += (labels.empty() ? "" : "/") + row[j].value_or("");
      }
    }
    out[labels] = value;
  }
  return out;
}

TEST_F(DashboardTest, AlertRulesGiveLabelsAndOneNumberAndFireWhenTheyShould) {
  const auto queries = alertQueries();
  ASSERT_EQ(queries.size(), 3u);
  for (const auto& [uid, sql] : queries) {
    SCOPED_TRACE("rule " + uid);
    ASSERT_FALSE(unexpanded(sql)) << sql;
    QueryResult r;
    ASSERT_NO_THROW(r = run(sql)) << sql;
    EXPECT_FALSE(r.rows.empty()) << "no rows after a scrape: " << sql;
    // Grafana's multi-dimensional alerting on a table: text columns are labels, exactly one
    // number is the value.
    int numbers = 0;
    for (std::size_t j = 0; j < r.types.size(); ++j) {
      if (isNumber(r.types[j])) {
        ++numbers;
      } else {
        EXPECT_TRUE(isText(r.types[j])) << r.names[j] << " is neither a label nor the value";
      }
    }
    EXPECT_EQ(numbers, 1);
    EXPECT_NE(std::find(r.names.begin(), r.names.end(), "account"), r.names.end());
  }
  // After the good scrape up to today: nothing fires (stale means more than 3 days behind).
  EXPECT_EQ(alertValues(run(queries.at("oura-last-run-failed")))["dash/ok/0"], 0);
  EXPECT_EQ(alertValues(run(queries.at("oura-login-needed")))["dash"], 0);
  const auto fresh = alertValues(run(queries.at("oura-collection-stale")));
  EXPECT_GE(fresh.size(), 10u);
  for (const auto& [labels, days_behind] : fresh) EXPECT_LE(days_behind, 3) << labels;
  // A collection whose last synced day is 10 days back is stale.
  oura::test::testQuery(db_->name(), "UPDATE oura.sync_state SET synced_through = current_date - 10 "
                                     "WHERE account = 'dash' AND collection = 'daily_sleep'");
  const auto stale = alertValues(run(queries.at("oura-collection-stale")));
  EXPECT_EQ(stale.at("dash/daily_sleep"), 10);
  EXPECT_LE(stale.at("dash/heartrate"), 3);

  // A later run that exited 77 (login needed): that rule fires, "last run failed" does not.
  auto recordRun = [&](int exit_code, const std::string& outcome) {
    oura::test::testQuery(db_->name(),
                          "INSERT INTO oura.runs (account, command, started_at, finished_at, "
                          "exit_code, outcome, program_version) VALUES ('dash', 'scrape', now(), "
                          "now(), " + std::to_string(exit_code) + ", '" + outcome + "', 'test')");
  };
  recordRun(77, "login_needed");
  EXPECT_EQ(alertValues(run(queries.at("oura-login-needed")))["dash"], 1);
  EXPECT_EQ(alertValues(run(queries.at("oura-last-run-failed")))["dash/login_needed/77"], 0);
  // Then one that failed with 69 (unavailable): "last run failed" fires, login needed clears.
  recordRun(69, "unavailable");
  EXPECT_EQ(alertValues(run(queries.at("oura-last-run-failed")))["dash/unavailable/69"], 1);
  EXPECT_EQ(alertValues(run(queries.at("oura-login-needed")))["dash"], 0);
}

TEST(GrafanaMacros, ExpandLikeGrafana) {
  EXPECT_EQ(expand("WHERE $__timeFilter(\"timestamp\")", {}),
            "WHERE \"timestamp\" BETWEEN '" + kFrom + "' AND '" + kTo + "'");
  EXPECT_EQ(kTo.substr(10), "T23:59:59Z");
  EXPECT_EQ(expand("SELECT $__timeGroupAlias(ts, $__interval)", {}),
            "SELECT floor(extract(epoch from ts)/3600)*3600 AS \"time\"");
  EXPECT_EQ(expand("SELECT $__timeGroupAlias(ts, '1d')", {}),
            "SELECT floor(extract(epoch from ts)/86400)*86400 AS \"time\"");
  EXPECT_EQ(expand("WHERE $__unixEpochFilter(t)", {}),
            "WHERE t >= " + std::to_string(kFromEpoch) + " AND t <= " + std::to_string(kToEpoch));
  EXPECT_EQ(expand("a = ${account:sqlstring} AND b = '$account'", {{"account", "o'k"}}),
            "a = 'o''k' AND b = 'o'k'");
  EXPECT_THROW(expand("$__nope(x)", {}), std::runtime_error);
}

}  // namespace

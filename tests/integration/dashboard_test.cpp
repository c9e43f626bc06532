// The shipped Grafana dashboard (etc/grafana/dashboards/oura-collector.json) against the real
// schema: after a scrape from the fake server into a migrated database, every panel's query and
// the account variable's query run (Grafana's macros replaced as Grafana would) and return rows.
// A renamed column or table breaks this test, not a user's dashboard.
#include "fake_oura.hpp"
#include "test_support.hpp"
#include "token_store_support.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <string>
#include <vector>

using oura::test::CommandResult;
using oura::test::envOr;
using oura::test::FakeOura;

namespace {

const std::string kAccount = "dash";

// Grafana's macros and variables, as Grafana expands them for a range that holds the scrape.
std::string expand(std::string sql) {
  sql = std::regex_replace(sql, std::regex(R"(\$__timeFilter\(([^)]+)\))"),
                           "$1 BETWEEN '2024-01-01T00:00:00Z' AND '2100-01-01T00:00:00Z'");
  sql = std::regex_replace(sql, std::regex(R"(\$\{account:sqlstring\})"), "'" + kAccount + "'");
  return sql;
}

Poco::JSON::Object::Ptr dashboard() {
  std::ifstream in(envOr("OURA_SOURCE_DIR", "") + "/etc/grafana/dashboards/oura-collector.json");
  if (!in) throw std::runtime_error("etc/grafana/dashboards/oura-collector.json not found");
  return Poco::JSON::Parser().parse(in).extract<Poco::JSON::Object::Ptr>();
}

TEST(Dashboard, EveryPanelsQueryReturnsRowsAfterAScrape) {
  oura::test::TestDatabase db("oura_dash_");
  FakeOura fake({"--first-day", "2024-01-01", "--last-day", "2024-01-31"});
  std::string manifest = "[collector]\naccount = \"" + kAccount + "\"\nplugin_dirs = [\"" +
                         envOr("OURA_PLUGIN_DIR", "") + "\"]\nsql_dir = \"" +
                         envOr("OURA_SOURCE_DIR", "") + "/sql\"\n[api]\nbase_url = \"" +
                         fake.baseUrl() +
                         "\"\n[token_store]\nplugin = \"env\"\n[token_store.config]\n"
                         "variable = \"OURA_E2E_TOKEN\"\n";
  for (const char* endpoint : {"daily", "sleep", "heart"}) {
    manifest += std::string("[[endpoints]]\nplugin = \"") + endpoint + "\"\n";
  }
  manifest += "[[sinks]]\nplugin = \"postgres\"\n[sinks.config]\nhost = \"" + envOr("PGHOST", "") +
              "\"\nport = " + envOr("PGPORT", "5432") + "\ndbname = \"" + db.name() +
              "\"\nuser = \"" + envOr("PGUSER", "postgres") + "\"\n";
  const std::string path =
      oura::test::writeFile(oura::test::makeTempDir(), "manifest.toml", manifest);
  CommandResult scrape = oura::test::runCommand(
      envOr("OURA_BINARY", "oura-collector"),
      {"--config", path, "scrape", "--since", "2024-01-10", "--until", "2024-01-20"},
      {{"OURA_E2E_TOKEN", fake.token()}});
  ASSERT_EQ(scrape.exit_code, 0) << scrape.err;

  const Poco::JSON::Object::Ptr dash = dashboard();
  std::vector<std::pair<std::string, std::string>> queries;  // (what, SQL)
  Poco::JSON::Array::Ptr variables = dash->getObject("templating")->getArray("list");
  for (std::size_t i = 0; i < variables->size(); ++i) {
    auto v = variables->getObject(static_cast<unsigned>(i));
    if (v->getValue<std::string>("type") == "query") {
      queries.emplace_back("variable " + v->getValue<std::string>("name"),
                           v->getValue<std::string>("query"));
    }
  }
  Poco::JSON::Array::Ptr panels = dash->getArray("panels");
  for (std::size_t i = 0; i < panels->size(); ++i) {
    auto panel = panels->getObject(static_cast<unsigned>(i));
    if (!panel->has("targets")) continue;
    auto targets = panel->getArray("targets");
    for (std::size_t t = 0; t < targets->size(); ++t) {
      queries.emplace_back("panel " + panel->getValue<std::string>("title"),
                           targets->getObject(static_cast<unsigned>(t))->getValue<std::string>("rawSql"));
    }
  }
  ASSERT_GE(queries.size(), 8u);
  for (const auto& [what, raw] : queries) {
    SCOPED_TRACE(what);
    const std::string sql = expand(raw);
    // Every macro and variable the dashboard uses is one this test expands.
    EXPECT_EQ(sql.find('$'), std::string::npos) << "unexpanded Grafana macro in: " << sql;
    std::vector<std::vector<std::string>> rows;
    try {
      rows = oura::test::testQuery(db.name(), sql);
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what() << "\n" << sql;
      continue;
    }
    EXPECT_FALSE(rows.empty()) << "no rows after a scrape: " << sql;
  }
}

}  // namespace

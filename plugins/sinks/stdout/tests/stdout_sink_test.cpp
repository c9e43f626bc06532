#include "../stdout_sink.hpp"

#include <oura_sdk/errors.hpp>

#include <Poco/JSON/Parser.h>
#include <Poco/TemporaryFile.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

using namespace oura::sdk;

namespace {

StreamSchema allTypes() {
  StreamSchema s;
  s.name = "things";
  s.columns = {{"day", ColumnType::Date, "day", true, "day"},
               {"n", ColumnType::Integer, "n", false, "count"},
               {"x", ColumnType::Real, "x", false, "real"},
               {"ok", ColumnType::Boolean, "ok", false, "flag"},
               {"at", ColumnType::Timestamptz, "at", false, "time"},
               {"label", ColumnType::Text, "label", false, "text"},
               {"raw", ColumnType::Jsonb, "$", false, "raw"}};
  s.primary_key = {"day"};
  return s;
}

std::vector<std::string> readLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

PluginContext context(const std::string& file, bool raw = true) {
  return PluginContext{"out", Logger("oura.sink.out"),
                       PluginConfig({{"file", file}, {"include_raw", raw}})};
}

}  // namespace

TEST(StdoutSink, WritesOneJsonObjectPerRowInSchemaOrder) {
  Poco::TemporaryFile tmp;
  oura::plugins::StdoutSink sink(context(tmp.path()));
  StreamSchema schema = allTypes();
  CollectionSpec spec;
  spec.name = "things";
  SinkBatch batch{"me", &spec, {"2024-01-01", "2024-01-02"}, false, {}, std::nullopt, {}};
  batch.streams.push_back(StreamRows{&schema, {}});
  batch.streams[0].rows.push_back(Row{std::string("2024-01-01"), std::int64_t{42}, 1.5, true,
                                      std::string("2024-01-01T04:00:00+01:00"),
                                      std::string("a \"quoted\" label"),
                                      std::string(R"({"day":"2024-01-01","n":42})")});
  batch.streams[0].rows.push_back(Row{std::string("2024-01-02"), std::monostate{},
                                      std::monostate{}, std::monostate{}, std::monostate{},
                                      std::monostate{}, std::string("{}")});
  sink.open("me", {&spec});
  SinkOutcome outcome = sink.write(batch);
  sink.close();
  ASSERT_EQ(outcome.status, SinkOutcome::Status::Done) << outcome.message;
  EXPECT_EQ(outcome.inserted, 2u);

  auto lines = readLines(tmp.path());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0],
            R"({"stream":"things","account":"me","day":"2024-01-01","n":42,"x":1.5,"ok":true,)"
            R"("at":"2024-01-01T04:00:00+01:00","label":"a \"quoted\" label",)"
            R"("raw":{"day":"2024-01-01","n":42}})");
  Poco::JSON::Parser parser;
  auto second = parser.parse(lines[1]).extract<Poco::JSON::Object::Ptr>();
  EXPECT_TRUE(second->isNull("n"));
  EXPECT_TRUE(second->isNull("label"));
  EXPECT_TRUE(second->has("ok"));
}

TEST(StdoutSink, LeavesRawOutWhenAsked) {
  Poco::TemporaryFile tmp;
  oura::plugins::StdoutSink sink(context(tmp.path(), false));
  StreamSchema schema = allTypes();
  CollectionSpec spec;
  SinkBatch batch{"me", &spec, {}, false, {}, std::nullopt, {}};
  batch.streams.push_back(StreamRows{&schema, {}});
  batch.streams[0].rows.push_back(Row{std::string("2024-01-01"), std::int64_t{1}, 2.0, false,
                                      std::monostate{}, std::string("x"), std::string("{}")});
  ASSERT_EQ(sink.write(batch).status, SinkOutcome::Status::Done);
  sink.close();
  auto lines = readLines(tmp.path());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].find("\"raw\""), std::string::npos);
}

TEST(StdoutSink, InvalidJsonInAJsonbColumnFailsTheBatch) {
  Poco::TemporaryFile tmp;
  oura::plugins::StdoutSink sink(context(tmp.path()));
  StreamSchema schema = allTypes();
  CollectionSpec spec;
  SinkBatch batch{"me", &spec, {}, false, {}, std::nullopt, {}};
  batch.streams.push_back(StreamRows{&schema, {}});
  batch.streams[0].rows.push_back(Row{std::string("2024-01-01"), std::int64_t{1}, 2.0, false,
                                      std::monostate{}, std::string("x"), std::string("{oops")});
  SinkOutcome outcome = sink.write(batch);
  EXPECT_EQ(outcome.status, SinkOutcome::Status::Failed);
  EXPECT_NE(outcome.message.find("raw"), std::string::npos);
}

TEST(StdoutSink, RefusesAnEmptyPath) {
  EXPECT_THROW(oura::plugins::StdoutSink sink(context("")), ConfigError);
}

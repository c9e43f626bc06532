#include "../stdout_sink.hpp"

#include <oura_sdk/errors.hpp>

#include <Poco/JSON/Parser.h>
#include <Poco/TemporaryFile.h>
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <tuple>
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
  SinkBatch batch{"me", &spec, {"2024-01-01", "2024-01-02"}, false, {}, std::nullopt, {}, {}, {}};
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
  SinkBatch batch{"me", &spec, {}, false, {}, std::nullopt, {}, {}, {}};
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
  SinkBatch batch{"me", &spec, {}, false, {}, std::nullopt, {}, {}, {}};
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

namespace {

PluginContext fileContext(const std::string& file, const std::string& mode,
                          const std::string& permissions = "0600") {
  return PluginContext{
      "out", Logger("oura.sink.out"),
      PluginConfig({{"file", file}, {"include_raw", true}, {"mode", mode},
                    {"permissions", permissions}})};
}

SinkBatch oneRowBatch(const StreamSchema& schema, const CollectionSpec& spec, std::int64_t n) {
  SinkBatch batch{"me", &spec, {}, false, {}, std::nullopt, {}, {}, {}};
  batch.streams.push_back(StreamRows{&schema, {}});
  batch.streams[0].rows.push_back(Row{std::string("2024-01-01"), n, 2.0, false, std::monostate{},
                                      std::string("x"), std::string("{}")});
  return batch;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream all;
  all << in.rdbuf();
  return all.str();
}

}  // namespace

TEST(StdoutSink, RefusesASymbolicLinkAndLeavesItsTargetAlone) {
  for (const std::string mode : {"replace", "append"}) {
    Poco::TemporaryFile victim, link;
    { std::ofstream(victim.path()) << "precious\n"; }
    std::filesystem::create_symlink(victim.path(), link.path());
    oura::plugins::StdoutSink sink(fileContext(link.path(), mode));
    EXPECT_THROW(sink.open("me", {}), Error) << mode;
    EXPECT_EQ(slurp(victim.path()), "precious\n") << mode;
    EXPECT_TRUE(std::filesystem::is_symlink(link.path())) << mode;
  }
}

TEST(StdoutSink, RefusesAFifo) {
  Poco::TemporaryFile fifo;
  ASSERT_EQ(::mkfifo(fifo.path().c_str(), 0600), 0);
  for (const std::string mode : {"replace", "append"}) {
    oura::plugins::StdoutSink sink(fileContext(fifo.path(), mode));
    try {
      sink.open("me", {});
      ADD_FAILURE() << mode << ": a FIFO was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
    }
  }
}

TEST(StdoutSink, CreatesNewFilesWithTheConfiguredMode) {
  Poco::TemporaryFile a, b;
  const mode_t old_umask = ::umask(0);
  for (auto [path, mode, want] : {std::tuple{a.path(), "0600", 0600}, {b.path(), "0640", 0640}}) {
    oura::plugins::StdoutSink sink(fileContext(path, "replace", mode));
    sink.open("me", {});
    sink.close();
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, static_cast<mode_t>(want)) << path;
  }
  ::umask(old_umask);
  EXPECT_THROW(oura::plugins::StdoutSink(fileContext(a.path(), "replace", "rw-")), ConfigError);
  EXPECT_THROW(oura::plugins::StdoutSink(fileContext(a.path(), "truncate")), ConfigError);
}

TEST(StdoutSink, ReplaceKeepsTheOldFileWholeUntilTheRunEnds) {
  Poco::TemporaryFile tmp;
  { std::ofstream(tmp.path()) << "old\n"; }
  StreamSchema schema = allTypes();
  CollectionSpec spec;
  oura::plugins::StdoutSink sink(fileContext(tmp.path(), "replace"));
  sink.open("me", {&spec});
  ASSERT_EQ(sink.write(oneRowBatch(schema, spec, 1)).status, SinkOutcome::Status::Done);
  EXPECT_EQ(slurp(tmp.path()), "old\n");
  sink.close();
  auto lines = readLines(tmp.path());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("\"n\":1"), std::string::npos);
  // No temporary file is left beside it.
  std::size_t siblings = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::filesystem::path(tmp.path()).parent_path())) {
    if (entry.path().filename().string().rfind("." + std::filesystem::path(tmp.path()).filename().string(), 0) == 0)
      ++siblings;
  }
  EXPECT_EQ(siblings, 0u);
}

TEST(StdoutSink, AppendAddsToTheEnd) {
  Poco::TemporaryFile tmp;
  { std::ofstream(tmp.path()) << "{\"earlier\":true}\n"; }
  StreamSchema schema = allTypes();
  CollectionSpec spec;
  for (std::int64_t n : {1, 2}) {
    oura::plugins::StdoutSink sink(fileContext(tmp.path(), "append"));
    sink.open("me", {&spec});
    ASSERT_EQ(sink.write(oneRowBatch(schema, spec, n)).status, SinkOutcome::Status::Done);
    sink.close();
  }
  auto lines = readLines(tmp.path());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "{\"earlier\":true}");
  EXPECT_NE(lines[2].find("\"n\":2"), std::string::npos);
}

// mapping_bench: the SDK's generic mapper (oura::sdk::mapByPaths) on a daily_activity-shaped
// document: a few typed columns, two timestamps and a 1,440-sample MET series (the bulk of a
// 5-year backfill's rows: 2.6 of its 3.8 million). Prints the time per sample row; asserts
// nothing. Build it against two SDK libraries to compare mappers (docs/performance.md
// "Timestamps"):
//   g++ -O2 -std=c++20 -I core/include tests/bench/mapping_bench.cpp -L TREE/core -loura-sdk
//       -lPocoJSON -lPocoFoundation -Wl,-rpath,TREE/core -o /tmp/mapping_bench  (one line)
#include <oura_sdk/endpoint.hpp>
#include <oura_sdk/schema.hpp>

#include <Poco/JSON/Parser.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

namespace sdk = oura::sdk;

namespace {

class CountingEmitter : public sdk::RowEmitter {
 public:
  void emit(std::size_t, sdk::Row row) override { rows += row.size() != 0; }
  void warn(const std::string&) override { ++warnings; }
  std::size_t rows = 0;
  std::size_t warnings = 0;
};

double cpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  const int documents = argc > 1 ? std::atoi(argv[1]) : 400;
  sdk::CollectionSpec spec = sdk::collectionSpec("daily_activity", "PublicDailyActivity", "daily");
  spec.streams.push_back(sdk::documentStream(
      "daily_activity", "bench",
      {sdk::idColumn("id"), sdk::dayColumn("day", sdk::KeyNote::None),
       sdk::timestampColumn("when"),
       sdk::column("steps", sdk::ColumnType::Integer, sdk::kOptional, "steps"),
       sdk::column("score", sdk::ColumnType::Integer, sdk::kOptional, "score"),
       sdk::column("class_5_min", sdk::ColumnType::Text, sdk::kOptional, "classes")},
      {"id"}));
  spec.streams.push_back(sdk::sampleStream(spec.streams[0], "daily_activity_met", "met",
                                           sdk::ColumnType::Real, "MET"));
  std::string doc = R"({"id":"a1","day":"2024-03-01","timestamp":"2024-03-01T04:00:00.000-06:00",)"
                    R"("steps":12345,"score":81,"class_5_min":"0001112223334444",)"
                    R"("met":{"interval":60.0,"timestamp":"2024-03-01T04:00:00.000-06:00","items":[)";
  for (int i = 0; i < 1440; ++i) doc += (i ? "," : "") + std::to_string(0.9 + (i % 50) / 10.0);
  doc += "]}}";
  Poco::JSON::Parser parser;
  const Poco::JSON::Object::Ptr object = parser.parse(doc).extract<Poco::JSON::Object::Ptr>();
  CountingEmitter out;
  const double start = cpuSeconds();
  for (int d = 0; d < documents; ++d) sdk::mapByPaths(spec, *object, doc, out);
  const double seconds = cpuSeconds() - start;
  std::printf("mapping_bench: %d documents, %zu rows (%zu warnings) in %.3f s CPU: %.0f ns a row\n",
              documents, out.rows, out.warnings, seconds, seconds * 1e9 / static_cast<double>(out.rows));
  return 0;
}

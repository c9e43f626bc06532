#pragma once
// Helpers for endpoint-plugin tests: map documents the way the core does, read recorded
// responses and the OpenAPI spec, compare rows with the JSON they came from. Shared by every
// plugin's tests/ so each plugin test holds only what is specific to its collections.

#include <oura_sdk/endpoint.hpp>
#include <oura_sdk/rows.hpp>

#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Object.h>
#include <Poco/Timestamp.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace oura::test {

namespace sdk = oura::sdk;
using Poco::Dynamic::Var;
using Poco::JSON::Object;
using sdk::ColumnType;
using sdk::Row;
using sdk::Value;

/// Collects everything the mapper produces, per stream index.
class Collector : public sdk::RowEmitter {
 public:
  void emit(std::size_t stream_index, Row row) override {
    if (rows.size() <= stream_index) rows.resize(stream_index + 1);
    rows[stream_index].push_back(std::move(row));
  }
  void warn(const std::string& message) override { warnings.push_back(message); }
  const std::vector<Row>& stream(std::size_t index) {
    if (rows.size() <= index) rows.resize(index + 1);
    return rows[index];
  }
  std::vector<std::vector<Row>> rows;
  std::vector<std::string> warnings;
};

/// tests/fixtures ($OURA_FIXTURES, set by ctest). Throws std::runtime_error when unset.
std::filesystem::path fixtures();
/// Parses JSON text / a JSON file. Throws Poco::Exception on bad JSON.
Var parseText(const std::string& text);
Var parseFile(const std::filesystem::path& path);
/// Compact JSON of a value.
std::string toJson(const Var& value);
Object::Ptr parseObject(const std::string& text);

/// Maps one document the way the core does (raw = the document serialised), with the
/// plugin's own `mapDocument` when `plugin` is given, else the SDK's generic mapper.
Collector mapDoc(const sdk::CollectionSpec& spec, const Object::Ptr& doc,
                 const sdk::EndpointPlugin* plugin = nullptr);

/// The test's own dotted-path lookup (independent of the mapper's). False when absent.
bool findPath(const Object::Ptr& doc, const std::string& path, Var& out);
/// Sets (or, with `remove`, deletes) the value at a dotted path, creating objects on the way.
void setPath(const Object::Ptr& doc, const std::string& path, const Var& value,
             bool remove = false);

bool isNull(const Value& v);
/// The value as a string / integer / real; a test failure when it has another type.
std::string str(const Value& v);
std::int64_t integer(const Value& v);
double real(const Value& v);
const Value& cell(const sdk::StreamSchema& stream, const Row& row, const std::string& column);

/// Checks one value against the JSON it came from.
void expectValue(const Value& value, const Var& json, ColumnType type, const std::string& what);
/// Every column of the document row equals the document's own value (NULL where the document
/// has null or nothing), and `raw` is the document.
void expectRowMatches(const sdk::CollectionSpec& spec, const Object::Ptr& doc, const Row& row);
/// Required columns whose key is absent from the document (what the mapper must warn about).
std::size_t absentRequired(const sdk::CollectionSpec& spec, const Object::Ptr& doc);
/// Parses an ISO 8601 timestamp into (UTC instant, offset seconds).
std::pair<Poco::Timestamp, int> instant(const std::string& text);
/// The documents of a response body: `data`'s elements, or the bare object.
std::vector<Object::Ptr> documentsOf(const Var& body);
/// The documents of tests/fixtures/recorded/<file>.
std::vector<Object::Ptr> recordedDocs(const std::string& file);

}  // namespace oura::test

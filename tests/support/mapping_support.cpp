// Helpers for endpoint-plugin tests (mapping_support.hpp).
#include "mapping_support.hpp"

#include <Poco/DateTime.h>
#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeParser.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace oura::test {

namespace fs = std::filesystem;
using Poco::JSON::Array;


fs::path fixtures() {
  const char* dir = std::getenv("OURA_FIXTURES");
  if (dir == nullptr) throw std::runtime_error("OURA_FIXTURES is not set (run through ctest)");
  return fs::path(dir);
}

Var parseText(const std::string& text) {
  Poco::JSON::Parser parser;
  return parser.parse(text);
}

Var parseFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return parseText(text.str());
}

std::string toJson(const Var& value) {
  std::ostringstream out;
  Poco::JSON::Stringifier::stringify(value, out);
  return out.str();
}

Object::Ptr parseObject(const std::string& text) { return parseText(text).extract<Object::Ptr>(); }

/// Maps one document the way the core does: raw = the document serialised.
Collector mapDoc(const sdk::CollectionSpec& spec, const Object::Ptr& doc,
                 const sdk::EndpointPlugin* plugin) {
  Collector out;
  if (plugin != nullptr) {
    plugin->mapDocument(spec, *doc, toJson(doc), out);
  } else {
    sdk::mapByPaths(spec, *doc, toJson(doc), out);
  }
  return out;
}

/// The test's own dotted-path lookup (independent of the mapper's). False when absent.
bool findPath(const Object::Ptr& doc, const std::string& path, Var& out) {
  Object::Ptr node = doc;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = path.find('.', start);
    const std::string key = path.substr(start, dot == std::string::npos ? dot : dot - start);
    if (!node->has(key)) return false;
    Var value = node->get(key);
    if (dot == std::string::npos || value.isEmpty()) {
      out = dot == std::string::npos ? value : Var();
      return true;
    }
    node = value.extract<Object::Ptr>();
    start = dot + 1;
  }
}

/// Sets (or, with `remove`, deletes) the value at a dotted path, creating objects on the way.
void setPath(const Object::Ptr& doc, const std::string& path, const Var& value, bool remove) {
  Object::Ptr node = doc;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = path.find('.', start);
    const std::string key = path.substr(start, dot == std::string::npos ? dot : dot - start);
    if (dot == std::string::npos) {
      if (remove) {
        node->remove(key);
      } else {
        node->set(key, value);
      }
      return;
    }
    if (!node->has(key) || node->get(key).isEmpty()) node->set(key, Object::Ptr(new Object));
    node = node->getObject(key);
    start = dot + 1;
  }
}

bool isNull(const Value& v) { return std::holds_alternative<std::monostate>(v); }

std::string str(const Value& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  ADD_FAILURE() << "value is not a string (variant index " << v.index() << ")";
  return {};
}

std::int64_t integer(const Value& v) {
  if (const auto* i = std::get_if<std::int64_t>(&v)) return *i;
  ADD_FAILURE() << "value is not an integer (variant index " << v.index() << ")";
  return 0;
}

double real(const Value& v) {
  if (const auto* d = std::get_if<double>(&v)) return *d;
  ADD_FAILURE() << "value is not a real (variant index " << v.index() << ")";
  return 0;
}

const Value& cell(const sdk::StreamSchema& stream, const Row& row, const std::string& column) {
  return row.at(stream.columnIndex(column));
}

/// Checks one value against the JSON it came from.
void expectValue(const Value& value, const Var& json, ColumnType type, const std::string& what) {
  SCOPED_TRACE(what);
  if (json.isEmpty()) {
    EXPECT_TRUE(isNull(value)) << "JSON null must be SQL NULL";
    return;
  }
  switch (type) {
    case ColumnType::Integer:
      EXPECT_EQ(integer(value), json.convert<std::int64_t>());
      break;
    case ColumnType::Real:
      EXPECT_DOUBLE_EQ(real(value), json.convert<double>());
      break;
    case ColumnType::Boolean:
      ASSERT_TRUE(std::holds_alternative<bool>(value));
      EXPECT_EQ(std::get<bool>(value), json.convert<bool>());
      break;
    case ColumnType::Text:
    case ColumnType::Date:
    case ColumnType::Timestamptz:
      EXPECT_EQ(str(value), json.extract<std::string>());
      break;
    case ColumnType::Jsonb:
      EXPECT_EQ(parseText(str(value)).toString(), json.toString());
      break;
  }
}

/// Every column of the document row equals the document's own value (NULL where the document has
/// null or nothing), and `raw` is the document.
void expectRowMatches(const sdk::CollectionSpec& spec, const Object::Ptr& doc, const Row& row) {
  const sdk::StreamSchema& stream = spec.streams[0];
  ASSERT_EQ(row.size(), stream.columns.size());
  for (std::size_t i = 0; i < row.size(); ++i) {
    const sdk::Column& column = stream.columns[i];
    if (column.json_path == "$") {
      EXPECT_EQ(toJson(parseText(str(row[i]))), toJson(doc)) << "raw must hold the document";
      continue;
    }
    Var json;
    if (!findPath(doc, column.json_path, json)) {
      EXPECT_TRUE(isNull(row[i])) << column.name << ": absent in the document, must be NULL";
      continue;
    }
    expectValue(row[i], json, column.type, spec.name + "." + column.name);
  }
}

/// Required columns whose key is absent from the document (what the mapper must warn about).
std::size_t absentRequired(const sdk::CollectionSpec& spec, const Object::Ptr& doc) {
  std::size_t n = 0;
  for (const auto& column : spec.streams[0].columns) {
    Var ignored;
    if (column.required && !column.known_absent && column.json_path != "$" &&
        !findPath(doc, column.json_path, ignored)) {
      ++n;
    }
  }
  return n;
}

/// Parses an ISO 8601 timestamp into (UTC instant, offset seconds).
std::pair<Poco::Timestamp, int> instant(const std::string& text) {
  Poco::DateTime local;
  int tzd = 0;
  Poco::DateTimeParser::parse(Poco::DateTimeFormat::ISO8601_FRAC_FORMAT, text, local, tzd);
  local.makeUTC(tzd);
  return {local.timestamp(), tzd};
}

std::vector<Object::Ptr> documentsOf(const Var& body) {
  std::vector<Object::Ptr> docs;
  const auto object = body.extract<Object::Ptr>();
  if (object->has("data")) {
    const auto data = object->getArray("data");
    for (std::size_t i = 0; i < data->size(); ++i) docs.push_back(data->getObject(static_cast<unsigned>(i)));
  } else {
    docs.push_back(object);
  }
  return docs;
}

std::vector<Object::Ptr> recordedDocs(const std::string& file) {
  const Var response = parseFile(fixtures() / "recorded" / file);
  return documentsOf(response.extract<Object::Ptr>()->get("body"));
}


}  // namespace oura::test

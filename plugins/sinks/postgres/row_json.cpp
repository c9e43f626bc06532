#include "row_json.hpp"

#include <Poco/DateTime.h>
#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeParser.h>
#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <cmath>
#include <regex>
#include <sstream>
#include <unordered_map>

namespace oura::plugins::postgres {

using sdk::Column;
using sdk::ColumnType;
using sdk::Row;
using sdk::StreamSchema;
using sdk::Value;

namespace {

// An ISO 8601 timestamp with an explicit offset: the only form compared by instant (Poco's
// parser alone accepts almost anything).
bool isOffsetTimestamp(const std::string& text) {
  static const std::regex re(
      R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$)");
  return std::regex_match(text, re);
}

// One key component as a string that is equal for values PostgreSQL considers equal.
std::string canonical(const Column& column, const Value& value) {
  if (std::holds_alternative<std::monostate>(value)) return "n";
  if (const auto* s = std::get_if<std::string>(&value)) {
    if (column.type == ColumnType::Timestamptz && isOffsetTimestamp(*s)) {
      Poco::DateTime dt;
      int tzd = 0;
      if (Poco::DateTimeParser::tryParse(Poco::DateTimeFormat::ISO8601_FRAC_FORMAT, *s, dt, tzd)) {
        dt.makeUTC(tzd);
        return "t" + std::to_string(dt.timestamp().epochMicroseconds());
      }
    }
    return "s" + std::to_string(s->size()) + ":" + *s;
  }
  if (const auto* n = std::get_if<std::int64_t>(&value)) return "i" + std::to_string(*n);
  if (const auto* d = std::get_if<double>(&value)) {
    std::ostringstream out;
    out.precision(17);
    out << *d;
    return "d" + out.str();
  }
  return std::get<bool>(value) ? "bt" : "bf";
}

Poco::Dynamic::Var toJson(const Column& column, const Value& value, Poco::JSON::Parser& parser) {
  if (const auto* s = std::get_if<std::string>(&value)) {
    if (column.type == ColumnType::Jsonb) {
      // Poco's parser takes an object or an array only: a scalar is parsed inside [ ].
      // Throws Poco::Exception on invalid JSON.
      const auto first = s->find_first_not_of(" \t\r\n");
      parser.reset();
      if (first != std::string::npos && ((*s)[first] == '{' || (*s)[first] == '[')) {
        return parser.parse(*s);
      }
      Poco::Dynamic::Var wrapped = parser.parse("[" + *s + "]");
      auto array = wrapped.extract<Poco::JSON::Array::Ptr>();
      if (!array || array->size() != 1) {
        throw Poco::JSON::JSONException("expected one JSON value");
      }
      return array->get(0);
    }
    return *s;
  }
  if (const auto* n = std::get_if<std::int64_t>(&value)) return static_cast<Poco::Int64>(*n);
  if (const auto* d = std::get_if<double>(&value)) {
    if (!std::isfinite(*d)) return {};  // JSON has no NaN/Infinity: NULL
    return *d;
  }
  if (const auto* b = std::get_if<bool>(&value)) return *b;
  return {};  // monostate: JSON null, SQL NULL
}

std::string stringify(const Poco::JSON::Array& array) {
  std::ostringstream out;
  array.stringify(out);
  return out.str();
}

}  // namespace

std::vector<std::size_t> keyIndices(const StreamSchema& stream) {
  std::vector<std::size_t> out;
  for (const std::string& key : stream.primary_key) {
    try {
      out.push_back(stream.columnIndex(key));
    } catch (const std::out_of_range&) {
      throw std::invalid_argument("stream " + stream.name + ": primary-key column " + key +
                                  " is not one of its columns");
    }
  }
  return out;
}

std::vector<std::size_t> lastRowPerKey(const StreamSchema& stream, const std::vector<Row>& rows) {
  const std::vector<std::size_t> keys = keyIndices(stream);
  std::unordered_map<std::string, std::size_t> last;
  last.reserve(rows.size());
  std::vector<std::size_t> order;  // first appearance of each key
  for (std::size_t i = 0; i < rows.size(); ++i) {
    std::string key;
    for (std::size_t k : keys) {
      if (k < rows[i].size()) key += canonical(stream.columns[k], rows[i][k]);
      key += '|';
    }
    auto [it, fresh] = last.try_emplace(std::move(key), i);
    if (fresh) {
      order.push_back(i);
    } else {
      it->second = i;
    }
  }
  if (order.size() == rows.size()) return order;  // no repeats: every row, in order
  std::vector<std::size_t> out;
  out.reserve(last.size());
  for (const auto& [key, index] : last) out.push_back(index);
  std::sort(out.begin(), out.end());
  return out;
}

std::string rowsJson(const StreamSchema& stream, const std::vector<Row>& rows,
                     const std::vector<std::size_t>& which) {
  Poco::JSON::Array array;
  Poco::JSON::Parser parser;
  for (std::size_t index : which) {
    const Row& row = rows.at(index);
    if (row.size() != stream.columns.size()) {
      throw BadRow(index, "a row has " + std::to_string(row.size()) + " values for " +
                              std::to_string(stream.columns.size()) + " columns");
    }
    Poco::JSON::Object::Ptr object = new Poco::JSON::Object;
    for (std::size_t c = 0; c < row.size(); ++c) {
      try {
        object->set(stream.columns[c].name, toJson(stream.columns[c], row[c], parser));
      } catch (const Poco::Exception& e) {
        throw BadRow(index,
                     "column " + stream.columns[c].name + " is not valid JSON: " + e.displayText());
      }
    }
    array.add(object);
  }
  return stringify(array);
}

std::string keysJson(const std::vector<const Column*>& columns,
                     const std::vector<std::string>& names,
                     const std::vector<std::size_t>& source_columns, const std::vector<Row>& rows,
                     const std::vector<std::size_t>& which) {
  Poco::JSON::Array array;
  Poco::JSON::Parser parser;
  for (std::size_t index : which) {
    const Row& row = rows.at(index);
    Poco::JSON::Object::Ptr object = new Poco::JSON::Object;
    for (std::size_t k = 0; k < columns.size(); ++k) {
      if (source_columns[k] >= row.size()) {
        throw BadRow(index, "a key has " + std::to_string(row.size()) + " values for " +
                                std::to_string(columns.size()) + " key columns");
      }
      try {
        object->set(names[k], toJson(*columns[k], row[source_columns[k]], parser));
      } catch (const Poco::Exception& e) {
        throw BadRow(index, "key column " + names[k] + " is not valid JSON: " + e.displayText());
      }
    }
    array.add(object);
  }
  return stringify(array);
}

std::string describeKey(const StreamSchema& stream, const Row& row, std::size_t count) {
  std::string out;
  std::size_t n = 0;
  for (const std::string& key : stream.primary_key) {
    if (count != 0 && n++ >= count) break;
    std::size_t index = 0;
    try {
      index = stream.columnIndex(key);
    } catch (const std::out_of_range&) {
      continue;
    }
    std::string text = "NULL";
    if (index < row.size()) {
      const Value& v = row[index];
      if (const auto* s = std::get_if<std::string>(&v))
        text = *s;
      else if (const auto* i = std::get_if<std::int64_t>(&v))
        text = std::to_string(*i);
      else if (const auto* d = std::get_if<double>(&v))
        text = std::to_string(*d);
      else if (const auto* b = std::get_if<bool>(&v))
        text = *b ? "true" : "false";
    }
    if (text.size() > 80) text = text.substr(0, 80) + "...";
    out += (out.empty() ? "" : ", ") + key + "=" + text;
  }
  return out;
}

}  // namespace oura::plugins::postgres

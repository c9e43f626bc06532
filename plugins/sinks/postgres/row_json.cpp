#include "row_json.hpp"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <sstream>
#include <unordered_map>

namespace oura::plugins::postgres {

using sdk::Column;
using sdk::ColumnType;
using sdk::Row;
using sdk::StreamSchema;
using sdk::Value;

namespace {

// Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's algorithm).
std::int64_t daysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// An ISO 8601 timestamp with an explicit offset, "YYYY-MM-DDTHH:MM:SS[.f{1,6}](Z|+HH:MM|-HH:MM)",
// the only form compared by instant: its microseconds since the epoch, or nothing (another
// form, or a field out of range). Hand-written: it runs for every key of every batch.
std::optional<std::int64_t> offsetTimestampMicros(const std::string& t) {
  auto digits = [&](std::size_t at, std::size_t n, int& out) {
    if (at + n > t.size()) return false;
    out = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (t[i] < '0' || t[i] > '9') return false;
      out = out * 10 + (t[i] - '0');
    }
    return true;
  };
  int year, month, day, hour, minute, second;
  if (t.size() < 20 || !digits(0, 4, year) || t[4] != '-' || !digits(5, 2, month) || t[7] != '-' ||
      !digits(8, 2, day) || t[10] != 'T' || !digits(11, 2, hour) || t[13] != ':' ||
      !digits(14, 2, minute) || t[16] != ':' || !digits(17, 2, second)) {
    return std::nullopt;
  }
  std::size_t at = 19;
  std::int64_t micros = 0;
  if (t[at] == '.') {
    std::size_t n = 0;
    for (++at; at < t.size() && t[at] >= '0' && t[at] <= '9'; ++at, ++n) {
      micros = micros * 10 + (t[at] - '0');
    }
    if (n < 1 || n > 6) return std::nullopt;
    for (; n < 6; ++n) micros *= 10;
  }
  int offset_minutes = 0;
  if (at + 1 == t.size() && t[at] == 'Z') {
    offset_minutes = 0;
  } else if (at + 6 == t.size() && (t[at] == '+' || t[at] == '-') && t[at + 3] == ':') {
    int oh, om;
    if (!digits(at + 1, 2, oh) || !digits(at + 4, 2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_minutes = (t[at] == '-' ? -1 : 1) * (oh * 60 + om);
  } else {
    return std::nullopt;
  }
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month < 1 || month > 12 || day < 1 || day > kDays[month - 1] ||
      (month == 2 && day == 29 && !leap) || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  const std::int64_t seconds =
      daysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
      hour * 3600 + minute * 60 + second - offset_minutes * 60;
  return seconds * 1000000 + micros;
}

// One key component as a string that is equal for values PostgreSQL considers equal.
std::string canonical(const Column& column, const Value& value) {
  if (std::holds_alternative<std::monostate>(value)) return "n";
  if (const auto* s = std::get_if<std::string>(&value)) {
    if (column.type == ColumnType::Timestamptz) {
      if (const auto micros = offsetTimestampMicros(*s)) return "t" + std::to_string(*micros);
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

namespace {

void appendCopyEscaped(std::string& out, const std::string& text) {
  std::size_t from = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const char* escaped = c == '\\'   ? "\\\\"
                          : c == '\t' ? "\\t"
                          : c == '\n' ? "\\n"
                          : c == '\r' ? "\\r"
                                      : nullptr;
    if (escaped == nullptr) continue;
    out.append(text, from, i - from);
    out += escaped;
    from = i + 1;
  }
  out.append(text, from, std::string::npos);
}

}  // namespace

std::string rowsCopyText(const StreamSchema& stream, const std::vector<Row>& rows,
                         const std::vector<std::size_t>& which, const std::string& account) {
  std::string out;
  std::string prefix;
  appendCopyEscaped(prefix, account);
  out.reserve(which.size() * 64);
  char number[64];
  for (std::size_t index : which) {
    const Row& row = rows.at(index);
    if (row.size() != stream.columns.size()) {
      throw BadRow(index, "a row has " + std::to_string(row.size()) + " values for " +
                              std::to_string(stream.columns.size()) + " columns");
    }
    out += prefix;
    for (const Value& value : row) {
      out += '\t';
      if (const auto* s = std::get_if<std::string>(&value)) {
        appendCopyEscaped(out, *s);
      } else if (const auto* n = std::get_if<std::int64_t>(&value)) {
        out.append(number, std::to_chars(number, number + sizeof number, *n).ptr);
      } else if (const auto* d = std::get_if<double>(&value)) {
        if (std::isfinite(*d)) {
          out.append(number, std::to_chars(number, number + sizeof number, *d).ptr);
        } else {
          out += "\\N";
        }
      } else if (const auto* b = std::get_if<bool>(&value)) {
        out += *b ? "true" : "false";
      } else {
        out += "\\N";
      }
    }
    out += '\n';
  }
  return out;
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

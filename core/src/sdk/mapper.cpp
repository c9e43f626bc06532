// The generic document mapper: fills typed columns from JSON paths and flattens embedded
// sample series (OpenAPI PublicSample) into child rows.
#include <oura_sdk/endpoint.hpp>
#include <oura_sdk/errors.hpp>

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Stringifier.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>

namespace oura::sdk {
namespace {

using Poco::Dynamic::Var;

/// Looks up a dotted path. Returns false when a key on the way is absent; `out` is empty (JSON
/// null) when the value, or an object on the way, is null.
bool lookup(const Poco::JSON::Object& doc, const std::string& path, Var& out) {
  const Poco::JSON::Object* node = &doc;
  Poco::JSON::Object::Ptr holder;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = path.find('.', start);
    std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!node->has(key)) return false;
    Var value = node->get(key);
    if (dot == std::string::npos) {
      out = value;
      return true;
    }
    if (value.isEmpty()) {
      out.clear();
      return true;
    }
    if (value.type() != typeid(Poco::JSON::Object::Ptr)) return false;
    holder = value.extract<Poco::JSON::Object::Ptr>();
    node = holder.get();
    start = dot + 1;
  }
}

std::string toJson(const Var& value) {
  std::ostringstream out;
  Poco::JSON::Stringifier::stringify(value, out);
  return out.str();
}

bool isContainer(const Var& v) {
  return v.type() == typeid(Poco::JSON::Object::Ptr) || v.type() == typeid(Poco::JSON::Array::Ptr);
}

/// True when `text` has exactly the shape `pattern`, where 'D' is a digit and any other
/// character stands for itself. Poco's DateTimeParser skips junk ("yesterday" parses as year 0),
/// so the shape is checked before it.
bool hasShape(const std::string& text, std::size_t pos, const char* pattern) {
  for (; *pattern != '\0'; ++pattern, ++pos) {
    if (pos >= text.size()) return false;
    const char c = text[pos];
    if (*pattern == 'D' ? (c < '0' || c > '9') : c != *pattern) return false;
  }
  return true;
}

using Micros = std::chrono::sys_time<std::chrono::microseconds>;

/// The digits of text[pos, pos + n) as a number (the caller checked they are digits).
int digits(const std::string& text, std::size_t pos, std::size_t n) {
  int value = 0;
  std::from_chars(text.data() + pos, text.data() + pos + n, value);
  return value;
}

/// A calendar date and time of day that exists (Poco::DateTime's range: years 0-9999, second
/// up to 60), as microseconds since the epoch of that wall clock.
bool civil(int year, int month, int day, int hour, int minute, int second, Micros& out) {
  using namespace std::chrono;
  const year_month_day date{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month)),
                            std::chrono::day(static_cast<unsigned>(day))};
  if (!date.ok() || hour > 23 || minute > 59 || second > 60) return false;
  out = Micros(sys_days(date)) + hours(hour) + minutes(minute) + seconds(second);
  return true;
}

/// Accepts only `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`.
/// `local` receives the wall-clock time as written (not converted to UTC), to the microsecond
/// (further fraction digits are dropped), and `tzd` the offset in seconds.
/// Hand-written with std::chrono instead of Poco::DateTimeParser: it runs for every timestamp of
/// every document (docs/performance.md "Timestamps").
bool parseTimestamp(const std::string& text, Micros& local, int& tzd) {
  if (!hasShape(text, 0, "DDDD-DD-DDTDD:DD:DD")) return false;
  std::size_t pos = 19;
  std::int64_t micros = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const std::size_t first = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (pos - first < 6) micros = micros * 10 + (text[pos] - '0');
      ++pos;
    }
    if (pos == first) return false;
    for (std::size_t n = pos - first; n < 6; ++n) micros *= 10;
  }
  if (text.size() == pos + 1 && text[pos] == 'Z') {
    tzd = 0;
  } else if (text.size() == pos + 6 && (text[pos] == '+' || text[pos] == '-') &&
             hasShape(text, pos + 1, "DD:DD")) {
    tzd = (text[pos] == '-' ? -1 : 1) * (digits(text, pos + 1, 2) * 3600 + digits(text, pos + 4, 2) * 60);
  } else {
    return false;
  }
  if (!civil(digits(text, 0, 4), digits(text, 5, 2), digits(text, 8, 2), digits(text, 11, 2),
             digits(text, 14, 2), digits(text, 17, 2), local)) {
    return false;
  }
  local += std::chrono::microseconds(micros);
  return true;
}

bool validDate(const std::string& text) {
  if (text.size() != 10 || !hasShape(text, 0, "DDDD-DD-DD")) return false;
  Micros ignored;
  return civil(digits(text, 0, 4), digits(text, 5, 2), digits(text, 8, 2), 0, 0, 0, ignored);
}

/// Converts one JSON value to a column's type. Returns NULL (monostate) and warns when it does
/// not fit.
/// `index` >= 0: the value is item `index` of the array `field` (its name is built only for a
/// warning: this runs for every sample of every series).
Value convert(const Var& v, ColumnType type, const std::string& field, RowEmitter& out,
              long index = -1) {
  if (v.isEmpty()) return std::monostate{};
  auto mismatch = [&](const char* expected) -> Value {
    const std::string name =
        index < 0 ? field : field + "[" + std::to_string(index) + "]";
    out.warn("field '" + name + "' is not " + expected + " (" + toJson(v) + "); stored as NULL");
    return std::monostate{};
  };
  switch (type) {
    case ColumnType::Text:
      if (v.isString()) return v.extract<std::string>();
      if (isContainer(v)) return mismatch("text");
      return v.convert<std::string>();
    case ColumnType::Integer:
      if (v.isBoolean() || v.isString() || isContainer(v)) return mismatch("an integer");
      if (v.isInteger()) {
        try {
          return v.convert<std::int64_t>();
        } catch (const Poco::RangeException&) {  // an unsigned value above INT64_MAX
          return mismatch("a 64-bit integer");
        }
      }
      if (v.isNumeric()) {
        double d = v.convert<double>();
        if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9.0e15) {
          return static_cast<std::int64_t>(d);
        }
      }
      return mismatch("an integer");
    case ColumnType::Real:
      if (v.isBoolean() || v.isString() || isContainer(v)) return mismatch("a number");
      if (v.isNumeric()) return v.convert<double>();
      return mismatch("a number");
    case ColumnType::Boolean:
      if (v.isBoolean()) return v.convert<bool>();
      return mismatch("a boolean");
    case ColumnType::Date: {
      if (!v.isString()) return mismatch("a date");
      const std::string& s = v.extract<std::string>();
      if (!validDate(s)) return mismatch("a date (YYYY-MM-DD)");
      return s;
    }
    case ColumnType::Timestamptz: {
      if (!v.isString()) return mismatch("a timestamp");
      const std::string& s = v.extract<std::string>();
      Micros local;
      int tzd = 0;
      if (!parseTimestamp(s, local, tzd)) return mismatch("an ISO 8601 timestamp");
      return s;
    }
    case ColumnType::Jsonb:
      return toJson(v);
  }
  return std::monostate{};
}

/// Formats the wall-clock time `local` as ISO 8601 with the offset `tzd` (seconds) as +HH:MM
/// (+00:00 for UTC); milliseconds when not whole seconds. `local` is already in that offset (as
/// parseTimestamp returns it). The form Poco's "%Y-%m-%dT%H:%M:%S[.%i]%z" gave, without its
/// Gregorian-calendar computation per sample.
std::string formatLocal(Micros local, int tzd) {
  using namespace std::chrono;
  const sys_days day = floor<days>(local);
  const year_month_day date(day);
  const hh_mm_ss<microseconds> time(local - day);
  // Digits written by hand: snprintf's format parsing cost more than Poco's calendar maths
  // (callgrind, docs/performance.md "Timestamps").
  char out[32];
  auto put = [&out](std::size_t at, unsigned value, std::size_t width) {
    for (std::size_t i = width; i-- > 0; value /= 10) out[at + i] = static_cast<char>('0' + value % 10);
  };
  put(0, static_cast<unsigned>(static_cast<int>(date.year())), 4);
  out[4] = '-';
  put(5, static_cast<unsigned>(date.month()), 2);
  out[7] = '-';
  put(8, static_cast<unsigned>(date.day()), 2);
  out[10] = 'T';
  put(11, static_cast<unsigned>(time.hours().count()), 2);
  out[13] = ':';
  put(14, static_cast<unsigned>(time.minutes().count()), 2);
  out[16] = ':';
  put(17, static_cast<unsigned>(time.seconds().count()), 2);
  std::size_t n = 19;
  const auto sub = time.subseconds().count();
  if (sub != 0) {
    out[n] = '.';
    put(n + 1, static_cast<unsigned>(sub / 1000), 3);
    n += 4;
  }
  const unsigned offset_minutes = static_cast<unsigned>(std::abs(tzd) / 60);
  out[n] = tzd < 0 ? '-' : '+';
  put(n + 1, offset_minutes / 60, 2);
  out[n + 3] = ':';
  put(n + 4, offset_minutes % 60, 2);
  return std::string(out, n + 6);
}

void mapSamples(const CollectionSpec& collection, std::size_t stream_index,
                const Poco::JSON::Object& doc, const std::vector<Value>& parent_keys,
                RowEmitter& out) {
  const StreamSchema& stream = collection.streams[stream_index];
  const SampleSeries& series = *stream.samples;
  Var value;
  if (!lookup(doc, series.json_path, value) || value.isEmpty()) return;
  if (value.type() != typeid(Poco::JSON::Object::Ptr)) {
    out.warn("field '" + series.json_path + "' is not a sample series; samples not stored");
    return;
  }
  const auto sample = value.extract<Poco::JSON::Object::Ptr>();
  Var interval_v = sample->get("interval");
  Var timestamp_v = sample->get("timestamp");
  Poco::JSON::Array::Ptr items = sample->getArray("items");
  Micros start;
  int tzd = 0;
  if (!interval_v.isNumeric() || !timestamp_v.isString() || !items ||
      !parseTimestamp(timestamp_v.extract<std::string>(), start, tzd)) {
    out.warn("field '" + series.json_path +
             "' lacks a numeric interval, a timestamp or items; samples not stored");
    return;
  }
  double interval = interval_v.convert<double>();
  if (!(interval > 0) || !std::isfinite(interval)) {
    out.warn("field '" + series.json_path + ".interval' is not positive; samples not stored");
    return;
  }
  // Child key columns copy the parent's key columns; then timestamp, then value.
  const std::string value_field = series.json_path + ".items";
  std::size_t i = 0;
  for (auto item = items->begin(); item != items->end(); ++item, ++i) {  // no copy of each Var
    Row row;
    row.reserve(parent_keys.size() + 2);
    row.insert(row.end(), parent_keys.begin(), parent_keys.end());
    const double offset_us = std::round(interval * static_cast<double>(i) * 1e6);
    row.push_back(formatLocal(start + std::chrono::microseconds(static_cast<std::int64_t>(offset_us)), tzd));
    row.push_back(convert(*item, series.value_type, value_field, out, static_cast<long>(i)));
    out.emit(stream_index, std::move(row));
  }
}

}  // namespace

void mapByPaths(const CollectionSpec& collection, const Poco::JSON::Object& doc,
                const std::string& raw, RowEmitter& out) {
  if (collection.streams.empty()) {
    throw MappingError("collection " + collection.name + " declares no stream");
  }
  const StreamSchema& parent = collection.streams[0];
  Row row;
  row.reserve(parent.columns.size());
  for (const Column& column : parent.columns) {
    if (column.json_path == "$") {
      row.push_back(raw);
      continue;
    }
    Var value;
    if (column.json_path.empty() || !lookup(doc, column.json_path, value)) {
      if (column.required && !column.known_absent) out.warn("required field '" + column.json_path + "' is absent");
      row.emplace_back();  // NULL (std::monostate); push_back(monostate{}) trips a GCC 12 -O3 false warning
      continue;
    }
    row.push_back(convert(value, column.type, column.json_path, out));
  }
  std::vector<Value> keys;
  for (const auto& key : parent.primary_key) {
    keys.push_back(row[parent.columnIndex(key)]);
    if (std::holds_alternative<std::monostate>(keys.back())) {
      throw MappingError("key field '" + key + "' is absent or null");
    }
  }
  out.emit(0, std::move(row));
  for (std::size_t s = 1; s < collection.streams.size(); ++s) {
    if (collection.streams[s].samples) mapSamples(collection, s, doc, keys, out);
  }
}

void EndpointPlugin::mapDocument(const CollectionSpec& collection, const Poco::JSON::Object& doc,
                                 const std::string& raw, RowEmitter& out) const {
  mapByPaths(collection, doc, raw, out);
}

StreamSchema sampleStream(const StreamSchema& parent, std::string name, std::string json_path,
                          ColumnType value_type, std::string value_description) {
  StreamSchema child;
  child.name = std::move(name);
  child.description = "samples of " + parent.name + "." + json_path + " (OpenAPI PublicSample)";
  for (const auto& key : parent.primary_key) {
    const Column& pk = parent.columns[parent.columnIndex(key)];
    Column column{parent.name + "_" + pk.name, pk.type, pk.json_path, true,
                  "key of the parent " + parent.name + " document (" + pk.name + ")"};
    child.primary_key.push_back(column.name);
    child.columns.push_back(std::move(column));
  }
  child.columns.push_back(Column{"timestamp", ColumnType::Timestamptz, "", true,
                                 "sample time: series timestamp + index * interval, in the "
                                 "document's own UTC offset"});
  child.columns.push_back(Column{"value", value_type, "", false, std::move(value_description)});
  child.primary_key.push_back("timestamp");
  child.samples = SampleSeries{std::move(json_path), value_type};
  return child;
}

}  // namespace oura::sdk

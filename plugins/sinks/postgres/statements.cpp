#include "statements.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <cstdint>
#include <regex>
#include <set>
#include <sstream>

#include "pg_connection.hpp"

namespace oura::plugins::postgres {

using sdk::Column;
using sdk::ColumnType;
using sdk::StreamSchema;

namespace {

std::string join(const std::vector<std::string>& parts, const std::string& separator) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i) out += separator;
    out += parts[i];
  }
  return out;
}

bool isKey(const StreamSchema& stream, const std::string& name) {
  for (const auto& k : stream.primary_key) {
    if (k == name) return true;
  }
  return false;
}

const Column& columnNamed(const StreamSchema& stream, const std::string& name) {
  try {
    return stream.columns[stream.columnIndex(name)];
  } catch (const std::out_of_range&) {
    throw std::invalid_argument("stream " + stream.name + " has no column " + name);
  }
}

std::vector<const Column*> keyColumns(const StreamSchema& stream) {
  std::vector<const Column*> out;
  for (const auto& k : stream.primary_key) out.push_back(&columnNamed(stream, k));
  return out;
}

// `k."a" = t."a" AND k."b" = t."b"`
std::string matchColumns(const std::vector<const Column*>& columns, const std::string& left,
                         const std::string& right) {
  std::vector<std::string> parts;
  for (const Column* c : columns) {
    parts.push_back(left + "." + quoteIdent(c->name) + " = " + right + "." + quoteIdent(c->name));
  }
  return join(parts, " AND ");
}

// `(t."a", t."b") NOT IN (SELECT k."a", k."b" FROM <source>)` with `source` aliased k: rows of
// `alias` whose key is not among the source's. NOT IN, not NOT EXISTS: PostgreSQL runs it as a
// hashed subplan (one hash of the keys) since the keys are estimated to fit in work_mem (a set
// function's 100 rows, a batch's staging table), whatever the estimate for the table's rows;
// NOT EXISTS became a nested-loop anti join (every key scanned per row: seconds for a 28-day
// heart-rate window) whenever the statistics did not cover the window's days yet, as in every
// backfill. The keys are primary-key values, never NULL (a NULL among them would make NOT IN
// mark or delete nothing).
std::string keyNotAmong(const std::vector<const Column*>& columns, const std::string& alias,
                        const std::string& source) {
  std::vector<std::string> mine, theirs;
  for (const Column* c : columns) {
    mine.push_back(alias + "." + quoteIdent(c->name));
    theirs.push_back("k." + quoteIdent(c->name));
  }
  return "(" + join(mine, ", ") + ") NOT IN (SELECT " + join(theirs, ", ") + " FROM " + source +
         ")";
}

}  // namespace

std::string tableName(const StreamSchema& stream) {
  return std::string(kSchema) + "." + quoteIdent(stream.name);
}

std::string recordDefinition(const std::vector<const Column*>& columns) {
  std::vector<std::string> parts;
  for (const Column* c : columns)
    parts.push_back(quoteIdent(c->name) + " " + sdk::toSqlType(c->type));
  return join(parts, ", ");
}

namespace {

// The upsert of `stream` from `source` (a FROM item aliased r), the account being `account`.
std::string upsertFrom(const StreamSchema& stream, bool document_stream, const std::string& account,
                       const std::string& source) {
  std::vector<std::string> names, selected, conflict{quoteIdent("account")}, set, current, incoming;
  for (const Column& c : stream.columns) {
    const std::string q = quoteIdent(c.name);
    names.push_back(q);
    selected.push_back("r." + q);
    if (!isKey(stream, c.name)) {
      set.push_back(q + " = EXCLUDED." + q);
      current.push_back("t." + q);
      incoming.push_back("EXCLUDED." + q);
    }
  }
  for (const Column* c : keyColumns(stream)) conflict.push_back(quoteIdent(c->name));
  if (document_stream) {
    set.push_back("\"deleted_at\" = NULL");
    current.push_back("t.\"deleted_at\"");
    incoming.push_back("NULL::timestamptz");
  }
  std::ostringstream sql;
  sql << "WITH upserted AS (INSERT INTO " << tableName(stream) << " AS t (\"account\", "
      << join(names, ", ") << ") SELECT " << account << ", " << join(selected, ", ") << " FROM "
      << source << " ON CONFLICT (" << join(conflict, ", ") << ") ";
  if (set.empty()) {
    sql << "DO NOTHING";
  } else {
    sql << "DO UPDATE SET " << join(set, ", ") << " WHERE (" << join(current, ", ")
        << ") IS DISTINCT FROM (" << join(incoming, ", ") << ")";
  }
  sql << " RETURNING (t.xmax = 0) AS inserted) SELECT count(*) FILTER (WHERE inserted), "
         "count(*) FILTER (WHERE NOT inserted) FROM upserted";
  return sql.str();
}

std::vector<const Column*> allColumns(const StreamSchema& stream) {
  std::vector<const Column*> all;
  for (const Column& c : stream.columns) all.push_back(&c);
  return all;
}

std::string columnNames(const StreamSchema& stream) {
  std::vector<std::string> names{quoteIdent("account")};
  for (const Column& c : stream.columns) names.push_back(quoteIdent(c.name));
  return join(names, ", ");
}

}  // namespace

std::string upsertSql(const StreamSchema& stream, bool document_stream) {
  return upsertFrom(
      stream, document_stream, "$2::text",
      "jsonb_to_recordset($1::jsonb) AS r(" + recordDefinition(allColumns(stream)) + ")");
}

std::string stagingTableName(const StreamSchema& stream) {
  std::string name = "oura_stage_" + stream.name;
  if (name.size() > 63) {
    std::uint64_t h = 14695981039346656037ull;  // FNV-1a 64
    for (unsigned char c : stream.name) {
      h ^= c;
      h *= 1099511628211ull;
    }
    std::ostringstream hex;
    hex << std::hex << h;
    name = "oura_stage_" + hex.str();
  }
  return "pg_temp." + quoteIdent(name);
}

std::string createStagingSql(const StreamSchema& stream) {
  return "CREATE TEMP TABLE IF NOT EXISTS " + stagingTableName(stream) + " (\"account\" text, " +
         recordDefinition(allColumns(stream)) + ") ON COMMIT DELETE ROWS";
}

std::string copyToStagingSql(const StreamSchema& stream) {
  return "COPY " + stagingTableName(stream) + " (" + columnNames(stream) + ") FROM STDIN";
}

std::string copyToTableSql(const StreamSchema& stream) {
  return "COPY " + tableName(stream) + " (" + columnNames(stream) + ") FROM STDIN";
}

std::string upsertFromStagingSql(const StreamSchema& stream, bool document_stream) {
  return upsertFrom(stream, document_stream, "r.\"account\"", stagingTableName(stream) + " AS r");
}

std::vector<const Column*> parentKeyColumns(const StreamSchema& child, const StreamSchema& parent) {
  const std::size_t n = parent.primary_key.size();
  if (child.primary_key.size() <= n) {
    throw std::invalid_argument("sample stream " + child.name +
                                ": its primary key must start "
                                "with the key of " +
                                parent.name + " and add at least one column");
  }
  std::vector<const Column*> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(&columnNamed(child, child.primary_key[i]));
  return out;
}

std::string deleteStaleChildrenSql(const StreamSchema& child, const StreamSchema& parent) {
  const std::vector<const Column*> parent_key = parentKeyColumns(child, parent);
  const std::vector<const Column*> child_key = keyColumns(child);
  std::ostringstream sql;
  sql << "DELETE FROM " << tableName(child) << " AS c USING jsonb_to_recordset($1::jsonb) AS p("
      << recordDefinition(parent_key) << ") WHERE c.\"account\" = $2::text AND "
      << matchColumns(parent_key, "c", "p") << " AND "
      << keyNotAmong(child_key, "c",
                     "jsonb_to_recordset($3::jsonb) AS k(" + recordDefinition(child_key) + ")");
  return sql.str();
}

std::string deleteStaleChildrenFromStagingSql(const StreamSchema& child,
                                              const StreamSchema& parent) {
  const std::vector<const Column*> parent_key = parentKeyColumns(child, parent);
  const std::vector<const Column*> child_key = keyColumns(child);
  std::ostringstream sql;
  sql << "DELETE FROM " << tableName(child) << " AS c USING jsonb_to_recordset($1::jsonb) AS p("
      << recordDefinition(parent_key) << ") WHERE c.\"account\" = $2::text AND "
      << matchColumns(parent_key, "c", "p") << " AND "
      << keyNotAmong(child_key, "c", stagingTableName(child) + " AS k");
  return sql.str();
}

std::string storedChildrenExistSql(const StreamSchema& child, const StreamSchema& parent) {
  const std::vector<const Column*> parent_key = parentKeyColumns(child, parent);
  std::ostringstream sql;
  sql << "SELECT EXISTS (SELECT 1 FROM " << tableName(child)
      << " AS c JOIN jsonb_to_recordset($1::jsonb) AS p(" << recordDefinition(parent_key) << ") ON "
      << matchColumns(parent_key, "c", "p") << " WHERE c.\"account\" = $2::text)";
  return sql.str();
}

std::optional<std::string> markDeletedSql(const sdk::CollectionSpec& collection, bool windowed) {
  const StreamSchema& stream = collection.streams.at(0);
  const std::vector<const Column*> key = keyColumns(stream);
  std::string window;
  if (windowed) {
    const Column* day = nullptr;
    for (const Column& c : stream.columns) {
      if (!collection.day_field.empty() && c.name == collection.day_field) day = &c;
    }
    if (day == nullptr) return std::nullopt;
    const std::string d = "t." + quoteIdent(day->name);
    const std::string first_text = "to_char($3::date, 'YYYY-MM-DD')";
    const std::string last_text = "to_char($4::date, 'YYYY-MM-DD')";
    switch (day->type) {
      case ColumnType::Date:
        window = " AND " + d + " BETWEEN $3::date AND $4::date";
        break;
      case ColumnType::Timestamptz: {
        const Column* raw = nullptr;
        for (const Column& c : stream.columns) {
          if (c.json_path == "$" && c.type == ColumnType::Jsonb) raw = &c;
        }
        static const std::regex plain_key("^[A-Za-z0-9_]+$");
        if (raw != nullptr && std::regex_match(collection.day_field, plain_key)) {
          // The day the document itself names (its own UTC offset), as the core keeps
          // documents in windows; the range on the column (one day wider on each side: UTC
          // offsets stay within 14 hours) lets the primary-key index narrow the scan.
          window = " AND " + d + " >= (($3::date - 1)::timestamp AT TIME ZONE 'UTC') AND " + d +
                   " < (($4::date + 2)::timestamp AT TIME ZONE 'UTC') AND left(t." +
                   quoteIdent(raw->name) + " ->> '" + collection.day_field + "', 10) BETWEEN " +
                   first_text + " AND " + last_text;
        } else {
          window = " AND (" + d + " AT TIME ZONE 'UTC')::date BETWEEN $3::date AND $4::date";
        }
        break;
      }
      case ColumnType::Text:
        window = " AND left(" + d + ", 10) BETWEEN " + first_text + " AND " + last_text;
        break;
      default:
        return std::nullopt;
    }
  }
  std::ostringstream sql;
  sql << "WITH marked AS (UPDATE " << tableName(stream)
      << " AS t SET \"deleted_at\" = now() WHERE t.\"account\" = $1::text AND t.\"deleted_at\" "
         "IS NULL"
      << window << " AND "
      << keyNotAmong(key, "t", "jsonb_to_recordset($2::jsonb) AS k(" + recordDefinition(key) + ")")
      << " RETURNING 1) SELECT count(*) FROM marked";
  return sql.str();
}

ReadRawSql readRawSql(const sdk::CollectionSpec& collection, int limit) {
  const StreamSchema& stream = collection.streams.at(0);
  const Column* raw = nullptr;
  for (const Column& c : stream.columns) {
    if (c.json_path == "$" && c.type == ColumnType::Jsonb) raw = &c;
  }
  if (raw == nullptr) {
    throw std::invalid_argument("stream " + stream.name +
                                " has no raw (jsonb, \"$\") column to read back");
  }
  std::vector<std::string> exprs, types;
  if (!collection.day_field.empty() && !isKey(stream, collection.day_field)) {
    for (const Column& c : stream.columns) {
      if (c.name != collection.day_field) continue;
      const std::string q = "t." + quoteIdent(c.name);
      if (c.type == ColumnType::Date || c.type == ColumnType::Timestamptz) {
        exprs.push_back("coalesce(" + q + ", '-infinity'::" + sdk::toSqlType(c.type) + ")");
        types.push_back(sdk::toSqlType(c.type));
      } else if (c.type == ColumnType::Text) {
        exprs.push_back("coalesce(" + q + ", '')");
        types.push_back("text");
      }
    }
  }
  for (const Column* c : keyColumns(stream)) {
    exprs.push_back("t." + quoteIdent(c->name));
    types.push_back(sdk::toSqlType(c->type));
  }
  std::vector<std::string> as_text, params;
  for (std::size_t i = 0; i < exprs.size(); ++i) {
    as_text.push_back("(" + exprs[i] + ")::text");
    params.push_back("$" + std::to_string(i + 2) + "::" + types[i]);
  }
  const std::string select = "SELECT t." + quoteIdent(raw->name) + "::text, " +
                             join(as_text, ", ") + " FROM " + tableName(stream) +
                             " AS t WHERE t.\"account\" = $1::text AND t.\"deleted_at\" IS NULL";
  const std::string tail = " ORDER BY " + join(exprs, ", ") + " LIMIT " + std::to_string(limit);
  return ReadRawSql{
      select + tail,
      select + " AND (" + join(exprs, ", ") + ") > (" + join(params, ", ") + ")" + tail,
      exprs.size()};
}

std::string castCheckSql(const StreamSchema& stream) {
  std::vector<const Column*> all;
  for (const Column& c : stream.columns) all.push_back(&c);
  return "SELECT count(*) FROM jsonb_to_recordset($1::jsonb) AS r(" + recordDefinition(all) + ")";
}

std::string expectedColumnsJson(const std::vector<const sdk::CollectionSpec*>& collections) {
  Poco::JSON::Array array;
  std::set<std::string> tables;
  auto add = [&](const std::string& table, const std::string& column, const std::string& type) {
    Poco::JSON::Object::Ptr o = new Poco::JSON::Object;
    o->set("tbl", table);
    o->set("col", column);
    o->set("typ", type);
    array.add(o);
  };
  for (const sdk::CollectionSpec* collection : collections) {
    for (std::size_t i = 0; i < collection->streams.size(); ++i) {
      const StreamSchema& stream = collection->streams[i];
      if (!tables.insert(stream.name).second) continue;
      add(stream.name, "account", "text");
      for (const Column& c : stream.columns) add(stream.name, c.name, sdk::toSqlType(c.type));
      if (i == 0) add(stream.name, "deleted_at", "timestamptz");
    }
  }
  add("sync_state", "account", "text");
  add("sync_state", "collection", "text");
  add("sync_state", "synced_through", "date");
  add("sync_state", "updated_at", "timestamptz");
  add("backfill_pending", "account", "text");
  add("backfill_pending", "collection", "text");
  add("backfill_pending", "first_day", "date");
  add("backfill_pending", "last_day", "date");
  std::ostringstream out;
  array.stringify(out);
  return out.str();
}

std::string schemaCheckSql() {
  return "SELECT e.tbl, e.col, e.typ, format_type(a.atttypid, a.atttypmod), c.oid IS NOT NULL "
         "FROM ROWS FROM (jsonb_to_recordset($1::jsonb) AS (tbl text, col text, typ text)) "
         "WITH ORDINALITY AS e(tbl, col, typ, ord) "
         "LEFT JOIN pg_catalog.pg_class c ON c.relname = e.tbl AND c.relkind IN ('r', 'p') AND "
         "c.relnamespace = (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname = "
         "'oura') "
         "LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attname = e.col AND "
         "a.attnum > 0 AND NOT a.attisdropped "
         "WHERE a.attname IS NULL OR a.atttypid IS DISTINCT FROM to_regtype(e.typ) "
         "ORDER BY e.ord";
}

}  // namespace oura::plugins::postgres

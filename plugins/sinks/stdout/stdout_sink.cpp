// The stdout sink: one JSON object per row per line (JSON Lines), for dry runs and pipes.
// Keys in a stable order: "stream", "account", then the stream's columns in schema order.
// jsonb columns (the raw document) are embedded as JSON values, not as strings.
#include "stdout_sink.hpp"

#include <oura_sdk/errors.hpp>

#include <Poco/Exception.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include <iostream>

namespace oura::plugins {

using namespace oura::sdk;

ConfigSchema StdoutSink::configSchema() {
  return {
      ConfigKey{"file", ConfigType::String, false, ConfigValue{std::string("-")},
                "where to write the JSON Lines: \"-\" for standard output, or a file path "
                "(created or truncated when the run starts)"},
      ConfigKey{"include_raw", ConfigType::Boolean, false, ConfigValue{true},
                "write the raw source document (the `raw` jsonb column) with each row"},
  };
}

StdoutSink::StdoutSink(const PluginContext& context)
    : logger_(context.logger),
      path_(context.config.getString("file")),
      include_raw_(context.config.getBool("include_raw")) {
  if (path_.empty()) throw ConfigError("file: must be \"-\" or a file path");
}

StdoutSink::~StdoutSink() = default;

void StdoutSink::open(const std::string&, const std::vector<const CollectionSpec*>&) {
  if (path_ == "-") {
    out_ = &std::cout;
    return;
  }
  file_.open(path_, std::ios::out | std::ios::trunc);
  if (!file_) throw Error("cannot open " + path_ + " for writing");
  out_ = &file_;
}

SinkOutcome StdoutSink::write(const SinkBatch& batch) {
  if (out_ == nullptr) open(batch.account, {});
  SinkOutcome outcome;
  Poco::JSON::Parser parser;
  for (const StreamRows& stream : batch.streams) {
    const StreamSchema& schema = *stream.schema;
    for (const Row& row : stream.rows) {
      Poco::JSON::Object line(Poco::JSON_PRESERVE_KEY_ORDER);
      line.set("stream", schema.name);
      line.set("account", batch.account);
      for (std::size_t i = 0; i < schema.columns.size() && i < row.size(); ++i) {
        const Column& column = schema.columns[i];
        if (!include_raw_ && column.json_path == "$") continue;
        const Value& value = row[i];
        Poco::Dynamic::Var var;
        if (const auto* s = std::get_if<std::string>(&value)) {
          if (column.type == ColumnType::Jsonb) {
            try {
              parser.reset();
              var = parser.parse(*s);
            } catch (const Poco::Exception& e) {
              outcome.status = SinkOutcome::Status::Failed;
              outcome.message = "stream " + schema.name + " column " + column.name +
                                " holds invalid JSON: " + e.displayText();
              return outcome;
            }
          } else {
            var = *s;
          }
        } else if (const auto* n = std::get_if<std::int64_t>(&value)) {
          var = static_cast<Poco::Int64>(*n);
        } else if (const auto* d = std::get_if<double>(&value)) {
          var = *d;
        } else if (const auto* b = std::get_if<bool>(&value)) {
          var = *b;
        }  // monostate stays an empty Var: JSON null
        line.set(column.name, var);
      }
      line.stringify(*out_);
      *out_ << '\n';
      ++outcome.inserted;
    }
  }
  out_->flush();
  if (!*out_) {
    outcome.status = SinkOutcome::Status::Failed;
    outcome.message = "writing to " + (path_ == "-" ? std::string("standard output") : path_) +
                      " failed";
  }
  return outcome;
}

void StdoutSink::close() {
  if (out_ != nullptr) out_->flush();
  if (file_.is_open()) file_.close();
}

}  // namespace oura::plugins

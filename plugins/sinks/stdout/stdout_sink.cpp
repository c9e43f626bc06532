// The stdout sink: one JSON object per row per line (JSON Lines), for dry runs and pipes.
// Keys in a stable order: "stream", "account", then the stream's columns in schema order.
// jsonb columns (the raw document) are embedded as JSON values, not as strings.
#include "stdout_sink.hpp"

#include <oura_sdk/errors.hpp>

#include <Poco/Exception.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <sstream>

namespace oura::plugins {

using namespace oura::sdk;

ConfigSchema StdoutSink::configSchema() {
  return {
      ConfigKey{"file", ConfigType::String, false, ConfigValue{std::string("-")},
                "where to write the JSON Lines: \"-\" for standard output, or a file path (a "
                "regular file; symbolic links and other kinds of file are refused)"},
      ConfigKey{"mode", ConfigType::String, false, ConfigValue{std::string("replace")},
                "\"replace\": write a new file beside `file` and rename it over `file` when "
                "the run ends (readers see the old or the new file, never half of it); "
                "\"append\": add each batch to the end of `file` with one write"},
      ConfigKey{"permissions", ConfigType::String, false, ConfigValue{std::string("0600")},
                "the mode (octal) of a file the sink creates"},
      ConfigKey{"include_raw", ConfigType::Boolean, false, ConfigValue{true},
                "write the raw source document (the `raw` jsonb column) with each row"},
  };
}

StdoutSink::StdoutSink(const PluginContext& context)
    : logger_(context.logger),
      path_(context.config.getString("file")),
      include_raw_(context.config.getBool("include_raw")) {
  if (path_.empty()) throw ConfigError("file: must be \"-\" or a file path");
  if (context.config.has("mode")) {
    const std::string& mode = context.config.getString("mode");
    if (mode != "replace" && mode != "append") {
      throw ConfigError("mode: must be \"replace\" or \"append\", not \"" + mode + "\"");
    }
    append_ = mode == "append";
  }
  if (context.config.has("permissions")) {
    const std::string& text = context.config.getString("permissions");
    char* end = nullptr;
    const long value = text.empty() ? -1 : std::strtol(text.c_str(), &end, 8);
    if (value < 0 || value > 0777 || (end && *end != '\0')) {
      throw ConfigError("permissions: must be an octal file mode such as \"0600\", not \"" +
                        text + "\"");
    }
    permissions_ = static_cast<unsigned>(value);
  }
}

StdoutSink::~StdoutSink() {
  if (fd_ >= 0) ::close(fd_);
  if (!temp_path_.empty()) ::unlink(temp_path_.c_str());  // never renamed: the run did not end
}

namespace {

std::string errnoText() { return std::strerror(errno); }

// Refuses `path` when it exists and is not a regular file (a symbolic link, a device, a FIFO).
void requireRegularOrAbsent(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    throw Error("cannot check " + path + ": " + errnoText());
  }
  if (S_ISLNK(st.st_mode)) throw Error("refusing to write " + path + ": it is a symbolic link");
  if (!S_ISREG(st.st_mode)) throw Error("refusing to write " + path + ": not a regular file");
}

}  // namespace

void StdoutSink::open(const std::string&, const std::vector<const CollectionSpec*>&) {
  if (path_ == "-") {
    out_ = &std::cout;
    return;
  }
  if (fd_ >= 0) return;
  requireRegularOrAbsent(path_);
  if (append_) {
    // O_NOFOLLOW: a symbolic link put in place after the check is refused by the kernel.
    fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
                 permissions_);
    if (fd_ < 0) throw Error("cannot open " + path_ + " for appending: " + errnoText());
  } else {
    // A new file beside the target (same file system, so rename() is atomic).
    const std::filesystem::path target(path_);
    std::string name = (target.parent_path() / ("." + target.filename().string() + ".XXXXXX"))
                           .string();
    fd_ = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd_ < 0) throw Error("cannot create a file beside " + path_ + ": " + errnoText());
    temp_path_ = name;
    if (::fchmod(fd_, permissions_) != 0) throw Error("cannot set the mode of " + name + ": " + errnoText());
  }
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd_);
    fd_ = -1;
    throw Error("refusing to write " + path_ + ": not a regular file");
  }
  out_ = &buffer_;
}

bool StdoutSink::flushToFile() {
  const std::string data = buffer_.str();
  buffer_.str({});
  buffer_.clear();
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
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
  if (fd_ >= 0 && !flushToFile()) {
    outcome.status = SinkOutcome::Status::Failed;
    outcome.message = "writing to " + path_ + " failed: " + errnoText();
    return outcome;
  }
  if (!*out_) {
    outcome.status = SinkOutcome::Status::Failed;
    outcome.message = "writing to " + (path_ == "-" ? std::string("standard output") : path_) +
                      " failed";
  }
  return outcome;
}

void StdoutSink::close() {
  if (out_ != nullptr) out_->flush();
  if (fd_ < 0) return;
  const bool written = flushToFile() && ::fsync(fd_) == 0;
  const std::string failure = written ? std::string() : errnoText();
  ::close(fd_);
  fd_ = -1;
  out_ = nullptr;
  if (temp_path_.empty()) {
    if (!written) throw Error("writing to " + path_ + " failed: " + failure);
    return;
  }
  const std::string temp = std::move(temp_path_);
  temp_path_.clear();
  if (!written) {
    ::unlink(temp.c_str());
    throw Error("writing to " + path_ + " failed: " + failure);
  }
  // rename() replaces a symbolic link itself, never its target; a folder or device in the way
  // makes it fail.
  requireRegularOrAbsent(path_);
  if (::rename(temp.c_str(), path_.c_str()) != 0) {
    const std::string why = errnoText();
    ::unlink(temp.c_str());
    throw Error("cannot replace " + path_ + ": " + why);
  }
}

}  // namespace oura::plugins

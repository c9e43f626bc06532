#include "cli/logging.hpp"

#include "cli/output.hpp"

#include <Poco/AutoPtr.h>
#include <Poco/Channel.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/Environment.h>
#include <Poco/JSON/Object.h>
#include <Poco/NumberParser.h>
#include <Poco/String.h>

#include <atomic>
#include <iostream>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include <sys/stat.h>
#include <unistd.h>

namespace oura::core {

namespace {

LogFormat g_format = LogFormat::Text;
std::atomic<bool> g_silence_on_closed_stdout{false};

const char* levelWord(Poco::Message::Priority priority) {
  switch (priority) {
    case Poco::Message::PRIO_FATAL: return "fatal";
    case Poco::Message::PRIO_CRITICAL: return "critical";
    case Poco::Message::PRIO_ERROR: return "error";
    case Poco::Message::PRIO_WARNING: return "warning";
    case Poco::Message::PRIO_NOTICE: return "notice";
    case Poco::Message::PRIO_INFORMATION: return "info";
    case Poco::Message::PRIO_DEBUG: return "debug";
    case Poco::Message::PRIO_TRACE: return "trace";
  }
  return "info";
}

// syslog(3) priorities: crit 2, err 3, warning 4, notice 5, info 6, debug 7.
int syslogPriority(Poco::Message::Priority priority) {
  switch (priority) {
    case Poco::Message::PRIO_FATAL:
    case Poco::Message::PRIO_CRITICAL: return 2;
    case Poco::Message::PRIO_ERROR: return 3;
    case Poco::Message::PRIO_WARNING: return 4;
    case Poco::Message::PRIO_NOTICE: return 5;
    case Poco::Message::PRIO_INFORMATION: return 6;
    default: return 7;
  }
}

bool allDigits(const std::string& text) {
  return !text.empty() && text.size() < 19 &&
         text.find_first_not_of("0123456789") == std::string::npos;
}

class StderrChannel : public Poco::Channel {
 public:
  StderrChannel(LogFormat format, bool terminal, bool journal)
      : format_(format), terminal_(terminal), journal_(journal) {}
  void log(const Poco::Message& message) override {
    if (g_silence_on_closed_stdout && stdoutClosed()) return;
    const std::string line = formatLogLine(message, format_, journal_);
    std::lock_guard lock(mutex_);
    // On a terminal, a progress line being redrawn (cli/progress.hpp) is cleared first.
    if (terminal_ && format_ == LogFormat::Text) std::cerr << "\r\033[K";
    std::cerr << line << std::endl;
  }

 private:
  const LogFormat format_;
  const bool terminal_;
  const bool journal_;
  std::mutex mutex_;
};

}  // namespace

LogFormat parseLogFormat(const std::string& name, const std::string& where) {
  const std::string lower = Poco::toLower(name);
  if (lower == "text") return LogFormat::Text;
  if (lower == "json") return LogFormat::Json;
  throw std::invalid_argument(where + ": unknown log format '" + name + "'; use text or json");
}

const char* logLevelNames() {
  return "trace, debug, info, notice, warning, error, critical, fatal (also information, warn, "
         "err, crit)";
}

Poco::Message::Priority parseLogLevel(const std::string& name, const std::string& where) {
  const std::string l = Poco::toLower(name);
  if (l == "trace") return Poco::Message::PRIO_TRACE;
  if (l == "debug") return Poco::Message::PRIO_DEBUG;
  if (l == "info" || l == "information") return Poco::Message::PRIO_INFORMATION;
  if (l == "notice") return Poco::Message::PRIO_NOTICE;
  if (l == "warn" || l == "warning") return Poco::Message::PRIO_WARNING;
  if (l == "error" || l == "err") return Poco::Message::PRIO_ERROR;
  if (l == "critical" || l == "crit") return Poco::Message::PRIO_CRITICAL;
  if (l == "fatal") return Poco::Message::PRIO_FATAL;
  throw std::invalid_argument(where + ": unknown level '" + name + "'; use one of " +
                              logLevelNames());
}

bool stderrIsJournal() {
  const std::string stream = Poco::Environment::get("JOURNAL_STREAM", "");
  const std::size_t colon = stream.find(':');
  if (colon == std::string::npos) return false;
  Poco::UInt64 device = 0, inode = 0;
  if (!Poco::NumberParser::tryParseUnsigned64(stream.substr(0, colon), device) ||
      !Poco::NumberParser::tryParseUnsigned64(stream.substr(colon + 1), inode)) {
    return false;
  }
  struct stat st {};
  if (::fstat(STDERR_FILENO, &st) != 0) return false;
  return static_cast<Poco::UInt64>(st.st_dev) == device &&
         static_cast<Poco::UInt64>(st.st_ino) == inode;
}

std::string formatLogLine(const Poco::Message& message, LogFormat format, bool journal) {
  std::string line;
  if (journal) line = "<" + std::to_string(syslogPriority(message.getPriority())) + ">";
  const std::string time =
      Poco::DateTimeFormatter::format(message.getTime(), "%Y-%m-%dT%H:%M:%S.%iZ");
  if (format == LogFormat::Text) {
    // The journal stamps every line itself.
    if (!journal) line += time + " ";
    line += std::string(levelWord(message.getPriority())) + " " + message.getSource() + ": " +
            message.getText();
    return line;
  }
  Poco::JSON::Object o(Poco::JSON_PRESERVE_KEY_ORDER);
  o.set("time", time);
  o.set("level", std::string(levelWord(message.getPriority())));
  o.set("logger", message.getSource());
  o.set("message", message.getText());
  for (const char* field : kLogFields) {
    if (!message.has(field)) continue;
    const std::string& value = message.get(field);
    if (allDigits(value)) o.set(field, Poco::NumberParser::parseUnsigned64(value));
    else o.set(field, value);
  }
  std::ostringstream out;
  o.stringify(out);  // one line: control characters are escaped
  return line + out.str();
}

void configureLogging(LogFormat format, Poco::Message::Priority level, bool terminal, bool journal) {
  g_format = format;
  Poco::AutoPtr<Poco::Channel> channel(new StderrChannel(format, terminal, journal));
  Poco::Logger::setChannel("", channel);
  Poco::Logger::setLevel("", level);
}

LogFormat currentLogFormat() { return g_format; }

void silenceWhenStdoutCloses(bool on) { g_silence_on_closed_stdout = on; }

void logWith(Poco::Logger& logger, Poco::Message::Priority priority, const std::string& text,
             std::initializer_list<std::pair<const char*, std::string>> fields) {
  if (!logger.is(priority)) return;
  Poco::Message message(logger.name(), text, priority);
  for (const auto& [name, value] : fields) message.set(name, value);
  logger.log(message);
}

}  // namespace oura::core

#pragma once
// Where log lines go and how they look (docs/operations.md "Logs"): plain text or JSON Lines on
// stderr; RFC 3339 UTC times with `Z`; a syslog priority prefix (`<3>`) per line when stderr is
// the systemd journal ($JOURNAL_STREAM names stderr), so that `journalctl -p warning` works.
// Structured fields travel as Poco::Message parameters (logWith()); the JSON format writes the
// known ones as keys, the text format leaves them in the sentence.

#include <Poco/Logger.h>
#include <Poco/Message.h>

#include <initializer_list>
#include <string>
#include <utility>

namespace oura::core {

enum class LogFormat { Text, Json };

// "text" or "json"; throws std::invalid_argument naming the accepted values.
LogFormat parseLogFormat(const std::string& name, const std::string& where);
// Every level name a user may type: trace, debug, info/information, notice, warn/warning,
// error/err, critical/crit, fatal (any case). Throws std::invalid_argument listing them.
Poco::Message::Priority parseLogLevel(const std::string& name, const std::string& where);
// The names parseLogLevel accepts, for help and errors.
const char* logLevelNames();

// The structured fields a log line may carry (JSON keys, in this order).
inline constexpr const char* kLogFields[] = {"collection", "window",   "account", "requests",
                                             "retries",    "documents", "rows",   "inserted",
                                             "updated",    "warnings", "outcome", "exit_code"};

// True when stderr is the systemd journal: $JOURNAL_STREAM is "device:inode" of fd 2.
bool stderrIsJournal();

// Installs the root channel: `format` on stderr, `terminal` clears a progress line first,
// `journal` prefixes each line with its syslog priority.
void configureLogging(LogFormat format, Poco::Message::Priority level, bool terminal, bool journal);
// The format in use (configureLogging's last call).
LogFormat currentLogFormat();

// One log line with structured fields (values as text; digits-only values become JSON numbers).
void logWith(Poco::Logger& logger, Poco::Message::Priority priority, const std::string& text,
             std::initializer_list<std::pair<const char*, std::string>> fields);

// While set (a dry run writing rows to stdout), log lines are dropped once standard output is
// closed: the reader went away (`| head`), and the run stops quietly (cli/output.hpp).
void silenceWhenStdoutCloses(bool on);

// The line a message becomes (without the newline): for tests and the channel.
std::string formatLogLine(const Poco::Message& message, LogFormat format, bool journal);

}  // namespace oura::core

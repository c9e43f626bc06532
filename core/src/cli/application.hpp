#pragma once
// The oura-collector program (a Poco::Util::Application): options, subcommands, logging and the
// mapping of every error to DESIGN.md's exit codes.

#include "cli/metrics.hpp"
#include "config/manifest.hpp"
#include "sync/scrape.hpp"

#include <Poco/Util/Application.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace oura::core {

class CollectorApplication : public Poco::Util::Application {
 public:
  // `stop` is set by the signal handler installed in main().
  // It is also set when a dry run's standard output is closed (cli/output.hpp).
  explicit CollectorApplication(std::atomic<bool>& stop);

  // Parses the command line and runs the command; returns the process exit code. Never throws.
  int runCommandLine(int argc, char** argv);

 protected:
  void defineOptions(Poco::Util::OptionSet& options) override;
  void handleOption(const std::string& name, const std::string& value) override;
  int main(const std::vector<std::string>& args) override;

 private:
  int dispatch(const std::vector<std::string>& args);
  // dispatch() with every exception mapped to its exit code; `error` gets the message printed.
  int runCommand(const std::vector<std::string>& args, std::string& error);
  void writeSummaryJson(const std::string& command, std::int64_t started_ms, int code,
                        const std::string& error);
  int finishRun(Runtime& runtime, const RunSummary& summary, const std::string& command);
  int commandScrape(const std::vector<std::string>& args);
  int commandRun(const std::vector<std::string>& args);
  int commandCheckConfig(const std::vector<std::string>& args);
  int commandPlugins(const std::vector<std::string>& args);
  int commandInitDb(const std::vector<std::string>& args);
  int commandPurge(const std::vector<std::string>& args);
  int commandReprocess(const std::vector<std::string>& args);
  int commandStatus(const std::vector<std::string>& args);
  int commandReport(const std::vector<std::string>& args);
  std::string manifestPath() const;
  void setUpLogging();
  // Applies the manifest's collector.log_format unless --log-format was given.
  void applyManifestLogging(const Manifest& manifest);
  Manifest loadManifestFor(const std::string& path);
  // --metrics-file and --pushgateway at the end of a scrape or reprocess.
  void writeMetrics(const std::string& command, std::int64_t started_ms, int code);
  // `help [COMMAND]`, `COMMAND --help`.
  int commandHelp(const std::vector<std::string>& words);
  // 64 when an option given is not global nor `command`'s.
  void checkOptions(const std::vector<std::string>& words) const;

  std::atomic<bool>& stop_;
  bool help_ = false;
  bool version_ = false;
  bool dry_run_ = false;
  std::optional<std::string> config_;
  std::optional<int> days_;
  std::optional<std::string> summary_json_;  // --summary-json FILE
  std::optional<RunSummary> last_summary_;   // of scrape/reprocess, for --summary-json
  std::optional<std::string> since_;
  std::optional<std::string> until_;
  std::vector<std::string> collections_;
  std::optional<std::string> output_;   // report --output
  std::optional<std::string> account_;  // purge --account, status --account
  bool yes_ = false;                    // purge --yes
  bool rejected_ = false;               // reprocess --rejected
  bool no_listen_ = false;              // auth login --no-listen
  std::optional<std::string> log_level_;   // --log-level
  std::optional<std::string> log_format_;  // --log-format
  bool quiet_ = false;                     // --quiet
  bool summary_ = false;                   // --summary
  std::optional<std::string> metrics_file_;  // --metrics-file
  std::optional<std::string> pushgateway_;   // --pushgateway
  std::optional<std::string> format_;        // status --format
  std::optional<std::string> max_age_;       // status --max-age
  std::vector<std::string> given_options_;   // long names, in order
  // What the metrics need beyond the summary, gathered by scrape/reprocess after the run (sync
  // state, token store); `account` is set as soon as the manifest is read.
  RunMetrics metrics_;
  // After the run: the sinks' sync state and the token store, into metrics_.
  void gatherMetrics(Runtime& runtime);
  bool stdout_closed_ = false;
  std::optional<std::chrono::seconds> every_;   // run --every
  std::optional<std::chrono::seconds> jitter_;  // run --jitter
  bool options_checked_ = false;  // set by `run`: its scrapes skip the per-command option check
};

}  // namespace oura::core

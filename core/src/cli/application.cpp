#include "cli/application.hpp"

#include "cli/atomic_file.hpp"
#include "cli/report_command.hpp"

#include "http/rate_limiter.hpp"

#include "auth/auth_commands.hpp"
#include "sync/days.hpp"
#include "cli/exit_codes.hpp"
#include "cli/help.hpp"
#include "cli/logging.hpp"
#include "cli/metrics.hpp"
#include "cli/output.hpp"
#include "cli/status_report.hpp"
#include "plugin_host/loader.hpp"
#include "config/manifest.hpp"
#include "schema/migrations.hpp"
#include "cli/progress.hpp"
#include "sync/run_log.hpp"
#include "plugin_host/runtime.hpp"
#include "config/api_settings.hpp"
#include "schema/schema_check.hpp"
#include "sync/reprocess.hpp"
#include "sync/scrape.hpp"
#include "sync/sink_writer.hpp"
#include "auth/token_provider.hpp"
#include "cli/run_command.hpp"

#include <oura_sdk/endpoint.hpp>
#include <oura_sdk/errors.hpp>
#include <oura_sdk/token_store.hpp>
#include <oura_sdk/version.hpp>

#include <Poco/AutoPtr.h>
#include <Poco/Channel.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/Environment.h>
#include <Poco/FormattingChannel.h>
#include <Poco/Logger.h>
#include <Poco/Message.h>
#include <Poco/NumberParser.h>
#include <Poco/PatternFormatter.h>
#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/Option.h>
#include <Poco/Util/OptionException.h>
#include <Poco/Timestamp.h>
#include <Poco/Util/OptionSet.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include <sys/stat.h>
#include <unistd.h>

namespace oura::core {

namespace {

constexpr const char* kDefaultManifest = "/etc/oura-collector/oura-collector.toml";

std::string describeDefault(const sdk::ConfigKey& key) {
  if (!key.default_value) return key.required ? "(required)" : "(unset)";
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        std::ostringstream out;
        if constexpr (std::is_same_v<T, std::string>) {
          out << '"' << v << '"';
        } else if constexpr (std::is_same_v<T, bool>) {
          out << (v ? "true" : "false");
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          out << '[';
          for (std::size_t i = 0; i < v.size(); ++i) out << (i ? ", " : "") << '"' << v[i] << '"';
          out << ']';
        } else {
          out << v;
        }
        return out.str();
      },
      *key.default_value);
}

// The manifest with the environment overrides applied (docs/manifest.md, "Environment").
Manifest loadEffectiveManifest(const std::string& path) {
  Manifest manifest = loadManifest(path);
  const std::string oauth_base = Poco::Environment::get("OURA_OAUTH_BASE_URL", "");
  if (!oauth_base.empty() && manifest.oauth) applyOAuthBaseUrl(*manifest.oauth, oauth_base);
  const std::string base_url = Poco::Environment::get("OURA_API_BASE_URL", "");
  if (!base_url.empty()) {
    manifest.http.base_url = base_url;
    manifest.base_url_from_environment = true;
  }
  // OURA_SCRAPE_DAYS: the window of a run without sync state (the name existing deployments
  // of this job use); it overrides collector.days, and --days overrides it.
  const std::string days = Poco::Environment::get("OURA_SCRAPE_DAYS", "");
  if (!days.empty()) {
    int value = 0;
    if (!Poco::NumberParser::tryParse(days, value) || value < 1) {
      throw sdk::ConfigError("environment variable OURA_SCRAPE_DAYS: expected a whole number of "
                             "days >= 1, not '" + days + "'");
    }
    manifest.days = value;
  }
  return manifest;
}

// An endpoint plugin instance with its default configuration, to list what it serves.
std::shared_ptr<sdk::EndpointPlugin> defaultEndpoint(PluginLoader& loader, const LoadedPlugin& p,
                                                     std::string& problem) {
  PluginInstance instance;
  instance.kind = sdk::PluginKind::Endpoint;
  instance.plugin = p.descriptor->name;
  instance.name = p.descriptor->name;
  instance.where = p.file;
  try {
    return instantiate<sdk::EndpointPlugin>(loader, p, instance, p.file, p.descriptor->name);
  } catch (const std::exception& e) {
    problem = e.what();
    return nullptr;
  }
}

}  // namespace

CollectorApplication::CollectorApplication(std::atomic<bool>& stop) : stop_(stop) {
  setUnixOptions(true);
}

void CollectorApplication::defineOptions(Poco::Util::OptionSet& options) {
  Poco::Util::Application::defineOptions(options);
  // From the one table of options (cli/help.hpp): help, completion and this never disagree.
  for (const OptionInfo& o : allOptions()) {
    Poco::Util::Option option(o.name, o.short_name, o.description);
    if (*o.argument) option.argument(o.argument);
    option.repeatable(o.repeatable);
    options.addOption(option);
  }
}

void CollectorApplication::handleOption(const std::string& name, const std::string& value) {
  Poco::Util::Application::handleOption(name, value);
  given_options_.push_back(name);
  if (name == "help") {
    help_ = true;
    stopOptionsProcessing();
  } else if (name == "version") {
    version_ = true;
  } else if (name == "config") {
    config_ = value;
  } else if (name == "dry-run") {
    dry_run_ = true;
  } else if (name == "days") {
    int days = 0;
    if (!Poco::NumberParser::tryParse(value, days) || days < 1) {
      throw Poco::Util::InvalidArgumentException("--days takes a whole number of days >= 1, not '" +
                                                 value + "'");
    }
    days_ = days;
  } else if (name == "since") {
    since_ = value;
  } else if (name == "until") {
    until_ = value;
  } else if (name == "account") {
    account_ = value;
  } else if (name == "output") {
    output_ = value;
  } else if (name == "yes") {
    yes_ = true;
  } else if (name == "rejected") {
    rejected_ = true;
  } else if (name == "no-listen") {
    no_listen_ = true;
  } else if (name == "collections") {
    collections_.push_back(value);
  } else if (name == "every" || name == "jitter") {
    const std::optional<std::chrono::seconds> duration =
        value == "0" || value == "0s" ? std::chrono::seconds(0) : parseDuration(value);
    if (!duration || (name == "every" && duration->count() == 0)) {
      throw Poco::Util::InvalidArgumentException(
          "--" + name + " takes a duration such as 90s, 30m, 1h or 1d, not '" + value + "'");
    }
    (name == "every" ? every_ : jitter_) = duration;
  } else if (name == "summary-json") {
    summary_json_ = value;
  } else if (name == "log-level") {
    try {
      parseLogLevel(value, "--log-level");
    } catch (const std::invalid_argument& e) {
      throw Poco::Util::InvalidArgumentException(e.what());
    }
    log_level_ = value;
  } else if (name == "log-format") {
    try {
      parseLogFormat(value, "--log-format");
    } catch (const std::invalid_argument& e) {
      throw Poco::Util::InvalidArgumentException(e.what());
    }
    log_format_ = value;
  } else if (name == "quiet") {
    quiet_ = true;
  } else if (name == "summary") {
    summary_ = true;
  } else if (name == "metrics-file") {
    metrics_file_ = value;
  } else if (name == "pushgateway") {
    try {
      checkPushgatewayUrl(value);
    } catch (const std::invalid_argument& e) {
      throw Poco::Util::InvalidArgumentException(e.what());
    }
    pushgateway_ = value;
  } else if (name == "format") {
    if (value != "table" && value != "json") {
      throw Poco::Util::InvalidArgumentException("--format: unknown format '" + value +
                                                 "'; use table or json");
    }
    format_ = value;
  } else if (name == "max-age") {
    try {
      parseMaxAge(value);
    } catch (const std::invalid_argument& e) {
      throw Poco::Util::InvalidArgumentException(e.what());
    }
    max_age_ = value;
  }
}

int CollectorApplication::runCommandLine(int argc, char** argv) {
  try {
    init(argc, argv);
  } catch (const Poco::Util::OptionException& e) {
    std::cerr << "oura-collector: " << e.displayText() << "\nTry 'oura-collector --help'.\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "oura-collector: " << e.what() << "\n";
    return kExitUsage;
  }
  return run();
}

void CollectorApplication::setUpLogging() {
  Poco::Message::Priority level = Poco::Message::PRIO_INFORMATION;
  if (log_level_) level = parseLogLevel(*log_level_, "--log-level");
  else if (quiet_) level = Poco::Message::PRIO_WARNING;  // --quiet: only problems
  const LogFormat format = log_format_ ? parseLogFormat(*log_format_, "--log-format") : LogFormat::Text;
  configureLogging(format, level, Progress::stderrIsTerminal(), stderrIsJournal());
}

void CollectorApplication::applyManifestLogging(const Manifest& manifest) {
  if (log_format_ || !manifest.log_format) return;
  const Poco::Message::Priority level =
      static_cast<Poco::Message::Priority>(Poco::Logger::root().getLevel());
  configureLogging(parseLogFormat(*manifest.log_format, manifest.file + ": collector.log_format"),
                   level, Progress::stderrIsTerminal(), stderrIsJournal());
}

Manifest CollectorApplication::loadManifestFor(const std::string& path) {
  Manifest manifest = loadEffectiveManifest(path);
  applyManifestLogging(manifest);
  metrics_.account = manifest.account;
  return manifest;
}

int CollectorApplication::main(const std::vector<std::string>& args) {
  const std::int64_t started_ms = Poco::Timestamp().epochMicroseconds() / 1000;
  const bool summarised =
      !args.empty() && (args[0] == "scrape" || args[0] == "reprocess" || args[0] == "run");
  if (summary_json_) {
    // Checked before the run, so that an hour's backfill does not end without its summary.
    if (!summarised) {
      std::cerr << "oura-collector: --summary-json is an option of scrape, run and reprocess\n";
      return kExitUsage;
    }
    const std::filesystem::path target(*summary_json_);
    const std::filesystem::path folder =
        target.parent_path().empty() ? std::filesystem::path(".") : target.parent_path();
    std::error_code ec;
    if (!std::filesystem::is_directory(folder, ec) ||
        ::access(folder.c_str(), W_OK | X_OK) != 0 || std::filesystem::is_directory(target, ec)) {
      std::cerr << "oura-collector: --summary-json " << *summary_json_
                << ": the folder must exist and be writable, and the file must not be a folder\n";
      return kExitUsage;
    }
  }
  for (const auto& [option, value] : {std::pair{"--metrics-file", metrics_file_},
                                      std::pair{"--pushgateway", pushgateway_}}) {
    if (value && !summarised) {
      std::cerr << "oura-collector: " << option << " is an option of scrape, run and reprocess\n";
      return kExitUsage;
    }
  }
  if (metrics_file_) {
    const std::filesystem::path target(*metrics_file_);
    const std::filesystem::path folder =
        target.parent_path().empty() ? std::filesystem::path(".") : target.parent_path();
    std::error_code ec;
    if (!std::filesystem::is_directory(folder, ec) ||
        ::access(folder.c_str(), W_OK | X_OK) != 0 || std::filesystem::is_directory(target, ec)) {
      std::cerr << "oura-collector: --metrics-file " << *metrics_file_
                << ": the folder must exist and be writable, and the file must not be a folder\n";
      return kExitUsage;
    }
  }
  std::string error;
  int code = runCommand(args, error);
  // A closed standard output (`scrape --dry-run | head`): the reader has what it wanted; the run
  // stopped before anything new started and keeps no state for what it could not write. Exit 0
  // quietly, as head(1) users expect (with SIGPIPE ignored, the 141 of a killed writer would make
  // `set -o pipefail` scripts fail for a reader's choice).
  if (stdout_closed_) code = kExitOk;
  // run writes them after every scrape (commandRun).
  if (summary_json_ && args[0] != "run") writeSummaryJson(args[0], started_ms, code, error);
  if (summarised && args[0] != "run" && (metrics_file_ || pushgateway_)) {
    writeMetrics(args[0], started_ms, code);
  }
  return code;
}

void CollectorApplication::gatherMetrics(Runtime& rt) {
  metrics_.account = rt.manifest.account;
  for (SinkInstance& sink : rt.sinks) {
    try {
      std::lock_guard lock(*sink.mutex);
      const auto status = sink.plugin->status(rt.manifest.account);
      if (!status) continue;
      for (const sdk::CollectionStatus& s : *status) {
        if (!s.synced_through) continue;
        // With several sinks, the earliest day is what all of them hold.
        auto [it, added] = metrics_.synced_through.try_emplace(s.collection, *s.synced_through);
        if (!added && *s.synced_through < it->second) it->second = *s.synced_through;
      }
    } catch (const std::exception& e) {
      Poco::Logger::get("oura.metrics")
          .warning("sink " + sink.name + ": cannot read the sync state for the metrics: " + e.what());
    }
  }
  try {
    metrics_.tokens = rt.token_store->load();
  } catch (const std::exception& e) {
    Poco::Logger::get("oura.metrics")
        .warning(std::string("cannot read the token store for the metrics: ") + e.what());
  }
}

void CollectorApplication::writeMetrics(const std::string& command, std::int64_t started_ms,
                                        int code) {
  RunMetrics& m = metrics_;
  m.command = command;
  m.exit_code = code;
  m.started_at = static_cast<double>(started_ms) / 1000.0;
  m.finished_at = static_cast<double>(Poco::Timestamp().epochMicroseconds() / 1000) / 1000.0;
  m.summary = last_summary_ ? &*last_summary_ : nullptr;
  // The last success of a collection that did not end ok this time: the previous file's value.
  if (metrics_file_) {
    std::ifstream previous(*metrics_file_);
    std::stringstream text;
    text << previous.rdbuf();
    m.last_success = previousSuccesses(text.str());
  }
  if (m.summary) {
    for (const CollectionSummary& c : m.summary->collections) {
      if (c.outcome == Outcome::Ok) m.last_success[c.collection] = m.finished_at;
    }
  }
  const std::string text = renderMetrics(m);
  if (metrics_file_) {
    try {
      writeMetricsFile(*metrics_file_, text);
    } catch (const std::exception& e) {
      std::cerr << "oura-collector: " << e.what() << "\n";
    }
  }
  if (pushgateway_) {
    try {
      pushMetrics(*pushgateway_, m.account, command, text);
    } catch (const std::exception& e) {
      std::cerr << "oura-collector: " << e.what() << "\n";
    }
  }
}

int CollectorApplication::runCommand(const std::vector<std::string>& args, std::string& error) {
  auto fail = [&](int code, const std::string& prefix, const std::string& message) {
    error = message;
    std::cerr << "oura-collector: " << prefix << message << "\n";
    return code;
  };
  try {
    return dispatch(args);
  } catch (...) {
    const Failure failure = classify(std::current_exception());
    return fail(exitCode(failure.kind), failure.prefix, failure.message);
  }
}

// The run summary as JSON, written to a temporary file beside the target and renamed over it, so
// a reader (a monitoring job) sees the previous summary or this one, never half of one.
void CollectorApplication::writeSummaryJson(const std::string& command, std::int64_t started_ms,
                                            int code, const std::string& error) {
  const RunSummary summary = last_summary_ ? *last_summary_ : RunSummary{};
  const std::int64_t finished_ms = Poco::Timestamp().epochMicroseconds() / 1000;
  const std::string& path = *summary_json_;
  std::ostringstream text;
  summary.writeJson(text, command, started_ms, finished_ms, code, exitName(code), error);
  const std::string body = text.str();
  const std::string problem = replaceFile(path, body);
  if (!problem.empty()) std::cerr << "oura-collector: --summary-json: " << problem << "\n";
}

int CollectorApplication::commandHelp(const std::vector<std::string>& given) {
  // `scrape --help --dry-run`: what follows --help is not parsed as options.
  std::vector<std::string> words;
  for (const std::string& w : given) {
    if (w.rfind("-", 0) != 0) words.push_back(w);
  }
  if (words.empty()) {
    printProgramHelp(std::cout);
    return kExitOk;
  }
  std::size_t used = 0;
  const CommandInfo* command = findCommand(words, used);
  if (command == nullptr || used != words.size()) {
    std::string name;
    for (const auto& w : words) name += (name.empty() ? "" : " ") + w;
    throw Error(ErrorKind::Usage, "no command '" + name + "'.\nTry 'oura-collector --help'.");
  }
  printCommandHelp(*command, std::cout);
  return kExitOk;
}

void CollectorApplication::checkOptions(const std::vector<std::string>& words) const {
  std::size_t used = 0;
  const CommandInfo* command = findCommand(words, used);
  if (command == nullptr) return;  // dispatch names the unknown command
  for (const std::string& option : given_options_) {
    if (!optionAllowed(*command, option)) {
      throw Error(ErrorKind::Usage, "--" + option + " is not an option of " + command->name +
                                      ".\nTry 'oura-collector help " + command->name + "'.");
    }
  }
}

std::string CollectorApplication::manifestPath() const {
  if (config_) return *config_;
  std::string env = Poco::Environment::get("OURA_CONFIG", "");
  return env.empty() ? kDefaultManifest : env;
}

int CollectorApplication::dispatch(const std::vector<std::string>& args) {
  if (help_) return commandHelp(args);  // `--help`, `CMD --help`
  if (version_) {
    std::cout << "oura-collector " << OURA_VERSION << " (plugin API " << sdk::kApiVersion << ", "
              << sdk::buildFingerprint() << ")\n";
    return kExitOk;
  }
  if (args.empty()) {
    throw Error(ErrorKind::Usage, "no command given.\nTry 'oura-collector --help'.");
  }
  const std::string& command = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "help") return commandHelp(rest);
  // `run` dispatches `scrape` for every run: its options (--every, --jitter) were checked once,
  // against `run`, when it started.
  if (!options_checked_) checkOptions(args);
  setUpLogging();
  if (command == "completion") {
    if (rest.size() != 1) throw Error(ErrorKind::Usage, "usage: oura-collector completion bash|zsh");
    try {
      printCompletion(rest[0], std::cout);
    } catch (const std::invalid_argument& e) {
      throw Error(ErrorKind::Usage, e.what());
    }
    return kExitOk;
  }
  if (command == "scrape") return commandScrape(rest);
  if (command == "run") return commandRun(rest);
  if (command == "check-config") return commandCheckConfig(rest);
  if (command == "plugins") return commandPlugins(rest);
  if (command == "init-db") return commandInitDb(rest);
  if (command == "purge") return commandPurge(rest);
  if (command == "reprocess") return commandReprocess(rest);
  if (command == "status") return commandStatus(rest);
  if (command == "report") return commandReport(rest);
  if (command == "auth") {
    auto runtime = buildRuntime(loadManifestFor(manifestPath()), false);
    return exitCode(runAuthCommand(*runtime, rest, no_listen_, stop_));
  }
  throw Error(ErrorKind::Usage, "unknown command '" + command + "'.\nTry 'oura-collector --help'.");
}

// After scrape and reprocess: the run log (interrupted runs too), the sinks closed, the summary
// table on stderr; returns the run's exit code.
int CollectorApplication::finishRun(Runtime& runtime, const RunSummary& summary,
                                    const std::string& command) {
  const int code = exitCode(summary.ending());
  recordRun(runtime, summary, command, code, exitName(code));
  last_summary_ = summary;
  // The metrics read the sinks' sync state: before they close.
  if (metrics_file_ || pushgateway_) gatherMetrics(runtime);
  closeSinks(runtime, Poco::Logger::get("oura." + command));
  // A dry run whose reader went away (`| head`) stops quietly with 0 (docs/operations.md).
  if (stdout_closed_) return kExitOk;
  reportRun(summary, {Progress::stderrIsTerminal(), summary_, quiet_}, std::cerr);
  return code;
}

int CollectorApplication::commandScrape(const std::vector<std::string>& args) {
  if (!args.empty()) throw Error(ErrorKind::Usage, "scrape takes no arguments, got '" + args[0] + "'");
  if (days_ && since_) throw Error(ErrorKind::Usage, "--days and --since exclude each other");
  Manifest manifest = loadManifestFor(manifestPath());
  auto runtime = buildRuntime(std::move(manifest), dry_run_);
  ScrapeOptions options;
  options.dry_run = dry_run_;
  options.days = days_;
  options.since = since_;
  options.until = until_;
  options.collections = collections_;
  options.overlap_days = runtime->manifest.overlap_days;
  if (!dry_run_) requireCurrentSchema(*runtime);
  RunSummary summary;
  {
    // A dry run's reader may go away (`| head`): stop, keep nothing, exit 0 (main()).
    std::optional<StdoutWatch> watch;
    if (dry_run_) {
      watch.emplace(stop_);
      silenceWhenStdoutCloses(true);
    }
    summary = runScrape(*runtime, options, stop_);
    std::cout.flush();
    stdout_closed_ = dry_run_ && ((watch && watch->closed()) || stdoutClosed());
  }
  return finishRun(*runtime, summary, "scrape");
}

// The long-running mode (cli/run_command.hpp): every run is a whole `scrape` through
// runCommand, so each run's errors map to their exit codes and its summary is printed as usual.
int CollectorApplication::commandRun(const std::vector<std::string>& args) {
  if (!args.empty()) throw Error(ErrorKind::Usage, "run takes no arguments, got '" + args[0] + "'");
  if (days_ || since_ || until_) {
    throw Error(ErrorKind::Usage, "run is incremental: --days, --since and --until are for a "
                                    "one-shot scrape (a backfill)");
  }
  options_checked_ = true;
  RunEverySchedule schedule;
  if (every_) schedule.every = *every_;
  schedule.jitter = jitter_;
  return runEvery(
      schedule,
      [this] {
        last_summary_.reset();
        const std::int64_t started_ms = Poco::Timestamp().epochMicroseconds() / 1000;
        std::string error;
        const int code = runCommand({"scrape"}, error);
        if (summary_json_) writeSummaryJson("scrape", started_ms, code, error);
        if (metrics_file_ || pushgateway_) writeMetrics("scrape", started_ms, code);
        return code;
      },
      stop_, Poco::Logger::get("oura.run"));
}

int CollectorApplication::commandCheckConfig(const std::vector<std::string>& args) {
  if (!args.empty()) {
    throw Error(ErrorKind::Usage, "check-config takes no arguments, got '" + args[0] + "'");
  }
  const std::string path = manifestPath();
  auto runtime = buildRuntime(loadManifestFor(path), false);
  checkApiSettings(runtime->manifest);
  // The enabled list must name served collections.
  for (const std::string& name : runtime->manifest.collections) {
    if (!runtime->find(name)) {
      throw Error(ErrorKind::Config, path + ": collector.collections: unknown collection '" + name + "'");
    }
  }
  std::cout << "manifest " << path << ": OK\n";
  std::cout << "  account: " << runtime->manifest.account << "\n";
  std::cout << "  api: " << runtime->manifest.http.base_url << "\n";
  if (runtime->manifest.oauth) {
    const OAuthSettings& oauth = *runtime->manifest.oauth;
    OAuthClient validated(oauth);  // the URLs and TLS settings (sdk::ConfigError: exit 78)
    if (!oauth.client_secret_problem.empty()) throw sdk::ConfigError(oauth.client_secret_problem);
    std::cout << "  oauth: client " << oauth.client_id << ", token URL " << oauth.token_url
              << (oauth.client_secret.empty() ? ", no client secret" : ", client secret set")
              << "\n";
  } else {
    std::cout << "  oauth: none (no login, no refresh)\n";
  }
  // What a scrape checks first, in its order: the store can keep a refreshed token (78 when,
  // say, the token folder does not exist; 69 when the store is unreachable), then whether it
  // holds a usable token (77). Never the token itself; reading the store is local.
  std::string token_state;
  int token_code = kExitOk;
  try {
    StoreTokenProvider provider(*runtime->token_store,
                                runtime->manifest.oauth ? &*runtime->manifest.oauth : nullptr);
    provider.prepare();
    const auto tokens = runtime->token_store->load();
    const bool can_refresh = runtime->manifest.oauth && runtime->token_store->writable();
    const auto problem = loginNeededReason(tokens, *runtime->token_store, can_refresh);
    if (problem) token_code = kExitLoginNeeded;
    token_state = problem ? "LOGIN NEEDED (scrape would exit 77): " + *problem
                  : tokens->access_token.empty() ? "a refresh token only (the first run refreshes)"
                                                 : "a token is present";
  } catch (const Error& e) {
    token_code = exitCode(e.kind());
    token_state = "UNUSABLE (scrape would exit " + std::to_string(token_code) + "): " + e.what();
  } catch (const sdk::UnavailableError& e) {
    token_code = kExitUnavailable;
    token_state = std::string("UNREACHABLE (scrape would exit 69): ") + e.what();
  } catch (const std::exception& e) {
    token_code = kExitConfig;
    token_state = std::string("CANNOT BE READ (scrape would exit 78): ") + e.what();
  }
  std::cout << "  token store: " << runtime->token_store_name << " ("
            << runtime->token_store->describe() << "): " << token_state << "\n";
  for (const auto& endpoint : runtime->endpoints) {
    std::cout << "  endpoint " << endpoint.name << " (" << endpoint.loaded.file << "):";
    for (const auto& spec : endpoint.plugin->collections()) std::cout << ' ' << spec.name;
    std::cout << "\n";
  }
  std::cout << "  enabled collections:";
  if (runtime->manifest.collections.empty()) {
    std::cout << " all served";
  } else {
    for (const std::string& name : runtime->manifest.collections) std::cout << ' ' << name;
  }
  std::cout << "\n";
  // The database schema of sinks that keep one, against the migrations (local services only:
  // nothing is fetched from Oura).
  int code = kExitOk;
  for (auto& sink : runtime->sinks) {
    std::cout << "  sink " << sink.name << " (" << sink.loaded.file << ")";
    try {
      const std::optional<int> version = sink.plugin->schemaVersion();
      if (!version) {
        std::cout << "\n";
        continue;
      }
      const int newest = loadMigrations(migrationsDir(runtime->manifest)).back().version;
      if (*version < newest) {
        std::cout << ": SCHEMA BEHIND (migration " << *version << " of " << newest
                  << "): run `oura-collector init-db`\n";
        code = kExitConfig;
      } else if (*version > newest) {
        std::cout << ": SCHEMA AHEAD (migration " << *version << ", this program knows " << newest
                  << "): upgrade oura-collector\n";
        code = kExitConfig;
      } else {
        std::cout << ": schema up to date (migration " << newest << ")\n";
      }
    } catch (const sdk::UnavailableError& e) {
      std::cout << ": UNREACHABLE: " << e.what() << "\n";
      if (code == kExitOk) code = kExitUnavailable;
    } catch (const sdk::ConfigError& e) {
      std::cout << ": " << e.what() << "\n";
      code = kExitConfig;
    }
  }
  // A scrape checks the database schema first, then the token store: the first failure is the
  // exit code it would have.
  if (code == kExitOk) code = token_code;
  if (code != kExitOk) {
    std::cout << "check-config: a scrape would exit " << code << " (" << exitName(code) << "); see above\n";
    std::cerr << "oura-collector: check-config: a scrape would exit " << code << " ("
              << exitName(code) << ")\n";
  } else {
    std::cout << "check-config: OK\n";
  }
  return code;
}

int CollectorApplication::commandInitDb(const std::vector<std::string>& args) {
  if (!args.empty()) throw Error(ErrorKind::Usage, "init-db takes no arguments, got '" + args[0] + "'");
  auto runtime = buildRuntime(loadManifestFor(manifestPath()), false);
  const std::string dir = migrationsDir(runtime->manifest);
  const std::vector<sdk::Migration> migrations = loadMigrations(dir);
  bool any = false;
  for (SinkInstance& sink : runtime->sinks) {
    std::vector<int> applied;
    try {
      const std::optional<int> version = sink.plugin->schemaVersion();
      if (!version) {
        std::cout << "sink " << sink.name << ": keeps no schema\n";
        continue;
      }
      if (*version > migrations.back().version) {
        // Worded as check-config says it: a newer program's schema is not this one's to touch.
        throw Error(ErrorKind::Config, "sink " + sink.name + ": SCHEMA AHEAD (migration " +
                                         std::to_string(*version) + ", this program knows " +
                                         std::to_string(migrations.back().version) +
                                         "): upgrade oura-collector");
      }
      applied = sink.plugin->migrate(migrations);
    } catch (const sdk::UnavailableError& e) {
      throw Error(ErrorKind::Unavailable, "sink " + sink.name + ": " + e.what());
    } catch (const sdk::Error& e) {
      if (stop_.load()) {
        // A wait on the database (a table lock) cancelled by SIGINT/SIGTERM: each migration is
        // one transaction, so the one in progress left nothing behind.
        throw Error(ErrorKind::Interrupted, "sink " + sink.name + ": init-db interrupted: " +
                                              e.what() + "; run init-db again");
      }
      throw Error(ErrorKind::Config, "sink " + sink.name + ": migration failed: " + e.what());
    }
    any = true;
    if (applied.empty()) {
      std::cout << "sink " << sink.name << ": schema up to date (migration "
                << migrations.back().version << ")\n";
    }
    for (int version : applied) {
      std::cout << "sink " << sink.name << ": applied " << migrations[version - 1].name << "\n";
    }
  }
  if (!any) std::cout << "no sink of the manifest keeps a schema; nothing to do\n";
  return kExitOk;
}

int CollectorApplication::commandPurge(const std::vector<std::string>& args) {
  if (!args.empty()) throw Error(ErrorKind::Usage, "purge takes no arguments, got '" + args[0] + "'");
  if (!account_ || account_->empty()) {
    throw Error(ErrorKind::Usage, "purge needs --account ID (the account label whose data goes)");
  }
  if (!yes_) {
    throw Error(ErrorKind::Usage, "purge deletes every row and the sync state of account '" +
                                    *account_ + "' for good; add --yes to do it");
  }
  auto runtime = buildRuntime(loadManifestFor(manifestPath()), false);
  for (SinkInstance& sink : runtime->sinks) {
    try {
      if (!sink.plugin->schemaVersion()) {
        std::cout << "sink " << sink.name << ": keeps no data\n";
        continue;
      }
      const std::uint64_t rows = sink.plugin->purge(*account_);
      std::cout << "sink " << sink.name << ": deleted " << rows << " rows of account '"
                << *account_ << "'\n";
    } catch (const sdk::UnavailableError& e) {
      throw Error(ErrorKind::Unavailable, "sink " + sink.name + ": " + e.what());
    } catch (const sdk::RunLockedError& e) {
      throw Error(ErrorKind::Interrupted, "sink " + sink.name + ": " + e.what());
    } catch (const sdk::Error& e) {
      throw Error(ErrorKind::Partial, "sink " + sink.name + ": purge failed, nothing deleted: " +
                                        e.what());
    }
  }
  return kExitOk;
}

int CollectorApplication::commandReprocess(const std::vector<std::string>& args) {
  if (!args.empty()) {
    throw Error(ErrorKind::Usage, "reprocess takes no arguments, got '" + args[0] + "'");
  }
  auto runtime = buildRuntime(loadManifestFor(manifestPath()), false);
  requireCurrentSchema(*runtime);
  RunSummary summary = runReprocess(*runtime, collections_, stop_, rejected_);
  return finishRun(*runtime, summary, "reprocess");
}

// Reads the sinks' sync state and run log; loads the plugins but needs no token and sends
// nothing to Oura. The schema must be current (the run log is migration 3).
int CollectorApplication::commandStatus(const std::vector<std::string>& args) {
  if (!args.empty()) throw Error(ErrorKind::Usage, "status takes no arguments, got '" + args[0] + "'");
  if (account_ && account_->empty()) throw Error(ErrorKind::Usage, "--account needs an account label");
  auto runtime = buildRuntime(loadManifestFor(manifestPath()), false);
  requireCurrentSchema(*runtime);
  // Without collector.account a scrape keys rows by Oura's user id, which only a request could
  // tell: show every account the sinks know then.
  const std::string account =
      account_ ? *account_ : runtime->manifest.account_explicit ? runtime->manifest.account : "";
  // Stale: synced longer ago than --max-age, by default the overlap plus one day (a daily run
  // that keeps failing is noticed the day its overlap no longer covers the gap).
  const std::chrono::seconds max_age =
      max_age_ ? parseMaxAge(*max_age_)
               : std::chrono::seconds((runtime->manifest.overlap_days + 1) * 86400LL);
  const StatusVerdict verdict = reportStatus(*runtime, account, format_.value_or("table") == "json",
                                             max_age, std::cout, today(), nowMs());
  return verdict.problems.empty() ? kExitOk : kExitPartial;
}

int CollectorApplication::commandReport(const std::vector<std::string>& args) {
  if (!args.empty()) throw Error(ErrorKind::Usage, "report takes no arguments, got '" + args[0] + "'");
  if (since_) throw Error(ErrorKind::Usage, "report takes --days and --until, not --since");
  if (account_ && account_->empty()) throw Error(ErrorKind::Usage, "--account needs an account label");
  ReportOptions options;
  options.days = days_.value_or(30);
  options.until = until_;
  options.account = account_;
  options.output = output_.value_or("");
  checkReportOptions(options);
  auto runtime = buildRuntime(loadManifestFor(manifestPath()), false);
  requireCurrentSchema(*runtime);
  return runReportCommand(*runtime, options);
}

int CollectorApplication::commandPlugins(const std::vector<std::string>& args) {
  std::vector<std::string> dirs;
  const std::string path = manifestPath();
  if (config_ || Poco::Environment::has("OURA_CONFIG")) {
    dirs = loadManifest(path).plugin_dirs;
  } else {
    dirs = pluginDirsWithoutManifest();
  }
  PluginLoader loader(dirs);
  PluginLoader::Discovered found = loader.discover();
  for (const std::string& error : found.errors) std::cerr << "oura-collector: " << error << "\n";
  if (found.plugins.empty()) {
    std::string searched;
    for (const auto& dir : dirs) searched += (searched.empty() ? "" : ", ") + dir;
    std::cerr << "oura-collector: no plugins found in " << searched
              << " (set OURA_PLUGIN_DIR or collector.plugin_dirs)\n";
  }

  if (!args.empty() && args[0] == "describe") {
    if (args.size() != 2) throw Error(ErrorKind::Usage, "usage: oura-collector plugins describe NAME");
    bool any = false;
    for (const LoadedPlugin& p : found.plugins) {
      if (args[1] != p.descriptor->name) continue;
      any = true;
      std::cout << sdk::toString(p.descriptor->kind) << " plugin " << p.descriptor->name << " "
                << p.descriptor->version << " (" << p.file << ")\n  " << p.descriptor->description
                << "\n\nconfiguration keys:\n";
      const sdk::ConfigSchema schema = p.descriptor->config_schema();
      if (schema.empty()) std::cout << "  (none)\n";
      for (const sdk::ConfigKey& key : schema) {
        std::cout << "  " << key.name << " (" << sdk::toString(key.type) << ", "
                  << (key.required ? "required" : "default " + describeDefault(key))
                  << (key.env.empty() ? "" : ", environment " + key.env) << "): "
                  << key.description << "\n";
      }
      if (p.descriptor->kind != sdk::PluginKind::Endpoint) continue;
      std::string problem;
      auto endpoint = defaultEndpoint(loader, p, problem);
      if (!endpoint) {
        std::cout << "\ncollections: (needs configuration: " << problem << ")\n";
        continue;
      }
      for (const sdk::CollectionSpec& spec : endpoint->collections()) {
        std::cout << "\ncollection " << spec.name << ": GET " << spec.path << ", "
                  << sdk::toString(spec.strategy) << ", scope " << spec.scope << ", schema "
                  << spec.openapi_schema << "\n";
        for (const sdk::StreamSchema& stream : spec.streams) {
          std::cout << "  stream " << stream.name << " (key: account";
          for (const auto& k : stream.primary_key) std::cout << ", " << k;
          std::cout << ")\n";
          for (const sdk::Column& column : stream.columns) {
            std::cout << "    " << std::left << std::setw(40) << column.name << ' '
                      << std::setw(17) << sdk::toSqlType(column.type)
                      << (column.required ? "required; " : "") << column.description << "\n";
          }
        }
        for (const auto& raw : spec.raw_only) {
          std::cout << "  raw only: " << raw.json_path << " (" << raw.reason << ")\n";
        }
      }
    }
    if (!any) throw Error(ErrorKind::Usage, "no plugin named '" + args[1] + "' in " + dirs.front());
    return kExitOk;
  }
  if (!args.empty()) throw Error(ErrorKind::Usage, "unknown plugins subcommand '" + args[0] + "'");

  // The name column as wide as the longest name ("azure-keyvault"), plus a space.
  int name_width = 5;
  for (const LoadedPlugin& p : found.plugins) {
    name_width = std::max(name_width, static_cast<int>(std::string(p.descriptor->name).size()) + 1);
  }
  if (found.plugins.empty()) return kExitConfig;
  std::cout << std::left << std::setw(10) << "kind" << std::setw(name_width) << "name"
            << std::setw(9) << "version" << std::setw(5) << "api" << "collections / file\n";
  for (const LoadedPlugin& p : found.plugins) {
    std::cout << std::left << std::setw(10) << sdk::toString(p.descriptor->kind)
              << std::setw(name_width) << p.descriptor->name << std::setw(9)
              << p.descriptor->version << std::setw(5) << p.descriptor->api_version;
    if (p.descriptor->kind == sdk::PluginKind::Endpoint) {
      std::string problem;
      if (auto endpoint = defaultEndpoint(loader, p, problem)) {
        std::string names;
        for (const auto& spec : endpoint->collections()) names += (names.empty() ? "" : ",") + spec.name;
        std::cout << names << "  ";
      }
    }
    std::cout << p.file << "\n";
  }
  // No plugin at all is a broken installation (or a missing OURA_PLUGIN_DIR), not a success.
  return found.errors.empty() && !found.plugins.empty() ? kExitOk : kExitConfig;
}

}  // namespace oura::core

#include "cli/application.hpp"
#include "cli/report_command.hpp"

#include "auth/auth_commands.hpp"
#include "sync/days.hpp"
#include "cli/exit_codes.hpp"
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

const char* kCommands =
    "Commands:\n"
    "  scrape         fetch the enabled collections and hand the rows to the sinks\n"
    "                 (--dry-run: JSON Lines on stdout instead of the manifest's sinks)\n"
    "  run [--every DURATION] [--jitter DURATION]\n"
    "                 long-running: a scrape now, then every DURATION (default 1h) plus a\n"
    "                 random delay up to the jitter (default a tenth of it); failed runs\n"
    "                 (77, 78 included) are tried again at the next interval; SIGTERM\n"
    "                 ends the run in flight cleanly and exits 0 (containers, compose)\n"
    "  check-config   validate the manifest and every plugin's configuration, load the\n"
    "                 plugins, check the sinks' database schema; never calls Oura\n"
    "  plugins        list the plugins found in the plugin directories\n"
    "  init-db        create or upgrade the database schema of the sinks (sql/ migrations)\n"
    "  purge --account ID --yes\n"
    "                 delete one account's rows and sync state from the sinks\n"
    "  reprocess      re-map the raw documents the sinks stored (after an upgrade added\n"
    "                 columns), without fetching; --collections narrows it; --rejected:\n"
    "                 retry the quarantined documents (oura.rejected_documents) instead\n"
    "  status [--account ID]\n"
    "                 per collection: the last synced day, days behind, the last run and\n"
    "                 the last error, from the sinks' run log (no token, no Oura request);\n"
    "                 without --account: collector.account, else every account recorded\n"
    "  report --output FILE [--days N] [--until DATE] [--account ID]\n"
    "                 a self-contained HTML report of the last N days (default 30): scores,\n"
    "                 sleep and the collector's health, from the database (no token, no\n"
    "                 Oura request); FILE - writes it to stdout\n"
    "  plugins describe NAME\n"
    "                 a plugin's configuration keys and, for endpoints, its collections,\n"
    "                 streams and columns\n"
    "  auth login [--no-listen]\n"
    "                 authorize this program at Oura (OAuth2, manifest [oauth]) and store\n"
    "                 the tokens; --no-listen: paste the redirected URL instead of the\n"
    "                 loopback listener (headless machines)\n"
    "  auth status    the token store, whether a token is present, its expiry, scopes,\n"
    "                 last refresh and any interrupted refresh (never a token)\n"
    "  auth refresh   refresh the access token now\n"
    "  auth logout    revoke the grant (oauth.revoke_url) and remove the stored tokens\n"
    "\n"
    "Exit codes: 0 ok; 1 partial (some collections failed, the rest landed); 64 usage;\n"
    "69 a required service unreachable at start; 70 internal error; 75 interrupted or\n"
    "locked, safe to run again; 77 login needed; 78 configuration error.\n";


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

CollectorApplication::CollectorApplication(const std::atomic<bool>& stop) : stop_(stop) {
  setUnixOptions(true);
}

void CollectorApplication::defineOptions(Poco::Util::OptionSet& options) {
  Poco::Util::Application::defineOptions(options);
  using Poco::Util::Option;
  options.addOption(Option("help", "h", "print this help and exit"));
  options.addOption(Option("version", "V", "print the version and exit"));
  options.addOption(Option("config", "c",
                           "the manifest (default: $OURA_CONFIG, else " +
                               std::string(kDefaultManifest) + ")")
                        .argument("FILE"));
  options.addOption(Option("dry-run", "n", "scrape: write JSON Lines to stdout, not to the "
                                           "manifest's sinks; keeps no sync state"));
  options.addOption(Option("days", "d", "scrape, report: the last N days, today included").argument("N"));
  options.addOption(Option("since", "", "scrape: first day (YYYY-MM-DD)").argument("DATE"));
  options.addOption(Option("until", "", "scrape, report: last day (YYYY-MM-DD), default today").argument("DATE"));
  options.addOption(Option("collections", "", "scrape: only these collections (comma-separated)")
                        .argument("LIST")
                        .repeatable(true));
  options.addOption(Option("summary-json", "", "scrape, reprocess: also write the run summary "
                           "as JSON to FILE (replaced atomically)").argument("FILE"));
  options.addOption(Option("every", "", "run: the interval between scrapes (90s, 30m, 1h, 1d; "
                                       "default 1h)").argument("DURATION"));
  options.addOption(Option("jitter", "", "run: at most this random delay added to each interval "
                                        "(default a tenth of --every; 0s: none)")
                        .argument("DURATION"));
  options.addOption(Option("log-level", "", "error, warning, information (default) or debug")
                        .argument("LEVEL"));
  options.addOption(Option("account", "", "purge: the account label whose data is deleted; "
                                       "status: the account shown")
                        .argument("ID"));
  options.addOption(Option("output", "o", "report: the HTML file to write (- for stdout)")
                        .argument("FILE"));
  options.addOption(Option("yes", "", "purge: really delete (there is no undo)"));
  options.addOption(Option("rejected", "", "reprocess: the quarantined (rejected) documents "
                                           "instead of the stored ones"));
  options.addOption(Option("no-listen", "", "auth login: paste the redirected URL on stdin "
                                            "instead of listening for it"));
}

void CollectorApplication::handleOption(const std::string& name, const std::string& value) {
  Poco::Util::Application::handleOption(name, value);
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
    if (value != "error" && value != "warning" && value != "information" && value != "debug" &&
        value != "notice" && value != "trace" && value != "fatal" && value != "critical") {
      throw Poco::Util::InvalidArgumentException("--log-level: unknown level '" + value + "'");
    }
    log_level_ = value;
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

namespace {

// On a terminal, log lines first clear the line, so a progress line being redrawn there
// (app/progress.hpp) never runs into them.
class TerminalChannel : public Poco::Channel {
 public:
  void log(const Poco::Message& message) override {
    std::cerr << "\r\033[K" << message.getText() << std::endl;
  }
};

}  // namespace

void CollectorApplication::setUpLogging() {
  Poco::AutoPtr<Poco::PatternFormatter> formatter(
      new Poco::PatternFormatter("%Y-%m-%dT%H:%M:%S %p %s: %t"));
  Poco::AutoPtr<Poco::Channel> console;
  if (Progress::stderrIsTerminal()) console = new TerminalChannel;
  else console = new Poco::ConsoleChannel(std::cerr);
  Poco::AutoPtr<Poco::FormattingChannel> channel(new Poco::FormattingChannel(formatter, console));
  Poco::Logger::setChannel("", channel);
  Poco::Logger::setLevel("", Poco::Logger::parseLevel(log_level_));
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
  std::string error;
  const int code = runCommand(args, error);
  // run writes it after every scrape (commandRun).
  if (summary_json_ && args[0] != "run") writeSummaryJson(args[0], started_ms, code, error);
  return code;
}

int CollectorApplication::runCommand(const std::vector<std::string>& args, std::string& error) {
  auto fail = [&](int code, const std::string& prefix, const std::string& message) {
    error = message;
    std::cerr << "oura-collector: " << prefix << message << "\n";
    return code;
  };
  try {
    return dispatch(args);
  } catch (const ExitError& e) {
    return fail(e.code(), "", e.what());
  } catch (const sdk::ConfigError& e) {
    return fail(kExitConfig, "configuration error: ", e.what());
  } catch (const sdk::LoginNeededError& e) {
    return fail(kExitLoginNeeded, "login needed: ", e.what());
  } catch (const sdk::UnavailableError& e) {
    return fail(kExitUnavailable, "", e.what());
  } catch (const sdk::TokenLockTimeout& e) {
    return fail(kExitInterrupted, "", std::string(e.what()) + "; try again");
  } catch (const sdk::RunLockedError& e) {
    return fail(kExitInterrupted, "", std::string(e.what()) + "; try again");
  } catch (const sdk::Error& e) {
    // A plugin's error that is not a bug: a store or database that failed (disk full, I/O).
    return fail(kExitUnavailable, "", e.what());
  } catch (const Poco::Exception& e) {
    return fail(kExitInternal, "internal error: ", e.displayText());
  } catch (const std::exception& e) {
    return fail(kExitInternal, "internal error: ", e.what());
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
  summary.writeJson(text, command, started_ms, finished_ms, code, error);
  const std::string body = text.str();
  // A new file of our own (mkstemp: O_EXCL, never through a planted symbolic link), written
  // whole, then renamed over the target.
  std::string temp = path + ".XXXXXX";
  const int fd = ::mkstemp(temp.data());
  if (fd < 0) {
    std::cerr << "oura-collector: --summary-json: cannot create a file beside " << path << ": "
              << std::strerror(errno) << "\n";
    return;
  }
  bool ok = ::fchmod(fd, 0644) == 0;
  for (std::size_t done = 0; ok && done < body.size();) {
    const ssize_t n = ::write(fd, body.data() + done, body.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<std::size_t>(n);
  }
  ok = ::fsync(fd) == 0 && ok;
  ok = ::close(fd) == 0 && ok;
  if (!ok || std::rename(temp.c_str(), path.c_str()) != 0) {
    std::cerr << "oura-collector: --summary-json: cannot write " << path << ": "
              << std::strerror(errno) << "\n";
    ::unlink(temp.c_str());
  }
}

void CollectorApplication::printHelp() const {
  Poco::Util::HelpFormatter help(options());
  help.setCommand("oura-collector");
  help.setUsage("[OPTIONS] COMMAND [ARGS]");
  help.setHeader("Collects your Oura Ring data (Oura API v2) into PostgreSQL, or prints it as "
                 "JSON Lines for a dry run.");
  help.setUnixStyle(true);
  std::ostringstream formatted;
  help.format(formatted);
  // GNU layout ("Usage:", options indented), which help2man turns into the man page.
  std::istringstream lines(formatted.str());
  bool options = false;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("usage:", 0) == 0) line[0] = 'U';
    if (line.rfind("-", 0) == 0) options = true;
    std::cout << (options && !line.empty() ? "  " : "") << line << "\n";
  }
  // The command list is laid out by hand: HelpFormatter's footer would re-wrap it.
  std::cout << "\n" << kCommands;
}

std::string CollectorApplication::manifestPath() const {
  if (config_) return *config_;
  std::string env = Poco::Environment::get("OURA_CONFIG", "");
  return env.empty() ? kDefaultManifest : env;
}

int CollectorApplication::dispatch(const std::vector<std::string>& args) {
  if (help_) {
    printHelp();
    return kExitOk;
  }
  if (version_) {
    std::cout << "oura-collector " << OURA_VERSION << " (plugin API " << sdk::kApiVersion << ", "
              << sdk::buildFingerprint() << ")\n";
    return kExitOk;
  }
  if (args.empty()) {
    throw ExitError(kExitUsage, "no command given.\nTry 'oura-collector --help'.");
  }
  setUpLogging();
  const std::string& command = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
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
    auto runtime = buildRuntime(loadEffectiveManifest(manifestPath()), false);
    return runAuthCommand(*runtime, rest, no_listen_, stop_);
  }
  throw ExitError(kExitUsage, "unknown command '" + command + "'.\nTry 'oura-collector --help'.");
}

int CollectorApplication::commandScrape(const std::vector<std::string>& args) {
  if (!args.empty()) throw ExitError(kExitUsage, "scrape takes no arguments, got '" + args[0] + "'");
  if (days_ && since_) throw ExitError(kExitUsage, "--days and --since exclude each other");
  Manifest manifest = loadEffectiveManifest(manifestPath());
  auto runtime = buildRuntime(std::move(manifest), dry_run_);
  ScrapeOptions options;
  options.dry_run = dry_run_;
  options.days = days_;
  options.since = since_;
  options.until = until_;
  options.collections = collections_;
  options.overlap_days = runtime->manifest.overlap_days;
  if (!dry_run_) requireCurrentSchema(*runtime);
  RunSummary summary = runScrape(*runtime, options, stop_);
  std::cout.flush();
  summary.print(std::cerr);
  last_summary_ = summary;
  return summary.exitCode();
}

// The long-running mode (cli/run_command.hpp): every run is a whole `scrape` through
// runCommand, so each run's errors map to their exit codes and its summary is printed as usual.
int CollectorApplication::commandRun(const std::vector<std::string>& args) {
  if (!args.empty()) throw ExitError(kExitUsage, "run takes no arguments, got '" + args[0] + "'");
  if (days_ || since_ || until_) {
    throw ExitError(kExitUsage, "run is incremental: --days, --since and --until are for a "
                                "one-shot scrape (a backfill)");
  }
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
        return code;
      },
      stop_, Poco::Logger::get("oura.run"));
}

int CollectorApplication::commandCheckConfig(const std::vector<std::string>& args) {
  if (!args.empty()) {
    throw ExitError(kExitUsage, "check-config takes no arguments, got '" + args[0] + "'");
  }
  const std::string path = manifestPath();
  auto runtime = buildRuntime(loadEffectiveManifest(path), false);
  checkApiSettings(runtime->manifest);
  // The enabled list must name served collections.
  for (const std::string& name : runtime->manifest.collections) {
    if (!runtime->find(name)) {
      throw ExitError(kExitConfig, path + ": collector.collections: unknown collection '" + name + "'");
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
  // Whether the store holds a token (never the token itself); reading the store is local.
  std::string token_state;
  try {
    const auto tokens = runtime->token_store->load();
    const bool can_refresh = runtime->manifest.oauth && runtime->token_store->writable();
    const auto problem = loginNeededReason(tokens, *runtime->token_store, can_refresh);
    token_state = problem ? "LOGIN NEEDED (scrape would exit 77): " + *problem
                  : tokens->access_token.empty() ? "a refresh token only (the first run refreshes)"
                                                 : "a token is present";
  } catch (const std::exception& e) {
    token_state = std::string("cannot be read: ") + e.what();
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
  return code;
}

int CollectorApplication::commandInitDb(const std::vector<std::string>& args) {
  if (!args.empty()) throw ExitError(kExitUsage, "init-db takes no arguments, got '" + args[0] + "'");
  auto runtime = buildRuntime(loadEffectiveManifest(manifestPath()), false);
  const std::string dir = migrationsDir(runtime->manifest);
  const std::vector<sdk::Migration> migrations = loadMigrations(dir);
  bool any = false;
  for (SinkInstance& sink : runtime->sinks) {
    std::vector<int> applied;
    try {
      if (!sink.plugin->schemaVersion()) {
        std::cout << "sink " << sink.name << ": keeps no schema\n";
        continue;
      }
      applied = sink.plugin->migrate(migrations);
    } catch (const sdk::UnavailableError& e) {
      throw ExitError(kExitUnavailable, "sink " + sink.name + ": " + e.what());
    } catch (const sdk::Error& e) {
      throw ExitError(kExitConfig, "sink " + sink.name + ": migration failed: " + e.what());
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
  if (!args.empty()) throw ExitError(kExitUsage, "purge takes no arguments, got '" + args[0] + "'");
  if (!account_ || account_->empty()) {
    throw ExitError(kExitUsage, "purge needs --account ID (the account label whose data goes)");
  }
  if (!yes_) {
    throw ExitError(kExitUsage, "purge deletes every row and the sync state of account '" +
                                    *account_ + "' for good; add --yes to do it");
  }
  auto runtime = buildRuntime(loadEffectiveManifest(manifestPath()), false);
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
      throw ExitError(kExitUnavailable, "sink " + sink.name + ": " + e.what());
    } catch (const sdk::RunLockedError& e) {
      throw ExitError(kExitInterrupted, "sink " + sink.name + ": " + e.what());
    } catch (const sdk::Error& e) {
      throw ExitError(kExitPartial, "sink " + sink.name + ": purge failed, nothing deleted: " +
                                        e.what());
    }
  }
  return kExitOk;
}

int CollectorApplication::commandReprocess(const std::vector<std::string>& args) {
  if (!args.empty()) {
    throw ExitError(kExitUsage, "reprocess takes no arguments, got '" + args[0] + "'");
  }
  auto runtime = buildRuntime(loadEffectiveManifest(manifestPath()), false);
  requireCurrentSchema(*runtime);
  RunSummary summary = runReprocess(*runtime, collections_, stop_, rejected_);
  summary.print(std::cerr);
  last_summary_ = summary;
  return summary.exitCode();
}

// Reads the sinks' sync state and run log; loads the plugins but needs no token and sends
// nothing to Oura. The schema must be current (the run log is migration 3).
int CollectorApplication::commandStatus(const std::vector<std::string>& args) {
  if (!args.empty()) throw ExitError(kExitUsage, "status takes no arguments, got '" + args[0] + "'");
  if (account_ && account_->empty()) throw ExitError(kExitUsage, "--account needs an account label");
  auto runtime = buildRuntime(loadEffectiveManifest(manifestPath()), false);
  requireCurrentSchema(*runtime);
  // Without collector.account a scrape keys rows by Oura's user id, which only a request could
  // tell: show every account the sinks know then.
  const std::string account =
      account_ ? *account_ : runtime->manifest.account_explicit ? runtime->manifest.account : "";
  printStatus(*runtime, account, std::cout, today(), nowMs());
  return kExitOk;
}

int CollectorApplication::commandReport(const std::vector<std::string>& args) {
  if (!args.empty()) throw ExitError(kExitUsage, "report takes no arguments, got '" + args[0] + "'");
  if (since_) throw ExitError(kExitUsage, "report takes --days and --until, not --since");
  if (account_ && account_->empty()) throw ExitError(kExitUsage, "--account needs an account label");
  ReportOptions options;
  options.days = days_.value_or(30);
  options.until = until_;
  options.account = account_;
  options.output = output_.value_or("");
  checkReportOptions(options);
  auto runtime = buildRuntime(loadEffectiveManifest(manifestPath()), false);
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
    if (args.size() != 2) throw ExitError(kExitUsage, "usage: oura-collector plugins describe NAME");
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
    if (!any) throw ExitError(kExitUsage, "no plugin named '" + args[1] + "' in " + dirs.front());
    return kExitOk;
  }
  if (!args.empty()) throw ExitError(kExitUsage, "unknown plugins subcommand '" + args[0] + "'");

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

#include "cli/help.hpp"

#include <oura_sdk/version.hpp>

#include <Poco/String.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

namespace oura::core {

namespace {

const char* kDefaultManifest = "/etc/oura-collector/oura-collector.toml";

const std::vector<OptionInfo> kGlobal = {
    {"config", "c", "FILE",
     "the manifest (default: $OURA_CONFIG, else /etc/oura-collector/oura-collector.toml)"},
    {"log-level", "", "LEVEL",
     "trace, debug, info (default), notice, warning, error, critical or fatal (also "
     "information, warn, err, crit)"},
    {"log-format", "", "FORMAT",
     "text (default) or json (JSON Lines: time, level, logger, message and the run's fields); "
     "overrides collector.log_format"},
    {"quiet", "q", "", "print only problems: warnings, errors and failed collections"},
    {"help", "h", "", "print the help (of COMMAND when one is given) and exit"},
    {"version", "V", "", "print the version and exit"},
};

const std::vector<OptionInfo> kCommandOptions = {
    {"dry-run", "n", "", "write JSON Lines to stdout, not to the manifest's sinks; keeps no sync state"},
    {"days", "d", "N", "the last N days, today included"},
    {"since", "", "DATE", "first day (YYYY-MM-DD)"},
    {"until", "", "DATE", "last day (YYYY-MM-DD), default today"},
    {"collections", "", "LIST", "only these collections (comma-separated)", true},
    {"summary", "", "", "print the summary table also when stderr is not a terminal"},
    {"summary-json", "", "FILE", "also write the run summary as JSON to FILE (replaced atomically)"},
    {"metrics-file", "", "FILE",
     "write the run's metrics (Prometheus text format, for node_exporter's textfile collector) "
     "to FILE, replaced atomically at the end of the run"},
    {"pushgateway", "", "URL",
     "push the run's metrics to the Prometheus Pushgateway at URL (job oura-collector)"},
    {"account", "", "ID", "the account label (purge: whose data is deleted; status: shown)"},
    {"yes", "", "", "really delete (there is no undo)"},
    {"rejected", "", "",
     "retry the quarantined (rejected) documents (oura.rejected_documents) instead of the stored "
     "ones"},
    {"format", "", "FORMAT", "table (default) or json"},
    {"max-age", "", "AGE",
     "a collection synced longer ago than AGE is stale: N days, or Nd, Nh, Nm (default: "
     "collector.overlap_days + 1 days)"},
    {"no-listen", "", "", "paste the redirected URL on stdin instead of listening for it"},
    {"every", "", "DURATION", "the interval between scrapes (90s, 30m, 1h, 1d; default 1h)"},
    {"jitter", "", "DURATION",
     "at most this random delay added to each interval (default a tenth of --every; 0s: none)"},
    {"output", "o", "FILE", "the HTML file to write (- for stdout)"},
};

const std::vector<CommandInfo> kCommands = {
    {"scrape", "", "fetch the enabled collections into the sinks",
     "Fetches every enabled collection (or --collections) from the Oura API and writes the rows "
     "to the manifest's sinks; incremental from each collection's synced day minus "
     "collector.overlap_days unless --days or --since is given. On a terminal it draws a "
     "progress line and ends with the summary table; elsewhere it logs one line per finished "
     "collection (the table with --summary, or when something failed).",
     {"dry-run", "days", "since", "until", "collections", "summary", "summary-json",
      "metrics-file", "pushgateway"}},
    {"run", "",
     "a scrape now, then every --every (long-running)",
     "Long-running mode (containers, compose): a scrape now, then every --every (default 1h) "
     "plus a random delay up to --jitter (default a tenth of it). Failed runs (77 and 78 "
     "included) are tried again at the next interval; SIGTERM ends the run in flight cleanly "
     "and exits 0. --summary-json, --metrics-file and --pushgateway are written after every "
     "scrape.",
     {"every", "jitter", "dry-run", "collections", "summary", "summary-json", "metrics-file",
      "pushgateway"}},
    {"check-config", "",
     "check the set-up; exit as a scrape would start",
     "Validates the manifest and every plugin's configuration, loads the plugins, reads the "
     "token store and checks the sinks' database schema. Never calls Oura. Exits with the code a "
     "scrape would exit with at its start: 77 login needed, 78 configuration error (a token "
     "folder that does not exist, a placeholder client id), 69 database unreachable.",
     {}},
    {"status", "[--account ID]",
     "sync state and last runs; exit 1 when stale/failed",
     "Reads the sinks' sync state and run log (no token, no Oura request): per collection the "
     "last synced day, days behind, the last run and the last error. Without --account: "
     "collector.account, else every account recorded. Exits 1 when an enabled collection is "
     "stale (synced longer ago than --max-age) or its last run failed, so it can serve as a "
     "Nagios check or Kubernetes probe.",
     {"account", "format", "max-age"}},
    {"report", "",
     "an HTML report of the last days, from the database",
     "Writes a self-contained HTML report of the last --days days (default 30): scores, sleep "
     "and the collector's health, from the database (no token, no Oura request); --output - "
     "writes it to stdout.",
     {"output", "days", "until", "account"}},
    {"plugins", "", "list the plugins found",
     "Lists the plugins found in the plugin directories (collector.plugin_dirs, $OURA_PLUGIN_DIR).",
     {}},
    {"plugins describe", "NAME", "a plugin's keys, collections, streams, columns",
     "Prints a plugin's configuration keys and, for endpoint plugins, its collections, streams "
     "and columns.",
     {}},
    {"init-db", "", "create or upgrade the sinks' database schema",
     "Creates or upgrades the database schema of the sinks (the sql/ migrations).", {}},
    {"purge", "", "delete one account's rows and sync state",
     "Deletes every row and the sync state of one account from the sinks. Needs --account and "
     "--yes.",
     {"account", "yes"}},
    {"reprocess", "", "re-map the stored raw documents, no fetching",
     "Re-maps the raw documents the sinks stored (after an upgrade added columns), without "
     "fetching; --collections narrows it. With --rejected it retries the quarantined documents "
     "instead (the sinks' dead-letter store, oura.rejected_documents) and removes each one that "
     "now lands.",
     {"rejected", "collections", "summary", "summary-json", "metrics-file", "pushgateway"}},
    {"auth", "SUBCOMMAND", "OAuth2 tokens: login, status, refresh, logout",
     "Manages the OAuth2 tokens: login, status, refresh, logout.", {}},
    {"auth login", "", "authorize at Oura and store the tokens",
     "Authorizes this program at Oura (OAuth2 authorization code, manifest [oauth]) and stores "
     "the tokens. Without oauth.token_url it tries the legacy token URL and then the one of "
     "applications made in Oura's new developer portal, and remembers which worked.",
     {"no-listen"}},
    {"auth status", "", "the stored tokens' state (never a token)",
     "Shows the token store, whether a token is present, its expiry, scopes, last refresh and "
     "any interrupted refresh (never a token).",
     {}},
    {"auth refresh", "", "refresh the access token now", "Refreshes the access token now.", {}},
    {"auth logout", "", "revoke the grant, remove the stored tokens",
     "Revokes the grant (oauth.revoke_url) and removes the stored tokens.", {}},
    {"help", "[COMMAND]", "the help of the program or of COMMAND",
     "Prints the help of the program, or of COMMAND (\"help auth login\").", {}},
    {"completion", "SHELL", "the bash or zsh completion script",
     "Prints the completion script for SHELL (bash or zsh), generated from the same table as "
     "this help.",
     {}},
};

// Option argument values worth completing.
const std::map<std::string, std::string> kArgumentValues = {
    {"log-level", "trace debug info notice warning error critical fatal"},
    {"log-format", "text json"},
    {"format", "table json"},
};

const OptionInfo& option(const std::string& name) {
  for (const auto& list : {&kGlobal, &kCommandOptions}) {
    for (const OptionInfo& o : *list) {
      if (name == o.name) return o;
    }
  }
  throw std::logic_error("no option --" + name);
}

// "  -c, --config=FILE" with its description wrapped at 79 columns from column 30.
void printOption(const OptionInfo& o, std::ostream& out) {
  std::string head = std::string("  ") + (*o.short_name ? std::string("-") + o.short_name + ", " : "    ") +
                     "--" + o.name + (*o.argument ? std::string("=") + o.argument : "");
  out << head;
  std::size_t column = head.size();
  if (column >= 29) {
    out << "\n";
    column = 0;
  }
  out << std::string(30 - column, ' ');
  column = 30;
  std::istringstream words(o.description);
  bool first = true;
  for (std::string word; words >> word; first = false) {
    if (!first && column + 1 + word.size() > 79) {
      out << "\n" << std::string(30, ' ');
      column = 30;
    } else if (!first) {
      out << ' ';
      ++column;
    }
    out << word;
    column += word.size();
  }
  out << "\n";
}

void wrap(const std::string& text, std::ostream& out) {
  std::istringstream words(text);
  std::size_t column = 0;
  for (std::string word; words >> word;) {
    if (column > 0 && column + 1 + word.size() > 79) {
      out << "\n";
      column = 0;
    }
    if (column > 0) {
      out << ' ';
      ++column;
    }
    out << word;
    column += word.size();
  }
  out << "\n";
}

const char* kExitStatus =
    "Exit status:\n"
    "  0   ok\n"
    "  1   partial: some collections failed, the rest landed; status: a\n"
    "      collection is stale or its last run failed\n"
    "  64  usage error on the command line\n"
    "  69  a required service (Oura, the database) is unreachable; nothing done\n"
    "  70  internal error\n"
    "  75  interrupted, or another run holds the lock; safe to run again\n"
    "  77  login needed (oura-collector auth login)\n"
    "  78  configuration error\n"
    "A closed standard output (scrape --dry-run | head) stops the run quietly\n"
    "with exit 0, as head(1) users expect; a dry run keeps no state.\n";

std::vector<std::string> argumentOptions() {
  std::vector<std::string> out;
  for (const OptionInfo& o : allOptions()) {
    if (!*o.argument) continue;
    out.push_back(std::string("--") + o.name);
    if (*o.short_name) out.push_back(std::string("-") + o.short_name);
  }
  return out;
}

std::string optionWords(const CommandInfo* command) {
  std::string words;
  for (const OptionInfo& o : kGlobal) words += std::string(words.empty() ? "" : " ") + "--" + o.name;
  if (command) {
    for (const char* name : command->options) words += std::string(" --") + name;
  }
  return words;
}

std::string topCommands() {
  std::string out;
  std::set<std::string> seen;
  for (const CommandInfo& c : kCommands) {
    std::string name = c.name;
    name = name.substr(0, name.find(' '));
    if (seen.insert(name).second) out += (out.empty() ? "" : " ") + name;
  }
  return out;
}

std::string subCommands(const std::string& parent) {
  std::string out;
  for (const CommandInfo& c : kCommands) {
    const std::string name = c.name;
    if (name.rfind(parent + " ", 0) == 0) {
      out += (out.empty() ? "" : " ") + name.substr(parent.size() + 1);
    }
  }
  return out;
}

}  // namespace

const std::vector<OptionInfo>& globalOptions() { return kGlobal; }

const std::vector<OptionInfo>& allOptions() {
  static const std::vector<OptionInfo> all = [] {
    std::vector<OptionInfo> v = kGlobal;
    v.insert(v.end(), kCommandOptions.begin(), kCommandOptions.end());
    return v;
  }();
  return all;
}

const std::vector<CommandInfo>& commands() { return kCommands; }

const CommandInfo* findCommand(const std::vector<std::string>& words, std::size_t& used) {
  const CommandInfo* found = nullptr;
  used = 0;
  for (const CommandInfo& c : kCommands) {
    std::istringstream parts(c.name);
    std::size_t n = 0;
    bool match = true;
    for (std::string part; parts >> part; ++n) {
      if (n >= words.size() || words[n] != part) {
        match = false;
        break;
      }
    }
    if (match && n > used) {
      found = &c;
      used = n;
    }
  }
  return found;
}

bool optionAllowed(const CommandInfo& command, const std::string& name) {
  for (const OptionInfo& o : kGlobal) {
    if (name == o.name) return true;
  }
  // The command's own (options are taken out of the words wherever they stand, so
  // `auth --no-listen login` is "auth login" with --no-listen).
  return std::find(command.options.begin(), command.options.end(), name) != command.options.end();
}

void printProgramHelp(std::ostream& out) {
  out << "Usage: oura-collector [OPTIONS] COMMAND [ARGS]\n"
         "  or:  oura-collector help COMMAND\n\n";
  wrap("Collects your Oura Ring data (Oura API v2) into PostgreSQL, or prints it as JSON Lines "
       "for a dry run. Quiet when nothing is wrong: on a terminal a progress line and a summary "
       "table, elsewhere one line per finished collection.",
       out);
  out << "\nOptions:\n";
  for (const OptionInfo& o : kGlobal) printOption(o, out);
  out << "\nCommands:\n";
  for (const CommandInfo& c : kCommands) {
    std::string head = std::string("  ") + c.name + (*c.arguments ? std::string(" ") + c.arguments : "");
    out << head;
    if (head.size() >= 25) out << "\n" << std::string(26, ' ');
    else out << std::string(26 - head.size(), ' ');
    out << c.summary << "\n";
  }
  out << "\nEvery command takes the options above; `oura-collector help COMMAND` or\n"
         "`oura-collector COMMAND --help` lists its own.\n\n"
      << kExitStatus << "\nThe manifest: --config, else $OURA_CONFIG, else " << kDefaultManifest
      << ".\n";
}

void printCommandHelp(const CommandInfo& command, std::ostream& out) {
  out << "Usage: oura-collector [OPTIONS] " << command.name
      << (*command.arguments ? std::string(" ") + command.arguments : "") << "\n\n";
  wrap(std::string(command.description), out);
  const std::string subs = subCommands(command.name);
  if (!subs.empty()) {
    out << "\nSub-commands:\n";
    for (const CommandInfo& c : kCommands) {
      const std::string name = c.name;
      if (name.rfind(std::string(command.name) + " ", 0) != 0) continue;
      std::string head = "  " + name.substr(std::string(command.name).size() + 1) +
                         (*c.arguments ? std::string(" ") + c.arguments : "");
      out << head << std::string(head.size() < 25 ? 26 - head.size() : 2, ' ') << c.summary << "\n";
    }
  }
  if (!command.options.empty()) {
    out << "\nOptions:\n";
    for (const char* name : command.options) printOption(option(name), out);
  }
  out << "\nGlobal options:\n";
  for (const OptionInfo& o : kGlobal) printOption(o, out);
}

void printCompletion(const std::string& shell, std::ostream& out) {
  std::string takes_argument;
  for (const std::string& o : argumentOptions()) takes_argument += (takes_argument.empty() ? "" : "|") + o;
  std::string file_options = "--config|-c|--summary-json|--metrics-file";
  if (shell == "bash") {
    out << "# bash completion for oura-collector (generated by `oura-collector completion bash`)\n"
           "_oura_collector() {\n"
           "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
           "  local i cmd= sub=\n"
           "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
           "    case ${COMP_WORDS[i]} in\n"
           "      " << takes_argument << ") ((i++)) ;;\n"
           "      -*) ;;\n"
           "      *) if [[ -z $cmd ]]; then cmd=${COMP_WORDS[i]}; elif [[ -z $sub ]]; then sub=${COMP_WORDS[i]}; fi ;;\n"
           "    esac\n"
           "  done\n"
           "  case $prev in\n"
           "    " << file_options << ") COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n";
    for (const auto& [name, values] : kArgumentValues) {
      out << "    --" << name << ") COMPREPLY=($(compgen -W \"" << values << "\" -- \"$cur\")); return ;;\n";
    }
    out << "    " << takes_argument << ") return ;;\n"
           "  esac\n"
           "  local opts=\"" << optionWords(nullptr) << "\"\n"
           "  case \"$cmd${sub:+ $sub}\" in\n";
    for (const CommandInfo& c : kCommands) {
      if (c.options.empty()) continue;
      out << "    \"" << c.name << "\") opts=\"" << optionWords(&c) << "\" ;;\n";
    }
    out << "  esac\n"
           "  if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\")); return; fi\n"
           "  if [[ -z $cmd ]]; then COMPREPLY=($(compgen -W \"" << topCommands() << "\" -- \"$cur\")); return; fi\n"
           "  [[ -n $sub ]] && return\n"
           "  case $cmd in\n"
           "    auth) COMPREPLY=($(compgen -W \"" << subCommands("auth") << "\" -- \"$cur\")) ;;\n"
           "    plugins) COMPREPLY=($(compgen -W \"" << subCommands("plugins") << "\" -- \"$cur\")) ;;\n"
           "    help) COMPREPLY=($(compgen -W \"" << topCommands() << "\" -- \"$cur\")) ;;\n"
           "    completion) COMPREPLY=($(compgen -W \"bash zsh\" -- \"$cur\")) ;;\n"
           "  esac\n"
           "}\n"
           "complete -F _oura_collector oura-collector\n";
    return;
  }
  if (shell == "zsh") {
    out << "#compdef oura-collector\n"
           "# zsh completion for oura-collector (generated by `oura-collector completion zsh`)\n"
           "_oura-collector() {\n"
           "  local cmd= sub= i\n"
           "  for ((i = 2; i < CURRENT; i++)); do\n"
           "    case ${words[i]} in\n"
           "      (" << takes_argument << ") ((i++)) ;;\n"
           "      (-*) ;;\n"
           "      (*) if [[ -z $cmd ]]; then cmd=${words[i]}; elif [[ -z $sub ]]; then sub=${words[i]}; fi ;;\n"
           "    esac\n"
           "  done\n"
           "  case ${words[CURRENT-1]} in\n"
           "    (" << file_options << ") _files; return ;;\n";
    for (const auto& [name, values] : kArgumentValues) {
      out << "    (--" << name << ") compadd -- " << values << "; return ;;\n";
    }
    out << "    (" << takes_argument << ") return ;;\n"
           "  esac\n"
           "  local -a opts\n"
           "  opts=(" << optionWords(nullptr) << ")\n"
           "  case \"$cmd${sub:+ $sub}\" in\n";
    for (const CommandInfo& c : kCommands) {
      if (c.options.empty()) continue;
      out << "    (\"" << c.name << "\") opts=(" << optionWords(&c) << ") ;;\n";
    }
    out << "  esac\n"
           "  if [[ ${words[CURRENT]} == -* ]]; then compadd -- $opts; return; fi\n"
           "  if [[ -z $cmd ]]; then compadd -- " << topCommands() << "; return; fi\n"
           "  [[ -n $sub ]] && return\n"
           "  case $cmd in\n"
           "    (auth) compadd -- " << subCommands("auth") << " ;;\n"
           "    (plugins) compadd -- " << subCommands("plugins") << " ;;\n"
           "    (help) compadd -- " << topCommands() << " ;;\n"
           "    (completion) compadd -- bash zsh ;;\n"
           "  esac\n"
           "}\n"
           "_oura-collector \"$@\"\n";
    return;
  }
  throw std::invalid_argument("completion: unknown shell '" + shell + "'; use bash or zsh");
}

}  // namespace oura::core

#pragma once
// The one table of commands and options: Poco's option definitions, `--help`, `help CMD`,
// `CMD --help`, the check that a command is given only its own options, and the bash and zsh
// completion scripts (`oura-collector completion bash|zsh`) are all generated from it, so they
// never disagree. `--help` is laid out for help2man (Usage, Options, Commands, Exit status).

#include <ostream>
#include <string>
#include <vector>

namespace oura::core {

struct OptionInfo {
  const char* name;         // long name without "--"
  const char* short_name;   // "" when none
  const char* argument;     // "" for a flag, else the placeholder (FILE, N, ...)
  const char* description;
  bool repeatable = false;
};

struct CommandInfo {
  const char* name;         // "scrape", "auth login"
  const char* arguments;    // after the name in the usage line ("NAME", "")
  const char* summary;      // one line, for the command list
  const char* description;  // a paragraph for `help CMD`
  std::vector<const char*> options;  // long names of its own options (the global ones aside)
};

// Options every command takes (config, log level and format, quiet, help, version).
const std::vector<OptionInfo>& globalOptions();
// Every option, global ones first.
const std::vector<OptionInfo>& allOptions();
// Every command and sub-command, in help order; "auth" and "plugins" also appear on their own.
const std::vector<CommandInfo>& commands();

// The command named by `words` (the longest match: {"auth","login"} -> "auth login"), or null.
// `used` gets how many words the name took.
const CommandInfo* findCommand(const std::vector<std::string>& words, std::size_t& used);

// True when `option` (long name) is global or one of `command`'s.
bool optionAllowed(const CommandInfo& command, const std::string& option);

void printProgramHelp(std::ostream& out);
void printCommandHelp(const CommandInfo& command, std::ostream& out);
// `shell`: "bash" or "zsh"; throws std::invalid_argument for others.
void printCompletion(const std::string& shell, std::ostream& out);

}  // namespace oura::core

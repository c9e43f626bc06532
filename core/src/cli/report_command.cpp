#include "cli/report_command.hpp"

#include "cli/atomic_file.hpp"

#include "sync/days.hpp"
#include "cli/exit_codes.hpp"
#include "report/report_page.hpp"

#include <Poco/DateTimeFormatter.h>
#include <Poco/Timestamp.h>
#include <oura_sdk/errors.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <set>

#include <sys/stat.h>
#include <unistd.h>

namespace oura::core {

namespace {

// The page, written whole to a new file beside `path` and renamed over it: a reader sees the
// previous report or this one.
void writeAtomically(const std::string& path, const std::string& body) {
  const std::string problem = replaceFile(path, body);
  if (!problem.empty()) throw Error(ErrorKind::Unavailable, "--output " + path + ": " + problem);
}

}  // namespace

void checkReportOptions(const ReportOptions& options) {
  const std::string& path = options.output;
  if (options.days < 1 || options.days > 3660) {
    throw Error(ErrorKind::Usage, "report --days takes 1 to 3660 days, not " + std::to_string(options.days));
  }
  if (options.until) {
    try {
      parseDay(*options.until);
    } catch (const std::exception&) {
      throw Error(ErrorKind::Usage, "--until takes a day (YYYY-MM-DD), not '" + *options.until + "'");
    }
  }
  if (path.empty()) {
    throw Error(ErrorKind::Usage, "report needs --output FILE (an .html file, or - for stdout)");
  }
  if (path == "-") return;
  const std::filesystem::path target(path);
  const std::filesystem::path folder =
      target.parent_path().empty() ? std::filesystem::path(".") : target.parent_path();
  std::error_code ec;
  if (!std::filesystem::is_directory(folder, ec) || ::access(folder.c_str(), W_OK | X_OK) != 0 ||
      std::filesystem::is_directory(target, ec)) {
    throw Error(ErrorKind::Usage, "--output " + path +
                                    ": the folder must exist and be writable, and the file "
                                    "must not be a folder");
  }
}

int runReportCommand(Runtime& rt, const ReportOptions& options) {
  checkReportOptions(options);
  const DayNumber last = options.until ? parseDay(*options.until) : today();
  const DayNumber first = last - options.days + 1;

  for (SinkInstance& sink : rt.sinks) {
    std::lock_guard lock(*sink.mutex);
    const std::string source = "sink " + sink.name + " (" + sink.loaded.descriptor->name + ")";
    try {
      // The account: --account, the manifest's, else the only one the sink knows.
      std::string account = options.account ? *options.account
                            : rt.manifest.account_explicit ? rt.manifest.account
                                                           : "";
      auto status = sink.plugin->status(account);
      if (!status) continue;  // a sink that keeps nothing (stdout): try the next one
      std::vector<sdk::CollectionStatus> health = std::move(*status);
      if (account.empty()) {
        std::set<std::string> accounts;
        for (const auto& s : health) accounts.insert(s.account);
        if (accounts.size() != 1) {
          std::string names;
          for (const auto& a : accounts) names += (names.empty() ? "" : ", ") + a;
          throw Error(ErrorKind::Usage, source + " holds " +
                                          (accounts.empty() ? std::string("no account yet")
                                                            : "the accounts " + names) +
                                          ": choose one with --account (or collector.account)");
        }
        account = *accounts.begin();
      }
      std::erase_if(health, [&](const sdk::CollectionStatus& s) { return s.account != account; });
      auto days = sink.plugin->daySummaries(account, formatDay(first), formatDay(last));
      if (!days) continue;  // a sink that cannot read back (stdout): try the next one

      report::ReportInput input;
      input.account = account;
      input.first_day = formatDay(first);
      input.last_day = formatDay(last);
      input.generated_at =
          Poco::DateTimeFormatter::format(Poco::Timestamp(), "%Y-%m-%d %H:%M UTC");
      input.program_version = OURA_VERSION;
      input.source = source;
      input.days = std::move(*days);
      input.health = std::move(health);
      input.today = formatDay(today());
      input.overlap_days = rt.manifest.overlap_days;
      const std::string page = report::renderReport(input);
      if (options.output == "-") {
        std::cout << page;
        std::cout.flush();
      } else {
        writeAtomically(options.output, page);
        std::cerr << "oura-collector: report of " << account << ", " << input.first_day << " to "
                  << input.last_day << " (" << input.days.size() << " days with data) written to "
                  << options.output << "\n";
      }
      return kExitOk;
    } catch (const sdk::UnavailableError& e) {
      throw Error(ErrorKind::Unavailable, source + ": " + e.what());
    } catch (const sdk::ConfigError& e) {
      throw Error(ErrorKind::Config, source + ": " + e.what());
    } catch (const Error&) {
      throw;
    } catch (const sdk::Error& e) {
      throw Error(ErrorKind::Unavailable, source + ": cannot read the data: " + e.what());
    }
  }
  throw Error(ErrorKind::Config, "no sink of the manifest can read its data back for a report "
                               "(the postgres sink can; stdout cannot)");
}

}  // namespace oura::core

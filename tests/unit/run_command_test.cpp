// `run --every` (cli/run_command.hpp): the duration syntax and the loop's rules, with a stand-in
// for the scrape (the program itself is tested against the fake in run_every_test).
#include "cli/run_command.hpp"

#include <Poco/Logger.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

using namespace std::chrono_literals;
using oura::core::parseDuration;
using oura::core::runEvery;
using oura::core::RunEverySchedule;

TEST(ParseDuration, AcceptsAWholeNumberWithAUnit) {
  EXPECT_EQ(parseDuration("90s"), 90s);
  EXPECT_EQ(parseDuration("90"), 90s);
  EXPECT_EQ(parseDuration("30m"), 1800s);
  EXPECT_EQ(parseDuration("1h"), 3600s);
  EXPECT_EQ(parseDuration("2d"), 172800s);
  EXPECT_EQ(parseDuration("366d"), 366 * 86400s);
}

TEST(ParseDuration, RefusesEverythingElse) {
  for (const char* text : {"", "0", "0s", "-1m", "1.5h", "1h30m", "h", "1 h", "1H", "5x", "367d",
                           "99999999999999999999s", " 1s"}) {
    EXPECT_FALSE(parseDuration(text)) << text;
  }
}

TEST(RunEvery, TheFirstRunIsAtOnceAndASignalDuringItEndsTheLoopWithZero) {
  std::atomic<bool> stop{false};
  int runs = 0;
  RunEverySchedule schedule{3600s, 0s};
  const int code = runEvery(
      schedule,
      [&] {
        ++runs;
        stop = true;  // SIGTERM while the scrape runs: it ends interrupted (75)
        return 75;
      },
      stop, Poco::Logger::get("test.run"));
  EXPECT_EQ(code, 0);
  EXPECT_EQ(runs, 1);
}

TEST(RunEvery, ALoginNeededWaitsForTheIntervalAndASignalDuringTheWaitEndsIt) {
  std::atomic<bool> stop{false};
  std::atomic<int> runs{0};
  RunEverySchedule schedule{3600s, std::nullopt};
  std::jthread signaller([&](std::stop_token token) {
    while (runs == 0 && !token.stop_requested()) std::this_thread::sleep_for(10ms);
    // The loop is now waiting an hour; a spinning loop would have run again meanwhile.
    std::this_thread::sleep_for(300ms);
    stop = true;
  });
  const int code = runEvery(
      schedule,
      [&] {
        ++runs;
        return 77;
      },
      stop, Poco::Logger::get("test.run"));
  EXPECT_EQ(code, 0);
  EXPECT_EQ(runs, 1);
}

TEST(RunEvery, RunsAgainAfterTheIntervalWhateverTheOutcome) {
  std::atomic<bool> stop{false};
  int runs = 0;
  RunEverySchedule schedule{1s, 0s};
  const int codes[] = {78, 1, 0};
  const int code = runEvery(
      schedule,
      [&] {
        const int result = codes[runs++];
        if (runs == 3) stop = true;
        return result;
      },
      stop, Poco::Logger::get("test.run"));
  EXPECT_EQ(code, 0);
  EXPECT_EQ(runs, 3);
}

TEST(RunEvery, AUsageErrorEndsTheLoopWith64InsteadOfRepeatingIt) {
  std::atomic<bool> stop{false};
  int runs = 0;
  const int code = runEvery(
      RunEverySchedule{1s, 0s}, [&] { ++runs; return 64; }, stop, Poco::Logger::get("test.run"));
  EXPECT_EQ(code, 64);
  EXPECT_EQ(runs, 1);
}

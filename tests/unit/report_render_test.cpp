// The report's SVG charts and HTML page (core/src/report): scales, ticks, rolling averages, what
// a chart draws for its values, escaping, and a page that references nothing outside itself.
#include "report/report_page.hpp"
#include "report/svg_chart.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <string>

using namespace oura::report;

namespace {

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

std::vector<std::string> days(int n) {
  std::vector<std::string> out;
  for (int i = 1; i <= n; ++i) out.push_back("2024-01-" + std::string(i < 10 ? "0" : "") + std::to_string(i));
  return out;
}

}  // namespace

TEST(RollingAverage, AveragesTheValuesPresentInTheTrailingWindow) {
  const std::vector<std::optional<double>> v = {1, 2, std::nullopt, 3, 4, 5, 6, 7, 8};
  const auto avg = rollingAverage(v, 3);
  ASSERT_EQ(avg.size(), v.size());
  EXPECT_DOUBLE_EQ(*avg[0], 1);
  EXPECT_DOUBLE_EQ(*avg[1], 1.5);
  EXPECT_DOUBLE_EQ(*avg[2], 1.5);  // the missing day is left out, not counted as 0
  EXPECT_DOUBLE_EQ(*avg[3], 2.5);
  EXPECT_DOUBLE_EQ(*avg[8], 7);
  EXPECT_FALSE(rollingAverage({std::nullopt, std::nullopt}, 7)[1].has_value());
}

TEST(NiceTicks, CoverTheRangeWithRoundSteps) {
  const auto t = niceTicks(52, 61, 5);
  EXPECT_LE(t.front(), 52);
  EXPECT_GE(t.back(), 61);
  EXPECT_DOUBLE_EQ(t[1] - t[0], 2.5);
  const auto steps = niceTicks(0, 12345, 5);
  EXPECT_DOUBLE_EQ(steps[1] - steps[0], 5000);
  const auto single = niceTicks(7, 7, 5);  // one value: a range around it
  EXPECT_LT(single.front(), 7);
  EXPECT_GT(single.back(), 7);
  const auto negative = niceTicks(-0.42, 0.31, 5);
  EXPECT_LE(negative.front(), -0.42);
  EXPECT_GE(negative.back(), 0.31);
  EXPECT_NE(std::find(negative.begin(), negative.end(), 0.0), negative.end());
}

TEST(FormatTick, NumbersWithTheStepsDecimalsAndWallClockTimes) {
  EXPECT_EQ(formatTick(2.5, 2.5, AxisFormat::Number), "2.5");
  EXPECT_EQ(formatTick(10000, 5000, AxisFormat::Number), "10000");
  EXPECT_EQ(formatTick(-0.25, 0.25, AxisFormat::Number), "-0.25");
  EXPECT_EQ(formatTick(-1.5, 1, AxisFormat::Clock), "22:30");
  EXPECT_EQ(formatTick(7.25, 1, AxisFormat::Clock), "07:15");
  EXPECT_EQ(formatTick(24.5, 1, AxisFormat::Clock), "00:30");
}

TEST(RenderChart, DrawsOneBarPerValueAndBreaksLinesAtGaps) {
  ChartSpec chart;
  chart.title = "Steps";
  chart.unit = "steps";
  chart.days = days(5);
  chart.series = {{"steps", {1000, 2000, std::nullopt, 4000, 5000}, SeriesStyle::Bars, "#123456"},
                  {"avg", {1000, 1500, std::nullopt, 2333, 3000}, SeriesStyle::Line, "#000"}};
  const std::string svg = renderChart(chart);
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_NE(svg.find("<title>Steps</title>"), std::string::npos);
  EXPECT_EQ(count(svg, "<rect x=") - 2, 4u);  // 4 bars (+ 2 legend swatches)
  // The line is broken at the missing day: two sub-paths.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(svg, m, std::regex("<path d=\"([^\"]*)\"")));
  EXPECT_EQ(count(m[1].str(), "M"), 2u);
  EXPECT_NE(svg.find(">01-01<"), std::string::npos);  // day labels as MM-DD
  EXPECT_NE(svg.find(">01-05<"), std::string::npos);
  EXPECT_NE(svg.find(">steps</text>"), std::string::npos);
}

TEST(RenderChart, TallerValuesAreHigherUpAndBarsStartAtZero) {
  ChartSpec chart;
  chart.title = "t";
  chart.unit = "u";
  chart.days = days(2);
  chart.series = {{"s", {10, 20}, SeriesStyle::Points, "#000"}};
  const std::string svg = renderChart(chart);
  std::vector<double> cy;
  const std::regex cy_attribute("cy=\"([0-9.]+)\"");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), cy_attribute);
       it != std::sregex_iterator(); ++it) {
    cy.push_back(std::stod((*it)[1].str()));
  }
  ASSERT_EQ(cy.size(), 2u);
  EXPECT_GT(cy[0], cy[1]);  // SVG y grows downwards
}

TEST(RenderChart, StackedBarsAddUp) {
  ChartSpec chart;
  chart.title = "stages";
  chart.unit = "h";
  chart.stacked = true;
  chart.days = days(1);
  chart.series = {{"deep", {1.5}, SeriesStyle::Bars, "#111"},
                  {"light", {4}, SeriesStyle::Bars, "#222"},
                  {"REM", {2}, SeriesStyle::Bars, "#333"}};
  const std::string svg = renderChart(chart);
  // The axis reaches the sum (7.5 h), not the largest part.
  EXPECT_NE(svg.find(">8</text>"), std::string::npos) << svg;
  std::vector<double> tops, heights;
  const std::regex bar("<rect x=\"[0-9.]+\" y=\"([0-9.]+)\" width=\"[0-9.]+\" height=\"([0-9.]+)\"><title>");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), bar);
       it != std::sregex_iterator(); ++it) {
    tops.push_back(std::stod((*it)[1].str()));
    heights.push_back(std::stod((*it)[2].str()));
  }
  ASSERT_EQ(tops.size(), 3u);
  // Each part starts where the one below ends.
  EXPECT_NEAR(tops[0], tops[1] + heights[1], 0.11);
  EXPECT_NEAR(tops[1], tops[2] + heights[2], 0.11);
}

TEST(RenderChart, AClockAxisTicksAtWholeHours) {
  ChartSpec chart;
  chart.title = "bedtime";
  chart.unit = "wall clock";
  chart.format = AxisFormat::Clock;
  chart.days = days(3);
  chart.series = {{"bedtime", {-1.2, 0.5, 2.4}, SeriesStyle::Points, "#000"},
                  {"wake time", {6.9, 9.75, 11.1}, SeriesStyle::Points, "#111"}};
  const std::string svg = renderChart(chart);
  // -1.2 .. 11.1 h: every 3 hours from 21:00 to 12:00 (every 2 would take 8 ticks).
  for (const char* tick : {">21:00<", ">00:00<", ">03:00<", ">09:00<", ">12:00<"}) {
    EXPECT_NE(svg.find(tick), std::string::npos) << tick;
  }
  EXPECT_EQ(svg.find(">01:00<"), std::string::npos);
}

TEST(RenderChart, SaysNoDataAndEscapesText) {
  ChartSpec chart;
  chart.title = "<script>alert(1)</script>";
  chart.unit = "a & b";
  chart.days = days(3);
  chart.series = {{"x\"y", {std::nullopt, std::nullopt, std::nullopt}, SeriesStyle::Bars, "#000"}};
  const std::string svg = renderChart(chart);
  EXPECT_NE(svg.find("no data in this period"), std::string::npos);
  EXPECT_EQ(svg.find("<script>"), std::string::npos);
  EXPECT_NE(svg.find("&lt;script&gt;"), std::string::npos);
  EXPECT_NE(svg.find("a &amp; b"), std::string::npos);
  EXPECT_EQ(svg.find("x\"y"), std::string::npos);
}

TEST(RenderChart, RefusesASeriesOfTheWrongLength) {
  ChartSpec chart;
  chart.title = "t";
  chart.days = days(3);
  chart.series = {{"s", {1, 2}, SeriesStyle::Bars, "#000"}};
  EXPECT_THROW(renderChart(chart), std::invalid_argument);
}

TEST(RenderHypnogram, ABarPerRunOfOneStageOnTheWallClock) {
  // 23:00 + 8 slots: awake 10 min, light 10 min, deep 15 min, REM 5 min.
  const std::string svg = renderHypnogram("night", "44221113", -1.0);
  EXPECT_EQ(count(svg, "<rect "), 4u);
  EXPECT_NE(svg.find("<title>awake 23:00-23:10</title>"), std::string::npos) << svg;
  EXPECT_NE(svg.find("<title>deep 23:20-23:35</title>"), std::string::npos);
  EXPECT_NE(svg.find("<title>REM 23:35-23:40</title>"), std::string::npos);
  EXPECT_NE(svg.find(">23:00</text>"), std::string::npos);
  EXPECT_NE(renderHypnogram("none", "", 0).find("no stages recorded"), std::string::npos);
}

TEST(WallClockHours, ReadsTheWearersOwnClock) {
  EXPECT_DOUBLE_EQ(*wallClockHours("2024-01-09T23:15:00+02:00", "2024-01-10"), -0.75);
  EXPECT_DOUBLE_EQ(*wallClockHours("2024-01-10T07:30:00-05:00", "2024-01-10"), 7.5);
  EXPECT_DOUBLE_EQ(*wallClockHours("2024-01-10T07:30:00.000+00:00", "2024-01-10"), 7.5);
  EXPECT_FALSE(wallClockHours("yesterday", "2024-01-10").has_value());
}

TEST(RenderReport, ASelfContainedPageWithTheViewsAndTheHealth) {
  ReportInput in;
  in.account = "me & you";
  in.first_day = "2024-01-01";
  in.last_day = "2024-01-10";
  in.today = "2024-01-12";
  in.generated_at = "2024-01-12 06:00 UTC";
  in.program_version = "0.1.0";
  in.source = "sink db (postgres)";
  for (int i = 2; i <= 9; ++i) {
    oura::sdk::DaySummary d;
    d.day = "2024-01-0" + std::to_string(i);
    d.sleep_score = 70 + i;
    d.readiness_score = 80;
    d.resting_heart_rate = 50 + i;
    d.total_sleep = 7 * 3600;
    d.deep_sleep = 3600;
    d.light_sleep = 4 * 3600;
    d.rem_sleep = 2 * 3600;
    d.awake_time = 1800;
    d.bedtime_start = "2024-01-0" + std::to_string(i - 1) + "T23:00:00+01:00";
    d.bedtime_end = d.day + "T07:00:00+01:00";
    d.sleep_phase_5_min = std::string(12, '4') + std::string(60, '2') + std::string(24, '1');
    in.days.push_back(d);
  }
  oura::sdk::CollectionStatus fresh, stale;
  fresh.account = stale.account = in.account;
  fresh.collection = "daily_sleep";
  fresh.synced_through = "2024-01-11";
  fresh.last_run_outcome = "ok";
  fresh.last_run_finished_at_ms = 1705039200000;
  stale.collection = "heartrate";
  stale.synced_through = "2024-01-05";
  stale.last_run_outcome = "failed";
  stale.last_error_at_ms = 1705039200000;
  stale.last_error_outcome = "failed";
  stale.last_error = "HTTP 500 <html>";
  in.health = {fresh, stale};
  const std::string page = renderReport(in);
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
  for (const char* view : {"Sleep, readiness and activity scores", "Resting heart rate",
                           "Sleep stages per night", "Bedtime and wake time", "Collector health",
                           "Nights (main sleep)", "The night to 2024-01-09"}) {
    EXPECT_NE(page.find(view), std::string::npos) << view;
  }
  EXPECT_GE(count(page, "<svg "), 10u);
  // Nothing outside the file: no script, no URL but the SVG namespace, no @import or url().
  EXPECT_EQ(page.find("<script"), std::string::npos);
  EXPECT_EQ(page.find("url("), std::string::npos);
  EXPECT_EQ(page.find("@import"), std::string::npos);
  std::string without_ns = std::regex_replace(page, std::regex("xmlns=\"http://www.w3.org/2000/svg\""), "");
  EXPECT_FALSE(std::regex_search(without_ns, std::regex("https?:|//[a-z]"))) << "a URL in the page";
  // Escaped account and error text; the stale collection is marked, the fresh one is not.
  EXPECT_NE(page.find("me &amp; you"), std::string::npos);
  EXPECT_NE(page.find("HTTP 500 &lt;html&gt;"), std::string::npos);
  EXPECT_NE(page.find("7 (stale)"), std::string::npos);
  EXPECT_NE(page.find(">1</td>"), std::string::npos);
  // The nights table shows the wearer's clock: 23:00 and 07:00.
  EXPECT_NE(page.find("<td>23:00</td><td>07:00</td>"), std::string::npos);
  EXPECT_NE(page.find("7 h 00 min"), std::string::npos);
  EXPECT_NE(page.find("@media print"), std::string::npos);
}

TEST(RenderReport, RefusesAnEmptyPeriod) {
  ReportInput in;
  in.first_day = "2024-01-10";
  in.last_day = "2024-01-01";
  in.today = "2024-01-12";
  EXPECT_THROW(renderReport(in), std::invalid_argument);
  in.first_day = "2024-01-01";
  in.today = "not a day";
  EXPECT_THROW(renderReport(in), std::invalid_argument);
}

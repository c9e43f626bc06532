#pragma once
// Daily charts as inline SVG for `oura-collector report`: one value per day on a continuous
// axis of days, drawn as bars (stacked or side by side), lines or points, with a y axis of round
// ticks. No script, no font, no external reference: the SVG prints as it shows.

#include <optional>
#include <string>
#include <vector>

namespace oura::report {

// How one series is drawn.
enum class SeriesStyle {
  Bars,    // a bar per day; several Bars series stack (ChartSpec::stacked) or stand side by side
  Line,    // a line through the days with a value, broken where a day has none
  Points,  // a dot per day with a value
};

struct Series {
  std::string name;                          // legend text
  std::vector<std::optional<double>> values;  // one per ChartSpec::days entry; absent: no value
  SeriesStyle style = SeriesStyle::Bars;
  std::string color;  // a CSS colour, e.g. "#3b6fb6"
};

// How the y axis labels its ticks.
enum class AxisFormat {
  Number,  // 0, 2.5, 10000 (as few decimals as the tick step needs)
  Clock,   // hours from midnight as a wall-clock time: -1.5 -> "22:30", 7.25 -> "07:15"
};

struct ChartSpec {
  std::string title;                // the SVG's accessible <title>
  std::string unit;                 // the y axis label, e.g. "bpm", "h", "°C"
  std::vector<std::string> days;    // "YYYY-MM-DD", consecutive, oldest first
  std::vector<Series> series;
  bool stacked = false;             // Bars series stack instead of standing side by side
  std::optional<double> y_min;      // fixed axis ends (e.g. 0 and 100 for scores)
  std::optional<double> y_max;
  AxisFormat format = AxisFormat::Number;
};

// The chart as one <svg> element (viewBox 0 0 640 240, scaling to its container's width).
// A chart without any value says "no data" in its plot area. Text is escaped.
// Throws std::invalid_argument when a series does not have one value per day.
std::string renderChart(const ChartSpec& chart);

// One night's sleep stages as a hypnogram: a row per stage (awake at the top, then REM, light,
// deep), a bar for each run of 5-minute slots in one stage, the x axis on the wall clock from
// `start_hours` (hours from midnight, as wallClockHours gives). `phases` is Oura's
// sleep_phase_5_min ('1' deep, '2' light, '3' REM, '4' awake); other characters are gaps.
// Same viewBox width as renderChart, 160 high.
std::string renderHypnogram(const std::string& title, const std::string& phases,
                            double start_hours);

// The trailing rolling mean over `window` days (the day and the window-1 days before it) of the
// values present in that window; absent where the window holds none.
std::vector<std::optional<double>> rollingAverage(const std::vector<std::optional<double>>& values,
                                                  int window);

// Round tick values covering [low, high] (about `count` of them, steps of 1, 2, 2.5 or 5 times a
// power of ten); the first tick <= low, the last >= high.
std::vector<double> niceTicks(double low, double high, int count);

// A tick label: the number with the decimals its step needs, or the wall-clock time.
std::string formatTick(double value, double step, AxisFormat format);

}  // namespace oura::report

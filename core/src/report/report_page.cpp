#include "report/report_page.hpp"

#include "sync/days.hpp"
#include "report/svg_chart.hpp"

#include <Poco/DateTime.h>
#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/DateTimeParser.h>
#include <Poco/Net/Net.h>
#include <Poco/NumberFormatter.h>
#include <Poco/Timestamp.h>

#include <cmath>
#include <functional>
#include <map>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace oura::report {

namespace {

using Getter = std::function<std::optional<double>(const sdk::DaySummary&)>;
using Values = std::vector<std::optional<double>>;

std::string esc(const std::string& text) { return Poco::Net::htmlize(text); }

std::string fixed(double v, int decimals) { return Poco::NumberFormatter::format(v, decimals); }

// "7 h 05 min" from seconds.
std::string duration(double seconds) {
  const long minutes = std::lround(seconds / 60);
  if (minutes < 60) return std::to_string(minutes) + " min";
  return std::to_string(minutes / 60) + " h " + Poco::NumberFormatter::format0(static_cast<int>(minutes % 60), 2) + " min";
}

std::string clock(double hours) { return formatTick(hours, 1.0 / 60, AxisFormat::Clock); }

const char* kCss = R"(
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; margin: 24px auto;
       max-width: 1100px; padding: 0 16px; color: #1d2430; background: #fff; }
h1 { font-size: 1.6em; margin: 0 0 4px; }
h2 { font-size: 1.25em; margin: 28px 0 8px; border-bottom: 2px solid #d7dde6; padding-bottom: 4px; }
h3 { font-size: 0.95em; margin: 0 0 4px; font-weight: 600; }
p.meta { color: #5a6473; margin: 0 0 12px; font-size: 0.9em; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(160px, 1fr)); gap: 10px; }
.tile { border: 1px solid #d7dde6; border-radius: 6px; padding: 10px 12px; break-inside: avoid; }
.tile .label { font-size: 0.8em; color: #5a6473; }
.tile .value { font-size: 1.7em; font-weight: 600; }
.tile .sub { font-size: 0.8em; color: #5a6473; }
.grid { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 14px 18px; }
figure { margin: 0; break-inside: avoid; page-break-inside: avoid; }
figure.half { margin-top: 16px; max-width: calc(50% - 9px); }
figcaption { font-size: 0.8em; color: #5a6473; }
svg.chart { width: 100%; height: auto; display: block; }
svg.chart text { font-family: inherit; font-size: 11px; fill: #3b4452; }
svg.chart text.unit { font-size: 11px; fill: #5a6473; }
svg.chart text.nodata { font-size: 14px; fill: #8a93a0; }
svg.chart line.grid { stroke: #e6e9ee; stroke-width: 1; }
svg.chart line.zero { stroke: #9aa3af; stroke-width: 1; }
table { border-collapse: collapse; width: 100%; font-size: 0.85em; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #e6e9ee; vertical-align: top; }
th { background: #f3f5f8; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr { break-inside: avoid; }
.stale, .bad { color: #b3261e; font-weight: 600; }
.ok { color: #1e7b34; }
footer { margin-top: 28px; font-size: 0.8em; color: #5a6473; }
@page { size: A4; margin: 12mm; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  .grid { gap: 8px 12px; }
  h2 { break-after: avoid; }
}
)";

struct Colors {
  static constexpr const char* sleep = "#3b6fb6";
  static constexpr const char* readiness = "#2a9d8f";
  static constexpr const char* activity = "#e76f51";
  static constexpr const char* average = "#1d2430";
  static constexpr const char* deep = "#1f3b73";
  static constexpr const char* light = "#6c9bd2";
  static constexpr const char* rem = "#8e5cc2";
  static constexpr const char* awake = "#f2a541";
};

class Page {
 public:
  explicit Page(const ReportInput& in) : in_(in) {
    const core::DayNumber first = core::parseDay(in.first_day);
    const core::DayNumber last = core::parseDay(in.last_day);
    if (last < first) {
      throw std::invalid_argument("report period " + in.first_day + " to " + in.last_day +
                                  " is empty");
    }
    std::map<std::string, const sdk::DaySummary*> by_day;
    for (const sdk::DaySummary& d : in.days) by_day[d.day] = &d;
    for (core::DayNumber d = first; d <= last; ++d) {
      days_.push_back(core::formatDay(d));
      auto it = by_day.find(days_.back());
      rows_.push_back(it == by_day.end() ? nullptr : it->second);
    }
  }

  Values values(const Getter& get, double scale = 1) const {
    Values out;
    for (const sdk::DaySummary* row : rows_) {
      std::optional<double> v = row ? get(*row) : std::nullopt;
      if (v) *v *= scale;
      out.push_back(v);
    }
    return out;
  }

  Series series(const std::string& name, const Getter& get, SeriesStyle style,
                const std::string& color, double scale = 1) const {
    return Series{name, values(get, scale), style, color};
  }

  // A daily series and its 7-day rolling average as a line.
  std::vector<Series> withAverage(const std::string& name, const Getter& get, SeriesStyle style,
                                  const std::string& color, double scale = 1) const {
    Series daily = series(name, get, style, color, scale);
    Series average{"7-day average", rollingAverage(daily.values, 7), SeriesStyle::Line,
                   Colors::average};
    return {daily, average};
  }

  void figure(std::ostream& out, const std::string& heading, const std::string& caption,
              ChartSpec chart) const {
    chart.days = days_;
    chart.title = heading;
    out << "<figure><h3>" << esc(heading) << "</h3>" << renderChart(chart) << "<figcaption>"
        << esc(caption) << "</figcaption></figure>\n";
  }

  // The latest value on or before the period's end, its day, and the period's mean.
  void tile(std::ostream& out, const std::string& label, const Getter& get,
            const std::function<std::string(double)>& show) const {
    std::optional<double> latest;
    std::string latest_day;
    double sum = 0;
    int n = 0;
    for (std::size_t i = 0; i < rows_.size(); ++i) {
      if (!rows_[i]) continue;
      if (auto v = get(*rows_[i])) {
        latest = v;
        latest_day = days_[i];
        sum += *v;
        ++n;
      }
    }
    out << "<div class=\"tile\"><div class=\"label\">" << esc(label) << "</div><div class=\"value\">"
        << (latest ? esc(show(*latest)) : "–") << "</div><div class=\"sub\">"
        << (latest ? esc(latest_day) + " · average " + esc(show(sum / n)) : "no data in this period")
        << "</div></div>\n";
  }

  void overview(std::ostream& out) const {
    out << "<h2>Overview</h2>\n<section class=\"tiles\">\n";
    auto score = [](double v) { return fixed(v, 0); };
    tile(out, "Sleep score", [](const auto& d) { return d.sleep_score; }, score);
    tile(out, "Readiness score", [](const auto& d) { return d.readiness_score; }, score);
    tile(out, "Activity score", [](const auto& d) { return d.activity_score; }, score);
    tile(out, "Resting heart rate", [](const auto& d) { return d.resting_heart_rate; },
         [](double v) { return fixed(v, 0) + " bpm"; });
    tile(out, "HRV balance (score)", [](const auto& d) { return d.hrv_balance; }, score);
    tile(out, "Temperature deviation", [](const auto& d) { return d.temperature_deviation; },
         [](double v) { return (v > 0 ? "+" : "") + fixed(v, 2) + " °C"; });
    tile(out, "Steps", [](const auto& d) { return d.steps; }, score);
    tile(out, "Total sleep", [](const auto& d) { return d.total_sleep; }, duration);
    out << "</section>\n<div class=\"grid\">\n";
    ChartSpec scores;
    scores.unit = "score";
    scores.y_min = 0;
    scores.y_max = 100;
    scores.series = {
        series("sleep", [](const auto& d) { return d.sleep_score; }, SeriesStyle::Line, Colors::sleep),
        series("readiness", [](const auto& d) { return d.readiness_score; }, SeriesStyle::Line,
               Colors::readiness),
        series("activity", [](const auto& d) { return d.activity_score; }, SeriesStyle::Line,
               Colors::activity)};
    figure(out, "Sleep, readiness and activity scores", "Daily scores, 1-100.", scores);
    ChartSpec rhr;
    rhr.unit = "bpm";
    rhr.series = withAverage("resting heart rate", [](const auto& d) { return d.resting_heart_rate; },
                             SeriesStyle::Points, Colors::activity);
    figure(out, "Resting heart rate", "Lowest heart rate of each night's main sleep, bpm.", rhr);
    ChartSpec hrv;
    hrv.unit = "ms";
    hrv.series = withAverage("average HRV", [](const auto& d) { return d.average_hrv; },
                             SeriesStyle::Points, Colors::readiness);
    figure(out, "Heart rate variability", "Average HRV (RMSSD) of each night's main sleep, ms.", hrv);
    ChartSpec temp;
    temp.unit = "°C";
    temp.series = {series("deviation", [](const auto& d) { return d.temperature_deviation; },
                          SeriesStyle::Bars, Colors::activity)};
    figure(out, "Temperature deviation",
           "Skin temperature against the wearer's long-term baseline, °C.", temp);
    ChartSpec stress;
    stress.unit = "h";
    stress.series = {
        series("high stress", [](const auto& d) { return d.stress_high; }, SeriesStyle::Bars,
               Colors::activity, 1.0 / 3600),
        series("high recovery", [](const auto& d) { return d.recovery_high; }, SeriesStyle::Bars,
               Colors::readiness, 1.0 / 3600)};
    figure(out, "Daytime stress and recovery",
           "Time in the high stress and high recovery zones per day, hours.", stress);
    ChartSpec steps;
    steps.unit = "steps";
    steps.series = withAverage("steps", [](const auto& d) { return d.steps; }, SeriesStyle::Bars,
                               Colors::sleep);
    figure(out, "Steps", "Steps per day with the 7-day rolling average.", steps);
    out << "</div>\n";
  }

  void sleep(std::ostream& out) const {
    out << "<h2>Sleep</h2>\n<div class=\"grid\">\n";
    ChartSpec stages;
    stages.unit = "h";
    stages.stacked = true;
    const double h = 1.0 / 3600;
    stages.series = {
        series("deep", [](const auto& d) { return d.deep_sleep; }, SeriesStyle::Bars, Colors::deep, h),
        series("light", [](const auto& d) { return d.light_sleep; }, SeriesStyle::Bars, Colors::light, h),
        series("REM", [](const auto& d) { return d.rem_sleep; }, SeriesStyle::Bars, Colors::rem, h),
        series("awake", [](const auto& d) { return d.awake_time; }, SeriesStyle::Bars, Colors::awake, h)};
    figure(out, "Sleep stages per night",
           "The main sleep's stages, stacked (the bar is the time in bed), hours.", stages);
    ChartSpec total;
    total.unit = "h";
    total.series = withAverage("total sleep", [](const auto& d) { return d.total_sleep; },
                               SeriesStyle::Bars, Colors::sleep, h);
    figure(out, "Total sleep", "Total sleep time of the main sleep with the 7-day rolling average.",
           total);
    ChartSpec sleep_score;
    sleep_score.unit = "score";
    sleep_score.y_min = 0;
    sleep_score.y_max = 100;
    sleep_score.series = withAverage("sleep score", [](const auto& d) { return d.sleep_score; },
                                     SeriesStyle::Bars, Colors::sleep);
    figure(out, "Sleep score", "Daily sleep score, 1-100, with the 7-day rolling average.",
           sleep_score);
    ChartSpec regularity;
    regularity.unit = "wall clock";
    regularity.format = AxisFormat::Clock;
    regularity.series = {
        series("bedtime", [](const auto& d) -> std::optional<double> {
                 return d.bedtime_start ? wallClockHours(*d.bedtime_start, d.day) : std::nullopt;
               }, SeriesStyle::Points, Colors::rem),
        series("wake time", [](const auto& d) -> std::optional<double> {
                 return d.bedtime_end ? wallClockHours(*d.bedtime_end, d.day) : std::nullopt;
               }, SeriesStyle::Points, Colors::awake)};
    figure(out, "Bedtime and wake time",
           "When the main sleep began and ended on the wearer's own clock; flat is regular.",
           regularity);
    ChartSpec efficiency;
    efficiency.unit = "%";
    efficiency.series = {series("efficiency", [](const auto& d) { return d.efficiency; },
                                SeriesStyle::Points, Colors::readiness)};
    figure(out, "Sleep efficiency", "Share of the time in bed spent asleep, %.", efficiency);
    ChartSpec latency;
    latency.unit = "min";
    latency.series = {series("latency", [](const auto& d) { return d.latency; },
                             SeriesStyle::Points, Colors::activity, 1.0 / 60)};
    figure(out, "Sleep latency", "Time to fall asleep, minutes.", latency);
    out << "</div>\n";
    lastNight(out);
    nights(out);
  }

  // The hypnogram of the latest night with stages (the Sleep dashboard's chosen night).
  void lastNight(std::ostream& out) const {
    for (auto it = rows_.rbegin(); it != rows_.rend(); ++it) {
      const sdk::DaySummary* d = *it;
      if (!d || !d->sleep_phase_5_min || d->sleep_phase_5_min->empty() || !d->bedtime_start) continue;
      const auto start = wallClockHours(*d->bedtime_start, d->day);
      if (!start) continue;
      const std::string heading = "The night to " + d->day;
      out << "<figure class=\"half\"><h3>" << esc(heading) << "</h3>"
          << renderHypnogram(heading + ": sleep stages", *d->sleep_phase_5_min, *start)
          << "<figcaption>" << esc("Sleep stages of the latest main sleep, 5-minute slots, on the "
                                   "wearer's clock (" + clock(*start) + " to " +
                                   clock(*start + static_cast<double>(d->sleep_phase_5_min->size()) / 12.0) + ").")
          << "</figcaption></figure>\n";
      return;
    }
  }

  void nights(std::ostream& out) const {
    out << "<h3 style=\"margin-top:16px\">Nights (main sleep)</h3>\n<table><thead><tr><th>day</th>"
           "<th>bedtime</th><th>wake time</th><th class=\"num\">total sleep</th>"
           "<th class=\"num\">deep</th><th class=\"num\">REM</th><th class=\"num\">efficiency</th>"
           "<th class=\"num\">resting HR</th><th class=\"num\">HRV</th>"
           "<th class=\"num\">sleep score</th></tr></thead><tbody>\n";
    bool any = false;
    for (auto it = rows_.rbegin(); it != rows_.rend(); ++it) {
      const sdk::DaySummary* d = *it;
      if (!d || !(d->total_sleep || d->sleep_score)) continue;
      any = true;
      auto opt = [](const std::optional<double>& v, const std::function<std::string(double)>& f) {
        return v ? esc(f(*v)) : std::string("–");
      };
      auto wall = [&](const std::optional<std::string>& iso) {
        auto hours = iso ? wallClockHours(*iso, d->day) : std::nullopt;
        return hours ? clock(*hours) : std::string("–");
      };
      out << "<tr><td>" << esc(d->day) << "</td><td>" << wall(d->bedtime_start) << "</td><td>"
          << wall(d->bedtime_end) << "</td><td class=\"num\">" << opt(d->total_sleep, duration)
          << "</td><td class=\"num\">" << opt(d->deep_sleep, duration) << "</td><td class=\"num\">"
          << opt(d->rem_sleep, duration) << "</td><td class=\"num\">"
          << opt(d->efficiency, [](double v) { return fixed(v, 0) + " %"; })
          << "</td><td class=\"num\">"
          << opt(d->resting_heart_rate, [](double v) { return fixed(v, 0) + " bpm"; })
          << "</td><td class=\"num\">"
          << opt(d->average_hrv, [](double v) { return fixed(v, 0) + " ms"; })
          << "</td><td class=\"num\">" << opt(d->sleep_score, [](double v) { return fixed(v, 0); })
          << "</td></tr>\n";
    }
    if (!any) out << "<tr><td colspan=\"10\">no main sleep recorded in this period</td></tr>\n";
    out << "</tbody></table>\n";
  }

  void health(std::ostream& out) const {
    out << "<h2>Collector health</h2>\n";
    if (in_.health.empty()) {
      out << "<p>No sync state and no run recorded for this account.</p>\n";
      return;
    }
    const core::DayNumber today = core::parseDay(in_.today);
    out << "<table><thead><tr><th>collection</th><th>synced through</th>"
           "<th class=\"num\">days behind</th><th>last run (UTC)</th><th>outcome</th>"
           "<th>last error</th></tr></thead><tbody>\n";
    auto when = [](std::int64_t ms) {
      return Poco::DateTimeFormatter::format(Poco::Timestamp(ms * 1000), "%Y-%m-%d %H:%M");
    };
    for (const sdk::CollectionStatus& s : in_.health) {
      std::string behind = "–";
      bool stale = false;
      if (s.synced_through) {
        const long days = today - core::parseDay(*s.synced_through);
        stale = days > in_.overlap_days + 1;
        behind = std::to_string(std::max(0L, days)) + (stale ? " (stale)" : "");
      }
      const bool ok = s.last_run_outcome == "ok";
      out << "<tr><td>" << esc(s.collection) << "</td><td>"
          << esc(s.synced_through.value_or("–")) << "</td><td class=\"num"
          << (stale ? " stale" : "") << "\">" << esc(behind) << "</td><td>"
          << (s.last_run_finished_at_ms ? esc(when(*s.last_run_finished_at_ms)) : "never")
          << "</td><td class=\"" << (s.last_run_outcome.empty() ? "" : ok ? "ok" : "bad") << "\">"
          << esc(s.last_run_outcome.empty() ? "–" : s.last_run_outcome) << "</td><td>"
          << (s.last_error_at_ms ? esc(when(*s.last_error_at_ms) + " " + s.last_error_outcome +
                                       ": " + s.last_error)
                                 : "–")
          << "</td></tr>\n";
    }
    out << "</tbody></table>\n";
  }

  std::string render() const {
    std::ostringstream out;
    const std::string title = "Oura report: " + in_.account + ", " + in_.first_day + " to " +
                              in_.last_day;
    out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
           "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
           "style-src 'unsafe-inline'; img-src data:\">\n<title>"
        << esc(title) << "</title>\n<style>" << kCss << "</style>\n</head>\n<body>\n<header><h1>"
        << esc(title) << "</h1><p class=\"meta\">" << days_.size() << " days · "
        << in_.days.size() << " with data · generated " << esc(in_.generated_at)
        << " by oura-collector " << esc(in_.program_version) << " from " << esc(in_.source)
        << "</p></header>\n";
    overview(out);
    sleep(out);
    health(out);
    out << "<footer>Days are the wearer's own calendar days (Oura's <code>day</code>). The main "
           "sleep is Oura's <code>long_sleep</code> of the night; naps are not counted. Scores "
           "and the HRV balance are Oura's 1-100 scores. Collections more than "
        << in_.overlap_days + 1
        << " days behind (the overlap + 1) are marked stale.</footer>\n</body>\n</html>\n";
    return out.str();
  }

 private:
  const ReportInput& in_;
  std::vector<std::string> days_;
  std::vector<const sdk::DaySummary*> rows_;
};

}  // namespace

std::optional<double> wallClockHours(const std::string& iso, const std::string& day) {
  // Poco's parser accepts nearly anything: only an ISO 8601 date and time with an offset.
  static const std::regex shape(
      R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$)");
  // The parsed DateTime is the time as written (the wearer's wall clock); tzd is its offset.
  Poco::DateTime wall;
  int tzd = 0;
  if (!std::regex_match(iso, shape) ||
      !Poco::DateTimeParser::tryParse(Poco::DateTimeFormat::ISO8601_FRAC_FORMAT, iso, wall, tzd)) {
    return std::nullopt;
  }
  core::DayNumber d = 0;
  try {
    d = core::parseDay(day);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  // Seconds since the epoch of the wall-clock time, minus those of the day's midnight.
  const double local = static_cast<double>(wall.timestamp().epochTime());
  return (local - static_cast<double>(d) * 86400.0) / 3600.0;
}

std::string renderReport(const ReportInput& input) {
  core::parseDay(input.today);
  return Page(input).render();
}

}  // namespace oura::report

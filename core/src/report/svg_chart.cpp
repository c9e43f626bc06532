#include "report/svg_chart.hpp"

#include <Poco/Net/Net.h>
#include <Poco/NumberFormatter.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace oura::report {

namespace {

// The SVG's user space; it scales to the page through viewBox.
constexpr double kWidth = 640, kHeight = 240;
constexpr double kLeft = 58, kRight = 12, kTop = 30, kBottom = 34;
constexpr double kPlotW = kWidth - kLeft - kRight, kPlotH = kHeight - kTop - kBottom;

std::string num(double v) { return Poco::NumberFormatter::format(v, 1); }

std::string esc(const std::string& text) { return Poco::Net::htmlize(text); }

// Decimals a tick step needs: 0 for 1, 5, 100; 1 for 0.5; 2 for 0.25.
int decimalsFor(double step) {
  int decimals = 0;
  while (decimals < 4 && std::fabs(step * std::pow(10.0, decimals) -
                                   std::round(step * std::pow(10.0, decimals))) > 1e-6) {
    ++decimals;
  }
  return decimals;
}

// Whole hours a clock reads well at: steps of 1, 2, 3, 4, 6 or 12 hours, at most 7 ticks.
std::vector<double> clockTicks(double low, double high) {
  double step = 12;
  for (double s : {1.0, 2.0, 3.0, 4.0, 6.0}) {
    if ((std::ceil(high / s) - std::floor(low / s)) <= 6) {
      step = s;
      break;
    }
  }
  std::vector<double> ticks;
  for (double t = std::floor(low / step) * step; t <= std::ceil(high / step) * step + 1e-9; t += step) {
    ticks.push_back(t);
  }
  if (ticks.size() < 2) ticks.push_back(ticks.back() + step);
  return ticks;
}

}  // namespace

std::vector<std::optional<double>> rollingAverage(const std::vector<std::optional<double>>& values,
                                                  int window) {
  std::vector<std::optional<double>> out(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    double sum = 0;
    int n = 0;
    const std::size_t first = i + 1 >= static_cast<std::size_t>(window) ? i + 1 - window : 0;
    for (std::size_t j = first; j <= i; ++j) {
      if (values[j]) {
        sum += *values[j];
        ++n;
      }
    }
    if (n > 0) out[i] = sum / n;
  }
  return out;
}

std::vector<double> niceTicks(double low, double high, int count) {
  if (!(high > low)) {  // one value (or none): a range around it
    const double pad = low == 0 ? 1 : std::fabs(low) * 0.1;
    low -= pad;
    high += pad;
  }
  const double raw = (high - low) / std::max(1, count - 1);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude * 10;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (m * magnitude >= raw) {
      step = m * magnitude;
      break;
    }
  }
  std::vector<double> ticks;
  const double start = std::floor(low / step + 1e-9) * step;
  for (double t = start; t < high + step - 1e-9 * step; t += step) {
    ticks.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
  }
  if (ticks.size() < 2) ticks.push_back(start + step);
  return ticks;
}

std::string formatTick(double value, double step, AxisFormat format) {
  if (format == AxisFormat::Clock) {
    long minutes = std::lround(value * 60);
    minutes = ((minutes % 1440) + 1440) % 1440;
    std::string out = Poco::NumberFormatter::format0(static_cast<int>(minutes / 60), 2) + ":" +
                      Poco::NumberFormatter::format0(static_cast<int>(minutes % 60), 2);
    return out;
  }
  return Poco::NumberFormatter::format(value, decimalsFor(step));
}

std::string renderChart(const ChartSpec& chart) {
  const std::size_t n = chart.days.size();
  for (const Series& s : chart.series) {
    if (s.values.size() != n) {
      throw std::invalid_argument("chart '" + chart.title + "': series '" + s.name + "' has " +
                                  std::to_string(s.values.size()) + " values for " +
                                  std::to_string(n) + " days");
    }
  }
  // The value range: stacked bars add up per day; bars start at zero.
  double low = std::numeric_limits<double>::infinity();
  double high = -low;
  bool any = false, bars = false;
  std::vector<double> stack_pos(n, 0), stack_neg(n, 0);
  for (const Series& s : chart.series) {
    for (std::size_t i = 0; i < n; ++i) {
      if (!s.values[i]) continue;
      any = true;
      double v = *s.values[i];
      if (s.style == SeriesStyle::Bars) {
        bars = true;
        if (chart.stacked) v = (v >= 0 ? stack_pos[i] += v : stack_neg[i] += v);
      }
      low = std::min(low, v);
      high = std::max(high, v);
    }
  }
  if (!any) low = 0, high = 1;
  if (bars) low = std::min(low, 0.0), high = std::max(high, 0.0);
  if (chart.y_min) low = std::min(low, *chart.y_min);
  if (chart.y_max) high = std::max(high, *chart.y_max);
  std::vector<double> ticks = chart.format == AxisFormat::Clock ? clockTicks(low, high)
                                                                : niceTicks(low, high, 5);
  if (chart.y_min && *chart.y_min <= low) ticks.front() = std::max(ticks.front(), *chart.y_min);
  const double y0 = ticks.front(), y1 = ticks.back();
  const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1;
  auto y = [&](double v) { return kTop + kPlotH - (v - y0) / (y1 - y0) * kPlotH; };
  const double band = n ? kPlotW / static_cast<double>(n) : kPlotW;
  auto xc = [&](std::size_t i) { return kLeft + band * (static_cast<double>(i) + 0.5); };

  std::ostringstream out;
  out << "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " << num(kWidth) << ' '
      << num(kHeight) << "\" role=\"img\" class=\"chart\"><title>" << esc(chart.title)
      << "</title>";
  // Grid and y axis.
  for (double t : ticks) {
    out << "<line x1=\"" << num(kLeft) << "\" x2=\"" << num(kLeft + kPlotW) << "\" y1=\""
        << num(y(t)) << "\" y2=\"" << num(y(t)) << "\" class=\"" << (t == 0 ? "zero" : "grid")
        << "\"/><text x=\"" << num(kLeft - 6) << "\" y=\"" << num(y(t) + 4)
        << "\" class=\"tick\" text-anchor=\"end\">" << esc(formatTick(t, step, chart.format))
        << "</text>";
  }
  out << "<text x=\"12\" y=\"" << num(kTop + kPlotH / 2) << "\" class=\"unit\" "
      << "text-anchor=\"middle\" transform=\"rotate(-90 12 " << num(kTop + kPlotH / 2) << ")\">"
      << esc(chart.unit) << "</text>";
  // Day labels: about eight, first and last day included.
  const std::size_t every = std::max<std::size_t>(1, (n + 7) / 8);
  for (std::size_t i = 0; i < n; ++i) {
    const bool last_far_enough = i + 1 == n && (n - 1) % every >= (every + 1) / 2;
    if (i % every != 0 && !last_far_enough) continue;
    const std::string label = chart.days[i].size() >= 10 ? chart.days[i].substr(5) : chart.days[i];
    out << "<text x=\"" << num(xc(i)) << "\" y=\"" << num(kTop + kPlotH + 16)
        << "\" class=\"tick\" text-anchor=\"middle\">" << esc(label) << "</text>";
  }
  if (!any) {
    out << "<text x=\"" << num(kLeft + kPlotW / 2) << "\" y=\"" << num(kTop + kPlotH / 2)
        << "\" class=\"nodata\" text-anchor=\"middle\">no data in this period</text>";
  }
  // Bars: stacked, or side by side within the day's band.
  std::vector<const Series*> bar_series;
  for (const Series& s : chart.series) {
    if (s.style == SeriesStyle::Bars) bar_series.push_back(&s);
  }
  std::fill(stack_pos.begin(), stack_pos.end(), 0.0);
  std::fill(stack_neg.begin(), stack_neg.end(), 0.0);
  const double bar_w = band * 0.8 / (chart.stacked || bar_series.empty()
                                         ? 1.0
                                         : static_cast<double>(bar_series.size()));
  for (std::size_t k = 0; k < bar_series.size(); ++k) {
    const Series& s = *bar_series[k];
    out << "<g fill=\"" << esc(s.color) << "\">";
    for (std::size_t i = 0; i < n; ++i) {
      if (!s.values[i]) continue;
      const double v = *s.values[i];
      double from = 0, to = v;
      if (chart.stacked) {
        double& base = v >= 0 ? stack_pos[i] : stack_neg[i];
        from = base;
        to = base + v;
        base = to;
      }
      const double left = chart.stacked ? xc(i) - band * 0.4
                                        : xc(i) - band * 0.4 + bar_w * static_cast<double>(k);
      const double top = std::min(y(from), y(to));
      const double height = std::max(std::fabs(y(from) - y(to)), 0.5);
      out << "<rect x=\"" << num(left) << "\" y=\"" << num(top) << "\" width=\""
          << num(std::max(bar_w, 0.5)) << "\" height=\"" << num(height) << "\"><title>"
          << esc(chart.days[i] + " " + s.name + ": " +
                 Poco::NumberFormatter::format(v, decimalsFor(step) + 1) + " " + chart.unit)
          << "</title></rect>";
    }
    out << "</g>";
  }
  // Lines (broken at days without a value) and points.
  for (const Series& s : chart.series) {
    if (s.style == SeriesStyle::Line) {
      std::string d;
      bool pen_down = false;
      for (std::size_t i = 0; i < n; ++i) {
        if (!s.values[i]) {
          pen_down = false;
          continue;
        }
        d += (pen_down ? " L" : (d.empty() ? "M" : " M")) + num(xc(i)) + " " + num(y(*s.values[i]));
        pen_down = true;
      }
      if (!d.empty()) {
        out << "<path d=\"" << d << "\" fill=\"none\" stroke=\"" << esc(s.color)
            << "\" stroke-width=\"2\" stroke-linejoin=\"round\"/>";
      }
    } else if (s.style == SeriesStyle::Points) {
      out << "<g fill=\"" << esc(s.color) << "\">";
      for (std::size_t i = 0; i < n; ++i) {
        if (!s.values[i]) continue;
        out << "<circle cx=\"" << num(xc(i)) << "\" cy=\"" << num(y(*s.values[i]))
            << "\" r=\"3\"><title>"
            << esc(chart.days[i] + " " + s.name + ": " +
                   (chart.format == AxisFormat::Clock
                        ? formatTick(*s.values[i], 1.0 / 60, chart.format)
                        : Poco::NumberFormatter::format(*s.values[i], decimalsFor(step) + 1) +
                              " " + chart.unit))
            << "</title></circle>";
      }
      out << "</g>";
    }
  }
  // Legend, top left, one entry per series.
  double lx = kLeft;
  for (const Series& s : chart.series) {
    out << "<rect x=\"" << num(lx) << "\" y=\"" << (s.style == SeriesStyle::Line ? "14" : "10")
        << "\" width=\"10\" height=\"" << (s.style == SeriesStyle::Line ? "3" : "10") << "\" fill=\"" << esc(s.color)
        << "\"/><text x=\"" << num(lx + 14) << "\" y=\"19\" class=\"legend\">" << esc(s.name)
        << "</text>";
    lx += 24 + 6.5 * static_cast<double>(s.name.size());
  }
  out << "</svg>";
  return out.str();
}

}  // namespace oura::report

namespace oura::report {

std::string renderHypnogram(const std::string& title, const std::string& phases,
                            double start_hours) {
  constexpr double height = 160, top = 12, bottom = 28, row_h = (height - top - bottom) / 4;
  const double slots = static_cast<double>(std::max<std::size_t>(phases.size(), 1));
  const double hours = slots / 12.0;
  auto x = [&](double slot) { return kLeft + slot / slots * kPlotW; };
  struct Stage {
    char code;
    const char* name;
    const char* color;
    int row;  // 0 is the top row
  };
  const Stage stages[] = {{'4', "awake", "#f2a541", 0}, {'3', "REM", "#8e5cc2", 1},
                          {'2', "light", "#6c9bd2", 2}, {'1', "deep", "#1f3b73", 3}};
  std::ostringstream out;
  out << "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " << num(kWidth) << ' '
      << num(height) << "\" role=\"img\" class=\"chart\"><title>" << esc(title) << "</title>";
  for (const Stage& st : stages) {
    const double y = top + row_h * st.row;
    out << "<line x1=\"" << num(kLeft) << "\" x2=\"" << num(kLeft + kPlotW) << "\" y1=\""
        << num(y + row_h) << "\" y2=\"" << num(y + row_h) << "\" class=\"grid\"/><text x=\""
        << num(kLeft - 6) << "\" y=\"" << num(y + row_h / 2 + 4)
        << "\" class=\"tick\" text-anchor=\"end\">" << st.name << "</text>";
  }
  // Runs of one stage as one bar each.
  for (std::size_t i = 0; i < phases.size();) {
    std::size_t j = i;
    while (j < phases.size() && phases[j] == phases[i]) ++j;
    for (const Stage& st : stages) {
      if (st.code != phases[i]) continue;
      out << "<rect x=\"" << num(x(static_cast<double>(i))) << "\" y=\""
          << num(top + row_h * st.row + 2) << "\" width=\""
          << num(std::max(x(static_cast<double>(j)) - x(static_cast<double>(i)), 0.5))
          << "\" height=\"" << num(row_h - 4) << "\" fill=\"" << st.color << "\"><title>"
          << st.name << " " << formatTick(start_hours + static_cast<double>(i) / 12.0, 1.0 / 60, AxisFormat::Clock)
          << "-" << formatTick(start_hours + static_cast<double>(j) / 12.0, 1.0 / 60, AxisFormat::Clock)
          << "</title></rect>";
    }
    i = j;
  }
  // Whole hours on the wall clock along the bottom.
  const double step = hours > 10 ? 2 : 1;
  for (double h = std::ceil(start_hours / step) * step; h <= start_hours + hours + 1e-9; h += step) {
    const double slot = (h - start_hours) * 12.0;
    out << "<text x=\"" << num(x(slot)) << "\" y=\"" << num(height - bottom + 16)
        << "\" class=\"tick\" text-anchor=\"middle\">" << formatTick(h, 1, AxisFormat::Clock)
        << "</text>";
  }
  if (phases.empty()) {
    out << "<text x=\"" << num(kLeft + kPlotW / 2) << "\" y=\"" << num(height / 2)
        << "\" class=\"nodata\" text-anchor=\"middle\">no stages recorded</text>";
  }
  out << "</svg>";
  return out.str();
}

}  // namespace oura::report

#include "sync/days.hpp"

#include <Poco/DateTime.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/DateTimeParser.h>
#include <Poco/Exception.h>
#include <Poco/LocalDateTime.h>
#include <Poco/Timespan.h>

#include <stdexcept>

namespace oura::core {
namespace {
const Poco::DateTime kEpoch(1970, 1, 1);
}

DayNumber parseDay(const std::string& text) {
  Poco::DateTime dt;
  int tzd = 0;
  if (text.size() != 10 || !Poco::DateTimeParser::tryParse("%Y-%m-%d", text, dt, tzd) ||
      formatDay((dt - kEpoch).days()) != text) {
    throw std::invalid_argument("'" + text + "' is not a date (YYYY-MM-DD)");
  }
  return (dt - kEpoch).days();
}

std::string formatDay(DayNumber day) {
  return Poco::DateTimeFormatter::format(kEpoch + Poco::Timespan(static_cast<int>(day), 0, 0, 0, 0),
                                         "%Y-%m-%d");
}

DayNumber today() {
  Poco::LocalDateTime now;
  return (Poco::DateTime(now.year(), now.month(), now.day()) - kEpoch).days();
}

std::vector<DayRange> splitWindow(DayRange window, int max_days) {
  std::vector<DayRange> out;
  if (max_days < 1) max_days = 1;
  for (DayNumber first = window.first; first <= window.last; first += max_days) {
    out.push_back({first, std::min<DayNumber>(window.last, first + max_days - 1)});
  }
  return out;
}

}  // namespace oura::core

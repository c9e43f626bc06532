#pragma once
// Calendar days ("YYYY-MM-DD") and the window plan: which days a run covers and how they are
// split into requests.

#include <string>
#include <vector>

namespace oura::core {

// A calendar day as a count of days since 1970-01-01 (for arithmetic); converted with Poco.
using DayNumber = long;

// Parses "YYYY-MM-DD" (Poco::DateTimeParser); throws std::invalid_argument naming the text.
DayNumber parseDay(const std::string& text);
// Formats a day number as "YYYY-MM-DD".
std::string formatDay(DayNumber day);
// Today in the machine's local time zone (the user's calendar day).
DayNumber today();

// An inclusive range of days.
struct DayRange {
  DayNumber first;
  DayNumber last;
};

// Splits [first, last] into consecutive ranges of at most `max_days` days, oldest first.
std::vector<DayRange> splitWindow(DayRange window, int max_days);

}  // namespace oura::core

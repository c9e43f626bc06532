#pragma once
// A bound on how deep a TOML text nests, checked before toml++ sees it: toml++ builds (and
// destroys) tables recursively, so a key of 50,000 dotted parts overflows the stack even though
// the text is small. Counts the parts of each dotted key and table header, and how deep arrays
// and inline tables nest; strings and comments are skipped. Linear in the text, never throws.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace oura::core {

constexpr std::size_t kMaxKeyParts = 32;     // a.b.c... in one key or [table.header]
constexpr std::size_t kMaxValueNesting = 32;  // [[[...]]] / {a = {b = ...}}

struct NestingProblem {
  std::size_t line = 0;  // 1-based
  std::string message;
};

// Nothing when `text` stays within the bounds; else the first line that does not.
std::optional<NestingProblem> checkTomlNesting(std::string_view text);

}  // namespace oura::core

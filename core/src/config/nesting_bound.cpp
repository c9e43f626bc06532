// See nesting_bound.hpp.
#include "config/nesting_bound.hpp"

#include <vector>

namespace oura::core {

std::optional<NestingProblem> checkTomlNesting(std::string_view text) {
  std::size_t line = 1;
  bool line_start = true;  // only whitespace so far on this line, outside arrays/inline tables
  bool in_key = false;     // reading a key or a table header (dots separate its parts)
  std::size_t parts = 0;
  std::vector<char> nest;  // open '[' (array) and '{' (inline table) of values
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n; ++i) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      if (nest.empty()) {
        line_start = true;
        in_key = false;
      }
      continue;
    }
    if (line_start) {
      if (c == ' ' || c == '\t' || c == '\r') continue;
      line_start = false;
      if (c == '[') {  // [table] or [[array.of.tables]]
        if (i + 1 < n && text[i + 1] == '[') ++i;
        in_key = true;
        parts = 1;
        continue;
      }
      if (c != '#') {
        in_key = true;
        parts = 1;
      }
    }
    if (c == '#') {  // a comment runs to the end of the line
      while (i + 1 < n && text[i + 1] != '\n') ++i;
      continue;
    }
    if (c == '"' || c == '\'') {
      const bool triple = i + 2 < n && text[i + 1] == c && text[i + 2] == c;
      if (triple) {
        i += 3;
        for (; i < n; ++i) {
          if (text[i] == '\n') ++line;
          if (c == '"' && text[i] == '\\') {
            if (i + 1 < n && text[i + 1] == '\n') ++line;
            ++i;
            continue;
          }
          if (text[i] == c && i + 2 < n && text[i + 1] == c && text[i + 2] == c) {
            i += 2;
            while (i + 1 < n && text[i + 1] == c) ++i;  // up to two quotes may end the content
            break;
          }
        }
      } else {
        for (++i; i < n && text[i] != '\n'; ++i) {
          if (c == '"' && text[i] == '\\') {
            ++i;
            if (i < n && text[i] == '\n') --i;  // leave the newline to the outer loop
            continue;
          }
          if (text[i] == c) break;
        }
        if (i < n && text[i] == '\n') --i;  // an unterminated string: toml++ will say so
      }
      continue;
    }
    if (in_key) {
      if (c == '.') {
        if (++parts > kMaxKeyParts) {
          return NestingProblem{line, "a dotted key or table header has more than " +
                                          std::to_string(kMaxKeyParts) + " parts"};
        }
      } else if (c == '=') {
        in_key = false;
      } else if (c == ']') {
        in_key = false;
        if (i + 1 < n && text[i + 1] == ']') ++i;
      } else if (c == '}' && !nest.empty()) {  // an empty inline table {}
        nest.pop_back();
        in_key = false;
      }
      continue;
    }
    if (c == '[' || c == '{') {
      nest.push_back(c);
      if (nest.size() > kMaxValueNesting) {
        return NestingProblem{line, "arrays and inline tables nest more than " +
                                        std::to_string(kMaxValueNesting) + " deep"};
      }
      if (c == '{') {
        in_key = true;
        parts = 1;
      }
    } else if ((c == ']' || c == '}') && !nest.empty()) {
      nest.pop_back();
    } else if (c == ',' && !nest.empty() && nest.back() == '{') {
      in_key = true;
      parts = 1;
    }
  }
  return std::nullopt;
}

}  // namespace oura::core

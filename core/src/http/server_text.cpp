#include "http/server_text.hpp"

namespace oura::core {

std::string printable(const std::string& text, std::size_t limit) {
  std::string out;
  for (unsigned char c : text.substr(0, limit)) {
    if (c < 0x20 || c == 0x7f) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (text.size() > limit) out += "...";
  return out;
}

}  // namespace oura::core

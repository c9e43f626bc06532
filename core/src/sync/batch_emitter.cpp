#include "sync/batch_emitter.hpp"

namespace oura::core {

std::string printable(const std::string& text) {
  std::string out;
  for (unsigned char c : text.substr(0, 100)) {
    if (c < 0x20 || c == 0x7f) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (text.size() > 100) out += "...";
  return out;
}

std::string documentId(const Poco::JSON::Object& doc, const std::string& day_field) {
  for (const char* key : {"id"}) {
    if (doc.has(key) && doc.get(key).isString()) return printable(doc.getValue<std::string>(key));
  }
  if (!day_field.empty() && doc.has(day_field) && doc.get(day_field).isString()) {
    return "of " + printable(doc.getValue<std::string>(day_field));
  }
  return "(without id)";
}

}  // namespace oura::core

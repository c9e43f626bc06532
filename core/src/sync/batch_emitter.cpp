#include "sync/batch_emitter.hpp"

namespace oura::core {

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

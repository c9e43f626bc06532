#pragma once
// One page of a `{data, next_token}` collection, parsed as a stream: the page is checked whole
// first (a pass that builds nothing), then each element of `data` is built and handed over one
// at a time, so memory holds one document's tree, never the page's (DESIGN.md "Window plan").

#include <Poco/JSON/Object.h>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>

namespace oura::core {

struct PageShape {
  std::size_t documents = 0;              // elements of `data`
  std::optional<std::string> next_token;  // a non-empty string cursor; nothing: last page
};

// Why a page cannot be used; `what()` says what is wrong with it (never the body).
// `notJson()`: the body is not a JSON object at all (worth fetching again: a proxy's error page,
// a body mangled in transit); otherwise it is an object of the wrong shape.
class PageError : public std::runtime_error {
 public:
  PageError(const std::string& message, bool not_json)
      : std::runtime_error(message), not_json_(not_json) {}
  bool notJson() const noexcept { return not_json_; }

 private:
  bool not_json_;
};

// Checks that `body` is a JSON object with a `data` array (and a `next_token` that is a string,
// null or absent) without building it. Throws PageError.
PageShape checkPage(const std::string& body);

// Calls `on_document` once per element of `data`, in order: the element's object, or null when
// the element is not an object. Call only on a body `checkPage` accepted.
void forEachPageDocument(const std::string& body,
                         const std::function<void(const Poco::JSON::Object::Ptr&)>& on_document);

}  // namespace oura::core

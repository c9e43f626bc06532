#pragma once
// One page of a `{data, next_token}` collection. The page's structure is scanned first (top-level
// object, its `data` array and `next_token`, nothing built): each element of `data` is located as
// the exact bytes the server sent. Then each element is parsed on its own and handed over with
// those bytes, so memory holds one document's tree, never the page's (DESIGN.md "Window plan"),
// the `raw` column gets the server's bytes, not a re-serialisation, and a document that cannot be
// parsed (a lone surrogate, invalid UTF-8, broken syntax inside it) is one bad document, not a
// bad page: it is handed over with the reason and quarantined by the caller.

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <cstddef>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oura::core {

struct PageShape {
  std::size_t documents = 0;              // elements of `data`
  std::optional<std::string> next_token;  // a non-empty string cursor; nothing: last page
  // Where each element of `data` is in the body: [first, second) byte offsets.
  std::vector<std::pair<std::size_t, std::size_t>> elements;
};

// Why a page cannot be used; `what()` says what is wrong with it (never the body).
// `notJson()`: the body is not a JSON object at all, or is cut short (worth fetching again: a
// proxy's error page, a body mangled or truncated in transit); otherwise it is an object of the
// wrong shape. A problem inside one element of `data` is never a PageError (see PageDocument).
class PageError : public std::runtime_error {
 public:
  PageError(const std::string& message, bool not_json)
      : std::runtime_error(message), not_json_(not_json) {}
  bool notJson() const noexcept { return not_json_; }

 private:
  bool not_json_;
};

// One document (an element of `data`, or a bare object response) ready to map, or the reason it
// cannot be.
struct PageDocument {
  // What the `raw` column stores: the bytes the server sent, except that each `\u0000` escape
  // (text PostgreSQL cannot store, in `text` or `jsonb`) is replaced by `\ufffd` (U+FFFD, the
  // Unicode replacement character); when `problem` is set, the bytes exactly as sent.
  std::string raw;
  Poco::JSON::Object::Ptr object;  // the parsed document; null when `problem` is set
  std::string problem;             // why it cannot be used ("not a JSON object", "not JSON: ...")
  std::size_t replaced = 0;        // `\u0000` escapes replaced by `\ufffd`
};

// Checks that `body` is a JSON object with a `data` array (and a `next_token` that is a string,
// null or absent) and locates the elements of `data`, without building anything. Throws
// PageError.
PageShape checkPage(const std::string& body);

// Parses the bytes of one document (`parser` is reused between documents). Never throws for a
// bad document: `problem` says what is wrong. Numbers beyond int64/double (1e400, a 30-digit
// integer) do not make a document bad: they stay as sent in `raw` and read as text in the tree
// (a typed column holding one gets NULL and a warning).
PageDocument prepareDocument(std::string_view bytes, Poco::JSON::Parser& parser);

// Calls `on_document` once per element of `data`, in order. `shape` is what checkPage returned
// for this `body`.
void forEachPageDocument(const std::string& body, const PageShape& shape,
                         const std::function<void(PageDocument&)>& on_document);
// The same, checking the page first (throws PageError).
void forEachPageDocument(const std::string& body,
                         const std::function<void(PageDocument&)>& on_document);

}  // namespace oura::core

#include "http/page_parser.hpp"
#include "http/server_text.hpp"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace oura::core {
namespace {

[[noreturn]] void cutShort() {
  throw PageError("the response is not JSON (it ends before its JSON does: cut short)", true);
}
[[noreturn]] void malformed(const char* what) {
  throw PageError(std::string("the response is not JSON (") + what + ")", true);
}

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Finds the structure of a page without building or decoding anything: strings are skipped to
// their closing quote, containers to their matching bracket. What is inside an element of `data`
// is left to the parser of that one document.
class Scanner {
 public:
  explicit Scanner(const std::string& body)
      : begin_(body.data()), p_(body.data()), end_(body.data() + body.size()) {}

  void space() {
    while (p_ < end_ && isSpace(*p_)) ++p_;
  }
  char peek() const {
    if (p_ >= end_) cutShort();
    return *p_;
  }
  std::size_t offset() const { return static_cast<std::size_t>(p_ - begin_); }
  bool atEnd() const { return p_ >= end_; }
  void advance() { ++p_; }

  // At a '"': past its closing quote. A quote is escaped when an odd run of backslashes
  // precedes it.
  void skipString() {
    const char* open = p_++;
    for (;;) {
      const void* q = std::memchr(p_, '"', static_cast<std::size_t>(end_ - p_));
      if (q == nullptr) cutShort();
      const char* quote = static_cast<const char*>(q);
      std::size_t backslashes = 0;
      for (const char* b = quote - 1; b > open && *b == '\\'; --b) ++backslashes;
      p_ = quote + 1;
      if (backslashes % 2 == 0) return;
    }
  }

  // Past one value (after leading space).
  void skipValue() {
    space();
    const char c = peek();
    if (c == '"') return skipString();
    if (c == '{' || c == '[') return skipContainer();
    const char* start = p_;
    while (p_ < end_ && !isSpace(*p_) && *p_ != ',' && *p_ != ']' && *p_ != '}' && *p_ != ':' &&
           *p_ != '"' && *p_ != '{' && *p_ != '[') {
      ++p_;
    }
    if (p_ == start) malformed("a value is missing");
    if (p_ >= end_) cutShort();
  }

 private:
  void skipContainer() {
    std::string closers;  // the brackets still open, innermost last
    do {
      if (p_ >= end_) cutShort();
      const char c = *p_;
      switch (c) {
        case '"':
          skipString();
          continue;
        case '{':
          closers.push_back('}');
          break;
        case '[':
          closers.push_back(']');
          break;
        case '}':
        case ']':
          if (closers.back() != c) malformed("brackets do not match");
          closers.pop_back();
          break;
        default:
          break;
      }
      ++p_;
    } while (!closers.empty());
  }

  const char* begin_;
  const char* p_;
  const char* end_;
};

// The text of a JSON string value given with its quotes.
std::optional<std::string> decodeString(std::string_view quoted) {
  if (quoted.find('\\') == std::string_view::npos) {
    return std::string(quoted.substr(1, quoted.size() - 2));
  }
  try {
    Poco::JSON::Parser parser;
    const auto array = parser.parse("[" + std::string(quoted) + "]").extract<Poco::JSON::Array::Ptr>();
    return array->getElement<std::string>(0);
  } catch (const Poco::Exception&) {
    return std::nullopt;
  }
}

// `bytes` with each `\u0000` escape inside a string replaced by `\ufffd`; `count` gets how many.
std::string replaceNulEscapes(std::string_view bytes, std::size_t& count) {
  std::string out;
  out.reserve(bytes.size());
  bool in_string = false;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const char c = bytes[i];
    if (!in_string) {
      if (c == '"') in_string = true;
      out.push_back(c);
      continue;
    }
    if (c == '"') {
      in_string = false;
    } else if (c == '\\' && i + 1 < bytes.size()) {
      if (bytes.substr(i + 1, 5) == "u0000") {
        out += "\\ufffd";
        ++count;
        i += 5;
        continue;
      }
      out.push_back(c);
      out.push_back(bytes[++i]);
      continue;
    }
    out.push_back(c);
  }
  return out;
}

// Whether a JSON number token fits what Poco's parser reads (int64, uint64, a finite double).
bool numberFits(std::string_view token) {
  if (token.find_first_of(".eE") == std::string_view::npos) {
    errno = 0;
    const std::string text(token);
    char* stop = nullptr;
    if (text[0] == '-') {
      std::strtoll(text.c_str(), &stop, 10);
    } else {
      std::strtoull(text.c_str(), &stop, 10);
    }
    return errno != ERANGE;
  }
  const std::string text(token);
  return std::isfinite(std::strtod(text.c_str(), nullptr));
}

// `bytes` with every number token that does not fit (numberFits) turned into a string of its
// digits, so the rest of the document can be read; nothing when there is none.
std::optional<std::string> quoteHugeNumbers(std::string_view bytes) {
  std::string out;
  bool changed = false;
  bool in_string = false;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const char c = bytes[i];
    if (in_string) {
      if (c == '\\' && i + 1 < bytes.size()) {
        out.push_back(c);
        out.push_back(bytes[++i]);
        continue;
      }
      if (c == '"') in_string = false;
      out.push_back(c);
      continue;
    }
    if (c == '"') in_string = true;
    if (c == '-' || (c >= '0' && c <= '9')) {
      std::size_t end = i;
      while (end < bytes.size() && std::strchr("+-.eE0123456789", bytes[end]) != nullptr) ++end;
      const std::string_view token = bytes.substr(i, end - i);
      if (!numberFits(token)) {
        out += '"';
        out += token;
        out += '"';
        changed = true;
      } else {
        out += token;
      }
      i = end - 1;
      continue;
    }
    out.push_back(c);
  }
  if (!changed) return std::nullopt;
  return out;
}

}  // namespace

PageShape checkPage(const std::string& body) {
  Scanner s(body);
  s.space();
  if (s.atEnd()) throw PageError("the response is not JSON (the body is empty)", true);
  if (s.peek() != '{') {
    try {
      Poco::JSON::Parser().parse("[" + body + "]");  // Poco reads scalars only inside [ ]
    } catch (const Poco::Exception& e) {
      throw PageError("the response is not JSON (" + printable(e.displayText(), 200) + ")", true);
    }
    throw PageError("the response is JSON but not an object", true);
  }
  s.advance();
  PageShape shape;
  enum class NextKind { Absent, Null, String, Other } next_kind = NextKind::Absent;
  bool data_seen = false;
  s.space();
  if (s.peek() == '}') {
    s.advance();
  } else {
    for (;;) {
      s.space();
      if (s.peek() != '"') malformed("a member name is not a string");
      const std::size_t key_at = s.offset();
      s.skipString();
      const std::string_view key(body.data() + key_at + 1, s.offset() - key_at - 2);
      s.space();
      if (s.peek() != ':') malformed("a member name without ':'");
      s.advance();
      s.space();
      const std::size_t value_at = s.offset();
      if (key == "data") {
        if (data_seen) throw PageError("the response has two `data` members", false);
        data_seen = true;
        if (s.peek() != '[') {
          s.skipValue();
          throw PageError("the response's `data` is not an array", false);
        }
        s.advance();
        s.space();
        if (s.peek() == ']') {
          s.advance();
        } else {
          for (;;) {
            s.space();
            const std::size_t element_at = s.offset();
            s.skipValue();
            shape.elements.emplace_back(element_at, s.offset());
            s.space();
            const char c = s.peek();
            s.advance();
            if (c == ']') break;
            if (c != ',') malformed("the elements of `data` are not separated by ','");
          }
        }
      } else {
        s.skipValue();
        if (key == "next_token") {
          const std::string_view value(body.data() + value_at, s.offset() - value_at);
          shape.next_token.reset();
          if (value == "null") {
            next_kind = NextKind::Null;
          } else if (value.front() == '"') {
            const std::optional<std::string> text = decodeString(value);
            if (!text) malformed("`next_token` is not a valid string");
            next_kind = NextKind::String;
            if (!text->empty()) shape.next_token = *text;
          } else {
            next_kind = NextKind::Other;
          }
        }
      }
      s.space();
      const char c = s.peek();
      s.advance();
      if (c == '}') break;
      if (c != ',') malformed("members are not separated by ','");
    }
  }
  s.space();
  if (!s.atEnd()) malformed("there is more after the object");
  if (!data_seen) throw PageError("the response has no `data` array", false);
  if (next_kind == NextKind::Other) throw PageError("`next_token` is not a string", false);
  shape.documents = shape.elements.size();
  return shape;
}

PageDocument prepareDocument(std::string_view bytes, Poco::JSON::Parser& parser) {
  PageDocument doc;
  const std::size_t first = bytes.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || bytes[first] != '{') {
    doc.raw = std::string(bytes);
    doc.problem = "not a JSON object";
    return doc;
  }
  if (bytes.find("\\u0000") != std::string_view::npos) {
    doc.raw = replaceNulEscapes(bytes, doc.replaced);
  } else {
    doc.raw = std::string(bytes);
  }
  try {
    parser.reset();
    doc.object = parser.parse(doc.raw).extract<Poco::JSON::Object::Ptr>();
    return doc;
  } catch (const Poco::Exception& e) {
    doc.problem = "not valid JSON (" + printable(e.displayText(), 200) + ")";
  }
  if (const std::optional<std::string> readable = quoteHugeNumbers(doc.raw)) {
    try {
      parser.reset();
      doc.object = parser.parse(*readable).extract<Poco::JSON::Object::Ptr>();
      doc.problem.clear();
      return doc;
    } catch (const Poco::Exception&) {
      // the first reason stands
    }
  }
  doc.object = nullptr;
  doc.raw = std::string(bytes);  // as sent: the dead-letter table keeps the server's bytes
  doc.replaced = 0;
  return doc;
}

void forEachPageDocument(const std::string& body, const PageShape& shape,
                         const std::function<void(PageDocument&)>& on_document) {
  Poco::JSON::Parser parser;
  for (const auto& [from, to] : shape.elements) {
    PageDocument doc = prepareDocument(std::string_view(body).substr(from, to - from), parser);
    on_document(doc);
  }
}

void forEachPageDocument(const std::string& body,
                         const std::function<void(PageDocument&)>& on_document) {
  forEachPageDocument(body, checkPage(body), on_document);
}

}  // namespace oura::core

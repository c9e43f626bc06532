#include "http/page_parser.hpp"

#include <Poco/Exception.h>
#include <Poco/JSON/Handler.h>
#include <Poco/JSON/ParseHandler.h>
#include <Poco/JSON/Parser.h>

namespace oura::core {
namespace {

// Follows the page's structure through Poco's parser events. Top level: an object; its `data`
// member: an array whose elements are the documents. With `emit`, each object element is built
// by an inner ParseHandler and handed to the callback when it closes; without, nothing is built.
class PageHandler final : public Poco::JSON::Handler {
 public:
  using Callback = std::function<void(const Poco::JSON::Object::Ptr&)>;
  explicit PageHandler(const Callback* emit) : emit_(emit) {}

  void reset() override {
    depth_ = 0;
    top_is_object_ = false;
    in_data_ = false;
    building_ = false;
    top_key_.clear();
    shape_ = PageShape{};
    data_seen_ = false;
    next_kind_ = NextKind::Absent;
  }

  void startObject() override {
    if (building_) {
      inner_.startObject();
    } else if (depth_ == 0) {
      top_is_object_ = true;
    } else if (depth_ == 1) {
      memberValue(Kind::Container);
    } else if (in_data_ && depth_ == 2) {
      ++shape_.documents;
      if (emit_) {
        inner_.reset();
        inner_.startObject();
        building_ = true;
      }
    }
    ++depth_;
  }

  void endObject() override {
    --depth_;
    if (building_) {
      inner_.endObject();
      if (depth_ == 2) {
        building_ = false;
        Poco::JSON::Object::Ptr document = inner_.asVar().extract<Poco::JSON::Object::Ptr>();
        inner_.reset();
        (*emit_)(document);
      }
    }
  }

  void startArray() override {
    if (building_) {
      inner_.startArray();
    } else if (depth_ == 0) {
      throw PageError("the response is JSON but not an object", true);
    } else if (depth_ == 1) {
      if (top_key_ == "data") {
        if (data_seen_) throw PageError("the response has two `data` members", false);
        data_seen_ = true;
        in_data_ = true;
      } else {
        memberValue(Kind::Container);
      }
    } else if (in_data_ && depth_ == 2) {
      element();
    }
    ++depth_;
  }

  void endArray() override {
    --depth_;
    if (building_) {
      inner_.endArray();
    } else if (in_data_ && depth_ == 1) {
      in_data_ = false;
    }
  }

  void key(const std::string& k) override {
    if (building_) {
      inner_.key(k);
    } else if (depth_ == 1) {
      top_key_ = k;
    }
  }

  void null() override {
    if (building_) return inner_.null();
    scalar(Kind::Null);
  }
  void value(int v) override { building_ ? inner_.value(v) : scalar(Kind::Other); }
  void value(unsigned v) override { building_ ? inner_.value(v) : scalar(Kind::Other); }
  void value(Poco::Int64 v) override { building_ ? inner_.value(v) : scalar(Kind::Other); }
  void value(Poco::UInt64 v) override { building_ ? inner_.value(v) : scalar(Kind::Other); }
  void value(double v) override { building_ ? inner_.value(v) : scalar(Kind::Other); }
  void value(bool v) override { building_ ? inner_.value(v) : scalar(Kind::Other); }
  void value(const std::string& v) override {
    if (building_) return inner_.value(v);
    if (depth_ == 1 && top_key_ == "next_token") {
      next_kind_ = NextKind::String;
      shape_.next_token = v.empty() ? std::nullopt : std::optional<std::string>(v);
      return;
    }
    scalar(Kind::Other);
  }

  Poco::Dynamic::Var asVar() const override { return {}; }

  // After a complete parse: the page's shape, or PageError.
  PageShape shape() const {
    if (!top_is_object_) throw PageError("the response is JSON but not an object", true);
    if (!data_seen_) throw PageError("the response has no `data` array", false);
    if (next_kind_ == NextKind::Other) throw PageError("`next_token` is not a string", false);
    return shape_;
  }

 private:
  enum class Kind { Null, Other, Container };
  enum class NextKind { Absent, Null, String, Other };

  void scalar(Kind kind) {
    if (depth_ == 0) throw PageError("the response is JSON but not an object", true);
    if (depth_ == 1) memberValue(kind);
    else if (in_data_ && depth_ == 2) element();
  }

  // A scalar or container as the value of the top-level member `top_key_`.
  void memberValue(Kind kind) {
    if (top_key_ == "data") {
      throw PageError("the response's `data` is not an array", false);
    }
    if (top_key_ == "next_token") {
      next_kind_ = kind == Kind::Null ? NextKind::Null : NextKind::Other;
      shape_.next_token.reset();
    }
  }

  // An element of `data` that is not an object.
  void element() {
    ++shape_.documents;
    if (emit_) (*emit_)(Poco::JSON::Object::Ptr());
  }

  const Callback* emit_;
  Poco::JSON::ParseHandler inner_;
  int depth_ = 0;
  bool top_is_object_ = false;
  bool in_data_ = false;
  bool building_ = false;
  bool data_seen_ = false;
  std::string top_key_;
  NextKind next_kind_ = NextKind::Absent;
  PageShape shape_;
};

}  // namespace

PageShape checkPage(const std::string& body) {
  Poco::SharedPtr<PageHandler> handler = new PageHandler(nullptr);
  try {
    Poco::JSON::Parser parser(handler);
    parser.parse(body);
  } catch (const PageError&) {
    throw;
  } catch (const Poco::Exception& e) {
    throw PageError("the response is not JSON (" + e.displayText() + ")", true);
  }
  return handler->shape();
}

void forEachPageDocument(const std::string& body,
                         const std::function<void(const Poco::JSON::Object::Ptr&)>& on_document) {
  Poco::SharedPtr<PageHandler> handler = new PageHandler(&on_document);
  Poco::JSON::Parser parser(handler);
  parser.parse(body);
}

}  // namespace oura::core

// libFuzzer target: one API page through the streaming page parser and the document-to-row
// mapping of one collection, as `scrape` does it.
//
// Input: the collection's name (e.g. "daily_sleep"), a newline, then the page body. A name that
// no endpoint plugin serves selects a collection by its first byte, so every mutation maps.
// Checks beyond "no crash": every row the mapper emits has exactly its stream's column count,
// and no primary-key column of a document row is NULL (the mapper must throw MappingError
// instead). The endpoint plugins come from OURA_PLUGIN_DIR, else the build tree's plugins/.
#include "plugin_host/loader.hpp"
#include "http/page_parser.hpp"

#include <oura_sdk/endpoint.hpp>
#include <oura_sdk/errors.hpp>

#include <Poco/AutoPtr.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/Logger.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

namespace sdk = oura::sdk;

struct Collection {
  const sdk::EndpointPlugin* plugin;
  const sdk::CollectionSpec* spec;
};

struct Endpoints {
  oura::core::PluginLoader loader;
  std::vector<std::shared_ptr<sdk::EndpointPlugin>> plugins;
  std::map<std::string, Collection> by_name;
  std::vector<Collection> all;

  explicit Endpoints(const std::string& dir) : loader({dir}) {
    Poco::Logger::root().setLevel("none");  // mapping warnings would flood the fuzzer's output
    for (const auto& loaded : loader.discover().plugins) {
      if (loaded.descriptor->kind != sdk::PluginKind::Endpoint) continue;
      std::map<std::string, sdk::ConfigValue> defaults;
      for (const auto& key : loaded.descriptor->config_schema()) {
        if (key.default_value) defaults.emplace(key.name, *key.default_value);
      }
      const std::string name = loaded.descriptor->name;
      sdk::PluginContext context{name, sdk::Logger("oura.endpoint." + name),
                                 sdk::PluginConfig(defaults)};
      plugins.push_back(loader.create<sdk::EndpointPlugin>(loaded, context));
      for (const auto& spec : plugins.back()->collections()) {
        by_name[spec.name] = {plugins.back().get(), &spec};
        all.push_back({plugins.back().get(), &spec});
      }
    }
    if (all.empty()) {
      std::fprintf(stderr, "fuzz_page_mapping: no endpoint plugins in %s\n", dir.c_str());
      std::abort();
    }
  }
};

const Endpoints& endpoints() {
  static const Endpoints instance([] {
    const char* dir = std::getenv("OURA_PLUGIN_DIR");
    return std::string(dir != nullptr ? dir : OURA_FUZZ_PLUGIN_DIR);
  }());
  return instance;
}

[[noreturn]] void fail_document(const char* what) {
  std::fprintf(stderr, "fuzz_page_mapping: %s\n", what);
  std::abort();
}

class CheckingEmitter : public sdk::RowEmitter {
 public:
  explicit CheckingEmitter(const sdk::CollectionSpec& spec) : spec_(spec) {}
  void emit(std::size_t stream_index, sdk::Row row) override {
    if (stream_index >= spec_.streams.size()) fail("row for a stream the collection lacks");
    const sdk::StreamSchema& stream = spec_.streams[stream_index];
    if (row.size() != stream.columns.size()) fail("row of the wrong width in " + stream.name);
    if (stream_index == 0) {
      for (const std::string& key : stream.primary_key) {
        const auto column = std::find_if(stream.columns.begin(), stream.columns.end(),
                                          [&](const sdk::Column& c) { return c.name == key; });
        if (column == stream.columns.end()) fail("key column missing from " + stream.name);
        const auto index = static_cast<std::size_t>(column - stream.columns.begin());
        if (std::holds_alternative<std::monostate>(row[index])) {
          fail("NULL key column " + key + " in " + stream.name);
        }
      }
    }
  }
  void warn(const std::string&) override {}

 private:
  [[noreturn]] void fail(const std::string& what) {
    std::fprintf(stderr, "fuzz_page_mapping: %s: %s\n", spec_.name.c_str(), what.c_str());
    std::abort();
  }
  const sdk::CollectionSpec& spec_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Endpoints& eps = endpoints();
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::size_t newline = input.find('\n');
  const std::string name = input.substr(0, std::min(newline, input.size()));
  const std::string body = newline == std::string::npos ? std::string() : input.substr(newline + 1);
  const auto found = eps.by_name.find(name);
  const Collection collection = found != eps.by_name.end()
                                    ? found->second
                                    : eps.all[(name.empty() ? 0u : static_cast<unsigned char>(name[0])) %
                                              eps.all.size()];
  oura::core::PageShape shape;
  try {
    shape = oura::core::checkPage(body);
  } catch (const oura::core::PageError&) {
    return 0;  // refused whole, as forEachDocument does
  }
  std::size_t index = 0;
  oura::core::forEachPageDocument(body, shape, [&](oura::core::PageDocument& doc) {
    // Each document comes with exactly its element's bytes (a bad one with its reason), except
    // that a usable one has each \u0000 escape replaced (counted).
    const auto& [from, to] = shape.elements.at(index++);
    const std::string sent = body.substr(from, to - from);
    if (!doc.object) {
      if (doc.problem.empty()) fail_document("a bad document without a reason");
      if (doc.raw != sent) fail_document("a bad document's bytes are not the element's");
      return;
    }
    if (doc.replaced == 0 && doc.raw != sent) fail_document("raw is not the element's bytes");
    if (doc.replaced != 0 && doc.raw.size() != sent.size()) fail_document("raw changed size");
    CheckingEmitter out(*collection.spec);
    try {
      collection.plugin->mapDocument(*collection.spec, *doc.object, doc.raw, out);
    } catch (const sdk::MappingError&) {
      // a document without its key: the core skips it and names it
    }
  });
  return 0;
}

// Calls a function that no library defines. Linked without --no-undefined, so the link succeeds;
// loading with rtld_now must fail (with lazy binding the process would die at the first call).
#include "dummy_sink.hpp"

extern "C" int oura_test_function_that_does_not_exist(int value);

namespace {

class UnresolvedSink : public oura_test::DummySink {
 public:
  explicit UnresolvedSink(const oura::sdk::PluginContext& context) : DummySink(context) {
    value_ = oura_test_function_that_does_not_exist(42);
  }
  static oura::sdk::ConfigSchema configSchema() { return {}; }

 private:
  int value_ = 0;
};

}  // namespace

OURA_PLUGIN(oura::sdk::PluginKind::Sink, "unresolved", "0.0.1", "unresolved symbol", UnresolvedSink)

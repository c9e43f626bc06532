// A well-formed sink plugin for the loader tests. Config:
//   prefix (string, default "out")  echoed in every outcome message
//   format (string, default "jsonl") "jsonl" or "csv"; anything else: ConfigError from the factory
//   fail   (boolean, default false) true: the factory throws std::runtime_error
// write() answers Done with message "<instance>:<prefix>" and `inserted` = batches this instance
// has seen, so tests can tell two instances apart (no global state).
#include <oura_sdk/errors.hpp>
#include <oura_sdk/plugin.hpp>
#include <oura_sdk/sink.hpp>
#include <stdexcept>
#include <string>

namespace {

class GoodSink : public oura::sdk::SinkPlugin {
 public:
  explicit GoodSink(const oura::sdk::PluginContext& context)
      : instance_(context.instance_name), prefix_(context.config.getString("prefix")) {
    const std::string& format = context.config.getString("format");
    if (format != "jsonl" && format != "csv") {
      throw oura::sdk::ConfigError("format: unknown value '" + format +
                                   "' (expected \"jsonl\" or \"csv\")");
    }
    if (context.config.getBool("fail")) throw std::runtime_error("asked to fail");
  }

  static oura::sdk::ConfigSchema configSchema() {
    return {
        {"prefix", oura::sdk::ConfigType::String, false, std::string("out"), "echoed prefix"},
        {"format", oura::sdk::ConfigType::String, false, std::string("jsonl"), "jsonl or csv"},
        {"fail", oura::sdk::ConfigType::Boolean, false, false, "throw from the factory"},
    };
  }

  oura::sdk::SinkOutcome write(const oura::sdk::SinkBatch&) override {
    oura::sdk::SinkOutcome outcome;
    outcome.message = instance_ + ":" + prefix_;
    outcome.inserted = ++batches_;
    return outcome;
  }

 private:
  std::string instance_;
  std::string prefix_;
  std::uint64_t batches_ = 0;
};

}  // namespace

OURA_PLUGIN(oura::sdk::PluginKind::Sink, "good", "1.2.3", "a good test sink", GoodSink)

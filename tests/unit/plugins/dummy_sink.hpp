#pragma once
// A minimal sink shared by the loader's test plugins that exist to be refused.
#include <oura_sdk/errors.hpp>
#include <oura_sdk/plugin.hpp>
#include <oura_sdk/sink.hpp>

namespace oura_test {

class DummySink : public oura::sdk::SinkPlugin {
 public:
  explicit DummySink(const oura::sdk::PluginContext&) {}
  static oura::sdk::ConfigSchema configSchema() { return {}; }
  oura::sdk::SinkOutcome write(const oura::sdk::SinkBatch&) override { return {}; }
};

inline oura::sdk::Plugin* createDummySink(const oura::sdk::PluginContext& context) {
  return new DummySink(context);
}

}  // namespace oura_test

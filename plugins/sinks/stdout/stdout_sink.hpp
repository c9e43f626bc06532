#pragma once
#include <oura_sdk/sink.hpp>

#include <fstream>
#include <ostream>

namespace oura::plugins {

/// Writes every row as one JSON object per line. See README.md.
class StdoutSink : public oura::sdk::SinkPlugin {
 public:
  static oura::sdk::ConfigSchema configSchema();
  explicit StdoutSink(const oura::sdk::PluginContext& context);
  ~StdoutSink() override;
  void open(const std::string& account,
            const std::vector<const oura::sdk::CollectionSpec*>& collections) override;
  oura::sdk::SinkOutcome write(const oura::sdk::SinkBatch& batch) override;
  void close() override;

 private:
  oura::sdk::Logger logger_;
  std::string path_;
  bool include_raw_;
  std::ofstream file_;
  std::ostream* out_ = nullptr;
};

}  // namespace oura::plugins

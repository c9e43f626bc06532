#pragma once
#include <oura_sdk/sink.hpp>

#include <fstream>
#include <ostream>
#include <sstream>
#include <string>

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
  bool append_ = false;            // mode = "append"
  unsigned permissions_ = 0600;    // of a file the sink creates
  int fd_ = -1;                    // the output file (O_NOFOLLOW, regular)
  std::string temp_path_;          // mode = "replace": the new file, renamed over path_ on close
  std::ostringstream buffer_;      // one batch's lines, written with one write()
  std::ostream* out_ = nullptr;
  bool flushToFile();
};

}  // namespace oura::plugins

#pragma once
// Collects one collection's rows, per stream, between two sink batches, and the keys of one
// window's documents (the basis for marking rows deleted).

#include "http/server_text.hpp"
#include "sync/run_summary.hpp"

#include <oura_sdk/endpoint.hpp>
#include <oura_sdk/errors.hpp>
#include <oura_sdk/sink.hpp>

#include <Poco/JSON/Object.h>
#include <Poco/Logger.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace oura::core {

inline constexpr std::size_t kBatchRows = 5000;  // rows buffered before a batch goes to the sinks
// The most bytes of key values a document may have: a PostgreSQL B-tree entry holds at most
// about 2,700 bytes (a third of a page); a longer key would fail its whole batch.
inline constexpr std::size_t kMaxKeyBytes = 2000;

// A document's id for messages: its `id`, else "of <day>", else "(without id)".
std::string documentId(const Poco::JSON::Object& doc, const std::string& day_field);

// Thrown inside a run when a stop was asked for (SIGINT/SIGTERM).
struct Interrupted {};

// The lenient-parsing warnings of one collection, shared by the emitters of its windows (which
// run on several threads). Warnings are aggregated by kind: nothing is logged per document (a
// field missing from every heart-rate row would flood the log); the end of the collection logs
// one line per distinct problem with its count and the first document that showed it.
class WarningTally {
 public:
  // Counts `message`, shown first by `document`.
  void count(const std::string& message, const std::string& document) {
    std::lock_guard lock(mutex_);
    ++counts_.try_emplace(message, Kind{0, document}).first->second.count;
  }
  void logCounts(const std::string& collection, Poco::Logger& log) const {
    std::lock_guard lock(mutex_);
    for (const auto& [message, kind] : counts_) {
      log.warning(collection + ": " + message + " in " + std::to_string(kind.count) +
                  (kind.count == 1 ? " document (" : " documents (first: ") + kind.first_document +
                  ")");
    }
  }

 private:
  struct Kind {
    std::uint64_t count;
    std::string first_document;
  };
  mutable std::mutex mutex_;
  std::map<std::string, Kind> counts_;
};

// Collects the rows of one window of a collection, per stream, between two sink batches.
class BatchEmitter : public sdk::RowEmitter {
 public:
  BatchEmitter(const sdk::CollectionSpec& spec, CollectionSummary& summary, Poco::Logger& log,
               WarningTally& tally)
      : spec_(spec), summary_(summary), log_(log), tally_(tally) {
    for (const auto& key : spec_.streams.at(0).primary_key) {
      key_columns_.push_back(spec_.streams[0].columnIndex(key));
    }
    reset();
  }
  void emit(std::size_t stream_index, sdk::Row row) override {
    if (stream_index >= streams_.size()) {
      throw sdk::MappingError("row for stream index " + std::to_string(stream_index) +
                              " of a collection with " + std::to_string(streams_.size()) +
                              " streams");
    }
    if (stream_index == 0) {
      sdk::Row key;
      for (std::size_t column : key_columns_) key.push_back(row.at(column));
      window_keys_.push_back(std::move(key));
    }
    streams_[stream_index].rows.push_back(std::move(row));
    ++pending_;
  }
  // Counted in the summary and in the collection's tally (WarningTally: one line per kind at
  // the end of the collection, nothing per document).
  void warn(const std::string& message) override {
    ++summary_.warnings;
    if (document_object_ != nullptr) {  // the id is worked out at the document's first warning
      document_ = documentId(*document_object_, spec_.day_field);
      document_object_ = nullptr;
    }
    tally_.count(message, document_);
  }
  void setDocument(std::string id) {
    document_ = std::move(id);
    document_object_ = nullptr;
  }
  // The same, the id worked out only when a warning needs it (not for every document).
  void setDocument(const Poco::JSON::Object* doc) { document_object_ = doc; }
  // Drops the rows of the current document (it failed to map half-way).
  void rollbackTo(const std::vector<std::size_t>& sizes, std::size_t window_keys) {
    window_keys_.resize(window_keys);
    for (std::size_t i = 0; i < streams_.size(); ++i) {
      pending_ -= streams_[i].rows.size() - sizes[i];
      streams_[i].rows.resize(sizes[i]);
    }
  }
  std::vector<std::size_t> sizes() const {
    std::vector<std::size_t> s;
    for (const auto& stream : streams_) s.push_back(stream.rows.size());
    return s;
  }
  std::size_t pending() const { return pending_; }
  // Bytes of the key values of the last document emitted (text values' lengths).
  std::size_t lastKeyBytes() const {
    std::size_t bytes = 0;
    if (window_keys_.empty()) return 0;
    for (const sdk::Value& v : window_keys_.back()) {
      if (const auto* text = std::get_if<std::string>(&v)) bytes += text->size();
    }
    return bytes;
  }
  // Quarantines a document: counted, logged (printable) and handed to the sinks with the next
  // batch (SinkBatch::rejected).
  void reject(std::string raw, std::string key, std::string reason) {
    ++summary_.skipped;
    ++summary_.rejected;
    log_.error(spec_.name + " document " + (key.empty() ? std::string("(without id)") : key) +
               " was rejected and quarantined: " + reason);
    rejected_.push_back(sdk::RejectedDocument{std::move(key), std::move(reason), std::move(raw)});
  }
  std::size_t rejectedCount() const { return rejected_.size(); }
  std::vector<sdk::RejectedDocument> takeRejected() { return std::exchange(rejected_, {}); }
  std::size_t windowKeyCount() const { return window_keys_.size(); }
  // The keys of every document emitted since the last call: one window's documents.
  std::vector<sdk::Row> takeWindowKeys() { return std::exchange(window_keys_, {}); }
  std::vector<sdk::StreamRows> take() {
    std::vector<sdk::StreamRows> out = std::move(streams_);
    reset();
    return out;
  }

 private:
  void reset() {
    streams_.clear();
    for (const auto& schema : spec_.streams) streams_.push_back(sdk::StreamRows{&schema, {}});
    pending_ = 0;
  }
  const sdk::CollectionSpec& spec_;
  CollectionSummary& summary_;
  Poco::Logger& log_;
  std::vector<sdk::StreamRows> streams_;
  std::size_t pending_ = 0;
  std::string document_;
  const Poco::JSON::Object* document_object_ = nullptr;
  WarningTally& tally_;
  std::vector<std::size_t> key_columns_;  // primary-key column indexes of streams[0]
  std::vector<sdk::Row> window_keys_;
  std::vector<sdk::RejectedDocument> rejected_;
};


}  // namespace oura::core

#include "sync/reprocess.hpp"

#include "sync/batch_emitter.hpp"
#include "sync/run_log.hpp"
#include "sync/scrape.hpp"
#include "sync/sink_writer.hpp"

#include <Poco/JSON/Parser.h>
#include <Poco/Logger.h>

namespace oura::core {

RunSummary runReprocess(Runtime& rt, const std::vector<std::string>& collections,
                        const std::atomic<bool>& stop) {
  const std::int64_t started_ms = nowMs();  // for the run log
  std::vector<const ServedCollection*> selected = selectCollections(rt, collections);
  std::vector<const sdk::CollectionSpec*> specs;
  for (const auto* c : selected) specs.push_back(c->spec);
  openSinks(rt, specs);
  RunSummary summary;
  summary.started_at_ms = started_ms;
  for (const ServedCollection* served : selected) {
    const sdk::CollectionSpec& spec = *served->spec;
    CollectionSummary s;
    s.collection = spec.name;
    s.endpoint = served->endpoint->name;
    Poco::Logger& log = Poco::Logger::get("oura.reprocess." + spec.name);
    try {
      for (SinkInstance& sink : rt.sinks) {
        if (stop) throw Interrupted{};
        WarningTally tally;
        BatchEmitter emitter(spec, s, log, tally);
        auto flush = [&] {
          sdk::SinkBatch batch;
          batch.account = rt.manifest.account;
          batch.collection = &spec;
          batch.streams = emitter.take();
          emitter.takeWindowKeys();  // reprocessing never marks anything deleted
          writeBatch(sink, batch, stop, log, s);
        };
        Poco::JSON::Parser parser;
        // Documents are mapped and written back in batches while they are read (readRaw leaves
        // nothing open on the sink while it calls back, see SinkPlugin::readRaw).
        auto on_raw = [&](const std::string& raw) {
          if (stop) throw Interrupted{};
          Poco::JSON::Object::Ptr doc;
          try {
            parser.reset();
            doc = parser.parse(raw).extract<Poco::JSON::Object::Ptr>();
          } catch (const std::exception& e) {
            ++s.skipped;
            log.error(spec.name + ": a stored raw document is not a JSON object; skipped");
            return;
          }
          const std::string id = documentId(*doc, spec.day_field);
          emitter.setDocument(id);
          const auto before = emitter.sizes();
          const std::size_t keys_before = emitter.windowKeyCount();
          const std::size_t pending_before = emitter.pending();
          try {
            served->endpoint->plugin->mapDocument(spec, *doc, raw, emitter);
          } catch (const std::exception& e) {
            emitter.rollbackTo(before, keys_before);
            ++s.skipped;
            log.error(spec.name + " document " + id + " cannot be mapped and was skipped: " +
                      e.what());
            return;
          }
          ++s.documents;
          s.rows += emitter.pending() - pending_before;
          if (emitter.pending() >= kBatchRows) flush();
        };
        if (!sink.plugin->readRaw(rt.manifest.account, spec, on_raw)) {
          log.information("sink " + sink.name + " keeps no documents to reprocess");
          continue;
        }
        flush();
        tally.logCounts(spec.name, log);
      }
    } catch (const Interrupted&) {
      s.outcome = Outcome::Interrupted;
      s.message = "stopped by a signal; run reprocess again to finish";
    } catch (const std::exception& e) {
      s.outcome = Outcome::Failed;
      s.message = e.what();
    }
    summary.collections.push_back(std::move(s));
  }
  return summary;
}

}  // namespace oura::core

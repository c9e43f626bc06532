#include "sync/reprocess.hpp"

#include "http/page_parser.hpp"
#include "sync/batch_emitter.hpp"
#include "sync/run_log.hpp"
#include "sync/scrape.hpp"
#include "sync/sink_writer.hpp"

#include <oura_sdk/errors.hpp>

#include <Poco/JSON/Parser.h>
#include <Poco/Logger.h>

namespace oura::core {

RunSummary runReprocess(Runtime& rt, const std::vector<std::string>& collections,
                        const std::atomic<bool>& stop, bool rejected) {
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
        std::vector<std::string> accepted;  // rejected documents that map now
        auto flush = [&] {
          sdk::SinkBatch batch;
          batch.account = rt.manifest.account;
          batch.collection = &spec;
          batch.streams = emitter.take();
          batch.accepted_rejections = std::move(accepted);
          accepted.clear();
          emitter.takeWindowKeys();  // reprocessing never marks anything deleted
          writeBatch(sink, batch, stop, log, s);
        };
        Poco::JSON::Parser parser;
        // Documents are mapped and written back in batches while they are read (readRaw leaves
        // nothing open on the sink while it calls back, see SinkPlugin::readRaw).
        auto on_bytes = [&](const std::string& bytes, bool was_rejected) {
          if (stop) throw Interrupted{};
          PageDocument doc = prepareDocument(bytes, parser);
          if (!doc.object) {
            ++s.skipped;
            log.error(spec.name + ": a " + (was_rejected ? "rejected" : "stored raw") +
                      " document is still " + printable(doc.problem, 300) + "; skipped");
            return;
          }
          const std::string id = documentId(*doc.object, spec.day_field);
          emitter.setDocument(id);
          const auto before = emitter.sizes();
          const std::size_t keys_before = emitter.windowKeyCount();
          const std::size_t pending_before = emitter.pending();
          try {
            served->endpoint->plugin->mapDocument(spec, *doc.object, doc.raw, emitter);
            if (emitter.windowKeyCount() > keys_before && emitter.lastKeyBytes() > kMaxKeyBytes) {
              throw sdk::MappingError("its key is " + std::to_string(emitter.lastKeyBytes()) +
                                      " bytes long; at most " + std::to_string(kMaxKeyBytes) +
                                      " can be indexed");
            }
          } catch (const std::exception& e) {
            emitter.rollbackTo(before, keys_before);
            ++s.skipped;
            log.error(spec.name + " document " + id + " cannot be mapped and was skipped: " +
                      printable(e.what(), 300));
            return;
          }
          ++s.documents;
          s.replaced += doc.replaced;
          s.rows += emitter.pending() - pending_before;
          if (was_rejected) accepted.push_back(bytes);
          if (emitter.pending() >= kBatchRows) flush();
        };
        const bool readable =
            rejected ? sink.plugin->readRejected(rt.manifest.account, spec,
                                                 [&](const sdk::RejectedDocument& d) {
                                                   on_bytes(d.raw, true);
                                                 })
                     : sink.plugin->readRaw(rt.manifest.account, spec,
                                            [&](const std::string& raw) { on_bytes(raw, false); });
        if (!readable) {
          log.information("sink " + sink.name + " keeps no " +
                          (rejected ? "rejected documents" : "documents") + " to reprocess");
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

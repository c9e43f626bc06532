#include "sync/collection_run.hpp"

#include "sync/sink_writer.hpp"

#include <oura_sdk/errors.hpp>
#include <oura_sdk/http.hpp>

#include <Poco/Exception.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>

namespace oura::core {

namespace {

class CollectionRun {
 public:
  CollectionRun(Runtime& rt, const ServedCollection& served, ApiClient& client,
                StoreTokenProvider& tokens, const std::atomic<bool>& stop,
                CollectionSummary& summary, Progress& progress)
      : rt_(rt), spec_(*served.spec), plugin_(*served.endpoint->plugin), client_(client),
        tokens_(tokens), stop_(stop),
        summary_(summary), progress_(progress),
        log_(Poco::Logger::get("oura.scrape." + spec_.name)), emitter_(spec_, summary_, log_) {}

  void run(DayRange window) {
    if (!tokens_.allows(spec_.scope)) {
      summary_.outcome = Outcome::NotAuthorised;
      summary_.message = "the token was not granted the '" + spec_.scope +
                         "' scope; log in again granting it to collect " + spec_.name;
      return;
    }
    RequestStats stats;
    try {
      switch (spec_.strategy) {
        case sdk::SyncStrategy::DateWindow:
          for (const DayRange& chunk : planWindows(spec_, window)) {
            fetchChunk(chunk, dateQuery(chunk), Keep::ByDay, stats);
          }
          break;
        case sdk::SyncStrategy::DateTimeWindow:
          for (const DayRange& chunk : planWindows(spec_, window)) {
            fetchChunk(chunk, dateTimeQuery(chunk), Keep::ByDay, stats);
          }
          break;
        case sdk::SyncStrategy::Snapshot:
          fetchChunk(window, {}, Keep::All, stats);
          break;
        case sdk::SyncStrategy::FullRefetch: {
          // The whole history every run, so a period that was open last time closes: from the
          // first day Oura can hold (or the run's own start, if earlier) through today, whatever
          // --until says.
          const DayRange history{std::min(window.first, parseDay(kHistoryStart)),
                                 std::max(window.last, today())};
          fetchChunk(history, dateQuery(history), Keep::All, stats);
          break;
        }
      }
    } catch (const Interrupted&) {
      summary_.outcome = Outcome::Interrupted;
      summary_.message = "stopped by a signal; run again to finish";
    } catch (const StopRequested&) {
      summary_.outcome = Outcome::Interrupted;
      summary_.message = "stopped by a signal; run again to finish";
    } catch (const sdk::LoginNeededError& e) {
      summary_.outcome = Outcome::LoginNeeded;
      summary_.message = e.what();
    } catch (const sdk::HttpError& e) {
      if (e.status() == 401 || e.status() == 403) {
        summary_.outcome = Outcome::NotAuthorised;
        summary_.message = std::string(e.what()) +
                           "; the token is not authorised for this collection (scope not granted, "
                           "or an expired token): the collection was skipped";
      } else if (e.status() == 426) {
        summary_.outcome = Outcome::UpgradeRequired;
        summary_.message = std::string(e.what()) +
                           "; Oura requires a newer app: update the Oura app on the phone, sync "
                           "the ring, then run again";
      } else {
        summary_.outcome = Outcome::Failed;
        summary_.message = std::string(e.what()) +
                           "; run again later: the next run fetches what did not land";
        summary_.unreachable = e.status() == 0 && summary_.documents == 0 && stats.pages == 0;
      }
    } catch (const std::exception& e) {
      summary_.outcome = Outcome::Failed;
      summary_.message = e.what();
    }
    summary_.requests = stats.requests;
    summary_.retries = stats.retries;
    summary_.pages = stats.pages;
    emitter_.logWarningCounts();
  }

 private:
  QueryParams dateQuery(const DayRange& chunk) const {
    // One day wider on each side: end_date is exclusive for some collections and inclusive for
    // others, /sleep filters on the UTC bedtime start and /workout on the UTC date. Rows are then
    // kept by their own day, so the widening never adds a day.
    return {{"start_date", formatDay(chunk.first - 1)}, {"end_date", formatDay(chunk.last + 1)}};
  }
  // [first - 1 day, last + 2 days) in UTC: the same one-day widening as dateQuery, so a
  // sample whose own (local) date is inside the chunk is fetched whatever its UTC offset; the
  // request spans the chunk plus two days, at most 30 days. Consecutive chunks' requests
  // overlap, and keeping samples by their own date keeps each exactly once.
  QueryParams dateTimeQuery(const DayRange& chunk) const {
    return {{"start_datetime", formatDay(chunk.first - 1) + "T00:00:00+00:00"},
            {"end_datetime", formatDay(chunk.last + 2) + "T00:00:00+00:00"}};
  }

  bool inWindow(const Poco::JSON::Object& doc, const DayRange& chunk) const {
    if (spec_.day_field.empty()) return true;
    if (!doc.has(spec_.day_field)) return true;  // no day to judge by: the mapper decides
    Poco::Dynamic::Var v = doc.get(spec_.day_field);
    if (!v.isString()) return true;
    std::string text = v.extract<std::string>().substr(0, 10);
    DayNumber day;
    try {
      day = parseDay(text);
    } catch (const std::invalid_argument&) {
      return true;
    }
    return day >= chunk.first && day <= chunk.last;
  }

  // Maps one parsed document into the emitter; false when it was rejected (quarantined).
  bool mapDocument(PageDocument& doc) {
    emitter_.setDocument(doc.object.get());
    const auto before = emitter_.sizes();
    const std::size_t keys_before = emitter_.windowKeyCount();
    const std::size_t pending_before = emitter_.pending();
    std::string reason;
    try {
      plugin_.mapDocument(spec_, *doc.object, doc.raw, emitter_);
      if (emitter_.windowKeyCount() > keys_before && emitter_.lastKeyBytes() > kMaxKeyBytes) {
        reason = "its key is " + std::to_string(emitter_.lastKeyBytes()) +
                 " bytes long; at most " + std::to_string(kMaxKeyBytes) + " can be indexed";
      }
    } catch (const std::exception& e) {
      reason = std::string("it cannot be mapped: ") + e.what();
    }
    if (!reason.empty()) {
      emitter_.rollbackTo(before, keys_before);
      emitter_.reject(std::move(doc.raw), documentId(*doc.object, spec_.day_field),
                      printable(reason, 300));
      return false;
    }
    ++summary_.documents;
    summary_.replaced += doc.replaced;
    summary_.rows += emitter_.pending() - pending_before;
    return true;
  }

  void fetchChunk(const DayRange& chunk, const QueryParams& query, Keep keep,
                  RequestStats& stats) {
    if (stop_) throw Interrupted{};
    const bool ranged = keep == Keep::ByDay;
    const bool snapshot = spec_.strategy == sdk::SyncStrategy::Snapshot;
    const sdk::DayWindow window = snapshot ? sdk::DayWindow{}
                                           : sdk::DayWindow{formatDay(chunk.first), formatDay(chunk.last)};
    std::size_t skipped_in_window = 0;
    emitter_.takeWindowKeys();  // a new window: forget the keys of the previous one
    auto on_document = [&](PageDocument& doc) {
      if (stop_) throw Interrupted{};
      if (!doc.object) {
        ++skipped_in_window;
        emitter_.reject(std::move(doc.raw), "", printable(doc.problem, 300));
        return;
      }
      if (ranged && !inWindow(*doc.object, chunk)) return;
      if (mapDocument(doc)) {
        if (emitter_.pending() >= kBatchRows) flush(window, false, std::nullopt);
      } else {
        ++skipped_in_window;
      }
    };
    if (spec_.bare_object) {
      // A body that is not a JSON object is retried as a transport error (ApiClient::BodyCheck),
      // then reported with the URL.
      Poco::JSON::Parser parser;
      PageDocument doc;
      auto check = [&](const std::string& body) -> std::optional<std::string> {
        doc = prepareDocument(body, parser);
        if (!doc.object) return "the response is " + doc.problem;
        return std::nullopt;
      };
      client_.get(spec_.path, query, stats, check);
      ++stats.pages;
      on_document(doc);
    } else {
      forEachDocument(client_, spec_.path, query, stats, on_document);
    }
    std::optional<std::string> synced;
    if (!snapshot && !rt_.sinks.empty()) synced = window.last_day;
    // The window was fetched to its last page: authoritative for deletions, unless a document
    // could not be mapped (its stored row must not be taken for deleted).
    flush(window, skipped_in_window == 0, synced);
    progress_.windowDone(spec_.name,
                         snapshot ? std::string() : window.first_day + ".." + window.last_day,
                         summary_.rows, stats.requests);
  }

  void flush(const sdk::DayWindow& window, bool complete, std::optional<std::string> synced) {
    sdk::SinkBatch batch;
    batch.account = rt_.manifest.account;
    batch.collection = &spec_;
    batch.window = window;
    batch.window_complete = complete;
    if (complete) batch.window_document_keys = emitter_.takeWindowKeys();
    batch.synced_through = std::move(synced);
    batch.streams = emitter_.take();
    batch.rejected = emitter_.takeRejected();
    for (SinkInstance& sink : rt_.sinks) writeBatch(sink, batch, stop_, log_, summary_);
  }

  Runtime& rt_;
  const sdk::CollectionSpec& spec_;
  const sdk::EndpointPlugin& plugin_;  // the plugin that maps this collection's documents
  ApiClient& client_;
  StoreTokenProvider& tokens_;
  const std::atomic<bool>& stop_;
  CollectionSummary& summary_;
  Progress& progress_;
  Poco::Logger& log_;
  BatchEmitter emitter_;
};

}  // namespace

void runCollection(Runtime& runtime, const ServedCollection& served, ApiClient& client,
                   StoreTokenProvider& tokens, const std::atomic<bool>& stop,
                   CollectionSummary& summary, Progress& progress, DayRange window) {
  CollectionRun(runtime, served, client, tokens, stop, summary, progress).run(window);
}

}  // namespace oura::core

#include "sync/collection_run.hpp"

#include "sync/sink_writer.hpp"

#include <oura_sdk/errors.hpp>
#include <oura_sdk/http.hpp>

#include <Poco/Exception.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>

namespace oura::core {

// The state of one window while it runs: its own counts (merged into the collection's summary
// when it ends), its own rows and document keys, and the worker's HTTP client.
struct CollectionRun::Window {
  Window(std::size_t index, const PlannedWindow& plan, ApiClient& client,
         const sdk::CollectionSpec& spec, Poco::Logger& log, WarningTally& tally)
      : index(index), plan(plan), client(client), emitter(spec, counts, log, tally) {}
  std::size_t index;
  const PlannedWindow& plan;
  ApiClient& client;
  CollectionSummary counts;
  RequestStats stats;
  BatchEmitter emitter;
  std::size_t skipped = 0;  // documents of this window that could not be used (quarantined)
};

CollectionRun::CollectionRun(Runtime& rt, const ServedCollection& served,
                             StoreTokenProvider& tokens, const std::atomic<bool>& stop,
                             CollectionSummary& summary, Progress& progress, DayRange window)
    : rt_(rt), served_(served), spec_(*served.spec), tokens_(tokens), stop_(stop),
      summary_(summary), progress_(progress),
      log_(Poco::Logger::get("oura.scrape." + spec_.name)), ledger_(0) {
  if (!tokens_.allows(spec_.scope)) {
    // Known granted scopes without any name of this one: skipped without a request.
    summary_.outcome = Outcome::NotAuthorised;
    summary_.missing_scope = spec_.scope;
    summary_.message = "the token was not granted the '" + spec_.scope + "' scope, so " +
                       spec_.name + " was skipped: " + grantScopeAdvice(spec_.scope);
    return;
  }
  windows_ = planWindows(spec_, window);
  ledger_ = LandingLedger(windows_.size());
}

std::size_t CollectionRun::landedPrefix() const {
  std::lock_guard lock(mutex_);
  return ledger_.landedPrefix();
}

void CollectionRun::runWindow(std::size_t index, ApiClient& client) noexcept {
  {
    std::lock_guard lock(mutex_);
    if (ledger_.anyFailed()) return;  // a gap already: nothing after it could be recorded
  }
  Window w(index, windows_.at(index), client, spec_, log_, tally_);
  try {
    try {
      fetchWindow(w);
    } catch (const Interrupted&) {
      fail(w, Outcome::Interrupted, "stopped by a signal; run again to finish", false);
    } catch (const StopRequested&) {
      fail(w, Outcome::Interrupted, "stopped by a signal; run again to finish", false);
    } catch (const sdk::LoginNeededError& e) {
      fail(w, Outcome::LoginNeeded, e.what(), false);
    } catch (const sdk::HttpError& e) {
      if (e.status() == 401 || e.status() == 403) {
        {
          std::lock_guard lock(mutex_);
          summary_.missing_scope = spec_.scope;
        }
        fail(w, Outcome::NotAuthorised,
             std::string(e.what()) + "; " + spec_.name +
                 " is not authorised and was skipped: " + grantScopeAdvice(spec_.scope),
             false);
      } else if (e.status() == 426) {
        fail(w, Outcome::UpgradeRequired,
             std::string(e.what()) +
                 "; Oura requires a newer app: update the Oura app on the phone, sync the ring, "
                 "then run again",
             false);
      } else {
        fail(w, Outcome::Failed,
             std::string(e.what()) + "; run again later: the next run fetches what did not land",
             e.status() == 0);
      }
    } catch (const std::exception& e) {
      fail(w, Outcome::Failed, e.what(), false);
    }
  } catch (...) {
    // Only a failure to allocate the message can get here: the window is a gap all the same.
    std::lock_guard lock(mutex_);
    ledger_.failed(index);
    if (summary_.outcome == Outcome::Ok) summary_.outcome = Outcome::Failed;
  }
}

void CollectionRun::finish() {
  std::lock_guard lock(mutex_);
  // Not one window reached the API (connection refused...): the collection never got through.
  summary_.unreachable = failed_unreachable_ && summary_.pages == 0 && summary_.documents == 0;
  tally_.logCounts(spec_.name, log_);
}

// Adds a finished (or failed) window's counts to the collection's. Called with mutex_ held.
void CollectionRun::merge(const Window& w) {
  summary_.requests += w.stats.requests;
  summary_.retries += w.stats.retries;
  summary_.pages += w.stats.pages;
  summary_.rate_limited += w.stats.rate_limited;
  summary_.documents += w.counts.documents;
  summary_.rows += w.counts.rows;
  summary_.skipped += w.counts.skipped;
  summary_.rejected += w.counts.rejected;
  summary_.replaced += w.counts.replaced;
  summary_.warnings += w.counts.warnings;
  summary_.inserted += w.counts.inserted;
  summary_.updated += w.counts.updated;
}

// A window ended without landing: a gap in the ledger for good. The collection's outcome is the
// first real failure; an interruption never hides one.
void CollectionRun::fail(Window& w, Outcome outcome, const std::string& message,
                         bool unreachable) {
  std::lock_guard lock(mutex_);
  ledger_.failed(w.index);
  merge(w);
  failed_unreachable_ |= unreachable;
  const bool first = summary_.outcome == Outcome::Ok ||
                     (summary_.outcome == Outcome::Interrupted && outcome != Outcome::Interrupted);
  if (first) {
    summary_.outcome = outcome;
    summary_.message = message;
  }
}

bool CollectionRun::inWindow(const Poco::JSON::Object& doc, const DayRange& chunk) const {
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

void CollectionRun::fetchWindow(Window& w) {
  if (stop_) throw Interrupted{};
  fetchDocuments(w);
  land(w);
  std::uint64_t rows = 0, requests = 0;
  {
    std::lock_guard lock(mutex_);
    rows = summary_.rows;
    requests = summary_.requests;
  }
  const bool snapshot = spec_.strategy == sdk::SyncStrategy::Snapshot;
  progress_.windowDone(spec_.name,
                       snapshot ? std::string()
                                : formatDay(w.plan.days.first) + ".." + formatDay(w.plan.days.last),
                       rows, requests);
}

// Maps one parsed document into the window's emitter; false when it was rejected: its rows
// are rolled back and its bytes quarantined with the window's next batch (SinkBatch::rejected).
bool CollectionRun::mapDocument(Window& w, PageDocument& doc) {
  w.emitter.setDocument(doc.object.get());
  const auto before = w.emitter.sizes();
  const std::size_t keys_before = w.emitter.windowKeyCount();
  const std::size_t pending_before = w.emitter.pending();
  std::string reason;
  try {
    served_.endpoint->plugin->mapDocument(spec_, *doc.object, doc.raw, w.emitter);
    if (w.emitter.windowKeyCount() > keys_before && w.emitter.lastKeyBytes() > kMaxKeyBytes) {
      reason = "its key is " + std::to_string(w.emitter.lastKeyBytes()) +
               " bytes long; at most " + std::to_string(kMaxKeyBytes) + " can be indexed";
    }
  } catch (const std::exception& e) {
    reason = std::string("it cannot be mapped: ") + e.what();
  }
  if (!reason.empty()) {
    w.emitter.rollbackTo(before, keys_before);
    w.emitter.reject(std::move(doc.raw), documentId(*doc.object, spec_.day_field),
                     printable(reason, 300));
    return false;
  }
  ++w.counts.documents;
  w.counts.replaced += doc.replaced;
  w.counts.rows += w.emitter.pending() - pending_before;
  return true;
}

// Walks the window's pages (one after another: the cursor), handing each kept document to the
// endpoint plugin and a batch to the sinks every kBatchRows rows. A document that cannot be
// parsed or mapped is quarantined with this window's batches; the rest of the window lands.
void CollectionRun::fetchDocuments(Window& w) {
  const DayRange& chunk = w.plan.days;
  const bool ranged = w.plan.keep == Keep::ByDay;
  auto on_document = [&](PageDocument& doc) {
    if (stop_) throw Interrupted{};
    if (!doc.object) {
      ++w.skipped;
      w.emitter.reject(std::move(doc.raw), "", printable(doc.problem, 300));
      return;
    }
    if (ranged && !inWindow(*doc.object, chunk)) return;
    if (mapDocument(w, doc)) {
      if (w.emitter.pending() >= kBatchRows) flush(w, false, std::nullopt);
    } else {
      ++w.skipped;
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
    w.client.get(spec_.path, w.plan.query, w.stats, check);
    ++w.stats.pages;
    on_document(doc);
  } else {
    forEachDocument(w.client, spec_.path, w.plan.query, w.stats, on_document);
  }
}

// The window's last batch: fetched to its last page, so authoritative for deletions unless a
// document could not be mapped (its stored row must not be taken for deleted). It carries the
// sync state only when it completes the contiguous prefix of landed windows, and then the last
// day of that prefix. The decision, the write and the ledger's update happen under mutex_, so
// two windows landing at once never both leave the state short, nor record it past a gap.
void CollectionRun::land(Window& w) {
  const bool snapshot = spec_.strategy == sdk::SyncStrategy::Snapshot;
  std::lock_guard lock(mutex_);
  std::optional<std::string> synced;
  if (!snapshot && !rt_.sinks.empty()) {
    if (const std::optional<std::size_t> end = ledger_.prefixIfLanded(w.index)) {
      synced = formatDay(windows_[*end].days.last);
    }
  }
  flush(w, w.skipped == 0, synced);
  ledger_.landed(w.index);
  merge(w);
}

void CollectionRun::flush(Window& w, bool complete, std::optional<std::string> synced) {
  const bool snapshot = spec_.strategy == sdk::SyncStrategy::Snapshot;
  sdk::SinkBatch batch;
  batch.account = rt_.manifest.account;
  batch.collection = &spec_;
  if (!snapshot) batch.window = {formatDay(w.plan.days.first), formatDay(w.plan.days.last)};
  batch.window_complete = complete;
  if (complete) batch.window_document_keys = w.emitter.takeWindowKeys();
  batch.synced_through = std::move(synced);
  batch.streams = w.emitter.take();
  batch.rejected = w.emitter.takeRejected();
  for (SinkInstance& sink : rt_.sinks) writeBatch(sink, batch, stop_, log_, w.counts);
}

}  // namespace oura::core

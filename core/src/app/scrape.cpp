#include "app/scrape.hpp"

#include "app/days.hpp"
#include "app/exit_codes.hpp"
#include "app/migrations.hpp"
#include "app/progress.hpp"
#include "app/run_log.hpp"
#include "app/token_provider.hpp"
#include "http/api_client.hpp"

#include <oura_sdk/errors.hpp>
#include <oura_sdk/http.hpp>

#include <Poco/DateTimeFormatter.h>
#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>
#include <Poco/Logger.h>
#include <Poco/Timestamp.h>

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

#include <unistd.h>

namespace oura::core {

const char* toString(Outcome outcome) noexcept {
  switch (outcome) {
    case Outcome::Ok: return "ok";
    case Outcome::Failed: return "FAILED";
    case Outcome::NotAuthorised: return "not authorised";
    case Outcome::UpgradeRequired: return "app update needed";
    case Outcome::LoginNeeded: return "login needed";
    case Outcome::Interrupted: return "interrupted";
  }
  return "unknown";
}

namespace {

constexpr std::size_t kBatchRows = 5000;  // rows buffered before a batch goes to the sinks
constexpr int kSinkAttempts = 4;          // a sink's RetryLater is tried this many times in all
// The first day a full re-fetch asks for: Oura's first ring shipped in 2015, so no account holds
// anything earlier.
constexpr const char* kHistoryStart = "2015-01-01";
// The earliest day a run may ask for (a safety bound well before kHistoryStart).
constexpr const char* kEarliestDay = "2010-01-01";

// Which fetched documents a batch keeps.
enum class Keep {
  ByDay,  // only those whose own day (CollectionSpec::day_field) is inside the chunk
  All,    // every document (snapshots and full re-fetches)
};

// A request asks for one day more on each side than the days it keeps (see dateQuery), so a
// chunk of days must be two days shorter than the widest request allowed.
int requestDays(int max_window_days) { return std::max(1, max_window_days - 2); }

// The windows a collection's run fetches one after another (the window plan of DESIGN.md):
// date windows of at most max_window_days asked, datetime windows of at most 30 days asked;
// snapshots and full re-fetches are one request walk.
std::vector<DayRange> planWindows(const sdk::CollectionSpec& spec, const DayRange& window) {
  switch (spec.strategy) {
    case sdk::SyncStrategy::DateWindow:
      return splitWindow(window, requestDays(spec.max_window_days));
    case sdk::SyncStrategy::DateTimeWindow:
      return splitWindow(window, requestDays(std::min(spec.max_window_days, 30)));
    case sdk::SyncStrategy::Snapshot:
    case sdk::SyncStrategy::FullRefetch:
      break;
  }
  return {window};
}

struct Interrupted {};

// Collects one collection's rows, per stream, between two sink batches.
class BatchEmitter : public sdk::RowEmitter {
 public:
  BatchEmitter(const sdk::CollectionSpec& spec, CollectionSummary& summary, Poco::Logger& log)
      : spec_(spec), summary_(summary), log_(log) {
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
  // Each distinct problem is logged once per collection, with the first document that showed
  // it (a field missing from every heart-rate row would otherwise flood the log); the run
  // summary counts every occurrence, and the end of the collection logs the count per problem.
  void warn(const std::string& message) override {
    ++summary_.warnings;
    auto [it, first] = warning_counts_.try_emplace(message, 0);
    ++it->second;
    if (first && warning_counts_.size() <= 50) {
      log_.warning(spec_.name + " document " + document_ + ": " + message +
                   " (logged once; the run summary counts every document)");
    }
  }
  void logWarningCounts() const {
    for (const auto& [message, count] : warning_counts_) {
      if (count > 1) {
        log_.warning(spec_.name + ": " + std::to_string(count) + " documents: " + message);
      }
    }
  }
  void setDocument(std::string id) { document_ = std::move(id); }
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
  std::map<std::string, std::uint64_t> warning_counts_;
  std::vector<std::size_t> key_columns_;  // primary-key column indexes of streams[0]
  std::vector<sdk::Row> window_keys_;
};

// A value from the API, made safe for a log line: control characters (a newline could forge a
// log line, an escape sequence could repaint the terminal) become \xNN, and it is cut at 100.
std::string printable(const std::string& text) {
  std::string out;
  for (unsigned char c : text.substr(0, 100)) {
    if (c < 0x20 || c == 0x7f) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (text.size() > 100) out += "...";
  return out;
}

std::string documentId(const Poco::JSON::Object& doc, const std::string& day_field) {
  for (const char* key : {"id"}) {
    if (doc.has(key) && doc.get(key).isString()) return printable(doc.getValue<std::string>(key));
  }
  if (!day_field.empty() && doc.has(day_field) && doc.get(day_field).isString()) {
    return "of " + printable(doc.getValue<std::string>(day_field));
  }
  return "(without id)";
}

// Hands one batch to one sink: RetryLater is retried with a growing pause (at most
// kSinkAttempts tries in all, none once a stop was asked for); anything but Done throws, naming
// the sink, the collection and the window. Counts what the sink inserted and updated.
void writeBatch(SinkInstance& sink, const sdk::SinkBatch& batch, const std::atomic<bool>& stop,
                Poco::Logger& log, CollectionSummary& summary) {
  const std::string& collection = batch.collection->name;
  std::lock_guard lock(*sink.mutex);
  sdk::SinkOutcome outcome;
  for (int attempt = 1;; ++attempt) {
    try {
      outcome = sink.plugin->write(batch);
    } catch (const std::exception& e) {
      outcome = sdk::SinkOutcome{sdk::SinkOutcome::Status::Failed, e.what(), 0, 0};
    }
    if (outcome.status != sdk::SinkOutcome::Status::RetryLater || attempt >= kSinkAttempts ||
        stop) {
      break;
    }
    log.warning("sink " + sink.name + " asked to retry a batch of " + collection + ": " +
                outcome.message);
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(500) * (1 << attempt);
    while (!stop && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  if (outcome.status != sdk::SinkOutcome::Status::Done) {
    throw std::runtime_error(
        "sink " + sink.name + " could not write " + collection +
        (batch.window.first_day.empty()
             ? std::string()
             : " " + batch.window.first_day + ".." + batch.window.last_day) +
        ": " + outcome.message +
        (outcome.status == sdk::SinkOutcome::Status::RetryLater
             ? std::string("; it kept asking to retry: run again once it is back (the next "
                           "run writes what did not land)")
             : std::string()));
  }
  summary.inserted += outcome.inserted;
  summary.updated += outcome.updated;
}

class CollectionRun {
 public:
  CollectionRun(Runtime& rt, const ServedCollection& served, ApiClient& client,
                StoreTokenProvider& tokens, const std::atomic<bool>& stop,
                CollectionSummary& summary, Progress& progress)
      : rt_(rt), spec_(*served.spec), client_(client), tokens_(tokens), stop_(stop),
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

  void fetchChunk(const DayRange& chunk, const QueryParams& query, Keep keep,
                  RequestStats& stats) {
    if (stop_) throw Interrupted{};
    const bool ranged = keep == Keep::ByDay;
    const bool snapshot = spec_.strategy == sdk::SyncStrategy::Snapshot;
    const sdk::DayWindow window = snapshot ? sdk::DayWindow{}
                                           : sdk::DayWindow{formatDay(chunk.first), formatDay(chunk.last)};
    std::size_t skipped_in_window = 0;
    emitter_.takeWindowKeys();  // a new window: forget the keys of the previous one
    auto on_document = [&](const Poco::JSON::Object::Ptr& doc) {
      if (stop_) throw Interrupted{};
      if (!doc) {
        ++summary_.skipped;
        ++skipped_in_window;
        log_.error(spec_.name + ": a document is not a JSON object; skipped");
        return;
      }
      if (ranged && !inWindow(*doc, chunk)) return;
      const std::string id = documentId(*doc, spec_.day_field);
      emitter_.setDocument(id);
      std::ostringstream raw;
      doc->stringify(raw);
      const auto before = emitter_.sizes();
      const std::size_t keys_before = emitter_.windowKeyCount();
      const std::size_t pending_before = emitter_.pending();
      try {
        rt_.find(spec_.name)->endpoint->plugin->mapDocument(spec_, *doc, raw.str(), emitter_);
      } catch (const std::exception& e) {
        emitter_.rollbackTo(before, keys_before);
        ++summary_.skipped;
        ++skipped_in_window;
        log_.error(spec_.name + " document " + id + " cannot be mapped and was skipped: " +
                   e.what());
        return;
      }
      ++summary_.documents;
      summary_.rows += emitter_.pending() - pending_before;
      if (emitter_.pending() >= kBatchRows) flush(window, false, std::nullopt);
    };
    if (spec_.bare_object) {
      // A body that is not a JSON object is retried as a transport error (ApiClient::BodyCheck),
      // then reported with the URL.
      Poco::JSON::Object::Ptr doc;
      auto check = [&doc](const std::string& body) -> std::optional<std::string> {
        try {
          doc = Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>();
        } catch (const Poco::Exception& e) {
          return "the response is not a JSON object (" + e.displayText() + ")";
        }
        if (!doc) return std::string("the response is not a JSON object (null)");
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
    for (SinkInstance& sink : rt_.sinks) writeBatch(sink, batch, stop_, log_, summary_);
  }

  Runtime& rt_;
  const sdk::CollectionSpec& spec_;
  ApiClient& client_;
  StoreTokenProvider& tokens_;
  const std::atomic<bool>& stop_;
  CollectionSummary& summary_;
  Progress& progress_;
  Poco::Logger& log_;
  BatchEmitter emitter_;
};

std::vector<std::string> splitList(const std::vector<std::string>& items) {
  std::vector<std::string> out;
  for (const std::string& item : items) {
    std::stringstream in(item);
    for (std::string part; std::getline(in, part, ',');) {
      part.erase(0, part.find_first_not_of(" \t"));
      part.erase(part.find_last_not_of(" \t") + 1);
      if (!part.empty()) out.push_back(part);
    }
  }
  return out;
}

std::string servedList(const Runtime& rt) {
  std::string out;
  for (const auto& c : rt.collections) out += (out.empty() ? "" : ", ") + c.spec->name;
  return out;
}

// The collections a run covers: `requested` (--collections, comma-separated items) or else the
// manifest's list, or else every served collection. Unknown names: exit 64 from the command
// line, 78 from the manifest.
std::vector<const ServedCollection*> selectCollections(const Runtime& rt,
                                                       const std::vector<std::string>& requested) {
  std::vector<const ServedCollection*> selected;
  const bool from_cli = !requested.empty();
  std::vector<std::string> names = splitList(from_cli ? requested : rt.manifest.collections);
  if (from_cli && names.empty()) {
    throw ExitError(kExitUsage, "--collections needs at least one collection name; leave it out "
                                "to fetch every enabled collection");
  }
  if (names.empty()) {
    for (const auto& c : rt.collections) selected.push_back(&c);
  }
  std::set<std::string> seen;
  for (const std::string& name : names) {
    const ServedCollection* served = rt.find(name);
    if (served == nullptr) {
      std::string message = "unknown collection '" + name +
                            "': the enabled endpoint plugins serve " + servedList(rt);
      if (from_cli) throw ExitError(kExitUsage, "--collections: " + message);
      throw ExitError(kExitConfig, rt.manifest.file + ": collector.collections: " + message);
    }
    if (seen.insert(name).second) selected.push_back(served);
  }
  return selected;
}

// Opens every sink before anything is fetched; maps what they throw to DESIGN.md's exit codes.
void openSinks(Runtime& rt, const std::vector<const sdk::CollectionSpec*>& specs) {
  for (SinkInstance& sink : rt.sinks) {
    try {
      sink.plugin->open(rt.manifest.account, specs);
    } catch (const sdk::RunLockedError& e) {
      throw ExitError(kExitInterrupted, "sink " + sink.name + ": " + e.what() +
                                            "; nothing was done, run again later");
    } catch (const sdk::ConfigError& e) {
      throw ExitError(kExitConfig, "sink " + sink.name + ": " + e.what());
    } catch (const std::exception& e) {
      throw ExitError(kExitUnavailable, "sink " + sink.name + " cannot open: " + e.what() +
                                            "; nothing was fetched");
    }
  }}

}  // namespace

int RunSummary::exitCode() const {
  bool any_failed = false, any_interrupted = false, any_login = false;
  std::size_t unauthorised = 0;
  for (const auto& c : collections) {
    any_failed |= c.outcome == Outcome::Failed;
    any_interrupted |= c.outcome == Outcome::Interrupted;
    any_login |= c.outcome == Outcome::LoginNeeded;
    unauthorised += c.outcome == Outcome::NotAuthorised;
  }
  if (any_login) return kExitLoginNeeded;
  // Not one collection reached the API: it is unreachable, nothing was done.
  if (!collections.empty() &&
      std::all_of(collections.begin(), collections.end(),
                  [](const CollectionSummary& c) { return c.unreachable; })) {
    return kExitUnavailable;
  }
  if (!collections.empty() && unauthorised == collections.size()) return kExitLoginNeeded;
  if (any_interrupted) return kExitInterrupted;
  // The data landed, but the refreshed token is in no store: the command did not succeed.
  if (token_exit != 0) return token_exit;
  if (any_failed) return kExitPartial;
  return kExitOk;
}

void RunSummary::print(std::ostream& out) const {
  std::size_t width = 10;
  for (const auto& c : collections) width = std::max(width, c.collection.size());
  out << std::left << std::setw(static_cast<int>(width)) << "collection" << std::right
      << std::setw(9) << "requests" << std::setw(8) << "retries" << std::setw(7) << "docs"
      << std::setw(9) << "rows" << std::setw(9) << "inserted" << std::setw(8) << "updated"
      << std::setw(8) << "skipped" << std::setw(9) << "warnings" << "  outcome\n";
  for (const auto& c : collections) {
    out << std::left << std::setw(static_cast<int>(width)) << c.collection << std::right
        << std::setw(9) << c.requests << std::setw(8) << c.retries << std::setw(7) << c.documents
        << std::setw(9) << c.rows << std::setw(9) << c.inserted << std::setw(8) << c.updated
        << std::setw(8) << c.skipped << std::setw(9) << c.warnings << "  "
        << toString(c.outcome) << "\n";
  }
  for (const auto& c : collections) {
    if (c.outcome != Outcome::Ok && !c.message.empty()) {
      out << "- " << c.collection << ": " << c.message << "\n";
    }
  }
  if (!token_problem.empty()) out << "- token store: " << token_problem << "\n";
  const int code = exitCode();
  out << "exit " << code
      << (code == token_exit && !token_problem.empty()
              ? (token_exit == kExitInterrupted
                     ? ": the refreshed token could not be saved (see above); run again"
                     : ": the refreshed token could not be saved (see above); a login will be "
                       "needed")
          : code == kExitOk          ? ": every collection synced"
          : code == kExitPartial
              ? (std::all_of(collections.begin(), collections.end(),
                             [](const CollectionSummary& c) { return c.outcome == Outcome::Failed; })
                     ? ": every collection failed (see above)"
                     : ": partial, some collections failed (see above); the rest landed")
          : code == kExitLoginNeeded ? ": login needed"
          : code == kExitInterrupted ? ": interrupted; safe to run again"
          : code == kExitUnavailable ? ": the Oura API could not be reached; nothing was done"
                                     : "")
      << "\n";
}

// The outcome as a word for machines (the table prints toString's words for people).
const char* outcomeName(Outcome outcome) noexcept {
  switch (outcome) {
    case Outcome::Ok: return "ok";
    case Outcome::Failed: return "failed";
    case Outcome::NotAuthorised: return "not_authorised";
    case Outcome::UpgradeRequired: return "upgrade_required";
    case Outcome::LoginNeeded: return "login_needed";
    case Outcome::Interrupted: return "interrupted";
  }
  return "unknown";
}

const char* exitName(int code) noexcept {
  switch (code) {
    case kExitOk: return "ok";
    case kExitPartial: return "partial";
    case kExitUsage: return "usage";
    case kExitUnavailable: return "unavailable";
    case kExitInterrupted: return "interrupted";
    case kExitLoginNeeded: return "login_needed";
    case kExitConfig: return "config";
    default: return "internal";
  }
}

namespace {

std::string isoTime(std::int64_t ms) {
  return Poco::DateTimeFormatter::format(Poco::Timestamp(ms * 1000),
                                         "%Y-%m-%dT%H:%M:%S.%iZ");
}

}  // namespace

void RunSummary::writeJson(std::ostream& out, const std::string& command,
                           std::int64_t started_at_ms, std::int64_t finished_at_ms, int exit_code,
                           const std::string& error) const {
  Poco::JSON::Object root(Poco::JSON_PRESERVE_KEY_ORDER);
  root.set("command", command);
  root.set("started_at", isoTime(started_at_ms));
  root.set("finished_at", isoTime(finished_at_ms));
  root.set("exit_code", exit_code);
  root.set("outcome", std::string(exitName(exit_code)));
  if (!error.empty()) root.set("error", error);
  else if (!token_problem.empty()) root.set("error", token_problem);
  else root.set("error", Poco::Dynamic::Var());
  Poco::JSON::Array list;
  CollectionSummary totals;
  for (const CollectionSummary& c : collections) {
    Poco::JSON::Object o(Poco::JSON_PRESERVE_KEY_ORDER);
    o.set("collection", c.collection);
    o.set("endpoint", c.endpoint);
    if (c.first_day.empty()) o.set("first_day", Poco::Dynamic::Var());
    else o.set("first_day", c.first_day);
    if (c.last_day.empty()) o.set("last_day", Poco::Dynamic::Var());
    else o.set("last_day", c.last_day);
    o.set("requests", c.requests);
    o.set("retries", c.retries);
    o.set("pages", c.pages);
    o.set("documents", c.documents);
    o.set("rows", c.rows);
    o.set("inserted", c.inserted);
    o.set("updated", c.updated);
    o.set("skipped", c.skipped);
    o.set("warnings", c.warnings);
    o.set("outcome", std::string(outcomeName(c.outcome)));
    if (c.message.empty()) o.set("message", Poco::Dynamic::Var());
    else o.set("message", c.message);
    list.add(o);
    totals.requests += c.requests;
    totals.retries += c.retries;
    totals.documents += c.documents;
    totals.rows += c.rows;
    totals.inserted += c.inserted;
    totals.updated += c.updated;
    totals.skipped += c.skipped;
    totals.warnings += c.warnings;
  }
  root.set("collections", list);
  Poco::JSON::Object sum(Poco::JSON_PRESERVE_KEY_ORDER);
  sum.set("requests", totals.requests);
  sum.set("retries", totals.retries);
  sum.set("documents", totals.documents);
  sum.set("rows", totals.rows);
  sum.set("inserted", totals.inserted);
  sum.set("updated", totals.updated);
  sum.set("skipped", totals.skipped);
  sum.set("warnings", totals.warnings);
  root.set("totals", sum);
  root.stringify(out, 2);
  out << "\n";
}

// Oura's user id from /v2/usercollection/personal_info, or "default" (with a warning) when the
// token may not read it or the API does not answer.
std::string accountFromPersonalInfo(ApiClient& client, StoreTokenProvider& tokens) {
  Poco::Logger& log = Poco::Logger::get("oura.scrape");
  if (!tokens.allows("personal")) {
    log.warning("collector.account is not set and the token lacks the 'personal' scope: rows are "
                "keyed by the account label 'default' (set collector.account to choose one)");
    return "default";
  }
  try {
    RequestStats stats;
    HttpResponse response = client.get("/v2/usercollection/personal_info", {}, stats);
    Poco::JSON::Object::Ptr info =
        Poco::JSON::Parser().parse(response.body).extract<Poco::JSON::Object::Ptr>();
    if (info && info->has("id") && info->get("id").isString()) {
      const std::string id = info->getValue<std::string>("id");
      if (!id.empty()) {
        log.information("collector.account is not set: rows are keyed by Oura's user id " +
                        printable(id));
        return id;
      }
    }
  } catch (const StopRequested&) {
    throw;
  } catch (const std::exception& e) {
    log.warning(std::string("collector.account is not set and Oura's user id could not be read (") +
                e.what() + "): rows are keyed by the account label 'default'");
    return "default";
  }
  log.warning("collector.account is not set and personal_info has no id: rows are keyed by the "
              "account label 'default'");
  return "default";
}

RunSummary runScrape(Runtime& rt, const ScrapeOptions& options, const std::atomic<bool>& stop) {
  const std::int64_t started_ms = nowMs();  // for the run log
  // Before anything else: a store that may have to save a refreshed token must be writable.
  StoreTokenProvider tokens(*rt.token_store, rt.manifest.oauth ? &*rt.manifest.oauth : nullptr);
  tokens.prepare();
  std::vector<const ServedCollection*> selected = selectCollections(rt, options.collections);

  // Which days.
  DayRange window{};
  try {
    DayNumber until = options.until ? parseDay(*options.until) : today();
    DayNumber since;
    if (options.since) {
      since = parseDay(*options.since);
    } else {
      int days = options.days.value_or(rt.manifest.days);
      if (days < 1) throw ExitError(kExitUsage, "--days must be at least 1");
      since = until - days + 1;
    }
    if (since > until) {
      throw ExitError(kExitUsage, "--since " + formatDay(since) + " is after --until " +
                                      formatDay(until));
    }
    // Oura holds nothing before its first ring (2015) nor after tomorrow; a window far outside
    // is a typo that would cost thousands of requests.
    if (since < parseDay(kEarliestDay)) {
      const std::string what = options.since ? "--since " + formatDay(since)
                               : options.days ? "--days " + std::to_string(*options.days)
                                              : rt.manifest.file + ": collector.days " +
                                                    std::to_string(rt.manifest.days);
      throw ExitError(options.since || options.days ? kExitUsage : kExitConfig,
                      what + " reaches before " + kEarliestDay +
                          "; Oura has no data that old (its first ring shipped in 2015)");
    }
    if (until > today() + 1) {
      throw ExitError(kExitUsage, "--until " + formatDay(until) +
                                      " is in the future; Oura has no data after today");
    }
    window = {since, until};
  } catch (const std::invalid_argument& e) {
    throw ExitError(kExitUsage, e.what());
  }

  // A token before any request: exit 77 with a sentence saying how to provide one. An
  // expiring token is refreshed here, before anything is fetched (69, 75, 77, 78 on failure).
  try {
    tokens.accessToken();
  } catch (const sdk::LoginNeededError& e) {
    throw ExitError(kExitLoginNeeded, e.what());
  }

  std::vector<const sdk::CollectionSpec*> specs;
  for (const auto* c : selected) specs.push_back(c->spec);

  RateLimiter limiter(rt.manifest.rate_limit, &stop);
  RetryPolicy policy(rt.manifest.retry);
  const std::size_t threads = std::max<std::size_t>(
      1, std::min<std::size_t>(selected.size(),
                               static_cast<std::size_t>(std::max(1, rt.manifest.rate_limit.concurrency))));
  // One client per worker (Poco sessions are not thread-safe), made here so that a bad base URL
  // is a configuration error before anything starts.
  std::vector<std::unique_ptr<ApiClient>> clients;
  try {
    for (std::size_t t = 0; t < threads; ++t) {
      clients.push_back(std::make_unique<ApiClient>(rt.manifest.http, limiter, policy, tokens));
    }
  } catch (const sdk::ConfigError& e) {
    throw ExitError(kExitConfig, apiSettingsProblem(rt.manifest, e.what()));
  }

  // Without collector.account, rows are keyed by Oura's own user id (personal_info.id) where
  // the token may read it, so that two people's data never mix; else "default".
  if (!rt.manifest.account_explicit && !stop) {
    rt.manifest.account = accountFromPersonalInfo(*clients[0], tokens);
  }
  openSinks(rt, specs);


  RunSummary summary;
  summary.collections.resize(selected.size());
  std::vector<DayRange> windows(selected.size(), window);
  for (std::size_t i = 0; i < selected.size(); ++i) {
    CollectionSummary& s = summary.collections[i];
    s.collection = selected[i]->spec->name;
    s.endpoint = selected[i]->endpoint->name;
    // Incremental: without --since/--days, start at the synced day minus the overlap; a sink
    // without state for the collection needs the default window. With several sinks, the
    // earliest start serves them all (upserts make the overlap harmless).
    if (!options.since && !options.days && !options.dry_run && !rt.sinks.empty()) {
      std::optional<DayNumber> first;
      for (SinkInstance& sink : rt.sinks) {
        std::lock_guard lock(*sink.mutex);
        std::optional<std::string> synced;
        try {
          synced = sink.plugin->syncedThrough(rt.manifest.account, s.collection);
        } catch (const sdk::RunLockedError& e) {
          throw ExitError(kExitInterrupted, "sink " + sink.name + ": " + e.what());
        } catch (const std::exception& e) {
          throw ExitError(kExitUnavailable, "sink " + sink.name + " cannot read the sync state of " +
                                                s.collection + ": " + e.what());
        }
        DayNumber start = window.first;
        if (synced) {
          try {
            start = std::min(window.last, parseDay(*synced) - options.overlap_days);
          } catch (const std::invalid_argument&) {
            Poco::Logger::get("oura.scrape")
                .warning("sink " + sink.name + ": ignoring an unreadable sync state '" + *synced +
                         "' of " + s.collection);
          }
        }
        first = first ? std::min(*first, start) : start;
      }
      windows[i].first = *first;
    }
    const bool ranged = selected[i]->spec->strategy == sdk::SyncStrategy::DateWindow ||
                        selected[i]->spec->strategy == sdk::SyncStrategy::DateTimeWindow;
    if (ranged) {
      s.first_day = formatDay(windows[i].first);
      s.last_day = formatDay(windows[i].last);
    }
  }

  // A dry run's rows on the same terminal would run into a redrawn line: log lines then.
  const bool redraw = Progress::stderrIsTerminal() && !(options.dry_run && ::isatty(STDOUT_FILENO));
  Progress progress(std::cerr, redraw, Poco::Logger::get("oura.progress"));
  {
    std::uint64_t planned = 0;
    for (std::size_t i = 0; i < selected.size(); ++i) {
      if (tokens.allows(selected[i]->spec->scope)) {
        planned += planWindows(*selected[i]->spec, windows[i]).size();
      }
    }
    progress.plan(planned);
  }
  // The collections with the most windows start first (a longest-first schedule): the windows of
  // one collection run one after another, so a long one started last would finish alone, long
  // after the others (docs/performance.md). The summary keeps the selection's order.
  std::vector<std::size_t> order(selected.size());
  std::vector<std::size_t> window_count(selected.size());
  for (std::size_t i = 0; i < selected.size(); ++i) {
    order[i] = i;
    window_count[i] = planWindows(*selected[i]->spec, windows[i]).size();
  }
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return window_count[a] > window_count[b];
  });
  std::atomic<std::size_t> next{0};
  auto worker = [&](std::size_t worker_index) {
    for (std::size_t n = next++; n < selected.size(); n = next++) {
      const std::size_t i = order[n];
      CollectionSummary& s = summary.collections[i];
      if (stop) {
        s.outcome = Outcome::Interrupted;
        s.message = "not started: stopped by a signal; run again to finish";
        continue;
      }
      CollectionRun(rt, *selected[i], *clients[worker_index], tokens, stop, s, progress)
          .run(windows[i]);
      Poco::Logger::get("oura.scrape")
          .information(s.collection + ": " + toString(s.outcome) + ", " +
                       std::to_string(s.documents) + " documents, " + std::to_string(s.rows) +
                       " rows, " + std::to_string(s.requests) + " requests");
    }
  };
  {
    std::vector<std::jthread> pool;
    for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(worker, t);
    worker(0);
  }
  progress.finish();
  if (std::optional<ExitError> unsaved = tokens.unsavedRefresh()) {
    summary.token_exit = unsaved->code();
    summary.token_problem = unsaved->what();
  }
  recordRun(rt, summary, "scrape", started_ms);  // the run log, interrupted runs too
  for (SinkInstance& sink : rt.sinks) {
    try {
      sink.plugin->close();
    } catch (const std::exception& e) {
      Poco::Logger::get("oura.scrape").error("sink " + sink.name + " did not close cleanly: " + e.what());
    }
  }
  return summary;
}

std::string apiSettingsProblem(const Manifest& manifest, const std::string& problem) {
  // The CA file is an api.* setting too; name the key that the problem is about.
  const std::string key = problem.find("CA file") != std::string::npos ? "api.ca_file" : "api.base_url";
  if (manifest.base_url_from_environment && key == "api.base_url") {
    return "environment variable OURA_API_BASE_URL: " + problem;
  }
  return manifest.file + ": " + key + ": " + problem;
}

void checkApiSettings(const Manifest& manifest) {
  RateLimiter limiter(manifest.rate_limit);
  RetryPolicy policy(manifest.retry);
  struct NoTokens : TokenProvider {
    std::string accessToken() override { return {}; }
    bool refreshAfterUnauthorized(const std::string&) override { return false; }
  } tokens;
  try {
    ApiClient client(manifest.http, limiter, policy, tokens);  // validates; connects to nothing
  } catch (const sdk::ConfigError& e) {
    throw ExitError(kExitConfig, apiSettingsProblem(manifest, e.what()));
  }
}

RunSummary runReprocess(Runtime& rt, const std::vector<std::string>& collections,
                        const std::atomic<bool>& stop) {
  const std::int64_t started_ms = nowMs();  // for the run log
  std::vector<const ServedCollection*> selected = selectCollections(rt, collections);
  std::vector<const sdk::CollectionSpec*> specs;
  for (const auto* c : selected) specs.push_back(c->spec);
  openSinks(rt, specs);
  RunSummary summary;
  for (const ServedCollection* served : selected) {
    const sdk::CollectionSpec& spec = *served->spec;
    CollectionSummary s;
    s.collection = spec.name;
    s.endpoint = served->endpoint->name;
    Poco::Logger& log = Poco::Logger::get("oura.reprocess." + spec.name);
    try {
      for (SinkInstance& sink : rt.sinks) {
        if (stop) throw Interrupted{};
        BatchEmitter emitter(spec, s, log);
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
        emitter.logWarningCounts();
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
  recordRun(rt, summary, "reprocess", started_ms);  // the run log, interrupted runs too
  for (SinkInstance& sink : rt.sinks) {
    try {
      sink.plugin->close();
    } catch (const std::exception& e) {
      Poco::Logger::get("oura.reprocess").error("sink " + sink.name + " did not close cleanly: " + e.what());
    }
  }
  return summary;
}

void requireCurrentSchema(Runtime& rt) {
  std::optional<int> newest_known;
  auto newest = [&] {
    if (!newest_known) {
      try {
        newest_known = loadMigrations(migrationsDir(rt.manifest)).back().version;
      } catch (const sdk::ConfigError& e) {
        throw ExitError(kExitConfig, e.what());
      }
    }
    return *newest_known;
  };
  for (SinkInstance& sink : rt.sinks) {
    std::optional<int> version;
    try {
      version = sink.plugin->schemaVersion();
    } catch (const std::exception& e) {
      throw ExitError(kExitUnavailable, "sink " + sink.name + ": " + e.what() +
                                            "; nothing was fetched");
    }
    if (!version) continue;  // a sink without a schema
    if (*version < newest()) {
      throw ExitError(kExitConfig,
                      "sink " + sink.name + ": the database schema is at migration " +
                          std::to_string(*version) + ", this program needs " +
                          std::to_string(newest()) + ": run `oura-collector init-db` first");
    }
    if (*version > newest()) {
      throw ExitError(kExitConfig, "sink " + sink.name + ": the database schema is at migration " +
                                       std::to_string(*version) + ", newer than this program's " +
                                       std::to_string(newest()) + ": upgrade oura-collector");
    }
  }
}

}  // namespace oura::core

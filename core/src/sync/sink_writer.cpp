#include "sync/sink_writer.hpp"

#include "errors.hpp"

#include <oura_sdk/errors.hpp>

#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace oura::core {

namespace {
constexpr int kSinkAttempts = 4;  // a sink's RetryLater is tried this many times in all
}  // namespace

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

void openSinks(Runtime& rt, const std::vector<const sdk::CollectionSpec*>& specs) {
  for (SinkInstance& sink : rt.sinks) {
    try {
      sink.plugin->open(rt.manifest.account, specs);
    } catch (const sdk::RunLockedError& e) {
      throw Error(ErrorKind::Interrupted, "sink " + sink.name + ": " + e.what() +
                                            "; nothing was done, run again later");
    } catch (const sdk::ConfigError& e) {
      throw Error(ErrorKind::Config, "sink " + sink.name + ": " + e.what());
    } catch (const std::exception& e) {
      throw Error(ErrorKind::Unavailable, "sink " + sink.name + " cannot open: " + e.what() +
                                            "; nothing was fetched");
    }
  }
}

void closeSinks(Runtime& rt, Poco::Logger& log) {
  for (SinkInstance& sink : rt.sinks) {
    try {
      sink.plugin->close();
    } catch (const std::exception& e) {
      log.error("sink " + sink.name + " did not close cleanly: " + e.what());
    }
  }
}

}  // namespace oura::core

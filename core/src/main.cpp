// oura-collector: collects a person's Oura Ring data (Oura API v2) into PostgreSQL or stdout.
#include "cli/application.hpp"
#include "http/network_watch.hpp"

#include <atomic>
#include <csignal>

namespace {
// The one piece of process-wide state: set by SIGINT/SIGTERM, read by the scheduler.
std::atomic<bool> g_stop{false};
extern "C" void onStopSignal(int) { g_stop.store(true); }
}  // namespace

// Exported to plugins (dlsym): a plugin waiting on its own I/O (the postgres sink's statements)
// cancels it when the program is asked to stop.
extern "C" __attribute__((visibility("default"))) int oura_stop_requested() {
  return g_stop.load() ? 1 : 0;
}

int main(int argc, char** argv) {
  struct sigaction action {};
  action.sa_handler = onStopSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  oura::core::setNetworkStopFlag(&g_stop);  // SIGTERM also ends a blocked connect/send/recv
  oura::core::CollectorApplication app(g_stop);
  return app.runCommandLine(argc, argv);
}

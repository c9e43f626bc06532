#pragma once
// Keeps every network wait interruptible: while a NetworkWatch lives, a watcher thread shuts the
// session's socket down (shutdown(2), which wakes a blocked connect, send or recv at once) when
// SIGINT/SIGTERM has set the process's stop flag, or when the deadline for the whole exchange
// has passed. The blocked call then fails, and the caller asks fired() why. docs/retries.md
// "Caps and deadlines".

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

namespace Poco::Net {
class HTTPSession;
}

namespace oura::core {

// The process's stop flag (set once by main before any network use; may stay unset in tests).
void setNetworkStopFlag(const std::atomic<bool>* stop);
// True once SIGINT/SIGTERM has asked the process to stop.
bool networkStopRequested();

class NetworkWatch {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Fired { Nothing, Stop, Deadline };

  // Watches `session`'s socket (whichever the session has connected by then) until destroyed.
  NetworkWatch(Poco::Net::HTTPSession& session, std::optional<Clock::time_point> deadline);
  ~NetworkWatch();
  NetworkWatch(const NetworkWatch&) = delete;
  NetworkWatch& operator=(const NetworkWatch&) = delete;

  // Why the socket was shut down, if it was.
  Fired fired() const { return fired_.load(); }
  // Throws StopRequested when the stop flag fired the watch.
  void throwIfStopped() const;

 private:
  void run();
  Poco::Net::HTTPSession& session_;
  std::optional<Clock::time_point> deadline_;
  std::atomic<Fired> fired_{Fired::Nothing};
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace oura::core

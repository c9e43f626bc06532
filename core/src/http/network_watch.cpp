// See network_watch.hpp.
#include "http/network_watch.hpp"

#include "http/rate_limiter.hpp"

#include <Poco/Net/HTTPSession.h>
#include <Poco/Net/SocketImpl.h>
#include <Poco/Net/StreamSocket.h>
#include <sys/socket.h>

namespace oura::core {

namespace {

std::atomic<const std::atomic<bool>*> g_stop{nullptr};

// How often the watcher looks at the stop flag (a signal handler cannot notify a condition
// variable): the bound on how long SIGTERM waits for a blocked network call.
constexpr std::chrono::milliseconds kPollInterval{100};

}  // namespace

void setNetworkStopFlag(const std::atomic<bool>* stop) { g_stop.store(stop); }

bool networkStopRequested() {
  const std::atomic<bool>* stop = g_stop.load();
  return stop != nullptr && stop->load();
}

NetworkWatch::NetworkWatch(Poco::Net::HTTPSession& session,
                           std::optional<Clock::time_point> deadline)
    : session_(session), deadline_(deadline) {
  thread_ = std::thread([this] { run(); });
}

NetworkWatch::~NetworkWatch() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    done_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void NetworkWatch::throwIfStopped() const {
  if (fired() == Fired::Stop) throw StopRequested();
}

void NetworkWatch::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!done_) {
    Fired reason = Fired::Nothing;
    if (networkStopRequested()) {
      reason = Fired::Stop;
    } else if (deadline_ && Clock::now() >= *deadline_) {
      reason = Fired::Deadline;
    }
    if (reason != Fired::Nothing) {
      // The socket may not exist yet (connect not started): shut it down once it does.
      const poco_socket_t fd = session_.socket().impl()->sockfd();
      if (fd != POCO_INVALID_SOCKET) {
        if (fired_.load() == Fired::Nothing) fired_.store(reason);
        ::shutdown(fd, SHUT_RDWR);
        return;
      }
    }
    cv_.wait_for(lock, kPollInterval, [this] { return done_; });
  }
}

}  // namespace oura::core

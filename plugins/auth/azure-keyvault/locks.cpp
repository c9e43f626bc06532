// Lock providers (see locks.hpp).
#include "locks.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <oura_sdk/errors.hpp>
#include <thread>

#include "pg_settings.hpp"

namespace oura::plugins::azure_keyvault {

LockProvider::~LockProvider() = default;

namespace {

using Clock = std::chrono::steady_clock;

class FileTokenLock : public sdk::TokenLock {
 public:
  explicit FileTokenLock(int fd) : fd_(fd) {}
  ~FileTokenLock() override {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }

 private:
  int fd_;
};

class FileLock : public LockProvider {
 public:
  explicit FileLock(std::string path) : path_(std::move(path)) {}

  std::string describe() const override { return "flock on " + path_; }

  std::unique_ptr<sdk::TokenLock> acquire(std::chrono::milliseconds timeout) override {
    const int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
      throw sdk::Error("lock_file: cannot open " + path_ + ": " + std::strerror(errno));
    }
    const auto deadline = Clock::now() + timeout;
    while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK && errno != EINTR) {
        const std::string why = std::strerror(errno);
        ::close(fd);
        throw sdk::Error("lock_file: cannot lock " + path_ + ": " + why);
      }
      if (Clock::now() >= deadline) {
        char buffer[32] = {};
        const ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
        ::close(fd);
        std::string holder = n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : "";
        while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) {
          holder.pop_back();
        }
        throw sdk::TokenLockTimeout(
            "the token refresh lock (flock on " + path_ + ") is held by " +
            (holder.empty() ? std::string("another process") : "process " + holder) +
            "; waited " + std::to_string(timeout.count()) + " ms");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
      // The pid is only for the message of a waiting process: the lock itself is held.
    }
    return std::make_unique<FileTokenLock>(fd);
  }

 private:
  std::string path_;
};

class PgTokenLock : public sdk::TokenLock {
 public:
  PgTokenLock(std::unique_ptr<postgres::Connection> connection, std::int64_t key)
      : connection_(std::move(connection)), key_(key) {}
  ~PgTokenLock() override {
    try {
      connection_->exec("SELECT pg_advisory_unlock($1::bigint)", {std::to_string(key_)});
    } catch (const std::exception&) {
      // Closing the session below releases it anyway.
    }
  }

 private:
  std::unique_ptr<postgres::Connection> connection_;
  std::int64_t key_;
};

class PostgresLock : public LockProvider {
 public:
  PostgresLock(postgres::ConnectionSettings settings, const std::string& name,
               const sdk::Logger& logger)
      : settings_(std::move(settings)), key_(postgres::advisoryLockKey(name)), logger_(logger) {
    // The holder's process id in pg_stat_activity, so a waiting process can name it.
    settings_.application_name += " (pid " + std::to_string(::getpid()) + ")";
  }

  std::string describe() const override {
    return "PostgreSQL advisory lock " + std::to_string(key_) + " on " +
           postgres::endpointName(settings_) + "/" + settings_.dbname;
  }

  std::unique_ptr<sdk::TokenLock> acquire(std::chrono::milliseconds timeout) override {
    auto connection = std::make_unique<postgres::Connection>(settings_, logger_);
    const std::string key = std::to_string(key_);
    try {
      bool held = false;
      if (timeout.count() <= 0) {
        held = connection->exec("SELECT pg_try_advisory_lock($1::bigint)", {key}).value(0, 0) ==
               "t";
      } else {
        connection->exec("SELECT set_config('lock_timeout', $1, false)",
                         {std::to_string(timeout.count()) + "ms"});
        try {
          connection->exec("SELECT pg_advisory_lock($1::bigint)", {key});
          held = true;
        } catch (const postgres::PgError& e) {
          if (e.sqlstate() != "55P03") throw;  // lock_not_available: the timeout
        }
      }
      if (!held) {
        auto holder = postgres::advisoryLockHolder(*connection, key_);
        throw sdk::TokenLockTimeout(
            "the token refresh lock (" + describe() + ") is held by " +
            (holder ? holder->describe() : std::string("another session")) + "; waited " +
            std::to_string(timeout.count()) + " ms");
      }
    } catch (const postgres::PgError& e) {
      throw sdk::Error("cannot take the token refresh lock (" + describe() + "): " + e.what());
    }
    return std::make_unique<PgTokenLock>(std::move(connection), key_);
  }

 private:
  postgres::ConnectionSettings settings_;
  std::int64_t key_;
  sdk::Logger logger_;
};

}  // namespace

std::unique_ptr<LockProvider> makeFileLock(const std::string& path) {
  return std::make_unique<FileLock>(path);
}

std::unique_ptr<LockProvider> makePostgresLock(postgres::ConnectionSettings settings,
                                               const std::string& lock_name,
                                               const sdk::Logger& logger) {
  return std::make_unique<PostgresLock>(std::move(settings), lock_name, logger);
}

}  // namespace oura::plugins::azure_keyvault

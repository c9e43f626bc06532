// Token store `file` (see README.md): one JSON file, mode 0600, replaced atomically and durably;
// the refresh lock is a flock on `<path>.lock`.
#include "file_store.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <oura_sdk/errors.hpp>
#include <thread>
#include <token_json.hpp>
#include <vector>

namespace oura::plugins {

using namespace oura::sdk;

namespace {

constexpr std::size_t kMaxFileSize = tokens::kMaxTokenText;  // a token file: a few hundred bytes
// How long save() and clear() wait for the lock when the caller does not hold it (another
// process may be refreshing: its POST is bounded by the core's lock_timeout_seconds).
constexpr std::chrono::milliseconds kWriteLockTimeout{60000};
constexpr std::chrono::milliseconds kPollInterval{20};
constexpr const char* kTempInfix = ".tmp-";

std::string errnoText(int error) { return std::strerror(error); }

std::string octalMode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

/// Closes a file descriptor when it goes out of scope.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  int release() {
    int f = fd;
    fd = -1;
    return f;
  }
};

bool writeAll(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

/// A test hook (README "Test hooks"): OURA_FAILPOINT=file-store:<point>.
bool failpointIs(const char* point) {
  const char* value = std::getenv("OURA_FAILPOINT");
  return value != nullptr && std::string(value) == std::string("file-store:") + point;
}

void dieAt(const char* point) {
  if (failpointIs(point)) ::kill(::getpid(), SIGKILL);
}

void fsyncFolder(const std::string& folder, const std::string& path) {
  Fd dir(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.fd < 0) {
    throw Error("token file " + path +
                ": cannot open its folder to make the change durable: " + errnoText(errno));
  }
  if (::fsync(dir.fd) != 0 && errno != EINVAL) {
    throw Error("token file " + path + ": fsync of its folder failed: " + errnoText(errno));
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The lock

struct FileTokenStore::Held {
  std::mutex mutex;
  bool held = false;
};

namespace {

class FileLock : public TokenLock {
 public:
  FileLock(int fd, std::shared_ptr<FileTokenStore::Held> held) : fd_(fd), held_(std::move(held)) {
    std::lock_guard<std::mutex> g(held_->mutex);
    held_->held = true;
  }
  ~FileLock() override {
    {
      std::lock_guard<std::mutex> g(held_->mutex);
      held_->held = false;
    }
    // The pid goes first, so a stale pid is never read from a free lock file.
    if (::ftruncate(fd_, 0) != 0) { /* the lock is released all the same */
    }
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }

 private:
  int fd_;
  std::shared_ptr<FileTokenStore::Held> held_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------

ConfigSchema FileTokenStore::configSchema() {
  return {
      ConfigKey{"path", ConfigType::String, true, std::nullopt,
                "the token file, e.g. /var/lib/oura-collector/tokens.json (created mode 0600; "
                "its folder must be writable by the collector; the lock file is <path>.lock); "
                "a relative path is taken from the working directory"},
  };
}

FileTokenStore::FileTokenStore(const PluginContext& context)
    : logger_(context.logger), held_(std::make_shared<Held>()) {
  const std::string given = context.config.getString("path");
  if (given.empty()) throw ConfigError("path: must not be empty");
  if (given.back() == '/') throw ConfigError("path: names a folder, not a file: " + given);
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(given, ec);
  if (ec) throw ConfigError("path: cannot resolve " + given + ": " + ec.message());
  p = p.lexically_normal();
  path_ = p.string();
  folder_ = p.parent_path().string();
  name_ = p.filename().string();
  if (name_.empty() || name_ == "." || name_ == "..") {
    throw ConfigError("path: names a folder, not a file: " + given);
  }
  lock_path_ = path_ + ".lock";
}

FileTokenStore::~FileTokenStore() = default;

std::string FileTokenStore::describe() const { return "file " + path_; }

void FileTokenStore::checkFolder() const {
  // Whoever may write the folder may swap the token file (or plant one): refused like a file
  // that group or others may write. A root-owned sticky folder (/tmp) only lets owners replace
  // their own files.
  struct stat st {};
  if (::stat(folder_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return;  // reported elsewhere
  const bool sticky_root = (st.st_mode & S_ISVTX) != 0 && st.st_uid == 0;
  // A Kubernetes volume with `fsGroup` is group-writable for that group, with the set-group-ID
  // bit: accepted when the group is this process's own (runAsGroup = fsGroup), so only the pod's
  // own processes may write there. Others writing it is never accepted.
  const bool own_fs_group = (st.st_mode & S_ISGID) != 0 && st.st_gid == ::getegid() &&
                            (st.st_mode & S_IWOTH) == 0;
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && !sticky_root && !own_fs_group) {
    throw ConfigError("the folder " + folder_ + " of token file " + path_ + " has mode " +
                      octalMode(st.st_mode) +
                      ": group or others may replace the token file there, refused; run `chmod "
                      "700 " + folder_ + "` (and log in again if someone else may have read or "
                      "replaced the tokens)");
  }
  if (st.st_uid != ::geteuid() && st.st_uid != 0) {
    throw ConfigError("the folder " + folder_ + " of token file " + path_ + " is owned by uid " +
                      std::to_string(st.st_uid) +
                      ", neither this user nor root: refused (its owner may replace the file)");
  }
}

std::optional<TokenSet> FileTokenStore::read(bool* exists) const {
  *exists = false;
  checkFolder();
  Fd fd(::open(path_.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.fd < 0) {
    const int error = errno;
    if (error == ENOENT) return std::nullopt;
    if (error == ELOOP) {
      throw ConfigError("token file " + path_ +
                        " is a symbolic link: refused (another user could point it elsewhere); "
                        "set path to the file itself");
    }
    if (error == EACCES) {
      throw ConfigError("token file " + path_ +
                        " cannot be read by this user: " + errnoText(error));
    }
    throw Error("token file " + path_ + " cannot be opened: " + errnoText(error));
  }
  *exists = true;
  struct stat st {};
  if (::fstat(fd.fd, &st) != 0) {
    throw Error("token file " + path_ + ": fstat failed: " + errnoText(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    throw ConfigError("token file " + path_ + " is not a regular file: refused");
  }
  if (st.st_uid != ::geteuid()) {
    throw ConfigError("token file " + path_ + " is owned by uid " + std::to_string(st.st_uid) +
                      ", not by this user (uid " + std::to_string(::geteuid()) +
                      "): refused; the collector's own user must own its token file");
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    throw ConfigError("token file " + path_ + " has mode " + octalMode(st.st_mode) +
                      ": group or others may read or write it, refused; run `chmod 600 " + path_ +
                      "` (and log in again if someone else may have read the tokens)");
  }
  if (static_cast<std::size_t>(st.st_size) > kMaxFileSize) {
    throw ConfigError("token file " + path_ + " is " + std::to_string(st.st_size) +
                      " bytes, too large for a token file: refused");
  }
  std::string text;
  text.resize(static_cast<std::size_t>(st.st_size) + 1);
  std::size_t got = 0;
  for (;;) {
    if (got == text.size()) text.resize(text.size() * 2);
    if (text.size() > kMaxFileSize + 1) {
      throw ConfigError("token file " + path_ + " is too large for a token file: refused");
    }
    const ssize_t n = ::read(fd.fd, text.data() + got, text.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error("token file " + path_ + " cannot be read: " + errnoText(errno));
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  text.resize(got);

  // The codec's messages never quote the file (a token might be in it).
  try {
    return tokens::decodeTokens(text, tokens::TokenForm::File).tokens;
  } catch (const tokens::TokenJsonError& e) {
    if (e.kind() == tokens::TokenJsonError::Kind::NewerFormat) {
      throw ConfigError("token file " + path_ + ": " + e.what());
    }
    throw ConfigError("token file " + path_ + ": " + e.what() +
                      "; fix or remove the file and run `oura-collector auth login`");
  }
}

std::optional<TokenSet> FileTokenStore::load() {
  bool exists = false;
  return read(&exists);
}

namespace {

/// Opens (creating, mode 0600) the lock file; refuses a symbolic link or another user's file.
int openLockFile(const std::string& lock_path) {
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
  if (fd < 0) {
    const int error = errno;
    if (error == ELOOP) {
      throw ConfigError("lock file " + lock_path + " is a symbolic link: refused");
    }
    throw ConfigError("cannot open the lock file " + lock_path + ": " + errnoText(error) +
                      " (the folder must be writable by the collector)");
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid()) {
    ::close(fd);
    throw ConfigError("lock file " + lock_path +
                      " is not a regular file of this user: refused (remove it)");
  }
  return fd;
}

/// The pid written into the lock file by its holder, when there is one.
std::optional<long> holderPid(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return std::nullopt;
  char* end = nullptr;
  const long pid = std::strtol(buf, &end, 10);
  if (end == buf || pid <= 0) return std::nullopt;
  return pid;
}

}  // namespace

std::unique_ptr<TokenLock> FileTokenStore::lock(std::chrono::milliseconds timeout) {
  Fd fd(openLockFile(lock_path_));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (::flock(fd.fd, LOCK_EX | LOCK_NB) == 0) break;
    const int error = errno;
    if (error == EINTR) continue;
    if (error != EWOULDBLOCK) {
      throw Error("cannot lock " + lock_path_ + ": " + errnoText(error));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      const auto pid = holderPid(fd.fd);
      const std::string who = pid ? "process " + std::to_string(*pid)
                                  : std::string("another process (its pid is not written yet)");
      const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout).count();
      throw TokenLockTimeout("the refresh lock of token file " + path_ + " (" + lock_path_ +
                             ") is held by " + who + "; waited " + std::to_string(seconds) +
                             " s; try again when it has finished");
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd.fd, 0) != 0 || ::pwrite(fd.fd, pid.data(), pid.size(), 0) < 0) {
    logger_.warning("could not write this process's pid into " + lock_path_ + ": " +
                    errnoText(errno));
  }
  logger_.debug("took the refresh lock " + lock_path_);
  return std::make_unique<FileLock>(fd.release(), held_);
}

std::unique_ptr<TokenLock> FileTokenStore::lockForWrite() {
  {
    std::lock_guard<std::mutex> g(held_->mutex);
    if (held_->held) return nullptr;  // the caller holds this store's lock
  }
  return lock(kWriteLockTimeout);
}

void FileTokenStore::checkWritable() {
  struct stat st {};
  if (::stat(folder_.c_str(), &st) != 0) {
    throw ConfigError("the folder " + folder_ + " of token file " + path_ +
                      " does not exist or cannot be reached: " + errnoText(errno) +
                      " (create it, mode 0700, owned by the collector's user)");
  }
  if (!S_ISDIR(st.st_mode)) {
    throw ConfigError(folder_ + " (the folder of token file " + path_ + ") is not a folder");
  }
  if (::eaccess(folder_.c_str(), W_OK | X_OK) != 0) {
    throw ConfigError("cannot create files in " + folder_ + ", the folder of token file " + path_ +
                      ": " + errnoText(errno) +
                      "; the collector replaces the file there on every refresh");
  }
  std::string probe = folder_ + "/." + name_ + ".probe-XXXXXX";
  const int fd = ::mkostemp(probe.data(), O_CLOEXEC);
  if (fd < 0) {
    throw ConfigError("cannot create a file in " + folder_ + " (the folder of token file " + path_ +
                      "): " + errnoText(errno));
  }
  ::close(fd);
  if (::unlink(probe.c_str()) != 0) {
    throw ConfigError("cannot remove a file in " + folder_ + " (the folder of token file " + path_ +
                      "): " + errnoText(errno));
  }
  ::close(openLockFile(lock_path_));
  bool exists = false;
  read(&exists);  // an existing file must be safe to read (ConfigError otherwise)
}

void FileTokenStore::removeStaleTempFiles() const {
  // Left by a process killed between writing its temp file and the rename; only ever removed
  // under the lock, so no writer is using one.
  const std::string prefix = "." + name_ + kTempInfix;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(folder_, ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() == prefix.size() + 6 && name.compare(0, prefix.size(), prefix) == 0) {
      if (::unlink(it->path().c_str()) == 0) {
        logger_.info("removed " + it->path().string() + ", left by an interrupted save");
      }
    }
  }
}

bool FileTokenStore::save(const TokenSet& tokens, std::int64_t expected_generation) {
  if (tokens.generation != expected_generation + 1) {
    throw Error("token file " + path_ + ": a save must carry generation " +
                std::to_string(expected_generation + 1) + ", got " +
                std::to_string(tokens.generation) + " (a bug in the caller)");
  }
  std::lock_guard<std::mutex> serial(write_mutex_);
  const auto lock = lockForWrite();
  bool exists = false;
  const auto current = read(&exists);
  const std::int64_t stored = current ? current->generation : 0;
  if (stored != expected_generation) {
    logger_.debug("token file " + path_ + " holds generation " + std::to_string(stored) + ", not " +
                  std::to_string(expected_generation) + ": not saved");
    return false;
  }
  removeStaleTempFiles();

  const std::string text = tokens::encodeTokens(tokens, tokens::TokenForm::File);
  std::string temp = folder_ + "/." + name_ + kTempInfix + "XXXXXX";
  Fd fd(::mkostemp(temp.data(), O_CLOEXEC));
  if (fd.fd < 0) {
    throw Error("token file " + path_ + ": cannot create a temporary file in " + folder_ + ": " +
                errnoText(errno) + "; the stored tokens are unchanged");
  }
  auto fail = [&](const std::string& what) {
    const int error = errno;
    ::unlink(temp.c_str());
    throw Error("token file " + path_ + ": " + what + ": " + errnoText(error) +
                "; the stored tokens are unchanged");
  };
  if (::fchmod(fd.fd, 0600) != 0) fail("chmod of the temporary file failed");
  if (failpointIs("mid-write")) {  // half the file written and on disk, then killed
    if (writeAll(fd.fd, text.substr(0, text.size() / 2))) ::fsync(fd.fd);
    dieAt("mid-write");
  }
  if (!writeAll(fd.fd, text)) fail("writing the temporary file failed");
  if (::fsync(fd.fd) != 0) fail("fsync of the temporary file failed");
  if (::close(fd.release()) != 0) fail("closing the temporary file failed");
  dieAt("before-rename");
  if (::rename(temp.c_str(), path_.c_str()) != 0) fail("replacing the file failed");
  fsyncFolder(folder_, path_);
  logger_.debug("saved generation " + std::to_string(tokens.generation) + " to " + path_);
  return true;
}

void FileTokenStore::clear() {
  std::lock_guard<std::mutex> serial(write_mutex_);
  const auto lock = lockForWrite();
  if (::unlink(path_.c_str()) != 0 && errno != ENOENT) {
    throw Error("cannot remove token file " + path_ + ": " + errnoText(errno));
  }
  removeStaleTempFiles();
  fsyncFolder(folder_, path_);
  logger_.info("removed token file " + path_);
}

}  // namespace oura::plugins

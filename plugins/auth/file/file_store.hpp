#pragma once
#include <memory>
#include <mutex>
#include <oura_sdk/token_store.hpp>
#include <string>

namespace oura::plugins {

/// Token store `file`: the tokens of one account in a JSON file of the owner's only (mode 0600),
/// replaced atomically and durably (temp file in the same folder, fsync, rename, fsync of the
/// folder), a compare-and-set on the generation, and a cross-process refresh lock by `flock` on
/// the sibling file `<path>.lock`, which names the holder's pid. See README.md.
class FileTokenStore : public oura::sdk::TokenStore {
 public:
  static oura::sdk::ConfigSchema configSchema();
  /// Checks the configuration only (touches no file). @throws sdk::ConfigError.
  explicit FileTokenStore(const oura::sdk::PluginContext& context);
  ~FileTokenStore() override;

  std::string describe() const override;
  /// @throws sdk::ConfigError (exit 78) for a file that is not a regular file, a symbolic link,
  ///   owned by another user, readable or writable by group or others, or malformed;
  ///   sdk::Error when it cannot be read.
  std::optional<oura::sdk::TokenSet> load() override;
  bool writable() const override { return true; }
  /// The folder exists and this user may create and remove files in it (a probe file is
  /// created and removed again), the lock file can be opened, and an existing token file is
  /// safe to read. @throws sdk::ConfigError saying what and where.
  void checkWritable() override;
  /// flock(LOCK_EX) on `<path>.lock`, polled until `timeout`. @throws sdk::TokenLockTimeout
  ///   naming the holder's pid; sdk::Error when the lock file cannot be opened.
  std::unique_ptr<oura::sdk::TokenLock> lock(std::chrono::milliseconds timeout) override;
  bool save(const oura::sdk::TokenSet& tokens, std::int64_t expected_generation) override;
  void clear() override;

  /// The lock's shared state: whether this instance holds its lock (so that save() and clear()
  /// called under the core's refresh lock do not take it again).
  struct Held;

 private:
  /// Takes the lock for one save/clear unless this instance already holds it.
  std::unique_ptr<oura::sdk::TokenLock> lockForWrite();
  // Refuses a folder group or others may write (ConfigError).
  void checkFolder() const;
  std::optional<oura::sdk::TokenSet> read(bool* exists) const;
  void removeStaleTempFiles() const;

  std::string path_;
  std::string folder_;
  std::string name_;
  std::string lock_path_;
  oura::sdk::Logger logger_;
  std::shared_ptr<Held> held_;
  std::mutex write_mutex_;
};

}  // namespace oura::plugins

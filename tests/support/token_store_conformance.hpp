#pragma once
// The behaviour every writable token store shares (the parameterised GoogleTest suite
// `TokenStoreConformance`, defined in token_store_conformance.cpp): an empty store loads nothing;
// a save round-trips every TokenSet field; a stale expected generation is refused and changes
// nothing; the refresh lock excludes a holder in another process, names it in the timeout and
// is released when destroyed; clear() empties the store; checkWritable() passes; the store's
// description and messages carry no token; the core's protocol (lock, load, mark, save) works
// on one instance.
//
// A store's test instantiates it with a factory:
//
//   INSTANTIATE_TEST_SUITE_P(File, TokenStoreConformance,
//       ::testing::ValuesIn(tokenStoreCases({TokenStoreCase{"file", make, setup, teardown}})),
//       tokenStoreCaseName);
//
// where `make` creates an instance through the real plugin loader (`loadTokenStore`), and
// `setup` gives every test a fresh, empty storage (a temp folder, a database, a vault).
// The helpers below the suite's declarations (loadTokenStore, fullTokenSet, expectSameTokens,
// LockHolderProcess) live in token_store_support.cpp: a test that uses only them does not get
// the suite.

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <oura_sdk/token_store.hpp>
#include <string>
#include <vector>

namespace oura::test {

/// One store under test.
struct TokenStoreCase {
  /// The test name suffix, e.g. "file".
  std::string name;
  /// A new instance of the store; all instances made between one `setup` and `teardown` share
  /// their storage. Called in the test process and in a forked child (for the cross-process
  /// lock test): it must not rely on threads of the parent.
  std::function<std::shared_ptr<sdk::TokenStore>()> make;
  /// Before every test: fresh, empty storage. Optional.
  std::function<void()> setup = {};
  /// After every test (also a failed one). Optional.
  std::function<void()> teardown = {};
  /// What a TokenLockTimeout must contain while the process `holder_pid` holds the lock.
  /// Default: the decimal pid.
  std::function<std::string(int holder_pid)> expected_holder = {};
};

/// `cases`, as the suite's parameters. Defined with the suite's tests: calling it links them into
/// the test program.
std::vector<TokenStoreCase> tokenStoreCases(std::vector<TokenStoreCase> cases);

/// The test name suffix of a case: its name.
std::string tokenStoreCaseName(const ::testing::TestParamInfo<TokenStoreCase>& info);
/// How GoogleTest prints a case: by its name.
void PrintTo(const TokenStoreCase& store, std::ostream* out);

/// Loads the token-store plugin `plugin` from $OURA_PLUGIN_DIR through the program's plugin
/// loader, validates `config_toml` (the body of [token_store.config]) against its schema as the
/// core does (defaults, environment overrides, secret references), and creates an instance
/// named "token". Throws sdk::ConfigError like the program would.
std::shared_ptr<sdk::TokenStore> loadTokenStore(const std::string& plugin,
                                                const std::string& config_toml);

/// A TokenSet with every field set (tokens look like the fake's: "fake-at-..." / "fake-rt-...").
sdk::TokenSet fullTokenSet(std::int64_t generation, const std::string& tag);

/// Field-by-field equality with a readable failure.
void expectSameTokens(const sdk::TokenSet& want, const sdk::TokenSet& have);

/// The suite. SetUp/TearDown run the case's setup/teardown.
class TokenStoreConformance : public ::testing::TestWithParam<TokenStoreCase> {
 protected:
  void SetUp() override;
  void TearDown() override;
  std::shared_ptr<sdk::TokenStore> make() const { return GetParam().make(); }
};

/// Another process that holds a store's refresh lock: forked, creates its own instance with the
/// case's factory, takes the lock; `release()` destroys its lock (the process stays alive until
/// destroyed). Destroying it ends the process.
class LockHolderProcess {
 public:
  /// Forks and waits until the child holds the lock. Throws std::runtime_error with the child's
  /// error when it could not take it.
  explicit LockHolderProcess(const std::function<std::shared_ptr<sdk::TokenStore>()>& make);
  ~LockHolderProcess();
  LockHolderProcess(const LockHolderProcess&) = delete;
  LockHolderProcess& operator=(const LockHolderProcess&) = delete;
  int pid() const { return pid_; }
  /// The child destroys its lock and says so; it stays alive. Throws on a child failure.
  void release();

 private:
  int pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
};

}  // namespace oura::test

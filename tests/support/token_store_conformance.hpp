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
// The helpers (loadTokenStore, fullTokenSet, expectSameTokens, LockHolderProcess, the test
// database) are declared in token_store_support.hpp, included here, and live in
// token_store_support.cpp: a test that uses only them does not get the suite.

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <oura_sdk/token_store.hpp>
#include <string>
#include <vector>

#include "token_store_support.hpp"

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

/// The suite. SetUp/TearDown run the case's setup/teardown.
class TokenStoreConformance : public ::testing::TestWithParam<TokenStoreCase> {
 protected:
  void SetUp() override;
  void TearDown() override;
  std::shared_ptr<sdk::TokenStore> make() const { return GetParam().make(); }
};

}  // namespace oura::test

// The token-store conformance suite (see token_store_conformance.hpp); its helpers are in
// token_store_support.cpp, so that a program using only them does not get the suite.
#include "token_store_conformance.hpp"

#include <cctype>
#include <optional>
#include <oura_sdk/errors.hpp>

namespace oura::test {

using sdk::TokenLockTimeout;
using sdk::TokenSet;
using sdk::TokenStore;

std::vector<TokenStoreCase> tokenStoreCases(std::vector<TokenStoreCase> cases) { return cases; }

std::string tokenStoreCaseName(const ::testing::TestParamInfo<TokenStoreCase>& info) {
  std::string name;
  for (char c : info.param.name) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return name;
}

void PrintTo(const TokenStoreCase& store, std::ostream* out) { *out << store.name; }

void TokenStoreConformance::SetUp() {
  if (GetParam().setup) GetParam().setup();
}

void TokenStoreConformance::TearDown() {
  if (GetParam().teardown) GetParam().teardown();
}

// ---------------------------------------------------------------------------------------------
// The suite

TEST_P(TokenStoreConformance, AnEmptyStoreLoadsNothingAndIsWritable) {
  auto store = make();
  EXPECT_TRUE(store->writable());
  EXPECT_FALSE(store->load().has_value());
  EXPECT_NO_THROW(store->checkWritable());
  EXPECT_FALSE(store->load().has_value()) << "checkWritable() changes nothing stored";
}

TEST_P(TokenStoreConformance, ASaveRoundTripsEveryField) {
  const TokenSet first = fullTokenSet(1, "one");
  ASSERT_TRUE(make()->save(first, 0));
  auto loaded = make()->load();  // another instance reads what the first wrote
  ASSERT_TRUE(loaded.has_value());
  expectSameTokens(first, *loaded);

  // Optional fields cleared are read back as absent (the mark is removed by the final save).
  TokenSet second;
  second.access_token = "fake-at-two";
  second.refresh_token = "fake-rt-two";
  second.generation = 2;
  auto store = make();
  ASSERT_TRUE(store->save(second, 1));
  loaded = store->load();
  ASSERT_TRUE(loaded.has_value());
  expectSameTokens(second, *loaded);
  EXPECT_FALSE(loaded->refresh_started_at.has_value());
  EXPECT_FALSE(loaded->refresh_rejected_at.has_value());
  EXPECT_FALSE(loaded->expires_at.has_value());
  EXPECT_TRUE(loaded->scopes.empty());
}

TEST_P(TokenStoreConformance, AStaleExpectedGenerationIsRefusedAndChangesNothing) {
  const TokenSet first = fullTokenSet(1, "first");
  auto a = make();
  auto b = make();
  ASSERT_TRUE(a->save(first, 0));
  // b still believes the store is empty.
  EXPECT_FALSE(b->save(fullTokenSet(1, "late"), 0));
  // b believes it holds generation 2.
  EXPECT_FALSE(b->save(fullTokenSet(3, "ahead"), 2));
  auto loaded = make()->load();
  ASSERT_TRUE(loaded.has_value());
  expectSameTokens(first, *loaded);
  // The right expectation still wins.
  const TokenSet second = fullTokenSet(2, "second");
  EXPECT_TRUE(b->save(second, 1));
  EXPECT_FALSE(a->save(fullTokenSet(2, "lost"), 1)) << "a's view is stale now";
  loaded = a->load();
  ASSERT_TRUE(loaded.has_value());
  expectSameTokens(second, *loaded);
}

TEST_P(TokenStoreConformance, TheLockExcludesAnotherProcessAndTheTimeoutNamesTheHolder) {
  auto store = make();
  std::optional<LockHolderProcess> holder;
  holder.emplace(GetParam().make);
  const std::string expected = GetParam().expected_holder
                                   ? GetParam().expected_holder(holder->pid())
                                   : std::to_string(holder->pid());
  try {
    auto lock = store->lock(std::chrono::milliseconds(300));
    FAIL() << "took the lock that process " << holder->pid() << " holds";
  } catch (const TokenLockTimeout& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(expected), std::string::npos)
        << "the message names the holder (" << expected << "): " << m;
  }
  // Released by destroying the other process's lock (the process lives on).
  holder->release();
  std::unique_ptr<sdk::TokenLock> lock;
  EXPECT_NO_THROW(lock = store->lock(std::chrono::seconds(20)));
  EXPECT_TRUE(lock != nullptr);
  holder.reset();
}

TEST_P(TokenStoreConformance, TheLockIsReleasedWhenDestroyed) {
  auto a = make();
  auto b = make();
  {
    auto lock = a->lock(std::chrono::seconds(5));
    ASSERT_TRUE(lock != nullptr);
    EXPECT_THROW(b->lock(std::chrono::milliseconds(100)), TokenLockTimeout)
        << "a second instance in the same process is excluded too";
  }
  std::unique_ptr<sdk::TokenLock> again;
  EXPECT_NO_THROW(again = b->lock(std::chrono::seconds(5)));
  again.reset();
  EXPECT_NO_THROW(again = a->lock(std::chrono::seconds(5))) << "and the first may take it again";
}

TEST_P(TokenStoreConformance, TheCoresRefreshProtocolWorksUnderTheLock) {
  auto setup = make();
  ASSERT_TRUE(setup->save(fullTokenSet(1, "old"), 0));
  setup.reset();

  auto store = make();
  ASSERT_NO_THROW(store->checkWritable());
  auto lock = store->lock(std::chrono::seconds(5));
  auto current = store->load();
  ASSERT_TRUE(current.has_value());
  TokenSet mark = *current;
  mark.generation = current->generation + 1;
  mark.refresh_started_at = 1800009999;
  ASSERT_TRUE(store->save(mark, current->generation)) << "the mark, saved under the lock";
  TokenSet fresh = fullTokenSet(mark.generation + 1, "new");
  fresh.refresh_started_at.reset();
  fresh.refresh_rejected_at.reset();
  ASSERT_TRUE(store->save(fresh, mark.generation)) << "the new pair, saved under the lock";
  lock.reset();
  auto loaded = make()->load();
  ASSERT_TRUE(loaded.has_value());
  expectSameTokens(fresh, *loaded);
}

// invalid_grant: the core saves the old tokens again with the rejection marked (the mark of
// the refresh that was interrupted before, if any, kept); a later login replaces the whole set.
TEST_P(TokenStoreConformance, TheRejectionOfARefreshTokenIsKeptWithTheOldTokensUntilALogin) {
  TokenSet old = fullTokenSet(1, "spent");
  old.refresh_rejected_at.reset();
  ASSERT_TRUE(make()->save(old, 0));

  auto store = make();
  {
    auto lock = store->lock(std::chrono::seconds(5));
    TokenSet mark = *store->load();
    mark.generation = 2;
    mark.refresh_started_at = 1800009999;
    ASSERT_TRUE(store->save(mark, 1));
    TokenSet rejected = old;  // the old tokens, kept for diagnosis
    rejected.generation = 3;
    rejected.refresh_rejected_at = 1800010000;
    ASSERT_TRUE(store->save(rejected, 2));
  }
  auto loaded = make()->load();  // what the next run finds
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->refresh_rejected_at, 1800010000);
  EXPECT_EQ(loaded->refresh_started_at, old.refresh_started_at);
  EXPECT_EQ(loaded->refresh_token, old.refresh_token);
  EXPECT_EQ(loaded->generation, 3);

  TokenSet login;
  login.access_token = "fake-at-login";
  login.refresh_token = "fake-rt-login";
  login.generation = 4;
  ASSERT_TRUE(store->save(login, 3));
  loaded = make()->load();
  ASSERT_TRUE(loaded.has_value());
  expectSameTokens(login, *loaded);
  EXPECT_FALSE(loaded->refresh_rejected_at.has_value()) << "a login clears the rejection";
}

TEST_P(TokenStoreConformance, ClearEmptiesTheStore) {
  auto store = make();
  ASSERT_TRUE(store->save(fullTokenSet(1, "gone"), 0));
  store->clear();
  EXPECT_FALSE(store->load().has_value());
  EXPECT_FALSE(make()->load().has_value());
  EXPECT_NO_THROW(store->clear()) << "clearing an empty store is not an error";
  EXPECT_TRUE(store->save(fullTokenSet(1, "again"), 0)) << "a login after logout starts at 0";
  EXPECT_TRUE(make()->load().has_value());
}

TEST_P(TokenStoreConformance, CheckWritablePassesOnAnEmptyAndAFullStore) {
  auto store = make();
  EXPECT_NO_THROW(store->checkWritable());
  ASSERT_TRUE(store->save(fullTokenSet(1, "w"), 0));
  EXPECT_NO_THROW(store->checkWritable());
  auto loaded = store->load();
  ASSERT_TRUE(loaded.has_value());
  expectSameTokens(fullTokenSet(1, "w"), *loaded);
}

TEST_P(TokenStoreConformance, DescriptionsAndMessagesCarryNoToken) {
  auto store = make();
  const TokenSet t = fullTokenSet(1, "secret");
  ASSERT_TRUE(store->save(t, 0));
  std::vector<std::string> texts{store->describe(), make()->describe()};
  EXPECT_FALSE(texts[0].empty());
  {
    auto lock = store->lock(std::chrono::seconds(5));
    try {
      make()->lock(std::chrono::milliseconds(50));
      ADD_FAILURE() << "took a held lock";
    } catch (const TokenLockTimeout& e) {
      texts.push_back(e.what());
    }
  }
  try {
    store->save(fullTokenSet(1, "secret"), 0);  // stale: false, or an error that must not leak
  } catch (const sdk::Error& e) {
    texts.push_back(e.what());
  }
  try {
    TokenSet wrong = fullTokenSet(7, "secret");
    store->save(wrong, 1);  // generation must be expected + 1
  } catch (const sdk::Error& e) {
    texts.push_back(e.what());
  }
  for (const std::string& text : texts) {
    EXPECT_EQ(text.find("fake-"), std::string::npos) << text;
    EXPECT_EQ(text.find(t.access_token), std::string::npos) << text;
    EXPECT_EQ(text.find(t.refresh_token), std::string::npos) << text;
  }
}

}  // namespace oura::test

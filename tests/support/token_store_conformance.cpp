// The token-store conformance suite (see token_store_conformance.hpp).
#include "token_store_conformance.hpp"

#include "app/loader.hpp"
#include "app/manifest.hpp"

#include <oura_sdk/errors.hpp>

#include <toml++/toml.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

namespace oura::test {

using sdk::TokenLockTimeout;
using sdk::TokenSet;
using sdk::TokenStore;

// ---------------------------------------------------------------------------------------------
// Helpers

std::shared_ptr<TokenStore> loadTokenStore(const std::string& plugin,
                                           const std::string& config_toml) {
  const char* dir = std::getenv("OURA_PLUGIN_DIR");
  if (dir == nullptr || *dir == '\0') {
    throw std::runtime_error("OURA_PLUGIN_DIR is not set (run the test through ctest)");
  }
  static core::PluginLoader loader({dir});
  const core::LoadedPlugin loaded = loader.load(sdk::PluginKind::TokenStore, plugin);
  toml::table table;
  try {
    table = toml::parse(config_toml, std::string_view("<test token_store.config>"));
  } catch (const toml::parse_error& e) {
    throw std::runtime_error("bad test config for token store " + plugin + ": " +
                             std::string(e.description()));
  }
  sdk::PluginContext context{"token", sdk::Logger("oura.auth.token"),
                             core::validatePluginConfig(table, loaded.descriptor->config_schema(),
                                                        "<test>", "token_store.config")};
  return loader.create<TokenStore>(loaded, context);
}

TokenSet fullTokenSet(std::int64_t generation, const std::string& tag) {
  TokenSet t;
  t.access_token = "fake-at-" + tag + "-A.b~c+d/e==";
  t.refresh_token = "fake-rt-" + tag + "-F_g-h/i";
  t.expires_at = 1900000000 + generation;
  t.scopes = {"email", "personal", "daily", "heartrate", "extapi:workout"};
  t.generation = generation;
  t.refreshed_at = 1800000000 + generation;
  t.refresh_started_at = 1800000100 + generation;
  return t;
}

void expectSameTokens(const TokenSet& want, const TokenSet& have) {
  // Token values are test values (fake-...), safe to print here.
  EXPECT_EQ(have.access_token, want.access_token);
  EXPECT_EQ(have.refresh_token, want.refresh_token);
  EXPECT_EQ(have.expires_at, want.expires_at);
  EXPECT_EQ(have.scopes, want.scopes);
  EXPECT_EQ(have.generation, want.generation);
  EXPECT_EQ(have.refreshed_at, want.refreshed_at);
  EXPECT_EQ(have.refresh_started_at, want.refresh_started_at);
}

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
// The other process

namespace {

/// Reads the child's next reply: 'L' (locked), 'R' (released), or 'E' + message.
std::string readReply(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  const int ready = ::poll(&p, 1, timeout_ms);
  if (ready <= 0) throw std::runtime_error("the lock-holder process did not answer");
  char buf[2048];
  const ssize_t n = ::read(fd, buf, sizeof buf);
  if (n <= 0) throw std::runtime_error("the lock-holder process ended without an answer");
  return std::string(buf, static_cast<std::size_t>(n));
}

void writeByte(int fd, char c) {
  while (::write(fd, &c, 1) < 0 && errno == EINTR) {
  }
}

}  // namespace

LockHolderProcess::LockHolderProcess(
    const std::function<std::shared_ptr<TokenStore>()>& make) {
  int down[2], up[2];
  if (::pipe2(down, O_CLOEXEC) != 0 || ::pipe2(up, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe2 failed");
  }
  std::fflush(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::close(down[1]);
    ::close(up[0]);
    try {
      std::shared_ptr<TokenStore> store = make();
      std::unique_ptr<sdk::TokenLock> lock = store->lock(std::chrono::seconds(30));
      writeByte(up[1], 'L');
      char c = 0;
      const ssize_t n = ::read(down[0], &c, 1);  // 'r', or end of file: release
      lock.reset();
      writeByte(up[1], 'R');
      if (n == 1) {
        while (::read(down[0], &c, 1) > 0) {  // until the parent is done
        }
      }
      store.reset();
      ::_exit(0);
    } catch (const std::exception& e) {
      const std::string m = std::string("E") + e.what();
      if (::write(up[1], m.data(), m.size()) < 0) ::_exit(2);
      ::_exit(1);
    } catch (...) {
      ::_exit(3);
    }
  }
  ::close(down[0]);
  ::close(up[1]);
  to_child_ = down[1];
  from_child_ = up[0];
  const std::string reply = readReply(from_child_, 60000);
  if (reply != "L") {
    throw std::runtime_error("the lock-holder process could not take the lock: " +
                             (reply.empty() ? reply : reply.substr(1)));
  }
}

void LockHolderProcess::release() {
  writeByte(to_child_, 'r');
  const std::string reply = readReply(from_child_, 60000);
  if (reply != "R") throw std::runtime_error("the lock-holder process did not release: " + reply);
}

LockHolderProcess::~LockHolderProcess() {
  if (to_child_ >= 0) ::close(to_child_);
  int status = 0;
  for (int i = 0; i < 600; ++i) {  // up to a minute for a clean end, then SIGKILL
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      break;
    }
    ::usleep(100000);
  }
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
  }
  if (from_child_ >= 0) ::close(from_child_);
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
  ASSERT_TRUE(store->save(fresh, mark.generation)) << "the new pair, saved under the lock";
  lock.reset();
  auto loaded = make()->load();
  ASSERT_TRUE(loaded.has_value());
  expectSameTokens(fresh, *loaded);
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

// The `file` token store: the conformance suite every writable store passes, and what only a
// file has: its mode, its group and other bits, symbolic links, a crash in the middle of a save,
// the lock file naming its holder, the exit code of an unsafe file through the program.
// (A file owned by another user cannot be made without root; the owner check sits beside the
// mode check in FileTokenStore::read.)
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <oura_sdk/errors.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "test_support.hpp"
#include "token_store_conformance.hpp"

namespace fs = std::filesystem;
using namespace oura::test;
using oura::sdk::ConfigError;
using oura::sdk::TokenSet;
using oura::sdk::TokenStore;

namespace {

/// A store at `path` (a TOML literal string: no single quotes in test paths).
std::shared_ptr<TokenStore> fileStore(const std::string& path) {
  return loadTokenStore("file", "path = '" + path + "'");
}

std::string readText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

mode_t modeOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

/// A temp folder per test, removed afterwards.
class TempFolder {
 public:
  TempFolder() : dir_(makeTempDir()) {}
  ~TempFolder() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  const std::string& dir() const { return dir_; }
  std::string file(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
};

// The conformance case: a fresh folder per test, tokens.json in it.
std::shared_ptr<std::string> conformanceDir = std::make_shared<std::string>();

TokenStoreCase fileCase() {
  TokenStoreCase c;
  c.name = "file";
  c.setup = [] { *conformanceDir = makeTempDir(); };
  c.teardown = [] {
    std::error_code ec;
    if (!conformanceDir->empty()) fs::remove_all(*conformanceDir, ec);
  };
  c.make = [] { return fileStore(*conformanceDir + "/tokens.json"); };
  return c;
}

/// The names in `dir`, sorted.
std::vector<std::string> namesIn(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

/// Forks a child that sets OURA_FAILPOINT=`failpoint` and saves `tokens` over `expected`; returns
/// the child's wait status.
int saveInChild(const std::string& path, const std::string& failpoint, const TokenSet& tokens,
                std::int64_t expected) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setenv("OURA_FAILPOINT", failpoint.c_str(), 1);
    try {
      fileStore(path)->save(tokens, expected);
      ::_exit(0);
    } catch (...) {
      ::_exit(1);
    }
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(File, TokenStoreConformance,
                         ::testing::ValuesIn(tokenStoreCases({fileCase()})), tokenStoreCaseName);

// --- configuration ---------------------------------------------------------------------------

TEST(FileTokenStore, PathIsRequiredAndMustNameAFile) {
  EXPECT_THROW(loadTokenStore("file", ""), ConfigError);
  EXPECT_THROW(loadTokenStore("file", "path = ''"), ConfigError);
  EXPECT_THROW(loadTokenStore("file", "path = '/tmp/folder/'"), ConfigError);
  EXPECT_THROW(loadTokenStore("file", "path = '/tmp/x'\nfolder = '/tmp'"), ConfigError)
      << "unknown keys are refused";
  auto store = loadTokenStore("file", "path = '/var/lib/oura/tokens.json'");
  EXPECT_EQ(store->describe(), "file /var/lib/oura/tokens.json");
  EXPECT_TRUE(store->writable());
}

TEST(FileTokenStore, ARelativePathIsTakenFromTheWorkingDirectory) {
  TempFolder tmp;
  const fs::path before = fs::current_path();
  fs::current_path(tmp.dir());
  auto store = loadTokenStore("file", "path = 'tokens.json'");
  fs::current_path(before);
  EXPECT_EQ(store->describe(), "file " + tmp.file("tokens.json"));
  ASSERT_TRUE(store->save(fullTokenSet(1, "rel"), 0));
  EXPECT_TRUE(fs::exists(tmp.file("tokens.json")));
}

// --- mode and owner --------------------------------------------------------------------------

TEST(FileTokenStore, TheFileIsCreatedMode0600WhateverTheUmask) {
  TempFolder tmp;
  const mode_t old = ::umask(0);
  auto store = fileStore(tmp.file("tokens.json"));
  const bool saved = store->save(fullTokenSet(1, "mode"), 0);
  ::umask(old);
  ASSERT_TRUE(saved);
  EXPECT_EQ(modeOf(tmp.file("tokens.json")), 0600u);
  EXPECT_EQ(modeOf(tmp.file("tokens.json.lock")), 0600u);
  // Replaced by a save: still 0600.
  ASSERT_TRUE(store->save(fullTokenSet(2, "mode"), 1));
  EXPECT_EQ(modeOf(tmp.file("tokens.json")), 0600u);
  // Nothing but the file and its lock file is left in the folder.
  EXPECT_EQ(namesIn(tmp.dir()), (std::vector<std::string>{"tokens.json", "tokens.json.lock"}));
}

TEST(FileTokenStore, AFileGroupOrOthersMayReadOrWriteIsRefusedNamingPathAndMode) {
  TempFolder tmp;
  const std::string path = tmp.file("tokens.json");
  auto store = fileStore(path);
  ASSERT_TRUE(store->save(fullTokenSet(1, "bits"), 0));
  for (mode_t mode : {0644, 0640, 0604, 0620, 0602, 0660, 0666, 0610, 0601}) {
    SCOPED_TRACE(mode);
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    char octal[8];
    std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode));
    try {
      store->load();
      ADD_FAILURE() << "loaded a file of mode " << octal;
    } catch (const ConfigError& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find(path), std::string::npos) << m;
      EXPECT_NE(m.find(octal), std::string::npos) << m;
      EXPECT_NE(m.find("chmod 600"), std::string::npos) << m;
      EXPECT_EQ(m.find("fake-"), std::string::npos) << m;
    }
    EXPECT_THROW(store->checkWritable(), ConfigError);
    EXPECT_THROW(store->save(fullTokenSet(2, "bits"), 1), ConfigError)
        << "a save reads the generation from the same file";
  }
  // The owner's own bits do not matter.
  ASSERT_EQ(::chmod(path.c_str(), 0700), 0);
  EXPECT_TRUE(store->load().has_value());
  ASSERT_EQ(::chmod(path.c_str(), 0400), 0);
  EXPECT_TRUE(store->load().has_value());
}

TEST(FileTokenStore, AFolderGroupOrOthersMayWriteIsRefusedLikeTheFile) {
  TempFolder tmp;
  const std::string path = tmp.file("tokens.json");
  auto store = fileStore(path);
  ASSERT_TRUE(store->save(fullTokenSet(1, "folder"), 0));
  for (mode_t mode : {0777, 0770, 0707, 0730}) {
    SCOPED_TRACE(mode);
    ASSERT_EQ(::chmod(tmp.dir().c_str(), mode), 0);
    char octal[8];
    std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode));
    try {
      store->load();
      ADD_FAILURE() << "loaded from a folder of mode " << octal;
    } catch (const ConfigError& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find(tmp.dir()), std::string::npos) << m;
      EXPECT_NE(m.find(octal), std::string::npos) << m;
      EXPECT_NE(m.find("chmod 700"), std::string::npos) << m;
    }
    EXPECT_THROW(store->save(fullTokenSet(2, "folder"), 1), ConfigError);
  }
  ASSERT_EQ(::chmod(tmp.dir().c_str(), 0750), 0);  // readable by the group: fine
  EXPECT_TRUE(store->load().has_value());
  // A Kubernetes fsGroup volume: set-group-ID, writable by this process's own group: fine; the
  // same for another group, or writable by others, is refused.
  ASSERT_EQ(::chown(tmp.dir().c_str(), static_cast<uid_t>(-1), ::getegid()), 0);
  ASSERT_EQ(::chmod(tmp.dir().c_str(), 02770), 0);
  EXPECT_TRUE(store->load().has_value());
  ASSERT_EQ(::chmod(tmp.dir().c_str(), 02777), 0);
  EXPECT_THROW(store->load(), ConfigError);
  if (::geteuid() == 0) {  // only root may give the folder a group it is not in
    ASSERT_EQ(::chown(tmp.dir().c_str(), static_cast<uid_t>(-1), ::getegid() + 1), 0);
    ASSERT_EQ(::chmod(tmp.dir().c_str(), 02770), 0);
    EXPECT_THROW(store->load(), ConfigError);
  }
  ASSERT_EQ(::chmod(tmp.dir().c_str(), 0700), 0);
}

TEST(FileTokenStore, ASymbolicLinkIsRefused) {
  TempFolder tmp;
  const std::string real = tmp.file("real.json");
  ASSERT_TRUE(fileStore(real)->save(fullTokenSet(1, "link"), 0));
  const std::string link = tmp.file("tokens.json");
  fs::create_symlink(real, link);
  auto store = fileStore(link);
  try {
    store->load();
    ADD_FAILURE() << "followed a symbolic link";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("symbolic link"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(link), std::string::npos) << e.what();
  }
  EXPECT_THROW(store->save(fullTokenSet(2, "link"), 1), ConfigError);
  EXPECT_TRUE(fs::is_symlink(link)) << "the link is left as it was";
  EXPECT_EQ(fileStore(real)->load()->generation, 1);

  // A symbolic lock file is refused too.
  const std::string other = tmp.file("other.json");
  fs::create_symlink(tmp.file("elsewhere"), other + ".lock");
  EXPECT_THROW(fileStore(other)->lock(std::chrono::milliseconds(10)), ConfigError);
  EXPECT_FALSE(fs::exists(tmp.file("elsewhere"))) << "the link's target was not created";
}

TEST(FileTokenStore, AFolderOrADamagedFileIsRefusedWithoutQuotingIt) {
  TempFolder tmp;
  fs::create_directory(tmp.file("folder.json"));
  EXPECT_THROW(fileStore(tmp.file("folder.json"))->load(), ConfigError);

  const std::string damaged =
      writeFile(tmp.dir(), "damaged.json", "{\"access_token\": \"fake-at-cut");
  ::chmod(damaged.c_str(), 0600);
  try {
    fileStore(damaged)->load();
    ADD_FAILURE() << "loaded a damaged file";
  } catch (const ConfigError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(damaged), std::string::npos) << m;
    EXPECT_EQ(m.find("fake-"), std::string::npos) << "no content in the message: " << m;
  }
  const std::string wrong =
      writeFile(tmp.dir(), "wrong.json", R"({"generation": "one", "access_token": "fake-at-x"})");
  ::chmod(wrong.c_str(), 0600);
  EXPECT_THROW(fileStore(wrong)->load(), ConfigError);
  const std::string newer = writeFile(
      tmp.dir(), "newer.json", R"({"format": 9, "generation": 1, "access_token": "fake-at-x"})");
  ::chmod(newer.c_str(), 0600);
  try {
    fileStore(newer)->load();
    ADD_FAILURE() << "read a newer format";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("newer"), std::string::npos) << e.what();
  }
}

TEST(FileTokenStore, TheFileIsPlainJsonWithTheTokenSetFields) {
  TempFolder tmp;
  const std::string path = tmp.file("tokens.json");
  ASSERT_TRUE(fileStore(path)->save(fullTokenSet(3, "json"), 2) == false)
      << "the store is empty: generation 0, not 2";
  ASSERT_TRUE(fileStore(path)->save(fullTokenSet(1, "json"), 0));
  const std::string text = readText(path);
  for (const char* key :
       {"\"format\"", "\"generation\"", "\"access_token\"", "\"refresh_token\"", "\"expires_at\"",
        "\"scopes\"", "\"refreshed_at\"", "\"refresh_started_at\""}) {
    EXPECT_NE(text.find(key), std::string::npos) << key << " in " << text;
  }
}

// --- checkWritable ---------------------------------------------------------------------------

TEST(FileTokenStore, CheckWritableNamesAMissingFolderOrAFileInItsPlace) {
  TempFolder tmp;
  try {
    fileStore(tmp.file("missing/tokens.json"))->checkWritable();
    ADD_FAILURE() << "a missing folder passed";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(tmp.file("missing")), std::string::npos) << e.what();
  }
  writeFile(tmp.dir(), "plain", "x");
  EXPECT_THROW(fileStore(tmp.file("plain/tokens.json"))->checkWritable(), ConfigError);
  // A passing check leaves no probe behind and creates no token file.
  auto store = fileStore(tmp.file("tokens.json"));
  EXPECT_NO_THROW(store->checkWritable());
  EXPECT_FALSE(fs::exists(tmp.file("tokens.json")));
  for (const auto& name : namesIn(tmp.dir())) {
    EXPECT_EQ(name.find("probe"), std::string::npos) << name;
  }
}

// --- the lock file ---------------------------------------------------------------------------

TEST(FileTokenStore, TheLockFileNamesItsHolderWhileHeldAndIsEmptyAfterwards) {
  TempFolder tmp;
  auto store = fileStore(tmp.file("tokens.json"));
  {
    auto lock = store->lock(std::chrono::seconds(1));
    EXPECT_EQ(readText(tmp.file("tokens.json.lock")), std::to_string(::getpid()) + "\n");
    // save() and clear() under this instance's own lock do not wait for it.
    EXPECT_TRUE(store->save(fullTokenSet(1, "held"), 0));
    store->clear();
  }
  EXPECT_EQ(readText(tmp.file("tokens.json.lock")), "");
  EXPECT_TRUE(fs::exists(tmp.file("tokens.json.lock"))) << "the lock file stays (flock on a "
                                                           "removed file would exclude no one)";
}

TEST(FileTokenStore, ASaveByAnotherProcessWaitsForTheLockThenSeesTheNewGeneration) {
  TempFolder tmp;
  const std::string path = tmp.file("tokens.json");
  ASSERT_TRUE(fileStore(path)->save(fullTokenSet(1, "a"), 0));
  auto holder = std::make_unique<LockHolderProcess>([path] { return fileStore(path); });
  // While the other process holds the lock, our save waits; it goes through once released.
  auto store = fileStore(path);
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    holder->release();
  });
  EXPECT_TRUE(store->save(fullTokenSet(2, "b"), 1));
  releaser.join();
  holder.reset();
  EXPECT_EQ(store->load()->generation, 2);
}

// --- crashes ---------------------------------------------------------------------------------

TEST(FileTokenStore, AProcessKilledBeforeTheRenameLeavesTheOldFileWhole) {
  TempFolder tmp;
  const std::string path = tmp.file("tokens.json");
  const TokenSet old = fullTokenSet(1, "old");
  ASSERT_TRUE(fileStore(path)->save(old, 0));
  const std::string old_text = readText(path);
  for (const char* point : {"file-store:mid-write", "file-store:before-rename"}) {
    SCOPED_TRACE(point);
    const int status = saveInChild(path, point, fullTokenSet(2, "new"), 1);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the child was meant to die at " << point << " (status " << status << ")";
    EXPECT_EQ(readText(path), old_text) << "the old file, byte for byte";
    auto loaded = fileStore(path)->load();
    ASSERT_TRUE(loaded.has_value());
    expectSameTokens(old, *loaded);
    EXPECT_GT(namesIn(tmp.dir()).size(), 2u) << "the killed save left its temp file";
  }
  // The next save replaces the file and removes what the killed saves left.
  ASSERT_TRUE(fileStore(path)->save(fullTokenSet(2, "next"), 1));
  EXPECT_EQ(namesIn(tmp.dir()), (std::vector<std::string>{"tokens.json", "tokens.json.lock"}));
  expectSameTokens(fullTokenSet(2, "next"), *fileStore(path)->load());
}

// A child saves generation after generation as fast as it can; it is killed at random moments.
// After every kill the file is whole: the last generation that was saved, or the one before it
// when the kill came before the rename.
TEST(FileTokenStore, AProcessKilledAtARandomMomentNeverLeavesAPartialFile) {
  TempFolder tmp;
  const std::string path = tmp.file("tokens.json");
  ASSERT_TRUE(fileStore(path)->save(fullTokenSet(1, "g"), 0));
  std::mt19937 random(20240501);
  std::int64_t last = 1;
  for (int round = 0; round < 25; ++round) {
    SCOPED_TRACE(round);
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
      try {
        auto store = fileStore(path);
        for (std::int64_t g = store->load()->generation;; ++g) {
          if (!store->save(fullTokenSet(g + 1, "g"), g)) ::_exit(1);
        }
      } catch (...) {
        ::_exit(2);
      }
    }
    ::usleep(static_cast<useconds_t>(std::uniform_int_distribution<int>(1000, 40000)(random)));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the saving child stopped by itself: status " << status;
    auto loaded = fileStore(path)->load();  // throws on a partial file
    ASSERT_TRUE(loaded.has_value());
    EXPECT_GE(loaded->generation, last);
    expectSameTokens(fullTokenSet(loaded->generation, "g"), *loaded);
    last = loaded->generation;
  }
  EXPECT_GT(last, 1) << "the children saved something";
}

// --- through the program ---------------------------------------------------------------------

TEST(FileTokenStore, TheProgramRefusesAnUnsafeFileWithExit78) {
  TempFolder tmp;
  const std::string path = tmp.file("tokens.json");
  ASSERT_TRUE(fileStore(path)->save(fullTokenSet(1, "prog"), 0));
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  const std::string manifest =
      writeFile(tmp.dir(), "manifest.toml",
                "[collector]\nplugin_dirs = ['" + envOr("OURA_PLUGIN_DIR", "") +
                    "']\n[token_store]\nplugin = \"file\"\n[token_store.config]\npath = '" + path +
                    "'\n[[endpoints]]\nplugin = \"daily\"\n[[sinks]]\nplugin = \"stdout\"\n");
  const CommandResult r = runCommand(envOr("OURA_BINARY", "oura-collector"),
                                     {"--config", manifest, "scrape", "--dry-run", "--since",
                                      "2024-01-01", "--until", "2024-01-02"},
                                     {{"OURA_API_BASE_URL", "http://127.0.0.1:9"}});
  EXPECT_EQ(r.exit_code, 78) << r.out << r.err;
  EXPECT_NE(r.err.find(path), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("0644"), std::string::npos) << r.err;
  EXPECT_EQ((r.out + r.err).find("fake-"), std::string::npos) << r.out << r.err;
}

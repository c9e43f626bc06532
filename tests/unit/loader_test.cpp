// PluginLoader against real test plugins built from tests/unit/plugins/ into
// $OURA_TEST_PLUGIN_DIR: a good sink, and libraries the loader must refuse.
#include "plugin_host/loader.hpp"

#include <dlfcn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <oura_sdk/endpoint.hpp>
#include <oura_sdk/errors.hpp>
#include <oura_sdk/sink.hpp>
#include <oura_sdk/version.hpp>
#include <set>
#include <string>

#include "config/manifest.hpp"

namespace {

using oura::core::LoadedPlugin;
using oura::core::PluginLoader;
namespace sdk = oura::sdk;
namespace fs = std::filesystem;

std::string pluginDir() {
  const char* dir = std::getenv("OURA_TEST_PLUGIN_DIR");
  return dir ? dir : "";
}

std::string pluginFile(const std::string& file_name) {
  return fs::canonical(fs::path(pluginDir()) / file_name).string();
}

class LoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(pluginDir().empty()) << "OURA_TEST_PLUGIN_DIR is not set (run through ctest)";
  }
};

// The ConfigError message `call` throws; fails the test when it throws nothing.
std::string configErrorOf(const std::function<void()>& call) {
  try {
    call();
  } catch (const sdk::ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a ConfigError";
  return {};
}

sdk::PluginContext context(const std::string& instance, const LoadedPlugin& plugin,
                           const toml::table& config = {}) {
  sdk::PluginConfig validated = oura::core::validatePluginConfig(
      config, plugin.descriptor->config_schema(), "test.toml", "sinks[0].config");
  return sdk::PluginContext{instance, sdk::Logger("oura.sink." + instance), validated};
}

// True when the dynamic linker has `file` loaded in this process.
bool isLoaded(const std::string& file) {
  void* handle = ::dlopen(file.c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (!handle) return false;
  ::dlclose(handle);
  return true;
}

sdk::SinkBatch emptyBatch() {
  sdk::SinkBatch batch;
  batch.collection = nullptr;
  return batch;
}

TEST(PluginLoaderNames, FileNameFollowsKindAndName) {
  EXPECT_EQ(PluginLoader::fileName(sdk::PluginKind::Sink, "stdout"), "oura-sink-stdout.so");
  EXPECT_EQ(PluginLoader::fileName(sdk::PluginKind::Endpoint, "daily"), "oura-endpoint-daily.so");
  EXPECT_EQ(PluginLoader::fileName(sdk::PluginKind::TokenStore, "env"), "oura-auth-env.so");
}

TEST_F(LoaderTest, GoodSinkLoadsAndCreates) {
  PluginLoader loader({pluginDir()});
  LoadedPlugin plugin = loader.load(sdk::PluginKind::Sink, "good");
  ASSERT_NE(plugin.descriptor, nullptr);
  EXPECT_EQ(plugin.file, pluginFile("oura-sink-good.so"));
  EXPECT_STREQ(plugin.descriptor->name, "good");
  EXPECT_STREQ(plugin.descriptor->version, "1.2.3");
  EXPECT_EQ(plugin.descriptor->kind, sdk::PluginKind::Sink);

  std::shared_ptr<sdk::SinkPlugin> sink =
      loader.create<sdk::SinkPlugin>(plugin, context("out", plugin));
  ASSERT_NE(sink, nullptr);
  // dynamic_cast across the library boundary, both ways.
  sdk::Plugin* base = sink.get();
  EXPECT_NE(dynamic_cast<sdk::SinkPlugin*>(base), nullptr);
  EXPECT_EQ(dynamic_cast<sdk::EndpointPlugin*>(base), nullptr);
  sdk::SinkOutcome outcome = sink->write(emptyBatch());
  EXPECT_EQ(outcome.status, sdk::SinkOutcome::Status::Done);
  EXPECT_EQ(outcome.message, "out:out");  // instance name : default prefix
  EXPECT_EQ(outcome.inserted, 1u);
}

TEST_F(LoaderTest, TwoInstancesOfOnePluginCoexist) {
  PluginLoader loader({pluginDir()});
  LoadedPlugin plugin = loader.load(sdk::PluginKind::Sink, "good");
  toml::table config_a{{"prefix", "alpha"}};
  toml::table config_b{{"prefix", "beta"}};
  auto a = loader.create<sdk::SinkPlugin>(plugin, context("a", plugin, config_a));
  auto b = loader.create<sdk::SinkPlugin>(plugin, context("b", plugin, config_b));
  EXPECT_EQ(a->write(emptyBatch()).inserted, 1u);
  EXPECT_EQ(a->write(emptyBatch()).inserted, 2u);
  sdk::SinkOutcome from_b = b->write(emptyBatch());
  EXPECT_EQ(from_b.inserted, 1u);  // b's count is its own
  EXPECT_EQ(from_b.message, "b:beta");
  EXPECT_EQ(a->write(emptyBatch()).message, "a:alpha");
}

TEST_F(LoaderTest, SameFileLoadsOnce) {
  PluginLoader loader({pluginDir()});
  LoadedPlugin first = loader.load(sdk::PluginKind::Sink, "good");
  LoadedPlugin second = loader.load(sdk::PluginKind::Sink, "good");
  // Another spelling of the same file.
  LoadedPlugin third = loader.load(sdk::PluginKind::Sink, "good",
                                   pluginDir() + "/./../test-plugins/oura-sink-good.so");
  LoadedPlugin fourth = loader.loadFile(pluginDir() + "//oura-sink-good.so");
  EXPECT_EQ(first.library, second.library);
  EXPECT_EQ(first.library, third.library);
  EXPECT_EQ(first.library, fourth.library);
  EXPECT_EQ(first.descriptor, third.descriptor);
}

TEST_F(LoaderTest, LibraryStaysLoadedWhileAnInstanceLives) {
  const std::string file = pluginFile("oura-sink-good.so");
  ASSERT_FALSE(isLoaded(file)) << "an earlier test leaked the library";
  std::shared_ptr<sdk::SinkPlugin> sink;
  std::weak_ptr<boost::dll::shared_library> library;
  {
    PluginLoader loader({pluginDir()});
    LoadedPlugin plugin = loader.load(sdk::PluginKind::Sink, "good");
    library = plugin.library;
    sink = loader.create<sdk::SinkPlugin>(plugin, context("out", plugin));
  }  // the loader and its LoadedPlugin are gone; only the instance's deleter holds the library
  EXPECT_FALSE(library.expired());
  EXPECT_TRUE(isLoaded(file));
  EXPECT_EQ(sink->write(emptyBatch()).message, "out:out");  // code in the library still runs
  sink.reset();
  EXPECT_TRUE(library.expired());
  // The test plugin is built with -fno-gnu-unique, so dlclose really unloads it.
  EXPECT_FALSE(isLoaded(file));
}

TEST_F(LoaderTest, WrongInterfaceIsRefused) {
  PluginLoader loader({pluginDir()});
  LoadedPlugin plugin = loader.load(sdk::PluginKind::Sink, "good");
  const std::string message =
      configErrorOf([&] { loader.create<sdk::EndpointPlugin>(plugin, context("out", plugin)); });
  EXPECT_NE(message.find("oura-sink-good.so"), std::string::npos) << message;
  EXPECT_NE(message.find("not of the type"), std::string::npos) << message;
}

TEST_F(LoaderTest, WrongApiVersionIsRefusedNamingFileAndBothVersions) {
  PluginLoader loader({pluginDir()});
  const std::string message = configErrorOf([&] { loader.load(sdk::PluginKind::Sink, "bad-api"); });
  EXPECT_NE(message.find(pluginFile("oura-sink-bad-api.so")), std::string::npos) << message;
  EXPECT_NE(message.find("SDK API version " + std::to_string(sdk::kApiVersion + 1)),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("SDK API version " + std::to_string(sdk::kApiVersion) + ";"),
            std::string::npos)
      << message;
}

TEST_F(LoaderTest, WrongFingerprintIsRefusedNamingBothFingerprints) {
  PluginLoader loader({pluginDir()});
  const std::string message =
      configErrorOf([&] { loader.load(sdk::PluginKind::Sink, "bad-fingerprint"); });
  EXPECT_NE(message.find(pluginFile("oura-sink-bad-fingerprint.so")), std::string::npos) << message;
  EXPECT_NE(message.find("compiler=0.0.0 other;cxx11abi=0;boost=1_00;poco=0x00000000"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find(sdk::buildFingerprint()), std::string::npos) << message;
}

TEST_F(LoaderTest, BadMagicIsNotAPlugin) {
  PluginLoader loader({pluginDir()});
  const std::string message =
      configErrorOf([&] { loader.load(sdk::PluginKind::Sink, "bad-magic"); });
  EXPECT_NE(message.find(pluginFile("oura-sink-bad-magic.so")), std::string::npos) << message;
  EXPECT_NE(message.find("not an oura-collector plugin"), std::string::npos) << message;
  EXPECT_NE(message.find("0x12345678"), std::string::npos) << message;
}

TEST_F(LoaderTest, UnresolvedSymbolIsRefusedAtLoad) {
  PluginLoader loader({pluginDir()});
  const std::string message =
      configErrorOf([&] { loader.load(sdk::PluginKind::Sink, "unresolved"); });
  EXPECT_NE(message.find(pluginFile("oura-sink-unresolved.so")), std::string::npos) << message;
  EXPECT_NE(message.find("cannot load"), std::string::npos) << message;
  // dlerror's text names the missing symbol.
  EXPECT_NE(message.find("oura_test_function_that_does_not_exist"), std::string::npos) << message;
}

TEST_F(LoaderTest, LibraryWithoutAliasIsNotAPlugin) {
  PluginLoader loader({pluginDir()});
  const std::string message =
      configErrorOf([&] { loader.load(sdk::PluginKind::Sink, "not-a-plugin"); });
  EXPECT_NE(message.find(pluginFile("oura-sink-not-a-plugin.so")), std::string::npos) << message;
  EXPECT_NE(message.find("not an oura-collector plugin"), std::string::npos) << message;
}

TEST_F(LoaderTest, KindMismatchIsRefused) {
  PluginLoader loader({pluginDir()});
  // The file is named as an endpoint, the descriptor says sink.
  std::string message =
      configErrorOf([&] { loader.load(sdk::PluginKind::Endpoint, "mislabeled"); });
  EXPECT_NE(message.find(pluginFile("oura-endpoint-mislabeled.so")), std::string::npos) << message;
  EXPECT_NE(message.find("expected endpoint plugin 'mislabeled'"), std::string::npos) << message;
  EXPECT_NE(message.find("holds sink plugin 'mislabeled'"), std::string::npos) << message;

  // An explicit path to a sink, asked for as a token store.
  message = configErrorOf([&] {
    loader.load(sdk::PluginKind::TokenStore, "good", pluginDir() + "/oura-sink-good.so");
  });
  EXPECT_NE(message.find("auth plugin 'good'"), std::string::npos) << message;
  EXPECT_NE(message.find("sink plugin 'good'"), std::string::npos) << message;

  // Right kind, other name.
  message = configErrorOf(
      [&] { loader.load(sdk::PluginKind::Sink, "other", pluginDir() + "/oura-sink-good.so"); });
  EXPECT_NE(message.find("sink plugin 'other'"), std::string::npos) << message;
}

TEST_F(LoaderTest, MissingFileListsTheFoldersSearched) {
  PluginLoader loader({"/nonexistent/one", pluginDir()});
  std::string message = configErrorOf([&] { loader.load(sdk::PluginKind::Sink, "absent"); });
  EXPECT_NE(message.find("oura-sink-absent.so not found"), std::string::npos) << message;
  EXPECT_NE(message.find("/nonexistent/one"), std::string::npos) << message;
  EXPECT_NE(message.find(pluginDir()), std::string::npos) << message;

  message = configErrorOf(
      [&] { loader.load(sdk::PluginKind::Sink, "absent", std::string("/nonexistent/x.so")); });
  EXPECT_NE(message.find("/nonexistent/x.so not found"), std::string::npos) << message;
}

TEST_F(LoaderTest, FirstFolderWins) {
  PluginLoader loader({"/nonexistent/one", pluginDir()});
  EXPECT_EQ(loader.load(sdk::PluginKind::Sink, "good").file, pluginFile("oura-sink-good.so"));
}

TEST_F(LoaderTest, FactoryConfigErrorGetsInstanceContext) {
  PluginLoader loader({pluginDir()});
  LoadedPlugin plugin = loader.load(sdk::PluginKind::Sink, "good");
  toml::table config{{"format", "xml"}};
  const std::string message = configErrorOf(
      [&] { loader.create<sdk::SinkPlugin>(plugin, context("archive", plugin, config)); });
  EXPECT_EQ(message.rfind("sink 'archive' (plugin good, " + plugin.file + "): ", 0), 0u) << message;
  EXPECT_NE(message.find("format: unknown value 'xml'"), std::string::npos) << message;
}

TEST_F(LoaderTest, FactoryOtherExceptionBecomesConfigErrorWithFileName) {
  PluginLoader loader({pluginDir()});
  LoadedPlugin plugin = loader.load(sdk::PluginKind::Sink, "good");
  toml::table config{{"fail", true}};
  const std::string message = configErrorOf(
      [&] { loader.create<sdk::SinkPlugin>(plugin, context("out", plugin, config)); });
  EXPECT_NE(message.find(plugin.file), std::string::npos) << message;
  EXPECT_NE(message.find("asked to fail"), std::string::npos) << message;
}

TEST_F(LoaderTest, DiscoverLoadsEveryPluginAndReportsTheRest) {
  PluginLoader loader({pluginDir(), "/nonexistent/dir"});
  PluginLoader::Discovered found = loader.discover();
  std::set<std::string> names;
  for (const auto& plugin : found.plugins) names.insert(plugin.descriptor->name);
  EXPECT_EQ(names, (std::set<std::string>{"good", "mislabeled"}));
  ASSERT_EQ(found.errors.size(), 5u);
  for (const char* file :
       {"oura-sink-bad-api.so", "oura-sink-bad-fingerprint.so", "oura-sink-bad-magic.so",
        "oura-sink-unresolved.so", "oura-sink-not-a-plugin.so"}) {
    bool named = false;
    for (const auto& error : found.errors) named = named || error.find(file) != std::string::npos;
    EXPECT_TRUE(named) << file << " is not named in any discover() error";
  }
}

// A private folder under /tmp (0700, under the root-owned sticky /tmp) holding a copy of the
// good sink; removed at the end.
class TrustTest : public LoaderTest {
 protected:
  void SetUp() override {
    LoaderTest::SetUp();
    char pattern[] = "/tmp/oura-trust-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    root_ = pattern;
    dir_ = root_ / "plugins";
    fs::create_directory(dir_);
    fs::permissions(dir_, fs::perms::owner_all);
    fs::copy_file(fs::path(pluginDir()) / "oura-sink-good.so", dir_ / "oura-sink-good.so");
    fs::permissions(dir_ / "oura-sink-good.so", static_cast<fs::perms>(0755));
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  std::string file() const { return (dir_ / "oura-sink-good.so").string(); }
  fs::path root_;
  fs::path dir_;
};

TEST_F(TrustTest, PrivateFolderUnderStickyTmpLoads) {
  PluginLoader loader({dir_.string()});
  EXPECT_EQ(loader.load(sdk::PluginKind::Sink, "good").descriptor->name, std::string("good"));
}

TEST_F(TrustTest, WorldWritableFolderIsRefusedBeforeDlopen) {
  ::chmod(dir_.c_str(), 0777);
  PluginLoader loader({dir_.string()});
  const std::string message =
      configErrorOf([&] { loader.load(sdk::PluginKind::Sink, "good"); });
  EXPECT_NE(message.find(dir_.string() + ": writable by group and others (mode 0777)"),
            std::string::npos)
      << message;
  EXPECT_FALSE(isLoaded(file())) << "the library was opened before the check";
  // `oura-collector plugins` (discover) refuses the folder the same way, loading nothing.
  PluginLoader::Discovered found = PluginLoader({dir_.string()}).discover();
  EXPECT_TRUE(found.plugins.empty());
  ASSERT_EQ(found.errors.size(), 1u);
  EXPECT_NE(found.errors[0].find("mode 0777"), std::string::npos) << found.errors[0];
}

TEST_F(TrustTest, GroupWritableFileIsRefused) {
  ::chmod(file().c_str(), 0664);
  PluginLoader loader({dir_.string()});
  const std::string message =
      configErrorOf([&] { loader.load(sdk::PluginKind::Sink, "good"); });
  EXPECT_NE(message.find(file() + ": writable by group (mode 0664)"), std::string::npos)
      << message;
  EXPECT_FALSE(isLoaded(file()));
}

TEST_F(TrustTest, FileOwnedByAnotherUserIsRefused) {
  if (::geteuid() != 0) {
    // Without root no file can be given away; a folder of another owner is still in reach:
    // the root-owned sticky /tmp cannot directly hold a plugin.
    PluginLoader loader({"/tmp"});
    fs::copy_file(file(), "/tmp/oura-sink-good-trust.so", fs::copy_options::overwrite_existing);
    const std::string message =
        configErrorOf([&] { loader.loadFile("/tmp/oura-sink-good-trust.so"); });
    fs::remove("/tmp/oura-sink-good-trust.so");
    EXPECT_NE(message.find("/tmp: writable by"), std::string::npos) << message;
    return;
  }
  ASSERT_EQ(::chown(file().c_str(), 65534, 65534), 0);
  PluginLoader loader({dir_.string()});
  const std::string message =
      configErrorOf([&] { loader.load(sdk::PluginKind::Sink, "good"); });
  EXPECT_NE(message.find(file() + ": owned by uid 65534"), std::string::npos) << message;
  EXPECT_FALSE(isLoaded(file()));
}

TEST_F(TrustTest, StickyFolderMayNotHoldThePluginItself) {
  const fs::path sticky = root_ / "sticky";
  fs::create_directory(sticky);
  ::chmod(sticky.c_str(), 01777);
  fs::copy_file(file(), sticky / "oura-sink-good.so");
  PluginLoader loader({sticky.string()});
  const std::string message =
      configErrorOf([&] { loader.load(sdk::PluginKind::Sink, "good"); });
  EXPECT_NE(message.find(sticky.string() + ": writable by group and others (mode 01777)"),
            std::string::npos)
      << message;
}

TEST_F(TrustTest, SymlinkIntoAWritableFolderIsRefused) {
  const fs::path open_dir = root_ / "open";
  fs::create_directory(open_dir);
  fs::rename(file(), open_dir / "oura-sink-good.so");
  ::chmod(open_dir.c_str(), 0777);
  fs::create_symlink(open_dir / "oura-sink-good.so", file());
  PluginLoader loader({dir_.string()});
  const std::string message =
      configErrorOf([&] { loader.load(sdk::PluginKind::Sink, "good"); });
  EXPECT_NE(message.find(open_dir.string() + ": writable by group and others"), std::string::npos)
      << message;
  EXPECT_FALSE(isLoaded((open_dir / "oura-sink-good.so").string()));
}

}  // namespace

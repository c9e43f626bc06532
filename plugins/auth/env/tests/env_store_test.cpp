#include "../env_store.hpp"

#include <oura_sdk/errors.hpp>

#include <gtest/gtest.h>

#include <cstdlib>

using namespace oura::sdk;

namespace {
PluginContext context(const std::string& variable) {
  return PluginContext{"token", Logger("oura.auth.token"), PluginConfig({{"variable", variable}})};
}
}  // namespace

TEST(EnvTokenStore, ReadsTheTokenFromItsVariable) {
  ::setenv("OURA_TEST_ENV_STORE_TOKEN", "abc123\n", 1);
  oura::plugins::EnvTokenStore store(context("OURA_TEST_ENV_STORE_TOKEN"));
  auto tokens = store.load();
  ASSERT_TRUE(tokens.has_value());
  EXPECT_EQ(tokens->access_token, "abc123");
  EXPECT_TRUE(tokens->refresh_token.empty());
  EXPECT_FALSE(store.writable());
  EXPECT_EQ(store.describe(), "environment variable OURA_TEST_ENV_STORE_TOKEN");
  EXPECT_EQ(store.describe().find("abc123"), std::string::npos);
}

TEST(EnvTokenStore, AnUnsetOrEmptyVariableHoldsNoToken) {
  ::unsetenv("OURA_TEST_ENV_STORE_NONE");
  oura::plugins::EnvTokenStore store(context("OURA_TEST_ENV_STORE_NONE"));
  EXPECT_FALSE(store.load().has_value());
  ::setenv("OURA_TEST_ENV_STORE_NONE", "", 1);
  EXPECT_FALSE(store.load().has_value());
}

TEST(EnvTokenStore, IsReadOnly) {
  oura::plugins::EnvTokenStore store(context("OURA_TEST_ENV_STORE_TOKEN"));
  TokenSet tokens;
  EXPECT_THROW(store.save(tokens, 0), Error);
}

TEST(EnvTokenStore, RefusesABadVariableName) {
  EXPECT_THROW(oura::plugins::EnvTokenStore store(context("")), ConfigError);
  EXPECT_THROW(oura::plugins::EnvTokenStore store(context("A=B")), ConfigError);
}

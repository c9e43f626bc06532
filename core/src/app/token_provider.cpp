#include "app/token_provider.hpp"

#include <oura_sdk/errors.hpp>

#include <algorithm>

namespace oura::core {

StoreTokenProvider::StoreTokenProvider(sdk::TokenStore& store) : store_(store) {}

const sdk::TokenSet& StoreTokenProvider::current() {
  if (!loaded_) {
    tokens_ = store_.load();
    loaded_ = true;
  }
  if (!tokens_ || tokens_->access_token.empty()) {
    throw sdk::LoginNeededError(
        "no access token in " + store_.describe() +
        (store_.writable() ? ". Log in with `oura-collector auth login` to store one."
                           : ". Provide one: set it to your Oura access token."));
  }
  return *tokens_;
}

std::string StoreTokenProvider::accessToken() {
  std::lock_guard lock(mutex_);
  return current().access_token;
}

bool StoreTokenProvider::refreshAfterUnauthorized(const std::string& rejected_token) {
  std::lock_guard lock(mutex_);
  if (tokens_ && tokens_->access_token != rejected_token) return true;  // refreshed meanwhile
  if (!store_.writable()) return false;
  tokens_ = store_.load();
  loaded_ = true;
  return tokens_ && !tokens_->access_token.empty() && tokens_->access_token != rejected_token;
}

std::vector<std::string> StoreTokenProvider::scopes() {
  std::lock_guard lock(mutex_);
  return current().scopes;
}

bool StoreTokenProvider::allows(const std::string& scope) {
  std::vector<std::string> granted = scopes();
  if (granted.empty() || scope.empty()) return true;
  return std::any_of(granted.begin(), granted.end(), [&](const std::string& g) {
    return g == scope || g == "extapi:" + scope;
  });
}

}  // namespace oura::core

#include "app/token_provider.hpp"

#include <oura_sdk/errors.hpp>

#include <algorithm>
#include <cctype>

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
  // RFC 6750 b64token: a token with anything else (a newline above all) would let the store's
  // content inject headers into every request.
  const bool valid = std::all_of(tokens_->access_token.begin(), tokens_->access_token.end(),
                                 [](unsigned char c) {
                                   return std::isalnum(c) != 0 || c == '-' || c == '.' ||
                                          c == '_' || c == '~' || c == '+' || c == '/' || c == '=';
                                 });
  if (!valid) {
    throw sdk::LoginNeededError("the access token in " + store_.describe() +
                                " contains characters a bearer token cannot have (RFC 6750: "
                                "letters, digits and -._~+/=); provide it exactly as issued");
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

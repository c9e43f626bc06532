// The `auth` commands: see auth_commands.hpp.
#include "app/auth_commands.hpp"

#include <Poco/Environment.h>
#include <Poco/Logger.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Pipe.h>
#include <Poco/Process.h>
#include <Poco/URI.h>

#include <chrono>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <optional>
#include <oura_sdk/errors.hpp>
#include <thread>

#include "app/exit_codes.hpp"
#include "app/oauth_client.hpp"
#include "app/token_provider.hpp"

namespace oura::core {

namespace {

constexpr auto kLoginWait = std::chrono::minutes(10);

std::int64_t nowSeconds() { return epochSecondsNow(); }

std::string formatTime(std::int64_t epoch_seconds) { return formatEpochSeconds(epoch_seconds); }

std::string joinScopes(const std::vector<std::string>& scopes) {
  std::string out;
  for (const auto& s : scopes) out += (out.empty() ? "" : " ") + s;
  return out;
}

const OAuthSettings& requireOAuth(const Runtime& rt) {
  if (!rt.manifest.oauth) {
    throw ExitError(kExitConfig, rt.manifest.file +
                                     ": the manifest has no [oauth] table; add one with the "
                                     "client_id and client_secret of your Oura application "
                                     "(docs/manifest.md \"[oauth]\")");
  }
  return *rt.manifest.oauth;
}

void requireWritable(const Runtime& rt) {
  if (!rt.token_store->writable()) {
    throw ExitError(kExitConfig, "token store " + rt.token_store->describe() +
                                     " is read-only; `auth` needs a store that keeps tokens "
                                     "(file, postgres or azure-keyvault: README \"Choosing a "
                                     "token store\")");
  }
}

void checkWritable(const Runtime& rt) {
  StoreTokenProvider provider(*rt.token_store, &*rt.manifest.oauth);
  provider.prepare();
}

// What the redirect brought back: the query parameters of the redirected URL.
struct Callback {
  std::string code;
  std::string state;
  std::string error;
  std::string error_description;
};

Callback parseCallback(const Poco::URI& uri) {
  Callback out;
  for (const auto& [key, value] : uri.getQueryParameters()) {
    if (key == "code") out.code = value;
    if (key == "state") out.state = value;
    if (key == "error") out.error = value;
    if (key == "error_description") out.error_description = value.substr(0, 200);
  }
  return out;
}

// Checks the callback against the request; throws ExitError (77) saying what went wrong.
void checkCallback(const Callback& cb, const AuthorizationRequest& request) {
  if (!cb.error.empty()) {
    throw ExitError(kExitLoginNeeded, "the authorization was not granted: " + cb.error +
                                          (cb.error_description.empty()
                                               ? std::string()
                                               : " (" + cb.error_description + ")") +
                                          "; no token was stored");
  }
  if (cb.state != request.state) {
    throw ExitError(kExitLoginNeeded,
                    "the redirect's state does not match the one this login sent (a stale or "
                    "forged redirect); no token was stored. Run `oura-collector auth login` "
                    "again and use the URL it prints");
  }
  if (cb.code.empty()) {
    throw ExitError(kExitLoginNeeded,
                    "the redirect carries no authorization code; no token was stored");
  }
}

// Saves a login's tokens under the store's lock with the generation compare-and-set.
sdk::TokenSet saveLogin(Runtime& rt, const OAuthSettings& oauth, const TokenResponse& response) {
  sdk::TokenStore& store = *rt.token_store;
  std::unique_ptr<sdk::TokenLock> lock;
  try {
    lock = store.lock(oauth.lock_timeout);
  } catch (const sdk::TokenLockTimeout& e) {
    throw ExitError(kExitInterrupted, "token store " + store.describe() +
                                          ": another process holds the refresh lock: " + e.what() +
                                          "; the new login's tokens were not stored, log in again");
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::optional<sdk::TokenSet> existing = store.load();
    const std::int64_t expected = existing ? existing->generation : 0;
    sdk::TokenSet tokens;
    tokens.access_token = response.access_token;
    tokens.refresh_token = response.refresh_token.value_or("");
    if (response.expires_in) tokens.expires_at = nowSeconds() + *response.expires_in;
    tokens.scopes = response.scopes.value_or(oauth.scopes);
    tokens.generation = expected + 1;
    tokens.refreshed_at = nowSeconds();
    if (store.save(tokens, expected)) return tokens;
  }
  throw ExitError(kExitInterrupted, "token store " + store.describe() +
                                        " kept changing while the login was saved; log in again");
}

// The loopback listener: one callback, answered once the main thread has dealt with it.
class Listener {
 public:
  struct Shared {
    std::mutex mutex;
    std::condition_variable changed;
    std::optional<Poco::URI> received;  // the first callback
    std::optional<std::string> answer;  // the HTML page for the browser, once known
    bool ok = false;
    bool answered = false;  // the handler has sent its page (it no longer touches Shared)
  };

  class Handler : public Poco::Net::HTTPRequestHandler {
   public:
    Handler(Shared& shared, std::string path) : shared_(shared), path_(std::move(path)) {}
    void handleRequest(Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response) override {
      Poco::URI uri(request.getURI());
      response.setContentType("text/html; charset=utf-8");
      response.set("Cache-Control", "no-store");
      if (uri.getPath() != path_) {
        response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_NOT_FOUND);
        response.send() << page("Not found", "This is oura-collector's login listener.");
        return;
      }
      std::unique_lock lock(shared_.mutex);
      if (shared_.received) {
        response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_CONFLICT);
        response.send() << page("Already answered", "This login has already been handled.");
        return;
      }
      shared_.received = uri;
      shared_.changed.notify_all();
      shared_.changed.wait_for(lock, std::chrono::seconds(60), [&] { return shared_.answer.has_value(); });
      response.setStatusAndReason(shared_.ok ? Poco::Net::HTTPResponse::HTTP_OK
                                             : Poco::Net::HTTPResponse::HTTP_BAD_REQUEST);
      const std::string body =
          shared_.answer.value_or(page("Login not finished", "See the terminal for what happened."));
      lock.unlock();
      try {
        response.send() << body;
      } catch (const Poco::Exception&) {
        // the browser went away: the terminal says what happened
      }
      lock.lock();
      shared_.answered = true;
      shared_.changed.notify_all();
    }

   private:
    Shared& shared_;
    std::string path_;
  };

  class Factory : public Poco::Net::HTTPRequestHandlerFactory {
   public:
    Factory(Shared& shared, std::string path) : shared_(shared), path_(std::move(path)) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(
        const Poco::Net::HTTPServerRequest&) override {
      return new Handler(shared_, path_);
    }

   private:
    Shared& shared_;
    std::string path_;
  };

  static std::string page(const std::string& title, const std::string& text) {
    return "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>oura-collector: " + title +
           "</title></head><body><h1>" + title + "</h1><p>" + text + "</p></body></html>\n";
  }
};

void openBrowserQuietly(const std::string& url) {
  if (Poco::Environment::get("DISPLAY", "").empty() &&
      Poco::Environment::get("WAYLAND_DISPLAY", "").empty()) {
    return;
  }
  try {
    Poco::Pipe in, out, err;
    Poco::ProcessHandle handle = Poco::Process::launch("xdg-open", {url}, &in, &out, &err);
    std::thread([handle]() mutable {
      try {
        handle.wait();
      } catch (const Poco::Exception&) {
      }
    }).detach();
  } catch (const Poco::Exception&) {
    // no xdg-open: the printed URL is enough
  }
}

int login(Runtime& rt, bool no_listen, const std::atomic<bool>& stop) {
  const OAuthSettings& oauth = requireOAuth(rt);
  requireWritable(rt);
  checkWritable(rt);
  OAuthClient client(oauth);
  const AuthorizationRequest request = client.authorizationRequest();
  Poco::URI redirect(oauth.redirect_uri);

  Callback callback;
  if (no_listen) {
    std::cout << "Open this URL in a browser, sign in to Oura and allow access:\n\n  "
              << request.url
              << "\n\nThe browser is then sent to " << oauth.redirect_uri
              << " (the page will not load here). Paste the full address it shows, then press "
                 "Enter:\n"
              << std::flush;
    std::string line;
    if (!std::getline(std::cin, line)) {
      throw ExitError(kExitUsage, "no redirected URL on stdin; nothing was stored");
    }
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    while (!line.empty() && line.front() == ' ') line.erase(0, 1);
    Poco::URI pasted;
    try {
      pasted = Poco::URI(line);
    } catch (const Poco::Exception& e) {
      throw ExitError(kExitUsage, "the pasted text is not a URL (" + e.displayText() +
                                      "); nothing was stored");
    }
    callback = parseCallback(pasted);
    checkCallback(callback, request);
  } else {
    Listener::Shared shared;
    std::unique_ptr<Poco::Net::HTTPServer> server;
    try {
      Poco::Net::ServerSocket socket(Poco::Net::SocketAddress(redirect.getHost(), redirect.getPort()));
      auto params = new Poco::Net::HTTPServerParams;
      params->setMaxThreads(2);
      params->setKeepAlive(false);
      server = std::make_unique<Poco::Net::HTTPServer>(
          new Listener::Factory(shared, redirect.getPath().empty() ? "/" : redirect.getPath()),
          socket, params);
      server->start();
    } catch (const Poco::Exception& e) {
      throw ExitError(kExitUnavailable,
                      "cannot listen on " + redirect.getHost() + ":" +
                          std::to_string(redirect.getPort()) + " (oauth.redirect_uri): " +
                          e.displayText() + "; free the port, or use `auth login --no-listen`");
    }
    std::cout << "Open this URL in a browser, sign in to Oura and allow access:\n\n  "
              << request.url << "\n\nWaiting for the browser at " << oauth.redirect_uri
              << " ...\n"
              << std::flush;
    openBrowserQuietly(request.url);
    std::unique_lock lock(shared.mutex);
    const auto deadline = std::chrono::steady_clock::now() + kLoginWait;
    while (!shared.received) {
      if (stop) throw ExitError(kExitInterrupted, "login interrupted; nothing was stored");
      if (std::chrono::steady_clock::now() > deadline) {
        throw ExitError(kExitLoginNeeded, "no redirect arrived within 10 minutes; nothing was "
                                          "stored. Run `oura-collector auth login` again");
      }
      shared.changed.wait_for(lock, std::chrono::milliseconds(100));
    }
    const Poco::URI received = *shared.received;
    lock.unlock();
    auto answer = [&](bool ok, const std::string& title, const std::string& text) {
      std::unique_lock guard(shared.mutex);
      shared.ok = ok;
      shared.answer = Listener::page(title, text);
      shared.changed.notify_all();
      // The handler thread uses `shared` until it has sent the page.
      shared.changed.wait_for(guard, std::chrono::seconds(10), [&] { return shared.answered; });
    };
    callback = parseCallback(received);
    try {
      checkCallback(callback, request);
      TokenResponse response = client.exchangeCode(callback.code, request.code_verifier);
      sdk::TokenSet saved = saveLogin(rt, oauth, response);
      answer(true, "Logged in", "oura-collector has stored its tokens. You can close this window.");
      server->stopAll(false);
      std::cout << "Logged in; tokens stored in " << rt.token_store->describe() << ".\n"
                << "Granted scopes: " << joinScopes(saved.scopes) << "\n";
      if (saved.expires_at) std::cout << "The access token expires at " << formatTime(*saved.expires_at) << "\n";
      return kExitOk;
    } catch (const std::exception& e) {
      answer(false, "Login failed", "See the terminal for what went wrong.");
      server->stopAll(false);
      throw;
    }
  }
  TokenResponse response = client.exchangeCode(callback.code, request.code_verifier);
  sdk::TokenSet saved = saveLogin(rt, oauth, response);
  std::cout << "Logged in; tokens stored in " << rt.token_store->describe() << ".\n"
            << "Granted scopes: " << joinScopes(saved.scopes) << "\n";
  if (saved.expires_at) std::cout << "The access token expires at " << formatTime(*saved.expires_at) << "\n";
  return kExitOk;
}

int status(Runtime& rt) {
  sdk::TokenStore& store = *rt.token_store;
  std::cout << "token store: " << rt.token_store_name << " (" << store.describe() << ")"
            << (store.writable() ? "" : ", read-only") << "\n";
  std::cout << "oauth: "
            << (rt.manifest.oauth ? "client " + rt.manifest.oauth->client_id + ", token URL " +
                                        rt.manifest.oauth->token_url
                                  : std::string("no [oauth] table (no login, no refresh)"))
            << "\n";
  std::optional<sdk::TokenSet> tokens = store.load();
  // The check every other command makes before using the tokens.
  const bool can_refresh = rt.manifest.oauth && store.writable();
  const std::optional<std::string> problem = loginNeededReason(tokens, store, can_refresh);
  if (!tokens || (tokens->access_token.empty() && tokens->refresh_token.empty())) {
    std::cout << "token: none (log in with `oura-collector auth login`)\n";
    return kExitLoginNeeded;
  }
  std::cout << "token: "
            << (tokens->access_token.empty()    ? "a refresh token only"
                : tokens->refresh_token.empty() ? "present, no refresh token"
                                                : "present, with a refresh token")
            << "\n";
  if (tokens->expires_at) {
    const std::int64_t left = *tokens->expires_at - nowSeconds();
    std::cout << "access token expires: " << formatTime(*tokens->expires_at)
              << (left <= 0 ? " (expired)" : " (in " + std::to_string(left / 60) + " min)") << "\n";
  } else {
    std::cout << "access token expires: unknown\n";
  }
  std::cout << "scopes: " << (tokens->scopes.empty() ? std::string("unknown") : joinScopes(tokens->scopes))
            << "\n";
  std::cout << "last refresh: "
            << (tokens->refreshed_at ? formatTime(*tokens->refreshed_at) : std::string("unknown")) << "\n";
  std::cout << "generation: " << tokens->generation << "\n";
  if (tokens->refresh_started_at) {
    std::cout << "INTERRUPTED REFRESH: a refresh started at "
              << formatTime(*tokens->refresh_started_at) << " did not finish"
              << (tokens->refresh_rejected_at
                      ? "\n"
                      : "; the next run tries the stored refresh token (if it was spent, a new "
                        "login is needed)\n");
  }
  if (tokens->refresh_rejected_at) {
    std::cout << "REFRESH TOKEN REJECTED: at " << formatTime(*tokens->refresh_rejected_at)
              << " (invalid_grant); no run sends it again\n";
  }
  if (problem) {
    std::cout << "login needed: " << *problem << "\n";
    return kExitLoginNeeded;
  }
  return kExitOk;
}

int refresh(Runtime& rt) {
  const OAuthSettings& oauth = requireOAuth(rt);
  requireWritable(rt);
  StoreTokenProvider provider(*rt.token_store, &oauth);
  provider.prepare();
  sdk::TokenSet tokens;
  try {
    tokens = provider.forceRefresh();
  } catch (const sdk::LoginNeededError& e) {
    throw ExitError(kExitLoginNeeded, e.what());
  }
  std::cout << "Refreshed; tokens stored in " << rt.token_store->describe() << " (generation "
            << tokens.generation << ").\n";
  if (tokens.expires_at) std::cout << "The access token expires at " << formatTime(*tokens.expires_at) << "\n";
  std::cout << "Granted scopes: " << joinScopes(tokens.scopes) << "\n";
  return kExitOk;
}

int logout(Runtime& rt) {
  requireWritable(rt);
  sdk::TokenStore& store = *rt.token_store;
  const std::chrono::seconds lock_timeout =
      rt.manifest.oauth ? rt.manifest.oauth->lock_timeout : std::chrono::seconds(60);
  std::unique_ptr<sdk::TokenLock> lock;
  try {
    lock = store.lock(lock_timeout);
  } catch (const sdk::TokenLockTimeout& e) {
    throw ExitError(kExitInterrupted, "token store " + store.describe() +
                                          ": another process holds the refresh lock: " + e.what());
  }
  std::optional<sdk::TokenSet> tokens = store.load();
  if (!tokens) {
    std::cout << "No tokens in " << store.describe() << "; nothing to do.\n";
    return kExitOk;
  }
  int code = kExitOk;
  if (rt.manifest.oauth && !rt.manifest.oauth->revoke_url.empty()) {
    const bool refresh = !tokens->refresh_token.empty();
    try {
      OAuthClient client(*rt.manifest.oauth);
      client.revoke(refresh ? tokens->refresh_token : tokens->access_token,
                    refresh ? "refresh_token" : "access_token");
      std::cout << "The grant was revoked at " << rt.manifest.oauth->revoke_url << ".\n";
    } catch (const OAuthError& e) {
      // Decided: the local tokens go anyway (the user asked to log out), after saying that the
      // grant may still be live at Oura; the exit code is the revocation's.
      std::cerr << "oura-collector: the revocation failed: " << e.what()
                << "\noura-collector: the grant may still be valid at Oura: revoke it in the "
                   "Oura web app (My account, connected applications). Removing the stored "
                   "tokens anyway.\n";
      code = e.code();
    }
  } else {
    std::cout << "No oauth.revoke_url: the grant is not revoked at the server (remove the "
                 "application's access in the Oura web app).\n";
  }
  store.clear();
  std::cout << "Tokens removed from " << store.describe() << ".\n";
  return code;
}

}  // namespace

int runAuthCommand(Runtime& rt, const std::vector<std::string>& args, bool no_listen,
                   const std::atomic<bool>& stop) {
  if (args.empty()) {
    throw ExitError(kExitUsage, "usage: oura-collector auth login|status|refresh|logout");
  }
  if (args.size() > 1) {
    throw ExitError(kExitUsage, "auth " + args[0] + " takes no arguments, got '" + args[1] + "'");
  }
  const std::string& sub = args[0];
  if (no_listen && sub != "login") throw ExitError(kExitUsage, "--no-listen is for auth login");
  if (sub == "login") return login(rt, no_listen, stop);
  if (sub == "status") return status(rt);
  if (sub == "refresh") return refresh(rt);
  if (sub == "logout") return logout(rt);
  throw ExitError(kExitUsage, "unknown auth subcommand '" + sub +
                                  "' (login, status, refresh, logout)");
}

}  // namespace oura::core

// The `auth` commands: see auth_commands.hpp.
#include "auth/auth_commands.hpp"

#include "auth/scopes.hpp"

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
#include <Poco/String.h>
#include <Poco/ThreadPool.h>
#include <Poco/Timespan.h>
#include <Poco/URI.h>

#include <poll.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <optional>
#include <oura_sdk/errors.hpp>
#include <thread>

#include "errors.hpp"
#include "auth/oauth_client.hpp"
#include "auth/token_provider.hpp"

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
    throw Error(ErrorKind::Config, rt.manifest.file +
                                     ": the manifest has no [oauth] table; add one with the "
                                     "client_id and client_secret of your Oura application "
                                     "(docs/manifest.md \"[oauth]\")");
  }
  return *rt.manifest.oauth;
}

void requireWritable(const Runtime& rt) {
  if (!rt.token_store->writable()) {
    throw Error(ErrorKind::Config, "token store " + rt.token_store->describe() +
                                     " is read-only; `auth` needs a store that keeps tokens "
                                     "(file, postgres or azure-keyvault: README \"Where the "
                                     "tokens live\")");
  }
}

void checkWritable(const Runtime& rt) {
  StoreTokenProvider provider(*rt.token_store, &*rt.manifest.oauth);
  provider.prepare();
}

// Text from the redirect (the server's `error`, `error_description`) for the terminal: printable
// ASCII only, anything else as \xNN, at most `limit` bytes of input.
std::string escaped(const std::string& text, std::size_t limit = 200) {
  std::string out;
  for (unsigned char c : text.substr(0, limit)) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 0xf]);
    }
  }
  if (text.size() > limit) out += "...";
  return out;
}

// The longest authorization code taken from a redirect.
constexpr std::size_t kMaxCode = 4096;
// The longest line read as a pasted URL.
constexpr std::size_t kMaxPasted = 16384;

// What the redirect brought back: the query parameters of the redirected URL.
struct Callback {
  std::optional<std::string> state;
  std::string code;
  std::string error;
  std::string error_description;
};

Callback parseCallback(const Poco::URI& uri) {
  Callback out;
  for (const auto& [key, value] : uri.getQueryParameters()) {
    if (key == "code") out.code = value;
    if (key == "state") out.state = value;
    if (key == "error") out.error = value;
    if (key == "error_description") out.error_description = value;
  }
  return out;
}

// True when `cb` carries this login's state (compared in constant time).
bool stateMatches(const Callback& cb, const AuthorizationRequest& request) {
  if (!cb.state || cb.state->size() != request.state.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < request.state.size(); ++i) {
    diff |= static_cast<unsigned char>((*cb.state)[i] ^ request.state[i]);
  }
  return diff == 0;
}

// Checks the callback against the request: the state first (a redirect that is not this
// login's says nothing about it), then the server's error, then the code. Throws Error (77,
// or 64 for a code too long) saying what went wrong.
void checkCallback(const Callback& cb, const AuthorizationRequest& request) {
  if (!stateMatches(cb, request)) {
    throw Error(ErrorKind::LoginNeeded,
                    std::string("the redirect's state ") +
                        (cb.state ? "does not match the one this login sent" : "is missing") +
                        " (a stale or forged redirect); no token was stored. Run "
                        "`oura-collector auth login` again and use the URL it prints");
  }
  if (!cb.error.empty()) {
    throw Error(ErrorKind::LoginNeeded, "the authorization was not granted: " + escaped(cb.error) +
                                          (cb.error_description.empty()
                                               ? std::string()
                                               : " (" + escaped(cb.error_description) + ")") +
                                          "; no token was stored");
  }
  if (cb.code.empty()) {
    throw Error(ErrorKind::LoginNeeded,
                    "the redirect carries no authorization code; no token was stored");
  }
  if (cb.code.size() > kMaxCode) {
    throw Error(ErrorKind::Usage, "the redirect's authorization code is " +
                                    std::to_string(cb.code.size()) + " bytes, more than " +
                                    std::to_string(kMaxCode) + ": refused; no token was stored");
  }
}

// The rest of a login once the redirect is known: the store's lock first (an authorization code
// is never exchanged when its tokens could not be stored), then the exchange, the check of the
// answer's tokens and the save (compare-and-set, retried while the store fails).
sdk::TokenSet exchangeAndSave(Runtime& rt, const OAuthSettings& oauth, OAuthClient& client,
                              const std::string& code, const std::string& code_verifier,
                              std::string& note) {
  sdk::TokenStore& store = *rt.token_store;
  std::unique_ptr<sdk::TokenLock> lock;
  try {
    lock = store.lock(oauth.lock_timeout);
  } catch (const sdk::TokenLockTimeout& e) {
    throw Error(ErrorKind::Interrupted,
                    "token store " + store.describe() + ": another process holds the refresh lock: " +
                        e.what() +
                        "; the authorization code was not used and nothing was stored: run "
                        "`oura-collector auth login` again when it has finished");
  } catch (const sdk::UnavailableError& e) {
    throw Error(ErrorKind::Unavailable, "token store " + store.describe() +
                                          ": cannot take the refresh lock: " + e.what() +
                                          "; the authorization code was not used");
  }
  TokenResponse response = client.exchangeCode(code, code_verifier);
  if (response.refresh_token && !validRefreshToken(*response.refresh_token)) {
    throw Error(ErrorKind::Unavailable,
                    "the token endpoint answered the authorization-code exchange with a refresh "
                    "token that has characters a refresh token cannot have (RFC 6749: printable "
                    "ASCII only); nothing was stored. Run `oura-collector auth login` again");
  }
  const bool access_ok = validBearerToken(response.access_token);
  if (!access_ok && !response.refresh_token) {
    throw Error(ErrorKind::Unavailable,
                    "the token endpoint answered the authorization-code exchange with an access "
                    "token that has characters a bearer token cannot have (RFC 6750) and no "
                    "refresh token; nothing was stored. Run `oura-collector auth login` again");
  }
  if (!access_ok) {
    note = "The access token the token endpoint issued has characters a bearer token cannot have "
           "(RFC 6750), so only the refresh token was stored: the next run refreshes first.\n";
  }
  for (int attempt = 0;; ++attempt) {
    std::optional<sdk::TokenSet> existing = store.load();
    const std::int64_t expected = existing ? existing->generation : 0;
    sdk::TokenSet tokens;
    if (access_ok) tokens.access_token = response.access_token;
    tokens.refresh_token = response.refresh_token.value_or("");
    if (response.expires_in && access_ok) tokens.expires_at = nowSeconds() + *response.expires_in;
    tokens.scopes = response.scopes.value_or(oauth.scopes);
    tokens.generation = expected + 1;
    tokens.refreshed_at = nowSeconds();
    tokens.token_url = response.token_url;  // the new-portal URL when the fallback found it
    const SaveOutcome outcome =
        saveTokens(store, tokens, expected, oauth.save_retry, "the login's tokens");
    if (outcome.saved) return tokens;
    if (outcome.lost && attempt == 0) continue;  // a writer that ignores the lock: once more
    throw Error(outcome.failure,
                    "token store " + store.describe() + ": the new login's tokens could not be "
                    "saved" + (outcome.lost ? ": " + outcome.problem
                                            : " (tried for " +
                                                  std::to_string(oauth.save_retry.count()) +
                                                  " s, oauth.save_retry_seconds): " +
                                                  outcome.problem) +
                    ". The grant is live at Oura but stored nowhere: run `oura-collector auth "
                    "login` again once the store works");
  }
}

void printLoggedIn(const Runtime& rt, const sdk::TokenSet& saved, const std::string& note) {
  std::cout << "Logged in; tokens stored in " << rt.token_store->describe() << ".\n"
            << "Granted scopes: " << joinScopes(saved.scopes) << "\n";
  if (saved.expires_at) {
    std::cout << "The access token expires at " << formatTime(*saved.expires_at) << "\n";
  }
  std::cout << note;
}

// The loopback listener. It hands the main thread the first request on the redirect path that
// carries this login's state; requests with a wrong or missing state are answered 400 and
// counted, nothing else. Its state is shared with the handler threads (shared_ptr), and the
// destructor stops the server, aborting requests still being received, and joins its threads.
class Listener {
 public:
  Listener(const Poco::URI& redirect, std::string path, std::string state)
      : shared_(std::make_shared<Shared>()) {
    shared_->path = std::move(path);
    shared_->state = std::move(state);
    Poco::Net::ServerSocket socket(Poco::Net::SocketAddress(redirect.getHost(), redirect.getPort()));
    auto params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(kThreads);
    params->setKeepAlive(false);
    params->setTimeout(Poco::Timespan(kReceiveTimeoutSeconds, 0));  // a half-sent request
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(shared_), pool_, socket, params);
    server_->start();
  }
  ~Listener() {
    {
      std::unique_lock lock(shared_->mutex);
      shared_->closed = true;
      shared_->changed.notify_all();
      // The handler that got the redirect sends its page; then the server stops.
      if (shared_->received && shared_->answer) {
        shared_->changed.wait_for(lock, std::chrono::seconds(5), [&] { return shared_->answered; });
      }
    }
    try {
      server_->stopAll(true);  // also shuts down connections still being received
    } catch (const Poco::Exception&) {
    }
    pool_.joinAll();
    server_.reset();
  }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Waits for this login's redirect. Throws Error 75 on SIGINT/SIGTERM, 77 after kLoginWait.
  Poco::URI wait(const std::atomic<bool>& stop) {
    std::unique_lock lock(shared_->mutex);
    const auto deadline = std::chrono::steady_clock::now() + kLoginWait;
    int reported = 0;
    while (!shared_->received) {
      if (stop) throw Error(ErrorKind::Interrupted, "login interrupted; nothing was stored");
      if (std::chrono::steady_clock::now() > deadline) {
        throw Error(ErrorKind::LoginNeeded, "no redirect arrived within 10 minutes; nothing was "
                                          "stored. Run `oura-collector auth login` again");
      }
      if (shared_->ignored > reported) {
        reported = shared_->ignored;
        std::cerr << "oura-collector: ignored a redirect whose state is wrong or missing (not this "
                     "login's; answered 400); still waiting for the browser\n"
                  << std::flush;
      }
      shared_->changed.wait_for(lock, std::chrono::milliseconds(100));
    }
    return *shared_->received;
  }

  // The page the browser gets for the redirect.
  void answer(bool ok, const std::string& title, const std::string& text) {
    std::lock_guard lock(shared_->mutex);
    shared_->ok = ok;
    shared_->answer = page(title, text);
    shared_->changed.notify_all();
  }

  static std::string page(const std::string& title, const std::string& text) {
    return "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>oura-collector: " + title +
           "</title></head><body><h1>" + title + "</h1><p>" + text + "</p></body></html>\n";
  }

 private:
  static constexpr int kThreads = 8;
  static constexpr int kReceiveTimeoutSeconds = 10;
  // How long a handler holds the browser's request open waiting for the login's outcome (the
  // lock, the exchange and the save are bounded well below it); the destructor wakes it sooner.
  static constexpr auto kAnswerWait = std::chrono::minutes(5);

  struct Shared {
    std::mutex mutex;
    std::condition_variable changed;
    std::string path;
    std::string state;
    std::optional<Poco::URI> received;  // the redirect with this login's state
    std::optional<std::string> answer;  // the HTML page for the browser, once known
    bool ok = false;
    bool answered = false;  // the redirect's handler has sent its page
    bool closed = false;    // the login is over: handlers stop waiting
    int ignored = 0;        // requests with a wrong or missing state
  };

  class Handler : public Poco::Net::HTTPRequestHandler {
   public:
    explicit Handler(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}
    void handleRequest(Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response) override {
      response.setContentType("text/html; charset=utf-8");
      response.set("Cache-Control", "no-store");
      std::optional<Poco::URI> uri;
      try {
        uri = Poco::URI(request.getURI());
      } catch (const Poco::Exception&) {
      }
      if (!uri || uri->getPath() != shared_->path) {
        response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_NOT_FOUND);
        response.send() << page("Not found", "This is oura-collector's login listener.");
        return;
      }
      Callback cb;
      try {
        cb = parseCallback(*uri);
      } catch (const Poco::Exception&) {
      }
      AuthorizationRequest expected;
      expected.state = shared_->state;
      if (!stateMatches(cb, expected)) {
        {
          std::lock_guard lock(shared_->mutex);
          ++shared_->ignored;
          shared_->changed.notify_all();
        }
        response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_BAD_REQUEST);
        response.send() << page("Not this login",
                                "This redirect's state is wrong or missing: it does not belong "
                                "to the login in progress and was ignored.");
        return;
      }
      std::unique_lock lock(shared_->mutex);
      if (shared_->received || shared_->closed) {
        response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_CONFLICT);
        response.send() << page("Already answered", "This login has already been handled.");
        return;
      }
      shared_->received = *uri;
      shared_->changed.notify_all();
      shared_->changed.wait_for(lock, kAnswerWait,
                                [&] { return shared_->answer.has_value() || shared_->closed; });
      const bool ok = shared_->ok;
      const std::string body = shared_->answer.value_or(
          page("Login not finished", "See the terminal for what happened."));
      lock.unlock();
      try {
        response.setStatusAndReason(ok ? Poco::Net::HTTPResponse::HTTP_OK
                                       : Poco::Net::HTTPResponse::HTTP_BAD_REQUEST);
        response.send() << body;
      } catch (const Poco::Exception&) {
        // the browser went away: the terminal says what happened
      }
      lock.lock();
      shared_->answered = true;
      shared_->changed.notify_all();
    }

   private:
    std::shared_ptr<Shared> shared_;
  };

  class Factory : public Poco::Net::HTTPRequestHandlerFactory {
   public:
    explicit Factory(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(
        const Poco::Net::HTTPServerRequest&) override {
      return new Handler(shared_);
    }

   private:
    std::shared_ptr<Shared> shared_;
  };

  std::shared_ptr<Shared> shared_;
  Poco::ThreadPool pool_{2, kThreads};  // the server's own: joined before the state goes
  std::unique_ptr<Poco::Net::HTTPServer> server_;
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

// --no-listen: one line from stdin, the address the browser was sent to. Throws Error: 75
// on SIGINT/SIGTERM, 64 for nothing, something that is not the redirect, or a code too long.
Poco::URI readPastedRedirect(const OAuthSettings& oauth, const std::string& path,
                             const std::atomic<bool>& stop) {
  const std::string nothing_stored = "; nothing was stored";
  // Wait for input without blocking the stop request (a signal may land on another thread).
  for (;;) {
    if (stop) throw Error(ErrorKind::Interrupted, "login interrupted" + nothing_stored);
    pollfd fd{STDIN_FILENO, POLLIN, 0};
    const int ready = ::poll(&fd, 1, 200);
    if (ready > 0) break;
    if (ready < 0 && errno != EINTR) break;  // let getline report it
  }
  std::string line;
  const bool got = static_cast<bool>(std::getline(std::cin, line));
  if (stop) throw Error(ErrorKind::Interrupted, "login interrupted" + nothing_stored);
  if (!got) throw Error(ErrorKind::Usage, "no redirected URL on stdin" + nothing_stored);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
    line.pop_back();
  }
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.erase(0, 1);
  if (line.empty()) {
    throw Error(ErrorKind::Usage, "nothing pasted: paste the full address the browser shows after "
                                "you allowed access (it starts with " + oauth.redirect_uri + "?)" +
                                    nothing_stored);
  }
  if (line.size() > kMaxPasted) {
    throw Error(ErrorKind::Usage, "the pasted line is " + std::to_string(line.size()) +
                                    " bytes, too long for a redirected URL" + nothing_stored);
  }
  Poco::URI pasted;
  try {
    pasted = Poco::URI(line);
  } catch (const Poco::Exception& e) {
    throw Error(ErrorKind::Usage, "the pasted text is not a URL (" + e.message() + ")" +
                                    nothing_stored);
  }
  const std::string scheme = Poco::toLower(pasted.getScheme());
  if (scheme != "http" && scheme != "https") {
    throw Error(ErrorKind::Usage, "the pasted text is not the http(s) address the browser was sent "
                                "to (it starts with " + oauth.redirect_uri + "?)" + nothing_stored);
  }
  if (pasted.getPath() != path) {
    throw Error(ErrorKind::Usage, "the pasted URL's path is '" + escaped(pasted.getPath()) +
                                    "', not the redirect URI's '" + path + "' (" +
                                    oauth.redirect_uri + "); paste the address the browser was "
                                    "sent to" + nothing_stored);
  }
  return pasted;
}

ErrorKind login(Runtime& rt, bool no_listen, const std::atomic<bool>& stop) {
  // Ask for every scope the enabled collections need (collector.collections, else every
  // served one), whatever oauth.scopes leaves out: a login without one of them would leave its
  // collections uncollected.
  OAuthSettings asked = requireOAuth(rt);
  {
    std::vector<std::string> needed;
    for (const ServedCollection& c : rt.collections) {
      const auto& enabled = rt.manifest.collections;
      if (enabled.empty() || std::find(enabled.begin(), enabled.end(), c.spec->name) != enabled.end()) {
        needed.push_back(c.spec->scope);
      }
    }
    std::vector<std::string> scopes = withNeededScopes(asked.scopes, needed);
    if (scopes.size() > asked.scopes.size()) {
      std::vector<std::string> added(scopes.begin() + static_cast<std::ptrdiff_t>(asked.scopes.size()),
                                     scopes.end());
      std::cerr << "oura-collector: oauth.scopes lacks " << joinScopes(added)
                << ", which enabled collections need; asking for them too\n";
      asked.scopes = std::move(scopes);
    }
  }
  const OAuthSettings& oauth = asked;
  requireWritable(rt);
  checkWritable(rt);
  OAuthClient client(oauth);
  const AuthorizationRequest request = client.authorizationRequest();
  Poco::URI redirect(oauth.redirect_uri);
  const std::string path = redirect.getPath().empty() ? "/" : redirect.getPath();
  std::string note;

  if (no_listen) {
    std::cout << "Open this URL in a browser, sign in to Oura and allow access:\n\n  "
              << request.url
              << "\n\nThe browser is then sent to " << oauth.redirect_uri
              << " (the page will not load here). Paste the full address it shows, then press "
                 "Enter:\n"
              << std::flush;
    const Callback callback = parseCallback(readPastedRedirect(oauth, path, stop));
    checkCallback(callback, request);
    const sdk::TokenSet saved =
        exchangeAndSave(rt, oauth, client, callback.code, request.code_verifier, note);
    printLoggedIn(rt, saved, note);
    return ErrorKind::None;
  }

  std::unique_ptr<Listener> listener;
  try {
    listener = std::make_unique<Listener>(redirect, path, request.state);
  } catch (const Poco::Exception& e) {
    throw Error(ErrorKind::Unavailable,
                    "cannot listen on " + redirect.getHost() + ":" +
                        std::to_string(redirect.getPort()) + " (oauth.redirect_uri): " +
                        e.displayText() + "; free the port, or use `auth login --no-listen`");
  }
  std::cout << "Open this URL in a browser, sign in to Oura and allow access:\n\n  "
            << request.url << "\n\nWaiting for the browser at " << oauth.redirect_uri << " ...\n"
            << std::flush;
  openBrowserQuietly(request.url);
  const Callback callback = parseCallback(listener->wait(stop));
  try {
    checkCallback(callback, request);
    const sdk::TokenSet saved =
        exchangeAndSave(rt, oauth, client, callback.code, request.code_verifier, note);
    listener->answer(true, "Logged in",
                     "oura-collector has stored its tokens. You can close this window.");
    listener.reset();
    printLoggedIn(rt, saved, note);
    return ErrorKind::None;
  } catch (const std::exception&) {
    listener->answer(false, "Login failed", "See the terminal for what went wrong.");
    throw;
  }
}

ErrorKind status(Runtime& rt) {
  sdk::TokenStore& store = *rt.token_store;
  std::cout << "token store: " << rt.token_store_name << " (" << store.describe() << ")"
            << (store.writable() ? "" : ", read-only") << "\n";
  std::cout << "oauth: "
            << (rt.manifest.oauth ? "client " + rt.manifest.oauth->client_id + ", token URL " +
                                        rt.manifest.oauth->token_url
                                  : std::string("no [oauth] table (no login, no refresh)"))
            << "\n";
  std::optional<sdk::TokenSet> tokens = store.load();
  if (tokens && !tokens->token_url.empty()) {
    std::cout << "token URL in use: " << tokens->token_url
              << " (found by the login's fallback; refreshes go there)\n";
  }
  // The check every other command makes before using the tokens.
  const bool can_refresh = rt.manifest.oauth && store.writable();
  const std::optional<std::string> problem = loginNeededReason(tokens, store, can_refresh);
  if (!tokens || (tokens->access_token.empty() && tokens->refresh_token.empty())) {
    // The same sentence a run would say: `auth login` for a writable store, else how to provide
    // a token (the env store: login refuses it).
    std::cout << "token: none (" << problem.value_or("no token stored") << ")\n";
    return ErrorKind::LoginNeeded;
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
    return ErrorKind::LoginNeeded;
  }
  return ErrorKind::None;
}

ErrorKind refresh(Runtime& rt) {
  const OAuthSettings& oauth = requireOAuth(rt);
  requireWritable(rt);
  StoreTokenProvider provider(*rt.token_store, &oauth);
  provider.prepare();
  sdk::TokenSet tokens;
  try {
    tokens = provider.forceRefresh();
  } catch (const sdk::LoginNeededError& e) {
    throw Error(ErrorKind::LoginNeeded, e.what());
  }
  std::cout << "Refreshed; tokens stored in " << rt.token_store->describe() << " (generation "
            << tokens.generation << ").\n";
  if (tokens.expires_at) std::cout << "The access token expires at " << formatTime(*tokens.expires_at) << "\n";
  std::cout << "Granted scopes: " << joinScopes(tokens.scopes) << "\n";
  return ErrorKind::None;
}

ErrorKind logout(Runtime& rt) {
  requireWritable(rt);
  sdk::TokenStore& store = *rt.token_store;
  const std::chrono::seconds lock_timeout =
      rt.manifest.oauth ? rt.manifest.oauth->lock_timeout : std::chrono::seconds(60);
  std::unique_ptr<sdk::TokenLock> lock;
  try {
    lock = store.lock(lock_timeout);
  } catch (const sdk::TokenLockTimeout& e) {
    throw Error(ErrorKind::Interrupted, "token store " + store.describe() +
                                          ": another process holds the refresh lock: " + e.what());
  }
  std::optional<sdk::TokenSet> tokens = store.load();
  if (!tokens) {
    std::cout << "No tokens in " << store.describe() << "; nothing to do.\n";
    return ErrorKind::None;
  }
  ErrorKind code = ErrorKind::None;
  if (rt.manifest.oauth && !rt.manifest.oauth->revoke_url.empty()) {
    const bool refresh = !tokens->refresh_token.empty();
    try {
      OAuthClient client(*rt.manifest.oauth);
      client.revoke(refresh ? tokens->refresh_token : tokens->access_token,
                    refresh ? "refresh_token" : "access_token");
      std::cout << "The grant was revoked at " << rt.manifest.oauth->revoke_url << ".\n";
    } catch (const OAuthError& e) {
      // Decided: the local tokens go anyway (the user asked to log out), after saying that the
      // grant may still be live at Oura; the command ends as the revocation failed.
      std::cerr << "oura-collector: the revocation failed: " << e.what()
                << "\noura-collector: the grant may still be valid at Oura: revoke it in the "
                   "Oura web app (My account, connected applications). Removing the stored "
                   "tokens anyway.\n";
      code = e.Error::kind();
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

ErrorKind runAuthCommand(Runtime& rt, const std::vector<std::string>& args, bool no_listen,
                         const std::atomic<bool>& stop) {
  if (args.empty()) {
    throw Error(ErrorKind::Usage, "usage: oura-collector auth login|status|refresh|logout");
  }
  if (args.size() > 1) {
    throw Error(ErrorKind::Usage, "auth " + args[0] + " takes no arguments, got '" + args[1] + "'");
  }
  const std::string& sub = args[0];
  if (no_listen && sub != "login") throw Error(ErrorKind::Usage, "--no-listen is for auth login");
  if (sub == "login") return login(rt, no_listen, stop);
  if (sub == "status") return status(rt);
  if (sub == "refresh") return refresh(rt);
  if (sub == "logout") return logout(rt);
  throw Error(ErrorKind::Usage, "unknown auth subcommand '" + sub +
                                  "' (login, status, refresh, logout)");
}

}  // namespace oura::core

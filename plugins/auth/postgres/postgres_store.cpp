// Token store `postgres` (see README.md): one row per account in oura_auth.tokens, written with
// a compare-and-set on the generation; the refresh lock is a session advisory lock.
#include "postgres_store.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <unistd.h>

#include <oura_sdk/errors.hpp>
#include <sstream>
#include <thread>
#include <vector>

namespace oura::plugins::postgres {

using sdk::ConfigError;
using sdk::ConfigKey;
using sdk::ConfigType;
using sdk::ConfigValue;
using sdk::TokenSet;

namespace {

constexpr const char* kTable = "oura_auth.tokens";
constexpr std::chrono::milliseconds kPollInterval{50};

constexpr const char* kColumns =
    "generation, access_token, refresh_token, extract(epoch FROM expires_at)::bigint, "
    "array_to_json(scopes)::text, extract(epoch FROM refreshed_at)::bigint, "
    "extract(epoch FROM refresh_started_at)::bigint, "
    "extract(epoch FROM refresh_rejected_at)::bigint";

// $1 account, $2 generation, $3 access, $4 refresh, $5 expires_at, $6 scopes (JSON array),
// $7 refreshed_at, $8 refresh_started_at, $9 refresh_rejected_at (seconds since the epoch, or
// NULL).
constexpr const char* kInsert =
    "INSERT INTO oura_auth.tokens (account, generation, access_token, refresh_token, "
    "expires_at, scopes, refreshed_at, refresh_started_at, refresh_rejected_at, updated_at) "
    "VALUES ($1::text, "
    "$2::bigint, $3::text, $4::text, to_timestamp($5::bigint), "
    "ARRAY(SELECT jsonb_array_elements_text($6::jsonb)), to_timestamp($7::bigint), "
    "to_timestamp($8::bigint), to_timestamp($9::bigint), now()) "
    "ON CONFLICT (account) DO NOTHING";
// The same, and $10 the generation it replaces.
constexpr const char* kUpdate =
    "UPDATE oura_auth.tokens SET generation = $2::bigint, access_token = $3::text, "
    "refresh_token = $4::text, expires_at = to_timestamp($5::bigint), "
    "scopes = ARRAY(SELECT jsonb_array_elements_text($6::jsonb)), "
    "refreshed_at = to_timestamp($7::bigint), refresh_started_at = to_timestamp($8::bigint), "
    "refresh_rejected_at = to_timestamp($9::bigint), "
    "updated_at = now() WHERE account = $1::text AND generation = $10::bigint";

std::optional<std::string> seconds(const std::optional<std::int64_t>& v) {
  if (!v) return std::nullopt;
  return std::to_string(*v);
}

std::optional<std::int64_t> toSeconds(const std::optional<std::string>& v) {
  if (!v) return std::nullopt;
  return std::stoll(*v);
}

std::string scopesJson(const std::vector<std::string>& scopes) {
  Poco::JSON::Array a;
  for (const auto& s : scopes) a.add(s);
  std::ostringstream out;
  a.stringify(out);
  return out.str();
}

/// Replaces both tokens in a database message (a constraint's DETAIL quotes the failing row).
std::string scrub(std::string text, const TokenSet& t) {
  for (const std::string* secret : {&t.access_token, &t.refresh_token}) {
    if (secret->empty()) continue;
    for (auto at = text.find(*secret); at != std::string::npos; at = text.find(*secret, at)) {
      text.replace(at, secret->size(), "***");
    }
  }
  return text;
}

/// The token lock: a session advisory lock, held as long as its own connection.
class PgTokenLock : public sdk::TokenLock {
 public:
  PgTokenLock(std::unique_ptr<Connection> c, AdvisoryKeyPair key, sdk::Logger logger)
      : connection_(std::move(c)), key_(key), logger_(std::move(logger)) {}
  ~PgTokenLock() override {
    try {
      connection_->exec("SELECT pg_advisory_unlock($1::int, $2::int)",
                        {std::to_string(key_.space), std::to_string(key_.id)});
    } catch (const std::exception&) {
      // The session ends below, which releases the lock all the same.
    }
    connection_.reset();
    logger_.debug("released the token refresh lock");
  }

 private:
  std::unique_ptr<Connection> connection_;
  AdvisoryKeyPair key_;
  sdk::Logger logger_;
};

}  // namespace

sdk::ConfigSchema PostgresTokenStore::configSchema() {
  sdk::ConfigSchema keys = connectionConfigKeys();  // host ... application_name, OURA_DB_*
  keys.push_back(ConfigKey{"account", ConfigType::String, false,
                           ConfigValue{std::string("default")},
                           "the row of oura_auth.tokens that holds this account's tokens "
                           "(one row per Oura account)"});
  return keys;
}

PostgresTokenStore::PostgresTokenStore(const sdk::PluginContext& context)
    : settings_(connectionSettingsFrom(context.config)),
      account_(context.config.getString("account")),
      logger_(context.logger) {
  if (account_.empty()) throw ConfigError("account: must not be empty");
}

PostgresTokenStore::~PostgresTokenStore() = default;

std::string PostgresTokenStore::describe() const {
  return std::string("PostgreSQL table ") + kTable + " (account " + account_ + ") in database " +
         settings_.dbname + " at " + endpointName(settings_);
}

Connection& PostgresTokenStore::connection() {
  if (connection_ && connection_->ok()) return *connection_;
  connection_.reset();
  connection_ = std::make_unique<Connection>(settings_, logger_);  // UnavailableError
  return *connection_;
}

void PostgresTokenStore::rethrow(const std::string& what, const PgError& e) const {
  const std::string where = "database " + settings_.dbname + " at " + endpointName(settings_);
  if (e.connectionLost()) {
    throw sdk::UnavailableError(what + ": PostgreSQL at " + endpointName(settings_) + ": " +
                                e.what());
  }
  if (e.sqlstate() == "42P01" || e.sqlstate() == "3F000") {
    throw ConfigError(std::string("the token table ") + kTable + " does not exist in " + where +
                      ": run `oura-collector init-db` (migration 002_token_store.sql)");
  }
  if (e.sqlstate() == "42501") {
    throw ConfigError(what + ": role " + settings_.user + " may not use " + kTable + " in " +
                      where + " (" + e.what() + "): GRANT USAGE ON SCHEMA oura_auth TO " +
                      settings_.user + "; GRANT SELECT, INSERT, UPDATE, DELETE ON " + kTable +
                      " TO " + settings_.user + " (docs/operations.md)");
  }
  throw sdk::Error(what + " (" + std::string(kTable) + ", account " + account_ + ", " + where +
                   "): " + e.what());
}

std::optional<TokenSet> PostgresTokenStore::readRow() {
  Result r = connection().exec(
      std::string("SELECT ") + kColumns + " FROM oura_auth.tokens WHERE account = $1::text",
      {account_});
  if (r.rows() == 0) return std::nullopt;
  TokenSet t;
  t.generation = std::stoll(r.value(0, 0));
  t.access_token = r.value(0, 1);
  t.refresh_token = r.value(0, 2);
  t.expires_at = toSeconds(r.nullable(0, 3));
  Poco::JSON::Parser parser;
  auto scopes = parser.parse(r.value(0, 4)).extract<Poco::JSON::Array::Ptr>();
  for (std::size_t i = 0; scopes && i < scopes->size(); ++i) {
    t.scopes.push_back(scopes->getElement<std::string>(static_cast<unsigned>(i)));
  }
  t.refreshed_at = toSeconds(r.nullable(0, 5));
  t.refresh_started_at = toSeconds(r.nullable(0, 6));
  t.refresh_rejected_at = toSeconds(r.nullable(0, 7));
  return t;
}

std::optional<TokenSet> PostgresTokenStore::load() {
  std::lock_guard<std::mutex> g(mutex_);
  for (int attempt = 1;; ++attempt) {
    try {
      return readRow();
    } catch (const PgError& e) {
      if (e.connectionLost() && attempt < 2) {
        connection_.reset();  // a connection dropped while idle: once more on a new one
        continue;
      }
      rethrow("reading the tokens", e);
    }
  }
}

void PostgresTokenStore::checkWritable() {
  std::lock_guard<std::mutex> g(mutex_);
  try {
    Connection& c = connection();  // UnavailableError (69) when the database cannot be reached
    Result r = c.exec(
        "SELECT pg_is_in_recovery(), to_regclass('oura_auth.tokens') IS NOT NULL, current_user");
    if (r.value(0, 0) == "t") {
      throw sdk::UnavailableError("database " + settings_.dbname + " at " +
                                  endpointName(settings_) +
                                  " is a read-only standby: the token store needs the primary");
    }
    if (r.value(0, 1) != "t") {
      throw ConfigError(std::string("the token table ") + kTable + " does not exist in database " +
                        settings_.dbname + " at " + endpointName(settings_) +
                        ": run `oura-collector init-db` (migration 002_token_store.sql)");
    }
    const std::string role = r.value(0, 2);
    Result p = c.exec(
        "SELECT has_schema_privilege('oura_auth', 'USAGE'), "
        "has_table_privilege('oura_auth.tokens', 'SELECT'), "
        "has_table_privilege('oura_auth.tokens', 'INSERT'), "
        "has_table_privilege('oura_auth.tokens', 'UPDATE'), "
        "has_table_privilege('oura_auth.tokens', 'DELETE')");
    const char* names[] = {"USAGE on schema oura_auth", "SELECT", "INSERT", "UPDATE", "DELETE"};
    std::string missing;
    for (int i = 0; i < 5; ++i) {
      if (p.value(0, i) != "t") missing += std::string(missing.empty() ? "" : ", ") + names[i];
    }
    if (!missing.empty()) {
      throw ConfigError("role " + role + " lacks " + missing + " on " + kTable + " in database " +
                        settings_.dbname + " at " + endpointName(settings_) +
                        ": GRANT USAGE ON SCHEMA oura_auth TO " + role +
                        "; GRANT SELECT, INSERT, UPDATE, DELETE ON " + kTable + " TO " + role +
                        " (docs/operations.md)");
    }
  } catch (const PgError& e) {
    rethrow("checking the token table", e);
  }
}

std::unique_ptr<sdk::TokenLock> PostgresTokenStore::lock(std::chrono::milliseconds timeout) {
  // A connection of its own: the lock lives exactly as long as the TokenLock. Its
  // application_name carries this process's pid, so a waiting process can name the holder.
  ConnectionSettings s = settings_;
  const std::string suffix = " pid " + std::to_string(::getpid()) + " token lock";
  s.application_name =
      s.application_name.substr(0, 63 - std::min<std::size_t>(63, suffix.size())) + suffix;
  auto c = std::make_unique<Connection>(s, logger_);  // UnavailableError
  const AdvisoryKeyPair key = tokenRefreshLockKey(account_);
  const std::vector<std::optional<std::string>> params{std::to_string(key.space),
                                                       std::to_string(key.id)};
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  try {
    for (;;) {
      if (c->exec("SELECT pg_try_advisory_lock($1::int, $2::int)", params).value(0, 0) == "t") {
        logger_.debug("took the token refresh lock of account " + account_ + " (session pid " +
                      std::to_string(c->backendPid()) + ")");
        return std::make_unique<PgTokenLock>(std::move(c), key, logger_);
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        const auto holder = advisoryLockHolder(*c, key);
        const auto waited = std::chrono::duration_cast<std::chrono::seconds>(timeout).count();
        throw sdk::TokenLockTimeout(
            "the token refresh lock of account " + account_ + " in database " + settings_.dbname +
            " at " + endpointName(settings_) + " is held by " +
            (holder ? holder->describe() : std::string("another session (just released)")) +
            "; waited " + std::to_string(waited) + " s; try again when it has finished");
      }
      std::this_thread::sleep_for(kPollInterval);
    }
  } catch (const PgError& e) {
    rethrow("taking the token refresh lock", e);
  }
}

bool PostgresTokenStore::writeOnce(const TokenSet& t, std::int64_t expected) {
  std::vector<std::optional<std::string>> params{account_,
                                                 std::to_string(t.generation),
                                                 t.access_token,
                                                 t.refresh_token,
                                                 seconds(t.expires_at),
                                                 scopesJson(t.scopes),
                                                 seconds(t.refreshed_at),
                                                 seconds(t.refresh_started_at),
                                                 seconds(t.refresh_rejected_at)};
  if (expected == 0) return connection().exec(kInsert, params).affected() == 1;
  params.push_back(std::to_string(expected));
  return connection().exec(kUpdate, params).affected() == 1;
}

bool PostgresTokenStore::save(const TokenSet& tokens, std::int64_t expected_generation) {
  if (tokens.generation != expected_generation + 1 || expected_generation < 0) {
    throw sdk::Error("token store " + describe() + ": a save must carry generation " +
                     std::to_string(expected_generation + 1) + ", got " +
                     std::to_string(tokens.generation) + " (a bug in the caller)");
  }
  std::lock_guard<std::mutex> g(mutex_);
  try {
    // One statement in autocommit: committed (and durable) when it returns.
    const bool saved = writeOnce(tokens, expected_generation);
    logger_.debug(saved ? "saved generation " + std::to_string(tokens.generation)
                        : "not saved: the stored generation is no longer " +
                              std::to_string(expected_generation));
    return saved;
  } catch (const PgError& e) {
    if (!e.connectionLost())
      rethrow("saving the tokens", PgError(scrub(e.what(), tokens), e.sqlstate(), false));
    // The connection broke: the statement may or may not have been committed. Read back.
    logger_.warning("the connection to PostgreSQL broke during a save; reading back");
    connection_.reset();
    try {
      const auto stored = readRow();
      const std::int64_t generation = stored ? stored->generation : 0;
      if (stored && generation == tokens.generation &&
          stored->access_token == tokens.access_token &&
          stored->refresh_token == tokens.refresh_token) {
        return true;  // it was committed
      }
      if (generation != expected_generation) return false;  // another writer
      return writeOnce(tokens, expected_generation);        // not applied: once more
    } catch (const PgError& again) {
      rethrow(
          "saving the tokens (after the connection broke; the stored tokens are the old "
          "or exactly the new ones)",
          PgError(scrub(again.what(), tokens), again.sqlstate(), again.connectionLost()));
    }
  }
}

void PostgresTokenStore::clear() {
  std::lock_guard<std::mutex> g(mutex_);
  try {
    connection().exec("DELETE FROM oura_auth.tokens WHERE account = $1::text", {account_});
    logger_.info("removed the tokens of account " + account_ + " from " + kTable);
  } catch (const PgError& e) {
    rethrow("removing the tokens", e);
  }
}

}  // namespace oura::plugins::postgres

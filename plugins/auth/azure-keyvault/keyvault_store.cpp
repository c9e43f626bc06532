// Token-store plugin `azure-keyvault` (see keyvault_store.hpp and README.md).
#include "keyvault_store.hpp"

#include <Poco/Environment.h>
#include <Poco/Exception.h>
#include <Poco/File.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/String.h>
#include <Poco/URI.h>
#include <Poco/UUIDGenerator.h>

#include <cctype>
#include <oura_sdk/errors.hpp>
#include <sstream>
#include <thread>

#include "pg_settings.hpp"

namespace oura::plugins::azure_keyvault {

using namespace oura::sdk;

namespace {

const char* kApiVersion = "7.4";
const char* kDefaultAuthority = "https://login.microsoftonline.com";
const char* kRoleHint =
    "grant the identity 'Key Vault Secrets Officer' (get/set) on the vault (or, for a vault "
    "with access policies, the secret permissions get, set and delete)";

std::string optString(const PluginConfig& config, const std::string& key) {
  return config.has(key) ? config.getString(key) : std::string();
}

// A configured value, else the environment variable (as the Azure SDKs default them).
std::string valueOrEnv(const PluginConfig& config, const std::string& key, const char* env) {
  std::string value = optString(config, key);
  if (value.empty()) value = Poco::Environment::get(env, "");
  return value;
}

bool validSecretName(const std::string& name) {
  if (name.empty() || name.size() > 127) return false;
  for (unsigned char c : name) {
    if (!std::isalnum(c) && c != '-') return false;
  }
  return true;
}

bool validTenant(const std::string& tenant) {
  if (tenant.empty() || tenant.size() > 256) return false;
  for (unsigned char c : tenant) {
    if (!std::isalnum(c) && c != '-' && c != '.' && c != '_') return false;
  }
  return true;
}

Poco::JSON::Object::Ptr parseObject(const std::string& body) {
  try {
    Poco::JSON::Parser parser;
    return parser.parse(body).extract<Poco::JSON::Object::Ptr>();
  } catch (const Poco::Exception&) {
    return nullptr;
  } catch (const std::exception&) {
    return nullptr;
  }
}

// Key Vault's {"error": {"code": ..., "message": ...}}.
std::pair<std::string, std::string> vaultError(const std::string& body) {
  auto json = parseObject(body);
  if (!json) return {};
  auto error = json->getObject("error");
  if (!error) return {};
  return {error->optValue<std::string>("code", ""), error->optValue<std::string>("message", "")};
}

std::int64_t requireRange(const PluginConfig& config, const std::string& key, std::int64_t low,
                          std::int64_t high) {
  const std::int64_t value = config.getInt(key);
  if (value < low || value > high) {
    throw ConfigError(key + ": " + std::to_string(value) + " is outside " + std::to_string(low) +
                      ".." + std::to_string(high));
  }
  return value;
}

}  // namespace

ConfigSchema KeyVaultTokenStore::configSchema() {
  ConfigSchema keys = {
      ConfigKey{"vault_url", ConfigType::String, true, std::nullopt,
                "the vault, e.g. https://my-vault.vault.azure.net (https://; http:// only for "
                "a loopback test server)"},
      ConfigKey{"secret_name", ConfigType::String, false, ConfigValue{std::string("oura-tokens")},
                "the secret that holds the tokens (letters, digits, '-'; one secret per "
                "account)"},
      ConfigKey{"credential", ConfigType::String, true, std::nullopt,
                "how the collector gets an access token for the vault: client_secret, "
                "managed_identity or workload_identity"},
      ConfigKey{"tenant_id", ConfigType::String, false, std::nullopt,
                "Entra ID tenant (client_secret, workload_identity; workload_identity default: "
                "$AZURE_TENANT_ID)"},
      ConfigKey{"client_id", ConfigType::String, false, std::nullopt,
                "application (client) id (client_secret; workload_identity default: "
                "$AZURE_CLIENT_ID; managed_identity: a user-assigned identity, absent: the "
                "system-assigned one)"},
      ConfigKey{"client_secret", ConfigType::Secret, false, std::nullopt,
                "the application's client secret, { env = \"NAME\" } or { file = \"PATH\" } "
                "(client_secret)"},
      ConfigKey{"federated_token_file", ConfigType::String, false, std::nullopt,
                "the federated (service account) token file, re-read on every token request "
                "(workload_identity; default: $AZURE_FEDERATED_TOKEN_FILE)"},
      ConfigKey{"authority_host", ConfigType::String, false, std::nullopt,
                "Entra ID authority (default: $AZURE_AUTHORITY_HOST, else "
                "https://login.microsoftonline.com)"},
      ConfigKey{"imds_endpoint", ConfigType::String, false,
                ConfigValue{std::string("http://169.254.169.254")},
                "the instance metadata service (managed_identity; plain http:// like Azure's)"},
      ConfigKey{"vault_resource", ConfigType::String, false,
                ConfigValue{std::string("https://vault.azure.net")},
                "the access token's resource (scope <resource>/.default); another value only "
                "for a sovereign cloud, e.g. https://vault.azure.cn"},
      ConfigKey{"ca_file", ConfigType::String, false, std::nullopt,
                "PEM CA bundle trusted instead of the system CAs (tests, TLS-inspecting "
                "proxies); verification always stays on"},
      ConfigKey{"timeout_seconds", ConfigType::Integer, false, ConfigValue{std::int64_t{30}},
                "connect and read timeout of one request, seconds"},
      ConfigKey{"max_attempts", ConfigType::Integer, false, ConfigValue{std::int64_t{5}},
                "attempts per request on 429, 5xx and connection failures, the first included"},
      ConfigKey{"max_retry_wait_seconds", ConfigType::Integer, false,
                ConfigValue{std::int64_t{30}},
                "cap of one wait between attempts (also of a Retry-After), seconds"},
      ConfigKey{"purge_on_clear", ConfigType::Boolean, false, ConfigValue{false},
                "auth logout also purges the soft-deleted secret (needs purge permission and a "
                "vault without purge protection), so that its name can be written again"},
      ConfigKey{"lock", ConfigType::String, false, ConfigValue{std::string("postgres")},
                "the refresh lock provider: postgres (a session advisory lock, any number of "
                "hosts) or file (an flock, only safe when every collector runs on one host)"},
      ConfigKey{"lock_file", ConfigType::String, false, std::nullopt,
                "the file to flock (lock = \"file\"), e.g. /var/lib/oura-collector/kv.lock"},
  };
  for (ConfigKey key : postgres::connectionConfigKeys()) {
    key.description = "lock = \"postgres\": " + key.description;
    keys.push_back(std::move(key));
  }
  return keys;
}

KeyVaultTokenStore::KeyVaultTokenStore(const PluginContext& context)
    : log_(context.logger),
      sleep_([](std::chrono::milliseconds wait) { std::this_thread::sleep_for(wait); }) {
  const PluginConfig& config = context.config;
  secret_name_ = config.getString("secret_name");
  if (!validSecretName(secret_name_)) {
    throw ConfigError("secret_name: '" + secret_name_ +
                      "' is not a Key Vault secret name (1-127 letters, digits and '-')");
  }
  vault_ = parseEndpoint("vault_url", config.getString("vault_url"), false);

  CredentialSettings cs;
  const std::string kind = config.getString("credential");
  if (kind == "client_secret") {
    cs.kind = CredentialKind::ClientSecret;
  } else if (kind == "managed_identity") {
    cs.kind = CredentialKind::ManagedIdentity;
  } else if (kind == "workload_identity") {
    cs.kind = CredentialKind::WorkloadIdentity;
  } else {
    throw ConfigError("credential: '" + kind +
                      "' is not one of client_secret, managed_identity, workload_identity");
  }
  cs.resource = config.getString("vault_resource");
  while (!cs.resource.empty() && cs.resource.back() == '/') cs.resource.pop_back();
  if (cs.resource.rfind("https://", 0) != 0) {
    throw ConfigError("vault_resource: '" + cs.resource + "' must be an https:// URI");
  }
  if (cs.kind == CredentialKind::ManagedIdentity) {
    cs.client_id = optString(config, "client_id");
    cs.imds = parseEndpoint("imds_endpoint", config.getString("imds_endpoint"), true);
    for (const char* unused : {"tenant_id", "client_secret", "federated_token_file"}) {
      if (config.has(unused)) {
        throw ConfigError(std::string(unused) + ": not used with credential = \"managed_identity\"");
      }
    }
  } else {
    std::string authority = valueOrEnv(config, "authority_host", "AZURE_AUTHORITY_HOST");
    if (authority.empty()) authority = kDefaultAuthority;
    while (authority.size() > 8 && authority.back() == '/') authority.pop_back();
    cs.authority = parseEndpoint("authority_host", authority, false);
    if (cs.kind == CredentialKind::ClientSecret) {
      cs.tenant_id = optString(config, "tenant_id");
      cs.client_id = optString(config, "client_id");
      cs.client_secret = optString(config, "client_secret");
      if (cs.tenant_id.empty()) throw ConfigError("tenant_id: required with credential = \"client_secret\"");
      if (cs.client_id.empty()) throw ConfigError("client_id: required with credential = \"client_secret\"");
      if (cs.client_secret.empty()) {
        throw ConfigError("client_secret: required with credential = \"client_secret\" "
                          "({ env = \"NAME\" } or { file = \"PATH\" })");
      }
      if (config.has("federated_token_file")) {
        throw ConfigError("federated_token_file: only used with credential = \"workload_identity\"");
      }
    } else {
      cs.tenant_id = valueOrEnv(config, "tenant_id", "AZURE_TENANT_ID");
      cs.client_id = valueOrEnv(config, "client_id", "AZURE_CLIENT_ID");
      cs.federated_token_file =
          valueOrEnv(config, "federated_token_file", "AZURE_FEDERATED_TOKEN_FILE");
      if (cs.tenant_id.empty()) {
        throw ConfigError("tenant_id: required with credential = \"workload_identity\" (or set "
                          "AZURE_TENANT_ID, as the workload identity webhook does)");
      }
      if (cs.client_id.empty()) {
        throw ConfigError("client_id: required with credential = \"workload_identity\" (or set "
                          "AZURE_CLIENT_ID)");
      }
      if (cs.federated_token_file.empty()) {
        throw ConfigError("federated_token_file: required with credential = "
                          "\"workload_identity\" (or set AZURE_FEDERATED_TOKEN_FILE)");
      }
      if (config.has("client_secret")) {
        throw ConfigError("client_secret: only used with credential = \"client_secret\"");
      }
    }
    if (!validTenant(cs.tenant_id)) {
      throw ConfigError("tenant_id: '" + cs.tenant_id + "' is not a tenant id or domain");
    }
  }

  const std::string ca_file = optString(config, "ca_file");
  if (!ca_file.empty()) {
    Poco::File file(ca_file);
    if (!file.exists() || !file.isFile()) {
      throw ConfigError("ca_file: " + ca_file + " does not exist or is not a file");
    }
  }
  http_ = std::make_unique<HttpClient>(
      ca_file, std::chrono::seconds(requireRange(config, "timeout_seconds", 1, 600)));
  backoff_ = std::make_unique<Backoff>(
      static_cast<int>(requireRange(config, "max_attempts", 1, 20)), std::chrono::milliseconds(500),
      std::chrono::seconds(requireRange(config, "max_retry_wait_seconds", 1, 3600)));
  credential_ = std::make_unique<VaultCredential>(cs, *http_, *backoff_, sleep_);
  purge_on_clear_ = config.getBool("purge_on_clear");

  const std::string lock = config.getString("lock");
  const std::string lock_file = optString(config, "lock_file");
  if (lock == "postgres") {
    if (!lock_file.empty()) throw ConfigError("lock_file: only used with lock = \"file\"");
    lock_ = makePostgresLock(postgres::connectionSettingsFrom(config),
                             "oura-collector azure-keyvault " + vault_.url + "/secrets/" +
                                 secret_name_,
                             log_);
  } else if (lock == "file") {
    if (lock_file.empty()) throw ConfigError("lock_file: required with lock = \"file\"");
    lock_ = makeFileLock(lock_file);
  } else {
    throw ConfigError("lock: '" + lock + "' is not one of postgres, file");
  }
}

KeyVaultTokenStore::~KeyVaultTokenStore() = default;

void KeyVaultTokenStore::setSleepForTesting(std::function<void(std::chrono::milliseconds)> sleep) {
  sleep_ = std::move(sleep);
}

std::string KeyVaultTokenStore::where() const {
  return "Key Vault secret '" + secret_name_ + "' in " + vault_.url;
}

std::string KeyVaultTokenStore::describe() const {
  return where() + " (" + credential_->describe() + "; refresh lock: " + lock_->describe() + ")";
}

std::string KeyVaultTokenStore::secretPath() const { return "/secrets/" + secret_name_; }

std::string KeyVaultTokenStore::redact(std::string text) const {
  for (const std::string& secret : secrets_in_flight_) {
    if (secret.empty()) continue;
    for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
      text.replace(at, secret.size(), "***");
    }
  }
  return text;
}

void KeyVaultTokenStore::fail(const std::string& action, const Response& r) const {
  if (r.status == 0) {
    const std::string text = "cannot reach " + where() + " to " + action + ": " + r.error;
    if (r.certificate) throw ConfigError(text + " (check vault_url and ca_file)");
    throw UnavailableError(text);
  }
  const auto [code, message] = vaultError(r.body);
  const std::string detail = code.empty() ? excerpt(r.body) : code + ": " + excerpt(message);
  const std::string text =
      where() + " answered " + std::to_string(r.status) + " to " + action + " (" + detail + ")";
  if (r.status == 429 || r.status >= 500) {
    throw UnavailableError(redact(text) + " after " + std::to_string(backoff_->maxAttempts()) +
                           " attempts; try again later");
  }
  throw Error(redact(text));
}

Response KeyVaultTokenStore::vault(const std::string& method, const std::string& path,
                                   const std::string& body, bool idempotent) {
  Poco::URI uri(path);
  uri.addQueryParameter("api-version", kApiVersion);
  const std::string target = uri.getPathAndQuery();
  bool reacquired = false;
  for (int attempt = 1;;) {
    const std::string token = credential_->token();
    Response r = http_->exchange(vault_, method, target, {{"Authorization", "Bearer " + token}},
                                 body, "application/json");
    if (r.status == 401) {
      if (!reacquired) {
        // An expired or revoked token (or the vault's challenge): one new token, then again.
        reacquired = true;
        credential_->invalidate();
        log_.debug("the vault answered 401 to " + method + " " + path +
                   ": acquiring a new access token once");
        continue;
      }
      throw ConfigError(where() + " refused a new access token of the " +
                        credential_->describe() + " (401" +
                        (r.www_authenticate.empty() ? "" : ", challenge: " + r.www_authenticate) +
                        "): check vault_resource and that the identity belongs to the vault's "
                        "tenant");
    }
    if (r.status == 403) {
      const auto [code, message] = vaultError(r.body);
      throw ConfigError(where() + ": access denied (403" + (code.empty() ? "" : " " + code) +
                        ") to the " + credential_->describe() + " for " + method + ": " +
                        kRoleHint);
    }
    const bool retry = Backoff::retryable(r) && (idempotent || r.status != 0 || !r.maybe_sent);
    if (!retry || attempt >= backoff_->maxAttempts()) return r;
    const auto wait = backoff_->wait(attempt, r);
    log_.warning(where() + ": " + method + " " +
                 (r.status == 0 ? "failed (" + r.error + ")"
                                : "answered " + std::to_string(r.status)) +
                 "; attempt " + std::to_string(attempt + 1) + " of " +
                 std::to_string(backoff_->maxAttempts()) + " in " + std::to_string(wait.count()) +
                 " ms");
    sleep_(wait);
    ++attempt;
  }
}

std::optional<StoredTokens> KeyVaultTokenStore::readCurrent(std::string* raw_value) {
  const Response r = vault(Poco::Net::HTTPRequest::HTTP_GET, secretPath());
  if (r.status == 404) {
    if (vaultError(r.body).first == "SecretNotFound") return std::nullopt;
    fail("read the secret (is vault_url right?)", r);
  }
  if (r.status != 200) fail("read the secret", r);
  auto bundle = parseObject(r.body);
  if (!bundle || !bundle->has("value") || !bundle->get("value").isString()) {
    throw Error(where() + " answered 200 without a secret value (" +
                std::to_string(r.body.size()) + " bytes)");
  }
  const std::string value = bundle->getValue<std::string>("value");
  if (raw_value) *raw_value = value;
  try {
    return tokens::decodeTokens(value, tokens::TokenForm::Secret);
  } catch (const tokens::TokenJsonError& e) {  // its message never quotes the value
    throw Error(where() + " does not hold oura-collector tokens (" + e.what() +
                "); set secret_name to a secret of its own");
  }
}

std::optional<TokenSet> KeyVaultTokenStore::load() {
  auto stored = readCurrent();
  if (!stored) return std::nullopt;
  return stored->tokens;
}

void KeyVaultTokenStore::checkWritable() {
  readCurrent();  // 403 -> the role hint; another application's secret -> refused
  Response deleted;
  try {
    deleted = vault(Poco::Net::HTTPRequest::HTTP_GET, "/deletedsecrets/" + secret_name_);
  } catch (const ConfigError&) {
    return;  // no permission to list deleted secrets: a soft-deleted name shows at the save
  }
  if (deleted.status == 200) {
    const std::string vault_name = vault_.host.substr(0, vault_.host.find('.'));
    throw ConfigError(where() +
                      " is deleted but recoverable (Key Vault soft delete), so the collector "
                      "cannot write it: recover it (az keyvault secret recover --vault-name " +
                      vault_name + " --name " + secret_name_ + ") to keep its tokens, purge it " +
                      "(az keyvault secret purge --vault-name " + vault_name + " --name " +
                      secret_name_ + "), or set secret_name to another name");
  }
}

bool KeyVaultTokenStore::save(const TokenSet& tokens, std::int64_t expected_generation) {
  if (tokens.generation != expected_generation + 1) {
    throw Error("save to " + where() + ": the new generation (" +
                std::to_string(tokens.generation) + ") must be the expected one (" +
                std::to_string(expected_generation) + ") plus 1");
  }
  secrets_in_flight_ = {tokens.access_token, tokens.refresh_token};
  struct Forget {
    std::vector<std::string>& secrets;
    ~Forget() { secrets.clear(); }
  } forget{secrets_in_flight_};

  // Compare: Key Vault has no conditional PUT, so this narrows the window; the refresh lock
  // closes it.
  const auto current = readCurrent();
  const std::int64_t stored = current ? current->tokens.generation : 0;
  if (stored != expected_generation) {
    log_.info(where() + " holds generation " + std::to_string(stored) + ", not " +
              std::to_string(expected_generation) + ": another writer got there first");
    return false;
  }

  const std::string write_id = Poco::UUIDGenerator::defaultGenerator().createRandom().toString();
  const std::string value = tokens::encodeTokens(tokens, tokens::TokenForm::Secret, write_id);
  Poco::JSON::Object request;
  request.set("value", value);
  request.set("contentType", "application/json");
  std::ostringstream body;
  Poco::JSON::Stringifier::condense(request, body);

  for (int attempt = 1;; ++attempt) {
    const Response r = vault(Poco::Net::HTTPRequest::HTTP_PUT, secretPath(), body.str(), false);
    if (r.status == 200) break;
    if (r.status == 0 && r.maybe_sent) {
      // The connection broke after the PUT went out: it may have been applied. Ask.
      log_.warning(where() + ": the connection broke after the write was sent (" + r.error +
                   "); reading the secret to learn whether it was applied");
      const auto now = readCurrent();
      if (now && now->write_id == write_id) break;  // applied
      const std::int64_t seen = now ? now->tokens.generation : 0;
      if (seen != expected_generation) return false;  // someone else wrote meanwhile
      if (attempt >= backoff_->maxAttempts()) fail("write the secret", r);
      sleep_(backoff_->wait(attempt, r));
      continue;  // not applied: write again
    }
    if (r.status == 409) {
      const auto [code, message] = vaultError(r.body);
      if (message.find("deleted") != std::string::npos) {
        const std::string vault_name = vault_.host.substr(0, vault_.host.find('.'));
        throw ConfigError(
            where() + " is deleted but recoverable (Key Vault soft delete; 409 " + code +
            "), so its name cannot be written: recover it (az keyvault secret recover "
            "--vault-name " + vault_name + " --name " + secret_name_ +
            ") to keep its tokens, purge it (az keyvault secret purge --vault-name " + vault_name +
            " --name " + secret_name_ + "), or set secret_name to another name");
      }
      log_.info(where() + ": 409 " + code + " to the write (a concurrent writer)");
      return false;
    }
    fail("write the secret", r);
  }

  // Read after write: the latest version must be exactly ours.
  std::string back;
  std::optional<StoredTokens> latest;
  try {
    latest = readCurrent(&back);
  } catch (const ConfigError&) {
    throw;
  } catch (const UnavailableError&) {
    throw;
  } catch (const Error&) {
    latest.reset();  // not tokens at all: someone else's value
  }
  if (!latest || back != value || latest->tokens.generation != tokens.generation) {
    log_.warning(where() + ": the latest version is not the one just written (another writer "
                           "stored a version after it)");
    return false;
  }
  return true;
}

void KeyVaultTokenStore::clear() {
  const Response r = vault(Poco::Net::HTTPRequest::HTTP_DELETE, secretPath());
  if (r.status == 404 && vaultError(r.body).first == "SecretNotFound") {
    // nothing stored (or already deleted)
  } else if (r.status != 200) {
    fail("delete the secret", r);
  }
  if (!purge_on_clear_) return;
  for (int attempt = 1;; ++attempt) {
    Response p;
    try {
      p = vault(Poco::Net::HTTPRequest::HTTP_DELETE, "/deletedsecrets/" + secret_name_);
    } catch (const ConfigError& e) {
      throw ConfigError(std::string(e.what()) +
                        "; purge_on_clear also needs the purge permission (Key Vault Secrets "
                        "Officer has it) and a vault without purge protection");
    }
    if (p.status == 200 || p.status == 204 || p.status == 404) return;
    // 409: the deletion is still in progress (it is asynchronous in Azure).
    if (p.status != 409 || attempt >= backoff_->maxAttempts()) fail("purge the deleted secret", p);
    sleep_(backoff_->wait(attempt, p));
  }
}

std::unique_ptr<TokenLock> KeyVaultTokenStore::lock(std::chrono::milliseconds timeout) {
  return lock_->acquire(timeout);
}

}  // namespace oura::plugins::azure_keyvault

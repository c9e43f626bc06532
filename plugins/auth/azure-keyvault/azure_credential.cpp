// Access tokens for Key Vault (see azure_credential.hpp).
#include "azure_credential.hpp"

#include <Poco/Dynamic/Var.h>
#include <Poco/Exception.h>
#include <Poco/FileStream.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTMLForm.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/NumberParser.h>
#include <Poco/StreamCopier.h>
#include <Poco/String.h>
#include <Poco/URI.h>

#include <oura_sdk/errors.hpp>
#include <sstream>

namespace oura::plugins::azure_keyvault {

namespace {

constexpr auto kMargin = std::chrono::minutes(5);
const char* kAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

std::string formBody(Poco::Net::HTMLForm& form) {
  std::ostringstream out;
  form.write(out);
  return out.str();
}

// The federated token (a JWT) from the file, read now: the kubelet rotates it.
std::string readAssertion(const std::string& path) {
  std::string text;
  try {
    Poco::FileInputStream in(path);
    Poco::StreamCopier::copyToString(in, text);
  } catch (const Poco::Exception& e) {
    throw sdk::ConfigError("federated_token_file: cannot read " + path + ": " + e.displayText());
  }
  text = Poco::trim(text);
  if (text.empty()) throw sdk::ConfigError("federated_token_file: " + path + " is empty");
  return text;
}

// A token response's lifetime: expires_in is a number from Entra ID and a string from IMDS.
std::int64_t lifetimeSeconds(const Poco::JSON::Object::Ptr& json) {
  const Poco::Dynamic::Var v = json->get("expires_in");
  if (v.isEmpty()) return 0;
  if (v.isString()) {
    Poco::Int64 n = 0;
    return Poco::NumberParser::tryParse64(v.toString(), n) ? n : 0;
  }
  try {
    return v.convert<Poco::Int64>();
  } catch (const Poco::Exception&) {
    return 0;
  }
}

}  // namespace

const char* toString(CredentialKind kind) noexcept {
  switch (kind) {
    case CredentialKind::ClientSecret: return "client_secret";
    case CredentialKind::ManagedIdentity: return "managed_identity";
    case CredentialKind::WorkloadIdentity: return "workload_identity";
  }
  return "?";
}

VaultCredential::VaultCredential(CredentialSettings settings, HttpClient& http, Backoff& backoff,
                                 std::function<void(std::chrono::milliseconds)>& sleep)
    : settings_(std::move(settings)), http_(http), backoff_(backoff), sleep_(sleep) {}

std::string VaultCredential::describe() const {
  switch (settings_.kind) {
    case CredentialKind::ClientSecret:
      return "client secret of client_id " + settings_.client_id + " in tenant " +
             settings_.tenant_id;
    case CredentialKind::WorkloadIdentity:
      return "workload identity of client_id " + settings_.client_id + " in tenant " +
             settings_.tenant_id + " (federated token file " + settings_.federated_token_file +
             ")";
    case CredentialKind::ManagedIdentity:
      return settings_.client_id.empty()
                 ? "system-assigned managed identity"
                 : "user-assigned managed identity " + settings_.client_id;
  }
  return "?";
}

std::string VaultCredential::where() const {
  if (settings_.kind == CredentialKind::ManagedIdentity) {
    return "the managed identity endpoint " + settings_.imds.url + " (imds_endpoint)";
  }
  return "the Entra ID token endpoint " + settings_.authority.url + "/" + settings_.tenant_id +
         "/oauth2/v2.0/token (authority_host, tenant_id)";
}

void VaultCredential::invalidate() {
  std::lock_guard lock(mutex_);
  cached_.clear();
}

Response VaultCredential::requestOnce() {
  ++requests_;
  if (settings_.kind == CredentialKind::ManagedIdentity) {
    Poco::URI uri("/metadata/identity/oauth2/token");
    uri.addQueryParameter("api-version", "2018-02-01");
    uri.addQueryParameter("resource", settings_.resource);
    if (!settings_.client_id.empty()) uri.addQueryParameter("client_id", settings_.client_id);
    return http_.exchange(settings_.imds, Poco::Net::HTTPRequest::HTTP_GET, uri.getPathAndQuery(),
                          {{"Metadata", "true"}});
  }
  Poco::Net::HTMLForm form;
  form.setEncoding(Poco::Net::HTMLForm::ENCODING_URL);
  form.set("grant_type", "client_credentials");
  form.set("client_id", settings_.client_id);
  form.set("scope", settings_.resource + "/.default");
  if (settings_.kind == CredentialKind::ClientSecret) {
    form.set("client_secret", settings_.client_secret);
  } else {
    form.set("client_assertion_type", kAssertionType);
    form.set("client_assertion", readAssertion(settings_.federated_token_file));
  }
  Poco::URI path("/");
  path.setPath("/" + settings_.tenant_id + "/oauth2/v2.0/token");
  return http_.exchange(settings_.authority, Poco::Net::HTTPRequest::HTTP_POST,
                        path.getPathAndQuery(), {}, formBody(form),
                        "application/x-www-form-urlencoded");
}

std::string VaultCredential::token() {
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  if (!cached_.empty() && now + kMargin < cached_until_) return cached_;
  cached_.clear();
  Response r;
  for (int attempt = 1;; ++attempt) {
    r = requestOnce();
    if (!Backoff::retryable(r) || attempt >= backoff_.maxAttempts()) break;
    sleep_(backoff_.wait(attempt, r));
  }
  if (r.status == 0) {
    const std::string text = "cannot reach " + where() + " for a Key Vault access token (" +
                             describe() + "): " + r.error;
    if (r.certificate) throw sdk::ConfigError(text + " (check ca_file)");
    throw sdk::UnavailableError(text);
  }
  Poco::JSON::Object::Ptr json;
  try {
    Poco::JSON::Parser parser;
    json = parser.parse(r.body).extract<Poco::JSON::Object::Ptr>();
  } catch (const Poco::Exception&) {
    json = nullptr;
  } catch (const std::exception&) {
    json = nullptr;
  }
  if (r.status != 200 || !json || !json->has("access_token")) {
    std::string detail = excerpt(r.body);
    if (json && json->has("error")) {
      detail = json->optValue<std::string>("error", "") + ": " +
               excerpt(json->optValue<std::string>("error_description", ""));
    }
    const std::string text = where() + " answered " + std::to_string(r.status) + " for " +
                             describe() + " (" + detail + ")";
    if (r.status >= 500 || r.status == 429) throw sdk::UnavailableError(text);
    if (r.status == 400 || r.status == 401 || r.status == 403 || r.status == 404) {
      const std::string hint =
          settings_.kind == CredentialKind::ClientSecret
              ? "check tenant_id, client_id and client_secret (and authority_host)"
          : settings_.kind == CredentialKind::WorkloadIdentity
              ? "check tenant_id, client_id (AZURE_TENANT_ID, AZURE_CLIENT_ID), the federated "
                "credential of the app registration and federated_token_file"
              : "check that the machine has this managed identity (client_id for a "
                "user-assigned one) and imds_endpoint";
      throw sdk::ConfigError(text + ": " + hint);
    }
    throw sdk::Error(text);
  }
  const std::string token = json->getValue<std::string>("access_token");
  if (token.empty()) throw sdk::Error(where() + " returned an empty access token");
  cached_ = token;
  cached_until_ = now + std::chrono::seconds(lifetimeSeconds(json));
  return cached_;
}

}  // namespace oura::plugins::azure_keyvault

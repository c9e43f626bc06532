// The secret's value (see token_json.hpp).
#include "token_json.hpp"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include <sstream>

namespace oura::plugins::azure_keyvault {

namespace {
const char* kFormat = "oura-collector-tokens/1";
}

std::string toSecretValue(const sdk::TokenSet& tokens, const std::string& write_id) {
  Poco::JSON::Object json(Poco::JSON_PRESERVE_KEY_ORDER);
  json.set("format", kFormat);
  json.set("generation", static_cast<Poco::Int64>(tokens.generation));
  json.set("write_id", write_id);
  json.set("access_token", tokens.access_token);
  json.set("refresh_token", tokens.refresh_token);
  if (tokens.expires_at) json.set("expires_at", static_cast<Poco::Int64>(*tokens.expires_at));
  Poco::JSON::Array scopes;
  for (const auto& s : tokens.scopes) scopes.add(s);
  json.set("scopes", scopes);
  if (tokens.refreshed_at) {
    json.set("refreshed_at", static_cast<Poco::Int64>(*tokens.refreshed_at));
  }
  if (tokens.refresh_started_at) {
    json.set("refresh_started_at", static_cast<Poco::Int64>(*tokens.refresh_started_at));
  }
  std::ostringstream out;
  Poco::JSON::Stringifier::condense(json, out);
  return out.str();
}

StoredTokens fromSecretValue(const std::string& value, const std::string& where) {
  const std::string bad = where + " does not hold oura-collector tokens";
  Poco::JSON::Object::Ptr json;
  try {
    Poco::JSON::Parser parser;
    json = parser.parse(value).extract<Poco::JSON::Object::Ptr>();
  } catch (const Poco::Exception&) {
    throw sdk::Error(bad + " (not a JSON object); set secret_name to a secret of its own");
  } catch (const std::exception&) {
    throw sdk::Error(bad + " (not a JSON object); set secret_name to a secret of its own");
  }
  if (!json || json->optValue<std::string>("format", "") != kFormat) {
    throw sdk::Error(bad + " (no \"format\": \"" + kFormat +
                     "\"); set secret_name to a secret of its own");
  }
  StoredTokens out;
  try {
    out.write_id = json->optValue<std::string>("write_id", "");
    out.tokens.generation = json->getValue<Poco::Int64>("generation");
    out.tokens.access_token = json->optValue<std::string>("access_token", "");
    out.tokens.refresh_token = json->optValue<std::string>("refresh_token", "");
    auto optionalInt = [&](const char* key) -> std::optional<std::int64_t> {
      if (!json->has(key) || json->isNull(key)) return std::nullopt;
      return json->getValue<Poco::Int64>(key);
    };
    out.tokens.expires_at = optionalInt("expires_at");
    out.tokens.refreshed_at = optionalInt("refreshed_at");
    out.tokens.refresh_started_at = optionalInt("refresh_started_at");
    if (auto scopes = json->getArray("scopes")) {
      for (std::size_t i = 0; i < scopes->size(); ++i) {
        out.tokens.scopes.push_back(scopes->getElement<std::string>(static_cast<unsigned>(i)));
      }
    }
  } catch (const Poco::Exception&) {
    throw sdk::Error(bad + " (a field has the wrong type)");
  }
  if (out.tokens.access_token.empty()) throw sdk::Error(bad + " (no access_token)");
  return out;
}

}  // namespace oura::plugins::azure_keyvault

// The JSON form of a TokenSet (see token_json.hpp).
#include "token_json.hpp"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include <optional>
#include <sstream>

namespace oura::plugins::tokens {

namespace {

using Kind = TokenJsonError::Kind;

constexpr std::int64_t kMaxGeneration = std::int64_t{1} << 53;

std::string quoted(const std::string& key) { return "\"" + key + "\""; }

/// A whole number member (not a boolean, not a fraction) that fits 64 bits, or nothing when it
/// is absent or null.
std::optional<std::int64_t> optionalInt(const Poco::JSON::Object& o, const std::string& key,
                                        const char* unit) {
  if (!o.has(key) || o.isNull(key)) return std::nullopt;
  const Poco::Dynamic::Var v = o.get(key);
  const std::string wrong =
      quoted(key) + " is not a whole number" + (unit ? std::string(" (") + unit + ")" : "");
  if (!v.isInteger() || v.isBoolean()) throw TokenJsonError(Kind::BadMember, wrong);
  try {
    return v.convert<Poco::Int64>();
  } catch (const Poco::Exception&) {  // an unsigned value beyond the signed range
    throw TokenJsonError(Kind::BadMember, wrong + " in range");
  }
}

/// A time member: whole seconds since 1970 from 1970 through the year 9999 (arithmetic on it
/// cannot overflow), or nothing when absent or null.
std::optional<std::int64_t> instant(const Poco::JSON::Object& o, const std::string& key) {
  constexpr std::int64_t kYear9999 = 253402300799;
  const auto value = optionalInt(o, key, "seconds since 1970");
  if (value && (*value < 0 || *value > kYear9999)) {
    throw TokenJsonError(Kind::BadMember,
                         quoted(key) + " is not a time between 1970 and 9999 (seconds since 1970)");
  }
  return value;
}

std::string optionalString(const Poco::JSON::Object& o, const std::string& key) {
  if (!o.has(key) || o.isNull(key)) return {};
  const Poco::Dynamic::Var v = o.get(key);
  if (!v.isString()) throw TokenJsonError(Kind::BadMember, quoted(key) + " is not a string");
  return v.extract<std::string>();
}

std::vector<std::string> optionalStrings(const Poco::JSON::Object& o, const std::string& key) {
  std::vector<std::string> out;
  if (!o.has(key) || o.isNull(key)) return out;
  const Poco::JSON::Array::Ptr array = o.getArray(key);
  const std::string wrong = quoted(key) + " is not an array of strings";
  if (!array) throw TokenJsonError(Kind::BadMember, wrong);
  for (std::size_t i = 0; i < array->size(); ++i) {
    const Poco::Dynamic::Var v = array->get(static_cast<unsigned>(i));
    if (!v.isString()) throw TokenJsonError(Kind::BadMember, wrong);
    out.push_back(v.extract<std::string>());
  }
  return out;
}

void checkFormat(const Poco::JSON::Object& o, TokenForm form) {
  if (form == TokenForm::File) {
    const auto format = optionalInt(o, "format", nullptr);
    if (format && *format > kFileFormat) {
      throw TokenJsonError(Kind::NewerFormat,
                           "format " + std::to_string(*format) +
                               ", written by a newer oura-collector (this one reads format " +
                               std::to_string(kFileFormat) + ")");
    }
    return;
  }
  const std::string wrong = std::string("no \"format\": \"") + kSecretFormat + "\"";
  if (!o.has("format")) throw TokenJsonError(Kind::WrongFormat, wrong);
  const Poco::Dynamic::Var v = o.get("format");
  if (!v.isString() || v.extract<std::string>() != kSecretFormat) {
    throw TokenJsonError(Kind::WrongFormat, wrong);
  }
}

void setOptional(Poco::JSON::Object& o, const std::string& key,
                 const std::optional<std::int64_t>& value) {
  if (value) o.set(key, static_cast<Poco::Int64>(*value));
}

}  // namespace

TokenJsonError::TokenJsonError(Kind kind, const std::string& message)
    : std::runtime_error(message), kind_(kind) {}

std::string encodeTokens(const sdk::TokenSet& tokens, TokenForm form, const std::string& write_id) {
  Poco::JSON::Object o(Poco::JSON_PRESERVE_KEY_ORDER);
  if (form == TokenForm::File) {
    o.set("format", kFileFormat);
  } else {
    o.set("format", kSecretFormat);
  }
  o.set("generation", static_cast<Poco::Int64>(tokens.generation));
  if (form == TokenForm::Secret) o.set("write_id", write_id);
  o.set("access_token", tokens.access_token);
  o.set("refresh_token", tokens.refresh_token);
  setOptional(o, "expires_at", tokens.expires_at);
  Poco::JSON::Array scopes;
  for (const auto& s : tokens.scopes) scopes.add(s);
  o.set("scopes", scopes);
  setOptional(o, "refreshed_at", tokens.refreshed_at);
  setOptional(o, "refresh_started_at", tokens.refresh_started_at);
  setOptional(o, "refresh_rejected_at", tokens.refresh_rejected_at);
  if (!tokens.token_url.empty()) o.set("token_url", tokens.token_url);
  std::ostringstream out;
  if (form == TokenForm::File) {
    o.stringify(out, 2);
    out << "\n";
  } else {
    Poco::JSON::Stringifier::condense(o, out);
  }
  return out.str();
}

StoredTokens decodeTokens(std::string_view text, TokenForm form) {
  if (text.size() > kMaxTokenText) {
    throw TokenJsonError(Kind::TooLarge,
                         std::to_string(text.size()) + " bytes, too large for a token set");
  }
  // The parser's messages quote the input: none of them reaches ours.
  Poco::JSON::Object::Ptr o;
  try {
    Poco::JSON::Parser parser;
    const Poco::Dynamic::Var parsed = parser.parse(std::string(text));
    if (parsed.type() == typeid(Poco::JSON::Object::Ptr)) {
      o = parsed.extract<Poco::JSON::Object::Ptr>();
    }
  } catch (const Poco::Exception&) {
  } catch (const std::exception&) {
  }
  if (!o) {
    throw TokenJsonError(Kind::NotAnObject,
                         "not a JSON object (damaged, or not written by oura-collector)");
  }
  checkFormat(*o, form);
  StoredTokens out;
  sdk::TokenSet& t = out.tokens;
  const auto generation = optionalInt(*o, "generation", nullptr);
  if (!generation || *generation < 1) {
    throw TokenJsonError(Kind::BadMember, "\"generation\" is missing or below 1");
  }
  // Each save adds one: a generation near the 64-bit limit is damage, and would overflow.
  if (*generation > kMaxGeneration) {
    throw TokenJsonError(Kind::BadMember, "\"generation\" is above " +
                                              std::to_string(kMaxGeneration));
  }
  t.generation = *generation;
  if (form == TokenForm::Secret) out.write_id = optionalString(*o, "write_id");
  t.access_token = optionalString(*o, "access_token");
  t.refresh_token = optionalString(*o, "refresh_token");
  if (t.access_token.empty() && t.refresh_token.empty()) {
    throw TokenJsonError(Kind::NoToken, "neither an access token nor a refresh token");
  }
  t.expires_at = instant(*o, "expires_at");
  t.scopes = optionalStrings(*o, "scopes");
  t.refreshed_at = instant(*o, "refreshed_at");
  t.refresh_started_at = instant(*o, "refresh_started_at");
  t.refresh_rejected_at = instant(*o, "refresh_rejected_at");
  t.token_url = optionalString(*o, "token_url");
  return out;
}

bool sameTokenSet(const sdk::TokenSet& a, const sdk::TokenSet& b) {
  return a.access_token == b.access_token && a.refresh_token == b.refresh_token &&
         a.expires_at == b.expires_at && a.scopes == b.scopes && a.generation == b.generation &&
         a.refreshed_at == b.refreshed_at && a.refresh_started_at == b.refresh_started_at &&
         a.refresh_rejected_at == b.refresh_rejected_at && a.token_url == b.token_url;
}

}  // namespace oura::plugins::tokens

#pragma once
// The JSON form of a TokenSet, shared by the token stores that keep their tokens as JSON text:
// the `file` store's token file and the `azure-keyvault` store's secret value. One encoder, one
// strict decoder (Poco::JSON both ways); each store keeps its own framing (TokenForm).
//
// Members (absent optionals are omitted when encoding and read as absent when decoding; unknown
// members are ignored, so an older program reads what a newer one wrote as long as "format" is
// the same):
//   "format"              File: 1 (absent is read as 1); Secret: "oura-collector-tokens/1"
//   "generation"          whole number 1 .. 2^53 (required)
//   "write_id"            Secret only: the id of the save that wrote the value
//   "access_token"        string ("" or absent: none)
//   "refresh_token"       string ("" or absent: none); at least one of the two tokens is set
//   "expires_at"          seconds since the Unix epoch, 0 .. 253402300799 (9999-12-31), like
//                         the other times
//   "scopes"              array of strings
//   "refreshed_at"        seconds since the Unix epoch
//   "refresh_started_at"  seconds since the Unix epoch
//   "refresh_rejected_at" seconds since the Unix epoch
// Never logs; error messages never quote the input (a token may be in it).

#include <cstddef>
#include <oura_sdk/token_store.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

namespace oura::plugins::tokens {

/// How a store frames the TokenSet members.
enum class TokenForm {
  /// The `file` store's token file: `"format": 1` first, indented by two spaces, a newline at
  /// the end. A file without "format" is read as format 1; a higher format is refused
  /// (TokenJsonError::Kind::NewerFormat).
  File,
  /// The `azure-keyvault` store's secret value: one line, `"format": "oura-collector-tokens/1"`
  /// (required when decoding) and `"write_id"` after "generation".
  Secret,
};

/// The "format" value of TokenForm::Secret.
inline constexpr const char* kSecretFormat = "oura-collector-tokens/1";
/// The "format" value of TokenForm::File.
inline constexpr int kFileFormat = 1;
/// The longest text decodeTokens() reads (a token set is a few kilobytes at most).
inline constexpr std::size_t kMaxTokenText = 1 << 20;

/// What a stored text holds.
struct StoredTokens {
  sdk::TokenSet tokens;  ///< tokens.generation is the stored generation
  std::string write_id;  ///< TokenForm::Secret: the id of the save that wrote it; else empty
};

/// A text that is not a stored TokenSet. `what()` says what is wrong (which member, and how) in
/// words that read after "<where>: ", e.g. `"expires_at" is not a whole number (seconds since
/// 1970)`, and never quotes the input.
class TokenJsonError : public std::runtime_error {
 public:
  enum class Kind {
    TooLarge,     ///< more than kMaxTokenText bytes
    NotAnObject,  ///< not JSON, or JSON but not an object
    WrongFormat,  ///< "format" missing (Secret) or not this program's kind of value
    NewerFormat,  ///< "format" names a newer version (File)
    BadMember,    ///< a member of the wrong type or out of range ("generation" below 1)
    NoToken,      ///< neither an access token nor a refresh token
  };
  TokenJsonError(Kind kind, const std::string& message);
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

/// Encodes `tokens` in `form` (`write_id`: TokenForm::Secret only; ignored for File). The same
/// tokens always give the same text.
std::string encodeTokens(const sdk::TokenSet& tokens, TokenForm form,
                         const std::string& write_id = "");

/// Decodes a text encoded in `form`. For every text it accepts,
/// decodeTokens(encodeTokens(t, form, w), form) gives back t and w.
/// @throws TokenJsonError (and nothing else) when the text is not a TokenSet in `form`.
StoredTokens decodeTokens(std::string_view text, TokenForm form);

/// Field-by-field equality of two token sets (every member, generation included).
bool sameTokenSet(const sdk::TokenSet& a, const sdk::TokenSet& b);

}  // namespace oura::plugins::tokens

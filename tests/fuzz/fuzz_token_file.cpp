// libFuzzer target: the JSON form of a TokenSet (plugins/common/tokens, `oura_token_json`), the
// codec behind the `file` store's token file and the `azure-keyvault` store's secret value.
//
// Input: a token file or a secret value. Every input is decoded in both forms. Expected
// outcomes: a StoredTokens, or TokenJsonError (whose message must not quote the input: checked
// for the token members' values); anything else (another exception, a crash) is a finding. For
// every input that decodes, encoding it again and decoding that must give the same tokens and
// write id (the round trip), and the second encoding must equal the first (stable text).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <token_json.hpp>

namespace {

namespace tokens = oura::plugins::tokens;

[[noreturn]] void finding(const char* what) {
  std::fprintf(stderr, "fuzz_token_file: %s\n", what);
  std::abort();
}

void check(std::string_view input, tokens::TokenForm form) {
  tokens::StoredTokens decoded;
  try {
    decoded = tokens::decodeTokens(input, form);
  } catch (const tokens::TokenJsonError& e) {
    const std::string message = e.what();
    if (message.find("fake-") != std::string::npos) finding("an error message quotes the input");
    return;
  }
  const std::string text = tokens::encodeTokens(decoded.tokens, form, decoded.write_id);
  tokens::StoredTokens again;
  try {
    again = tokens::decodeTokens(text, form);
  } catch (const tokens::TokenJsonError& e) {
    std::fprintf(stderr, "fuzz_token_file: %s\n", e.what());
    finding("the encoding of a decoded token set does not decode");
  }
  if (!tokens::sameTokenSet(decoded.tokens, again.tokens)) finding("round trip changed a field");
  if (decoded.write_id != again.write_id) finding("round trip changed the write id");
  if (tokens::encodeTokens(again.tokens, form, again.write_id) != text) {
    finding("the encoding is not stable");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check(input, tokens::TokenForm::File);
  check(input, tokens::TokenForm::Secret);
  return 0;
}

// The JSON form of a TokenSet shared by the `file` and `azure-keyvault` stores
// (plugins/common/tokens): both forms round-trip every field, the layout each store has always
// written, what older and newer programs wrote, and every malformed member refused with a
// message that names the member and never quotes the input.
#include "token_json.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "token_store_support.hpp"

namespace {

using oura::plugins::tokens::decodeTokens;
using oura::plugins::tokens::encodeTokens;
using oura::plugins::tokens::sameTokenSet;
using oura::plugins::tokens::TokenForm;
using oura::plugins::tokens::TokenJsonError;
using oura::sdk::TokenSet;
using Kind = TokenJsonError::Kind;

/// Every field set (token_store_support's set, the one the stores' conformance suite uses).
TokenSet everyField() { return oura::test::fullTokenSet(7, "all"); }

void expectSame(const TokenSet& want, const TokenSet& have) {
  oura::test::expectSameTokens(want, have);
  EXPECT_TRUE(sameTokenSet(want, have));
}

/// The error `text` gives in `form`; fails the test when it decodes.
TokenJsonError errorOf(const std::string& text, TokenForm form) {
  try {
    decodeTokens(text, form);
  } catch (const TokenJsonError& e) {
    return e;
  }
  ADD_FAILURE() << "decoded: " << text;
  return TokenJsonError(Kind::NotAnObject, "");
}

const std::vector<TokenForm> kForms = {TokenForm::File, TokenForm::Secret};

std::string secret(const std::string& members) {
  return R"({"format": "oura-collector-tokens/1", )" + members + "}";
}

std::string file(const std::string& members) { return R"({"format": 1, )" + members + "}"; }

}  // namespace

TEST(TokenJson, BothFormsRoundTripEveryFieldAndTheWriteId) {
  for (TokenForm form : kForms) {
    SCOPED_TRACE(form == TokenForm::File ? "file" : "secret");
    const auto decoded = decodeTokens(encodeTokens(everyField(), form, "write-1"), form);
    expectSame(everyField(), decoded.tokens);
    EXPECT_EQ(decoded.write_id, form == TokenForm::Secret ? "write-1" : "");

    TokenSet bare;  // every optional absent
    bare.refresh_token = "fake-rt-only";
    bare.generation = 1;
    const std::string text = encodeTokens(bare, form);
    for (const char* absent :
         {"expires_at", "refreshed_at", "refresh_started_at", "refresh_rejected_at"}) {
      EXPECT_EQ(text.find(absent), std::string::npos) << absent << " in " << text;
    }
    expectSame(bare, decodeTokens(text, form).tokens);
    // Odd but valid strings: quotes, backslashes, control characters, non-ASCII.
    TokenSet odd = everyField();
    odd.access_token = std::string("a\"b\\c\n\t\x01", 8) + "\xc3\xa9\xe2\x82\xac";
    odd.scopes = {"", " ", "\xf0\x9f\x92\x8d"};
    expectSame(odd, decodeTokens(encodeTokens(odd, form), form).tokens);
    EXPECT_EQ(encodeTokens(odd, form, "w"), encodeTokens(odd, form, "w")) << "deterministic";
  }
}

TEST(TokenJson, TheFileFormIsTheFileStoresIndentedLayout) {
  TokenSet t = everyField();
  t.refresh_started_at.reset();
  t.refresh_rejected_at.reset();
  // Poco's indented output, as the file store has always written it.
  EXPECT_EQ(encodeTokens(t, TokenForm::File),
            "{\n"
            "  \"format\": 1,\n"
            "  \"generation\": 7,\n"
            "  \"access_token\": \"fake-at-all-A.b~c+d/e==\",\n"
            "  \"refresh_token\": \"fake-rt-all-F_g-h/i\",\n"
            "  \"expires_at\": 1900000007,\n"
            "  \"scopes\": [\n"
            "    \"email\",\n"
            "    \"personal\",\n"
            "    \"daily\",\n"
            "    \"heartrate\",\n"
            "    \"extapi:workout\"\n"
            "  ],\n"
            "  \"refreshed_at\": 1800000007\n"
            "}\n");
}

TEST(TokenJson, TheSecretFormIsOneLineWithItsFormatAndWriteId) {
  TokenSet t;
  t.access_token = "fake-at-x";
  t.generation = 2;
  t.refresh_rejected_at = 1800000000;
  EXPECT_EQ(encodeTokens(t, TokenForm::Secret, "id-1"),
            R"({"format":"oura-collector-tokens/1","generation":2,"write_id":"id-1",)"
            R"("access_token":"fake-at-x","refresh_token":"","scopes":[],)"
            R"("refresh_rejected_at":1800000000})");
}

TEST(TokenJson, WhatEarlierVersionsWroteIsReadAndUnknownMembersAreIgnored) {
  // A file without "format" (format 1), without the newer members; a secret as the first
  // keyvault store wrote it (write_id before the tokens).
  auto f = decodeTokens(R"({"generation": 3, "access_token": "fake-at-a", "scopes": ["daily"],
                            "added_later": {"x": [1, 2]}})",
                        TokenForm::File);
  EXPECT_EQ(f.tokens.generation, 3);
  EXPECT_EQ(f.tokens.access_token, "fake-at-a");
  EXPECT_EQ(f.tokens.scopes, std::vector<std::string>{"daily"});
  EXPECT_FALSE(f.tokens.refresh_rejected_at.has_value());
  auto s = decodeTokens(secret(R"("generation": 2, "write_id": "w", "access_token": "fake-at-b",
                                  "refresh_token": "fake-rt-b", "expires_at": null,
                                  "refreshed_at": 1800000000, "later": true)"),
                        TokenForm::Secret);
  EXPECT_EQ(s.write_id, "w");
  EXPECT_EQ(s.tokens.refresh_token, "fake-rt-b");
  EXPECT_FALSE(s.tokens.expires_at.has_value());
  EXPECT_EQ(s.tokens.refreshed_at, 1800000000);
}

TEST(TokenJson, EachFormChecksItsOwnFormat) {
  EXPECT_EQ(
      errorOf(R"({"format": 2, "generation": 1, "access_token": "fake-at-x"})", TokenForm::File)
          .kind(),
      Kind::NewerFormat);
  const auto newer =
      errorOf(R"({"format": 9, "generation": 1, "access_token": "fake-at-x"})", TokenForm::File);
  EXPECT_NE(std::string(newer.what()).find("newer"), std::string::npos) << newer.what();
  EXPECT_EQ(
      errorOf(R"({"format": "1", "generation": 1, "access_token": "fake-at-x"})", TokenForm::File)
          .kind(),
      Kind::BadMember);
  for (const char* text :
       {R"({"generation": 1, "access_token": "fake-at-x"})",
        R"({"format": 1, "generation": 1, "access_token": "fake-at-x"})",
        R"({"format": "oura-collector-tokens/2", "generation": 1, "access_token": "fake-at-x"})"}) {
    EXPECT_EQ(errorOf(text, TokenForm::Secret).kind(), Kind::WrongFormat) << text;
  }
  // One form's text is not the other's.
  EXPECT_THROW(decodeTokens(encodeTokens(everyField(), TokenForm::Secret), TokenForm::File),
               TokenJsonError);
  EXPECT_THROW(decodeTokens(encodeTokens(everyField(), TokenForm::File), TokenForm::Secret),
               TokenJsonError);
}

TEST(TokenJson, MalformedTextIsRefusedNamingTheMemberWithoutQuotingTheInput) {
  struct Bad {
    std::string members;
    Kind kind;
    std::string named;  // in the message
  };
  const std::vector<Bad> bad = {
      {R"("generation": 1)", Kind::NoToken, "neither"},
      {R"("generation": 1, "access_token": "", "refresh_token": null)", Kind::NoToken, "neither"},
      {R"("access_token": "fake-at-x")", Kind::BadMember, "\"generation\""},
      {R"("generation": 0, "access_token": "fake-at-x")", Kind::BadMember, "\"generation\""},
      {R"("generation": "1", "access_token": "fake-at-x")", Kind::BadMember, "\"generation\""},
      {R"("generation": 1.5, "access_token": "fake-at-x")", Kind::BadMember, "\"generation\""},
      {R"("generation": true, "access_token": "fake-at-x")", Kind::BadMember, "\"generation\""},
      // Values whose arithmetic would overflow (a save adds one; expiry minus now).
      {R"("generation": 9223372036854775807, "access_token": "fake-at-x")", Kind::BadMember,
       "\"generation\""},
      {R"("generation": 1, "access_token": "fake-at-x", "expires_at": -9223372036854775808)",
       Kind::BadMember, "\"expires_at\""},
      {R"("generation": 1, "access_token": "fake-at-x", "refreshed_at": 253402300800)",
       Kind::BadMember, "\"refreshed_at\""},
      {R"("generation": 1, "access_token": 5)", Kind::BadMember, "\"access_token\""},
      {R"("generation": 1, "access_token": "fake-at-x", "refresh_token": ["fake-rt-x"])",
       Kind::BadMember, "\"refresh_token\""},
      {R"("generation": 1, "access_token": "fake-at-x", "expires_at": "1900000000")",
       Kind::BadMember, "\"expires_at\""},
      {R"("generation": 1, "access_token": "fake-at-x", "expires_at": 9223372036854775808)",
       Kind::BadMember, "\"expires_at\""},
      {R"("generation": 1, "access_token": "fake-at-x", "refresh_rejected_at": false)",
       Kind::BadMember, "\"refresh_rejected_at\""},
      {R"("generation": 1, "access_token": "fake-at-x", "refresh_started_at": {})", Kind::BadMember,
       "\"refresh_started_at\""},
      {R"("generation": 1, "access_token": "fake-at-x", "refreshed_at": -0.5)", Kind::BadMember,
       "\"refreshed_at\""},
      {R"("generation": 1, "access_token": "fake-at-x", "scopes": "daily")", Kind::BadMember,
       "\"scopes\""},
      {R"("generation": 1, "access_token": "fake-at-x", "scopes": ["daily", 1])", Kind::BadMember,
       "\"scopes\""},
  };
  for (TokenForm form : kForms) {
    for (const Bad& b : bad) {
      const std::string text = form == TokenForm::File ? file(b.members) : secret(b.members);
      SCOPED_TRACE(text);
      const TokenJsonError e = errorOf(text, form);
      EXPECT_EQ(e.kind(), b.kind) << e.what();
      EXPECT_NE(std::string(e.what()).find(b.named), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find("fake-"), std::string::npos) << e.what();
    }
    if (form == TokenForm::Secret) {
      EXPECT_EQ(
          errorOf(secret(R"("generation": 1, "access_token": "x", "write_id": 3)"), form).kind(),
          Kind::BadMember);
    }
    for (const std::string& text :
         {std::string("{\"access_token\": \"fake-at-cut"), std::string("fake-at-plain"),
          std::string("[\"fake-at-in-an-array\"]"), std::string("\"fake-at-a-string\""),
          std::string(""), std::string("null"), std::string("{\"a\":1}{\"fake-at\":2}")}) {
      SCOPED_TRACE(text);
      const TokenJsonError e = errorOf(text, form);
      EXPECT_EQ(std::string(e.what()).find("fake-"), std::string::npos) << e.what();
    }
    const TokenJsonError large =
        errorOf("{\"access_token\": \"fake-at-" + std::string(1 << 20, 'x') + "\"}", form);
    EXPECT_EQ(large.kind(), Kind::TooLarge);
  }
}

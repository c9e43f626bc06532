// The streaming page parser: the shape check that builds nothing, and the documents handed over
// one at a time, equal to what a whole-tree parse gives.
#include "http/page_parser.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace oura::core {
namespace {

std::vector<std::string> documents(const std::string& body) {
  std::vector<std::string> out;
  forEachPageDocument(body, [&](PageDocument& page_document) {
    const Poco::JSON::Object::Ptr& document = page_document.object;
    if (!document) {
      out.emplace_back("<not an object>");
      return;
    }
    std::ostringstream text;
    Poco::JSON::Stringifier::condense(document, text);
    out.push_back(text.str());
  });
  return out;
}

std::string pageError(const std::string& body, bool* not_json = nullptr) {
  try {
    checkPage(body);
  } catch (const PageError& e) {
    if (not_json) *not_json = e.notJson();
    return e.what();
  }
  return "";
}

TEST(PageParserTest, HandsOverEachDocumentInOrder) {
  const std::string body =
      R"({"data":[{"id":"a","day":"2024-01-01","contributors":{"x":1,"y":[1,2,{"z":null}]}},)"
      R"({"id":"b","data":[{"next_token":"inner"}],"next_token":"not-the-cursor"}],)"
      R"("next_token":"cursor-1"})";
  const PageShape shape = checkPage(body);
  EXPECT_EQ(shape.documents, 2u);
  ASSERT_TRUE(shape.next_token);
  EXPECT_EQ(*shape.next_token, "cursor-1");  // not the documents' own `next_token` keys
  const std::vector<std::string> docs = documents(body);
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0],
            R"({"contributors":{"x":1,"y":[1,2,{"z":null}]},"day":"2024-01-01","id":"a"})");
  EXPECT_EQ(docs[1], R"({"data":[{"next_token":"inner"}],"id":"b","next_token":"not-the-cursor"})");
}

TEST(PageParserTest, NextTokenBeforeDataAndOtherMembersAreIgnored) {
  const std::string body =
      R"({"next_token":"c","meta":{"data":[1,2]},"list":[{"a":1}],"data":[{"id":"x"}]})";
  const PageShape shape = checkPage(body);
  EXPECT_EQ(shape.documents, 1u);
  EXPECT_EQ(shape.next_token.value_or(""), "c");
  EXPECT_EQ(documents(body), std::vector<std::string>{R"({"id":"x"})"});
}

TEST(PageParserTest, NullAbsentOrEmptyNextTokenEndsTheWalk) {
  EXPECT_FALSE(checkPage(R"({"data":[],"next_token":null})").next_token);
  EXPECT_FALSE(checkPage(R"({"data":[]})").next_token);
  EXPECT_FALSE(checkPage(R"({"data":[],"next_token":""})").next_token);
  EXPECT_EQ(checkPage(R"({"data":[]})").documents, 0u);
}

TEST(PageParserTest, ElementsThatAreNotObjectsAreHandedOverAsNull) {
  const std::string body = R"({"data":[1,"two",null,[{"id":"in-array"}],{"id":"ok"},true]})";
  EXPECT_EQ(checkPage(body).documents, 6u);
  const std::vector<std::string> expected = {"<not an object>", "<not an object>",
                                             "<not an object>", "<not an object>",
                                             R"({"id":"ok"})", "<not an object>"};
  EXPECT_EQ(documents(body), expected);
}

TEST(PageParserTest, MalformedPagesAreRefusedWithTheReason) {
  bool not_json = false;
  EXPECT_NE(pageError("<html>502 Bad Gateway</html>", &not_json).find("not JSON"),
            std::string::npos);
  EXPECT_TRUE(not_json);
  EXPECT_NE(pageError(R"({"data":[{"id":"a"},{"id":)", &not_json).find("not JSON"),
            std::string::npos);  // cut short inside a document
  EXPECT_TRUE(not_json);
  EXPECT_NE(pageError(R"([{"id":"a"}])", &not_json).find("not an object"), std::string::npos);
  EXPECT_TRUE(not_json);
  EXPECT_NE(pageError(R"("just a string")", &not_json).find("not an object"), std::string::npos);
  EXPECT_TRUE(not_json);
  EXPECT_NE(pageError(R"({"detail":"not found"})", &not_json).find("no `data` array"),
            std::string::npos);
  EXPECT_FALSE(not_json);
  EXPECT_NE(pageError(R"({"data":{"id":"a"}})", &not_json).find("not an array"),
            std::string::npos);
  EXPECT_FALSE(not_json);
  EXPECT_NE(pageError(R"({"data":null})").find("not an array"), std::string::npos);
  EXPECT_NE(pageError(R"({"data":[],"data":[]})").find("two `data`"), std::string::npos);
  EXPECT_NE(pageError(R"({"data":[],"next_token":5})").find("not a string"), std::string::npos);
  EXPECT_NE(pageError(R"({"data":[],"next_token":{"a":1}})").find("not a string"),
            std::string::npos);
}

// Every recorded real list response: the streamed documents equal the whole-tree parse's.
TEST(PageParserTest, RecordedResponsesStreamLikeTheWholeTree) {
  const char* fixtures = std::getenv("OURA_FIXTURES");
  ASSERT_NE(fixtures, nullptr) << "run through ctest (OURA_FIXTURES)";
  int pages = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(fixtures) + "/recorded")) {
    if (entry.path().extension() != ".json") continue;
    // A recording: {"request": ..., "status": ..., "headers": ..., "body": <the response>}.
    std::ifstream in(entry.path());
    Poco::JSON::Parser recording_parser;
    Poco::JSON::Object::Ptr recording =
        recording_parser.parse(in).extract<Poco::JSON::Object::Ptr>();
    if (!recording->has("body") || recording->getValue<int>("status") != 200) continue;
    std::ostringstream body_text;
    Poco::JSON::Stringifier::stringify(recording->get("body"), body_text, 2);
    const std::string body = body_text.str();
    Poco::JSON::Parser parser;
    Poco::Dynamic::Var tree = parser.parse(body);
    if (tree.type() != typeid(Poco::JSON::Object::Ptr)) continue;
    Poco::JSON::Object::Ptr object = tree.extract<Poco::JSON::Object::Ptr>();
    if (!object->has("data") || object->get("data").type() != typeid(Poco::JSON::Array::Ptr)) {
      continue;  // a single-document response (personal_info, /{id} routes)
    }
    Poco::JSON::Array::Ptr data = object->getArray("data");
    std::vector<std::string> expected;
    for (std::size_t i = 0; i < data->size(); ++i) {
      std::ostringstream text;
      Poco::JSON::Stringifier::condense(data->get(static_cast<unsigned>(i)), text);
      expected.push_back(text.str());
    }
    const PageShape shape = checkPage(body);
    EXPECT_EQ(shape.documents, expected.size()) << entry.path();
    EXPECT_EQ(documents(body), expected) << entry.path();
    ++pages;
  }
  EXPECT_GT(pages, 10);
}

std::vector<PageDocument> pageDocuments(const std::string& body) {
  std::vector<PageDocument> out;
  forEachPageDocument(body, [&](PageDocument& document) { out.push_back(document); });
  return out;
}

// Each document's raw text is the bytes the server sent, spacing, key order and number
// spelling included (issue 11: no re-serialisation).
TEST(PageParserTest, RawIsTheBytesTheServerSent) {
  const std::string first = R"({ "id" : "a",  "score":1.50, "z":[1, 2] , "b":{"c":null}})";
  const std::string second = "{\"id\":\"b\",\"text\":\"caf\u00e9 \\\"q\\\" \\u00e9\"}";
  const std::string body = "{\"data\": [ " + first + " ,\n" + second + "\n], \"next_token\": null}";
  const std::vector<PageDocument> docs = pageDocuments(body);
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].raw, first);
  EXPECT_EQ(docs[1].raw, second);
  ASSERT_TRUE(docs[1].object);
  EXPECT_EQ(docs[1].object->getValue<std::string>("text"), "caf\u00e9 \"q\" \u00e9");
  EXPECT_EQ(docs[0].object->getValue<double>("score"), 1.5);
}

// A document Poco's parser cannot read (a lone surrogate, invalid UTF-8, broken syntax inside
// it) is one bad document with its reason and bytes, not a page that is "not JSON".
TEST(PageParserTest, ABadDocumentIsHandedOverWithItsReasonAndTheRestAreFine) {
  for (const std::string& bad : {std::string(R"({"id":"s","note":"\ud800"})"),
                                std::string("{\"id\":\"u\",\"note\":\"\xff\xfe\"}"),
                                std::string(R"({"id":"x","note":tru})"),
                                std::string(R"({"id":"y" "note":1})")}) {
    SCOPED_TRACE(bad);
    const std::string body = R"({"data":[{"id":"a"},)" + bad + R"(,{"id":"b"}],"next_token":"n"})";
    const PageShape shape = checkPage(body);  // no PageError
    EXPECT_EQ(shape.documents, 3u);
    const std::vector<PageDocument> docs = pageDocuments(body);
    ASSERT_EQ(docs.size(), 3u);
    EXPECT_TRUE(docs[0].object);
    EXPECT_FALSE(docs[1].object);
    EXPECT_NE(docs[1].problem.find("not valid JSON"), std::string::npos) << docs[1].problem;
    EXPECT_EQ(docs[1].raw, bad);  // the bytes as sent, for the dead-letter table
    EXPECT_TRUE(docs[2].object);
  }
}

// Numbers beyond int64/double in a field no column reads survive in raw as sent; the document
// is used.
TEST(PageParserTest, NumbersBeyondDoubleAndInt64SurviveInRaw) {
  const std::string doc =
      R"({"id":"a","huge":1e400,"long":123456789012345678901234567890,"neg":-98765432109876543210987,"ok":7})";
  const std::vector<PageDocument> docs = pageDocuments(R"({"data":[)" + doc + "]}");
  ASSERT_EQ(docs.size(), 1u);
  ASSERT_TRUE(docs[0].object) << docs[0].problem;
  EXPECT_TRUE(docs[0].problem.empty());
  EXPECT_EQ(docs[0].raw, doc);
  EXPECT_EQ(docs[0].object->getValue<std::string>("id"), "a");
  EXPECT_EQ(docs[0].object->getValue<int>("ok"), 7);
  EXPECT_EQ(docs[0].object->getValue<std::string>("huge"), "1e400");  // read as its text
}

// PostgreSQL's text and jsonb cannot hold NUL: each \u0000 is stored as U+FFFD and counted.
TEST(PageParserTest, NulEscapesBecomeTheReplacementCharacterAndAreCounted) {
  const std::string doc = R"({"id":"a\u0000b","note":"\\u0000 stays","x":"\u0000"})";
  const std::vector<PageDocument> docs = pageDocuments(R"({"data":[)" + doc + "]}");
  ASSERT_EQ(docs.size(), 1u);
  ASSERT_TRUE(docs[0].object) << docs[0].problem;
  EXPECT_EQ(docs[0].replaced, 2u);
  EXPECT_EQ(docs[0].raw, R"({"id":"a\ufffdb","note":"\\u0000 stays","x":"\ufffd"})");
  EXPECT_EQ(docs[0].object->getValue<std::string>("id"), "a\xef\xbf\xbd" "b");
  EXPECT_EQ(docs[0].object->getValue<std::string>("note"), "\\u0000 stays");
}

// Cut short anywhere is still "not JSON" (worth fetching again), never a bad document.
TEST(PageParserTest, ABodyCutShortAnywhereIsNotJson) {
  const std::string body = R"({"data":[{"id":"a","s":"x\"y","n":[1,{"k":2}]},{"id":"b"}],"next_token":"c"})";
  for (std::size_t cut = 1; cut < body.size(); ++cut) {
    bool not_json = false;
    const std::string error = pageError(body.substr(0, cut), &not_json);
    EXPECT_NE(error.find("not JSON"), std::string::npos) << cut << ": " << error;
    EXPECT_TRUE(not_json) << cut;
  }
  EXPECT_EQ(pageError(body), "");
}

}  // namespace
}  // namespace oura::core

#pragma once
// The checks every endpoint plugin's tests run (plugins/oura-endpoints/*/tests/): on its
// declarations, on every recorded response of its collections, on its hand-made documents
// (the value-parameterised suite `HandMadeDocument`, defined in hand_made_document_tests.cpp)
// and on its built shared library. A plugin test keeps only its own data (its documents, the
// counts it expects from the recordings) and the checks specific to its collections.

#include "mapping_support.hpp"

#include <oura_sdk/endpoint.hpp>
#include <oura_sdk/plugin.hpp>
#include <oura_sdk/rows.hpp>

#include <Poco/JSON/Object.h>
#include <boost/dll/shared_library.hpp>
#include <gtest/gtest.h>

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <vector>

namespace oura::test {

// ---------------------------------------------------------------------------------------------
// Declarations

/// The spec named `name` in `specs`. Throws std::runtime_error when there is none.
const sdk::CollectionSpec& specNamed(const std::vector<sdk::CollectionSpec>& specs,
                                     const std::string& name);

/// The index of the column read from `json_path` in `stream`. Throws std::out_of_range when no
/// column reads it.
std::size_t columnIndexOfPath(const sdk::StreamSchema& stream, const std::string& json_path);

/// Every stream and column is described and named as a lower-case SQL identifier, no column
/// name repeats within a stream, every key is a column, every `raw_only` property has a reason.
void expectStreamsDescribedAndNamedSafely(const std::vector<sdk::CollectionSpec>& specs);

/// Two calls of `make` share nothing: emptying what the first returned leaves the second as a
/// third call builds it.
void expectEachCallBuildsIndependentSpecs(std::vector<sdk::CollectionSpec> (*make)());

/// The last column of `stream` is `raw`: jsonb, json_path "$".
void expectRawColumnLast(const sdk::StreamSchema& stream);

// ---------------------------------------------------------------------------------------------
// Sample series

/// The indexes of the child sample streams of `spec`.
std::vector<std::size_t> sampleStreams(const sdk::CollectionSpec& spec);

/// Checks the child rows of one sample series against the PublicSample they came from: one row
/// per item, the parent's key columns, `timestamp + i * interval` in the series' own offset,
/// the item's value (null stays null). No rows when the series is null or absent.
void expectSamples(const sdk::CollectionSpec& spec, std::size_t stream_index,
                   const Object::Ptr& doc, const std::vector<Row>& rows);

// ---------------------------------------------------------------------------------------------
// Every recorded response

/// What mapping the recordings of a plugin's collections found, for the plugin's own counts.
struct RecordedTally {
  std::size_t files = 0;                         ///< recordings read (404s are left out)
  std::set<std::string> collections;             ///< collections with a recording (or [])
  std::map<std::string, std::size_t> documents;  ///< documents per collection
  std::map<std::string, std::size_t> warnings;   ///< mapper warnings per collection
  std::map<std::string, std::size_t> samples;    ///< sample rows per sample stream
  std::size_t totalWarnings() const;
};

/// A plugin's own check of one recorded document: (recording file name, spec, document, what
/// the generic mapper made of it).
using RecordedDocumentCheck =
    std::function<void(const std::string& file, const sdk::CollectionSpec& spec,
                       const Object::Ptr& doc, Collector& out)>;

/// Maps every document of every recording tests/fixtures/recorded/<collection>__<what>.json of
/// a collection in `specs` (a <what> with "not_found", a 404, is left out) and checks: status
/// 200, the request path is the collection's; a `list_empty...` recording has no document,
/// every other one has some; each document maps without throwing to one row with the
/// document's own values (`expectRowMatches`), warnings only for documented-required keys that
/// are really absent, sample rows as `expectSamples` says, no rows for undeclared streams.
/// `check`, when given, runs after these on every document. Ends early on a fatal failure:
/// call it in ASSERT_NO_FATAL_FAILURE.
void mapEveryRecording(const std::vector<sdk::CollectionSpec>& specs, RecordedTally& tally,
                       const RecordedDocumentCheck& check = {});

// ---------------------------------------------------------------------------------------------
// Hand-made documents: the suite `HandMadeDocument`

/// Hand-made documents of one collection, shaped after its OpenAPI schema.
struct HandMadeDocuments {
  std::string collection;
  std::string full;   ///< every property set (every sample series with items)
  std::string nulls;  ///< every nullable property null, the rest set
  /// Documented-required properties that are nullable all the same (null in `nulls`).
  std::vector<std::string> required_but_nullable = {};
  // The drift case: `full` with these changes still maps, leniently.
  std::string drop_required = {};  ///< a documented-required property, not the key; "" for none
  std::string drop_optional = {};  ///< an optional property to drop; "" for none
  std::vector<std::string> enum_paths = {};  ///< properties with an enum: set to an unknown value
  /// Dotted paths of unknown keys added inside objects of `full` (one at the top is always added).
  std::vector<std::string> unknown_keys = {};
};

/// One parameter of `HandMadeDocument`: the documents and the spec of their collection.
struct HandMadeCase {
  const sdk::CollectionSpec* spec = nullptr;
  HandMadeDocuments documents;
};

/// Pairs each of `documents` with its collection's spec in `specs` (which must outlive the
/// tests). Throws std::runtime_error for a collection that is not in `specs`. Defined with the
/// suite's tests (hand_made_document_tests.cpp): calling it links them into the program.
std::vector<HandMadeCase> handMadeCases(const std::vector<sdk::CollectionSpec>& specs,
                                        const std::vector<HandMadeDocuments>& documents);

/// The test name suffix of a case: its collection.
std::string handMadeCaseName(const ::testing::TestParamInfo<HandMadeCase>& info);
/// How GoogleTest prints a case: by its collection.
void PrintTo(const HandMadeCase& hand_made, std::ostream* out);

/// The hand-made document suite, defined once for every plugin (hand_made_document_tests.cpp):
/// every field set, every nullable field null, drift, absent, null or invalid keys, wrong
/// types. A plugin instantiates it: INSTANTIATE_TEST_SUITE_P(Daily, HandMadeDocument,
/// ::testing::ValuesIn(handMadeCases(allSpecs(), samples())), handMadeCaseName).
class HandMadeDocument : public ::testing::TestWithParam<HandMadeCase> {
 protected:
  const sdk::CollectionSpec& spec() const { return *GetParam().spec; }
  const HandMadeDocuments& documents() const { return GetParam().documents; }
};

// ---------------------------------------------------------------------------------------------
// The built shared library

/// An endpoint plugin's built shared library, loaded, and two instances its descriptor created.
/// The instances are destroyed before the library is unloaded (members in reverse order).
struct LoadedEndpointPlugin {
  boost::dll::shared_library library;
  const sdk::PluginDescriptor* descriptor = nullptr;
  std::unique_ptr<sdk::Plugin> first_instance;
  std::unique_ptr<sdk::Plugin> second_instance;
  sdk::EndpointPlugin* first = nullptr;   ///< instance "<name>"
  sdk::EndpointPlugin* second = nullptr;  ///< instance "<name>2"
};

/// Loads $OURA_PLUGIN_DIR/oura-endpoint-<name>.so into `out` and checks its descriptor (magic,
/// API version, build fingerprint, kind endpoint, `name`, version 0.1.0, a description, no
/// configuration keys); creates two instances and checks that they are endpoint plugins
/// serving `expected` (names, streams, columns), each building its collections once and
/// sharing them with no other. Ends early on a fatal failure: call it in
/// ASSERT_NO_FATAL_FAILURE.
void loadEndpointPlugin(const std::string& name, const std::vector<sdk::CollectionSpec>& expected,
                        LoadedEndpointPlugin& out);

/// Maps `doc` with `plugin`'s own `mapDocument` for its collection number `collection`.
Collector mapThrough(const sdk::EndpointPlugin& plugin, std::size_t collection,
                     const Object::Ptr& doc);

}  // namespace oura::test

// Stream schemas of the user's tags. Every property of each OpenAPI document schema is a column;
// tests/integration/contract_test.cpp checks this against tests/fixtures/openapi.json.
#include "collections.hpp"

#include <oura_sdk/schema.hpp>

#include <string>
#include <utility>

namespace oura::endpoints::tags {
namespace {

using sdk::CollectionSpec;
using sdk::Column;
using sdk::ColumnType;

constexpr sdk::Presence kRequired = sdk::Presence::Required;
constexpr sdk::Presence kOptional = sdk::Presence::Optional;

/// A column read from `json_path` (the SDK's naming: '.' becomes '_').
Column col(const std::string& json_path, ColumnType type, sdk::Presence presence,
           std::string description) {
  return sdk::column(json_path, type, presence, std::move(description));
}

Column idColumn(const std::string& what) {
  return col("id", ColumnType::Text, kRequired,
             "Oura's " + what + " id (a UUID); key (a day can hold several tags)");
}

CollectionSpec tag() {
  CollectionSpec spec =
      sdk::collectionSpec("tag", "TagModel", "tag", sdk::SyncStrategy::DateWindow, "day");
  spec.streams.push_back(sdk::documentStream(
      spec.name,
      "user-entered tags in the old form (a note with a list of tags), one row per tag; "
      "deprecated by Oura in favour of enhanced_tag (OpenAPI TagModel)",
      {
          idColumn("tag"),
          col("day", ColumnType::Date, kRequired,
              "day the tag belongs to (YYYY-MM-DD, the user's local calendar day)"),
          col("timestamp", ColumnType::Timestamptz, kRequired,
              "when the tag was entered, ISO 8601 with the user's UTC offset at the time"),
          col("text", ColumnType::Text, kRequired,
              "free text of the note; null when there is none"),
          col("tags", ColumnType::Jsonb, kRequired,
              "the selected tags, a JSON array of tag codes (strings, e.g. "
              "[\"tag_generic_alcohol\"]); unknown codes kept as sent"),
      },
      {"id"}));
  return spec;
}

CollectionSpec enhancedTag() {
  CollectionSpec spec = sdk::collectionSpec("enhanced_tag", "EnhancedTagModel", "tag",
                                            sdk::SyncStrategy::DateWindow, "start_day");
  spec.streams.push_back(sdk::documentStream(
      spec.name,
      "user-entered tags (a tag type, optionally with a duration and a comment), one row per "
      "tag (OpenAPI EnhancedTagModel)",
      {
          idColumn("tag"),
          col("tag_type_code", ColumnType::Text, kOptional,
              "code of the tag type (e.g. tag_generic_nocaffeine; `custom` for a custom tag "
              "type, whose name is `custom_name`); null for a text-only tag; unknown codes kept "
              "as sent"),
          col("start_time", ColumnType::Timestamptz, kRequired,
              "time of the tag, or the start of a tag with a duration, ISO 8601 with the user's "
              "UTC offset at the time"),
          col("end_time", ColumnType::Timestamptz, kOptional,
              "end of a tag with a duration, ISO 8601 with the user's UTC offset; null when the "
              "tag has no duration"),
          col("start_day", ColumnType::Date, kRequired,
              "day of the tag, or the start day of a tag with a duration (YYYY-MM-DD, the "
              "user's local calendar day); documents are kept in a window by this day"),
          col("end_day", ColumnType::Date, kOptional,
              "end day of a tag with a duration (YYYY-MM-DD); null when the tag has no duration"),
          col("comment", ColumnType::Text, kOptional,
              "free text the user added to the tag; real responses send \"\" (empty), not null, "
              "when there is none"),
          col("custom_name", ColumnType::Text, kOptional,
              "name of a custom tag type (when `tag_type_code` is `custom`); null otherwise"),
      },
      {"id"}));
  return spec;
}

}  // namespace

std::vector<sdk::CollectionSpec> makeCollections() {
  std::vector<sdk::CollectionSpec> specs;
  specs.push_back(tag());
  specs.push_back(enhancedTag());
  return specs;
}

}  // namespace oura::endpoints::tags

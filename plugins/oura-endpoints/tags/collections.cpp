// Stream schemas of the user's tags. Every property of each OpenAPI document schema is a column;
// tests/integration/contract_test.cpp checks this against tests/fixtures/openapi.json.
#include "collections.hpp"

#include <oura_sdk/schema.hpp>

#include <string>
#include <utility>

namespace oura::endpoints::tags {
namespace {

using sdk::CollectionSpec;
using sdk::column;
using sdk::ColumnType;
using sdk::kOptional;
using sdk::kRequired;

/// Several tags can share a day, so their `id` is the key.
const char* const kTagId = "Oura's tag id (a UUID); key (a day can hold several tags)";

CollectionSpec tag() {
  CollectionSpec spec = sdk::collectionSpec("tag", "TagModel", "tag");
  spec.streams.push_back(sdk::documentStream(
      spec.name,
      "user-entered tags in the old form (a note with a list of tags), one row per tag; "
      "deprecated by Oura in favour of enhanced_tag (OpenAPI TagModel)",
      {
          sdk::idColumn(kTagId),
          sdk::dayColumn("day the tag belongs to", sdk::KeyNote::None),
          sdk::timestampColumn("when the tag was entered"),
          column("text", ColumnType::Text, kRequired,
                 "free text of the note; null when there is none"),
          column("tags", ColumnType::Jsonb, kRequired,
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
          sdk::idColumn(kTagId),
          column("tag_type_code", ColumnType::Text, kOptional,
                 "code of the tag type (e.g. tag_generic_nocaffeine; `custom` for a custom tag "
                 "type, whose name is `custom_name`); null for a text-only tag; unknown codes kept "
                 "as sent"),
          sdk::localTimeColumn("start_time",
                               "time of the tag, or the start of a tag with a duration"),
          column("end_time", ColumnType::Timestamptz, kOptional,
                 "end of a tag with a duration, ISO 8601 with the user's UTC offset; null when the "
                 "tag has no duration"),
          column("start_day", ColumnType::Date, kRequired,
                 "day of the tag, or the start day of a tag with a duration (YYYY-MM-DD, the "
                 "user's local calendar day); documents are kept in a window by this day"),
          column("end_day", ColumnType::Date, kOptional,
                 "end day of a tag with a duration (YYYY-MM-DD); null when the tag has no "
                 "duration"),
          column("comment", ColumnType::Text, kOptional,
                 "free text the user added to the tag; real responses send \"\" (empty), not null, "
                 "when there is none"),
          column("custom_name", ColumnType::Text, kOptional,
                 "name of a custom tag type (when `tag_type_code` is `custom`); null otherwise"),
      },
      {"id"}));
  return spec;
}

}  // namespace

std::vector<sdk::CollectionSpec> makeCollections() { return {tag(), enhancedTag()}; }

}  // namespace oura::endpoints::tags

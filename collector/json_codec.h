// A fast codec for the JSON form of ingest items (proto3 JSON mapping, DESIGN §3), used where
// JSON volume is large: `candor replay` reading recorded streams and `candor sim` writing them.
//
// Decoding is driven by the message descriptors and takes the common forms directly: field
// names as in the .proto or in lowerCamelCase, enum values by name, integers as JSON numbers
// or quoted decimal strings, doubles as JSON numbers, RFC 3339 timestamps, maps of strings,
// repeated messages, null for "unset". Anything else — an unknown field, a duplicate key,
// another numeric spelling, a malformed document — makes the fast path step aside and the
// result is exactly protobuf's JsonStringToMessage's, so the accepted language and every error
// message are those of collector/jsonl.h. Encoding writes proto field names, enums by name and
// 64-bit integers as quoted strings, like protobuf's printer, on one line.
//
// Thread safety: free functions, safe from any thread.

#ifndef CANDOR_COLLECTOR_JSON_CODEC_H_
#define CANDOR_COLLECTOR_JSON_CODEC_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "candor/v1/ingest.pb.h"

namespace candor::collector {

// Parses one JSON object into an IngestItem. Same contract as ParseIngestItemJson
// (collector/jsonl.h): InvalidArgumentError with the parser's reason on malformed JSON,
// unknown fields, wrong types, or an item with no member set.
absl::StatusOr<candor::v1::IngestItem> DecodeIngestItemJson(std::string_view line);

// Only the fast path: true and `out` filled if the line was decoded without help; false (and
// `out` unspecified) whenever the canonical parser must decide. For tests.
bool FastDecodeIngestItemJson(std::string_view line, candor::v1::IngestItem& out);

// Appends `item`'s JSON form (one line, no newline) to `out`.
void EncodeIngestItemJson(const candor::v1::IngestItem& item, std::string& out);

}  // namespace candor::collector

#endif  // CANDOR_COLLECTOR_JSON_CODEC_H_

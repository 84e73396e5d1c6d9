// The JSON forms of ingest items (DESIGN §3): one `IngestItem` per line of a `.jsonl` stream,
// `{"inference_event": {...}}`, in the proto3 JSON mapping. Field names are accepted as
// written in the .proto or in lowerCamelCase; enum values by name; 64-bit integers as numbers
// or strings; times as RFC 3339. Unknown fields are an error, not ignored.
//
// Thread safety: free functions, safe from any thread.

#ifndef CANDOR_COLLECTOR_JSONL_H_
#define CANDOR_COLLECTOR_JSONL_H_

#include <cstdint>
#include <functional>
#include <istream>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "candor/v1/ingest.pb.h"

namespace candor::collector {

// Parses one JSON object into an IngestItem. InvalidArgumentError with the parser's reason
// (e.g. "Cannot find field: foo") on malformed JSON, unknown fields, wrong types or an item
// with no member set.
absl::StatusOr<candor::v1::IngestItem> ParseIngestItemJson(std::string_view line);

// The canonical JSON form of `item` on one line (proto field names, enums by name, no
// whitespace), e.g. for writing JSONL. Inverse of ParseIngestItemJson.
std::string IngestItemToJson(const candor::v1::IngestItem& item);

// Any message in the proto3 JSON mapping with proto field names, on one line.
std::string MessageToJson(const google::protobuf::Message& message);

// Reads `in` line by line, skipping blank lines, and calls `fn(line_number, item)` for each
// parsed item (line numbers from 1). Stops at the first malformed line and returns
// InvalidArgumentError "line N: reason"; stops early with `fn`'s status if it is not OK.
absl::Status ReadJsonl(
    std::istream& in,
    const std::function<absl::Status(int64_t line_number, candor::v1::IngestItem& item)>& fn);

}  // namespace candor::collector

#endif  // CANDOR_COLLECTOR_JSONL_H_

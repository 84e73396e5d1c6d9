// libFuzzer target: the strict proto3 JSONL decoder (collector/jsonl.h). Any input must give
// an item or a precise error, and a decoded item must survive a round trip through its
// canonical JSON form. Equality is field by field: the wire bytes of a message with a map of
// two or more entries depend on the map's (per-process seeded) iteration order.

#include <google/protobuf/util/message_differencer.h>

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string_view>

#include "collector/jsonl.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<candor::v1::IngestItem> item = candor::collector::ParseIngestItemJson(text);
  if (item.ok()) {
    const std::string json = candor::collector::IngestItemToJson(*item);
    absl::StatusOr<candor::v1::IngestItem> again = candor::collector::ParseIngestItemJson(json);
    if (!again.ok() || !google::protobuf::util::MessageDifferencer::Equals(*again, *item)) {
      __builtin_trap();
    }
  }
  std::istringstream lines{std::string(text)};
  (void)candor::collector::ReadJsonl(
      lines, [](int64_t, candor::v1::IngestItem&) { return absl::OkStatus(); });
  return 0;
}

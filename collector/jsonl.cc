#include "collector/jsonl.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/type_resolver_util.h>

#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace candor::collector {

absl::StatusOr<candor::v1::IngestItem> ParseIngestItemJson(std::string_view line) {
  // JSON (RFC 8259) forbids unescaped control characters; the protobuf parser lets some
  // through, and a string holding them would not come back the same after printing.
  for (size_t i = 0; i < line.size(); ++i) {
    const auto c = static_cast<unsigned char>(line[i]);
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
      return absl::InvalidArgumentError(
          absl::StrCat("unescaped control character 0x", absl::Hex(c, absl::kZeroPad2), " at byte ",
                       i, " (write it as \\u00", absl::Hex(c, absl::kZeroPad2), ")"));
    }
  }
  candor::v1::IngestItem item;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(line.data(), line.size()), &item, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(std::string(status.message()));
  }
  if (item.item_case() == candor::v1::IngestItem::ITEM_NOT_SET) {
    return absl::InvalidArgumentError(
        "item has no member: expected one of inference_event, replica_sample, gpu_sample, "
        "kernel_summary, annotation");
  }
  return item;
}

std::string MessageToJson(const google::protobuf::Message& message) {
  // Through deterministic binary: map entries come out sorted by key, so the same message
  // always prints the same bytes (MessageToJsonString follows the map's per-process seeded
  // iteration order).
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    (void)message.SerializeToCodedStream(&coded);
  }
  static google::protobuf::util::TypeResolver* const resolver =
      google::protobuf::util::NewTypeResolverForDescriptorPool(
          "type.googleapis.com", google::protobuf::DescriptorPool::generated_pool());
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.add_whitespace = false;
  // Printing a valid in-memory message cannot fail.
  (void)google::protobuf::util::BinaryToJsonString(
      resolver, "type.googleapis.com/" + message.GetDescriptor()->full_name(), bytes, &out,
      options);
  return out;
}

std::string IngestItemToJson(const candor::v1::IngestItem& item) { return MessageToJson(item); }

absl::Status ReadJsonl(
    std::istream& in,
    const std::function<absl::Status(int64_t line_number, candor::v1::IngestItem& item)>& fn) {
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    absl::StatusOr<candor::v1::IngestItem> item = ParseIngestItemJson(line);
    if (!item.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", number, ": ", item.status().message()));
    }
    const absl::Status status = fn(number, *item);
    if (!status.ok()) return status;
  }
  if (in.bad()) return absl::DataLossError(absl::StrCat("read error after line ", number));
  return absl::OkStatus();
}

}  // namespace candor::collector

#include "collector/admission.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

namespace candor::collector {
namespace {

using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedInputStream;

// Field numbers of candor/v1/ingest.proto that classification reads.
constexpr uint32_t kBatchItems = 2;
constexpr uint32_t kItemEvent = 1;
constexpr uint32_t kItemReplica = 2;
constexpr uint32_t kItemGpu = 3;
constexpr uint32_t kItemKernels = 4;
constexpr uint32_t kItemAnnotation = 5;
constexpr uint32_t kEventPriority = 12;

Priority EventPriority(std::string_view priority) {
  if (priority == "critical") return Priority::kCritical;
  if (priority == "batch" || priority == "shadow") return Priority::kLow;
  return Priority::kNormal;
}

// Reads a length-delimited field's payload as a view into `whole`.
bool ReadView(CodedInputStream& in, std::string_view whole, std::string_view* out) {
  uint32_t len = 0;
  if (!in.ReadVarint32(&len)) return false;
  const int pos = in.CurrentPosition();
  if (pos < 0 || static_cast<size_t>(pos) + len > whole.size()) return false;
  *out = whole.substr(static_cast<size_t>(pos), len);
  return in.Skip(static_cast<int>(len));
}

// The priority field of an encoded InferenceEvent; "" when absent. False when malformed.
bool ScanEventPriority(std::string_view event, std::string_view* priority) {
  CodedInputStream in(reinterpret_cast<const uint8_t*>(event.data()),
                      static_cast<int>(event.size()));
  while (true) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) return in.CurrentPosition() == static_cast<int>(event.size());
    if (static_cast<uint32_t>(WireFormatLite::GetTagFieldNumber(tag)) == kEventPriority &&
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      if (!ReadView(in, event, priority)) return false;
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return false;
    }
  }
}

// The class of one encoded IngestItem. False when malformed.
bool ScanItem(std::string_view item, Priority* p) {
  CodedInputStream in(reinterpret_cast<const uint8_t*>(item.data()), static_cast<int>(item.size()));
  *p = Priority::kNormal;
  while (true) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) return in.CurrentPosition() == static_cast<int>(item.size());
    const auto field = static_cast<uint32_t>(WireFormatLite::GetTagFieldNumber(tag));
    if (WireFormatLite::GetTagWireType(tag) != WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      if (!WireFormatLite::SkipField(&in, tag)) return false;
      continue;
    }
    std::string_view body;
    if (!ReadView(in, item, &body)) return false;
    switch (field) {
      case kItemEvent: {
        std::string_view priority;
        if (!ScanEventPriority(body, &priority)) return false;
        *p = EventPriority(priority);
        break;
      }
      case kItemReplica:
      case kItemGpu:
      case kItemAnnotation:
        *p = Priority::kCritical;
        break;
      case kItemKernels:
      default:
        *p = Priority::kNormal;
        break;
    }
  }
}

}  // namespace

std::string_view PriorityName(Priority p) {
  switch (p) {
    case Priority::kLow:
      return "low";
    case Priority::kNormal:
      return "normal";
    case Priority::kCritical:
      return "critical";
  }
  return "normal";
}

BatchScan ClassifyBatch(std::string_view bytes) {
  BatchScan scan;
  if (bytes.size() > static_cast<size_t>(INT32_MAX)) return scan;
  CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                      static_cast<int>(bytes.size()));
  in.SetTotalBytesLimit(INT32_MAX);
  bool any = false;
  Priority best = Priority::kLow;
  while (true) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) {
      if (in.CurrentPosition() != static_cast<int>(bytes.size())) break;
      scan.well_formed = true;
      scan.priority = any ? best : Priority::kNormal;
      return scan;
    }
    if (static_cast<uint32_t>(WireFormatLite::GetTagFieldNumber(tag)) == kBatchItems &&
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      std::string_view item;
      Priority p = Priority::kNormal;
      if (!ReadView(in, bytes, &item) || !ScanItem(item, &p)) break;
      scan.items.push_back(item);
      any = true;
      if (p > best) best = p;
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      break;
    }
  }
  scan = BatchScan{};
  return scan;
}

}  // namespace candor::collector

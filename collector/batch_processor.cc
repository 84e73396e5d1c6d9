#include "collector/batch_processor.h"

#include <deque>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "collector/admission.h"
#include "collector/entities.h"
#include "common/strings.h"
#include "google/protobuf/arena.h"

namespace candor::collector {
namespace {

constexpr std::string_view kBatchesHelp = "Ingest batches processed, by outcome.";
constexpr std::string_view kItemsHelp = "Ingest items, by type and result.";

const std::string& TraceIdOf(const candor::v1::IngestItem& item) {
  static const std::string* empty = new std::string();
  return item.has_inference_event() ? item.inference_event().trace_id() : *empty;
}

const std::string& RequestIdOf(const candor::v1::IngestItem& item) {
  static const std::string* empty = new std::string();
  return item.has_inference_event() ? item.inference_event().request_id() : *empty;
}

// The field of `item` that names an entity of `kind`.
std::string_view EntityField(const candor::v1::IngestItem& item, EntityKind kind) {
  if (item.has_annotation()) return "entity";
  switch (kind) {
    case EntityKind::kModel:
      return "model";
    case EntityKind::kDependency:
      return "dependencies";
    default:
      return EntityKindName(kind);
  }
}

candor::v1::ItemReject CardinalityReject(const candor::v1::IngestItem& item, uint32_t index,
                                         const CardinalityRejection& blocked) {
  candor::v1::ItemReject r;
  r.set_index(index);
  r.set_field(absl::StrCat(Sv(ItemTypeName(static_cast<int>(item.item_case()))), ".",
                           Sv(EntityField(item, blocked.kind))));
  r.set_code(candor::v1::CARDINALITY_LIMIT);
  const std::string kind(EntityKindName(blocked.kind));
  r.set_reason(absl::StrCat("new ", kind, " \"", blocked.name.substr(0, 128),
                            "\" would exceed the limit of ", blocked.limit, " distinct ", kind,
                            " entities"));
  return r;
}

}  // namespace

std::string_view ItemTypeName(int item_case) {
  switch (item_case) {
    case candor::v1::IngestItem::kInferenceEvent:
      return "inference_event";
    case candor::v1::IngestItem::kReplicaSample:
      return "replica_sample";
    case candor::v1::IngestItem::kGpuSample:
      return "gpu_sample";
    case candor::v1::IngestItem::kKernelSummary:
      return "kernel_summary";
    case candor::v1::IngestItem::kAnnotation:
      return "annotation";
    default:
      return "empty";
  }
}

BatchProcessor::BatchProcessor(BatchProcessorOptions options, store::EventLog& log,
                               MetricsRegistry& metrics, Clock& clock)
    : options_(std::move(options)),
      validator_(options_.validation),
      cardinality_(options_.cardinality, clock, metrics),
      log_(log),
      clock_(clock),
      batches_ok_(
          metrics.GetCounter("candor_ingest_batches_total", kBatchesHelp, {{"outcome", "ok"}})),
      batches_invalid_(metrics.GetCounter("candor_ingest_batches_total", kBatchesHelp,
                                          {{"outcome", "invalid"}})),
      batches_error_(
          metrics.GetCounter("candor_ingest_batches_total", kBatchesHelp, {{"outcome", "error"}})),
      duration_(metrics.GetHistogram("candor_ingest_batch_duration_seconds",
                                     "Time from receiving a batch to its items being durable.",
                                     LatencyBucketsSeconds())),
      bytes_(metrics.GetCounter("candor_ingest_received_bytes_total",
                                "Bytes of ingest batches received.")) {
  for (int t = 0; t < kNumItemTypes; ++t) {
    const std::string type(ItemTypeName(t));
    accepted_[static_cast<size_t>(t)] = &metrics.GetCounter(
        "candor_ingest_items_total", kItemsHelp, {{"type", type}, {"result", "accepted"}});
    rejected_[static_cast<size_t>(t)] = &metrics.GetCounter(
        "candor_ingest_items_total", kItemsHelp, {{"type", type}, {"result", "rejected"}});
  }
  for (int c = 0; c < kNumRejectCodes; ++c) {
    reject_reasons_[static_cast<size_t>(c)] = &metrics.GetCounter(
        "candor_ingest_rejected_items_total", "Ingest items refused, by reason.",
        {{"reason", std::string(RejectCodeLabel(static_cast<candor::v1::RejectCode>(c)))}});
  }
}

candor::v1::IngestAck BatchProcessor::ProcessSerialized(std::string_view bytes) {
  bytes_.Increment(static_cast<double>(bytes.size()));
  // One arena per batch: the thousands of strings and messages of a parsed batch are freed
  // at once instead of one by one.
  google::protobuf::ArenaOptions arena_options;
  arena_options.start_block_size = 64 << 10;
  arena_options.max_block_size = 1 << 20;
  google::protobuf::Arena arena(arena_options);
  auto& batch = *google::protobuf::Arena::CreateMessage<candor::v1::IngestBatch>(&arena);
  if (bytes.size() > static_cast<size_t>(INT32_MAX) ||
      !batch.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    batches_invalid_.Increment();
    candor::v1::IngestAck ack;
    ack.set_code(static_cast<int32_t>(absl::StatusCode::kInvalidArgument));
    ack.set_message(absl::StrCat("malformed IngestBatch: ", bytes.size(),
                                 " bytes do not parse as candor.v1.IngestBatch"));
    return ack;
  }
  const BatchScan scan = ClassifyBatch(bytes);
  if (scan.well_formed && scan.items.size() == static_cast<size_t>(batch.items_size())) {
    return ProcessWithItemBytes(batch, scan.items);
  }
  return Process(batch);
}

candor::v1::IngestAck BatchProcessor::Process(const candor::v1::IngestBatch& batch) {
  return ProcessWithItemBytes(batch, {});
}

candor::v1::IngestAck BatchProcessor::ProcessWithItemBytes(
    const candor::v1::IngestBatch& batch, std::span<const std::string_view> item_bytes) {
  const absl::Time start = clock_.MonotonicNow();
  candor::v1::IngestAck ack;
  ack.set_batch_id(batch.batch_id());
  if (static_cast<size_t>(batch.items_size()) > options_.max_batch_items) {
    batches_invalid_.Increment();
    ack.set_code(static_cast<int32_t>(absl::StatusCode::kInvalidArgument));
    ack.set_message(absl::StrCat("batch has ", batch.items_size(), " items; the limit is ",
                                 options_.max_batch_items));
    return ack;
  }
  const absl::Time now = clock_.Now();
  std::vector<store::LogRecord> records;
  std::deque<std::string> payloads;  // Stable storage for record views.
  records.reserve(static_cast<size_t>(batch.items_size()));
  std::vector<int> accepted_types;
  for (int i = 0; i < batch.items_size(); ++i) {
    const candor::v1::IngestItem& item = batch.items(i);
    const int type = static_cast<int>(item.item_case());
    if (auto reject = validator_.Validate(item, static_cast<uint32_t>(i), now); reject) {
      rejected_[static_cast<size_t>(type)]->Increment();
      reject_reasons_[static_cast<size_t>(reject->code()) % kNumRejectCodes]->Increment();
      *ack.add_rejects() = *std::move(reject);
      continue;
    }
    std::vector<EntityId> entities = EntitiesOf(item);
    if (auto blocked = cardinality_.Admit(entities); blocked) {
      rejected_[static_cast<size_t>(type)]->Increment();
      reject_reasons_[candor::v1::CARDINALITY_LIMIT]->Increment();
      *ack.add_rejects() = CardinalityReject(item, static_cast<uint32_t>(i), *blocked);
      continue;
    }
    store::LogRecord r;
    r.event_time = ItemTime(item);
    r.kind = static_cast<uint8_t>(type);
    r.request_id = RequestIdOf(item);
    r.trace_id = TraceIdOf(item);
    r.entities.reserve(entities.size());
    for (const EntityId& e : entities) r.entities.push_back(e.ToString());
    if (item_bytes.size() == static_cast<size_t>(batch.items_size())) {
      r.payload = item_bytes[static_cast<size_t>(i)];
    } else {
      r.payload = payloads.emplace_back(item.SerializeAsString());
    }
    r.attachment = &item;
    records.push_back(std::move(r));
    accepted_types.push_back(type);
  }
  absl::StatusOr<uint64_t> appended = log_.Append(records);
  if (!appended.ok()) {
    batches_error_.Increment();
    ack.set_code(static_cast<int32_t>(appended.status().code()));
    ack.set_message(absl::StrCat("items not stored: ", appended.status().message()));
    ack.clear_rejects();
    return ack;
  }
  for (int type : accepted_types) accepted_[static_cast<size_t>(type)]->Increment();
  ack.set_accepted(static_cast<uint32_t>(records.size()));
  batches_ok_.Increment();
  duration_.Observe(absl::ToDoubleSeconds(clock_.MonotonicNow() - start));
  return ack;
}

}  // namespace candor::collector

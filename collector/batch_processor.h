// BatchProcessor: the transport-independent heart of ingest. It takes an `IngestBatch` (or its
// serialized bytes), validates every item, appends the valid ones durably to the event log,
// and returns the `IngestAck` to send: accepted count and one reject per refused item. The
// gRPC service, the HTTP receivers, scrapers and the prober all feed batches through it.
//
// Metrics (resolved once at construction):
//   candor_ingest_batches_total{outcome}        ok | invalid | error
//   candor_ingest_items_total{type,result}      accepted | rejected, per item type
//   candor_ingest_rejected_items_total{reason}  missing_field, out_of_range, too_old, …
//   candor_ingest_batch_duration_seconds        receipt to durable
//   candor_ingest_received_bytes_total
//   candor_ingest_entities{kind}                distinct entities known (cardinality)
//
// Thread safety: Process* may be called concurrently from any number of threads.

#ifndef CANDOR_COLLECTOR_BATCH_PROCESSOR_H_
#define CANDOR_COLLECTOR_BATCH_PROCESSOR_H_

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "candor/v1/ingest.pb.h"
#include "collector/cardinality.h"
#include "collector/validate.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "store/event_log.h"

namespace candor::collector {

struct BatchProcessorOptions {
  ValidationOptions validation;
  // Most items in one batch; larger batches are refused whole (INVALID_ARGUMENT).
  // Default: 10,000.
  size_t max_batch_items = 10'000;
  // Distinct entities per kind; items that would pass it get CARDINALITY_LIMIT.
  CardinalityOptions cardinality;
};

class BatchProcessor {
 public:
  // `log`, `metrics` and `clock` must outlive the processor.
  BatchProcessor(BatchProcessorOptions options, store::EventLog& log, MetricsRegistry& metrics,
                 Clock& clock);

  // Parses `bytes` as an IngestBatch and processes it. A malformed message gives an ack with
  // code INVALID_ARGUMENT (3) and the parser's complaint; nothing is written.
  candor::v1::IngestAck ProcessSerialized(std::string_view bytes);

  // Validates and durably appends `batch`'s valid items. The ack's code is 0 when the valid
  // items are durable (even if some items were rejected), 3 when the batch is refused whole
  // (too many items), or the event log's error code (e.g. 14 UNAVAILABLE on I/O failure),
  // in which case nothing from the batch is durable.
  candor::v1::IngestAck Process(const candor::v1::IngestBatch& batch);

  // As Process, with the encoded bytes of each item of `batch` (same count and order, e.g.
  // from ClassifyBatch): they are stored as they came instead of being serialized again.
  candor::v1::IngestAck ProcessWithItemBytes(const candor::v1::IngestBatch& batch,
                                             std::span<const std::string_view> item_bytes);

  const BatchProcessorOptions& options() const { return options_; }

 private:
  static constexpr int kNumItemTypes = 6;  // IngestItem cases, 0 = not set.
  static constexpr int kNumRejectCodes = 10;

  BatchProcessorOptions options_;
  Validator validator_;
  CardinalityLimiter cardinality_;
  store::EventLog& log_;
  Clock& clock_;
  Counter& batches_ok_;
  Counter& batches_invalid_;
  Counter& batches_error_;
  std::array<Counter*, kNumItemTypes> accepted_{};
  std::array<Counter*, kNumItemTypes> rejected_{};
  std::array<Counter*, kNumRejectCodes> reject_reasons_{};
  Histogram& duration_;
  Counter& bytes_;
};

// "inference_event", "replica_sample", … for an IngestItem case number.
std::string_view ItemTypeName(int item_case);

}  // namespace candor::collector

#endif  // CANDOR_COLLECTOR_BATCH_PROCESSOR_H_

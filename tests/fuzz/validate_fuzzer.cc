// libFuzzer target: what the ingest path does with untrusted batch bytes before anything is
// stored — the admission scan (collector/admission.h), protobuf parsing, per-item validation
// (collector/validate.h) and entity extraction (collector/entities.h). The scan and the
// parser must agree on the items of a batch both accept.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "collector/admission.h"
#include "collector/entities.h"
#include "collector/validate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const candor::collector::BatchScan scan = candor::collector::ClassifyBatch(bytes);
  candor::v1::IngestBatch batch;
  if (!batch.ParseFromArray(data, static_cast<int>(size))) return 0;
  if (scan.well_formed && scan.items.size() != static_cast<size_t>(batch.items_size())) {
    __builtin_trap();
  }
  static const candor::collector::Validator* validator =
      new candor::collector::Validator(candor::collector::ValidationOptions{});
  const absl::Time now = absl::FromUnixSeconds(1'798'761'600);
  for (int i = 0; i < batch.items_size(); ++i) {
    (void)validator->Validate(batch.items(i), static_cast<uint32_t>(i), now);
    for (const candor::EntityId& e : candor::collector::EntitiesOf(batch.items(i))) {
      (void)e.ToString();
    }
    (void)candor::collector::ItemTime(batch.items(i));
  }
  return 0;
}

// SeriesWriter: writes series that candor derives itself (detection signals, kernel
// summaries) into the SeriesStore. It resolves each label set to its ref once and keeps it,
// gathers samples into one batch, and on Commit accounts for everything the store refused
// (a series past its metric's limit, a sample out of its window) instead of failing the batch.
//
// Thread safety: not thread-safe; its owner serialises calls.

#ifndef CANDOR_STORE_SERIES_WRITER_H_
#define CANDOR_STORE_SERIES_WRITER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "common/labels.h"
#include "store/series_store.h"

namespace candor::store {

class SeriesWriter {
 public:
  // `store` must outlive the writer.
  explicit SeriesWriter(SeriesStore& store) : store_(store) {}

  // Adds one sample of the series `labels` (the metric name under __name__; validated, so
  // names from the wire are safe) to the pending batch. A series the store refuses is
  // counted as an error at the next Commit.
  void Add(std::vector<Label> labels, int64_t t_ms, double value);

  struct Result {
    uint64_t written = 0;  // Samples now durable.
    uint64_t errors = 0;   // Samples refused (their series or the sample itself).
    absl::Status status;   // The first refusal's reason, or OK.
  };
  // Commits the pending batch (one WAL fsync) and starts a new one.
  Result Commit();

  // Series resolved so far.
  size_t series() const { return refs_.size(); }

 private:
  SeriesStore& store_;
  absl::flat_hash_map<std::string, SeriesRef> refs_;
  SampleBatch batch_;
  uint64_t errors_ = 0;
  absl::Status first_error_;
};

}  // namespace candor::store

#endif  // CANDOR_STORE_SERIES_WRITER_H_

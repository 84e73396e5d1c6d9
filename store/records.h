// Encodings of the small records the store persists (store/FORMAT.md §2 and §4): label sets,
// per-series metadata, WAL records (series, float samples, histogram samples) and histograms
// inside WAL records. Decoders reject malformed input with DataLossError.
//
// Thread safety: free functions without shared state.

#ifndef CANDOR_STORE_RECORDS_H_
#define CANDOR_STORE_RECORDS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/labels.h"
#include "store/histogram.h"

namespace candor::store {

enum class WalRecordType : uint8_t { kSeries = 1, kFloats = 2, kHistograms = 3 };

void EncodeLabels(const LabelSet& labels, std::string* out);
absl::StatusOr<LabelSet> DecodeLabels(std::string_view in);

// What the series column family keeps per series besides its labels.
struct SeriesMeta {
  int64_t mint = INT64_MAX;         // Oldest sample timestamp seen.
  int64_t maxt = INT64_MIN;         // Newest sample timestamp seen.
  int64_t sealed_maxt = INT64_MIN;  // Newest timestamp of any chunk sealed into RocksDB.
};
std::string EncodeSeriesMeta(const SeriesMeta& m);
absl::StatusOr<SeriesMeta> DecodeSeriesMeta(std::string_view in);

void EncodeHistogram(const Histogram& h, std::string* out);
bool DecodeHistogram(std::string_view* in, Histogram* h);

// A WAL record of float samples is built incrementally.
class FloatRecordBuilder {
 public:
  void Add(uint64_t ref, int64_t t, double v);
  bool empty() const { return count_ == 0; }
  // The finished record (type byte, count, samples); resets the builder.
  std::string Finish();

 private:
  std::string body_;
  uint64_t count_ = 0;
  uint64_t prev_ref_ = 0;
  int64_t prev_t_ = 0;
};

struct WalFloat {
  uint64_t ref;
  int64_t t;
  double v;
};
struct WalHistogram {
  uint64_t ref;
  int64_t t;
  Histogram h;
};
struct WalSeries {
  uint64_t ref;
  LabelSet labels;
};

std::string EncodeSeriesRecord(uint64_t ref, const LabelSet& labels);
std::string EncodeHistogramRecord(const std::vector<WalHistogram>& samples);

// Decoders of a record's payload after its type byte.
absl::StatusOr<WalSeries> DecodeSeriesRecord(std::string_view payload);
absl::Status DecodeFloatRecord(std::string_view payload, std::vector<WalFloat>* out);
absl::Status DecodeHistogramRecord(std::string_view payload, std::vector<WalHistogram>* out);

}  // namespace candor::store

#endif  // CANDOR_STORE_RECORDS_H_

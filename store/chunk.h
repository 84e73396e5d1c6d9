// The chunk codecs of the store (layouts in store/FORMAT.md §3).
//
// A float chunk holds up to 65535 samples of one series in timestamp order (the store never
// writes two samples at one timestamp; the codec itself allows it).
// Timestamps are delta-of-delta coded with a per-chunk bit width (a regular scrape interval
// costs 0 bits per sample). Values take the smaller of two encodings, chosen per chunk:
//   * decimal: when every value is exactly k·10^-e for some e ≤ 12 (latencies rounded to a
//     millisecond, integer counters), the scaled integers are coded as offsets from the
//     minimum, deltas, deltas-of-deltas or deltas minus their mean — whichever is smallest —
//     bit-packed at the width that minimises the chunk, with escapes for outliers;
//   * xor: Gorilla XOR of the IEEE bits (any value: NaN payloads, ±Inf, -0.0 round-trip);
//   * split: sign+exponent as an integer column, mantissas bit-packed without their common
//     trailing zeros — smaller than XOR for full-precision values that vary (their mantissa
//     bits are random; XOR pays leading/trailing-zero headers on top of them).
// For values that are not exact decimals the smaller of xor and split is kept.
// Histogram chunks (kHistogram) hold cumulative exponential histograms column by column; see
// store/histogram_chunk.h.
//
// Decoders treat their input as hostile: truncated or inconsistent chunks yield
// DataLossError, never a crash or an out-of-bounds read.
//
// Thread safety: free functions without shared state.

#ifndef CANDOR_STORE_CHUNK_H_
#define CANDOR_STORE_CHUNK_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "store/series_store.h"

namespace candor::store {

enum class ChunkEncoding : uint8_t { kXor = 1, kDecimal = 2, kHistogram = 3, kSplit = 4 };

inline constexpr size_t kMaxChunkSamples = 65535;

// Encodes `ts` (non-decreasing) and `values` (same length, 1..kMaxChunkSamples).
// Preconditions are the caller's (the head guarantees them); violating them aborts.
std::string EncodeFloatChunk(std::span<const int64_t> ts, std::span<const double> values);

// Forces one value encoding (tests and the benchmark's codec comparison). Returns
// InvalidArgumentError if kDecimal is forced on values that are not exact decimals.
absl::StatusOr<std::string> EncodeFloatChunkAs(ChunkEncoding encoding, std::span<const int64_t> ts,
                                               std::span<const double> values);

struct ChunkHeader {
  ChunkEncoding encoding = ChunkEncoding::kXor;
  uint32_t count = 0;
};

// Reads the encoding and sample count. DataLossError if the header is malformed.
absl::StatusOr<ChunkHeader> PeekChunk(std::string_view chunk);

// Appends the chunk's samples with mint ≤ t ≤ maxt to `out`. DataLossError if the chunk is
// corrupt or is a histogram chunk.
absl::Status DecodeFloatChunk(std::string_view chunk, std::vector<Sample>* out,
                              int64_t mint = INT64_MIN, int64_t maxt = INT64_MAX);

class BitWriter;
class BitReader;

namespace internal {
// Timestamp section shared by float and histogram chunks.
void EncodeTimestamps(std::span<const int64_t> ts, BitWriter* w);
bool DecodeTimestamps(BitReader* r, uint32_t n, std::vector<int64_t>* out);
// Bit-packed signed residuals with a per-block width and escapes.
void EncodePacked(std::span<const int64_t> values, BitWriter* w);
bool DecodePacked(BitReader* r, uint32_t n, int64_t* out);
// An integer column: the cheapest of offset/delta/delta-of-delta/delta-minus-mean, packed.
void EncodeIntSeries(std::span<const int64_t> x, BitWriter* w);
bool DecodeIntSeries(BitReader* r, uint32_t n, int64_t* x);
// A float column: a 2-bit mode (0 xor, 1 decimal, 2 split), then the values.
void EncodeFloatValues(std::span<const double> values, BitWriter* w);
bool DecodeFloatValues(BitReader* r, uint32_t n, double* out);
// Split stream: 6-bit trailing-zero count, sign+exponent int series, packed mantissas.
void EncodeSplitValues(std::span<const double> values, BitWriter* w);
bool DecodeSplitValues(BitReader* r, uint32_t n, double* out);
// Gorilla XOR float stream.
void EncodeXorValues(std::span<const double> values, BitWriter* w);
bool DecodeXorValues(BitReader* r, uint32_t n, double* out);
}  // namespace internal

}  // namespace candor::store

#endif  // CANDOR_STORE_CHUNK_H_

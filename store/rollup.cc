#include "store/rollup.h"

#include <algorithm>
#include <cmath>

#include "store/bits.h"
#include "store/chunk.h"
#include "store/histogram_chunk.h"

namespace candor::store {
namespace {

constexpr uint8_t kHasFloats = 1;
constexpr uint8_t kHasHistograms = 2;

// The end of the interval (end - step, end] holding t; ends are multiples of step.
int64_t IntervalEnd(int64_t t, int64_t step) {
  const int64_t r = t % step;
  if (r == 0) return t;
  return r > 0 ? t - r + step : t - r;
}

absl::Status Corrupt() { return absl::DataLossError("corrupt rollup block"); }

}  // namespace

bool IsStaleMarker(double v) { return DoubleBits(v) == 0x7ff0000000000002ULL; }

namespace {

// The decimal exponent (≤ 9) at which `v` is an exact integer, or -1.
int DecimalExponent(double v) {
  if (!std::isfinite(v)) return -1;
  double p = 1;
  for (int e = 0; e <= 9; ++e, p *= 10) {
    const double scaled = v * p;
    if (std::fabs(scaled) >= 9007199254740992.0) return -1;
    if (std::nearbyint(scaled) / p == v) return e;
  }
  return -1;
}

}  // namespace

RollupBlock BuildRollup(const std::vector<Sample>& floats,
                        const std::vector<HistogramSample>& histograms, int64_t step_ms) {
  RollupBlock b;
  int64_t cur = INT64_MIN;
  // Sums of decimal values are snapped back to the decimal grid, so they stay exact decimals
  // (and compress like them) instead of carrying floating-point addition error.
  std::vector<int> exponent;
  for (const Sample& s : floats) {
    const int64_t end = IntervalEnd(s.t, step_ms);
    if (end != cur) {
      cur = end;
      b.last.push_back(s);
      b.points.push_back({end, 0, 0, INFINITY, -INFINITY});
      exponent.push_back(0);
    }
    b.last.back() = s;
    if (IsStaleMarker(s.v)) continue;
    const int e = DecimalExponent(s.v);
    int& slot_e = exponent.back();
    slot_e = (slot_e < 0 || e < 0) ? -1 : std::max(slot_e, e);
    RollupPoint& p = b.points.back();
    p.count += 1;
    p.sum += s.v;
    if (std::isnan(s.v)) {
      p.min = p.max = s.v;
    } else if (!std::isnan(p.min)) {
      p.min = std::min(p.min, s.v);
      p.max = std::max(p.max, s.v);
    }
  }
  for (size_t i = 0; i < b.points.size(); ++i) {
    RollupPoint& p = b.points[i];
    // Intervals holding only staleness markers carry no aggregate.
    if (p.count == 0) p.min = p.max = NAN;
    if (exponent[i] >= 0 && std::isfinite(p.sum)) {
      const double scale = std::pow(10.0, exponent[i]);
      const double snapped = std::nearbyint(p.sum * scale) / scale;
      if (std::fabs(snapped - p.sum) <= 1e-9 * std::max(1.0, std::fabs(p.sum))) p.sum = snapped;
    }
  }
  cur = INT64_MIN;
  for (const HistogramSample& h : histograms) {
    const int64_t end = IntervalEnd(h.t, step_ms);
    if (end != cur) {
      cur = end;
      b.histograms.push_back(h);
    } else {
      b.histograms.back() = h;
    }
  }
  return b;
}

std::string EncodeRollupBlock(const RollupBlock& block) {
  std::string out;
  const uint8_t flags =
      (block.last.empty() ? 0 : kHasFloats) | (block.histograms.empty() ? 0 : kHasHistograms);
  out.push_back(static_cast<char>(flags));
  if (!block.last.empty()) {
    const size_t n = block.last.size();
    PutVarint(&out, n);
    std::vector<int64_t> ts(n);
    std::vector<int64_t> ends(n);
    std::vector<int64_t> counts(n);
    std::vector<double> col(n);
    BitWriter w(&out);
    for (size_t i = 0; i < n; ++i) {
      ts[i] = block.last[i].t;
      col[i] = block.last[i].v;
      ends[i] = block.points[i].end;
      counts[i] = static_cast<int64_t>(block.points[i].count);
    }
    internal::EncodeTimestamps(ts, &w);
    internal::EncodeFloatValues(col, &w);
    internal::EncodeTimestamps(ends, &w);
    internal::EncodeIntSeries(counts, &w);
    for (size_t i = 0; i < n; ++i) col[i] = block.points[i].sum;
    internal::EncodeFloatValues(col, &w);
    for (size_t i = 0; i < n; ++i) col[i] = block.points[i].min;
    internal::EncodeFloatValues(col, &w);
    for (size_t i = 0; i < n; ++i) col[i] = block.points[i].max;
    internal::EncodeFloatValues(col, &w);
  }
  if (!block.histograms.empty()) {
    // One chunk needs one layout: bring every histogram to the coarsest schema and the widest
    // zero bucket (both exact).
    int32_t schema = kMaxSchema;
    double zt = 0;
    for (const HistogramSample& h : block.histograms) {
      schema = std::min(schema, h.h.schema());
      zt = std::max(zt, h.h.zero_threshold());
    }
    std::vector<int64_t> ts;
    std::vector<Histogram> hs;
    for (const HistogramSample& h : block.histograms) {
      ts.push_back(h.t);
      Histogram n(schema, zt);
      n.Add(h.h);
      n.DropEmptyBuckets();
      hs.push_back(std::move(n));
    }
    const std::string chunk = EncodeHistogramChunk(ts, hs);
    PutVarint(&out, chunk.size());
    out.append(chunk);
  }
  return out;
}

absl::Status DecodeRollupBlock(std::string_view data, int64_t step_ms, int64_t mint, int64_t maxt,
                               RollupBlock* out) {
  if (data.empty()) return Corrupt();
  const auto flags = static_cast<uint8_t>(data[0]);
  data.remove_prefix(1);
  if ((flags & ~(kHasFloats | kHasHistograms)) != 0) return Corrupt();
  if (flags & kHasFloats) {
    uint64_t n64 = 0;
    if (!GetVarint(&data, &n64) || n64 == 0 || n64 > kMaxChunkSamples) return Corrupt();
    const auto n = static_cast<uint32_t>(n64);
    BitReader r(data);
    std::vector<int64_t> ts;
    std::vector<int64_t> ends;
    std::vector<int64_t> counts(n);
    std::vector<double> last(n), sum(n), min(n), max(n);
    if (!internal::DecodeTimestamps(&r, n, &ts) ||
        !internal::DecodeFloatValues(&r, n, last.data()) ||
        !internal::DecodeTimestamps(&r, n, &ends) ||
        !internal::DecodeIntSeries(&r, n, counts.data()) ||
        !internal::DecodeFloatValues(&r, n, sum.data()) ||
        !internal::DecodeFloatValues(&r, n, min.data()) ||
        !internal::DecodeFloatValues(&r, n, max.data())) {
      return Corrupt();
    }
    for (uint32_t i = 0; i < n; ++i) {
      if (ts[i] >= mint && ts[i] <= maxt) out->last.push_back({ts[i], last[i]});
      if (ends[i] >= mint && ends[i] - step_ms < maxt) {
        out->points.push_back({ends[i], static_cast<double>(counts[i]), sum[i], min[i], max[i]});
      }
    }
    // The bit stream is padded to a byte; the histogram part (if any) follows it.
    const int64_t used = (static_cast<int64_t>(data.size()) * 8 - r.remaining_bits() + 7) / 8;
    data.remove_prefix(
        static_cast<size_t>(std::min<int64_t>(used, static_cast<int64_t>(data.size()))));
  }
  if (flags & kHasHistograms) {
    uint64_t len = 0;
    if (!GetVarint(&data, &len) || len > data.size()) return Corrupt();
    absl::Status s = DecodeHistogramChunk(data.substr(0, len), &out->histograms, mint, maxt);
    if (!s.ok()) return Corrupt();
  }
  return absl::OkStatus();
}

}  // namespace candor::store

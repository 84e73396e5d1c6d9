#include "store/histogram.h"

#include <algorithm>
#include <array>
#include <cfloat>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"

namespace candor::store {
namespace {

// Boundaries inside one power-of-two octave for schemas 1..8: bounds[s][j] = 2^(j/2^s - 1).
const std::vector<double>& OctaveBounds(int32_t schema) {
  static const std::array<std::vector<double>, 9>* const kBounds = [] {
    auto* b = new std::array<std::vector<double>, 9>();
    for (int s = 1; s <= 8; ++s) {
      const int n = 1 << s;
      (*b)[static_cast<size_t>(s)].resize(static_cast<size_t>(n));
      for (int j = 0; j < n; ++j) {
        (*b)[static_cast<size_t>(s)][static_cast<size_t>(j)] =
            std::exp2(static_cast<double>(j) / n - 1.0);
      }
    }
    return b;
  }();
  return (*kBounds)[static_cast<size_t>(schema)];
}

// Adds `src` into `dst` (both sorted by index); `sign` is +1 or -1.
void MergeBuckets(std::vector<Bucket>* dst, const std::vector<Bucket>& src, double sign) {
  if (src.empty()) return;
  std::vector<Bucket> out;
  out.reserve(dst->size() + src.size());
  size_t i = 0;
  size_t j = 0;
  while (i < dst->size() || j < src.size()) {
    if (j == src.size() || (i < dst->size() && (*dst)[i].index < src[j].index)) {
      out.push_back((*dst)[i++]);
    } else if (i == dst->size() || src[j].index < (*dst)[i].index) {
      out.push_back({src[j].index, sign * src[j].count});
      ++j;
    } else {
      out.push_back({(*dst)[i].index, (*dst)[i].count + sign * src[j].count});
      ++i;
      ++j;
    }
  }
  std::erase_if(out, [](const Bucket& b) { return b.count == 0; });
  *dst = std::move(out);
}

void ReduceBuckets(std::vector<Bucket>* buckets, int shift) {
  if (shift <= 0 || buckets->empty()) return;
  std::vector<Bucket> out;
  const int32_t add = (int32_t{1} << shift) - 1;
  for (const Bucket& b : *buckets) {
    const int32_t idx = (b.index + add) >> shift;  // Arithmetic shift: ceil(index / 2^shift).
    if (!out.empty() && out.back().index == idx) {
      out.back().count += b.count;
    } else {
      out.push_back({idx, b.count});
    }
  }
  *buckets = std::move(out);
}

void AddToBucket(std::vector<Bucket>* buckets, int32_t index, double n) {
  auto it = std::lower_bound(buckets->begin(), buckets->end(), index,
                             [](const Bucket& b, int32_t i) { return b.index < i; });
  if (it != buckets->end() && it->index == index) {
    it->count += n;
  } else {
    buckets->insert(it, {index, n});
  }
}

double Midpoint(double lower, double upper) {
  if (std::isinf(upper)) return lower;
  return 2 * lower * upper / (lower + upper);
}

}  // namespace

Histogram::Histogram(int32_t schema, double zero_threshold)
    : schema_(std::clamp(schema, kMinSchema, kMaxSchema)), zero_threshold_(zero_threshold) {}

int32_t Histogram::BucketIndex(int32_t schema, double value) {
  if (std::isinf(value)) return BucketIndex(schema, DBL_MAX) + 1;
  int exp = 0;
  const double frac = std::frexp(value, &exp);
  if (schema > 0) {
    const std::vector<double>& bounds = OctaveBounds(schema);
    const auto j = std::lower_bound(bounds.begin(), bounds.end(), frac) - bounds.begin();
    return static_cast<int32_t>(j) + (exp - 1) * static_cast<int32_t>(bounds.size());
  }
  int32_t key = exp;
  if (frac == 0.5) --key;
  const int shift = -schema;
  return (key + (int32_t{1} << shift) - 1) >> shift;
}

std::pair<double, double> Histogram::BucketBounds(int32_t schema, int32_t index) {
  const double scale = std::ldexp(1.0, -schema);
  return {std::exp2(static_cast<double>(index - 1) * scale),
          std::exp2(static_cast<double>(index) * scale)};
}

double Histogram::RelativeErrorBound(int32_t schema) {
  const double gamma = std::exp2(std::ldexp(1.0, -schema));
  return (gamma - 1) / (gamma + 1);
}

void Histogram::Observe(double value, double n) {
  count_ += n;
  sum_ += value * n;
  if (std::isnan(value)) return;
  if (std::fabs(value) <= zero_threshold_) {
    zero_count_ += n;
  } else if (value > 0) {
    AddToBucket(&positive_, BucketIndex(schema_, value), n);
  } else {
    AddToBucket(&negative_, BucketIndex(schema_, -value), n);
  }
}

void Histogram::ReduceSchema(int32_t target) {
  if (target >= schema_) return;
  target = std::max(target, kMinSchema);
  ReduceBuckets(&positive_, schema_ - target);
  ReduceBuckets(&negative_, schema_ - target);
  schema_ = target;
}

void Histogram::WidenZeroBucket(double threshold) {
  if (threshold <= zero_threshold_) return;
  auto absorb = [&](std::vector<Bucket>* buckets) {
    while (!buckets->empty() && BucketBounds(schema_, buckets->front().index).second <= threshold) {
      zero_count_ += buckets->front().count;
      buckets->erase(buckets->begin());
    }
  };
  absorb(&positive_);
  absorb(&negative_);
  zero_threshold_ = threshold;
}

void Histogram::Add(const Histogram& other) {
  Histogram o = other;
  const int32_t schema = std::min(schema_, o.schema_);
  ReduceSchema(schema);
  o.ReduceSchema(schema);
  const double zt = std::max(zero_threshold_, o.zero_threshold_);
  WidenZeroBucket(zt);
  o.WidenZeroBucket(zt);
  count_ += o.count_;
  sum_ += o.sum_;
  zero_count_ += o.zero_count_;
  MergeBuckets(&positive_, o.positive_, 1);
  MergeBuckets(&negative_, o.negative_, 1);
}

void Histogram::Sub(const Histogram& other) {
  Histogram o = other;
  const int32_t schema = std::min(schema_, o.schema_);
  ReduceSchema(schema);
  o.ReduceSchema(schema);
  const double zt = std::max(zero_threshold_, o.zero_threshold_);
  WidenZeroBucket(zt);
  o.WidenZeroBucket(zt);
  count_ -= o.count_;
  sum_ -= o.sum_;
  zero_count_ -= o.zero_count_;
  MergeBuckets(&positive_, o.positive_, -1);
  MergeBuckets(&negative_, o.negative_, -1);
}

void Histogram::Scale(double factor) {
  count_ *= factor;
  sum_ *= factor;
  zero_count_ *= factor;
  for (Bucket& b : positive_) b.count *= factor;
  for (Bucket& b : negative_) b.count *= factor;
}

void Histogram::DropEmptyBuckets() {
  std::erase_if(positive_, [](const Bucket& b) { return b.count == 0; });
  std::erase_if(negative_, [](const Bucket& b) { return b.count == 0; });
}

bool Histogram::IsResetFrom(const Histogram& earlier) const {
  if (count_ < earlier.count_ || zero_count_ < earlier.zero_count_) return true;
  if (schema_ > earlier.schema_ || zero_threshold_ != earlier.zero_threshold_) return true;
  Histogram prev = earlier;
  prev.ReduceSchema(schema_);
  auto decreased = [](const std::vector<Bucket>& now, const std::vector<Bucket>& before) {
    size_t i = 0;
    for (const Bucket& b : before) {
      while (i < now.size() && now[i].index < b.index) ++i;
      const double cur = (i < now.size() && now[i].index == b.index) ? now[i].count : 0;
      if (cur < b.count) return true;
    }
    return false;
  };
  return decreased(positive_, prev.positive_) || decreased(negative_, prev.negative_);
}

double Histogram::Quantile(double q) const {
  if (std::isnan(q)) return std::numeric_limits<double>::quiet_NaN();
  if (q < 0) return -std::numeric_limits<double>::infinity();
  if (q > 1) return std::numeric_limits<double>::infinity();
  double total = zero_count_;
  for (const Bucket& b : positive_) total += b.count;
  for (const Bucket& b : negative_) total += b.count;
  if (!(total > 0)) return std::numeric_limits<double>::quiet_NaN();
  // Counts scaled by rate() carry rounding error; a bucket that reaches the rank up to that
  // error holds it (otherwise an exact tie would move the answer to the next bucket).
  const double rank = q * total - 1e-9 * total;
  double cum = 0;
  for (auto it = negative_.rbegin(); it != negative_.rend(); ++it) {
    cum += it->count;
    if (it->count > 0 && cum >= rank) {
      const auto [l, u] = BucketBounds(schema_, it->index);
      return -Midpoint(l, u);
    }
  }
  if (zero_count_ > 0) {
    const double before = cum;
    cum += zero_count_;
    if (cum >= rank) {
      const double lower = negative_.empty() ? 0 : -zero_threshold_;
      return lower + (zero_threshold_ - lower) * (rank - before) / zero_count_;
    }
  }
  for (const Bucket& b : positive_) {
    cum += b.count;
    if (b.count > 0 && cum >= rank) {
      const auto [l, u] = BucketBounds(schema_, b.index);
      return Midpoint(l, u);
    }
  }
  // Rounding left the rank past the last bucket: answer with the highest populated one.
  if (!positive_.empty()) {
    const auto [l, u] = BucketBounds(schema_, positive_.back().index);
    return Midpoint(l, u);
  }
  if (zero_count_ > 0) return zero_threshold_;
  const auto [l, u] = BucketBounds(schema_, negative_.front().index);
  return -Midpoint(l, u);
}

double Histogram::FractionBelow(double value) const {
  double total = zero_count_;
  for (const Bucket& b : positive_) total += b.count;
  for (const Bucket& b : negative_) total += b.count;
  if (!(total > 0) || std::isnan(value)) return std::numeric_limits<double>::quiet_NaN();
  double below = 0;
  auto partial = [](double lo, double hi, double v, double c) {
    if (v >= hi) return c;
    if (v <= lo) return 0.0;
    return c * (v - lo) / (hi - lo);
  };
  for (const Bucket& b : negative_) {
    const auto [l, u] = BucketBounds(schema_, b.index);
    below += partial(-u, -l, value, b.count);
  }
  below += partial(negative_.empty() ? 0 : -zero_threshold_, zero_threshold_, value, zero_count_);
  for (const Bucket& b : positive_) {
    const auto [l, u] = BucketBounds(schema_, b.index);
    below += partial(l, u, value, b.count);
  }
  return below / total;
}

absl::Status Histogram::Validate() const {
  if (schema_ < kMinSchema || schema_ > kMaxSchema) {
    return absl::InvalidArgumentError(absl::StrCat("histogram schema ", schema_, " outside -4..8"));
  }
  if (!std::isfinite(zero_threshold_) || zero_threshold_ < 0) {
    return absl::InvalidArgumentError("histogram zero threshold must be finite and ≥ 0");
  }
  if (!std::isfinite(count_) || count_ < 0 || !std::isfinite(zero_count_) || zero_count_ < 0) {
    return absl::InvalidArgumentError("histogram count and zero count must be finite and ≥ 0");
  }
  double buckets = zero_count_;
  for (const auto* side : {&positive_, &negative_}) {
    for (size_t i = 0; i < side->size(); ++i) {
      const Bucket& b = (*side)[i];
      if (!std::isfinite(b.count) || b.count < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("histogram bucket ", b.index, " has count ", b.count));
      }
      if (i > 0 && (*side)[i - 1].index >= b.index) {
        return absl::InvalidArgumentError("histogram bucket indices are not strictly increasing");
      }
      buckets += b.count;
    }
  }
  if (count_ + 1e-9 * count_ < buckets) {
    return absl::InvalidArgumentError(
        absl::StrCat("histogram count ", count_, " is less than its buckets' total ", buckets));
  }
  return absl::OkStatus();
}

}  // namespace candor::store

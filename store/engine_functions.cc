// PromQL functions of the QueryEngine. Range-vector functions walk each series once with a
// window per step (two pointers), so a range query costs O(samples + steps) per series for
// most functions; quantile_over_time keeps the window sorted as it slides.

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/status.h"
#include "re2/re2.h"
#include "store/engine_internal.h"
#include "store/rollup.h"

namespace candor::store::engine_internal {
namespace {

bool HasAny(const StepSeries& s) { return std::find(s.has.begin(), s.has.end(), 1) != s.has.end(); }

// Prometheus's extrapolatedRate over samples [lo, hi] (hi - lo ≥ 1) of one window.
double ExtrapolatedRate(const std::vector<Sample>& s, size_t lo, size_t hi, double reset_add,
                        int64_t range_start, int64_t range_end, bool counter, bool rate,
                        int64_t range_ms) {
  double result = s[hi].v - s[lo].v + reset_add;
  double to_start = static_cast<double>(s[lo].t - range_start) / 1000;
  const double to_end = static_cast<double>(range_end - s[hi].t) / 1000;
  const double sampled = static_cast<double>(s[hi].t - s[lo].t) / 1000;
  const double avg = sampled / static_cast<double>(hi - lo);
  if (counter && result > 0 && s[lo].v >= 0) {
    const double to_zero = sampled * (s[lo].v / result);
    if (to_zero < to_start) to_start = to_zero;
  }
  const double threshold = avg * 1.1;
  double interval = sampled;
  interval += to_start < threshold ? to_start : avg / 2;
  interval += to_end < threshold ? to_end : avg / 2;
  result *= interval / sampled;
  if (rate) result /= static_cast<double>(range_ms) / 1000;
  return result;
}

// The same for histograms (counter semantics) over the samples lo..hi of a series, read through
// `at(i)` (materializing) and `time(i)`; `reset(i)` marks sample i as a reset of i − 1.
template <typename At, typename Time, typename Reset>
std::shared_ptr<const Histogram> HistogramRate(At&& at, Time&& time, Reset&& reset, size_t lo,
                                               size_t hi, bool any_reset, int64_t range_start,
                                               int64_t range_end, bool rate, int64_t range_ms) {
  auto h = std::make_shared<Histogram>(at(hi));
  if (any_reset) {
    for (size_t i = lo + 1; i <= hi; ++i) {
      if (reset(i)) h->Add(at(i - 1));
    }
  }
  const Histogram first = at(lo);
  h->Sub(first);
  h->DropEmptyBuckets();
  double to_start = static_cast<double>(time(lo) - range_start) / 1000;
  const double to_end = static_cast<double>(range_end - time(hi)) / 1000;
  const double sampled = static_cast<double>(time(hi) - time(lo)) / 1000;
  const double avg = sampled / static_cast<double>(hi - lo);
  if (h->count() > 0 && first.count() >= 0) {
    const double to_zero = sampled * (first.count() / h->count());
    if (to_zero < to_start) to_start = to_zero;
  }
  const double threshold = avg * 1.1;
  double interval = sampled;
  interval += to_start < threshold ? to_start : avg / 2;
  interval += to_end < threshold ? to_end : avg / 2;
  double factor = interval / sampled;
  if (rate) factor /= static_cast<double>(range_ms) / 1000;
  h->Scale(factor);
  return h;
}

// A sorted multiset of the window's values for quantile_over_time.
class SlidingSorted {
 public:
  void Insert(double v) {
    values_.insert(std::upper_bound(values_.begin(), values_.end(), v, Less), v);
  }
  void Erase(double v) {
    auto it = std::lower_bound(values_.begin(), values_.end(), v, Less);
    // NaN compares as largest; find the exact bit pattern within the equal range.
    while (it != values_.end() && !(std::isnan(v) ? std::isnan(*it) : *it == v)) ++it;
    if (it != values_.end()) values_.erase(it);
  }
  double Quantile(double q) const {
    if (values_.empty()) return NAN;
    if (q < 0) return -INFINITY;
    if (q > 1) return INFINITY;
    const double n = static_cast<double>(values_.size());
    const double rank = q * (n - 1);
    const double lower = std::max(0.0, std::floor(rank));
    const double upper = std::min(n - 1, lower + 1);
    const double weight = rank - std::floor(rank);
    return values_[static_cast<size_t>(lower)] * (1 - weight) +
           values_[static_cast<size_t>(upper)] * weight;
  }

 private:
  static bool Less(double a, double b) {
    if (std::isnan(a)) return false;
    if (std::isnan(b)) return true;
    return a < b;
  }
  std::vector<double> values_;
};

enum class RangeFn {
  kRate,
  kIncrease,
  kDelta,
  kIrate,
  kIdelta,
  kResets,
  kChanges,
  kDeriv,
  kPredictLinear,
  kAvgOverTime,
  kMinOverTime,
  kMaxOverTime,
  kSumOverTime,
  kCountOverTime,
  kLastOverTime,
  kStddevOverTime,
  kStdvarOverTime,
  kPresentOverTime,
  kQuantileOverTime,
  kAbsentOverTime,
};

RangeFn ParseRangeFn(const std::string& fn) {
  static const auto* const kByName = new absl::flat_hash_map<std::string, RangeFn>{
      {"rate", RangeFn::kRate},
      {"increase", RangeFn::kIncrease},
      {"delta", RangeFn::kDelta},
      {"irate", RangeFn::kIrate},
      {"idelta", RangeFn::kIdelta},
      {"resets", RangeFn::kResets},
      {"changes", RangeFn::kChanges},
      {"deriv", RangeFn::kDeriv},
      {"predict_linear", RangeFn::kPredictLinear},
      {"avg_over_time", RangeFn::kAvgOverTime},
      {"min_over_time", RangeFn::kMinOverTime},
      {"max_over_time", RangeFn::kMaxOverTime},
      {"sum_over_time", RangeFn::kSumOverTime},
      {"count_over_time", RangeFn::kCountOverTime},
      {"last_over_time", RangeFn::kLastOverTime},
      {"stddev_over_time", RangeFn::kStddevOverTime},
      {"stdvar_over_time", RangeFn::kStdvarOverTime},
      {"present_over_time", RangeFn::kPresentOverTime},
      {"quantile_over_time", RangeFn::kQuantileOverTime},
      {"absent_over_time", RangeFn::kAbsentOverTime}};
  return kByName->at(fn);
}

// Minimum or maximum of a sliding window: a monotonic deque of sample indices.
class SlidingExtreme {
 public:
  explicit SlidingExtreme(bool is_min) : is_min_(is_min) {}
  void Push(size_t k, double v) {
    // NaN never displaces a number (Prometheus keeps the first non-NaN extreme).
    while (head_ < idx_.size() && !std::isnan(v) &&
           (std::isnan(vals_.back()) || (is_min_ ? vals_.back() > v : vals_.back() < v))) {
      idx_.pop_back();
      vals_.pop_back();
    }
    idx_.push_back(k);
    vals_.push_back(v);
  }
  void DropBefore(size_t lo) {
    while (head_ < idx_.size() && idx_[head_] < lo) ++head_;
  }
  double Front(const std::vector<Sample>&) const { return vals_[head_]; }

 private:
  const bool is_min_;
  std::vector<size_t> idx_;
  std::vector<double> vals_;
  size_t head_ = 0;
};

double OverTime(RangeFn fn, const std::vector<Sample>& s, size_t lo, size_t hi) {
  const double count = static_cast<double>(hi - lo + 1);
  switch (fn) {
    case RangeFn::kCountOverTime:
      return count;
    case RangeFn::kPresentOverTime:
      return 1;
    case RangeFn::kLastOverTime:
      return s[hi].v;
    case RangeFn::kSumOverTime:
    case RangeFn::kAvgOverTime: {
      double sum = 0;
      double c = 0;  // Kahan compensation.
      for (size_t i = lo; i <= hi; ++i) {
        const double y = s[i].v - c;
        const double t = sum + y;
        c = (t - sum) - y;
        sum = t;
      }
      return fn == RangeFn::kSumOverTime ? sum : sum / count;
    }
    case RangeFn::kMinOverTime:
    case RangeFn::kMaxOverTime: {
      const bool is_min = fn == RangeFn::kMinOverTime;
      double m = s[lo].v;
      for (size_t i = lo + 1; i <= hi; ++i) {
        const double v = s[i].v;
        if (is_min ? (v < m || std::isnan(m)) : (v > m || std::isnan(m))) m = v;
      }
      return m;
    }
    case RangeFn::kStddevOverTime:
    case RangeFn::kStdvarOverTime: {
      double mean = 0;
      double m2 = 0;
      double n = 0;
      for (size_t i = lo; i <= hi; ++i) {
        n += 1;
        const double d = s[i].v - mean;
        mean += d / n;
        m2 += d * (s[i].v - mean);
      }
      const double var = m2 / n;
      return fn == RangeFn::kStdvarOverTime ? var : std::sqrt(var);
    }
    default:
      return NAN;
  }
}

bool IsRollupAggregate(const std::string& fn) {
  return fn == "avg_over_time" || fn == "sum_over_time" || fn == "count_over_time" ||
         fn == "min_over_time" || fn == "max_over_time";
}

// Linear regression of the window against time (seconds relative to `at`): slope, intercept.
std::pair<double, double> Regression(const std::vector<Sample>& s, size_t lo, size_t hi,
                                     int64_t at) {
  double n = 0, sx = 0, sy = 0, sxy = 0, sxx = 0;
  for (size_t i = lo; i <= hi; ++i) {
    const double x = static_cast<double>(s[i].t - at) / 1000;
    n += 1;
    sx += x;
    sy += s[i].v;
    sxy += x * s[i].v;
    sxx += x * x;
  }
  const double cov = sxy - sx * sy / n;
  const double var = sxx - sx * sx / n;
  const double slope = cov / var;
  return {slope, sy / n - slope * sx / n};
}

}  // namespace

absl::StatusOr<Value> Evaluation::EvalRangeFunction(const Expr& e, const Expr& m, double param) {
  const std::string& fn = e.text;
  const int64_t range = m.range_ms;
  const size_t n = steps();
  const bool rollup_ok = IsRollupAggregate(fn) || fn == "rate" || fn == "increase" ||
                         fn == "delta" || fn == "last_over_time";
  Value out;
  out.type = ValueType::kVector;
  if (fn == "absent_over_time") {
    CANDOR_ASSIGN_OR_RETURN(
        std::vector<SeriesData> data,
        Load(m, times_.front() - m.offset_ms - range, times_.back() - m.offset_ms, false));
    StepSeries s;
    for (const LabelMatcher& lm : m.matchers) {
      if (lm.type() == MatchType::kEqual && lm.name() != kMetricNameLabel) {
        s.labels = s.labels.With(lm.name(), lm.value());
      }
    }
    s.Init(n);
    for (size_t i = 0; i < n; ++i) s.SetFloat(i, 1);
    for (const SeriesData& d : data) {
      size_t lo = 0;
      for (size_t i = 0; i < n; ++i) {
        const int64_t t = times_[i] - m.offset_ms;
        while (lo < d.samples.size() && d.samples[lo].t < t - range) ++lo;
        if (lo < d.samples.size() && d.samples[lo].t <= t) s.has[i] = 0;
      }
    }
    if (HasAny(s)) out.series.push_back(std::move(s));
    return out;
  }
  // Histogram rates read column blocks and materialize only window edges.
  const bool histogram_columns = fn == "rate" || fn == "increase" || fn == "delta";
  const absl::Status status =
      LoadEach(m, times_.front() - m.offset_ms - range, times_.back() - m.offset_ms, rollup_ok,
               histogram_columns, [&](SeriesData& d) -> absl::Status {
                 StepSeries o;
                 CANDOR_RETURN_IF_ERROR(RangeFunctionSeries(e, m, param, d, &o));
                 if (HasAny(o)) out.series.push_back(std::move(o));
                 return absl::OkStatus();
               });
  CANDOR_RETURN_IF_ERROR(status);
  return out;
}

absl::Status Evaluation::RangeFunctionSeries(const Expr& e, const Expr& m, double param,
                                             SeriesData& d, StepSeries* out_series) {
  const std::string& fn = e.text;
  const int64_t range = m.range_ms;
  const size_t n = steps();
  const bool counter = fn == "rate" || fn == "increase";
  const RangeFn kind = ParseRangeFn(fn);
  {
    StepSeries& o = *out_series;
    o.labels = fn == "last_over_time" ? d.labels : DropName(d.labels);
    o.Init(n);
    // Staleness markers are not samples for range functions.
    std::erase_if(d.samples, [](const Sample& x) { return IsStaleMarker(x.v); });
    const std::vector<Sample>& s = d.samples;
    if (d.resolution != Resolution::kRaw && IsRollupAggregate(fn) && !d.rollup.empty()) {
      const std::vector<RollupPoint>& p = d.rollup;
      size_t lo = 0;
      size_t hi = 0;
      for (size_t i = 0; i < n; ++i) {
        const int64_t t = times_[i] - m.offset_ms;
        while (lo < p.size() && p[lo].end <= t - range) ++lo;
        while (hi < p.size() && p[hi].end <= t) ++hi;
        double count = 0, sum = 0, mn = NAN, mx = NAN;
        for (size_t k = lo; k < hi; ++k) {
          if (p[k].count == 0) continue;
          count += p[k].count;
          sum += p[k].sum;
          if (std::isnan(mn) || p[k].min < mn) mn = p[k].min;
          if (std::isnan(mx) || p[k].max > mx) mx = p[k].max;
        }
        if (count == 0) continue;
        const double v = fn == "count_over_time" ? count
                         : fn == "sum_over_time" ? sum
                         : fn == "avg_over_time" ? sum / count
                         : fn == "min_over_time" ? mn
                                                 : mx;
        o.SetFloat(i, v);
      }
      return absl::OkStatus();
    }
    if (!d.histogram_columns.empty() && (counter || fn == "delta")) {
      // Columns: only the samples at window edges (and before resets) become histograms.
      const auto& blocks = d.histogram_columns;
      std::vector<int64_t> ts;
      std::vector<std::pair<uint32_t, uint32_t>> where;  // (block, position)
      std::vector<uint8_t> reset;
      for (size_t b = 0; b < blocks.size(); ++b) {
        for (size_t p = 0; p < blocks[b].size(); ++p) {
          ts.push_back(blocks[b].ts[p]);
          where.push_back({static_cast<uint32_t>(b), static_cast<uint32_t>(p)});
          uint8_t r = blocks[b].reset[p];
          if (p == 0 && b > 0) {
            const HistogramColumns& prev = blocks[b - 1];
            r = blocks[b].At(0).IsResetFrom(prev.At(prev.size() - 1)) ? 1 : 0;
          }
          reset.push_back(r);
        }
      }
      std::vector<int64_t> resets(ts.size(), 0);  // Prefix count of counter resets.
      for (size_t i = 1; i < ts.size(); ++i) resets[i] = resets[i - 1] + reset[i];
      auto at = [&](size_t i) { return blocks[where[i].first].At(where[i].second); };
      auto time = [&](size_t i) { return ts[i]; };
      auto is_reset = [&](size_t i) { return reset[i] != 0; };
      size_t lo = 0;
      size_t hi = 0;
      for (size_t i = 0; i < n; ++i) {
        const int64_t t = times_[i] - m.offset_ms;
        while (lo < ts.size() && ts[lo] < t - range) ++lo;
        while (hi < ts.size() && ts[hi] <= t) ++hi;
        if (hi < lo + 2) continue;
        o.SetHistogram(i,
                       HistogramRate(at, time, is_reset, lo, hi - 1, resets[hi - 1] != resets[lo],
                                     t - range, t, fn == "rate", range));
      }
      return absl::OkStatus();
    }
    if (!d.histograms.empty() && (counter || fn == "delta")) {
      const auto& hs = d.histograms;
      std::vector<int64_t> resets(hs.size(), 0);  // Prefix count of counter resets.
      for (size_t i = 1; i < hs.size(); ++i) {
        resets[i] = resets[i - 1] + (hs[i].h.IsResetFrom(hs[i - 1].h) ? 1 : 0);
      }
      auto at = [&](size_t i) { return hs[i].h; };
      auto time = [&](size_t i) { return hs[i].t; };
      auto is_reset = [&](size_t i) { return resets[i] != resets[i - 1]; };
      size_t lo = 0;
      size_t hi = 0;
      for (size_t i = 0; i < n; ++i) {
        const int64_t t = times_[i] - m.offset_ms;
        while (lo < hs.size() && hs[lo].t < t - range) ++lo;
        while (hi < hs.size() && hs[hi].t <= t) ++hi;
        if (hi < lo + 2) continue;
        o.SetHistogram(i,
                       HistogramRate(at, time, is_reset, lo, hi - 1, resets[hi - 1] != resets[lo],
                                     t - range, t, fn == "rate", range));
      }
      return absl::OkStatus();
    }
    // Prefix sum of values before counter resets (scratch reused across series).
    std::vector<double>& corr = corr_scratch_;
    corr.clear();
    if (kind == RangeFn::kRate || kind == RangeFn::kIncrease || kind == RangeFn::kResets ||
        kind == RangeFn::kChanges) {
      corr.assign(s.size(), 0);
      for (size_t i = 1; i < s.size(); ++i) {
        double add = 0;
        if (kind == RangeFn::kChanges) {
          add = (s[i].v != s[i - 1].v && !(std::isnan(s[i].v) && std::isnan(s[i - 1].v))) ? 1 : 0;
        } else if (s[i].v < s[i - 1].v) {
          add = kind == RangeFn::kResets ? 1 : s[i - 1].v;
        }
        corr[i] = corr[i - 1] + add;
      }
    }
    // Sums over overlapping windows come from prefix sums (extended precision) when every
    // value is finite; otherwise each window is summed on its own.
    std::vector<long double>& prefix = prefix_scratch_;
    prefix.clear();
    if ((kind == RangeFn::kSumOverTime || kind == RangeFn::kAvgOverTime) &&
        std::all_of(s.begin(), s.end(), [](const Sample& x) { return std::isfinite(x.v); })) {
      prefix.assign(s.size() + 1, 0);
      for (size_t i = 0; i < s.size(); ++i) prefix[i + 1] = prefix[i] + s[i].v;
    }
    SlidingSorted window;
    SlidingExtreme extreme(kind == RangeFn::kMinOverTime);
    size_t lo = 0;
    size_t hi = 0;  // Window is [lo, hi).
    for (size_t i = 0; i < n; ++i) {
      const int64_t t = times_[i] - m.offset_ms;
      const size_t old_lo = lo;
      const size_t old_hi = hi;
      while (lo < s.size() && s[lo].t < t - range) ++lo;
      while (hi < s.size() && s[hi].t <= t) ++hi;
      if (kind == RangeFn::kQuantileOverTime) {
        for (size_t k = old_lo; k < std::min(lo, old_hi); ++k) window.Erase(s[k].v);
        for (size_t k = std::max(old_hi, lo); k < hi; ++k) window.Insert(s[k].v);
        if (hi > lo) o.SetFloat(i, window.Quantile(param));
        continue;
      }
      if (kind == RangeFn::kMinOverTime || kind == RangeFn::kMaxOverTime) {
        for (size_t k = std::max(old_hi, lo); k < hi; ++k) extreme.Push(k, s[k].v);
        extreme.DropBefore(lo);
        if (hi > lo) o.SetFloat(i, extreme.Front(s));
        continue;
      }
      if (hi <= lo) continue;
      const size_t last = hi - 1;
      switch (kind) {
        case RangeFn::kRate:
        case RangeFn::kIncrease:
        case RangeFn::kDelta: {
          if (last == lo) break;
          const double reset_add = counter ? corr[last] - corr[lo] : 0;
          o.SetFloat(i, ExtrapolatedRate(s, lo, last, reset_add, t - range, t, counter,
                                         kind == RangeFn::kRate, range));
          break;
        }
        case RangeFn::kIrate:
        case RangeFn::kIdelta: {
          if (last == lo) break;
          const Sample& a = s[last - 1];
          const Sample& b = s[last];
          double v = b.v - a.v;
          if (kind == RangeFn::kIrate) {
            if (b.v < a.v) v = b.v;
            if (b.t == a.t) break;
            v /= static_cast<double>(b.t - a.t) / 1000;
          }
          o.SetFloat(i, v);
          break;
        }
        case RangeFn::kResets:
        case RangeFn::kChanges:
          o.SetFloat(i, corr[last] - corr[lo]);
          break;
        case RangeFn::kDeriv:
        case RangeFn::kPredictLinear: {
          if (last == lo) break;
          const auto [slope, intercept] = Regression(s, lo, last, t);
          o.SetFloat(i, kind == RangeFn::kDeriv ? slope : intercept + slope * param);
          break;
        }
        case RangeFn::kSumOverTime:
        case RangeFn::kAvgOverTime:
          if (!prefix.empty()) {
            const auto sum = static_cast<double>(prefix[hi] - prefix[lo]);
            o.SetFloat(i, kind == RangeFn::kSumOverTime ? sum : sum / static_cast<double>(hi - lo));
          } else {
            o.SetFloat(i, OverTime(kind, s, lo, last));
          }
          break;
        default:
          o.SetFloat(i, OverTime(kind, s, lo, last));
          break;
      }
    }
  }
  return absl::OkStatus();
}

namespace {

absl::StatusOr<Value> ClassicHistogramQuantile(const std::vector<double>& q, Value in, size_t n) {
  Value out;
  out.type = ValueType::kVector;
  absl::flat_hash_map<LabelSet, size_t> groups;
  std::vector<std::vector<std::pair<double, size_t>>> members;  // (le, series index)
  for (size_t s = 0; s < in.series.size(); ++s) {
    const std::string le_text(in.series[s].labels.Get("le"));
    char* end = nullptr;
    const double le = std::strtod(le_text.c_str(), &end);
    const bool parsed = !le_text.empty() && end == le_text.c_str() + le_text.size();
    if (!parsed) continue;  // Prometheus drops series without a valid le.
    LabelSet key = DropName(in.series[s].labels).With("le", "");
    auto [it, inserted] = groups.try_emplace(key, out.series.size());
    if (inserted) {
      out.series.emplace_back();
      out.series.back().labels = std::move(key);
      out.series.back().Init(n);
      members.emplace_back();
    }
    members[it->second].push_back({le, s});
  }
  std::vector<std::pair<double, double>> buckets;
  for (size_t g = 0; g < members.size(); ++g) {
    for (size_t i = 0; i < n; ++i) {
      buckets.clear();
      for (const auto& [le, s] : members[g]) {
        if (in.series[s].has[i] && !in.series[s].HasHistogram(i))
          buckets.push_back({le, in.series[s].v[i]});
      }
      if (!buckets.empty()) out.series[g].SetFloat(i, BucketQuantile(q[i], &buckets));
    }
  }
  std::erase_if(out.series, [](const StepSeries& s) { return !HasAny(s); });
  return out;
}

// Expands $1, ${1}, $name and ${name} in a label_replace replacement.
std::string Expand(const std::string& tmpl, const std::vector<std::string>& groups,
                   const std::map<std::string, int>& names) {
  std::string out;
  for (size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] != '$' || i + 1 >= tmpl.size()) {
      out.push_back(tmpl[i]);
      continue;
    }
    if (tmpl[i + 1] == '$') {
      out.push_back('$');
      ++i;
      continue;
    }
    size_t j = i + 1;
    std::string name;
    if (tmpl[j] == '{') {
      const size_t close = tmpl.find('}', j);
      if (close == std::string::npos) {
        out.push_back('$');
        continue;
      }
      name = tmpl.substr(j + 1, close - j - 1);
      j = close + 1;
    } else {
      while (j < tmpl.size() &&
             (std::isalnum(static_cast<unsigned char>(tmpl[j])) || tmpl[j] == '_'))
        ++j;
      name = tmpl.substr(i + 1, j - i - 1);
    }
    int idx = -1;
    if (!name.empty() && std::all_of(name.begin(), name.end(), ::isdigit)) {
      idx = std::atoi(name.c_str());
    } else if (auto it = names.find(name); it != names.end()) {
      idx = it->second;
    }
    if (idx >= 0 && static_cast<size_t>(idx) < groups.size())
      out += groups[static_cast<size_t>(idx)];
    i = j - 1;
  }
  return out;
}

absl::Status LabelReplace(Value* v, const std::string& dst, const std::string& repl,
                          const std::string& src, const std::string& regex) {
  RE2 re(absl::StrCat("^(?:", regex, ")$"), RE2::Quiet);
  if (!re.ok())
    return absl::InvalidArgumentError(
        absl::StrCat("invalid regular expression in label_replace(): ", regex));
  if (!IsValidLabelName(dst))
    return absl::InvalidArgumentError(
        absl::StrCat("invalid destination label name in label_replace(): ", dst));
  const int ngroups = re.NumberOfCapturingGroups();
  std::vector<re2::StringPiece> pieces(static_cast<size_t>(ngroups + 1));
  for (StepSeries& s : v->series) {
    const std::string value(s.labels.Get(src));
    if (!re.Match(value, 0, value.size(), RE2::ANCHOR_BOTH, pieces.data(), ngroups + 1)) continue;
    std::vector<std::string> groups;
    for (const auto& p : pieces)
      groups.emplace_back(p.data() == nullptr ? "" : std::string(p.data(), p.size()));
    s.labels = s.labels.With(dst, Expand(repl, groups, re.NamedCapturingGroups()));
  }
  return absl::OkStatus();
}

int CivilPart(const std::string& fn, double unix_seconds) {
  const absl::Time t = absl::FromUnixSeconds(static_cast<int64_t>(std::floor(unix_seconds)));
  const absl::CivilSecond c = absl::ToCivilSecond(t, absl::UTCTimeZone());
  if (fn == "minute") return c.minute();
  if (fn == "hour") return c.hour();
  if (fn == "day_of_week")
    return static_cast<int>(absl::GetWeekday(c)) == 6 ? 0
                                                      : static_cast<int>(absl::GetWeekday(c)) + 1;
  if (fn == "day_of_month") return c.day();
  if (fn == "day_of_year") return absl::GetYearDay(c);
  if (fn == "month") return c.month();
  if (fn == "year") return static_cast<int>(c.year());
  if (fn == "days_in_month") {
    const absl::CivilDay first(c.year(), c.month(), 1);
    return static_cast<int>(absl::CivilDay(absl::CivilMonth(first) + 1) - first);
  }
  return 0;
}

}  // namespace

absl::StatusOr<Value> Evaluation::EvalCall(const Expr& e) {
  const std::string& fn = e.text;
  const size_t n = steps();
  if (fn == "__paren") return Eval(*e.args[0]);
  // Range-vector functions.
  for (size_t a = 0; a < e.args.size(); ++a) {
    if (e.args[a]->kind != ExprKind::kMatrixSelector) continue;
    double param = 0;
    if (fn == "quantile_over_time" || fn == "predict_linear") {
      const Expr& p = *e.args[fn == "quantile_over_time" ? 0 : 1];
      CANDOR_ASSIGN_OR_RETURN(Value pv, Eval(p));
      param = pv.scalar.empty() ? NAN : pv.scalar[0];
    }
    return EvalRangeFunction(e, *e.args[a], param);
  }
  if (fn == "time") {
    Value v = ScalarValue(n, 0);
    for (size_t i = 0; i < n; ++i) v.scalar[i] = static_cast<double>(times_[i]) / 1000;
    return v;
  }
  if (fn == "vector") {
    CANDOR_ASSIGN_OR_RETURN(Value sc, Eval(*e.args[0]));
    Value out;
    StepSeries s;
    s.Init(n);
    for (size_t i = 0; i < n; ++i) s.SetFloat(i, sc.scalar[i]);
    out.series.push_back(std::move(s));
    return out;
  }
  std::vector<Value> args;
  for (const auto& a : e.args) {
    CANDOR_ASSIGN_OR_RETURN(Value v, Eval(*a));
    args.push_back(std::move(v));
  }
  if (args.empty()) {  // minute() and friends default to vector(time()).
    Value v;
    StepSeries s;
    s.Init(n);
    for (size_t i = 0; i < n; ++i) s.SetFloat(i, static_cast<double>(times_[i]) / 1000);
    v.series.push_back(std::move(s));
    args.push_back(std::move(v));
  }
  if (fn == "histogram_quantile" || fn == "histogram_fraction") {
    Value& in = args.back();
    const std::vector<double>& q = args[0].scalar;
    Value native;
    native.type = ValueType::kVector;
    for (StepSeries& s : in.series) {
      StepSeries o;
      o.labels = DropName(s.labels);
      o.Init(n);
      for (size_t i = 0; i < n; ++i) {
        if (!s.HasHistogram(i)) continue;
        o.SetFloat(i, fn == "histogram_quantile"
                          ? s.h[i]->Quantile(q[i])
                          : s.h[i]->FractionBelow(args[1].scalar[i]) - s.h[i]->FractionBelow(q[i]));
        s.has[i] = 0;  // Consumed: not a classic bucket.
      }
      if (HasAny(o)) native.series.push_back(std::move(o));
    }
    if (fn == "histogram_fraction") return native;
    CANDOR_ASSIGN_OR_RETURN(Value classic, ClassicHistogramQuantile(q, std::move(in), n));
    for (StepSeries& s : classic.series) native.series.push_back(std::move(s));
    return native;
  }
  if (fn == "scalar") {
    Value out = ScalarValue(n, NAN);
    for (size_t i = 0; i < n; ++i) {
      int found = 0;
      for (const StepSeries& s : args[0].series) {
        if (s.has[i] && !s.HasHistogram(i)) {
          ++found;
          out.scalar[i] = s.v[i];
        }
      }
      if (found != 1) out.scalar[i] = NAN;
    }
    return out;
  }
  if (fn == "absent") {
    Value out;
    StepSeries s;
    const Expr* sel = e.args[0].get();
    if (sel->kind == ExprKind::kVectorSelector) {
      for (const LabelMatcher& lm : sel->matchers) {
        if (lm.type() == MatchType::kEqual && lm.name() != kMetricNameLabel)
          s.labels = s.labels.With(lm.name(), lm.value());
      }
    }
    s.Init(n);
    for (size_t i = 0; i < n; ++i) {
      bool any = false;
      for (const StepSeries& x : args[0].series) any |= x.has[i] != 0;
      if (!any) s.SetFloat(i, 1);
    }
    if (HasAny(s)) out.series.push_back(std::move(s));
    return out;
  }
  Value v = std::move(args[0]);
  if (fn == "label_replace") {
    CANDOR_RETURN_IF_ERROR(LabelReplace(&v, args[1].str, args[2].str, args[3].str, args[4].str));
    return v;
  }
  if (fn == "label_join") {
    const std::string& dst = args[1].str;
    if (!IsValidLabelName(dst))
      return absl::InvalidArgumentError(
          absl::StrCat("invalid destination label name in label_join(): ", dst));
    for (StepSeries& s : v.series) {
      std::vector<std::string> parts;
      for (size_t a = 3; a < args.size(); ++a) parts.emplace_back(s.labels.Get(args[a].str));
      s.labels = s.labels.With(dst, absl::StrJoin(parts, args[2].str));
    }
    return v;
  }
  if (fn == "sort" || fn == "sort_desc") {
    const bool desc = fn == "sort_desc";
    std::stable_sort(v.series.begin(), v.series.end(),
                     [&](const StepSeries& a, const StepSeries& b) {
                       const double x = a.has.empty() ? 0 : a.v[0];
                       const double y = b.has.empty() ? 0 : b.v[0];
                       if (std::isnan(x)) return false;
                       if (std::isnan(y)) return true;
                       return desc ? x > y : x < y;
                     });
    return v;
  }
  for (StepSeries& s : v.series) {
    s.labels = DropName(s.labels);
    for (size_t i = 0; i < n; ++i) {
      if (!s.has[i]) continue;
      if (fn == "histogram_count" || fn == "histogram_sum") {
        if (!s.HasHistogram(i)) {
          s.has[i] = 0;
          continue;
        }
        const double r = fn == "histogram_count" ? s.h[i]->count() : s.h[i]->sum();
        s.SetFloat(i, r);
        continue;
      }
      if (s.HasHistogram(i)) {
        s.has[i] = 0;
        continue;
      }
      double& x = s.v[i];
      if (fn == "abs")
        x = std::fabs(x);
      else if (fn == "ceil")
        x = std::ceil(x);
      else if (fn == "floor")
        x = std::floor(x);
      else if (fn == "exp")
        x = std::exp(x);
      else if (fn == "ln")
        x = std::log(x);
      else if (fn == "log2")
        x = std::log2(x);
      else if (fn == "log10")
        x = std::log10(x);
      else if (fn == "sqrt")
        x = std::sqrt(x);
      else if (fn == "sgn")
        x = x > 0 ? 1 : x < 0 ? -1 : x;
      else if (fn == "timestamp")
        x = static_cast<double>(s.ts.empty() ? times_[i] : s.ts[i]) / 1000;
      else if (fn == "round") {
        const double to = args.size() > 1 ? args[1].scalar[i] : 1;
        const double inv = 1.0 / to;
        x = std::floor(x * inv + 0.5) / inv;
      } else if (fn == "clamp") {
        const double lo = args[1].scalar[i];
        const double hi = args[2].scalar[i];
        if (hi < lo)
          s.has[i] = 0;
        else
          x = std::max(lo, std::min(hi, x));
      } else if (fn == "clamp_min") {
        x = std::max(args[1].scalar[i], x);
      } else if (fn == "clamp_max") {
        x = std::min(args[1].scalar[i], x);
      } else {
        x = CivilPart(fn, x);
      }
    }
  }
  std::erase_if(v.series, [](const StepSeries& s) { return !HasAny(s); });
  return v;
}

}  // namespace candor::store::engine_internal

#include "store/engine.h"

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status.h"
#include "store/engine_internal.h"
#include "store/promql.h"
#include "store/rollup.h"

namespace candor::store {

const char* ValueTypeName(ValueType t) {
  switch (t) {
    case ValueType::kScalar:
      return "scalar";
    case ValueType::kVector:
      return "vector";
    case ValueType::kMatrix:
      return "matrix";
    case ValueType::kString:
      return "string";
  }
  return "unknown";
}

namespace engine_internal {
namespace {

bool IsComparison(BinaryOp op) {
  return op == BinaryOp::kEq || op == BinaryOp::kNe || op == BinaryOp::kGt || op == BinaryOp::kLt ||
         op == BinaryOp::kGe || op == BinaryOp::kLe;
}

// Applies an arithmetic or comparison operator; for comparisons returns 1/0 and sets *keep.
double Apply(BinaryOp op, double l, double r, bool* keep) {
  *keep = true;
  switch (op) {
    case BinaryOp::kAdd:
      return l + r;
    case BinaryOp::kSub:
      return l - r;
    case BinaryOp::kMul:
      return l * r;
    case BinaryOp::kDiv:
      return l / r;
    case BinaryOp::kMod:
      return std::fmod(l, r);
    case BinaryOp::kPow:
      return std::pow(l, r);
    case BinaryOp::kEq:
      *keep = l == r;
      break;
    case BinaryOp::kNe:
      *keep = l != r;
      break;
    case BinaryOp::kGt:
      *keep = l > r;
      break;
    case BinaryOp::kLt:
      *keep = l < r;
      break;
    case BinaryOp::kGe:
      *keep = l >= r;
      break;
    case BinaryOp::kLe:
      *keep = l <= r;
      break;
    default:
      break;
  }
  return *keep ? 1 : 0;
}

LabelSet Signature(const LabelSet& l, const VectorMatching& m) {
  if (m.on) return l.Only(m.labels);
  std::vector<std::string> drop = m.labels;
  drop.emplace_back(kMetricNameLabel);
  return l.Without(drop);
}

struct GroupAcc {
  double sum = 0;
  double count = 0;
  double min = 0;
  double max = 0;
  double mean = 0;  // Welford.
  double m2 = 0;
  bool any = false;
  std::shared_ptr<Histogram> hist;
  bool floats = false;
};

}  // namespace

LabelSet DropName(const LabelSet& l) { return l.With(kMetricNameLabel, ""); }

Value ScalarValue(size_t n, double v) {
  Value out;
  out.type = ValueType::kScalar;
  out.scalar.assign(n, v);
  return out;
}

double PromQuantile(double q, std::vector<double>* values) {
  if (values->empty()) return NAN;
  if (q < 0) return -INFINITY;
  if (q > 1) return INFINITY;
  std::sort(values->begin(), values->end());
  const double n = static_cast<double>(values->size());
  const double rank = q * (n - 1);
  const double lower = std::max(0.0, std::floor(rank));
  const double upper = std::min(n - 1, lower + 1);
  const double weight = rank - std::floor(rank);
  return (*values)[static_cast<size_t>(lower)] * (1 - weight) +
         (*values)[static_cast<size_t>(upper)] * weight;
}

double BucketQuantile(double q, std::vector<std::pair<double, double>>* b) {
  if (std::isnan(q)) return NAN;
  if (q < 0) return -INFINITY;
  if (q > 1) return INFINITY;
  if (b->empty()) return NAN;
  std::sort(b->begin(), b->end());
  if (!std::isinf(b->back().first) || b->back().first < 0) return NAN;
  std::vector<std::pair<double, double>> c;  // Coalesced equal bounds, monotonic counts.
  for (const auto& x : *b) {
    if (!c.empty() && c.back().first == x.first) {
      c.back().second += x.second;
    } else {
      c.push_back(x);
    }
  }
  double max = -INFINITY;
  for (auto& x : c) {
    if (x.second < max) x.second = max;
    max = std::max(max, x.second);
  }
  if (c.size() < 2) return NAN;
  const double observations = c.back().second;
  if (observations == 0) return NAN;
  double rank = q * observations;
  size_t i = 0;
  while (i < c.size() - 1 && c[i].second < rank) ++i;
  if (i == c.size() - 1) return c[c.size() - 2].first;
  if (i == 0 && c[0].first <= 0) return c[0].first;
  double start = 0;
  const double end = c[i].first;
  double count = c[i].second;
  if (i > 0) {
    start = c[i - 1].first;
    count -= c[i - 1].second;
    rank -= c[i - 1].second;
  }
  return start + (end - start) * (rank / count);
}

Evaluation::Evaluation(const SeriesStore& store, Clock& clock, const EngineOptions& options,
                       int64_t start, int64_t end, int64_t step)
    : store_(store), clock_(clock), options_(options), step_(step) {
  for (int64_t t = start; t <= end; t += step) times_.push_back(t);
  deadline_ = clock_.MonotonicNow() + options_.timeout;
}

absl::Status Evaluation::CheckDeadline() const {
  if (clock_.MonotonicNow() > deadline_) {
    return absl::DeadlineExceededError("query timed out in expression evaluation");
  }
  return absl::OkStatus();
}

ReadOptions Evaluation::ReadOptionsFor(const Expr& selector, bool allow_rollup) const {
  ReadOptions ro;
  if (!allow_rollup) return ro;
  const int64_t range = selector.range_ms;
  if (times_.size() == 1) {
    // An instant query over a long window: rollups whose interval is at most 1/72 of the
    // window, so the windows' edges move by at most 1.4 % of their length.
    if (range >= 72 * ResolutionStepMs(Resolution::k1h)) {
      ro.resolution = Resolution::k1h;
    } else if (range >= 72 * ResolutionStepMs(Resolution::k5m)) {
      ro.resolution = Resolution::k5m;
    }
    return ro;
  }
  auto qualifies = [&](absl::Duration min) {
    const int64_t m = absl::ToInt64Milliseconds(min);
    return range >= m && step_ >= m;
  };
  if (qualifies(options_.rollup_1h_min_step)) {
    ro.resolution = Resolution::k1h;
  } else if (qualifies(options_.rollup_5m_min_step)) {
    ro.resolution = Resolution::k5m;
  }
  return ro;
}

absl::StatusOr<std::vector<SeriesData>> Evaluation::Load(const Expr& selector, int64_t mint,
                                                         int64_t maxt, bool allow_rollup) {
  CANDOR_RETURN_IF_ERROR(CheckDeadline());
  CANDOR_ASSIGN_OR_RETURN(
      std::vector<SeriesData> data,
      store_.Select(selector.matchers, mint, maxt, ReadOptionsFor(selector, allow_rollup)));
  for (const SeriesData& d : data) {
    samples_read_ += static_cast<int64_t>(d.samples.size() + d.histograms.size());
  }
  if (samples_read_ > options_.max_samples) {
    return absl::ResourceExhaustedError(
        "query processing would load too many samples into memory in query execution");
  }
  return data;
}

absl::Status Evaluation::LoadEach(const Expr& selector, int64_t mint, int64_t maxt,
                                  bool allow_rollup, bool histogram_columns,
                                  const std::function<absl::Status(SeriesData&)>& fn) {
  CANDOR_RETURN_IF_ERROR(CheckDeadline());
  ReadOptions ro = ReadOptionsFor(selector, allow_rollup);
  ro.histogram_columns = histogram_columns;
  return store_.SelectEach(selector.matchers, mint, maxt, ro, [&](SeriesData& d) -> absl::Status {
    samples_read_ += static_cast<int64_t>(d.samples.size() + d.histograms.size());
    for (const HistogramColumns& c : d.histogram_columns)
      samples_read_ += static_cast<int64_t>(c.size());
    if (samples_read_ > options_.max_samples) {
      return absl::ResourceExhaustedError(
          "query processing would load too many samples into memory in query execution");
    }
    CANDOR_RETURN_IF_ERROR(CheckDeadline());
    return fn(d);
  });
}

absl::StatusOr<Value> Evaluation::Eval(const Expr& e) {
  switch (e.kind) {
    case ExprKind::kNumber:
      return ScalarValue(steps(), e.number);
    case ExprKind::kString: {
      Value v;
      v.type = ValueType::kString;
      v.str = e.text;
      return v;
    }
    case ExprKind::kVectorSelector:
      return EvalVectorSelector(e);
    case ExprKind::kMatrixSelector:
      return EvalMatrixSelectorInstant(e);
    case ExprKind::kCall:
      return EvalCall(e);
    case ExprKind::kAggregate:
      return EvalAggregate(e);
    case ExprKind::kBinary:
      return EvalBinary(e);
    case ExprKind::kUnaryMinus: {
      CANDOR_ASSIGN_OR_RETURN(Value v, Eval(*e.args[0]));
      if (v.type == ValueType::kScalar) {
        for (double& x : v.scalar) x = -x;
        return v;
      }
      for (StepSeries& s : v.series) {
        s.labels = DropName(s.labels);
        for (size_t i = 0; i < s.v.size(); ++i) {
          if (s.HasHistogram(i)) {
            auto h = std::make_shared<Histogram>(*s.h[i]);
            h->Scale(-1);
            s.h[i] = h;
          } else {
            s.v[i] = -s.v[i];
          }
        }
      }
      return v;
    }
  }
  return absl::InternalError("unknown expression kind");
}

absl::StatusOr<Value> Evaluation::EvalVectorSelector(const Expr& e) {
  const int64_t lookback = absl::ToInt64Milliseconds(options_.lookback_delta);
  Value out;
  out.type = ValueType::kVector;
  const size_t n = steps();
  const absl::Status status =
      LoadEach(e, times_.front() - e.offset_ms - lookback, times_.back() - e.offset_ms, false,
               false, [&](SeriesData& d) {
                 StepSeries s;
                 s.Init(n);
                 s.ts.assign(n, 0);
                 size_t fi = 0;
                 size_t hi = 0;
                 bool any = false;
                 for (size_t i = 0; i < n; ++i) {
                   const int64_t t = times_[i] - e.offset_ms;
                   while (fi < d.samples.size() && d.samples[fi].t <= t) ++fi;
                   while (hi < d.histograms.size() && d.histograms[hi].t <= t) ++hi;
                   const Sample* f = fi > 0 ? &d.samples[fi - 1] : nullptr;
                   const HistogramSample* h = hi > 0 ? &d.histograms[hi - 1] : nullptr;
                   if (f != nullptr && h != nullptr) {
                     if (f->t >= h->t) {
                       h = nullptr;
                     } else {
                       f = nullptr;
                     }
                   }
                   const int64_t st = f != nullptr ? f->t : h != nullptr ? h->t : INT64_MIN;
                   if (st == INT64_MIN || st < t - lookback) continue;
                   if (f != nullptr) {
                     if (IsStaleMarker(f->v)) continue;
                     s.SetFloat(i, f->v);
                   } else {
                     s.SetHistogram(i, std::make_shared<const Histogram>(h->h));
                   }
                   s.ts[i] = st;
                   any = true;
                 }
                 if (any) {
                   s.labels = d.labels;
                   out.series.push_back(std::move(s));
                 }
                 return absl::OkStatus();
               });
  CANDOR_RETURN_IF_ERROR(status);
  return out;
}

absl::StatusOr<Value> Evaluation::EvalMatrixSelectorInstant(const Expr& e) {
  if (steps() != 1) {
    return absl::InvalidArgumentError(
        "invalid expression type \"range vector\" for range query, must be Scalar or instant "
        "Vector");
  }
  const int64_t t = times_[0] - e.offset_ms;
  CANDOR_ASSIGN_OR_RETURN(std::vector<SeriesData> data, Load(e, t - e.range_ms, t, false));
  Value out;
  out.type = ValueType::kMatrix;
  for (SeriesData& d : data) {
    MatrixSeries m;
    m.labels = std::move(d.labels);
    size_t hi = 0;
    for (const Sample& s : d.samples) {
      while (hi < d.histograms.size() && d.histograms[hi].t < s.t) {
        m.points.push_back(
            {d.histograms[hi].t, 0, std::make_shared<const Histogram>(d.histograms[hi].h)});
        ++hi;
      }
      if (!IsStaleMarker(s.v)) m.points.push_back({s.t, s.v, nullptr});
    }
    for (; hi < d.histograms.size(); ++hi) {
      m.points.push_back(
          {d.histograms[hi].t, 0, std::make_shared<const Histogram>(d.histograms[hi].h)});
    }
    if (!m.points.empty()) out.matrix.push_back(std::move(m));
  }
  return out;
}

absl::StatusOr<Value> Evaluation::EvalAggregate(const Expr& e) {
  CANDOR_ASSIGN_OR_RETURN(Value in, Eval(*e.args[0]));
  Value param;
  if (e.args.size() > 1) {
    CANDOR_ASSIGN_OR_RETURN(param, Eval(*e.args[1]));
  }
  const std::string& op = e.text;
  const size_t n = steps();
  std::vector<std::string> drop = e.grouping;
  drop.emplace_back(kMetricNameLabel);
  // Group of each input series.
  absl::flat_hash_map<LabelSet, size_t> group_index;
  std::vector<LabelSet> group_labels;
  std::vector<size_t> group_of(in.series.size());
  for (size_t s = 0; s < in.series.size(); ++s) {
    LabelSet key =
        e.without ? in.series[s].labels.Without(drop) : in.series[s].labels.Only(e.grouping);
    auto [it, inserted] = group_index.try_emplace(key, group_labels.size());
    if (inserted) group_labels.push_back(std::move(key));
    group_of[s] = it->second;
  }
  const size_t groups = group_labels.size();
  Value out;
  out.type = ValueType::kVector;

  if (op == "topk" || op == "bottomk") {
    const bool top = op == "topk";
    std::vector<StepSeries> res(in.series.size());
    for (size_t s = 0; s < in.series.size(); ++s) {
      res[s].labels = in.series[s].labels;
      res[s].Init(n);
    }
    std::vector<std::vector<size_t>> members(groups);
    for (size_t s = 0; s < in.series.size(); ++s) members[group_of[s]].push_back(s);
    for (size_t i = 0; i < n; ++i) {
      const double kf = param.scalar[i];
      if (!(kf >= 1)) continue;
      const auto k = static_cast<size_t>(std::min(kf, 1e9));
      for (const auto& m : members) {
        std::vector<size_t> present;
        for (size_t s : m) {
          if (in.series[s].has[i] && !in.series[s].HasHistogram(i)) present.push_back(s);
        }
        auto better = [&](size_t a, size_t b) {
          const double x = in.series[a].v[i];
          const double y = in.series[b].v[i];
          if (std::isnan(x)) return false;
          if (std::isnan(y)) return true;
          return top ? x > y : x < y;
        };
        const size_t take = std::min(k, present.size());
        std::partial_sort(present.begin(), present.begin() + static_cast<ptrdiff_t>(take),
                          present.end(), better);
        for (size_t j = 0; j < take; ++j) res[present[j]].SetFloat(i, in.series[present[j]].v[i]);
      }
    }
    for (StepSeries& s : res) {
      if (std::find(s.has.begin(), s.has.end(), 1) != s.has.end())
        out.series.push_back(std::move(s));
    }
    return out;
  }

  if (op == "count_values") {
    const std::string& label = param.str;
    if (!IsValidLabelName(label)) {
      return absl::InvalidArgumentError(absl::StrCat("invalid label name \"", label, "\""));
    }
    absl::flat_hash_map<LabelSet, size_t> index;
    for (size_t i = 0; i < n; ++i) {
      for (size_t s = 0; s < in.series.size(); ++s) {
        if (!in.series[s].has[i] || in.series[s].HasHistogram(i)) continue;
        LabelSet l = group_labels[group_of[s]].With(label, absl::StrCat(in.series[s].v[i]));
        auto [it, inserted] = index.try_emplace(l, out.series.size());
        if (inserted) {
          out.series.emplace_back();
          out.series.back().labels = std::move(l);
          out.series.back().Init(n);
        }
        StepSeries& o = out.series[it->second];
        o.v[i] += 1;
        o.has[i] = 1;
      }
    }
    return out;
  }

  if (op == "quantile") {
    out.series.resize(groups);
    for (size_t g = 0; g < groups; ++g) {
      out.series[g].labels = group_labels[g];
      out.series[g].Init(n);
    }
    std::vector<std::vector<double>> vals(groups);
    for (size_t i = 0; i < n; ++i) {
      for (auto& v : vals) v.clear();
      for (size_t s = 0; s < in.series.size(); ++s) {
        if (in.series[s].has[i] && !in.series[s].HasHistogram(i))
          vals[group_of[s]].push_back(in.series[s].v[i]);
      }
      for (size_t g = 0; g < groups; ++g) {
        if (!vals[g].empty()) out.series[g].SetFloat(i, PromQuantile(param.scalar[i], &vals[g]));
      }
    }
    return out;
  }

  std::vector<GroupAcc> acc(groups);
  out.series.resize(groups);
  for (size_t g = 0; g < groups; ++g) {
    out.series[g].labels = group_labels[g];
    out.series[g].Init(n);
  }
  for (size_t i = 0; i < n; ++i) {
    for (GroupAcc& a : acc) a = GroupAcc{};
    for (size_t s = 0; s < in.series.size(); ++s) {
      const StepSeries& x = in.series[s];
      if (!x.has[i]) continue;
      GroupAcc& a = acc[group_of[s]];
      if (x.HasHistogram(i)) {
        if (op == "sum" || op == "avg") {
          if (a.hist == nullptr) {
            a.hist = std::make_shared<Histogram>(*x.h[i]);
          } else {
            a.hist->Add(*x.h[i]);
          }
        }
        a.count += 1;
        continue;
      }
      const double v = x.v[i];
      if (!a.floats) {
        a.min = a.max = v;
      } else {
        if (a.min > v || std::isnan(a.min)) a.min = v;
        if (a.max < v || std::isnan(a.max)) a.max = v;
      }
      a.floats = true;
      a.sum += v;
      a.count += 1;
      const double delta = v - a.mean;
      a.mean += delta / a.count;
      a.m2 += delta * (v - a.mean);
    }
    for (size_t g = 0; g < groups; ++g) {
      GroupAcc& a = acc[g];
      if (a.count == 0) continue;
      StepSeries& o = out.series[g];
      if (op == "count") {
        o.SetFloat(i, a.count);
      } else if (op == "group") {
        o.SetFloat(i, 1);
      } else if (!a.floats) {
        if (a.hist != nullptr) {
          if (op == "avg") a.hist->Scale(1 / a.count);
          if (op == "sum" || op == "avg") o.SetHistogram(i, a.hist);
        }
      } else if (op == "sum") {
        o.SetFloat(i, a.sum);
      } else if (op == "avg") {
        o.SetFloat(i, a.sum / a.count);
      } else if (op == "min") {
        o.SetFloat(i, a.min);
      } else if (op == "max") {
        o.SetFloat(i, a.max);
      } else if (op == "stddev") {
        o.SetFloat(i, std::sqrt(a.m2 / a.count));
      } else if (op == "stdvar") {
        o.SetFloat(i, a.m2 / a.count);
      }
    }
  }
  std::erase_if(out.series, [](const StepSeries& s) {
    return std::find(s.has.begin(), s.has.end(), 1) == s.has.end();
  });
  return out;
}

absl::StatusOr<Value> Evaluation::EvalBinary(const Expr& e) {
  CANDOR_ASSIGN_OR_RETURN(Value lhs, Eval(*e.args[0]));
  CANDOR_ASSIGN_OR_RETURN(Value rhs, Eval(*e.args[1]));
  const size_t n = steps();
  const bool cmp = IsComparison(e.op);
  bool keep = true;
  if (lhs.type == ValueType::kScalar && rhs.type == ValueType::kScalar) {
    Value out = ScalarValue(n, 0);
    for (size_t i = 0; i < n; ++i) out.scalar[i] = Apply(e.op, lhs.scalar[i], rhs.scalar[i], &keep);
    if (!cmp) return out;
    return out;  // Scalar comparisons always carry bool (the parser enforces it).
  }
  const bool drop_name = !cmp || e.return_bool;
  if (lhs.type == ValueType::kScalar || rhs.type == ValueType::kScalar) {
    const bool vec_left = lhs.type == ValueType::kVector;
    Value& vec = vec_left ? lhs : rhs;
    const Value& sc = vec_left ? rhs : lhs;
    for (StepSeries& s : vec.series) {
      if (drop_name) s.labels = DropName(s.labels);
      for (size_t i = 0; i < n; ++i) {
        if (!s.has[i]) continue;
        if (s.HasHistogram(i)) {
          s.has[i] = 0;  // Histogram-scalar arithmetic is not supported.
          continue;
        }
        const double l = vec_left ? s.v[i] : sc.scalar[i];
        const double r = vec_left ? sc.scalar[i] : s.v[i];
        const double res = Apply(e.op, l, r, &keep);
        if (!cmp) {
          s.v[i] = res;
        } else if (e.return_bool) {
          s.v[i] = keep ? 1 : 0;
        } else if (!keep) {
          s.has[i] = 0;
        }
      }
    }
    std::erase_if(vec.series, [](const StepSeries& s) {
      return std::find(s.has.begin(), s.has.end(), 1) == s.has.end();
    });
    return std::move(vec);
  }

  // Vector-vector.
  Value out;
  out.type = ValueType::kVector;
  const VectorMatching& m = e.matching;
  std::vector<LabelSet> lsig(lhs.series.size());
  std::vector<LabelSet> rsig(rhs.series.size());
  for (size_t i = 0; i < lhs.series.size(); ++i) lsig[i] = Signature(lhs.series[i].labels, m);
  for (size_t i = 0; i < rhs.series.size(); ++i) rsig[i] = Signature(rhs.series[i].labels, m);
  absl::flat_hash_map<LabelSet, std::vector<size_t>> rby;
  for (size_t i = 0; i < rhs.series.size(); ++i) rby[rsig[i]].push_back(i);

  if (e.op == BinaryOp::kAnd || e.op == BinaryOp::kUnless) {
    for (size_t l = 0; l < lhs.series.size(); ++l) {
      StepSeries& s = lhs.series[l];
      auto it = rby.find(lsig[l]);
      for (size_t i = 0; i < n; ++i) {
        if (!s.has[i]) continue;
        bool match = false;
        if (it != rby.end()) {
          for (size_t r : it->second) match |= rhs.series[r].has[i] != 0;
        }
        if (match != (e.op == BinaryOp::kAnd)) s.has[i] = 0;
      }
      if (std::find(s.has.begin(), s.has.end(), 1) != s.has.end())
        out.series.push_back(std::move(s));
    }
    return out;
  }
  if (e.op == BinaryOp::kOr) {
    absl::flat_hash_map<LabelSet, std::vector<uint8_t>> lhs_present;
    for (size_t l = 0; l < lhs.series.size(); ++l) {
      auto& p = lhs_present[lsig[l]];
      p.resize(n, 0);
      for (size_t i = 0; i < n; ++i) p[i] |= lhs.series[l].has[i];
    }
    for (StepSeries& s : lhs.series) out.series.push_back(std::move(s));
    for (size_t r = 0; r < rhs.series.size(); ++r) {
      StepSeries& s = rhs.series[r];
      auto it = lhs_present.find(rsig[r]);
      if (it != lhs_present.end()) {
        for (size_t i = 0; i < n; ++i) {
          if (it->second[i]) s.has[i] = 0;
        }
      }
      if (std::find(s.has.begin(), s.has.end(), 1) != s.has.end())
        out.series.push_back(std::move(s));
    }
    return out;
  }

  // Arithmetic and comparisons: the "one" side is rhs unless group_right.
  const bool swap = m.card == Cardinality::kOneToMany;
  const std::vector<StepSeries>& many = swap ? rhs.series : lhs.series;
  const std::vector<StepSeries>& one = swap ? lhs.series : rhs.series;
  const std::vector<LabelSet>& many_sig = swap ? rsig : lsig;
  const std::vector<LabelSet>& one_sig = swap ? lsig : rsig;
  absl::flat_hash_map<LabelSet, std::vector<size_t>> one_by;
  for (size_t i = 0; i < one.size(); ++i) one_by[one_sig[i]].push_back(i);
  absl::flat_hash_map<LabelSet, size_t> out_index;
  // For one-to-one, each signature may appear once per step on the left as well.
  absl::flat_hash_map<LabelSet, std::vector<uint8_t>> seen;
  for (size_t a = 0; a < many.size(); ++a) {
    auto it = one_by.find(many_sig[a]);
    if (it == one_by.end()) continue;
    CANDOR_RETURN_IF_ERROR(CheckDeadline());
    absl::flat_hash_map<size_t, size_t> pair_out;  // one-side index -> output series.
    for (size_t i = 0; i < n; ++i) {
      if (!many[a].has[i] || many[a].HasHistogram(i)) continue;
      size_t match = SIZE_MAX;
      for (size_t b : it->second) {
        if (!one[b].has[i] || one[b].HasHistogram(i)) continue;
        if (match != SIZE_MAX) {
          return absl::InvalidArgumentError(
              absl::StrCat("found duplicate series for the match group ", many_sig[a].ToString(),
                           " on the ", swap ? "left" : "right",
                           " hand-side of the operation; many-to-many matching not allowed: "
                           "matching labels must be unique on one side"));
        }
        match = b;
      }
      if (match == SIZE_MAX) continue;
      if (m.card == Cardinality::kOneToOne) {
        auto& sv = seen[many_sig[a]];
        sv.resize(n, 0);
        if (sv[i]) {
          return absl::InvalidArgumentError(
              absl::StrCat("found duplicate series for the match group ", many_sig[a].ToString(),
                           " on the left hand-side of the operation; many-to-many matching not "
                           "allowed: matching labels must be unique on one side"));
        }
        sv[i] = 1;
      }
      const double l = swap ? one[match].v[i] : many[a].v[i];
      const double r = swap ? many[a].v[i] : one[match].v[i];
      const double res = Apply(e.op, l, r, &keep);
      double value;
      if (!cmp) {
        value = res;
      } else if (e.return_bool) {
        value = keep ? 1 : 0;
      } else if (keep) {
        value = l;
      } else {
        continue;
      }
      auto po = pair_out.find(match);
      if (po == pair_out.end()) {
        LabelSet labels = many[a].labels;
        if (drop_name) labels = DropName(labels);
        if (m.card == Cardinality::kOneToOne) {
          if (m.on) {
            labels = labels.Only(m.labels);
          } else {
            labels = labels.Without(m.labels);
          }
        }
        for (const std::string& inc : m.include)
          labels = labels.With(inc, one[match].labels.Get(inc));
        auto [oi, inserted] = out_index.try_emplace(labels, out.series.size());
        if (inserted) {
          out.series.emplace_back();
          out.series.back().labels = std::move(labels);
          out.series.back().Init(n);
        }
        po = pair_out.emplace(match, oi->second).first;
      }
      StepSeries& o = out.series[po->second];
      if (o.has[i]) {
        return absl::InvalidArgumentError(
            "multiple matches for labels: grouping labels must ensure unique matches");
      }
      o.SetFloat(i, value);
    }
  }
  return out;
}

}  // namespace engine_internal

using engine_internal::Evaluation;
using engine_internal::StepSeries;
using engine_internal::Value;

QueryEngine::QueryEngine(const SeriesStore& store, Clock& clock, EngineOptions options)
    : store_(store), clock_(clock), options_(options) {}

absl::StatusOr<QueryResult> QueryEngine::Instant(std::string_view promql, int64_t t_ms) const {
  CANDOR_ASSIGN_OR_RETURN(ExprPtr expr, ParsePromQL(promql));
  Evaluation ev(store_, clock_, options_, t_ms, t_ms, 1);
  CANDOR_ASSIGN_OR_RETURN(Value v, ev.Eval(*expr));
  QueryResult r;
  r.type = v.type;
  r.samples_read = ev.samples_read();
  switch (v.type) {
    case ValueType::kScalar:
      r.scalar = {t_ms, v.scalar[0], nullptr};
      break;
    case ValueType::kString:
      r.string_value = v.str;
      r.scalar.t = t_ms;
      break;
    case ValueType::kMatrix:
      r.matrix = std::move(v.matrix);
      std::sort(r.matrix.begin(), r.matrix.end(),
                [](const MatrixSeries& a, const MatrixSeries& b) { return a.labels < b.labels; });
      break;
    case ValueType::kVector:
      for (StepSeries& s : v.series) {
        if (!s.has[0]) continue;
        r.vector.push_back(
            {std::move(s.labels), {t_ms, s.v[0], s.HasHistogram(0) ? s.h[0] : nullptr}});
      }
      break;
  }
  return r;
}

absl::StatusOr<QueryResult> QueryEngine::Range(std::string_view promql, int64_t start_ms,
                                               int64_t end_ms, int64_t step_ms) const {
  if (step_ms <= 0) {
    return absl::InvalidArgumentError(
        "zero or negative query resolution step widths are not accepted. Try a positive integer");
  }
  if (end_ms < start_ms)
    return absl::InvalidArgumentError("end timestamp must not be before start time");
  if ((end_ms - start_ms) / step_ms > options_.max_points_per_series) {
    return absl::InvalidArgumentError(
        "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query "
        "resolution (?step=XX)");
  }
  CANDOR_ASSIGN_OR_RETURN(ExprPtr expr, ParsePromQL(promql));
  if (expr->type != ValueType::kScalar && expr->type != ValueType::kVector) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid expression type \"", expr->type == ValueType::kMatrix ? "range vector" : "string",
        "\" for range query, must be Scalar or instant Vector"));
  }
  Evaluation ev(store_, clock_, options_, start_ms, end_ms, step_ms);
  CANDOR_ASSIGN_OR_RETURN(Value v, ev.Eval(*expr));
  QueryResult r;
  r.type = ValueType::kMatrix;
  r.samples_read = ev.samples_read();
  if (v.type == ValueType::kScalar) {
    MatrixSeries m;
    for (size_t i = 0; i < ev.steps(); ++i) m.points.push_back({ev.time(i), v.scalar[i], nullptr});
    r.matrix.push_back(std::move(m));
    return r;
  }
  for (StepSeries& s : v.series) {
    MatrixSeries m;
    m.labels = std::move(s.labels);
    m.points.reserve(static_cast<size_t>(std::count(s.has.begin(), s.has.end(), 1)));
    for (size_t i = 0; i < ev.steps(); ++i) {
      if (s.has[i]) m.points.push_back({ev.time(i), s.v[i], s.HasHistogram(i) ? s.h[i] : nullptr});
    }
    if (!m.points.empty()) r.matrix.push_back(std::move(m));
  }
  std::sort(r.matrix.begin(), r.matrix.end(),
            [](const MatrixSeries& a, const MatrixSeries& b) { return a.labels < b.labels; });
  // Two series with the same labels after evaluation: Prometheus reports the same error.
  for (size_t i = 1; i < r.matrix.size(); ++i) {
    if (r.matrix[i].labels == r.matrix[i - 1].labels) {
      return absl::InvalidArgumentError("vector cannot contain metrics with the same labelset");
    }
  }
  return r;
}

absl::StatusOr<std::vector<VectorElement>> QueryEngine::WindowQuantile(
    const std::vector<LabelMatcher>& matchers, double q, int64_t end_ms, absl::Duration window,
    const std::vector<std::string>& by) const {
  std::vector<std::string> parts;
  for (const LabelMatcher& m : matchers) parts.push_back(m.ToString());
  const std::string query =
      absl::StrCat("histogram_quantile(", q, ", sum by (", absl::StrJoin(by, ", "), ") (increase({",
                   absl::StrJoin(parts, ", "), "}[", absl::ToInt64Milliseconds(window), "ms])))");
  CANDOR_ASSIGN_OR_RETURN(QueryResult r, Instant(query, end_ms));
  return std::move(r.vector);
}

}  // namespace candor::store

#include "detectors/anomaly_scorer.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"

namespace candor::detectors {
namespace {

// Events map their strength s (weighted excess, in ranges) to 0.5 + 0.5 s / (s + kStrengthScale).
constexpr double kStrengthScale = 0.1;
// Between events the score is kBackground times the closeness to a range edge.
constexpr double kBackground = 0.4;

absl::Status CheckChannel(int scale, double tolerance, double weight, const char* name) {
  if (scale < 0 || !(tolerance >= 0.0) || !(weight > 0.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("anomaly scorer: ", name, " needs scale >= 0, tolerance >= 0 and weight > 0"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Validate(const AnomalyScorerOptions& o) {
  if (o.warmup < 2) return absl::InvalidArgumentError("anomaly scorer: warmup must be >= 2");
  if (!(o.point_tolerance >= 0.0)) {
    return absl::InvalidArgumentError("anomaly scorer: point_tolerance must be >= 0");
  }
  if (absl::Status s = CheckChannel(o.short_scale, o.short_tolerance, o.short_weight, "short");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckChannel(o.long_scale, o.long_tolerance, o.long_weight, "long");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckChannel(o.season_scale, o.season_tolerance, o.season_weight, "season");
      !s.ok()) {
    return s;
  }
  if (o.season_learn < absl::ZeroDuration() || o.refractory < 0 || o.range_memory < 0) {
    return absl::InvalidArgumentError(
        "anomaly scorer: season_learn, refractory and range_memory must be >= 0");
  }
  return Validate(o.baseline);
}

absl::StatusOr<AnomalyScorer> AnomalyScorer::Create(const AnomalyScorerOptions& options) {
  if (absl::Status s = Validate(options); !s.ok()) return s;
  return AnomalyScorer(options);
}

AnomalyScorer::AnomalyScorer(const AnomalyScorerOptions& options)
    : options_(options),
      point_(1, options.range_memory),
      short_(options.short_scale, options.range_memory),
      long_(options.long_scale, options.range_memory),
      season_(options.season_scale, options.range_memory),
      baseline_(*RobustSeasonalBaseline::Create(options.baseline)) {}

AnomalyScorer::SlidingRange::SlidingRange(int64_t memory)
    : block_size_(memory > 0 ? std::max<int64_t>(1, memory / kBlocks) : 0) {
  cur_lo_ = closed_lo_ = std::numeric_limits<double>::infinity();
  cur_hi_ = closed_hi_ = -std::numeric_limits<double>::infinity();
}

void AnomalyScorer::SlidingRange::Add(double v) {
  ++count_;
  cur_lo_ = std::min(cur_lo_, v);
  cur_hi_ = std::max(cur_hi_, v);
  if (block_size_ > 0 && ++in_block_ == block_size_) CloseBlock();
}

void AnomalyScorer::SlidingRange::CloseBlock() {
  block_lo_[static_cast<size_t>(head_)] = cur_lo_;
  block_hi_[static_cast<size_t>(head_)] = cur_hi_;
  head_ = (head_ + 1) % (kBlocks - 1);
  blocks_ = std::min(blocks_ + 1, kBlocks - 1);
  cur_lo_ = std::numeric_limits<double>::infinity();
  cur_hi_ = -std::numeric_limits<double>::infinity();
  in_block_ = 0;
  closed_lo_ = std::numeric_limits<double>::infinity();
  closed_hi_ = -std::numeric_limits<double>::infinity();
  for (int i = 0; i < blocks_; ++i) {
    closed_lo_ = std::min(closed_lo_, block_lo_[static_cast<size_t>(i)]);
    closed_hi_ = std::max(closed_hi_, block_hi_[static_cast<size_t>(i)]);
  }
}

bool AnomalyScorer::Feed(Channel& c, double v, Judgement* j) {
  c.sum += v;
  c.window.push_back(v);
  if (static_cast<int>(c.window.size()) > c.scale) {
    c.sum -= c.window.front();
    c.window.pop_front();
  }
  if (static_cast<int>(c.window.size()) < c.scale) return false;
  const double m = c.sum / c.scale;
  *j = Judgement{};
  if (!c.range.empty()) {
    const double lo = c.range.lo();
    const double hi = c.range.hi();
    const double width = hi - lo;
    if (width > 0.0) {
      j->excess = std::max({0.0, (m - hi) / width, (lo - m) / width});
      j->closeness = std::clamp(std::fabs(m - 0.5 * (lo + hi)) / (0.5 * width), 0.0, 1.0);
    }
  }
  c.range.Add(m);
  return true;
}

double AnomalyScorer::Update(absl::Time t, double x) {
  if (!std::isfinite(x)) return 0.0;
  const AnomalyScorerOptions& o = options_;
  const Expectation e = baseline_.Expect(t);
  const bool armed = n_ >= o.warmup;
  double strength = 0.0;
  double closeness = 0.0;
  int channel = -1;
  auto judge = [&](Channel& c, double v, double tolerance, double weight, int id, bool live) {
    Judgement j;
    if (c.scale <= 0 || !Feed(c, v, &j) || !live) return;
    closeness = std::max(closeness, j.closeness);
    if (j.excess > tolerance && j.excess * weight > strength) {
      strength = j.excess * weight;
      channel = id;
    }
  };
  judge(point_, x, o.point_tolerance, 1.0, 0, armed);
  judge(short_, x, o.short_tolerance, o.short_weight, 1, armed);
  judge(long_, x, o.long_tolerance, o.long_weight, 2, armed);
  if (e.seasonal) {
    if (season_since_ == absl::InfinitePast()) season_since_ = t;
    judge(season_, x - e.value, o.season_tolerance, o.season_weight, 3,
          armed && t - season_since_ >= o.season_learn);
  }
  baseline_.Update(t, x);
  ++n_;

  const bool refractory = since_event_ <= o.refractory;
  since_event_ = channel >= 0 ? 0 : since_event_ + 1;
  last_channel_ = refractory ? -1 : channel;
  if (channel < 0 || refractory) return kBackground * closeness;
  return 0.5 + 0.5 * strength / (strength + kStrengthScale);
}

}  // namespace candor::detectors

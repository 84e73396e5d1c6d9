#include "detectors/finding.h"

#include <algorithm>
#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace candor::detectors {

std::string_view DirectionName(Direction d) {
  switch (d) {
    case Direction::kNone:
      return "none";
    case Direction::kUp:
      return "up";
    case Direction::kDown:
      return "down";
  }
  return "none";
}

std::string_view SidesName(Sides s) {
  switch (s) {
    case Sides::kBoth:
      return "both";
    case Sides::kUpper:
      return "upper";
    case Sides::kLower:
      return "lower";
  }
  return "both";
}

absl::StatusOr<Sides> ParseSides(std::string_view text) {
  if (text == "both") return Sides::kBoth;
  if (text == "upper") return Sides::kUpper;
  if (text == "lower") return Sides::kLower;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown sides \"", Sv(text), "\" (want both, upper or lower)"));
}

double ThresholdScore(double statistic, double threshold) {
  if (!(threshold > 0.0) || !std::isfinite(statistic)) {
    return std::isinf(statistic) && threshold > 0.0 ? 1.0 : 0.0;
  }
  return std::clamp(std::fabs(statistic) / (2.0 * threshold), 0.0, 1.0);
}

double PValueScore(double p_value, double p_threshold) {
  if (!(p_threshold > 0.0 && p_threshold < 1.0) || std::isnan(p_value)) return 0.0;
  if (p_value <= 0.0) return 1.0;
  if (p_value >= 1.0) return 0.0;
  return std::clamp(std::log(p_value) / (2.0 * std::log(p_threshold)), 0.0, 1.0);
}

}  // namespace candor::detectors

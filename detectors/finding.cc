#include "detectors/finding.h"

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

}  // namespace candor::detectors

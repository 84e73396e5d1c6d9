// String helpers. Debian's Abseil keeps its own absl::string_view (not an alias of
// std::string_view), so absl::StrCat and friends do not accept std::string_view directly:
// wrap with `Sv(x)`.

#ifndef CANDOR_COMMON_STRINGS_H_
#define CANDOR_COMMON_STRINGS_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace candor {

inline absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }
inline std::string_view StdSv(absl::string_view s) { return std::string_view(s.data(), s.size()); }

}  // namespace candor

#endif  // CANDOR_COMMON_STRINGS_H_

// Time conversions used across candor: RFC 3339 text, Unix milliseconds, JSON quoting.

#ifndef CANDOR_COMMON_TIME_UTIL_H_
#define CANDOR_COMMON_TIME_UTIL_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace candor {

// "2026-11-22T10:00:00.123Z" (UTC; fractional seconds only as needed, up to nanoseconds).
std::string FormatRfc3339(absl::Time t);
// Parses RFC 3339 with any offset and optional fractional seconds; InvalidArgumentError
// quoting the text otherwise.
absl::StatusOr<absl::Time> ParseRfc3339(std::string_view text);

inline int64_t ToUnixMillis(absl::Time t) { return absl::ToUnixMillis(t); }
inline absl::Time FromUnixMillis(int64_t ms) { return absl::FromUnixMillis(ms); }

// `s` as a JSON string literal, with quotes and escapes (control characters as \u00XX).
std::string JsonQuote(std::string_view s);
// Appends JsonQuote(s) to `out` (no temporary string, for encoders on hot paths).
void AppendJsonQuoted(std::string_view s, std::string& out);

}  // namespace candor

#endif  // CANDOR_COMMON_TIME_UTIL_H_

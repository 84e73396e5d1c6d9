// Text helpers for strings that leave the process in protobuf messages.
//
// proto3 `string` fields must hold valid UTF-8: a receiver refuses a whole batch otherwise.
// Kernel names, process names and request ids come from outside candor, so they pass through
// these helpers first.
//
// Thread safety: pure functions.

#ifndef CANDOR_CUDA_PROFILER_TEXT_UTIL_H_
#define CANDOR_CUDA_PROFILER_TEXT_UTIL_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace candor::cuda_profiler {

// True if `s` is well-formed UTF-8 (no overlong forms, no surrogates, ≤ U+10FFFF).
bool IsValidUtf8(std::string_view s);

// `s` with every byte that is not part of a well-formed UTF-8 sequence, and every ASCII
// control character, replaced by '?', cut to at most `max_bytes` on a character boundary.
std::string SanitizeText(std::string_view s, size_t max_bytes);

}  // namespace candor::cuda_profiler

#endif  // CANDOR_CUDA_PROFILER_TEXT_UTIL_H_

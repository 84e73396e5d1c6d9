// A stand-in libcupti.so.13 for tests: implements the CUPTI entry points libcandor_cupti.so
// calls, and lets a test play the driver's part — hand out and fill activity buffers through
// the library's own callbacks, report dropped records, refuse a subscription as Nsight would.
//
// Loaded before libcandor_cupti.so (the test links it), it satisfies that library's
// dependency on the soname libcupti.so.13, so the real injection glue runs unchanged.
//
// Thread safety: every function is thread-safe; buffer callbacks are never called with the
// mock's lock held.

#ifndef CANDOR_CUDA_PROFILER_TESTING_MOCK_CUPTI_H_
#define CANDOR_CUDA_PROFILER_TESTING_MOCK_CUPTI_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Back to the initial state: version 130001, subscriptions succeed, every kind enables.
void candor_mock_cupti_reset(void);
void candor_mock_cupti_set_version(uint32_t version);
// cuptiSubscribe_v2 returns `result` (a CUptiResult) and reports `holder` as the subscriber
// already holding CUPTI.
void candor_mock_cupti_set_subscribe_result(int result, const char* holder);
// cuptiActivityEnable(kind) returns `result`.
void candor_mock_cupti_set_enable_result(int kind, int result);
// Asks the library for a buffer through its bufferRequested callback, copies `n` bytes of
// records into it and holds it until the next cuptiActivityFlushAll, which hands it back
// through bufferCompleted. Returns 0, or -1 when the library refused the buffer or it is too
// small, or no callbacks are registered.
int candor_mock_cupti_fill(const uint8_t* bytes, size_t n);
// Adds to the count cuptiActivityGetNumDroppedRecords reports (and resets) next.
void candor_mock_cupti_add_dropped(size_t n);
int candor_mock_cupti_subscribed(void);
// Whether `kind` is currently enabled.
int candor_mock_cupti_enabled(int kind);
int candor_mock_cupti_flush_calls(void);
int candor_mock_cupti_forced_flush_calls(void);
// Depth of the calling thread's external correlation stack, and its top (0 when empty).
size_t candor_mock_cupti_external_depth(void);
uint64_t candor_mock_cupti_external_top(void);

#ifdef __cplusplus
}
#endif

#endif  // CANDOR_CUDA_PROFILER_TESTING_MOCK_CUPTI_H_

// A realistic mix of CUDA activity records for cuda-profiler benchmarks: an LLM decode step's
// kernels (GEMMs, attention, norms, activations), copies, memsets, synchronisation, overhead
// and external correlation, laid out as CUPTI 13.0 writes them.

#ifndef CANDOR_BENCH_CUDA_SYNTHETIC_MIX_H_
#define CANDOR_BENCH_CUDA_SYNTHETIC_MIX_H_

#include <cstddef>
#include <cstdint>

#include "cuda-profiler/testing/synthetic_records.h"

namespace candor::bench {

struct MixStats {
  uint64_t records = 0;
  uint64_t kernels = 0;
};

// Appends records to `out` until it holds at least `target_bytes`, stamped from `t0_ns` on at
// about one record per `spacing_ns`, for `devices` GPUs. Returns what was appended.
MixStats FillMix(cuda_profiler::testing::SyntheticActivityBuffer& out, size_t target_bytes,
                 uint64_t t0_ns, uint64_t spacing_ns, uint32_t devices, uint64_t seed);

}  // namespace candor::bench

#endif  // CANDOR_BENCH_CUDA_SYNTHETIC_MIX_H_

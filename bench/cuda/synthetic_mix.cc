#include "bench/cuda/synthetic_mix.h"

#include <cupti_activity.h>

#include <array>

namespace candor::bench {
namespace {

constexpr std::array<const char*, 16> kKernels = {
    "sm90_xmma_gemm_bf16bf16_bf16f32_f32_tn_n_tilesize128x128x64_warpgroupsize1x1x1_execute_"
    "segment_k_off_kernel__5x_cublas",
    "void flash::flash_fwd_splitkv_kernel<Flash_fwd_kernel_traits<128, 64, 128, 4, false, false, "
    "cutlass::bfloat16_t>, false, true, false, false, true, false, false, false>(Flash_fwd_params)",
    "void vllm::paged_attention_v2_kernel<__nv_bfloat16, __nv_bfloat16, 128, 16, 128, "
    "(vllm::Fp8KVCacheDataType)0, false, 512>",
    "void vllm::rms_norm_kernel<c10::BFloat16>(c10::BFloat16*, c10::BFloat16 const*, "
    "c10::BFloat16 const*, float, int, int)",
    "void vllm::act_and_mul_kernel<c10::BFloat16, &vllm::silu_kernel<c10::BFloat16>, true>",
    "void vllm::rotary_embedding_kernel<c10::BFloat16, true>",
    "void vllm::reshape_and_cache_flash_kernel<__nv_bfloat16, __nv_bfloat16, "
    "(vllm::Fp8KVCacheDataType)0>",
    "void at::native::vectorized_elementwise_kernel<4, at::native::FillFunctor<float>, "
    "at::detail::Array<char*, 1> >(int, at::native::FillFunctor<float>, "
    "at::detail::Array<char*, 1>)",
    "void at::native::reduce_kernel<512, 1, at::native::ReduceOp<float, "
    "at::native::ArgMaxOps<float>, unsigned int, long, 4> >",
    "void cunn_SoftMaxForward<4, float, float, float, Epilogue>",
    "void cublasLt::splitKreduce_kernel<32, 16, int, float, __nv_bfloat16, float>",
    "void vllm::fused_add_rms_norm_kernel<c10::BFloat16, 8>",
    "void at::native::index_elementwise_kernel<128, 4>",
    "ncclDevKernel_AllReduce_Sum_bf16_RING_LL(ncclDevKernelArgsStorage<4096ul>)",
    "void at::native::unrolled_elementwise_kernel<at::native::direct_copy_kernel_cuda>",
    "void topk_kernel<float, 1024>",
};

}  // namespace

MixStats FillMix(cuda_profiler::testing::SyntheticActivityBuffer& out, size_t target_bytes,
                 uint64_t t0_ns, uint64_t spacing_ns, uint32_t devices, uint64_t seed) {
  MixStats st;
  uint64_t x = seed | 1;
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  uint64_t t = t0_ns;
  uint32_t correlation = static_cast<uint32_t>(seed & 0xffff) * 100000;
  while (out.size() < target_bytes) {
    const uint64_t r = next();
    const uint32_t device = static_cast<uint32_t>(r >> 40) % devices;
    const uint64_t dur = 2000 + (r >> 20) % 200000;
    ++correlation;
    const unsigned pick = static_cast<unsigned>(r % 100);
    if (pick < 72) {
      out.Kernel(t, t + dur, device, correlation, kKernels[(r >> 8) % kKernels.size()]);
      ++st.kernels;
    } else if (pick < 84) {
      out.Memcpy(
          t, t + dur, 4096 + (r >> 30) % (1 << 20), device, correlation,
          (r & 0x100) != 0 ? CUPTI_ACTIVITY_MEMCPY_KIND_HTOD : CUPTI_ACTIVITY_MEMCPY_KIND_DTOH);
    } else if (pick < 88) {
      out.Memset(t, t + dur / 4, 1 << 16, device, correlation);
    } else if (pick < 94) {
      out.ExternalCorrelation((r >> 4) % 4096, correlation + 1);
    } else if (pick < 97) {
      out.Sync(t, t + dur, 1, CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_STREAM_SYNCHRONIZE);
    } else {
      out.Overhead(t, t + dur / 8, CUPTI_ACTIVITY_OVERHEAD_CUPTI_INSTRUMENTATION,
                   CUPTI_ACTIVITY_OBJECT_DEVICE, device);
    }
    ++st.records;
    t += spacing_ns;
  }
  return st;
}

}  // namespace candor::bench

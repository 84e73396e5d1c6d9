#include "detectors/fleet_signals.h"

namespace candor::detectors {

std::string_view SignalName(Signal s) {
  switch (s) {
    case Signal::kRequests: return "requests";
    case Signal::kOk: return "requests_ok";
    case Signal::kErrors: return "errors";
    case Signal::kTimeouts: return "timeouts";
    case Signal::kOwnTimeouts: return "own_timeouts";
    case Signal::kRejected: return "rejected";
    case Signal::kCancelled: return "cancelled";
    case Signal::kHttp429: return "http_429";
    case Signal::kHttp5xx: return "http_5xx";
    case Signal::kCircuitOpen: return "circuit_open";
    case Signal::kFallback: return "fallback";
    case Signal::kFeatureDisabled: return "feature_disabled";
    case Signal::kValidationChecked: return "validation_checked";
    case Signal::kValidationFailed: return "validation_failed";
    case Signal::kTruncated: return "truncated";
    case Signal::kSynthetic: return "synthetic";
    case Signal::kSyntheticFailed: return "synthetic_failed";
    case Signal::kPreemptions: return "preemptions";
    case Signal::kLatencyP50: return "latency_p50_ms";
    case Signal::kLatencyP95: return "latency_p95_ms";
    case Signal::kLatencyP99: return "latency_p99_ms";
    case Signal::kServiceP95: return "service_latency_p95_ms";
    case Signal::kTtftP50: return "ttft_p50_ms";
    case Signal::kTtftP95: return "ttft_p95_ms";
    case Signal::kQueueP95: return "queue_p95_ms";
    case Signal::kDecodeTpsP50: return "decode_tps_p50";
    case Signal::kInputTokensP50: return "input_tokens_p50";
    case Signal::kInputTokensMean: return "input_tokens_mean";
    case Signal::kOutputTokensP50: return "output_tokens_p50";
    case Signal::kOutputTokensMean: return "output_tokens_mean";
    case Signal::kQualityMean: return "quality_score_mean";
    case Signal::kKvAtAdmissionMean: return "kv_at_admission_mean";
    case Signal::kReplicaSamples: return "replica_samples";
    case Signal::kQueueDepthMean: return "queue_depth_mean";
    case Signal::kQueueDepthMax: return "queue_depth_max";
    case Signal::kRunningMean: return "running_requests_mean";
    case Signal::kKvUsageMean: return "kv_cache_usage_mean";
    case Signal::kKvUsageMax: return "kv_cache_usage_max";
    case Signal::kPreemptionRate: return "preemptions_per_second";
    case Signal::kFinishedRate: return "requests_finished_per_second";
    case Signal::kGenTokensRate: return "generation_tokens_per_second";
    case Signal::kGpuUtilMean: return "gpu_utilization_mean";
    case Signal::kWarmingFraction: return "warming_fraction";
    case Signal::kNotReadyFraction: return "not_ready_fraction";
    case Signal::kGpuSamples: return "gpu_samples";
    case Signal::kSmClockRatio: return "sm_clock_ratio";
    case Signal::kTemperatureMean: return "temperature_c_mean";
    case Signal::kThrottleFraction: return "throttle_fraction";
    case Signal::kPowerMean: return "power_w_mean";
    case Signal::kXidEvents: return "xid_events";
    case Signal::kEccErrors: return "ecc_uncorrected_errors";
    case Signal::kKernelBusyFraction: return "kernel_busy_fraction";
    case Signal::kItems: return "items";
    case Signal::kCount: break;
  }
  return "unknown";
}

}  // namespace candor::detectors

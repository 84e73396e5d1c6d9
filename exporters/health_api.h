// GET /api/v1/health: performance health per entity over a recent window, answered from the
// series store's derived signals (candor_signal_*, written by the detection pipeline at each
// window end).
//
// Parameters: `window` (Prometheus duration, default 5m, 10s–1d), `time` (Unix seconds or
// RFC 3339; default now), `entity` (one entity, e.g. provider:aws), `kind` (all entities of a
// kind). Response:
//
//   {"status":"success","data":{"time":RFC3339,"window":"5m","objectives":{...},
//    "entities":[{"entity":"provider:aws","kind":"provider","requests":1234,
//      "error_rate":0.004,"availability":0.996,"latency_p95_ms":812,"latency_p99_ms":1430,
//      "ttft_p95_ms":210,"decode_tps_p50":61.5,"queue_depth_mean":2.1,"kv_cache_usage_mean":0.63,
//      "gpu_utilization_mean":0.81,"slo":{"availability":true,"latency_p95":null,
//      "compliant":true}}, ...]}}
//
// Counts are summed over the window; availability is requests_ok / requests and error_rate is
// (errors + timeouts) / requests. Latency, TTFT, decode speed and queue figures are the worst
// window's value in the window (the highest percentile, the lowest decode speed): percentiles
// of different windows cannot be merged exactly and the worst window is what an SLO breaks
// on. A figure with no data is null. `slo` compares availability with
// `availability_objective` and latency_p95_ms with `latency_p95_objective_ms` (0: no latency
// objective, reported as null). GPU memory is not among the derived signals yet, so it is not
// reported here. Bad parameters get 400 with {"status":"error","error":...}.
//
// Thread safety: handlers may run concurrently.

#ifndef CANDOR_EXPORTERS_HEALTH_API_H_
#define CANDOR_EXPORTERS_HEALTH_API_H_

#include "common/clock.h"
#include "common/http.h"
#include "store/engine.h"

namespace candor::exporters {

struct HealthObjectives {
  // Fraction of requests that must succeed. Range (0, 1]. Default: 0.99.
  double availability = 0.99;
  // Highest acceptable P95 latency in ms; 0: no latency objective. Default: 0.
  double latency_p95_ms = 0;
};

// `engine` and `clock` must outlive the handler.
HttpHandler HealthHandler(const store::QueryEngine& engine, Clock& clock,
                          HealthObjectives objectives);

}  // namespace candor::exporters

#endif  // CANDOR_EXPORTERS_HEALTH_API_H_

// Engine profiles: how each serving engine's /metrics page maps to candor's `ReplicaSample`
// and `GpuSample` (DESIGN §3; ../shared/reference/gpu-and-engines.md T5, T7–T11).
//
// A profile is a table per engine: for each canonical field, the metric names that carry it,
// newest name first (alias lists absorb renames across engine versions, e.g. vLLM's
// `gpu_cache_usage_perc` → `kv_cache_usage_perc`), an optional label filter, how series
// combine (sum over data-parallel engines, max over tensor-parallel ranks, mean of fractions)
// and a unit scale. Cumulative counters pass through a `CounterTracker` first, so an engine
// restart (a value that goes down, or a changed `_created`) never makes a summed counter
// decrease: the mapped counters count from the first scrape candor saw, monotonically.
//
// Thread safety: MapPage and DetectEngine are pure; a CounterTracker belongs to one target
// and is used by one thread at a time.

#ifndef CANDOR_COLLECTOR_ENGINE_PROFILES_H_
#define CANDOR_COLLECTOR_ENGINE_PROFILES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "candor/v1/ingest.pb.h"
#include "collector/prom_text.h"

namespace candor::collector {

enum class Engine { kVllm, kSglang, kTgi, kTriton, kDcgm };

// "vllm", "sglang", "tgi", "triton", "dcgm".
std::string_view EngineName(Engine engine);
// Inverse of EngineName (also accepts "trtllm" and "dcgm-exporter"); InvalidArgumentError
// listing the known names otherwise.
absl::StatusOr<Engine> ParseEngine(std::string_view name);
// The engine whose metric prefix (`vllm:`, `sglang:`, `tgi_`, `nv_`, `DCGM_FI_`) most samples
// carry, or nullopt.
std::optional<Engine> DetectEngine(const std::vector<PromSample>& samples);

// Makes cumulative counters of one target monotonic across engine restarts.
class CounterTracker {
 public:
  // Most series remembered; series not seen for `forget_after_scrapes` scrapes are dropped.
  explicit CounterTracker(size_t max_series = 20'000, int forget_after_scrapes = 10)
      : max_series_(max_series), forget_after_(forget_after_scrapes) {}

  // Starts a scrape: `created` maps a series key to its `_created` value where the page
  // has one.
  void BeginScrape() { ++scrape_; }
  // The adjusted (monotonic) value of counter series `key` whose raw value is `raw`.
  double Adjust(const std::string& key, double raw, std::optional<double> created);
  // Ends a scrape: forgets series not seen lately.
  void EndScrape();

  // Resets detected since construction.
  uint64_t resets() const { return resets_; }

 private:
  struct Series {
    double last_raw = 0;
    double offset = 0;
    std::optional<double> created;
    uint64_t seen = 0;
  };
  const size_t max_series_;
  const int forget_after_;
  uint64_t scrape_ = 0;
  uint64_t resets_ = 0;
  absl::flat_hash_map<std::string, Series> series_;
};

// Where a scraped page comes from: stamped on every sample made from it.
struct ScrapeContext {
  Engine engine = Engine::kVllm;
  absl::Time time;
  std::string provider, region, zone, node, replica, gpu, model, model_version;
};

struct MappedPage {
  std::vector<candor::v1::ReplicaSample> replicas;
  std::vector<candor::v1::GpuSample> gpus;
};

// Maps one page's samples with `ctx.engine`'s profile. Serving engines give one
// ReplicaSample (the target's replica, `model` from the config or the page's `model_name`);
// Triton also gives one GpuSample per `gpu_uuid` and dcgm-exporter one per `UUID`. Fields
// the page does not carry stay unset. `counters` may be null (raw counter values pass).
MappedPage MapPage(const ScrapeContext& ctx, const std::vector<PromSample>& samples,
                   CounterTracker* counters);

}  // namespace candor::collector

#endif  // CANDOR_COLLECTOR_ENGINE_PROFILES_H_

// Per-entity signal aggregation in event time.
//
// Every accepted ingest item feeds each entity it names (DESIGN §3–4): an InferenceEvent
// feeds the fleet, its provider, region, zone, node, replica, GPU, model version and route,
// and each dependency it called (with that call's latency and status); a ReplicaSample feeds
// the same placement entities and its model; a GpuSample its node, GPU and placement; a
// KernelSummary its node, GPU, provider and replica; an Annotation the entity it names.
// Items are summed into fixed event-time windows per entity, and a window is closed — turned
// into one detectors::WindowSummary per known entity — when the watermark passes its end.
//
// Event time: an InferenceEvent counts at its finish (timestamp + latency_ms), the moment its
// outcome exists; samples at their timestamp; kernel summaries at interval_end. The pipeline
// sets the watermark to the newest such time minus a small delay, so windows close seconds
// after they end. Arrival disorder is bounded by `allowed_lateness` (≥ 5 minutes): an item
// whose window has already closed but that is no older than the watermark minus the allowed
// lateness is accepted and counted in the oldest open window (closed windows are never
// re-aggregated, because detectors have already consumed them); older items are counted as
// too late and not aggregated. Items far ahead of the newest time are refused, so one bad
// clock cannot close every window at once.
//
// Thread safety: not thread-safe; one pipeline thread owns an aggregator.

#ifndef CANDOR_COLLECTOR_SIGNALS_H_
#define CANDOR_COLLECTOR_SIGNALS_H_

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "candor/v1/ingest.pb.h"
#include "common/entity.h"
#include "detectors/fleet_signals.h"

namespace candor::collector {

struct SignalOptions {
  // Window length. Range 1 s – 5 min. Default: 10 s.
  absl::Duration window = absl::Seconds(10);
  // How far the watermark trails the newest event time. Default: 5 s.
  absl::Duration watermark_delay = absl::Seconds(5);
  // Oldest accepted item, relative to the watermark. At least 5 min. Default: 5 min.
  absl::Duration allowed_lateness = absl::Minutes(5);
  // Items more than this ahead of the newest event time are refused. Default: 10 min.
  absl::Duration max_ahead = absl::Minutes(10);
  // Subsamples kept per window and entity for distribution tests. Default: 256.
  size_t max_samples = 256;
  // Most distinct entities; items naming more are still aggregated for the known ones.
  // Default: 100,000.
  size_t max_entities = 100'000;
  // Longest run of empty windows closed one by one when the data has a gap; longer gaps are
  // skipped. Default: 360 (one hour of 10 s windows).
  int64_t max_gap_windows = 360;
};

struct SignalStats {
  uint64_t items = 0;         // Items aggregated.
  uint64_t late_folded = 0;   // Late items counted in the oldest open window.
  uint64_t too_late = 0;      // Items older than the allowed lateness: not aggregated.
  uint64_t too_new = 0;       // Items too far ahead of the newest time: not aggregated.
  uint64_t entity_limit = 0;  // Entity names refused by the cardinality limit.
  uint64_t bad_items = 0;     // Items with no time or an unparsable annotation entity.
  uint64_t windows_closed = 0;
};

// Receives one closed window: every known entity's summary, sorted by entity.
using WindowSink = std::function<void(absl::Time start, absl::Time end,
                                      std::vector<detectors::WindowSummary> summaries)>;

class SignalAggregator {
 public:
  explicit SignalAggregator(SignalOptions options = {});
  ~SignalAggregator();

  SignalAggregator(const SignalAggregator&) = delete;
  SignalAggregator& operator=(const SignalAggregator&) = delete;

  // Aggregates one item (see the header comment for which entities and which window).
  void Observe(const candor::v1::IngestItem& item);

  // Moves the watermark to `watermark` (it never moves back) and closes, oldest first, every
  // window that ends at or before it, calling `sink` once per window — also for windows in
  // which nothing arrived, so silence is visible.
  void CloseUpTo(absl::Time watermark, const WindowSink& sink);

  // The newest event time seen; InfinitePast before the first item.
  absl::Time max_time() const { return max_time_; }
  // max_time() − watermark_delay; InfinitePast before the first item.
  absl::Time DataWatermark() const;
  absl::Time watermark() const { return watermark_; }
  const SignalStats& stats() const { return stats_; }
  size_t num_entities() const { return entities_.size(); }
  const SignalOptions& options() const { return options_; }

  struct Accum;

 private:
  struct EntityInfo {
    EntityId id;
    std::string model_name;
    std::string replica_model;
    std::string provider;
    std::string node;
    std::string gpu;
  };
  // Records a node's or replica's placement the first time an item states it.
  void NotePlacement(int entity, std::string_view provider, std::string_view node,
                     std::string_view gpu, std::string_view model, std::string_view version);
  struct ReplicaCounters {
    absl::Time time = absl::InfinitePast();
    int64_t preemptions = -1;
    int64_t finished = -1;
    int64_t generated = -1;
  };

  int Intern(EntityKind kind, std::string_view name);
  int InternModel(std::string_view name, std::string_view version);
  int CohortKey(std::string_view name, std::string_view version);
  // The window an item at `t` is counted in, or false if it is refused.
  bool WindowFor(absl::Time t, int64_t& window);
  std::vector<Accum>& Window(int64_t window);
  Accum& At(std::vector<Accum>& accs, int entity);

  void ObserveEvent(const candor::v1::InferenceEvent& e);
  void ObserveReplicaSample(const candor::v1::ReplicaSample& s);
  void ObserveGpuSample(const candor::v1::GpuSample& g);
  void ObserveKernelSummary(const candor::v1::KernelSummary& k);
  void ObserveAnnotation(const candor::v1::Annotation& a);
  void Placement(std::string_view provider, std::string_view region, std::string_view zone,
                 std::string_view node, std::vector<int>& out);

  std::vector<detectors::WindowSummary> Summarize(int64_t window, std::vector<Accum>* accs);
  void Recycle(std::vector<Accum>&& accs);

  SignalOptions options_;
  int64_t window_ms_;
  std::vector<EntityInfo> entities_;
  std::array<absl::flat_hash_map<std::string, int>, 10> by_kind_;
  absl::flat_hash_map<int, ReplicaCounters> replica_counters_;
  absl::flat_hash_map<std::string, int> cohort_index_;
  std::vector<std::string> cohort_keys_;
  std::map<int64_t, std::vector<Accum>> open_;
  std::vector<std::vector<Accum>> free_;
  int64_t cached_window_ = 0;
  std::vector<Accum>* cached_accs_ = nullptr;
  absl::Time max_time_ = absl::InfinitePast();
  absl::Time watermark_ = absl::InfinitePast();
  bool any_closed_ = false;
  int64_t last_closed_ = 0;
  std::string scratch_;
  std::vector<int> targets_;
  SignalStats stats_;
};

}  // namespace candor::collector

#endif  // CANDOR_COLLECTOR_SIGNALS_H_

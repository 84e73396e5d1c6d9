// The simulated fleet's shape: providers, regions, zones, GPU nodes, replicas, models (with a
// canary version), routes and their dependencies, with the static performance figures each
// part starts from. Built deterministically from FleetOptions, so scenario files can name any
// part by its entity text ("replica:llama-aws-1", "node:gcp-gpu-2", "route:search").
//
// Names, for providers p ∈ {aws, gcp, azure} and node i ∈ 1..nodes_per_provider:
//   node:<p>-gpu-<i>, replicas replica:llama-<p>-<i> and replica:mistral-<p>-<i> on it;
//   models model:llama-3-70b@v184 (stable), model:llama-3-70b@v185 (canary, on the last llama
//   replica of the last provider), model:mistral-7b@v0.3, model:gpt-4o-mini@2024-07-18
//   (external, provider:openai); routes chat, search (llama), summarize (mistral), assist
//   (external); dependencies auth (every route), vector-db (search), feature-store (summarize).
//
// Thread safety: plain values.

#ifndef CANDOR_SIM_FLEET_LAYOUT_H_
#define CANDOR_SIM_FLEET_LAYOUT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "sim/scenario.h"

namespace candor::sim {

struct ModelSpec {
  std::string name;           // "llama-3-70b"
  std::string version;        // "v184"
  std::string quantization;   // "fp8"
  std::string release_track;  // "stable" | "canary"
  std::string family;         // Replicas of one family serve the same routes.
  double decode_tps = 50.0;   // Per-request decode tokens/s at low load.
  double prefill_tps = 6000;  // Prompt tokens/s.
  int64_t context_window = 8192;
  bool external = false;  // Served by the external API provider.
};

struct ProviderSpec {
  std::string name;  // "aws"
  std::string region;
  std::vector<std::string> zones;
  bool external = false;
  std::vector<int> nodes;
};

struct NodeSpec {
  std::string name;  // "aws-gpu-1"
  int provider = 0;
  std::string zone;
  std::vector<int> replicas;
};

struct ReplicaSpec {
  std::string name;  // "llama-aws-1"
  int node = 0;
  int model = 0;
  std::string gpu;       // GPU uuid, "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx".
  double speed = 1;      // Static speed factor of this replica's GPU (≈ 1 ± 2 %).
  double capacity = 60;  // Requests/s the replica sustains at full utilisation.
};

struct DependencySpec {
  std::string name;
  double median_ms = 5.0;
  double sigma = 0.3;
};

struct RouteSpec {
  std::string name;
  std::string family;  // Model family serving it.
  std::vector<int> dependencies;
  double rate = 10.0;  // Requests/s at the diurnal mean.
  absl::Duration timeout = absl::Seconds(60);
  double validation_checked = 0.0;  // Share of outputs validated.
  double validation_fail = 0.0;     // Failure rate of validated outputs.
  double fallback = 0.01;           // Base fallback activation rate.
  double input_median = 600;        // Prompt tokens.
  double input_sigma = 0.9;
  double output_median = 180;
  int64_t max_output_tokens = 1024;
  bool quality_scored = false;
};

struct FleetLayout {
  std::vector<ProviderSpec> providers;
  std::vector<NodeSpec> nodes;
  std::vector<ReplicaSpec> replicas;
  std::vector<ModelSpec> models;
  std::vector<RouteSpec> routes;
  std::vector<DependencySpec> dependencies;
  std::vector<std::string> tenants;
  std::vector<double> tenant_weights;

  // Index of the external provider, or -1.
  int external_provider = -1;
  // Entity texts of everything above, for tests ("replica:llama-aws-1", ...).
  std::vector<std::string> EntityNames() const;
};

// The fleet for `options`, deterministic for a given `seed`.
FleetLayout BuildFleetLayout(const FleetOptions& options, uint64_t seed);

}  // namespace candor::sim

#endif  // CANDOR_SIM_FLEET_LAYOUT_H_

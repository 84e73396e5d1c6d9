#include "sim/fleet_layout.h"

#include <array>
#include <cinttypes>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/entity.h"
#include "common/strings.h"
#include "sim/random.h"

namespace candor::sim {
namespace {

struct ProviderTemplate {
  const char* name;
  const char* region;
  const char* zone_a;
  const char* zone_b;
};

constexpr std::array<ProviderTemplate, 3> kProviders = {{
    {"aws", "us-east-1", "us-east-1a", "us-east-1b"},
    {"gcp", "us-central1", "us-central1-a", "us-central1-c"},
    {"azure", "eastus", "eastus-1", "eastus-2"},
}};

std::string GpuUuid(std::string_view node, int index) {
  const uint64_t a = StableHash(absl::StrCat("gpu-a/", Sv(node), "/", index));
  const uint64_t b = StableHash(absl::StrCat("gpu-b/", Sv(node), "/", index));
  char buf[64];
  std::snprintf(buf, sizeof(buf),
                "GPU-%08" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%012" PRIx64, a >> 32,
                (a >> 16) & 0xffff, a & 0xffff, b >> 48, b & uint64_t{0xffffffffffff});
  return buf;
}

void AddModels(FleetLayout& f) {
  f.models = {
      {"llama-3-70b", "v184", "fp8", "stable", "llama", 48.0, 6000.0, 8192, false},
      {"llama-3-70b", "v185", "fp8", "canary", "llama", 48.0, 6000.0, 8192, false},
      {"mistral-7b", "v0.3", "bf16", "stable", "mistral", 110.0, 14000.0, 32768, false},
      {"gpt-4o-mini", "2024-07-18", "", "stable", "external", 120.0, 20000.0, 128000, true},
  };
}

void AddRoutes(FleetLayout& f, const FleetOptions& o, int llama_replicas, int mistral_replicas) {
  f.dependencies = {{"auth", 4.0, 0.3}, {"vector-db", 22.0, 0.4}, {"feature-store", 7.0, 0.35}};
  const double r = o.requests_per_replica;
  RouteSpec chat{"chat",
                 "llama",
                 {0},
                 0.75 * r * llama_replicas,
                 absl::Seconds(60),
                 0.4,
                 0.015,
                 0.01,
                 600,
                 0.9,
                 180,
                 1024,
                 true};
  RouteSpec search{"search",
                   "llama",
                   {0, 1},
                   0.25 * r * llama_replicas,
                   absl::Seconds(15),
                   1.0,
                   0.01,
                   0.005,
                   1500,
                   0.6,
                   150,
                   512,
                   false};
  RouteSpec summarize{"summarize",
                      "mistral",
                      {0, 2},
                      r * mistral_replicas,
                      absl::Seconds(60),
                      0.0,
                      0.0,
                      0.005,
                      3000,
                      0.8,
                      220,
                      1024,
                      false};
  f.routes = {chat, search, summarize};
  if (o.external_provider) {
    f.routes.push_back({"assist",
                        "external",
                        {0},
                        o.external_requests,
                        absl::Seconds(30),
                        0.5,
                        0.01,
                        0.005,
                        800,
                        0.8,
                        200,
                        1024,
                        true});
  }
}

}  // namespace

FleetLayout BuildFleetLayout(const FleetOptions& o, uint64_t seed) {
  FleetLayout f;
  AddModels(f);
  Rng rng = Rng::Derive(seed, "fleet-layout");
  int llama = 0;
  int mistral = 0;
  for (int p = 0; p < o.providers; ++p) {
    const ProviderTemplate& t = kProviders[static_cast<size_t>(p)];
    ProviderSpec provider{t.name, t.region, {t.zone_a, t.zone_b}, false, {}};
    for (int i = 1; i <= o.nodes_per_provider; ++i) {
      NodeSpec node{absl::StrCat(t.name, "-gpu-", i), p, i % 2 == 1 ? t.zone_a : t.zone_b, {}};
      const int node_index = static_cast<int>(f.nodes.size());
      for (int m : {0, 2}) {
        ReplicaSpec rep;
        rep.name = absl::StrCat(m == 0 ? "llama-" : "mistral-", t.name, "-", i);
        rep.node = node_index;
        rep.model = m;
        rep.gpu = GpuUuid(node.name, static_cast<int>(node.replicas.size()));
        rep.speed = 1.0 + 0.02 * std::max(-2.0, std::min(2.0, rng.Normal()));
        rep.capacity = 2.0 * o.requests_per_replica;
        node.replicas.push_back(static_cast<int>(f.replicas.size()));
        f.replicas.push_back(rep);
        (m == 0 ? llama : mistral) += 1;
      }
      provider.nodes.push_back(node_index);
      f.nodes.push_back(node);
    }
    f.providers.push_back(provider);
  }
  if (o.canary) {
    for (size_t i = f.replicas.size(); i-- > 0;) {
      if (f.replicas[i].model == 0) {
        f.replicas[i].model = 1;
        break;
      }
    }
  }
  if (o.external_provider) {
    f.external_provider = static_cast<int>(f.providers.size());
    f.providers.push_back({"openai", "global", {}, true, {}});
  }
  AddRoutes(f, o, llama, mistral);
  f.tenants = {"acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka"};
  f.tenant_weights = {0.30, 0.20, 0.14, 0.11, 0.09, 0.07, 0.05, 0.04};
  return f;
}

std::vector<std::string> FleetLayout::EntityNames() const {
  std::vector<std::string> out = {"fleet"};
  for (const ProviderSpec& p : providers) {
    out.push_back(absl::StrCat("provider:", p.name));
    if (!p.external) out.push_back(absl::StrCat("region:", p.region));
    for (const std::string& z : p.zones) out.push_back(absl::StrCat("zone:", z));
  }
  for (const NodeSpec& n : nodes) out.push_back(absl::StrCat("node:", n.name));
  for (const ReplicaSpec& r : replicas) out.push_back(absl::StrCat("replica:", r.name));
  for (const ModelSpec& m : models) out.push_back(EntityId::Model(m.name, m.version).ToString());
  for (const RouteSpec& r : routes) out.push_back(absl::StrCat("route:", r.name));
  for (const DependencySpec& d : dependencies) out.push_back(absl::StrCat("dependency:", d.name));
  return out;
}

}  // namespace candor::sim

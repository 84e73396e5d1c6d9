#include "sim/simulator.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "sim/fault_plan.h"
#include "sim/outbox.h"
#include "sim/request_model.h"

namespace candor::sim {
namespace {

constexpr absl::Duration kTick = absl::Seconds(1);
constexpr double kMaxRunning = 256.0;  // The engine's max concurrent sequences.
constexpr double kGpuMaxClockMhz = 1980.0;
constexpr double kGpuMemoryBytes = 80.0 * 1024 * 1024 * 1024;
constexpr uint64_t kThermalReasons = 0x20 | 0x40;  // SW and HW thermal slowdown.
constexpr uint64_t kIdleReason = 0x1;

double Round3(double x) { return std::round(x * 1000.0) / 1000.0; }

}  // namespace

class FleetSimulator::Impl {
 public:
  Impl(Scenario scenario, FleetLayout layout, FaultPlan plan)
      : scenario_(std::move(scenario)),
        layout_(std::move(layout)),
        plan_(std::move(plan)),
        requests_(layout_, scenario_.fleet, scenario_.seed),
        rng_(Rng::Derive(scenario_.seed, "fleet")),
        now_(scenario_.start) {
    replicas_.resize(layout_.replicas.size());
    next_replica_sample_.resize(layout_.replicas.size());
    next_gpu_sample_.resize(layout_.replicas.size());
    for (size_t i = 0; i < layout_.replicas.size(); ++i) {
      const std::string& fam =
          layout_.models[static_cast<size_t>(layout_.replicas[i].model)].family;
      service_s_.push_back(requests_.MeanServiceSeconds(fam));
      replicas_[i].lambda = FamilyShare(static_cast<int>(i)) * Diurnal(now_);
      const auto offset = [&](absl::Duration period, int salt) {
        const int64_t ms = absl::ToInt64Milliseconds(period);
        return absl::Milliseconds(
            static_cast<int64_t>((i * 613 + static_cast<size_t>(salt)) % static_cast<size_t>(ms)));
      };
      next_replica_sample_[i] = now_ + offset(scenario_.fleet.replica_sample_interval, 0);
      next_gpu_sample_[i] = now_ + offset(scenario_.fleet.gpu_sample_interval, 271);
    }
    std::stable_sort(
        scenario_.annotations.begin(), scenario_.annotations.end(),
        [](const ScriptedAnnotation& a, const ScriptedAnnotation& b) { return a.at < b.at; });
    next_probe_ = scenario_.fleet.probe_interval > absl::ZeroDuration()
                      ? now_ + absl::Milliseconds(500)
                      : absl::InfiniteFuture();
  }

  absl::Status RunUntil(absl::Time until, const ItemSink& sink) {
    const absl::Time end = scenario_.start + scenario_.duration;
    until = std::min(until, end);
    while (now_ < until) {
      Tick();
      now_ += kTick;
      CANDOR_RETURN_IF_ERROR(outbox_.Drain(now_, Counted(sink)));
    }
    if (now_ >= end) {
      // The recording ends at `end`: whatever would arrive later is not part of it.
      CANDOR_RETURN_IF_ERROR(outbox_.Drain(end, Counted(sink)));
      outbox_.Clear();
    }
    return absl::OkStatus();
  }

  const Scenario& scenario() const { return scenario_; }
  const FleetLayout& layout() const { return layout_; }
  uint64_t emitted() const { return emitted_; }

 private:
  std::function<absl::Status(const candor::v1::IngestItem&)> Counted(const ItemSink& sink) {
    return [this, &sink](const candor::v1::IngestItem& item) {
      ++emitted_;
      return sink(item);
    };
  }

  double Diurnal(absl::Time t) const {
    const double day = 86400.0;
    const double secs = std::fmod(absl::ToDoubleSeconds(t - absl::UnixEpoch()), day);
    return 1.0 - scenario_.fleet.diurnal_amplitude * std::cos(2.0 * std::numbers::pi * secs / day);
  }

  // Requests/s a replica receives at the diurnal mean: its family's route rates shared evenly.
  double FamilyShare(int replica) const {
    const std::string& fam =
        layout_.models[static_cast<size_t>(layout_.replicas[static_cast<size_t>(replica)].model)]
            .family;
    double rate = 0.0;
    for (const RouteSpec& r : layout_.routes) {
      if (r.family == fam) rate += r.rate;
    }
    int n = 0;
    for (const ReplicaSpec& r : layout_.replicas) {
      if (layout_.models[static_cast<size_t>(r.model)].family == fam) ++n;
    }
    return n > 0 ? rate / n : 0.0;
  }

  void Tick();
  void AdvanceReplica(size_t i);
  void EmitReplicaSample(size_t i, absl::Time t);
  void EmitGpuSample(size_t i, absl::Time t);
  void EmitAnnotations();

  Scenario scenario_;
  FleetLayout layout_;
  FaultPlan plan_;
  RequestModel requests_;
  Rng rng_;
  absl::Time now_;
  Mods mods_;
  Outbox outbox_;
  std::vector<ReplicaState> replicas_;
  std::vector<double> service_s_;
  std::vector<absl::Time> next_replica_sample_;
  std::vector<absl::Time> next_gpu_sample_;
  absl::Time next_probe_;
  size_t next_annotation_ = 0;
  uint64_t emitted_ = 0;
};

void FleetSimulator::Impl::Tick() {
  plan_.Evaluate(layout_, now_, mods_);
  requests_.SetRoutable(mods_);
  for (size_t i = 0; i < replicas_.size(); ++i) AdvanceReplica(i);
  const double diurnal = Diurnal(now_);
  for (size_t r = 0; r < layout_.routes.size(); ++r) {
    const double rate = layout_.routes[r].rate * diurnal * mods_.routes[r].load;
    const int64_t n = rng_.Poisson(rate);
    for (int64_t k = 0; k < n; ++k) {
      const absl::Time start = now_ + absl::Milliseconds(std::floor(rng_.Uniform() * 1000.0));
      requests_.Generate(static_cast<int>(r), start, false, -1, mods_, replicas_, outbox_);
    }
  }
  for (size_t i = 0; i < replicas_.size(); ++i) {
    const ReplicaMods& rm = mods_.replicas[i];
    if (rm.extra_load <= 0.0 || rm.silent || rm.restarting) continue;
    const std::string& fam = layout_.models[static_cast<size_t>(layout_.replicas[i].model)].family;
    std::vector<double> weights;
    for (const RouteSpec& r : layout_.routes) weights.push_back(r.family == fam ? r.rate : 0.0);
    const int64_t n = rng_.Poisson(rm.extra_load * FamilyShare(static_cast<int>(i)) * diurnal);
    for (int64_t k = 0; k < n; ++k) {
      const absl::Time start = now_ + absl::Milliseconds(std::floor(rng_.Uniform() * 1000.0));
      requests_.Generate(static_cast<int>(rng_.Choice(weights)), start, false, static_cast<int>(i),
                         mods_, replicas_, outbox_);
    }
  }
  const absl::Time tick_end = now_ + kTick;
  while (next_probe_ < tick_end) {
    for (size_t r = 0; r < layout_.routes.size(); ++r) {
      requests_.Generate(static_cast<int>(r), next_probe_, true, -1, mods_, replicas_, outbox_);
    }
    next_probe_ += scenario_.fleet.probe_interval;
  }
  for (size_t i = 0; i < replicas_.size(); ++i) {
    const ReplicaMods& rm = mods_.replicas[i];
    for (; next_replica_sample_[i] < tick_end;
         next_replica_sample_[i] += scenario_.fleet.replica_sample_interval) {
      if (!rm.silent && !rm.restarting) EmitReplicaSample(i, next_replica_sample_[i]);
    }
    for (; next_gpu_sample_[i] < tick_end;
         next_gpu_sample_[i] += scenario_.fleet.gpu_sample_interval) {
      EmitGpuSample(i, next_gpu_sample_[i]);
    }
  }
  EmitAnnotations();
}

void FleetSimulator::Impl::AdvanceReplica(size_t i) {
  ReplicaState& rs = replicas_[i];
  const ReplicaMods& rm = mods_.replicas[i];
  const ReplicaSpec& spec = layout_.replicas[i];
  if (rm.restarted_at > rs.counters_since) {
    const double lambda = rs.lambda;
    rs = ReplicaState{};
    rs.lambda = lambda;
    rs.counters_since = rm.restarted_at;
  }
  const double arrivals = static_cast<double>(rs.arrivals);
  const double hung = static_cast<double>(rs.hung_arrivals);
  rs.arrivals = 0;
  rs.hung_arrivals = 0;
  const double cap = std::max(spec.capacity * rm.speed, 1e-3);
  rs.lambda = 0.85 * rs.lambda + 0.15 * arrivals;
  rs.backlog = std::max(0.0, rs.backlog + arrivals - hung - cap);
  rs.hung = rs.hung * (1.0 - 1.0 / 60.0) + hung;
  rs.rho = std::min(1.5, rs.lambda * (1.0 - rm.deadlock) / cap);
  const double r = std::min(rs.rho, 0.95);
  rs.queue_wait_ms = 150.0 * r * r / (1.0 - r);
  rs.backlog_ms = rs.backlog / cap * 1000.0;
  if (rm.deadlock <= 0.0) {
    rs.running =
        std::min(kMaxRunning, std::min(rs.lambda, cap) * service_s_[i] / std::max(rm.speed, 0.05));
  }
  rs.preempt_rate = 0.0005 + 3.0 * rm.kv_thrash;
  rs.queue_depth =
      std::max(0.0, rs.lambda * (1.0 - rm.deadlock) * (rs.queue_wait_ms + rs.backlog_ms) / 1000.0 +
                        rs.hung + 2.0 * (rs.preempt_rate - 0.0005));
  double kv = 0.05 + 0.8 * rs.running / kMaxRunning;
  if (rm.kv_thrash > 0.0)
    kv = std::max(kv, std::min(0.995, 0.9 + 0.09 * std::min(rm.kv_thrash, 1.0)));
  rs.kv = std::clamp(kv + 0.005 * rng_.Normal(), 0.0, 1.0);
  rs.preemptions_total += static_cast<double>(rng_.Poisson(rs.preempt_rate));
  double util = 0.08 + 0.85 * std::min(rs.rho, 1.0) + 0.015 * rng_.Normal();
  util = util * (1.0 - rm.deadlock) + 0.02 * rm.deadlock;
  rs.util = rm.restarting ? 0.0 : std::clamp(util, 0.0, 1.0);
}

void FleetSimulator::Impl::EmitReplicaSample(size_t i, absl::Time t) {
  const ReplicaState& rs = replicas_[i];
  const ReplicaMods& rm = mods_.replicas[i];
  const ReplicaSpec& spec = layout_.replicas[i];
  const NodeSpec& node = layout_.nodes[static_cast<size_t>(spec.node)];
  const ProviderSpec& p = layout_.providers[static_cast<size_t>(node.provider)];
  const ModelSpec& m = layout_.models[static_cast<size_t>(spec.model)];
  auto item = std::make_unique<candor::v1::IngestItem>();
  candor::v1::ReplicaSample* s = item->mutable_replica_sample();
  SetTimestamp(t, s->mutable_timestamp());
  s->set_provider(p.name);
  s->set_region(p.region);
  s->set_zone(node.zone);
  s->set_node(node.name);
  s->set_replica(spec.name);
  s->set_gpu(spec.gpu);
  s->set_model(m.name);
  s->set_model_version(m.version);
  s->set_quantization(m.quantization);
  s->set_release_track(m.release_track);
  s->set_engine("vllm");
  s->set_queue_depth(std::llround(rs.queue_depth));
  s->set_running_requests(std::llround(rs.running));
  s->set_kv_cache_usage(Round3(rs.kv));
  s->set_preemptions_total(std::llround(rs.preemptions_total));
  s->set_prompt_tokens_total(std::llround(rs.prompt_tokens_total));
  s->set_generation_tokens_total(std::llround(rs.generation_tokens_total));
  s->set_requests_finished_total(std::llround(rs.finished_total));
  s->set_gpu_utilization(Round3(rs.util));
  s->set_gpu_memory_used_fraction(0.92);
  s->set_ready(true);
  s->set_warming(rm.warming >= 0.0);
  const absl::Duration delay = absl::Milliseconds(
      std::floor(rng_.Uniform() * absl::ToDoubleMilliseconds(scenario_.fleet.ship_delay)));
  outbox_.Push(t + delay, std::move(item));
}

void FleetSimulator::Impl::EmitGpuSample(size_t i, absl::Time t) {
  const ReplicaState& rs = replicas_[i];
  const ReplicaMods& rm = mods_.replicas[i];
  const ReplicaSpec& spec = layout_.replicas[i];
  const NodeSpec& node = layout_.nodes[static_cast<size_t>(spec.node)];
  const ProviderSpec& p = layout_.providers[static_cast<size_t>(node.provider)];
  auto item = std::make_unique<candor::v1::IngestItem>();
  candor::v1::GpuSample* g = item->mutable_gpu_sample();
  SetTimestamp(t, g->mutable_timestamp());
  g->set_node(node.name);
  g->set_gpu(spec.gpu);
  g->set_provider(p.name);
  g->set_region(p.region);
  g->set_zone(node.zone);
  const bool idle = rs.util < 0.05;
  uint64_t reasons = idle ? kIdleReason : 0;
  if (rm.thermal > 0.2) reasons |= kThermalReasons;
  const double sm =
      idle ? 345.0 : kGpuMaxClockMhz * rm.clock * (1.0 - 0.005 * std::abs(rng_.Normal()));
  g->set_sm_clock_mhz(std::round(sm));
  g->set_max_sm_clock_mhz(kGpuMaxClockMhz);
  g->set_temperature_c(std::round(40.0 + 30.0 * rs.util + 25.0 * rm.thermal + 0.8 * rng_.Normal()));
  g->set_power_w(
      std::round(std::max(60.0, 80.0 + 560.0 * rs.util * rm.clock + 5.0 * rng_.Normal())));
  g->set_power_limit_w(700.0);
  g->set_utilization(Round3(rs.util));
  g->set_memory_used_bytes(static_cast<uint64_t>(0.92 * kGpuMemoryBytes));
  g->set_memory_total_bytes(static_cast<uint64_t>(kGpuMemoryBytes));
  g->set_clock_event_reasons(reasons);
  g->set_xid_last(0);
  g->set_ecc_uncorrected_total(0);
  const absl::Duration delay = absl::Milliseconds(
      std::floor(rng_.Uniform() * absl::ToDoubleMilliseconds(scenario_.fleet.ship_delay)));
  outbox_.Push(t + delay, std::move(item));
}

void FleetSimulator::Impl::EmitAnnotations() {
  const absl::Time tick_end = now_ + kTick;
  while (next_annotation_ < scenario_.annotations.size()) {
    const ScriptedAnnotation& a = scenario_.annotations[next_annotation_];
    const absl::Time at = scenario_.start + a.at;
    if (at >= tick_end) break;
    auto item = std::make_unique<candor::v1::IngestItem>();
    candor::v1::Annotation* an = item->mutable_annotation();
    SetTimestamp(at, an->mutable_timestamp());
    an->set_entity(a.entity);
    candor::v1::AnnotationKind kind = candor::v1::ANNOTATION_KIND_UNSPECIFIED;
    candor::v1::AnnotationKind_Parse(a.kind, &kind);
    an->set_kind(kind);
    an->set_message(a.message);
    outbox_.Push(at, std::move(item));
    ++next_annotation_;
  }
}

absl::StatusOr<std::unique_ptr<FleetSimulator>> FleetSimulator::Create(Scenario scenario) {
  FleetLayout layout = BuildFleetLayout(scenario.fleet, scenario.seed);
  absl::StatusOr<FaultPlan> plan = FaultPlan::Create(layout, scenario.faults, scenario.start);
  if (!plan.ok()) return plan.status();
  auto impl = std::make_unique<Impl>(std::move(scenario), std::move(layout), std::move(*plan));
  return std::unique_ptr<FleetSimulator>(new FleetSimulator(std::move(impl)));
}

FleetSimulator::FleetSimulator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FleetSimulator::~FleetSimulator() = default;

absl::Status FleetSimulator::RunUntil(absl::Time until, const ItemSink& sink) {
  return impl_->RunUntil(until, sink);
}
absl::Time FleetSimulator::start() const { return impl_->scenario().start; }
absl::Time FleetSimulator::end() const {
  return impl_->scenario().start + impl_->scenario().duration;
}
const FleetLayout& FleetSimulator::layout() const { return impl_->layout(); }
const Scenario& FleetSimulator::scenario() const { return impl_->scenario(); }
uint64_t FleetSimulator::items_emitted() const { return impl_->emitted(); }

}  // namespace candor::sim

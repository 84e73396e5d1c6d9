#include "sim/request_model.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "absl/strings/str_cat.h"

namespace candor::sim {
namespace {

using candor::v1::InferenceEvent;

constexpr double kBaseErrorRate = 0.003;
constexpr double kRejectRate = 0.001;
constexpr double kCancelRate = 0.003;

double Round1(double x) { return std::round(x * 10.0) / 10.0; }
double Round3(double x) { return std::round(x * 1000.0) / 1000.0; }
int64_t Tokens(double x) { return std::max<int64_t>(1, static_cast<int64_t>(std::llround(x))); }

}  // namespace

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* ts) {
  const int64_t ms = absl::ToUnixMillis(t);
  int64_t sec = ms / 1000;
  int64_t rem = ms % 1000;
  if (rem < 0) {
    rem += 1000;
    sec -= 1;
  }
  ts->set_seconds(sec);
  ts->set_nanos(static_cast<int32_t>(rem * 1'000'000));
}

struct RequestModel::Request {
  int route = 0;
  const RouteSpec* spec = nullptr;
  RouteMods rmods;
  absl::Time start;
  bool synthetic = false;
  std::string tenant;
  std::string priority;
  int64_t input = 0;
  int64_t output = 0;
  uint64_t trace = 0;
  uint32_t fallback_tier = 0;
  std::string fallback_reason;
};

RequestModel::RequestModel(const FleetLayout& layout, const FleetOptions& options, uint64_t seed)
    : layout_(layout), options_(options), rng_(Rng::Derive(seed, "requests")) {
  for (const ModelSpec& m : layout_.models) {
    if (std::find(families_.begin(), families_.end(), m.family) == families_.end()) {
      families_.push_back(m.family);
    }
  }
  routable_.resize(families_.size());
}

double RequestModel::MeanServiceSeconds(const std::string& family) const {
  for (const RouteSpec& r : layout_.routes) {
    if (r.family != family) continue;
    for (const ReplicaSpec& rep : layout_.replicas) {
      const ModelSpec& m = layout_.models[static_cast<size_t>(rep.model)];
      if (m.family != family) continue;
      const double mean_out = std::min(static_cast<double>(r.max_output_tokens),
                                       r.output_median * std::exp(0.32) * 0.95);
      return 0.3 + mean_out / (m.decode_tps * 0.9);
    }
  }
  return 1.0;
}

void RequestModel::SetRoutable(const Mods& mods) {
  for (auto& v : routable_) v.clear();
  for (size_t i = 0; i < layout_.replicas.size(); ++i) {
    const ReplicaMods& rm = mods.replicas[i];
    if (rm.silent || rm.restarting) continue;
    const std::string& fam = layout_.models[static_cast<size_t>(layout_.replicas[i].model)].family;
    const auto it = std::find(families_.begin(), families_.end(), fam);
    routable_[static_cast<size_t>(it - families_.begin())].push_back(static_cast<int>(i));
  }
}

int RequestModel::PickReplica(const std::string& family, int avoid_provider) {
  const auto it = std::find(families_.begin(), families_.end(), family);
  if (it == families_.end()) return -1;
  const std::vector<int>& cands = routable_[static_cast<size_t>(it - families_.begin())];
  if (cands.empty()) return -1;
  for (int attempt = 0; attempt < 8; ++attempt) {
    const int r = cands[static_cast<size_t>(rng_.Uniform() * static_cast<double>(cands.size()))];
    const int p =
        layout_.nodes[static_cast<size_t>(layout_.replicas[static_cast<size_t>(r)].node)].provider;
    if (p != avoid_provider) return r;
  }
  return -1;
}

std::unique_ptr<candor::v1::IngestItem> RequestModel::NewEvent(const Request& rq,
                                                               InferenceEvent** out) {
  auto item = std::make_unique<candor::v1::IngestItem>();
  InferenceEvent* e = item->mutable_inference_event();
  e->set_request_id(absl::StrCat("r", absl::Hex(next_request_++)));
  e->set_trace_id(absl::StrCat("t", absl::Hex(rq.trace)));
  SetTimestamp(rq.start, e->mutable_timestamp());
  e->set_route(rq.spec->name);
  e->set_tenant(rq.tenant);
  e->set_priority(rq.priority);
  if (rq.synthetic) e->set_synthetic(true);
  if (rq.fallback_tier > 0) {
    e->set_fallback_tier(rq.fallback_tier);
    e->set_fallback_reason(rq.fallback_reason);
  }
  *out = e;
  return item;
}

void RequestModel::NameReplica(int replica, InferenceEvent& e) const {
  const ReplicaSpec& r = layout_.replicas[static_cast<size_t>(replica)];
  const NodeSpec& n = layout_.nodes[static_cast<size_t>(r.node)];
  const ProviderSpec& p = layout_.providers[static_cast<size_t>(n.provider)];
  e.set_provider(p.name);
  e.set_region(p.region);
  e.set_zone(n.zone);
  e.set_node(n.name);
  e.set_replica(r.name);
  e.set_gpu(r.gpu);
  e.set_circuit_state(candor::v1::CLOSED);
}

void RequestModel::NameModel(int model, int provider, InferenceEvent& e) const {
  const ModelSpec& m = layout_.models[static_cast<size_t>(model)];
  e.set_model(m.name);
  e.set_model_version(m.version);
  if (!m.quantization.empty()) e.set_quantization(m.quantization);
  e.set_release_track(m.release_track);
  if (provider >= 0 && e.provider().empty()) {
    const ProviderSpec& p = layout_.providers[static_cast<size_t>(provider)];
    e.set_provider(p.name);
    e.set_region(p.region);
  }
}

double RequestModel::CallDependencies(Request& rq, const Mods& mods, InferenceEvent& e) {
  const double timeout_ms = absl::ToDoubleMilliseconds(rq.spec->timeout);
  double total = 0.0;
  for (int d : rq.spec->dependencies) {
    const DependencySpec& dep = layout_.dependencies[static_cast<size_t>(d)];
    double ms = rng_.LogNormal(dep.median_ms, dep.sigma);
    const double extra = mods.dependency_extra_ms[static_cast<size_t>(d)];
    if (extra > 0.0) ms += extra * rng_.LogNormal(1.0, 0.1);
    candor::v1::DependencyCall* call = e.add_dependencies();
    call->set_name(dep.name);
    if (total + ms >= timeout_ms) {
      call->set_latency_ms(Round1(timeout_ms - total));
      call->set_status(candor::v1::TIMEOUT);
      return timeout_ms;
    }
    call->set_latency_ms(Round1(ms));
    call->set_status(candor::v1::OK);
    total += ms;
  }
  return total;
}

void RequestModel::Ship(absl::Time completed, std::unique_ptr<candor::v1::IngestItem> item,
                        Outbox& out) {
  absl::Time arrival =
      completed + absl::Milliseconds(
                      std::floor(rng_.Uniform() * absl::ToDoubleMilliseconds(options_.ship_delay)));
  if (options_.late_fraction > 0.0 && rng_.Bernoulli(options_.late_fraction)) {
    arrival += options_.late_delay;
  }
  out.Push(arrival, std::move(item));
}

void RequestModel::Generate(int route, absl::Time start, bool synthetic, int forced_replica,
                            const Mods& mods, std::vector<ReplicaState>& replicas, Outbox& out) {
  Request rq;
  rq.route = route;
  rq.spec = &layout_.routes[static_cast<size_t>(route)];
  rq.rmods = mods.routes[static_cast<size_t>(route)];
  rq.start = start;
  rq.synthetic = synthetic;
  rq.trace = next_request_;
  if (synthetic) {
    rq.tenant = "candor-probe";
    rq.priority = "critical";
    rq.input = 40;
    rq.output = 16;
  } else {
    if (rq.rmods.new_tenant > 0.0 && rng_.Bernoulli(rq.rmods.new_tenant)) {
      rq.tenant = "tenant-new";
    } else {
      rq.tenant = layout_.tenants[rng_.Choice(layout_.tenant_weights)];
    }
    const double u = rng_.Uniform();
    rq.priority = u < 0.1 ? "critical" : (u < 0.85 ? "normal" : "batch");
    rq.input =
        Tokens(rng_.LogNormal(rq.spec->input_median * rq.rmods.input_mult, rq.spec->input_sigma));
    rq.output =
        std::min(rq.spec->max_output_tokens, Tokens(rng_.LogNormal(rq.spec->output_median, 0.8)));
  }

  if (rq.rmods.feature_disabled > 0.0 && rng_.Bernoulli(rq.rmods.feature_disabled)) {
    rq.fallback_tier = 5;
    rq.fallback_reason = "feature_disabled";
    InferenceEvent* e = nullptr;
    auto item = NewEvent(rq, &e);
    e->set_status(candor::v1::OK);
    e->set_http_status(200);
    const double ms = Round1(rng_.Uniform(3.0, 8.0));
    e->set_latency_ms(ms);
    Ship(start + absl::Milliseconds(ms), std::move(item), out);
    return;
  }
  const double fallback = rq.rmods.fallback >= 0.0 ? rq.rmods.fallback : rq.spec->fallback;
  if (!synthetic && rng_.Bernoulli(fallback)) {
    rq.fallback_reason = "primary_unavailable";
    ServeFallback(rq, mods, replicas, out);
    return;
  }
  if (rq.spec->family == "external") {
    if (BreakerIntervenes(rq, layout_.external_provider, mods, replicas, out)) return;
    ServeExternal(rq, mods, out);
    return;
  }
  const int replica = forced_replica >= 0 ? forced_replica : PickReplica(rq.spec->family, -1);
  if (replica < 0) {
    InferenceEvent* e = nullptr;
    auto item = NewEvent(rq, &e);
    e->set_status(candor::v1::REJECTED);
    e->set_http_status(503);
    e->set_error_class("no_healthy_upstream");
    Ship(start, std::move(item), out);
    return;
  }
  const int provider =
      layout_.nodes[static_cast<size_t>(layout_.replicas[static_cast<size_t>(replica)].node)]
          .provider;
  if (BreakerIntervenes(rq, provider, mods, replicas, out)) return;
  ServeOnReplica(rq, replica, mods, replicas, out);
}

bool RequestModel::BreakerIntervenes(Request& rq, int provider, const Mods& mods,
                                     std::vector<ReplicaState>& replicas, Outbox& out) {
  if (provider < 0) return false;
  const ProviderMods& pm = mods.providers[static_cast<size_t>(provider)];
  const bool external = layout_.providers[static_cast<size_t>(provider)].external;
  const std::string family = external ? std::string("external") : rq.spec->family;
  int primary_model = 0;
  for (size_t m = 0; m < layout_.models.size(); ++m) {
    if (layout_.models[m].family == family && layout_.models[m].release_track == "stable") {
      primary_model = static_cast<int>(m);
      break;
    }
  }
  if (pm.circuit_open > 0.0 && rng_.Bernoulli(pm.circuit_open)) {
    InferenceEvent* e = nullptr;
    auto item = NewEvent(rq, &e);
    NameModel(primary_model, provider, *e);
    e->set_status(candor::v1::REJECTED);
    e->set_http_status(503);
    e->set_error_class("circuit_open");
    e->set_circuit_state(candor::v1::OPEN);
    Ship(rq.start, std::move(item), out);
    rq.fallback_tier = 2;
    rq.fallback_reason = "circuit_open";
    const int r = PickReplica(external ? "mistral" : rq.spec->family, provider);
    if (r >= 0) {
      ServeOnReplica(rq, r, mods, replicas, out);
    } else if (!external && layout_.external_provider >= 0) {
      ServeExternal(rq, mods, out);
    }
    return true;
  }
  if (pm.errors > 0.0 && rng_.Bernoulli(pm.errors)) {
    InferenceEvent* e = nullptr;
    auto item = NewEvent(rq, &e);
    NameModel(primary_model, provider, *e);
    e->set_circuit_state(candor::v1::CLOSED);
    const double u = rng_.Uniform();
    double latency = 0.0;
    if (u < 0.6) {
      e->set_status(candor::v1::ERROR);
      e->set_http_status(503);
      e->set_error_class("upstream_5xx");
      latency = Round1(rng_.Uniform(50.0, 300.0));
    } else if (u < 0.85) {
      e->set_status(candor::v1::REJECTED);
      e->set_http_status(429);
      e->set_error_class("rate_limited");
    } else {
      e->set_status(candor::v1::TIMEOUT);
      e->set_http_status(504);
      e->set_error_class("upstream_timeout");
      latency = absl::ToDoubleMilliseconds(rq.spec->timeout);
    }
    if (latency > 0.0) e->set_latency_ms(latency);
    Ship(rq.start + absl::Milliseconds(latency), std::move(item), out);
    return true;
  }
  return false;
}

void RequestModel::ServeFallback(Request& rq, const Mods& mods, std::vector<ReplicaState>& replicas,
                                 Outbox& out) {
  const double u = rng_.Uniform();
  const bool has_external = layout_.external_provider >= 0;
  const std::string& fam = rq.spec->family;
  int tier = 3;
  if (fam == "llama") {
    tier = u < 0.8 ? 1 : (u < 0.95 ? (has_external ? 2 : 1) : 3);
  } else if (fam == "mistral") {
    tier = u < 0.7 && has_external ? 2 : 3;
  } else {
    tier = 2;
  }
  rq.fallback_tier = static_cast<uint32_t>(tier);
  if (tier == 1 || (tier == 2 && fam == "external")) {
    const int r = PickReplica("mistral", -1);
    if (r >= 0) {
      ServeOnReplica(rq, r, mods, replicas, out);
      return;
    }
    rq.fallback_tier = 3;
  } else if (tier == 2) {
    if (!BreakerIntervenes(rq, layout_.external_provider, mods, replicas, out)) {
      ServeExternal(rq, mods, out);
    }
    return;
  }
  InferenceEvent* e = nullptr;
  auto item = NewEvent(rq, &e);
  e->set_status(candor::v1::OK);
  e->set_http_status(200);
  const double ms = Round1(rng_.Uniform(10.0, 40.0));
  e->set_latency_ms(ms);
  e->set_output_tokens(rq.output);
  Ship(rq.start + absl::Milliseconds(ms), std::move(item), out);
}

void RequestModel::ServeExternal(Request& rq, const Mods& mods, Outbox& out) {
  const int p = layout_.external_provider;
  InferenceEvent* e = nullptr;
  auto item = NewEvent(rq, &e);
  int model = 0;
  for (size_t m = 0; m < layout_.models.size(); ++m) {
    if (layout_.models[m].external) model = static_cast<int>(m);
  }
  NameModel(model, p, *e);
  const ProviderMods& pm = mods.providers[static_cast<size_t>(p)];
  e->set_circuit_state(pm.circuit_open > 0.0 ? candor::v1::HALF_OPEN : candor::v1::CLOSED);
  const double timeout_ms = absl::ToDoubleMilliseconds(rq.spec->timeout);
  const double deps = CallDependencies(rq, mods, *e);
  const double mult = rq.rmods.latency_mult;
  const double ttft = deps + rng_.LogNormal(350.0, 0.3) * mult;
  const double tps = rng_.LogNormal(120.0, 0.15) / mult;
  double latency = ttft + static_cast<double>(rq.output) / tps * 1000.0;
  e->set_input_tokens(rq.input);
  e->set_max_output_tokens(rq.spec->max_output_tokens);
  if (rng_.Bernoulli(kBaseErrorRate + rq.rmods.error_add)) {
    e->set_status(candor::v1::ERROR);
    e->set_http_status(502);
    e->set_error_class("upstream_5xx");
    latency = deps + rng_.Uniform(50.0, 300.0);
  } else if (latency >= timeout_ms || deps >= timeout_ms) {
    e->set_status(candor::v1::TIMEOUT);
    e->set_http_status(504);
    e->set_error_class(deps >= timeout_ms ? "dependency_timeout" : "gateway_timeout");
    latency = timeout_ms;
  } else {
    e->set_status(candor::v1::OK);
    e->set_http_status(200);
    e->set_ttft_ms(Round1(ttft));
    e->set_output_tokens(rq.output);
    if (!rq.synthetic && rq.spec->validation_checked > 0.0 &&
        rng_.Bernoulli(rq.spec->validation_checked)) {
      const double fail = std::max(rq.spec->validation_fail, rq.rmods.validation_fail);
      const bool failed = rng_.Bernoulli(fail);
      e->set_validation(failed ? candor::v1::FAILED : candor::v1::PASSED);
      if (failed) e->set_validation_error("schema_mismatch");
    }
  }
  latency = Round1(latency);
  e->set_latency_ms(latency);
  Ship(rq.start + absl::Milliseconds(latency), std::move(item), out);
}

void RequestModel::ServeOnReplica(Request& rq, int replica, const Mods& mods,
                                  std::vector<ReplicaState>& replicas, Outbox& out) {
  InferenceEvent* e = nullptr;
  auto item = NewEvent(rq, &e);
  const double timeout_ms = absl::ToDoubleMilliseconds(rq.spec->timeout);
  const double deps = CallDependencies(rq, mods, *e);
  if (deps >= timeout_ms) {
    // The gateway gave up while still waiting on a dependency: the model never ran.
    e->set_status(candor::v1::TIMEOUT);
    e->set_http_status(504);
    e->set_error_class("dependency_timeout");
    e->set_latency_ms(Round1(timeout_ms));
    Ship(rq.start + absl::Milliseconds(timeout_ms), std::move(item), out);
    return;
  }
  const ReplicaSpec& spec = layout_.replicas[static_cast<size_t>(replica)];
  NameReplica(replica, *e);
  NameModel(spec.model, -1, *e);
  ReplicaState& rs = replicas[static_cast<size_t>(replica)];
  const ReplicaMods& rm = mods.replicas[static_cast<size_t>(replica)];
  Outcome(rq, replica, rm, rs, *e, deps);
  const double latency = e->has_latency_ms() ? e->latency_ms() : 0.0;
  Ship(rq.start + absl::Milliseconds(latency), std::move(item), out);
}

void RequestModel::Outcome(Request& rq, int replica, const ReplicaMods& rm, ReplicaState& rs,
                           InferenceEvent& e, double deps) {
  const ReplicaSpec& spec = layout_.replicas[static_cast<size_t>(replica)];
  const ModelSpec& model = layout_.models[static_cast<size_t>(spec.model)];
  const double timeout_ms = absl::ToDoubleMilliseconds(rq.spec->timeout);
  const double speed = spec.speed * rm.speed;
  const double lat_mult = rm.latency_mult * rq.rmods.latency_mult;
  const double tps = model.decode_tps * speed * (1.0 - 0.2 * std::min(rs.rho, 1.0)) *
                     (1.0 - 0.1 * std::min(rm.kv_thrash, 1.0)) / lat_mult *
                     rng_.LogNormal(1.0, 0.08);
  const double queue =
      (rs.queue_wait_ms > 0.0 ? rng_.Exponential(rs.queue_wait_ms) : 0.0) + rs.backlog_ms;
  const double prefill =
      (20.0 + static_cast<double>(rq.input) / (model.prefill_tps * speed) * 1000.0) * lat_mult;
  const int64_t preemptions = rng_.Poisson(rs.preempt_rate / std::max(rs.lambda, 1.0));
  const double ttft = deps + queue + prefill + rm.warm_ttft_ms;
  double latency = ttft + static_cast<double>(rq.output) / tps * 1000.0 +
                   static_cast<double>(preemptions) * (prefill + 300.0);
  int64_t output = rq.output;

  // Silent truncation keeps the prompt inside the context window (or a misconfigured one).
  const int64_t limit = model.context_window - rq.spec->max_output_tokens;
  int64_t truncated = std::max<int64_t>(0, rq.input - limit);
  const double trunc_share = std::max(rm.truncation, rq.rmods.truncation);
  if (!rq.synthetic && trunc_share > 0.0 && rng_.Bernoulli(trunc_share)) {
    truncated = std::max(truncated, Tokens(rng_.Uniform(0.2, 0.6) * static_cast<double>(rq.input)));
  }
  e.set_input_tokens(rq.input - truncated);
  if (truncated > 0) e.set_truncated_input_tokens(truncated);
  e.set_max_output_tokens(rq.spec->max_output_tokens);
  e.set_context_window(model.context_window);
  e.set_queue_depth(std::llround(rs.queue_depth));
  e.set_running_requests(std::llround(rs.running));
  e.set_kv_cache_usage(Round3(std::clamp(rs.kv + 0.01 * rng_.Normal(), 0.0, 1.0)));
  e.set_batch_size(std::llround(rs.running));

  rs.arrivals += 1;
  if (rm.deadlock > 0.0 && rng_.Bernoulli(rm.deadlock)) {
    rs.hung_arrivals += 1;
    e.set_status(candor::v1::TIMEOUT);
    e.set_http_status(504);
    e.set_error_class("gateway_timeout");
    e.set_queue_ms(Round1(timeout_ms - deps));
    e.set_latency_ms(Round1(timeout_ms));
    e.set_preemptions(0);
    return;
  }
  e.set_preemptions(preemptions);
  e.set_queue_ms(Round1(queue));
  if (rng_.Bernoulli(kRejectRate)) {
    e.set_status(candor::v1::REJECTED);
    e.set_http_status(429);
    e.set_error_class("rate_limited");
    e.clear_queue_ms();
    return;
  }
  rs.finished_total += 1.0;
  if (rng_.Bernoulli(kBaseErrorRate + rm.error_add + rq.rmods.error_add)) {
    e.set_status(candor::v1::ERROR);
    e.set_http_status(500);
    e.set_error_class("engine_error");
    e.set_latency_ms(Round1(deps + queue + rng_.Uniform(20.0, 300.0)));
    return;
  }
  if (rng_.Bernoulli(kCancelRate)) {
    e.set_status(candor::v1::CANCELLED);
    e.set_http_status(499);
    latency *= rng_.Uniform(0.1, 0.9);
    output = latency > ttft ? Tokens((latency - ttft) / 1000.0 * tps) : 0;
  } else if (latency > timeout_ms) {
    e.set_status(candor::v1::TIMEOUT);
    e.set_http_status(504);
    e.set_error_class("gateway_timeout");
    latency = timeout_ms;
    output = timeout_ms > ttft ? Tokens((timeout_ms - ttft) / 1000.0 * tps) : 0;
  } else {
    e.set_status(candor::v1::OK);
    e.set_http_status(200);
  }
  if (ttft < latency) e.set_ttft_ms(Round1(ttft));
  e.set_latency_ms(Round1(latency));
  e.set_output_tokens(output);
  rs.prompt_tokens_total += static_cast<double>(rq.input - truncated);
  rs.generation_tokens_total += static_cast<double>(output);
  if (e.status() != candor::v1::OK) return;

  if (!rq.synthetic && rq.spec->validation_checked > 0.0 &&
      rng_.Bernoulli(rq.spec->validation_checked)) {
    const double fail =
        std::max({rq.spec->validation_fail, rm.validation_fail, rq.rmods.validation_fail});
    const bool failed = rng_.Bernoulli(fail);
    e.set_validation(failed ? candor::v1::FAILED : candor::v1::PASSED);
    if (failed) e.set_validation_error("schema_mismatch");
  } else {
    e.set_validation(candor::v1::NOT_CHECKED);
  }
  if (rq.spec->quality_scored && !rq.synthetic) {
    const double penalty = e.validation() == candor::v1::FAILED ? 0.3 : 0.0;
    e.set_quality_score(Round3(std::clamp(rng_.Normal(0.86, 0.05) - penalty, 0.0, 1.0)));
  }
}

}  // namespace candor::sim

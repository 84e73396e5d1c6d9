#include "collector/engine_profiles.h"

#include <cmath>
#include <map>

#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace candor::collector {
namespace {

using candor::v1::GpuSample;
using candor::v1::ReplicaSample;

enum class Field { kQueue, kRunning, kKv, kPreemptions, kPrompt, kGeneration, kFinished, kGpuUtil };
enum class Agg { kSum, kMax, kMean };

struct Source {
  std::string_view metric;
  std::string_view label = "";  // When set, only series whose `label` equals `value`.
  std::string_view value = "";
};

struct Rule {
  Field field;
  std::vector<Source> sources;  // Newest name first; the first one present wins.
  Agg agg = Agg::kSum;
  bool counter = false;
};

const std::vector<Rule>& RulesFor(Engine engine) {
  static const auto* vllm = new std::vector<Rule>{
      {Field::kQueue, {{"vllm:num_requests_waiting"}}},
      {Field::kRunning, {{"vllm:num_requests_running"}}},
      {Field::kKv, {{"vllm:kv_cache_usage_perc"}, {"vllm:gpu_cache_usage_perc"}}, Agg::kMean},
      {Field::kPreemptions,
       {{"vllm:num_preemptions_total"}, {"vllm:num_preemptions"}},
       Agg::kSum,
       true},
      {Field::kPrompt, {{"vllm:prompt_tokens_total"}, {"vllm:prompt_tokens"}}, Agg::kSum, true},
      {Field::kGeneration,
       {{"vllm:generation_tokens_total"}, {"vllm:generation_tokens"}},
       Agg::kSum,
       true},
      {Field::kFinished,
       {{"vllm:request_success_total"}, {"vllm:request_success"}},
       Agg::kSum,
       true},
  };
  // SGLang repeats scheduler gauges on every tensor-parallel rank: take the largest.
  static const auto* sglang = new std::vector<Rule>{
      {Field::kQueue, {{"sglang:num_queue_reqs"}}, Agg::kMax},
      {Field::kRunning, {{"sglang:num_running_reqs"}}, Agg::kMax},
      {Field::kKv, {{"sglang:token_usage"}}, Agg::kMax},
      {Field::kPrompt, {{"sglang:prompt_tokens_total"}}, Agg::kSum, true},
      {Field::kGeneration, {{"sglang:generation_tokens_total"}}, Agg::kSum, true},
      {Field::kFinished, {{"sglang:num_requests_total"}}, Agg::kSum, true},
  };
  // TGI counters carry no `_total`; token totals are histogram sums.
  static const auto* tgi = new std::vector<Rule>{
      {Field::kQueue, {{"tgi_queue_size"}}},
      {Field::kRunning, {{"tgi_batch_current_size"}}},
      {Field::kFinished, {{"tgi_request_success"}, {"tgi_request_success_total"}}, Agg::kSum, true},
      {Field::kPrompt, {{"tgi_request_input_length_sum"}}, Agg::kSum, true},
      {Field::kGeneration, {{"tgi_request_generated_tokens_sum"}}, Agg::kSum, true},
  };
  // Triton: an ensemble and its steps each count the same requests, so per-model counters
  // combine with max (MapPage narrows them to the configured model when there is one).
  static const auto* triton = new std::vector<Rule>{
      {Field::kQueue,
       {{"nv_trt_llm_request_metrics", "request_type", "waiting"},
        {"nv_inference_pending_request_count"}},
       Agg::kMax},
      {Field::kRunning,
       {{"nv_trt_llm_request_metrics", "request_type", "active"},
        {"nv_trt_llm_request_metrics", "request_type", "scheduled"}}},
      {Field::kKv,
       {{"nv_trt_llm_kv_cache_block_metrics", "kv_cache_block_type", "fraction"}},
       Agg::kMean},
      {Field::kPrompt, {{"nv_llm_input_token_len_sum"}}, Agg::kSum, true},
      {Field::kGeneration, {{"nv_llm_output_token_len_sum"}}, Agg::kSum, true},
      {Field::kFinished, {{"nv_inference_request_success"}}, Agg::kMax, true},
      {Field::kGpuUtil, {{"nv_gpu_utilization"}}, Agg::kMean},
  };
  static const auto* none = new std::vector<Rule>{};
  switch (engine) {
    case Engine::kVllm:
      return *vllm;
    case Engine::kSglang:
      return *sglang;
    case Engine::kTgi:
      return *tgi;
    case Engine::kTriton:
      return *triton;
    case Engine::kDcgm:
      return *none;
  }
  return *none;
}

std::string SeriesKey(std::string_view name, const PromSample& s) {
  std::string key(name);
  for (const auto& [k, v] : s.labels) absl::StrAppend(&key, "\x1f", k, "=", v);
  return key;
}

std::string_view StripSuffix(std::string_view name, std::string_view suffix) {
  return name.ends_with(suffix) ? name.substr(0, name.size() - suffix.size()) : name;
}

// The page indexed by metric name, with `_created` values by series.
class Page {
 public:
  Page(const std::vector<PromSample>& samples, CounterTracker* counters) : counters_(counters) {
    for (const PromSample& s : samples) {
      by_name_[s.name].push_back(&s);
      if (s.name.ends_with("_created")) {
        created_[SeriesKey(StripSuffix(s.name, "_created"), s)] = s.value;
      }
    }
  }

  const std::vector<const PromSample*>* Find(std::string_view name) const {
    auto it = by_name_.find(Sv(name));
    return it == by_name_.end() ? nullptr : &it->second;
  }

  // The value of `s`, made monotonic through the tracker when it is a counter.
  double Value(const PromSample& s, bool counter) const {
    if (!counter || counters_ == nullptr) return s.value;
    const std::string base(StripSuffix(s.name, "_total"));
    auto it = created_.find(SeriesKey(base, s));
    std::optional<double> created;
    if (it != created_.end()) created = it->second;
    return counters_->Adjust(SeriesKey(s.name, s), s.value, created);
  }

  // Applies `rule`, optionally only to series whose `model` label is `model`.
  std::optional<double> Apply(const Rule& rule, std::string_view model_label,
                              std::string_view model) const {
    for (const Source& src : rule.sources) {
      const std::vector<const PromSample*>* series = Find(src.metric);
      if (series == nullptr) continue;
      double sum = 0, max = -INFINITY;
      int n = 0;
      for (const PromSample* s : *series) {
        if (!src.label.empty() && s->Label(src.label) != src.value) continue;
        if (!model.empty() && !model_label.empty() && s->Label(model_label).has_value() &&
            s->Label(model_label) != model) {
          continue;
        }
        const double v = Value(*s, rule.counter);
        if (!std::isfinite(v)) continue;
        sum += v;
        max = std::max(max, v);
        ++n;
      }
      if (n == 0) continue;
      switch (rule.agg) {
        case Agg::kSum:
          return sum;
        case Agg::kMax:
          return max;
        case Agg::kMean:
          return sum / n;
      }
    }
    return std::nullopt;
  }

  // The one value of label `label` across every series that has it, or "".
  std::string OnlyValueOf(std::string_view label) const {
    std::string found;
    for (const auto& [name, series] : by_name_) {
      for (const PromSample* s : series) {
        std::optional<std::string_view> v = s->Label(label);
        if (!v || v->empty()) continue;
        if (found.empty()) {
          found = std::string(*v);
        } else if (found != *v) {
          return "";
        }
      }
    }
    return found;
  }

 private:
  CounterTracker* counters_;
  absl::flat_hash_map<std::string, std::vector<const PromSample*>> by_name_;
  absl::flat_hash_map<std::string, double> created_;
};

int64_t ToCount(double v) {
  if (!(v >= 0)) return 0;
  if (v > 4.0e18) return static_cast<int64_t>(4.0e18);
  return std::llround(v);
}

google::protobuf::Timestamp ToProto(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t ns = absl::ToUnixNanos(t);
  ts.set_seconds(ns / 1'000'000'000);
  ts.set_nanos(static_cast<int32_t>(ns % 1'000'000'000));
  return ts;
}

std::optional<ReplicaSample> MapReplica(const ScrapeContext& ctx, const Page& page) {
  const std::vector<Rule>& rules = RulesFor(ctx.engine);
  if (rules.empty()) return std::nullopt;
  const std::string_view model_label = ctx.engine == Engine::kTriton ? "model" : "model_name";
  ReplicaSample r;
  *r.mutable_timestamp() = ToProto(ctx.time);
  r.set_provider(ctx.provider);
  r.set_region(ctx.region);
  r.set_zone(ctx.zone);
  r.set_node(ctx.node);
  r.set_replica(ctx.replica);
  r.set_gpu(ctx.gpu);
  r.set_model(ctx.model.empty() && ctx.engine != Engine::kTriton ? page.OnlyValueOf("model_name")
                                                                 : ctx.model);
  r.set_model_version(ctx.model_version);
  r.set_engine(std::string(EngineName(ctx.engine)));
  bool any = false;
  for (const Rule& rule : rules) {
    std::optional<double> v = page.Apply(rule, model_label, ctx.model);
    if (!v) continue;
    any = true;
    switch (rule.field) {
      case Field::kQueue:
        r.set_queue_depth(ToCount(*v));
        break;
      case Field::kRunning:
        r.set_running_requests(ToCount(*v));
        break;
      case Field::kKv:
        r.set_kv_cache_usage(*v);
        break;
      case Field::kPreemptions:
        r.set_preemptions_total(ToCount(*v));
        break;
      case Field::kPrompt:
        r.set_prompt_tokens_total(ToCount(*v));
        break;
      case Field::kGeneration:
        r.set_generation_tokens_total(ToCount(*v));
        break;
      case Field::kFinished:
        r.set_requests_finished_total(ToCount(*v));
        break;
      case Field::kGpuUtil:
        r.set_gpu_utilization(*v);
        break;
    }
  }
  if (ctx.engine == Engine::kTriton) {
    // KV occupancy from block counts where the fraction gauge is missing; GPU memory from
    // the per-GPU gauges.
    Rule used{Field::kKv, {{"nv_trt_llm_kv_cache_block_metrics", "kv_cache_block_type", "used"}}};
    Rule max{Field::kKv, {{"nv_trt_llm_kv_cache_block_metrics", "kv_cache_block_type", "max"}}};
    std::optional<double> u = page.Apply(used, "", "");
    std::optional<double> m = page.Apply(max, "", "");
    if (!r.has_kv_cache_usage() && u && m && *m > 0) r.set_kv_cache_usage(*u / *m);
    std::optional<double> mem_used =
        page.Apply({Field::kGpuUtil, {{"nv_gpu_memory_used_bytes"}}}, "", "");
    std::optional<double> mem_total =
        page.Apply({Field::kGpuUtil, {{"nv_gpu_memory_total_bytes"}}}, "", "");
    if (mem_used && mem_total && *mem_total > 0) {
      r.set_gpu_memory_used_fraction(*mem_used / *mem_total);
    }
  }
  if (!any) return std::nullopt;
  return r;
}

// One GpuSample per GPU of the page, grouped by `uuid_label`.
std::vector<GpuSample> MapGpus(const ScrapeContext& ctx, const std::vector<PromSample>& samples,
                               std::string_view uuid_label) {
  std::map<std::string, GpuSample> gpus;
  constexpr double kMiB = 1024.0 * 1024.0;
  std::map<std::string, double> fb_total;
  for (const PromSample& s : samples) {
    std::optional<std::string_view> uuid = s.Label(uuid_label);
    if (!uuid || uuid->empty() || !std::isfinite(s.value)) continue;
    auto [it, fresh] = gpus.try_emplace(std::string(*uuid));
    GpuSample& g = it->second;
    if (fresh) {
      *g.mutable_timestamp() = ToProto(ctx.time);
      std::optional<std::string_view> host = s.Label("Hostname");
      if (!host) host = s.Label("hostname");
      g.set_node(host && !host->empty() ? std::string(*host) : ctx.node);
      g.set_gpu(std::string(*uuid));
      g.set_provider(ctx.provider);
      g.set_region(ctx.region);
      g.set_zone(ctx.zone);
    }
    const std::string_view n = s.name;
    const double v = s.value;
    if (n == "DCGM_FI_DEV_SM_CLOCK") {
      g.set_sm_clock_mhz(v);
    } else if (n == "DCGM_FI_DEV_MAX_SM_CLOCK") {
      g.set_max_sm_clock_mhz(v);
    } else if (n == "DCGM_FI_DEV_GPU_TEMP") {
      g.set_temperature_c(v);
    } else if (n == "DCGM_FI_DEV_POWER_USAGE" || n == "nv_gpu_power_usage") {
      g.set_power_w(v);
    } else if (n == "DCGM_FI_DEV_POWER_MGMT_LIMIT" || n == "DCGM_FI_DEV_ENFORCED_POWER_LIMIT" ||
               n == "nv_gpu_power_limit") {
      g.set_power_limit_w(v);
    } else if (n == "DCGM_FI_DEV_GPU_UTIL") {
      g.set_utilization(v / 100.0);
    } else if (n == "nv_gpu_utilization") {
      g.set_utilization(v);
    } else if (n == "DCGM_FI_DEV_FB_USED") {
      g.set_memory_used_bytes(static_cast<uint64_t>(ToCount(v * kMiB)));
      fb_total[g.gpu()] += v;
    } else if (n == "DCGM_FI_DEV_FB_FREE" || n == "DCGM_FI_DEV_FB_RESERVED") {
      fb_total[g.gpu()] += v;
    } else if (n == "nv_gpu_memory_used_bytes") {
      g.set_memory_used_bytes(static_cast<uint64_t>(ToCount(v)));
    } else if (n == "nv_gpu_memory_total_bytes") {
      g.set_memory_total_bytes(static_cast<uint64_t>(ToCount(v)));
    } else if (n == "DCGM_FI_DEV_CLOCKS_EVENT_REASONS" ||
               n == "DCGM_FI_DEV_CLOCK_THROTTLE_REASONS") {
      g.set_clock_event_reasons(static_cast<uint64_t>(ToCount(v)));
    } else if (n == "DCGM_FI_DEV_XID_ERRORS") {
      g.set_xid_last(static_cast<uint32_t>(std::min<int64_t>(ToCount(v), UINT32_MAX)));
    } else if (n == "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL") {
      g.set_ecc_uncorrected_total(static_cast<uint64_t>(ToCount(v)));
    }
  }
  std::vector<GpuSample> out;
  for (auto& [uuid, g] : gpus) {
    if (auto it = fb_total.find(uuid); it != fb_total.end() && !g.has_memory_total_bytes()) {
      g.set_memory_total_bytes(static_cast<uint64_t>(ToCount(it->second * kMiB)));
    }
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace

std::string_view EngineName(Engine engine) {
  switch (engine) {
    case Engine::kVllm:
      return "vllm";
    case Engine::kSglang:
      return "sglang";
    case Engine::kTgi:
      return "tgi";
    case Engine::kTriton:
      return "triton";
    case Engine::kDcgm:
      return "dcgm";
  }
  return "vllm";
}

absl::StatusOr<Engine> ParseEngine(std::string_view name) {
  if (name == "vllm") return Engine::kVllm;
  if (name == "sglang") return Engine::kSglang;
  if (name == "tgi") return Engine::kTgi;
  if (name == "triton" || name == "trtllm") return Engine::kTriton;
  if (name == "dcgm" || name == "dcgm-exporter") return Engine::kDcgm;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown engine \"", Sv(name), "\" (known: vllm, sglang, tgi, triton, dcgm)"));
}

std::optional<Engine> DetectEngine(const std::vector<PromSample>& samples) {
  std::array<int, 5> votes{};
  for (const PromSample& s : samples) {
    const std::string_view n = s.name;
    if (n.starts_with("vllm:")) ++votes[static_cast<size_t>(Engine::kVllm)];
    if (n.starts_with("sglang:")) ++votes[static_cast<size_t>(Engine::kSglang)];
    if (n.starts_with("tgi_")) ++votes[static_cast<size_t>(Engine::kTgi)];
    if (n.starts_with("nv_")) ++votes[static_cast<size_t>(Engine::kTriton)];
    if (n.starts_with("DCGM_FI_")) ++votes[static_cast<size_t>(Engine::kDcgm)];
  }
  size_t best = 0;
  for (size_t i = 1; i < votes.size(); ++i) {
    if (votes[i] > votes[best]) best = i;
  }
  if (votes[best] == 0) return std::nullopt;
  return static_cast<Engine>(best);
}

double CounterTracker::Adjust(const std::string& key, double raw, std::optional<double> created) {
  auto it = series_.find(key);
  if (it == series_.end()) {
    if (series_.size() >= max_series_) return raw;
    it = series_.emplace(key, Series{raw, 0, created, scrape_}).first;
    return raw;
  }
  Series& s = it->second;
  const bool restarted =
      raw < s.last_raw || (created.has_value() && s.created.has_value() && *created != *s.created);
  if (restarted) {
    s.offset += s.last_raw;
    ++resets_;
  }
  s.last_raw = raw;
  s.created = created;
  s.seen = scrape_;
  return raw + s.offset;
}

void CounterTracker::EndScrape() {
  absl::erase_if(series_, [this](const auto& entry) {
    return scrape_ - entry.second.seen >= static_cast<uint64_t>(forget_after_);
  });
}

MappedPage MapPage(const ScrapeContext& ctx, const std::vector<PromSample>& samples,
                   CounterTracker* counters) {
  MappedPage out;
  Page page(samples, counters);
  if (std::optional<ReplicaSample> r = MapReplica(ctx, page); r) {
    out.replicas.push_back(*std::move(r));
  }
  if (ctx.engine == Engine::kDcgm) out.gpus = MapGpus(ctx, samples, "UUID");
  if (ctx.engine == Engine::kTriton) out.gpus = MapGpus(ctx, samples, "gpu_uuid");
  return out;
}

}  // namespace candor::collector

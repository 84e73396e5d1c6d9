#include "exporters/prometheus_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <map>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/status.h"

namespace candor::exporters {
namespace {

std::map<std::string, std::string> ToLabelMap(const std::vector<Label>& labels) {
  std::map<std::string, std::string> out;
  for (const Label& l : labels) out[l.name] = l.value;
  return out;
}

class CounterAdapter final : public Counter {
 public:
  explicit CounterAdapter(prometheus::Counter& c) : c_(c) {}
  void Increment(double v) override { c_.Increment(v); }
  double Value() const override { return c_.Value(); }

 private:
  prometheus::Counter& c_;
};

class GaugeAdapter final : public Gauge {
 public:
  explicit GaugeAdapter(prometheus::Gauge& g) : g_(g) {}
  void Set(double v) override { g_.Set(v); }
  void Increment(double v) override { g_.Increment(v); }
  void Decrement(double v) override { g_.Decrement(v); }
  double Value() const override { return g_.Value(); }

 private:
  prometheus::Gauge& g_;
};

class HistogramAdapter final : public Histogram {
 public:
  explicit HistogramAdapter(prometheus::Histogram& h) : h_(h) {}
  void Observe(double v) override { h_.Observe(v); }

 private:
  prometheus::Histogram& h_;
};

}  // namespace

struct PrometheusMetrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  absl::Mutex mu;
  // Family per name; adapters per (name, labels), owned here so references stay valid.
  std::map<std::string, prometheus::Family<prometheus::Counter>*> counters ABSL_GUARDED_BY(mu);
  std::map<std::string, prometheus::Family<prometheus::Gauge>*> gauges ABSL_GUARDED_BY(mu);
  std::map<std::string, prometheus::Family<prometheus::Histogram>*> histograms ABSL_GUARDED_BY(mu);
  std::map<std::pair<std::string, std::map<std::string, std::string>>, std::unique_ptr<Counter>>
      counter_children ABSL_GUARDED_BY(mu);
  std::map<std::pair<std::string, std::map<std::string, std::string>>, std::unique_ptr<Gauge>>
      gauge_children ABSL_GUARDED_BY(mu);
  std::map<std::pair<std::string, std::map<std::string, std::string>>, std::unique_ptr<Histogram>>
      histogram_children ABSL_GUARDED_BY(mu);
};

PrometheusMetrics::PrometheusMetrics() : impl_(std::make_unique<Impl>()) {}
PrometheusMetrics::~PrometheusMetrics() = default;

Counter& PrometheusMetrics::GetCounter(std::string_view name, std::string_view help,
                                       const std::vector<Label>& labels) {
  absl::MutexLock lock(&impl_->mu);
  std::string key(name);
  auto labels_map = ToLabelMap(labels);
  auto child = impl_->counter_children.find({key, labels_map});
  if (child != impl_->counter_children.end()) return *child->second;
  auto& family = impl_->counters[key];
  if (family == nullptr) {
    CANDOR_CHECK(!impl_->gauges.contains(key) && !impl_->histograms.contains(key));
    family =
        &prometheus::BuildCounter().Name(key).Help(std::string(help)).Register(*impl_->registry);
  }
  auto adapter = std::make_unique<CounterAdapter>(family->Add(labels_map));
  Counter& ref = *adapter;
  impl_->counter_children[{key, labels_map}] = std::move(adapter);
  return ref;
}

Gauge& PrometheusMetrics::GetGauge(std::string_view name, std::string_view help,
                                   const std::vector<Label>& labels) {
  absl::MutexLock lock(&impl_->mu);
  std::string key(name);
  auto labels_map = ToLabelMap(labels);
  auto child = impl_->gauge_children.find({key, labels_map});
  if (child != impl_->gauge_children.end()) return *child->second;
  auto& family = impl_->gauges[key];
  if (family == nullptr) {
    CANDOR_CHECK(!impl_->counters.contains(key) && !impl_->histograms.contains(key));
    family = &prometheus::BuildGauge().Name(key).Help(std::string(help)).Register(*impl_->registry);
  }
  auto adapter = std::make_unique<GaugeAdapter>(family->Add(labels_map));
  Gauge& ref = *adapter;
  impl_->gauge_children[{key, labels_map}] = std::move(adapter);
  return ref;
}

Histogram& PrometheusMetrics::GetHistogram(std::string_view name, std::string_view help,
                                           const std::vector<double>& bucket_bounds,
                                           const std::vector<Label>& labels) {
  absl::MutexLock lock(&impl_->mu);
  std::string key(name);
  auto labels_map = ToLabelMap(labels);
  auto child = impl_->histogram_children.find({key, labels_map});
  if (child != impl_->histogram_children.end()) return *child->second;
  auto& family = impl_->histograms[key];
  if (family == nullptr) {
    CANDOR_CHECK(!impl_->counters.contains(key) && !impl_->gauges.contains(key));
    family =
        &prometheus::BuildHistogram().Name(key).Help(std::string(help)).Register(*impl_->registry);
  }
  auto adapter = std::make_unique<HistogramAdapter>(
      family->Add(labels_map, prometheus::Histogram::BucketBoundaries(bucket_bounds)));
  Histogram& ref = *adapter;
  impl_->histogram_children[{key, labels_map}] = std::move(adapter);
  return ref;
}

std::string PrometheusMetrics::Render() const {
  prometheus::TextSerializer serializer;
  return serializer.Serialize(impl_->registry->Collect());
}

HttpHandler PrometheusMetrics::Handler() const {
  return [this](const HttpRequest&) {
    return HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8", Render(), {}};
  };
}

}  // namespace candor::exporters

// candor's own metrics, as interfaces. Components receive a `MetricsRegistry&`, create their
// counters, gauges and histograms once at construction and keep the references: hot paths
// never look metrics up by name. The Prometheus implementation lives in exporters/
// (exporters/prometheus_metrics.h); tests may use it too.
//
// Naming follows Prometheus conventions: `candor_<component>_<thing>_<unit>`, `_total` on
// counters, base units (seconds, bytes).
//
// Thread safety: every method of every type here is safe to call concurrently.

#ifndef CANDOR_COMMON_METRICS_H_
#define CANDOR_COMMON_METRICS_H_

#include <string_view>
#include <vector>

#include "common/labels.h"

namespace candor {

class Counter {
 public:
  virtual ~Counter() = default;
  // Adds `v` (≥ 0) to the counter.
  virtual void Increment(double v = 1.0) = 0;
  virtual double Value() const = 0;
};

class Gauge {
 public:
  virtual ~Gauge() = default;
  virtual void Set(double v) = 0;
  virtual void Increment(double v = 1.0) = 0;
  virtual void Decrement(double v = 1.0) = 0;
  virtual double Value() const = 0;
};

class Histogram {
 public:
  virtual ~Histogram() = default;
  virtual void Observe(double v) = 0;
};

// Creates (or returns the existing) metric of a family. A family is a metric name with its
// help text; each distinct `labels` value is one child. References stay valid for the
// registry's lifetime. Label names must be valid Prometheus label names.
class MetricsRegistry {
 public:
  virtual ~MetricsRegistry() = default;
  virtual Counter& GetCounter(std::string_view name, std::string_view help,
                              const std::vector<Label>& labels = {}) = 0;
  virtual Gauge& GetGauge(std::string_view name, std::string_view help,
                          const std::vector<Label>& labels = {}) = 0;
  // `bucket_bounds` are the upper bounds, increasing; +Inf is implicit.
  virtual Histogram& GetHistogram(std::string_view name, std::string_view help,
                                  const std::vector<double>& bucket_bounds,
                                  const std::vector<Label>& labels = {}) = 0;
};

// Exponential latency buckets in seconds from 100 µs to ~100 s, for request and batch latency.
std::vector<double> LatencyBucketsSeconds();

}  // namespace candor

#endif  // CANDOR_COMMON_METRICS_H_

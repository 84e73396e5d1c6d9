// The MetricsRegistry (common/metrics.h) backed by prometheus-cpp, rendered in the Prometheus
// text exposition format for `/metrics`.
//
// Thread safety: all methods are safe to call concurrently.

#ifndef CANDOR_EXPORTERS_PROMETHEUS_METRICS_H_
#define CANDOR_EXPORTERS_PROMETHEUS_METRICS_H_

#include <memory>
#include <string>

#include "common/http.h"
#include "common/metrics.h"

namespace candor::exporters {

class PrometheusMetrics final : public MetricsRegistry {
 public:
  PrometheusMetrics();
  ~PrometheusMetrics() override;

  // Creating a metric whose name is already used with another type, or with another help
  // text, aborts: metric definitions are programming errors, not run-time input.
  Counter& GetCounter(std::string_view name, std::string_view help,
                      const std::vector<Label>& labels = {}) override;
  Gauge& GetGauge(std::string_view name, std::string_view help,
                  const std::vector<Label>& labels = {}) override;
  Histogram& GetHistogram(std::string_view name, std::string_view help,
                          const std::vector<double>& bucket_bounds,
                          const std::vector<Label>& labels = {}) override;

  // Every metric in the text exposition format (version 0.0.4).
  std::string Render() const;

  // A handler for GET /metrics.
  HttpHandler Handler() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace candor::exporters

#endif  // CANDOR_EXPORTERS_PROMETHEUS_METRICS_H_

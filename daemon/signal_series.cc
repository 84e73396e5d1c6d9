#include "daemon/signal_series.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/labels.h"
#include "common/strings.h"

namespace candor::daemon {

SignalSeries::SignalSeries(store::SeriesStore& store, MetricsRegistry* metrics,
                           SignalSeriesOptions options)
    : options_(options), writer_(store) {
  if (metrics == nullptr) return;
  samples_metric_ = &metrics->GetCounter("candor_signal_samples_total",
                                         "Derived signal samples written to the series store.");
  dropped_metric_ =
      &metrics->GetCounter("candor_signal_dropped_windows_total",
                           "Entity window summaries dropped because the series store fell behind.");
  errors_metric_ = &metrics->GetCounter(
      "candor_signal_write_errors_total",
      "Failed writes of derived signals (store errors, series refused by limits).");
  series_metric_ =
      &metrics->GetGauge("candor_signal_series", "Derived signal series known to the writer.");
}

void SignalSeries::OnWindow(absl::Time /*start*/, absl::Time end,
                            const std::vector<detectors::WindowSummary>& summaries) {
  const int64_t t_ms = absl::ToUnixMillis(end);
  absl::MutexLock lock(&mu_);
  for (const detectors::WindowSummary& w : summaries) {
    if (queue_.size() >= options_.max_queued) {
      queue_.pop_front();
      ++dropped_;
      if (dropped_metric_ != nullptr) dropped_metric_->Increment();
    }
    queue_.push_back({t_ms, w.entity, w.values});
  }
}

absl::Status SignalSeries::Flush() {
  std::deque<Pending> pending;
  {
    absl::MutexLock lock(&mu_);
    pending.swap(queue_);
  }
  absl::MutexLock lock(&flush_mu_);
  if (pending.empty()) return absl::OkStatus();
  for (const Pending& p : pending) {
    const std::string entity = p.entity.ToString();
    const std::string kind(EntityKindName(p.entity.kind));
    for (int i = 0; i < detectors::kNumSignals; ++i) {
      const double v = p.values[static_cast<size_t>(i)];
      if (std::isnan(v)) continue;
      writer_.Add({{std::string(kMetricNameLabel),
                    absl::StrCat("candor_signal_",
                                 Sv(detectors::SignalName(static_cast<detectors::Signal>(i))))},
                   {"entity", entity},
                   {"kind", kind}},
                  p.t_ms, v);
    }
  }
  const store::SeriesWriter::Result r = writer_.Commit();
  samples_ += r.written;
  errors_ += r.errors;
  if (samples_metric_ != nullptr) {
    samples_metric_->Increment(static_cast<double>(r.written));
    errors_metric_->Increment(static_cast<double>(r.errors));
    series_metric_->Set(static_cast<double>(writer_.series()));
  }
  return r.status;
}

SignalSeriesStats SignalSeries::Stats() const {
  SignalSeriesStats s;
  {
    absl::MutexLock lock(&mu_);
    s.dropped_windows = dropped_;
  }
  absl::MutexLock lock(&flush_mu_);
  s.samples = samples_;
  s.write_errors = errors_;
  s.series = writer_.series();
  return s;
}

}  // namespace candor::daemon

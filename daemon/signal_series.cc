#include "daemon/signal_series.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/labels.h"
#include "common/strings.h"

namespace candor::daemon {

SignalSeries::SignalSeries(store::SeriesStore& store, MetricsRegistry* metrics,
                           SignalSeriesOptions options)
    : store_(store), options_(options) {
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

absl::StatusOr<store::SeriesRef> SignalSeries::Ref(detectors::Signal signal,
                                                   const EntityId& entity) {
  const std::string entity_text = entity.ToString();
  std::string key = absl::StrCat(static_cast<int>(signal), "\x1f", entity_text);
  if (auto it = refs_.find(key); it != refs_.end()) return it->second;
  LabelSet labels =
      LabelSet::FromTrusted({{std::string(kMetricNameLabel),
                              absl::StrCat("candor_signal_", Sv(detectors::SignalName(signal)))},
                             {"entity", entity_text},
                             {"kind", std::string(EntityKindName(entity.kind))}});
  absl::StatusOr<store::SeriesRef> ref = store_.GetOrCreateSeries(labels);
  if (ref.ok()) refs_.emplace(std::move(key), *ref);
  return ref;
}

absl::Status SignalSeries::Flush() {
  std::deque<Pending> pending;
  {
    absl::MutexLock lock(&mu_);
    pending.swap(queue_);
  }
  absl::MutexLock lock(&flush_mu_);
  if (pending.empty()) return absl::OkStatus();
  store::SampleBatch batch;
  absl::Status first_error;
  uint64_t errors = 0;
  for (const Pending& p : pending) {
    for (int i = 0; i < detectors::kNumSignals; ++i) {
      const double v = p.values[static_cast<size_t>(i)];
      if (std::isnan(v)) continue;
      absl::StatusOr<store::SeriesRef> ref = Ref(static_cast<detectors::Signal>(i), p.entity);
      if (!ref.ok()) {
        ++errors;
        if (first_error.ok()) first_error = ref.status();
        continue;
      }
      batch.Add(*ref, p.t_ms, v);
    }
  }
  uint64_t written = 0;
  absl::StatusOr<store::CommitResult> result = store_.Commit(batch);
  if (!result.ok()) {
    errors += batch.size();
    if (first_error.ok()) first_error = result.status();
  } else {
    written = batch.size() - result->rejected;
    errors += result->rejected;
    if (result->rejected > 0 && first_error.ok()) {
      first_error = absl::OutOfRangeError(
          absl::StrCat(result->rejected, " derived signal samples refused by the series store: ",
                       result->rejects.empty() ? "" : result->rejects[0].message));
    }
  }
  samples_ += written;
  errors_ += errors;
  if (samples_metric_ != nullptr) {
    samples_metric_->Increment(static_cast<double>(written));
    errors_metric_->Increment(static_cast<double>(errors));
    series_metric_->Set(static_cast<double>(refs_.size()));
  }
  return first_error;
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
  s.series = refs_.size();
  return s;
}

}  // namespace candor::daemon

#include "collector/kernel_series.h"

#include <google/protobuf/util/time_util.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/labels.h"
#include "common/log.h"
#include "common/strings.h"
#include "common/time_util.h"

namespace candor::collector {
namespace {

int64_t UnixMillis(const google::protobuf::Timestamp& t) {
  return google::protobuf::util::TimeUtil::TimestampToMilliseconds(t);
}

std::string JsonNumber(double v) { return absl::StrCat(v); }

std::string FindingJson(const KernelFinding& f) {
  return absl::StrCat(
      "{\"node\":", JsonQuote(f.node), ",\"gpu\":", JsonQuote(f.gpu),
      ",\"kernel\":", JsonQuote(f.kernel), ",\"model\":", JsonQuote(f.model),
      ",\"provider\":", JsonQuote(f.provider), ",\"value_ms\":", JsonNumber(f.value_ms),
      ",\"baseline_ms\":", JsonNumber(f.baseline_ms), ",\"ratio\":", JsonNumber(f.ratio),
      ",\"peer_ms\":", JsonNumber(f.peer_ms), ",\"peer_ratio\":", JsonNumber(f.peer_ratio),
      ",\"peers\":", f.peers, ",\"onset\":", JsonQuote(FormatRfc3339(f.onset)),
      ",\"since\":", JsonQuote(FormatRfc3339(f.since)), "}");
}

}  // namespace

KernelSeries::KernelSeries(store::SeriesStore& store, MetricsRegistry* metrics,
                           KernelSeriesOptions options)
    : store_(store), options_(options), baselines_(options.baselines) {
  if (metrics == nullptr) return;
  findings_metric_ = &metrics->GetCounter("candor_kernel_findings_total",
                                          "Kernels found running slower than their baseline.");
  active_metric_ = &metrics->GetGauge("candor_kernel_findings_active",
                                      "Kernels now running slower than their baseline.");
  samples_metric_ = &metrics->GetCounter("candor_kernel_series_samples_total",
                                         "KernelSummary samples written to the series store.");
  errors_metric_ = &metrics->GetCounter("candor_kernel_series_write_errors_total",
                                        "KernelSummary samples the series store refused.");
  dropped_metric_ =
      &metrics->GetCounter("candor_kernel_series_dropped_summaries_total",
                           "KernelSummary items dropped because the series store fell behind.");
}

void KernelSeries::OnItem(const candor::v1::IngestItem& item) {
  if (!item.has_kernel_summary()) return;
  absl::MutexLock lock(&mu_);
  if (queue_.size() >= options_.max_queued) {
    queue_.pop_front();
    ++dropped_;
    if (dropped_metric_ != nullptr) dropped_metric_->Increment();
  }
  queue_.push_back(item.kernel_summary());
}

absl::StatusOr<store::SeriesRef> KernelSeries::Ref(std::vector<Label> labels) {
  std::string key;
  for (const Label& l : labels) absl::StrAppend(&key, l.name, "\x1f", l.value, "\x1e");
  if (auto it = refs_.find(key); it != refs_.end()) return it->second;
  // Kernel and node names come from the wire: validated here, not trusted.
  absl::StatusOr<LabelSet> set = LabelSet::FromUnsorted(std::move(labels));
  if (!set.ok()) return set.status();
  absl::StatusOr<store::SeriesRef> ref = store_.GetOrCreateSeries(*set);
  if (ref.ok()) refs_.emplace(std::move(key), *ref);
  return ref;
}

void KernelSeries::AddSummary(const candor::v1::KernelSummary& s, store::SampleBatch* batch) {
  const int64_t t = UnixMillis(s.interval_end());
  const double interval_ms = static_cast<double>(t - UnixMillis(s.interval_start()));
  auto add = [&](std::string_view metric, std::vector<Label> extra, double v) {
    std::vector<Label> labels = {
        {std::string(kMetricNameLabel), std::string(metric)}, {"node", s.node()}, {"gpu", s.gpu()}};
    for (Label& l : extra) labels.push_back(std::move(l));
    absl::StatusOr<store::SeriesRef> ref = Ref(std::move(labels));
    if (!ref.ok()) {
      ++stats_.write_errors;
      if (first_error_.ok()) first_error_ = ref.status();
      return;
    }
    batch->Add(*ref, t, v);
  };
  const std::string process = s.process_name().empty() ? absl::StrCat(s.pid()) : s.process_name();
  add("candor_kernel_launches", {{"process", process}}, static_cast<double>(s.kernel_count()));
  if (interval_ms > 0) {
    add("candor_kernel_busy_ratio", {{"process", process}}, s.kernel_busy_ms() / interval_ms);
  }
  add("candor_kernel_dropped_records", {{"process", process}},
      static_cast<double>(s.dropped_records()));
  for (const candor::v1::KernelStats& k : s.top_kernels()) {
    if (k.count() == 0) continue;
    add("candor_kernel_duration_mean_ms", {{"kernel", k.name()}},
        k.total_ms() / static_cast<double>(k.count()));
  }
  for (const KernelFindingEvent& e : baselines_.Observe(s)) {
    const KernelFinding& f = e.finding;
    if (e.kind == KernelFindingEvent::Kind::kStarted) {
      ++stats_.findings_started;
      if (findings_metric_ != nullptr) findings_metric_->Increment();
      CANDOR_LOG_WARN("kernels", "kernel slower than its baseline",
                      {{"node", f.node},
                       {"gpu", f.gpu},
                       {"kernel", f.kernel},
                       {"value_ms", f.value_ms},
                       {"baseline_ms", f.baseline_ms},
                       {"ratio", f.ratio},
                       {"peer_ratio", f.peer_ratio}});
    } else {
      ++stats_.findings_ended;
      CANDOR_LOG_INFO("kernels", "kernel back to its baseline",
                      {{"node", f.node}, {"gpu", f.gpu}, {"kernel", f.kernel}});
    }
  }
  for (const KernelFinding& f : baselines_.Active()) {
    if (f.node != s.node() || f.gpu != s.gpu()) continue;
    add("candor_kernel_slowdown_ratio", {{"kernel", f.kernel}}, f.ratio);
  }
}

absl::Status KernelSeries::Flush() {
  std::deque<candor::v1::KernelSummary> pending;
  {
    absl::MutexLock lock(&mu_);
    pending.swap(queue_);
  }
  absl::MutexLock lock(&flush_mu_);
  first_error_ = absl::OkStatus();
  if (pending.empty()) return absl::OkStatus();
  const uint64_t errors_before = stats_.write_errors;
  store::SampleBatch batch;
  for (const candor::v1::KernelSummary& s : pending) AddSummary(s, &batch);
  stats_.summaries += pending.size();
  uint64_t written = 0;
  if (!batch.empty()) {
    absl::StatusOr<store::CommitResult> result = store_.Commit(batch);
    if (!result.ok()) {
      stats_.write_errors += batch.size();
      if (first_error_.ok()) first_error_ = result.status();
    } else {
      written = batch.size() - result->rejected;
      stats_.write_errors += result->rejected;
      if (result->rejected > 0 && first_error_.ok()) {
        first_error_ = absl::OutOfRangeError(
            absl::StrCat(result->rejected, " kernel samples refused by the series store: ",
                         result->rejects.empty() ? "" : result->rejects[0].message));
      }
    }
  }
  stats_.samples += written;
  if (samples_metric_ != nullptr) {
    samples_metric_->Increment(static_cast<double>(written));
    errors_metric_->Increment(static_cast<double>(stats_.write_errors - errors_before));
    active_metric_->Set(static_cast<double>(baselines_.Active().size()));
  }
  return first_error_;
}

std::string KernelSeries::ActiveFindingsJson() const {
  absl::MutexLock lock(&flush_mu_);
  std::string out = "{\"status\":\"success\",\"data\":[";
  bool first = true;
  for (const KernelFinding& f : baselines_.Active()) {
    if (!first) out.push_back(',');
    first = false;
    out += FindingJson(f);
  }
  out += "]}";
  return out;
}

HttpHandler KernelSeries::Handler() const {
  return [this](const HttpRequest&) { return HttpResponse::Json(200, ActiveFindingsJson()); };
}

KernelSeriesStats KernelSeries::Stats() const {
  uint64_t dropped = 0;
  {
    absl::MutexLock lock(&mu_);
    dropped = dropped_;
  }
  absl::MutexLock lock(&flush_mu_);
  KernelSeriesStats s = stats_;
  s.dropped_summaries = dropped;
  return s;
}

}  // namespace candor::collector

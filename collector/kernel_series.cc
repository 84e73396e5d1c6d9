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
    : options_(options), baselines_(options.baselines), writer_(store) {
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

void KernelSeries::AddSummary(const candor::v1::KernelSummary& s) {
  const int64_t t = UnixMillis(s.interval_end());
  const double interval_ms = static_cast<double>(t - UnixMillis(s.interval_start()));
  auto add = [&](std::string_view metric, std::vector<Label> extra, double v) {
    std::vector<Label> labels = {
        {std::string(kMetricNameLabel), std::string(metric)}, {"node", s.node()}, {"gpu", s.gpu()}};
    for (Label& l : extra) labels.push_back(std::move(l));
    writer_.Add(std::move(labels), t, v);
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
  if (pending.empty()) return absl::OkStatus();
  for (const candor::v1::KernelSummary& s : pending) AddSummary(s);
  stats_.summaries += pending.size();
  const store::SeriesWriter::Result r = writer_.Commit();
  stats_.samples += r.written;
  stats_.write_errors += r.errors;
  if (samples_metric_ != nullptr) {
    samples_metric_->Increment(static_cast<double>(r.written));
    errors_metric_->Increment(static_cast<double>(r.errors));
    active_metric_->Set(static_cast<double>(baselines_.Active().size()));
  }
  return r.status;
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

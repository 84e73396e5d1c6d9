#include "daemon/live_detection.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/entity.h"

namespace candor::daemon {

class LiveDetection::Sink final : public collector::TransitionSink {
 public:
  explicit Sink(LiveDetection* owner) : owner_(owner) {}
  void OnTransition(const detectors::Transition& t) override {
    {
      absl::MutexLock lock(&owner_->mu_);
      owner_->unpersisted_.push_back(t);
      owner_->all_.push_back(t);
      if (owner_->options_.print && owner_->out_ != nullptr) {
        *owner_->out_ << detectors::TransitionOneLine(t) << '\n';
        owner_->out_->flush();
      }
    }
  }

 private:
  LiveDetection* owner_;
};

LiveDetection::LiveDetection(LiveDetectionOptions options, store::EventLog& log, Clock& clock,
                             std::ostream* out, MetricsRegistry* metrics)
    : options_(std::move(options)),
      log_(log),
      clock_(clock),
      out_(out),
      sink_(std::make_unique<Sink>(this)),
      pipeline_(options_.pipeline, sink_.get(), options_.windows),
      registry_(metrics) {
  if (metrics == nullptr) return;
  metrics_.items =
      &metrics->GetCounter("candor_detection_items_total", "Items fed to the detection pipeline.");
  const char* late =
      "Items that arrived after their window closed: folded into the oldest open "
      "window, or dropped beyond the allowed lateness.";
  metrics_.folded =
      &metrics->GetCounter("candor_detection_late_items_total", late, {{"outcome", "folded"}});
  metrics_.dropped =
      &metrics->GetCounter("candor_detection_late_items_total", late, {{"outcome", "dropped"}});
  metrics_.windows =
      &metrics->GetCounter("candor_detection_windows_total", "Event-time windows closed.");
  metrics_.transitions =
      &metrics->GetCounter("candor_detection_transitions_total", "State transitions decided.");
  metrics_.entities = &metrics->GetGauge("candor_detection_entities", "Entities known.");
  metrics_.watermark =
      &metrics->GetGauge("candor_detection_watermark_seconds",
                         "Event time (Unix seconds) up to which windows are closed.");
}

void LiveDetection::UpdateMetrics(const collector::PipelineStats& s) {
  if (registry_ == nullptr) return;
  absl::MutexLock lock(&metrics_mu_);
  const auto add = [](Counter* c, uint64_t now, uint64_t before) {
    if (now > before) c->Increment(static_cast<double>(now - before));
  };
  add(metrics_.items, s.items, reported_.items);
  add(metrics_.folded, s.signals.late_folded, reported_.signals.late_folded);
  add(metrics_.dropped, s.signals.too_late + s.signals.too_new,
      reported_.signals.too_late + reported_.signals.too_new);
  add(metrics_.windows, s.windows, reported_.windows);
  add(metrics_.transitions, s.transitions, reported_.transitions);
  metrics_.entities->Set(static_cast<double>(s.entities));
  if (s.watermark != absl::InfinitePast()) {
    metrics_.watermark->Set(absl::ToDoubleSeconds(s.watermark - absl::UnixEpoch()));
  }
  reported_ = s;
  const char* help = "1 for each entity's current fleet state (DESIGN §4), 0 for its former ones.";
  for (const detectors::EntityStatus& st : pipeline_.States()) {
    const std::string entity = st.entity.ToString();
    const std::string state(FleetStateName(st.state));
    Gauge* now =
        &registry_->GetGauge("candor_entity_state", help, {{"entity", entity}, {"state", state}});
    Gauge*& current = state_gauges_[entity];
    if (current != nullptr && current != now) current->Set(0);
    current = now;
    now->Set(1);
  }
}

LiveDetection::~LiveDetection() { Detach(); }

void LiveDetection::Attach() {
  log_.SetCommitListener([this](uint64_t, std::span<const store::LogRecord> records) {
    for (const store::LogRecord& r : records) {
      if (r.attachment != nullptr)
        OnItem(*static_cast<const candor::v1::IngestItem*>(r.attachment));
    }
  });
  absl::MutexLock lock(&mu_);
  attached_ = true;
}

void LiveDetection::Detach() {
  {
    absl::MutexLock lock(&mu_);
    if (!attached_) return;
    attached_ = false;
  }
  log_.SetCommitListener(nullptr);
}

void LiveDetection::OnItem(const candor::v1::IngestItem& item) {
  {
    absl::MutexLock lock(&mu_);
    last_arrival_ = clock_.MonotonicNow();
  }
  if (options_.on_item) options_.on_item(item);
  pipeline_.Observe(item);
}

absl::Status LiveDetection::RunOnce() {
  UpdateMetrics(pipeline_.Stats());
  absl::Time advance = absl::InfinitePast();
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_.MonotonicNow();
    if (last_arrival_ != absl::InfinitePast() && now - last_arrival_ >= options_.idle_advance) {
      advance = now;
    }
  }
  if (advance != absl::InfinitePast()) {
    // Event time moves on by the quiet time since the last item.
    const collector::PipelineStats s = pipeline_.Stats();
    absl::Time last_arrival;
    {
      absl::MutexLock lock(&mu_);
      last_arrival = last_arrival_;
    }
    if (s.max_event_time != absl::InfinitePast()) {
      pipeline_.AdvanceTo(s.max_event_time + (advance - last_arrival));
    }
  }
  for (;;) {
    detectors::Transition t;
    {
      absl::MutexLock lock(&mu_);
      if (unpersisted_.empty()) return absl::OkStatus();
      t = unpersisted_.front();
    }
    const absl::Status s =
        log_.PutTransition(t.time, t.entity.ToString(), detectors::TransitionToJson(t));
    if (!s.ok()) return s;
    absl::MutexLock lock(&mu_);
    unpersisted_.pop_front();
  }
}

absl::Status LiveDetection::Finish() {
  pipeline_.Finish();
  absl::Status s;
  {
    absl::MutexLock lock(&mu_);
    last_arrival_ = absl::InfinitePast();
  }
  s = RunOnce();
  return s;
}

std::vector<detectors::Transition> LiveDetection::Transitions() const {
  absl::MutexLock lock(&mu_);
  return all_;
}

HttpHandler LiveDetection::StatesHandler() {
  return [this](const HttpRequest& req) {
    const std::string entity = req.Param("entity");
    std::string data = "[";
    bool found = entity.empty();
    bool first = true;
    for (const detectors::EntityStatus& s : pipeline_.States()) {
      if (!entity.empty() && s.entity.ToString() != entity) continue;
      found = true;
      if (!first) data.push_back(',');
      first = false;
      data += detectors::EntityStatusToJson(s);
    }
    data.push_back(']');
    if (!found) {
      return HttpResponse::Json(404, absl::StrCat(R"({"status":"error","errorType":"not_found",)",
                                                  R"("error":"unknown entity"})"));
    }
    return HttpResponse::Json(200, absl::StrCat(R"({"status":"success","data":)", data, "}"));
  };
}

}  // namespace candor::daemon

#include "collector/pipeline.h"

#include <utility>

namespace candor::collector {

Pipeline::Pipeline(PipelineOptions options, TransitionSink* transitions, WindowSummarySink* windows)
    : aggregator_(std::move(options.signals)),
      analyzer_(std::move(options.analyzer)),
      transitions_(transitions),
      windows_(windows) {}

void Pipeline::Observe(const candor::v1::IngestItem& item) {
  absl::MutexLock lock(&mu_);
  ++items_;
  aggregator_.Observe(item);
  const absl::Time wm = aggregator_.DataWatermark();
  if (wm > aggregator_.watermark()) Close(wm);
}

void Pipeline::AdvanceTo(absl::Time t) {
  absl::MutexLock lock(&mu_);
  if (t > aggregator_.watermark()) Close(t);
}

void Pipeline::Finish() {
  absl::MutexLock lock(&mu_);
  const absl::Time t = aggregator_.max_time();
  if (t != absl::InfinitePast() && t > aggregator_.watermark()) Close(t);
}

void Pipeline::Close(absl::Time watermark) {
  aggregator_.CloseUpTo(watermark, [this](absl::Time start, absl::Time end,
                                          std::vector<detectors::WindowSummary> summaries) {
    if (windows_ != nullptr) windows_->OnWindow(start, end, summaries);
    for (const detectors::Transition& t : analyzer_.OnWindow(start, end, summaries)) {
      ++transition_count_;
      transitions_->OnTransition(t);
    }
  });
}

std::vector<detectors::EntityStatus> Pipeline::States() const {
  absl::MutexLock lock(&mu_);
  return analyzer_.Snapshot();
}

PipelineStats Pipeline::Stats() const {
  absl::MutexLock lock(&mu_);
  PipelineStats s;
  s.items = items_;
  s.signals = aggregator_.stats();
  s.windows = analyzer_.windows();
  s.transitions = transition_count_;
  s.watermark = aggregator_.watermark();
  s.max_event_time = aggregator_.max_time();
  s.entities = aggregator_.num_entities();
  return s;
}

}  // namespace candor::collector

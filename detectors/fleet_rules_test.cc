#include "detectors/fleet_rules.h"

#include <algorithm>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace candor::detectors {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1767571800);

// A window summary plus an evaluation that rules read, built signal by signal.
class RuleFixture {
 public:
  explicit RuleFixture(EntityId id) {
    w_.entity = std::move(id);
    w_.start = kStart;
    w_.end = kStart + absl::Seconds(10);
    w_.has_data = true;
    w_.Set(Signal::kItems, 100);
    w_.Set(Signal::kRequests, 100);
  }
  RuleFixture& Value(Signal s, double v) {
    w_.Set(s, v);
    return *this;
  }
  // A watched signal with a ready reference `expected`; `alarm` sets the stack's finding.
  RuleFixture& Watched(Signal s, double value, double expected, bool alarm,
                       Direction d = Direction::kUp) {
    w_.Set(s, value);
    SignalEval e;
    e.present = true;
    e.ready = true;
    e.value = value;
    e.expected = expected;
    e.finding.active = alarm;
    e.finding.direction = d;
    e.finding.detector = "cusum";
    e.finding.statistic = "cusum_upper";
    e.finding.onset = kStart - absl::Seconds(20);
    eval_.signals[static_cast<size_t>(s)] = e;
    return *this;
  }
  RuleFixture& RateOf(Rate r, int64_t events, int64_t trials, double p0, bool alarm) {
    RateEval e;
    e.ready = true;
    e.events = events;
    e.trials = trials;
    e.rate = static_cast<double>(events) / static_cast<double>(trials);
    e.p0 = p0;
    e.finding.active = alarm;
    e.finding.detector = "bernoulli_cusum";
    e.finding.onset = kStart;
    eval_.rates[static_cast<size_t>(r)] = e;
    return *this;
  }
  RuleInput& input() {
    in_.window = &w_;
    in_.eval = &eval_;
    return in_;
  }
  std::vector<RuleResult> Run() { return EvaluateRules(input()); }
  EntityEval& eval() { return eval_; }

 private:
  WindowSummary w_;
  EntityEval eval_;
  RuleInput in_;
};

const RuleResult* Find(const std::vector<RuleResult>& rs, FleetState s) {
  const auto it =
      std::find_if(rs.begin(), rs.end(), [&](const RuleResult& r) { return r.state == s; });
  return it == rs.end() ? nullptr : &*it;
}

GpuEval Throttled() {
  GpuEval g;
  g.present = true;
  g.clock_ratio = 0.6;
  g.throttle = 1.0;
  g.temperature = 88;
  g.xid = 0;
  g.ecc = 0;
  return g;
}

PeerEval SlowerThanPeers(double ratio) {
  PeerEval p;
  p.available = true;
  p.value = 60.0 * ratio;
  p.baseline = 60.0;
  p.ratio = ratio;
  p.peers = 5;
  p.finding.active = true;
  p.finding.detector = "peer_ratio_cusum";
  p.finding.statistic = "cusum_lower";
  p.finding.onset = kStart - absl::Seconds(10);
  return p;
}

TEST(FleetRulesTest, SlowTokensWithThermalThrottlingIsHardwareDegraded) {
  RuleFixture f(EntityId{EntityKind::kNode, "gpu-1"});
  f.Watched(Signal::kDecodeTpsP50, 36, 60, true, Direction::kDown);
  f.input().peer = SlowerThanPeers(0.6);
  f.input().gpu = Throttled();
  const auto r_results = f.Run();
  const RuleResult* r = Find(r_results, FleetState::kHardwareDegraded);
  ASSERT_NE(r, nullptr);
  EXPECT_TRUE(r->entry);
  EXPECT_EQ(r->evidence.primary.baseline_source, "peers");
  EXPECT_EQ(r->evidence.primary.detector, "peer_ratio_cusum");
  EXPECT_THAT(r->evidence.summary, ::testing::HasSubstr("SM clocks at 60.0%"));
}

TEST(FleetRulesTest, SlowTokensWithHealthyGpusIsNotCalledHardware) {
  RuleFixture f(EntityId{EntityKind::kNode, "gpu-1"});
  f.Watched(Signal::kDecodeTpsP50, 36, 60, true, Direction::kDown);
  f.input().peer = SlowerThanPeers(0.6);
  GpuEval healthy = Throttled();
  healthy.clock_ratio = 0.99;
  healthy.throttle = 0;
  healthy.temperature = 60;
  f.input().gpu = healthy;
  const auto rs = f.Run();
  EXPECT_EQ(Find(rs, FleetState::kHardwareDegraded), nullptr);
  // Still out of line with its peers: degraded-primary, cause not confirmed.
  const RuleResult* p = Find(rs, FleetState::kDegradedPrimary);
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(p->entry);
}

TEST(FleetRulesTest, FullKvCacheWithPreemptionsExplainsSlowTokens) {
  RuleFixture f(EntityId{EntityKind::kReplica, "r1"});
  f.Value(Signal::kReplicaSamples, 2).Value(Signal::kKvUsageMean, 0.98);
  f.Watched(Signal::kPreemptionRate, 3.0, 0.001, true);
  f.Watched(Signal::kDecodeTpsP50, 40, 48, true, Direction::kDown);
  f.input().peer = SlowerThanPeers(0.75);
  f.input().gpu = Throttled();
  const auto rs = f.Run();
  EXPECT_EQ(Find(rs, FleetState::kHardwareDegraded), nullptr);
  const RuleResult* kv = Find(rs, FleetState::kKvThrashing);
  ASSERT_NE(kv, nullptr);
  EXPECT_TRUE(kv->entry);
}

TEST(FleetRulesTest, QueueUpWithIdleGpusAndNoCompletionsIsQueueDeadlock) {
  RuleFixture f(EntityId{EntityKind::kReplica, "r1"});
  f.Value(Signal::kReplicaSamples, 2).Value(Signal::kGpuUtilMean, 0.02);
  f.Watched(Signal::kFinishedRate, 0.0, 20.0, true, Direction::kDown);
  f.Watched(Signal::kQueueDepthMean, 250, 1, true);
  const auto rs = f.Run();
  const RuleResult* d = Find(rs, FleetState::kQueueDeadlock);
  ASSERT_NE(d, nullptr);
  EXPECT_TRUE(d->entry);
  // The same queue with busy GPUs and completions is the compute ceiling instead.
  RuleFixture g(EntityId{EntityKind::kReplica, "r1"});
  g.Value(Signal::kReplicaSamples, 2).Value(Signal::kGpuUtilMean, 0.95);
  g.Watched(Signal::kFinishedRate, 58.0, 20.0, false);
  g.Watched(Signal::kQueueDepthMean, 250, 1, true);
  const auto gs = g.Run();
  EXPECT_EQ(Find(gs, FleetState::kQueueDeadlock), nullptr);
  ASSERT_NE(Find(gs, FleetState::kComputeSaturated), nullptr);
  EXPECT_TRUE(Find(gs, FleetState::kComputeSaturated)->entry);
}

TEST(FleetRulesTest, CascadingTimeoutNamesTheEarliestSlowDependency) {
  RuleFixture f(EntityId{EntityKind::kRoute, "search"});
  f.RateOf(Rate::kTimeouts, 40, 200, 0.001, true);
  DependencyEval early, late, fine;
  early.id = EntityId{EntityKind::kDependency, "vector-db"};
  early.slow = early.slowish = true;
  early.onset = kStart - absl::Seconds(60);
  late.id = EntityId{EntityKind::kDependency, "reranker"};
  late.slow = late.slowish = true;
  late.onset = kStart - absl::Seconds(20);
  fine.id = EntityId{EntityKind::kDependency, "auth"};
  f.input().dependencies = {late, fine, early};
  const auto r_results = f.Run();
  const RuleResult* r = Find(r_results, FleetState::kCascadingTimeout);
  ASSERT_NE(r, nullptr);
  EXPECT_TRUE(r->entry);
  EXPECT_EQ(r->evidence.root, "dependency:vector-db");
  EXPECT_EQ(r->evidence.root_onset, kStart - absl::Seconds(60));
}

TEST(FleetRulesTest, TimeoutsWithoutASlowDependencyAreNotCascading) {
  RuleFixture f(EntityId{EntityKind::kRoute, "search"});
  f.RateOf(Rate::kTimeouts, 40, 200, 0.001, true).RateOf(Rate::kErrors, 40, 200, 0.003, true);
  DependencyEval fine;
  fine.id = EntityId{EntityKind::kDependency, "auth"};
  f.input().dependencies = {fine};
  const auto rs = f.Run();
  EXPECT_EQ(Find(rs, FleetState::kCascadingTimeout), nullptr);
  ASSERT_NE(Find(rs, FleetState::kDegradedPrimary), nullptr);
}

TEST(FleetRulesTest, FallbackFarAboveBaselineEvenWithHttpSuccessHigh) {
  RuleFixture f(EntityId{EntityKind::kRoute, "chat"});
  f.Value(Signal::kOk, 99);
  f.RateOf(Rate::kFallback, 35, 100, 0.01, true);
  const auto r_results = f.Run();
  const RuleResult* r = Find(r_results, FleetState::kDegradedFallback);
  ASSERT_NE(r, nullptr);
  EXPECT_TRUE(r->entry);
  // 3 % against a 1 % baseline is not "far above".
  RuleFixture g(EntityId{EntityKind::kRoute, "chat"});
  g.RateOf(Rate::kFallback, 3, 100, 0.01, true);
  const auto g_results = g.Run();
  const RuleResult* weak = Find(g_results, FleetState::kDegradedFallback);
  EXPECT_TRUE(weak == nullptr || !weak->entry);
}

TEST(FleetRulesTest, TruncationFromLongerPromptsIsInputDriftNotQuality) {
  RuleFixture f(EntityId{EntityKind::kRoute, "chat"});
  f.RateOf(Rate::kTruncation, 10, 100, 0.003, true);
  f.Watched(Signal::kInputTokensP50, 1500, 600, true);
  const auto rs = f.Run();
  EXPECT_EQ(Find(rs, FleetState::kQualityDegraded), nullptr);
  ASSERT_NE(Find(rs, FleetState::kInputDrift), nullptr);
  EXPECT_TRUE(Find(rs, FleetState::kInputDrift)->entry);
  // The same truncation with unchanged prompts is silent truncation: a quality fault.
  RuleFixture g(EntityId{EntityKind::kRoute, "chat"});
  g.RateOf(Rate::kTruncation, 10, 100, 0.003, true);
  g.Watched(Signal::kInputTokensP50, 610, 600, false);
  const auto q_results = g.Run();
  const RuleResult* q = Find(q_results, FleetState::kQualityDegraded);
  ASSERT_NE(q, nullptr);
  EXPECT_TRUE(q->entry);
}

TEST(FleetRulesTest, CircuitOpenAndBreakerPolicy) {
  RuleFixture open(EntityId{EntityKind::kProvider, "openai"});
  open.Value(Signal::kCircuitOpen, 50);
  const auto r_results = open.Run();
  const RuleResult* r = Find(r_results, FleetState::kProviderCircuitOpen);
  ASSERT_NE(r, nullptr);
  EXPECT_TRUE(r->entry);
  EXPECT_EQ(r->entry_windows, 1);
  RuleFixture failing(EntityId{EntityKind::kProvider, "openai"});
  failing.Value(Signal::kErrors, 40).Value(Signal::kHttp429, 20);
  ASSERT_NE(Find(failing.Run(), FleetState::kProviderCircuitOpen), nullptr);
  RuleFixture fine(EntityId{EntityKind::kProvider, "openai"});
  fine.Value(Signal::kErrors, 10);
  EXPECT_EQ(Find(fine.Run(), FleetState::kProviderCircuitOpen), nullptr);
}

TEST(FleetRulesTest, WarmingReplicaExplainsParentLatency) {
  RuleFixture f(EntityId{EntityKind::kModel, "m@v1"});
  f.Watched(Signal::kServiceTtftP95, 3000, 800, true);
  {
    const auto rs_ = f.Run();
    EXPECT_TRUE(Find(rs_, FleetState::kDegradedPrimary)->entry);
  }
  f.input().latency_explained = "a warming replica";
  const auto r_results = f.Run();
  const RuleResult* r = Find(r_results, FleetState::kDegradedPrimary);
  ASSERT_NE(r, nullptr);
  EXPECT_FALSE(r->entry);
}

TEST(FleetRulesTest, SilenceAfterSteadyReportingIsNoData) {
  RuleFixture f(EntityId{EntityKind::kReplica, "r1"});
  f.eval().reporting = true;
  f.eval().items_per_window = 150;
  f.eval().silent_windows = 1;
  const auto r_results = f.Run();
  const RuleResult* r = Find(r_results, FleetState::kNoData);
  ASSERT_NE(r, nullptr);
  EXPECT_FALSE(r->entry);
  f.eval().silent_windows = 2;
  {
    const auto rs_ = f.Run();
    EXPECT_TRUE(Find(rs_, FleetState::kNoData)->entry);
  }
  // A sparse source needs a longer silence: 15 expected items.
  f.eval().items_per_window = 0.5;
  f.eval().silent_windows = 20;
  {
    const auto rs_ = f.Run();
    EXPECT_FALSE(Find(rs_, FleetState::kNoData)->entry);
  }
  f.eval().silent_windows = 30;
  {
    const auto rs_ = f.Run();
    EXPECT_TRUE(Find(rs_, FleetState::kNoData)->entry);
  }
}

TEST(FleetRulesTest, FailingProbesEscalateSeverityAndShortenPersistence) {
  RuleFixture f(EntityId{EntityKind::kRoute, "chat"});
  f.RateOf(Rate::kFallback, 35, 100, 0.01, true);
  f.Value(Signal::kSynthetic, 2).Value(Signal::kSyntheticFailed, 2);
  const auto r_results = f.Run();
  const RuleResult* r = Find(r_results, FleetState::kDegradedFallback);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->evidence.severity, "critical");
  EXPECT_EQ(r->entry_windows, 2);
}

TEST(FleetRulesTest, AnnotationsAreOperatorFacts) {
  RuleFixture f(EntityId{EntityKind::kModel, "m@v2"});
  f.input().facts.canary_paused = kStart;
  f.input().facts.canary_paused_message = "review";
  const auto r_results = f.Run();
  const RuleResult* r = Find(r_results, FleetState::kCanaryPaused);
  ASSERT_NE(r, nullptr);
  EXPECT_TRUE(r->entry);
  EXPECT_EQ(r->entry_windows, 1);
  EXPECT_EQ(r->evidence.summary, "CANARY_PAUSED: review");
}

}  // namespace
}  // namespace candor::detectors

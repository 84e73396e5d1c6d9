#include "collector/pipeline.h"

#include "gtest/gtest.h"

namespace candor::collector {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1767571200);

candor::v1::IngestItem Sample(absl::Time t, const std::string& replica) {
  candor::v1::IngestItem item;
  auto* s = item.mutable_replica_sample();
  s->mutable_timestamp()->set_seconds(absl::ToUnixSeconds(t));
  s->set_replica(replica);
  s->set_queue_depth(1);
  return item;
}

TEST(PipelineTest, WindowsCloseWithTheDataAndFinishClosesTheRest) {
  CollectingTransitionSink sink;
  Pipeline p({}, &sink);
  p.Observe(Sample(kT0 + absl::Seconds(1), "a"));
  p.Observe(Sample(kT0 + absl::Seconds(16), "a"));
  PipelineStats s = p.Stats();
  EXPECT_EQ(s.items, 2u);
  EXPECT_EQ(s.windows, 1u);  // Watermark t0+11s closed [t0, t0+10s).
  p.Finish();                // Up to the newest event time, t0+16s: nothing more ends there.
  EXPECT_EQ(p.Stats().windows, 1u);
  p.Observe(Sample(kT0 + absl::Seconds(40), "a"));
  p.Finish();
  EXPECT_EQ(p.Stats().windows, 4u);
}

// A replica that reported steadily and goes silent turns no-data, driven only by other
// entities' data; then AdvanceTo (the live daemon's idle clock) finds whole-fleet silence too.
TEST(PipelineTest, SilenceBecomesNoData) {
  CollectingTransitionSink sink;
  Pipeline p({}, &sink);
  absl::Time t = kT0;
  for (int i = 0; i < 120; ++i, t += absl::Seconds(5)) {
    p.Observe(Sample(t, "a"));
    if (i < 60) p.Observe(Sample(t, "b"));
  }
  ASSERT_FALSE(sink.transitions().empty());
  EXPECT_EQ(sink.transitions()[0].entity.ToString(), "replica:b");
  EXPECT_EQ(sink.transitions()[0].to, FleetState::kNoData);
  const size_t before = sink.transitions().size();
  p.AdvanceTo(t + absl::Minutes(2));
  bool fleet_silent = false;
  for (size_t i = before; i < sink.transitions().size(); ++i) {
    fleet_silent |= sink.transitions()[i].entity.ToString() == "fleet" &&
                    sink.transitions()[i].to == FleetState::kNoData;
  }
  EXPECT_TRUE(fleet_silent);
  EXPECT_EQ(p.States().size(), 3u);  // fleet, replica:a, replica:b
}

}  // namespace
}  // namespace candor::collector

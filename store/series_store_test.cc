#include "store/series_store.h"

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "store/bits.h"

namespace candor::store {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr int64_t kT0 = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
constexpr int64_t kHour = 3600 * 1000;
constexpr int64_t kDay = 24 * kHour;

LabelSet L(std::string name, std::vector<Label> rest = {}) {
  rest.push_back({"__name__", std::move(name)});
  return LabelSet::FromTrusted(std::move(rest));
}

class SeriesStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("candor_store_test_", ::getpid(), "_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    options_.path = dir_.string();
    options_.wal_sync = false;  // Durability is covered by the crash test; keep these fast.
    clock_.SetTime(absl::FromUnixMillis(kT0 - kDay));
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Later() { clock_.SetTime(absl::FromUnixMillis(kT0 + 10 * kDay)); }
  void Open() {
    store_.reset();
    auto s = SeriesStore::Open(options_, clock_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
  }
  SeriesRef Ref(const LabelSet& l) {
    auto r = store_->GetOrCreateSeries(l);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : 0;
  }
  CommitResult Commit(const SampleBatch& b) {
    auto r = store_->Commit(b);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : CommitResult{};
  }
  std::vector<SeriesData> Select(std::vector<LabelMatcher> m, int64_t mint = INT64_MIN,
                                 int64_t maxt = INT64_MAX, ReadOptions o = {}) {
    auto r = store_->Select(m, mint, maxt, o);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : std::vector<SeriesData>{};
  }

  std::filesystem::path dir_;
  SeriesStoreOptions options_;
  SimulatedClock clock_;
  std::unique_ptr<SeriesStore> store_;
};

TEST_F(SeriesStoreTest, AppendSelectAcrossChunksAndReopen) {
  Later();
  Open();
  const SeriesRef a = Ref(L("lat", {{"job", "a"}}));
  const SeriesRef b = Ref(L("lat", {{"job", "b"}}));
  EXPECT_EQ(Ref(L("lat", {{"job", "a"}})), a);
  SampleBatch batch;
  for (int i = 0; i < 2000; ++i) {
    batch.Add(a, kT0 + i * 10000, i * 0.001);
    batch.Add(b, kT0 + i * 10000, static_cast<double>(i));
    if (batch.size() >= 100) {
      EXPECT_EQ(Commit(batch).appended, 100u);
      batch.Clear();
    }
  }
  auto check = [&] {
    auto all = Select({LabelMatcher::Equal("__name__", "lat")});
    ASSERT_THAT(all, SizeIs(2));
    EXPECT_EQ(all[0].labels.Get("job"), "a");
    ASSERT_THAT(all[0].samples, SizeIs(2000));
    for (int i = 0; i < 2000; ++i) {
      ASSERT_EQ(all[0].samples[static_cast<size_t>(i)].t, kT0 + i * 10000);
      ASSERT_EQ(all[0].samples[static_cast<size_t>(i)].v, i * 0.001);
      ASSERT_EQ(all[1].samples[static_cast<size_t>(i)].v, i);
    }
    auto part = Select({LabelMatcher::Equal("job", "b")}, kT0 + 5000, kT0 + 30000);
    ASSERT_THAT(part, SizeIs(1));
    EXPECT_THAT(part[0].samples, ElementsAre(Sample{kT0 + 10000, 1}, Sample{kT0 + 20000, 2},
                                             Sample{kT0 + 30000, 3}));
  };
  check();
  EXPECT_GT(store_->Stats().chunks_written_total, 10u);
  Open();  // Replays the WAL for the open chunks.
  check();
  ASSERT_TRUE(store_->SealAndCompact().ok());
  Open();
  check();
  EXPECT_EQ(store_->Stats().series, 2);
}

TEST_F(SeriesStoreTest, OutOfOrderWithinWindowAndRejects) {
  Later();
  options_.out_of_order_window = absl::Hours(2);
  Open();
  const SeriesRef a = Ref(L("x"));
  SampleBatch batch;
  for (int i = 0; i < 600; ++i) batch.Add(a, kT0 + 3 * kHour + i * 10000, 1);  // Crosses blocks.
  EXPECT_EQ(Commit(batch).appended, 600u);
  batch.Clear();
  const int64_t newest = kT0 + 3 * kHour + 599 * 10000;
  batch.Add(a, newest - 5, 7);                   // In the open chunk.
  batch.Add(a, newest - 50 * 60 * 1000 + 1, 8);  // In a sealed chunk: merged into RocksDB.
  batch.Add(a, newest - 3 * kHour, 9);           // Too old.
  batch.Add(a, kT0 + 3 * kHour + 10000, 5);      // Duplicate timestamp, different value.
  batch.Add(a, kT0 + 3 * kHour + 20000, 1);      // Duplicate, same value: accepted.
  batch.Add(a, newest + 2 * kDay * 10, 1);       // Far future.
  batch.Add(a, kT0 - 30 * kDay, 1);              // Past retention.
  batch.Add(999, kT0, 1);                        // Unknown ref.
  const CommitResult r = Commit(batch);
  EXPECT_EQ(r.appended, 3u);
  EXPECT_EQ(r.rejected, 5u);
  ASSERT_THAT(r.rejects, SizeIs(5));
  EXPECT_EQ(r.rejects[0].reason, RejectReason::kTooOld);
  EXPECT_EQ(r.rejects[0].index, 2u);
  EXPECT_THAT(r.rejects[0].message, HasSubstr("out-of-order window"));
  EXPECT_EQ(r.rejects[1].reason, RejectReason::kTooFarInFuture);
  EXPECT_EQ(r.rejects[2].reason, RejectReason::kOutOfRetention);
  EXPECT_EQ(r.rejects[3].reason, RejectReason::kUnknownSeries);
  EXPECT_EQ(r.rejects[4].reason, RejectReason::kDuplicateTimestamp);
  auto check = [&] {
    auto s = Select({LabelMatcher::Equal("__name__", "x")});
    ASSERT_THAT(s, SizeIs(1));
    ASSERT_THAT(s[0].samples, SizeIs(602));
    EXPECT_TRUE(std::is_sorted(s[0].samples.begin(), s[0].samples.end(),
                               [](const Sample& x, const Sample& y) { return x.t < y.t; }));
    int found = 0;
    for (const Sample& x : s[0].samples) {
      if (x.t == newest - 5) found += x.v == 7;
      if (x.t == newest - 50 * 60 * 1000 + 1) found += x.v == 8;
      if (x.t == kT0 + 3 * kHour + 10000) found += x.v == 1;
    }
    EXPECT_EQ(found, 3);
  };
  check();
  EXPECT_EQ(store_->Stats().rejected_total[static_cast<int>(RejectReason::kTooOld)], 1u);
  Open();
  check();
}

TEST_F(SeriesStoreTest, CardinalityLimitRejectsNewSeriesOnly) {
  Later();
  options_.max_series_per_metric = 3;
  Open();
  std::vector<SeriesRef> refs;
  for (int i = 0; i < 3; ++i) refs.push_back(Ref(L("m", {{"i", absl::StrCat(i)}})));
  auto over = store_->GetOrCreateSeries(L("m", {{"i", "3"}}));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(over.status().message(), HasSubstr("max_series_per_metric"));
  EXPECT_TRUE(store_->GetOrCreateSeries(L("other")).ok());
  SampleBatch batch;
  for (SeriesRef r : refs) batch.Add(r, kT0, 1);
  EXPECT_EQ(Commit(batch).appended, 3u);
  EXPECT_EQ(store_->Stats().series_limit_rejects_total, 1u);
  EXPECT_FALSE(store_->GetOrCreateSeries(LabelSet::FromTrusted({{"job", "x"}})).ok());
}

TEST_F(SeriesStoreTest, HistogramsRoundTripAndSwitchKinds) {
  Later();
  Open();
  const SeriesRef h = Ref(L("lat_hist"));
  Histogram cum(5);
  std::vector<HistogramSample> expected;
  SampleBatch batch;
  for (int i = 0; i < 500; ++i) {
    for (int k = 0; k < 10; ++k) cum.Observe(0.1 + 0.01 * ((i * 7 + k) % 50));
    Histogram stored = cum;
    stored.set_sum(std::round(stored.sum() * 1000) / 1000);
    batch.AddHistogram(h, kT0 + i * 10000, stored);
    expected.push_back({kT0 + i * 10000, stored});
  }
  Histogram fractional(5);
  fractional.Observe(1, 0.5);
  batch.AddHistogram(h, kT0 + 500 * 10000, fractional);
  const CommitResult r = Commit(batch);
  EXPECT_EQ(r.appended, 500u);
  ASSERT_EQ(r.rejected, 1u);
  EXPECT_EQ(r.rejects[0].reason, RejectReason::kInvalidHistogram);
  auto check = [&] {
    auto s = Select({LabelMatcher::Equal("__name__", "lat_hist")});
    ASSERT_THAT(s, SizeIs(1));
    ASSERT_EQ(s[0].histograms.size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) ASSERT_EQ(s[0].histograms[i], expected[i]) << i;
  };
  check();
  Open();
  check();
  ASSERT_TRUE(store_->SealAndCompact().ok());
  Open();
  check();
}

TEST_F(SeriesStoreTest, LabelNamesValuesAndMetadata) {
  Later();
  Open();
  SampleBatch batch;
  batch.Add(Ref(L("up", {{"job", "vllm"}})), kT0, 1);
  batch.Add(Ref(L("up", {{"job", "tgi"}, {"zone", "a"}})), kT0 + kDay, 1);
  Commit(batch);
  EXPECT_THAT(*store_->LabelNames({}, INT64_MIN, INT64_MAX),
              ElementsAre("__name__", "job", "zone"));
  EXPECT_THAT(*store_->LabelNames({}, kT0, kT0 + 1), ElementsAre("__name__", "job"));
  EXPECT_THAT(*store_->LabelValues("job", {}, INT64_MIN, INT64_MAX), ElementsAre("tgi", "vllm"));
  EXPECT_THAT(
      *store_->LabelValues("job", {{LabelMatcher::Equal("zone", "a")}}, INT64_MIN, INT64_MAX),
      ElementsAre("tgi"));
  ASSERT_TRUE(store_->SetMetadata("up", {"gauge", "target up", ""}).ok());
  Open();
  auto md = store_->Metadata();
  ASSERT_THAT(md, SizeIs(1));
  EXPECT_EQ(md[0].second.help, "target up");
}

// Opens the store's RocksDB directly (tests may), to plant what a newer candor or a disk
// fault would leave behind.
void RewriteRaw(const std::string& db_path,
                const std::function<void(rocksdb::DB*, std::vector<rocksdb::ColumnFamilyHandle*>&,
                                         const std::vector<std::string>&)>& fn) {
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), db_path, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> desc;
  for (const auto& n : names) desc.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), db_path, desc, &handles, &db).ok());
  fn(db, handles, names);
  for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
  delete db;
}

TEST_F(SeriesStoreTest, OtherFormatVersionIsRefused) {
  Later();
  Open();
  store_.reset();
  RewriteRaw((dir_ / "db").string(), [](rocksdb::DB* db, auto& handles, const auto&) {
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), handles[0], "format", "2").ok());
  });
  auto s = SeriesStore::Open(options_, clock_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.status().message(), HasSubstr("format version 2"));
}

TEST_F(SeriesStoreTest, CorruptChunkIsDataLossNotACrash) {
  Later();
  Open();
  SampleBatch batch;
  const SeriesRef a = Ref(L("x"));
  for (int i = 0; i < 300; ++i) batch.Add(a, kT0 + i * 1000, i);
  Commit(batch);
  ASSERT_TRUE(store_->SealAndCompact().ok());
  store_.reset();
  RewriteRaw((dir_ / "db").string(), [](rocksdb::DB* db, auto& handles, const auto& names) {
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i].rfind("raw_", 0) != 0) continue;
      std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handles[i]));
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        std::string v = it->value().ToString();
        v.resize(v.size() / 2);
        v[v.size() / 2] ^= 0x55;
        ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), handles[i], it->key(), v).ok());
      }
    }
  });
  Open();
  auto s = store_->Select({LabelMatcher::Equal("__name__", "x")}, INT64_MIN, INT64_MAX);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.status().message(), HasSubstr("corrupt"));
  EXPECT_GE(store_->Stats().corrupt_chunks_total, 1u);
}

TEST_F(SeriesStoreTest, WalIsTruncatedOnceChunksAreSealed) {
  Later();
  options_.wal_segment_bytes = 1 << 20;
  options_.chunk_max_samples = 120;
  Open();
  std::vector<SeriesRef> refs;
  for (int i = 0; i < 400; ++i) refs.push_back(Ref(L("w", {{"i", absl::StrCat(i)}})));
  for (int step = 0; step < 1200; ++step) {
    SampleBatch batch;
    for (SeriesRef r : refs) batch.Add(r, kT0 + step * 10000, static_cast<double>(step));
    Commit(batch);
    if (step % 100 == 99) {
      ASSERT_TRUE(store_->RunOnce().ok());
    }
  }
  const StoreStats st = store_->Stats();
  EXPECT_GT(st.wal_bytes_total, 4u << 20);
  EXPECT_LE(st.wal_segments, 3);
  Open();
  auto s = Select({LabelMatcher::Equal("i", "17")});
  ASSERT_THAT(s, SizeIs(1));
  EXPECT_THAT(s[0].samples, SizeIs(1200));
}

TEST_F(SeriesStoreTest, RollupsAndRetentionOnSimulatedClock) {
  options_.raw_retention = absl::Hours(24 * 2);
  options_.rollup_5m_retention = absl::Hours(24 * 5);
  options_.rollup_1h_retention = absl::Hours(24 * 8);
  options_.out_of_order_window = absl::Minutes(10);
  clock_.SetTime(absl::FromUnixMillis(kT0));
  Open();
  const SeriesRef g = Ref(L("gauge"));
  const SeriesRef c = Ref(L("counter_total"));
  // Four days at 60 s; the clock follows the data.
  double counter = 0;
  for (int64_t t = kT0; t < kT0 + 4 * kDay; t += 60000) {
    SampleBatch batch;
    batch.Add(g, t, static_cast<double>((t / 60000) % 10));
    batch.Add(c, t, counter += 3);
    clock_.SetTime(absl::FromUnixMillis(t));
    Commit(batch);
    if ((t - kT0) % kHour == 0) {
      ASSERT_TRUE(store_->RunOnce().ok());
    }
  }
  ASSERT_TRUE(store_->RunOnce().ok());
  StoreStats st = store_->Stats();
  EXPECT_GE(st.rollups_written_total, 2u * 2 * 3);  // 2 series × 2 resolutions × ≥3 days.
  EXPECT_GE(st.partitions_dropped_total, 1u);       // Day 1 is past 2 days of raw retention.
  // Day 0 has only rollups now: a raw read falls back to them.
  auto s = Select({LabelMatcher::Equal("__name__", "gauge")}, kT0, kT0 + kDay - 1);
  ASSERT_THAT(s, SizeIs(1));
  EXPECT_EQ(s[0].resolution, Resolution::k5m);
  // Intervals are (end - 5m, end]: the midnight sample closes an interval of its own, and the
  // last interval of the day holds 23:56–23:59.
  ASSERT_THAT(s[0].rollup, SizeIs(289));
  double count = 0, sum = 0;
  for (const RollupPoint& p : s[0].rollup) {
    count += p.count;
    sum += p.sum;
    if (p.count != 5) continue;
    // Minutes 5k+1 … 5k+5 hold the values 1…5 or 6…9,0.
    EXPECT_TRUE((p.min == 1 && p.max == 5) || (p.min == 0 && p.max == 9)) << p.min << " " << p.max;
  }
  EXPECT_EQ(count, 1440);
  EXPECT_DOUBLE_EQ(sum, 1440 * 4.5);
  // The counter's last sample per interval is exact at interval ends.
  auto cs = Select({LabelMatcher::Equal("__name__", "counter_total")}, kT0, kT0 + kDay - 1);
  ASSERT_THAT(cs[0].samples, SizeIs(289));
  EXPECT_EQ(cs[0].samples.back().v, 3.0 * 1440);
  // A 5m read of a recent, rolled-up day uses the rollup; raw reads get raw samples.
  auto recent_raw =
      Select({LabelMatcher::Equal("__name__", "gauge")}, kT0 + 2 * kDay, kT0 + 3 * kDay - 1);
  EXPECT_EQ(recent_raw[0].resolution, Resolution::kRaw);
  EXPECT_THAT(recent_raw[0].samples, SizeIs(1440));
  ReadOptions five;
  five.resolution = Resolution::k5m;
  auto recent_5m =
      Select({LabelMatcher::Equal("__name__", "gauge")}, kT0 + 2 * kDay, kT0 + 3 * kDay - 1, five);
  EXPECT_EQ(recent_5m[0].resolution, Resolution::k5m);
  EXPECT_THAT(recent_5m[0].samples, SizeIs(289));
  // Later: the 5m rollups of January (a monthly partition) expire; 1h rollups answer.
  clock_.SetTime(absl::FromUnixMillis(kT0 + 40 * kDay));
  ASSERT_TRUE(store_->RunOnce().ok());
  auto old = Select({LabelMatcher::Equal("__name__", "gauge")}, kT0, kT0 + kDay - 1);
  ASSERT_THAT(old, SizeIs(1));
  EXPECT_EQ(old[0].resolution, Resolution::k1h);
  EXPECT_THAT(old[0].rollup, SizeIs(25));
  EXPECT_EQ(store_->Stats().series, 2);
  // Finally the yearly 1h partition expires too and the series leave the index.
  clock_.SetTime(absl::FromUnixMillis(kT0 + 400 * kDay));
  ASSERT_TRUE(store_->RunOnce().ok());
  EXPECT_EQ(store_->Stats().series, 0);
  auto gone = store_->Commit([&] {
    SampleBatch b;
    b.Add(g, kT0 + 400 * kDay, 1);
    return b;
  }());
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->rejects[0].reason, RejectReason::kUnknownSeries);
}

TEST_F(SeriesStoreTest, LateWriteToRolledDayIsRolledAgain) {
  options_.out_of_order_window = absl::Hours(10);
  clock_.SetTime(absl::FromUnixMillis(kT0 + 2 * kDay));
  Open();
  const SeriesRef ahead = Ref(L("ahead"));
  const SeriesRef lagging = Ref(L("g"));
  SampleBatch batch;
  for (int64_t t = kT0; t < kT0 + 36 * kHour; t += 60000) batch.Add(ahead, t, 1);
  for (int64_t t = kT0; t < kT0 + 23 * kHour; t += 60000) batch.Add(lagging, t, 1);
  Commit(batch);
  ASSERT_TRUE(store_->RunOnce().ok());
  ReadOptions five;
  five.resolution = Resolution::k5m;
  const int64_t late = kT0 + 20 * kHour + 30000;
  auto before = Select({LabelMatcher::Equal("__name__", "g")}, kT0, kT0 + kDay - 1, five);
  ASSERT_EQ(before[0].resolution, Resolution::k5m);
  batch.Clear();
  batch.Add(lagging, late, 100);  // Within its window, into the rolled-up day.
  EXPECT_EQ(Commit(batch).appended, 1u);
  // Until the next pass, 5m reads of the dirty day fall back to raw data.
  auto dirty = Select({LabelMatcher::Equal("__name__", "g")}, kT0, kT0 + kDay - 1, five);
  EXPECT_EQ(dirty[0].resolution, Resolution::kRaw);
  ASSERT_TRUE(store_->RunOnce().ok());
  auto after = Select({LabelMatcher::Equal("__name__", "g")}, kT0, kT0 + kDay - 1, five);
  ASSERT_EQ(after[0].resolution, Resolution::k5m);
  const auto it = std::find_if(after[0].rollup.begin(), after[0].rollup.end(),
                               [&](const RollupPoint& p) { return p.end > late; });
  ASSERT_NE(it, after[0].rollup.end());
  EXPECT_EQ(it->count, 6);
  EXPECT_EQ(it->max, 100);
}

}  // namespace
}  // namespace candor::store

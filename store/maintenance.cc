// Maintenance of SeriesStoreImpl: sealing idle head chunks, truncating the WAL, rolling up
// finished days and dropping partitions past retention. Driven by RunOnce on the store's
// Clock; the day boundaries of rollups follow sample time (the newest sample), retention
// follows the clock.

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status.h"
#include "store/bits.h"
#include "store/chunk.h"
#include "store/histogram_chunk.h"
#include "store/rollup.h"
#include "store/series_store_impl.h"

namespace candor::store {
namespace {

constexpr int64_t kDayMs = 24 * 3600 * 1000;
constexpr size_t kRollupBatchSeries = 1000;

template <typename T>
void SortDedupe(std::vector<T>* v) {
  std::stable_sort(v->begin(), v->end(), [](const T& a, const T& b) { return a.t < b.t; });
  size_t out = 0;
  for (size_t i = 0; i < v->size(); ++i) {
    if (out > 0 && (*v)[out - 1].t == (*v)[i].t) {
      (*v)[out - 1] = std::move((*v)[i]);
    } else {
      if (out != i) (*v)[out] = std::move((*v)[i]);
      ++out;
    }
  }
  v->resize(out);
}

}  // namespace

absl::Status SeriesStoreImpl::RunOnce() {
  absl::MutexLock maintenance(&maintenance_mu_);
  CANDOR_RETURN_IF_ERROR(SealIdle());
  CANDOR_RETURN_IF_ERROR(TruncateWal());
  CANDOR_RETURN_IF_ERROR(ComputeRollups());
  return ApplyRetention();
}

absl::Status SeriesStoreImpl::SealIdle() {
  absl::MutexLock lock(&mu_);
  if (store_maxt_ == INT64_MIN) return absl::OkStatus();
  const int64_t idle = absl::ToInt64Milliseconds(options_.idle_chunk_seal_after);
  const int64_t window = absl::ToInt64Milliseconds(options_.out_of_order_window);
  std::vector<SealedChunk> sealed;
  for (const auto& s : series_) {
    if (s == nullptr || s->open_empty()) continue;
    if (store_maxt_ - s->ts.back() >= idle || store_maxt_ >= s->open_block_end() + window) {
      s->Cut(&sealed);
    }
  }
  return FlushSealed(&sealed);
}

absl::Status SeriesStoreImpl::TruncateWal() {
  uint32_t keep_from = wal_->current_segment();
  {
    absl::ReaderMutexLock lock(&mu_);
    for (const auto& s : series_) {
      if (s != nullptr && !s->open_empty()) keep_from = std::min(keep_from, s->first_segment);
    }
  }
  // Every chunk sealed so far was written to RocksDB; make that durable before the WAL
  // segments that also hold its samples go.
  CANDOR_RETURN_IF_ERROR(disk_->SyncWal());
  return wal_->TruncateBefore(keep_from);
}

absl::Status SeriesStoreImpl::ComputeRollups() {
  std::vector<int64_t> days;
  {
    absl::ReaderMutexLock lock(&mu_);
    if (store_maxt_ == INT64_MIN) return absl::OkStatus();
    const int64_t window = absl::ToInt64Milliseconds(options_.out_of_order_window);
    for (const PartitionId& p : disk_->Partitions(PartitionKind::kRaw)) {
      const bool complete = p.start_ms + kDayMs + window <= store_maxt_;
      if (complete && (!rolled_days_.contains(p.start_ms) || dirty_days_.contains(p.start_ms))) {
        days.push_back(p.start_ms);
      }
    }
  }
  for (int64_t day : days) CANDOR_RETURN_IF_ERROR(RollupDay(day));
  return absl::OkStatus();
}

absl::Status SeriesStoreImpl::RollupDay(int64_t day) {
  uint64_t generation = 0;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = dirty_days_.find(day);
    if (it != dirty_days_.end()) generation = it->second;
  }
  CANDOR_ASSIGN_OR_RETURN(auto raw, disk_->Partition({PartitionKind::kRaw, day}, false));
  if (raw == nullptr) return absl::OkStatus();
  CANDOR_ASSIGN_OR_RETURN(auto cf5m, disk_->Partition(PartitionFor(PartitionKind::k5m, day), true));
  CANDOR_ASSIGN_OR_RETURN(auto cf1h, disk_->Partition(PartitionFor(PartitionKind::k1h, day), true));
  auto batch = disk_->NewBatch();
  uint64_t cur = 0;
  size_t in_batch = 0;
  std::vector<Sample> floats;
  std::vector<HistogramSample> hists;
  auto finish_series = [&]() -> absl::Status {
    if (cur == 0) return absl::OkStatus();
    SortDedupe(&floats);
    SortDedupe(&hists);
    batch->PutChunk(
        cf5m, cur, day,
        EncodeRollupBlock(BuildRollup(floats, hists, ResolutionStepMs(Resolution::k5m))));
    batch->PutChunk(
        cf1h, cur, day,
        EncodeRollupBlock(BuildRollup(floats, hists, ResolutionStepMs(Resolution::k1h))));
    rollups_written_.fetch_add(2, std::memory_order_relaxed);
    floats.clear();
    hists.clear();
    if (++in_batch >= kRollupBatchSeries) {
      CANDOR_RETURN_IF_ERROR(disk_->Write(batch.get(), false));
      batch = disk_->NewBatch();
      in_batch = 0;
    }
    return absl::OkStatus();
  };
  const absl::Status scan =
      disk_->ScanPartition(raw, [&](uint64_t ref, int64_t key, std::string_view bytes) {
        if (ref != cur) {
          CANDOR_RETURN_IF_ERROR(finish_series());
          cur = ref;
        }
        absl::StatusOr<ChunkHeader> h = PeekChunk(bytes);
        absl::Status s =
            h.ok() ? (h->encoding == ChunkEncoding::kHistogram ? DecodeHistogramChunk(bytes, &hists)
                                                               : DecodeFloatChunk(bytes, &floats))
                   : h.status();
        if (!s.ok()) {
          corrupt_chunks_.fetch_add(1, std::memory_order_relaxed);
          return absl::DataLossError(
              absl::StrCat("rollup of ", PartitionName({PartitionKind::kRaw, day}), ": series ",
                           ref, " chunk at ", key, ": ", s.message()));
        }
        return absl::OkStatus();
      });
  CANDOR_RETURN_IF_ERROR(scan);
  CANDOR_RETURN_IF_ERROR(finish_series());
  absl::MutexLock lock(&mu_);
  auto it = dirty_days_.find(day);
  const bool rewritten = it != dirty_days_.end() && it->second != generation;
  if (!rewritten) {
    if (it != dirty_days_.end()) dirty_days_.erase(it);
    rolled_days_.insert(day);
    batch->PutMeta(absl::StrCat("rolled/", day), "");
    batch->DeleteMeta(absl::StrCat("dirty/", day));
  }
  return disk_->Write(batch.get(), false);
}

absl::Status SeriesStoreImpl::ApplyRetention() {
  const int64_t now = absl::ToUnixMillis(clock_.Now());
  const int64_t raw_cutoff = now - absl::ToInt64Milliseconds(options_.raw_retention);
  {
    // Open chunks entirely past retention are sealed first, so their data is rolled up and
    // dropped with its day like everything else.
    absl::MutexLock lock(&mu_);
    std::vector<SealedChunk> sealed;
    for (const auto& s : series_) {
      if (s != nullptr && !s->open_empty() && s->ts.back() < raw_cutoff) s->Cut(&sealed);
    }
    CANDOR_RETURN_IF_ERROR(FlushSealed(&sealed));
  }
  for (const PartitionId& p : disk_->Partitions(PartitionKind::kRaw)) {
    if (PartitionEnd(p) > raw_cutoff) break;
    bool rolled;
    {
      absl::ReaderMutexLock lock(&mu_);
      rolled = rolled_days_.contains(p.start_ms) && !dirty_days_.contains(p.start_ms);
    }
    if (!rolled) CANDOR_RETURN_IF_ERROR(RollupDay(p.start_ms));
    CANDOR_RETURN_IF_ERROR(disk_->Drop(p));
    partitions_dropped_.fetch_add(1, std::memory_order_relaxed);
    absl::MutexLock lock(&mu_);
    raw_horizon_ = std::max(raw_horizon_, PartitionEnd(p));
    rolled_days_.erase(p.start_ms);
    dirty_days_.erase(p.start_ms);
    auto batch = disk_->NewBatch();
    std::string h;
    PutOrderedInt64(&h, raw_horizon_);
    batch->PutMeta("raw_horizon", h);
    batch->DeleteMeta(absl::StrCat("rolled/", p.start_ms));
    batch->DeleteMeta(absl::StrCat("dirty/", p.start_ms));
    CANDOR_RETURN_IF_ERROR(disk_->Write(batch.get(), true));
    CANDOR_LOG_INFO("store", "dropped partition past retention", {{"partition", PartitionName(p)}});
  }
  const struct {
    PartitionKind kind;
    absl::Duration retention;
  } rollups[] = {{PartitionKind::k5m, options_.rollup_5m_retention},
                 {PartitionKind::k1h, options_.rollup_1h_retention}};
  for (const auto& r : rollups) {
    const int64_t cutoff = now - absl::ToInt64Milliseconds(r.retention);
    for (const PartitionId& p : disk_->Partitions(r.kind)) {
      if (PartitionEnd(p) > cutoff) break;
      CANDOR_RETURN_IF_ERROR(disk_->Drop(p));
      partitions_dropped_.fetch_add(1, std::memory_order_relaxed);
      CANDOR_LOG_INFO("store", "dropped partition past retention",
                      {{"partition", PartitionName(p)}});
    }
  }
  // Series whose newest sample is older than every remaining partition leave the index.
  int64_t oldest_data = INT64_MAX;
  for (PartitionKind kind : {PartitionKind::kRaw, PartitionKind::k5m, PartitionKind::k1h}) {
    const std::vector<PartitionId> parts = disk_->Partitions(kind);
    if (!parts.empty()) oldest_data = std::min(oldest_data, parts.front().start_ms);
  }
  absl::MutexLock lock(&mu_);
  auto batch = disk_->NewBatch();
  for (auto& s : series_) {
    if (s == nullptr || !s->open_empty() || s->meta.maxt == INT64_MIN ||
        s->meta.maxt >= oldest_data) {
      continue;
    }
    index_.Remove(s->ref, s->labels);
    by_labels_.erase(s->labels);
    auto m = metric_series_.find(std::string(s->labels.MetricName()));
    if (m != metric_series_.end() && --m->second == 0) metric_series_.erase(m);
    batch->DeleteSeries(s->ref);
    --num_series_;
    s.reset();
  }
  return disk_->Write(batch.get(), false);
}

absl::Status SeriesStoreImpl::SealAndCompact() {
  {
    absl::MutexLock maintenance(&maintenance_mu_);
    {
      absl::MutexLock lock(&mu_);
      std::vector<SealedChunk> sealed;
      for (const auto& s : series_) {
        if (s != nullptr) s->Cut(&sealed);
      }
      CANDOR_RETURN_IF_ERROR(FlushSealed(&sealed));
      // Every sample is sealed now: a fresh segment lets the old ones go.
      CANDOR_RETURN_IF_ERROR(wal_->Rotate());
    }
    CANDOR_RETURN_IF_ERROR(TruncateWal());
  }
  return disk_->CompactAll();
}

}  // namespace candor::store

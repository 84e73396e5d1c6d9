// The out-of-order path: samples older than their series' sealed chunks (within the
// out-of-order window) are merged into RocksDB directly. They are rare, so each group (series,
// 2-hour block) is a read-modify-write of the block's chunks, written with the commit's
// durability instead of going through the head WAL.

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/strings.h"
#include "store/bits.h"
#include "store/chunk.h"
#include "store/histogram_chunk.h"
#include "store/series_store_impl.h"

namespace candor::store {
namespace {

constexpr size_t kMergedChunkMax = 2048;

struct BlockChunks {
  std::vector<int64_t> float_keys;
  std::vector<Sample> floats;
  // Histogram chunks by layout (schema, zero threshold).
  struct HistChunk {
    int64_t key;
    std::vector<HistogramSample> samples;
  };
  std::vector<HistChunk> hist_chunks;
};

template <typename T>
void SortByTime(std::vector<T>* v) {
  std::stable_sort(v->begin(), v->end(), [](const T& a, const T& b) { return a.t < b.t; });
}

bool SameLayout(const Histogram& a, const Histogram& b) {
  return a.schema() == b.schema() && a.zero_threshold() == b.zero_threshold();
}

}  // namespace

absl::Status SeriesStoreImpl::MergeLate(std::vector<LateSample>* late, CommitResult* result) {
  if (late->empty()) return absl::OkStatus();
  std::stable_sort(late->begin(), late->end(), [](const LateSample& a, const LateSample& b) {
    if (a.ref != b.ref) return a.ref < b.ref;
    return BlockStart(a.t) < BlockStart(b.t);
  });
  auto batch = disk_->NewBatch();
  size_t begin = 0;
  while (begin < late->size()) {
    size_t end = begin + 1;
    while (end < late->size() && (*late)[end].ref == (*late)[begin].ref &&
           BlockStart((*late)[end].t) == BlockStart((*late)[begin].t)) {
      ++end;
    }
    const std::vector<LateSample> group(late->begin() + static_cast<ptrdiff_t>(begin),
                                        late->begin() + static_cast<ptrdiff_t>(end));
    CANDOR_RETURN_IF_ERROR(MergeLateGroup(group, result, batch.get()));
    begin = end;
  }
  late->clear();
  return disk_->Write(batch.get(), options_.wal_sync);
}

absl::Status SeriesStoreImpl::MergeLateGroup(const std::vector<LateSample>& group,
                                             CommitResult* result, Disk::Batch* batch) {
  const SeriesRef ref = group.front().ref;
  const int64_t block = BlockStart(group.front().t);
  HeadSeries* s = Find(ref);
  if (s == nullptr) return absl::OkStatus();
  const PartitionId p = PartitionFor(PartitionKind::kRaw, block);
  CANDOR_ASSIGN_OR_RETURN(auto cf, disk_->Partition(p, true));
  BlockChunks existing;
  CANDOR_RETURN_IF_ERROR(disk_->ReadChunks(
      cf, {ref}, block, block + kBlockMs - 1, [&](size_t, int64_t key, std::string_view bytes) {
        CANDOR_ASSIGN_OR_RETURN(const ChunkHeader h, PeekChunk(bytes));
        absl::Status st;
        if (h.encoding == ChunkEncoding::kHistogram) {
          existing.hist_chunks.push_back({key, {}});
          st = DecodeHistogramChunk(bytes, &existing.hist_chunks.back().samples);
        } else {
          existing.float_keys.push_back(key);
          st = DecodeFloatChunk(bytes, &existing.floats);
        }
        if (!st.ok()) {
          corrupt_chunks_.fetch_add(1, std::memory_order_relaxed);
          return absl::DataLossError(
              absl::StrCat("series ", s->labels.ToString(), " chunk at ", key, ": ", st.message()));
        }
        return absl::OkStatus();
      }));
  SortByTime(&existing.floats);
  // Everything already stored for the block, for the duplicate check: disk, then the head.
  std::vector<Sample> known_floats = existing.floats;
  std::vector<HistogramSample> known_hists;
  for (const auto& c : existing.hist_chunks) {
    known_hists.insert(known_hists.end(), c.samples.begin(), c.samples.end());
  }
  if (!s->open_empty() && s->block_start == block) {
    s->CopyOpen(block, block + kBlockMs - 1, &known_floats, &known_hists);
  }
  SortByTime(&known_floats);
  SortByTime(&known_hists);

  std::vector<Sample> new_floats;
  std::vector<HistogramSample> new_hists;
  for (const LateSample& l : group) {
    auto fit = std::lower_bound(known_floats.begin(), known_floats.end(), l.t,
                                [](const Sample& a, int64_t t) { return a.t < t; });
    auto hit = std::lower_bound(known_hists.begin(), known_hists.end(), l.t,
                                [](const HistogramSample& a, int64_t t) { return a.t < t; });
    const bool float_there = fit != known_floats.end() && fit->t == l.t;
    const bool hist_there = hit != known_hists.end() && hit->t == l.t;
    if (float_there || hist_there) {
      const bool same = l.h != nullptr ? (hist_there && hit->h == *l.h)
                                       : (float_there && DoubleBits(fit->v) == DoubleBits(l.v));
      if (same) {
        ++result->appended;
      } else {
        Reject(
            result, l.index, RejectReason::kDuplicateTimestamp,
            absl::StrCat(s->labels.ToString(), ": a different value is already stored at ", l.t));
      }
      continue;
    }
    if (l.h != nullptr) {
      new_hists.push_back({l.t, *l.h});
      known_hists.insert(hit, {l.t, *l.h});
    } else {
      new_floats.push_back({l.t, l.v});
      known_floats.insert(fit, {l.t, l.v});
    }
    ++result->appended;
    s->meta.mint = std::min(s->meta.mint, l.t);
    s->meta.maxt = std::max(s->meta.maxt, l.t);
    s->meta_dirty = true;
  }

  auto put_floats = [&](std::vector<Sample> all) {
    SortByTime(&all);
    for (size_t i = 0; i < all.size(); i += kMergedChunkMax) {
      const size_t n = std::min(kMergedChunkMax, all.size() - i);
      std::vector<int64_t> ts(n);
      std::vector<double> vs(n);
      for (size_t k = 0; k < n; ++k) {
        ts[k] = all[i + k].t;
        vs[k] = all[i + k].v;
      }
      batch->PutChunk(cf, ref, ts[0], EncodeFloatChunk(ts, vs));
    }
  };
  if (!new_floats.empty()) {
    for (int64_t key : existing.float_keys) batch->DeleteChunk(cf, ref, key);
    std::vector<Sample> all = existing.floats;
    all.insert(all.end(), new_floats.begin(), new_floats.end());
    put_floats(std::move(all));
  }
  // Histograms merge only with chunks of the same layout; each layout is one merged chunk.
  while (!new_hists.empty()) {
    const Histogram layout = new_hists.front().h;
    std::vector<HistogramSample> all;
    std::vector<HistogramSample> rest;
    for (auto& h : new_hists) (SameLayout(h.h, layout) ? all : rest).push_back(std::move(h));
    for (const auto& c : existing.hist_chunks) {
      if (c.samples.empty() || !SameLayout(c.samples.front().h, layout)) continue;
      batch->DeleteChunk(cf, ref, c.key);
      all.insert(all.end(), c.samples.begin(), c.samples.end());
    }
    SortByTime(&all);
    for (size_t i = 0; i < all.size(); i += kMergedChunkMax) {
      const size_t n = std::min(kMergedChunkMax, all.size() - i);
      std::vector<int64_t> ts(n);
      std::vector<Histogram> hs(n);
      for (size_t k = 0; k < n; ++k) {
        ts[k] = all[i + k].t;
        hs[k] = all[i + k].h;
      }
      batch->PutChunk(cf, ref, ts[0], EncodeHistogramChunk(ts, hs));
    }
    new_hists = std::move(rest);
  }
  if (s->meta_dirty) {
    batch->PutSeriesMeta(ref, EncodeSeriesMeta(s->meta));
    s->meta_dirty = false;
  }
  NoteRawWrite(p.start_ms, batch);
  return absl::OkStatus();
}

}  // namespace candor::store

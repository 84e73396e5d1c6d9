// The read path of SeriesStoreImpl: selection through the index, the head's open chunks, raw
// chunks from day partitions and rollup blocks where raw data has expired or was asked for.

#include <algorithm>
#include <type_traits>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "store/chunk.h"
#include "store/histogram_chunk.h"
#include "store/rollup.h"
#include "store/series_store_impl.h"

namespace candor::store {

struct SeriesStoreImpl::ReadTarget {
  SeriesData data;
  std::vector<Sample> head_floats;
  std::vector<HistogramSample> head_hists;
  // The head's open histogram chunk as a column block (column reads only).
  std::vector<HistogramColumns> head_columns;
  std::vector<RollupPoint> rollup_points;
  std::vector<Sample> rollup_lasts;
  bool used_rollup = false;
  int64_t mint = 0;  // The series' known sample range.
  int64_t maxt = 0;
  // Column blocks of the previous series read through this target, whose buffers the next
  // series' blocks reuse (a block of a wide histogram chunk is hundreds of KB).
  std::vector<HistogramColumns> spare_columns;
};

namespace {

constexpr int64_t kDayMs = 24 * 3600 * 1000;

// Drops the samples of the newest block outside [mint, maxt] (blocks are whole chunks), in
// place: the block's buffers stay allocated for reuse.
void TrimColumns(int64_t mint, int64_t maxt, std::vector<HistogramColumns>* blocks) {
  HistogramColumns& c = blocks->back();
  const auto lo =
      static_cast<size_t>(std::lower_bound(c.ts.begin(), c.ts.end(), mint) - c.ts.begin());
  const auto hi =
      static_cast<size_t>(std::upper_bound(c.ts.begin(), c.ts.end(), maxt) - c.ts.begin());
  if (lo == 0 && hi == c.size()) return;
  if (hi <= lo) {
    blocks->pop_back();
    return;
  }
  const size_t n = c.size();
  const size_t m = hi - lo;
  auto slice = [&](auto& v) {
    if (lo > 0) {
      std::copy(v.begin() + static_cast<ptrdiff_t>(lo), v.begin() + static_cast<ptrdiff_t>(hi),
                v.begin());
    }
    v.resize(m);
  };
  slice(c.ts);
  slice(c.count);
  slice(c.zero_count);
  slice(c.sum);
  slice(c.reset);
  c.reset[0] = 0;
  for (std::vector<int64_t>* side : {&c.pos, &c.neg}) {
    // Column k moves from [k·n + lo, k·n + hi) to [k·m, (k+1)·m): never ahead of its source.
    const size_t cols = side->size() / n;
    int64_t* v = side->data();
    for (size_t k = 0; k < cols; ++k) {
      if (k * m != k * n + lo) std::copy(v + k * n + lo, v + k * n + hi, v + k * m);
    }
    side->resize(cols * m);
  }
}

template <typename T>
void SortDedupe(std::vector<T>* v) {
  if (!std::is_sorted(v->begin(), v->end(), [](const T& a, const T& b) { return a.t < b.t; })) {
    std::stable_sort(v->begin(), v->end(), [](const T& a, const T& b) { return a.t < b.t; });
  }
  // Keep the last of equal timestamps: sources are appended oldest-first, head last.
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

std::vector<SeriesStoreImpl::ReadTarget> SeriesStoreImpl::Targets(const std::vector<uint64_t>& refs,
                                                                  int64_t mint, int64_t maxt,
                                                                  bool copy_head) const {
  std::vector<ReadTarget> targets;
  targets.reserve(refs.size());
  for (uint64_t ref : refs) {
    const HeadSeries* s = Find(ref);
    if (s == nullptr || s->meta.maxt < mint || s->meta.mint > maxt) continue;
    ReadTarget& t = targets.emplace_back();
    t.data.ref = ref;
    t.mint = s->meta.mint;
    t.maxt = s->meta.maxt;
    t.data.labels = s->labels;
    if (copy_head) s->CopyOpen(mint, maxt, &t.head_floats, &t.head_hists);
  }
  return targets;
}

void SeriesStoreImpl::Finish(ReadTarget* t, bool columns) {
  SeriesData& d = t->data;
  d.samples.insert(d.samples.end(), t->head_floats.begin(), t->head_floats.end());
  d.histograms.insert(d.histograms.end(), std::make_move_iterator(t->head_hists.begin()),
                      std::make_move_iterator(t->head_hists.end()));
  SortDedupe(&d.samples);
  SortDedupe(&d.histograms);
  if (t->used_rollup) {
    // Raw samples join the rollup points as one-sample intervals, so *_over_time sees one
    // consistent series of aggregates.
    d.rollup = std::move(t->rollup_points);
    for (const Sample& x : d.samples) d.rollup.push_back({x.t, 1, x.v, x.v, x.v});
    std::sort(d.rollup.begin(), d.rollup.end(),
              [](const RollupPoint& a, const RollupPoint& b) { return a.end < b.end; });
    d.samples.insert(d.samples.end(), t->rollup_lasts.begin(), t->rollup_lasts.end());
    SortDedupe(&d.samples);
  }
  if (!columns) return;
  // Materialized histograms (rollups) and the head's block join the column blocks; blocks that
  // overlap in time (an out-of-order merge of another layout) fall back to materialized
  // samples.
  AppendAsColumns(d.histograms, &d.histogram_columns, &t->spare_columns);
  d.histograms.clear();
  for (HistogramColumns& c : t->head_columns) d.histogram_columns.push_back(std::move(c));
  t->head_columns.clear();
  std::stable_sort(d.histogram_columns.begin(), d.histogram_columns.end(),
                   [](const HistogramColumns& a, const HistogramColumns& b) {
                     return a.ts.front() < b.ts.front();
                   });
  for (size_t i = 1; i < d.histogram_columns.size(); ++i) {
    if (d.histogram_columns[i].ts.front() <= d.histogram_columns[i - 1].ts.back()) {
      for (const HistogramColumns& c : d.histogram_columns) {
        for (size_t s = 0; s < c.size(); ++s) d.histograms.push_back({c.ts[s], c.At(s)});
      }
      d.histogram_columns.clear();
      SortDedupe(&d.histograms);
      return;
    }
  }
}

absl::StatusOr<std::vector<SeriesData>> SeriesStoreImpl::Select(
    const std::vector<LabelMatcher>& matchers, int64_t mint, int64_t maxt,
    const ReadOptions& options) const {
  std::vector<ReadTarget> targets;
  {
    absl::ReaderMutexLock lock(&mu_);
    CANDOR_ASSIGN_OR_RETURN(const std::vector<uint64_t> refs, index_.Select(matchers));
    targets = Targets(refs, mint, maxt, !options.labels_only);
  }
  if (!options.labels_only && !targets.empty()) {
    CANDOR_RETURN_IF_ERROR(ReadDisk(&targets, mint, maxt, options.resolution, false));
  }
  std::vector<SeriesData> out;
  out.reserve(targets.size());
  for (ReadTarget& t : targets) {
    if (!options.labels_only) Finish(&t, false);
    out.push_back(std::move(t.data));
  }
  std::sort(out.begin(), out.end(),
            [](const SeriesData& a, const SeriesData& b) { return a.labels < b.labels; });
  return out;
}

absl::Status SeriesStoreImpl::SelectEach(const std::vector<LabelMatcher>& matchers, int64_t mint,
                                         int64_t maxt, const ReadOptions& options,
                                         const std::function<absl::Status(SeriesData&)>& fn) const {
  std::vector<ReadTarget> targets;
  {
    absl::ReaderMutexLock lock(&mu_);
    CANDOR_ASSIGN_OR_RETURN(const std::vector<uint64_t> refs, index_.Select(matchers));
    targets = Targets(refs, mint, maxt, false);
  }
  std::sort(targets.begin(), targets.end(),
            [](const ReadTarget& a, const ReadTarget& b) { return a.data.labels < b.data.labels; });
  // One series at a time through a reused buffer: memory stays at one series' samples.
  std::vector<ReadTarget> one(1);
  for (ReadTarget& t : targets) {
    ReadTarget& cur = one[0];
    cur.data.ref = t.data.ref;
    cur.data.labels = std::move(t.data.labels);
    cur.data.resolution = Resolution::kRaw;
    cur.data.samples.clear();
    cur.data.histograms.clear();
    for (HistogramColumns& c : cur.data.histogram_columns) {
      cur.spare_columns.push_back(std::move(c));
    }
    cur.data.histogram_columns.clear();
    cur.data.rollup.clear();
    cur.head_floats.clear();
    cur.head_hists.clear();
    cur.head_columns.clear();
    cur.rollup_points.clear();
    cur.rollup_lasts.clear();
    cur.used_rollup = false;
    cur.mint = t.mint;
    cur.maxt = t.maxt;
    if (!options.labels_only) {
      // The head before the disk (as Select does): a chunk sealed in between is read twice
      // and deduplicated, never missed.
      {
        absl::ReaderMutexLock lock(&mu_);
        if (const HeadSeries* s = Find(cur.data.ref); s != nullptr) {
          if (options.histogram_columns && s->open_histogram) {
            const auto lo = static_cast<size_t>(std::lower_bound(s->ts.begin(), s->ts.end(), mint) -
                                                s->ts.begin());
            const auto hi = static_cast<size_t>(std::upper_bound(s->ts.begin(), s->ts.end(), maxt) -
                                                s->ts.begin());
            if (hi > lo) {
              AppendAsColumns(std::span<const int64_t>(s->ts).subspan(lo, hi - lo),
                              std::span<const Histogram>(s->histograms).subspan(lo, hi - lo),
                              &cur.head_columns, &cur.spare_columns);
            }
          } else {
            s->CopyOpen(mint, maxt, &cur.head_floats, &cur.head_hists);
          }
        }
      }
      CANDOR_RETURN_IF_ERROR(
          ReadDisk(&one, mint, maxt, options.resolution, options.histogram_columns));
      Finish(&cur, options.histogram_columns);
    }
    CANDOR_RETURN_IF_ERROR(fn(cur.data));
  }
  return absl::OkStatus();
}

absl::Status SeriesStoreImpl::ReadDisk(std::vector<ReadTarget>* targets, int64_t mint, int64_t maxt,
                                       Resolution resolution, bool columns) const {
  std::vector<uint64_t> refs(targets->size());
  for (size_t i = 0; i < targets->size(); ++i) refs[i] = (*targets)[i].data.ref;
  std::vector<size_t> order(refs.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return refs[a] < refs[b]; });
  std::vector<uint64_t> sorted_refs(refs.size());
  for (size_t i = 0; i < order.size(); ++i) sorted_refs[i] = refs[order[i]];

  int64_t horizon;
  std::set<int64_t> rolled;
  {
    absl::ReaderMutexLock lock(&mu_);
    horizon = raw_horizon_;
    if (resolution != Resolution::kRaw) {
      for (int64_t d : rolled_days_) {
        if (!dirty_days_.contains(d)) rolled.insert(d);
      }
    }
  }
  // Only days that can hold samples of these series are visited.
  int64_t data_min = INT64_MAX;
  int64_t data_max = INT64_MIN;
  for (const ReadTarget& t : *targets) {
    data_min = std::min(data_min, t.mint);
    data_max = std::max(data_max, t.maxt);
  }
  if (data_min > data_max) return absl::OkStatus();
  // Chunks never straddle a 2-hour block, so the first chunk that can hold `mint` starts at or
  // after its block.
  const int64_t first_chunk = BlockStart(std::max(mint, data_min));
  const std::vector<PartitionId> raw_parts = disk_->Partitions(PartitionKind::kRaw);
  const PartitionKind rollup_kind =
      resolution == Resolution::k1h ? PartitionKind::k1h : PartitionKind::k5m;
  const int64_t last = std::min(maxt, data_max);
  const int64_t first_day = PartitionFor(PartitionKind::kRaw, first_chunk).start_ms;
  for (int64_t day = first_day; day <= last; day += kDayMs) {
    const bool expired = day + kDayMs <= horizon;
    const bool use_rollup = expired || rolled.contains(day);
    if (!use_rollup) {
      const PartitionId p{PartitionKind::kRaw, day};
      if (!std::binary_search(raw_parts.begin(), raw_parts.end(), p)) continue;
      CANDOR_ASSIGN_OR_RETURN(auto cf, disk_->Partition(p, false));
      if (cf == nullptr) continue;
      CANDOR_RETURN_IF_ERROR(disk_->ReadChunks(
          cf, sorted_refs, std::max(first_chunk, day), std::min(maxt, day + kDayMs - 1),
          [&](size_t i, int64_t key, std::string_view bytes) {
            SeriesData& d = (*targets)[order[i]].data;
            absl::StatusOr<ChunkHeader> h = PeekChunk(bytes);
            absl::Status s;
            if (!h.ok()) {
              s = h.status();
            } else if (h->encoding != ChunkEncoding::kHistogram) {
              s = DecodeFloatChunk(bytes, &d.samples, mint, maxt);
            } else if (columns) {
              std::vector<HistogramColumns>& spare = (*targets)[order[i]].spare_columns;
              HistogramColumns& block = d.histogram_columns.emplace_back();
              if (!spare.empty()) {
                block = std::move(spare.back());
                spare.pop_back();
              }
              s = DecodeHistogramColumns(bytes, &block);
              if (s.ok()) TrimColumns(mint, maxt, &d.histogram_columns);
            } else {
              s = DecodeHistogramChunk(bytes, &d.histograms, mint, maxt);
            }
            if (!s.ok()) {
              corrupt_chunks_.fetch_add(1, std::memory_order_relaxed);
              return absl::DataLossError(absl::StrCat("series ", d.labels.ToString(), ": chunk at ",
                                                      key, " in ", PartitionName(p), ": ",
                                                      s.message()));
            }
            return absl::OkStatus();
          }));
      continue;
    }
    // Rollups: the requested resolution, else the finer one, else the coarser one.
    for (PartitionKind kind : {rollup_kind, PartitionKind::k5m, PartitionKind::k1h}) {
      CANDOR_ASSIGN_OR_RETURN(auto cf, disk_->Partition(PartitionFor(kind, day), false));
      if (cf == nullptr) continue;
      bool found = false;
      CANDOR_RETURN_IF_ERROR(disk_->ReadChunks(
          cf, sorted_refs, day, day, [&](size_t i, int64_t, std::string_view bytes) {
            ReadTarget& t = (*targets)[order[i]];
            RollupBlock block;
            const Resolution res = kind == PartitionKind::k1h ? Resolution::k1h : Resolution::k5m;
            absl::Status s = DecodeRollupBlock(bytes, ResolutionStepMs(res), mint, maxt, &block);
            if (!s.ok()) {
              corrupt_chunks_.fetch_add(1, std::memory_order_relaxed);
              return absl::DataLossError(absl::StrCat("series ", t.data.labels.ToString(),
                                                      ": rollup block of day ", day, ": ",
                                                      s.message()));
            }
            found = true;
            t.used_rollup = true;
            t.data.resolution = res;
            t.rollup_lasts.insert(t.rollup_lasts.end(), block.last.begin(), block.last.end());
            t.data.histograms.insert(t.data.histograms.end(), block.histograms.begin(),
                                     block.histograms.end());
            t.rollup_points.insert(t.rollup_points.end(), block.points.begin(), block.points.end());
            return absl::OkStatus();
          }));
      if (found) break;
    }
  }
  return absl::OkStatus();
}

bool SeriesStoreImpl::InRange(SeriesRef ref, int64_t mint, int64_t maxt) const {
  const HeadSeries* s = Find(ref);
  return s != nullptr && s->meta.maxt >= mint && s->meta.mint <= maxt;
}

std::vector<SeriesRef> SeriesStoreImpl::SelectUnion(
    const std::vector<std::vector<LabelMatcher>>& selectors, int64_t mint, int64_t maxt) const {
  std::vector<SeriesRef> refs;
  if (selectors.empty()) {
    refs = index_.All();
  } else {
    for (const auto& sel : selectors) {
      absl::StatusOr<std::vector<uint64_t>> r = index_.Select(sel);
      if (r.ok()) refs.insert(refs.end(), r->begin(), r->end());
    }
    std::sort(refs.begin(), refs.end());
    refs.erase(std::unique(refs.begin(), refs.end()), refs.end());
  }
  std::erase_if(refs, [&](SeriesRef ref) { return !InRange(ref, mint, maxt); });
  return refs;
}

absl::StatusOr<std::vector<std::string>> SeriesStoreImpl::LabelNames(
    const std::vector<std::vector<LabelMatcher>>& selectors, int64_t mint, int64_t maxt) const {
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& sel : selectors) {
    CANDOR_RETURN_IF_ERROR(index_.Select(sel).status());
  }
  if (selectors.empty()) {
    // Every series: one posting per name usually settles it, instead of every label of every
    // series.
    return index_.LabelNamesWhere([&](uint64_t ref) { return InRange(ref, mint, maxt); });
  }
  absl::flat_hash_set<std::string> names;
  for (SeriesRef ref : SelectUnion(selectors, mint, maxt)) {
    for (const Label& l : Find(ref)->labels.labels()) names.insert(l.name);
  }
  std::vector<std::string> out(names.begin(), names.end());
  std::sort(out.begin(), out.end());
  return out;
}

absl::StatusOr<std::vector<std::string>> SeriesStoreImpl::LabelValues(
    const std::string& name, const std::vector<std::vector<LabelMatcher>>& selectors, int64_t mint,
    int64_t maxt) const {
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& sel : selectors) {
    CANDOR_RETURN_IF_ERROR(index_.Select(sel).status());
  }
  if (selectors.empty()) {
    return index_.LabelValuesWhere(name, [&](uint64_t ref) { return InRange(ref, mint, maxt); });
  }
  absl::flat_hash_set<std::string> values;
  for (SeriesRef ref : SelectUnion(selectors, mint, maxt)) {
    const std::string_view v = Find(ref)->labels.Get(name);
    if (!v.empty()) values.emplace(v);
  }
  std::vector<std::string> out(values.begin(), values.end());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace candor::store

#include "store/series_store.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "store/bits.h"
#include "store/chunk.h"
#include "store/histogram_chunk.h"
#include "store/records.h"
#include "store/series_store_impl.h"

namespace candor::store {
namespace {

constexpr char kFormatKey[] = "format";
constexpr char kNextRefKey[] = "next_ref";
constexpr size_t kMaxRejectsListed = 16;

absl::Status ValidateOptions(const SeriesStoreOptions& o) {
  if (o.path.empty()) return absl::InvalidArgumentError("store path is empty");
  if (o.out_of_order_window < absl::ZeroDuration() || o.max_future < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("out_of_order_window and max_future must be ≥ 0");
  }
  if (o.max_series_per_metric < 1) {
    return absl::InvalidArgumentError("max_series_per_metric must be ≥ 1");
  }
  if (o.chunk_max_samples < 8 || o.chunk_max_samples > 4096) {
    return absl::InvalidArgumentError("chunk_max_samples must be in 8..4096");
  }
  if (o.wal_segment_bytes < (1 << 20) || o.wal_segment_bytes > (int64_t{1} << 30)) {
    return absl::InvalidArgumentError("wal_segment_bytes must be in 1 MiB..1 GiB");
  }
  if (o.raw_retention <= absl::ZeroDuration() || o.rollup_5m_retention <= absl::ZeroDuration() ||
      o.rollup_1h_retention <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("retentions must be positive");
  }
  return absl::OkStatus();
}

// Creates `path` and any missing parents.
absl::Status MakeDir(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (!ec) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("create directory ", path, ": ", ec.message()));
}

std::string FormatMs(int64_t t) {
  return absl::StrCat(t, " (", FormatRfc3339(absl::FromUnixMillis(t)), ")");
}

std::string MetadataKey(std::string_view metric) { return absl::StrCat("md/", Sv(metric)); }

}  // namespace

const char* RejectReasonName(RejectReason r) {
  switch (r) {
    case RejectReason::kTooOld:
      return "too_old";
    case RejectReason::kOutOfRetention:
      return "out_of_retention";
    case RejectReason::kTooFarInFuture:
      return "too_far_in_future";
    case RejectReason::kDuplicateTimestamp:
      return "duplicate_timestamp";
    case RejectReason::kUnknownSeries:
      return "unknown_series";
    case RejectReason::kInvalidHistogram:
      return "invalid_histogram";
  }
  return "unknown";
}

int64_t ResolutionStepMs(Resolution r) {
  switch (r) {
    case Resolution::kRaw:
      return 0;
    case Resolution::k5m:
      return 5 * 60 * 1000;
    case Resolution::k1h:
      return 3600 * 1000;
  }
  return 0;
}

absl::StatusOr<std::unique_ptr<SeriesStore>> SeriesStore::Open(const SeriesStoreOptions& options,
                                                               Clock& clock) {
  CANDOR_RETURN_IF_ERROR(ValidateOptions(options));
  auto store = std::make_unique<SeriesStoreImpl>(options, clock);
  CANDOR_RETURN_IF_ERROR(store->Init());
  return std::unique_ptr<SeriesStore>(std::move(store));
}

SeriesStoreImpl::SeriesStoreImpl(const SeriesStoreOptions& options, Clock& clock)
    : options_(options), clock_(clock) {}

SeriesStoreImpl::~SeriesStoreImpl() {
  // Open chunks stay in the WAL and are replayed at the next open; nothing to seal here.
  wal_.reset();
  disk_.reset();
}

absl::Status SeriesStoreImpl::Init() {
  CANDOR_RETURN_IF_ERROR(MakeDir(options_.path));
  CANDOR_ASSIGN_OR_RETURN(
      disk_, Disk::Open({absl::StrCat(options_.path, "/db"), options_.block_cache_bytes,
                         options_.zstd_bottommost}));
  CANDOR_RETURN_IF_ERROR(CheckFormat());
  CANDOR_RETURN_IF_ERROR(LoadSeries());
  CANDOR_RETURN_IF_ERROR(ReplayWal());
  CANDOR_ASSIGN_OR_RETURN(wal_, Wal::Open({absl::StrCat(options_.path, "/wal"),
                                           options_.wal_segment_bytes, options_.wal_sync}));
  absl::MutexLock lock(&mu_);
  CANDOR_LOG_INFO("store", "opened",
                  {{"path", options_.path}, {"series", num_series_}, {"next_ref", next_ref_}});
  return absl::OkStatus();
}

absl::Status SeriesStoreImpl::CheckFormat() {
  CANDOR_ASSIGN_OR_RETURN(const std::optional<std::string> format, disk_->GetMeta(kFormatKey));
  if (format.has_value()) {
    int version = 0;
    if (!absl::SimpleAtoi(*format, &version)) {
      return absl::DataLossError(absl::StrCat("store at ", options_.path,
                                              ": unreadable format version \"", *format, "\""));
    }
    if (version != kFormatVersion) {
      return absl::FailedPreconditionError(
          absl::StrCat("store at ", options_.path, " has format version ", version,
                       "; this candor reads format version ", kFormatVersion));
    }
    return absl::OkStatus();
  }
  bool has_series = false;
  const absl::Status scan = disk_->ScanSeries([&](uint64_t, std::string_view, std::string_view) {
    has_series = true;
    return absl::CancelledError("stop at the first series");
  });
  if (!scan.ok() && !has_series) return scan;
  if (has_series || !disk_->Partitions(PartitionKind::kRaw).empty()) {
    return absl::DataLossError(
        absl::StrCat("store at ", options_.path, " holds data but no format version key"));
  }
  auto batch = disk_->NewBatch();
  batch->PutMeta(kFormatKey, absl::StrCat(kFormatVersion));
  return disk_->Write(batch.get(), true);
}

HeadSeries* SeriesStoreImpl::AddSeriesLocked(SeriesRef ref, LabelSet labels) {
  if (series_.size() <= ref) series_.resize(std::max<size_t>(ref + 1, series_.size() * 2));
  auto s = std::make_unique<HeadSeries>(ref, std::move(labels));
  HeadSeries* raw = s.get();
  by_labels_[raw->labels] = ref;
  index_.Add(ref, raw->labels);
  ++metric_series_[std::string(raw->labels.MetricName())];
  series_[ref] = std::move(s);
  ++num_series_;
  next_ref_ = std::max(next_ref_, ref + 1);
  return raw;
}

absl::Status SeriesStoreImpl::LoadSeries() {
  absl::MutexLock lock(&mu_);
  CANDOR_ASSIGN_OR_RETURN(const std::optional<std::string> next, disk_->GetMeta(kNextRefKey));
  if (next.has_value() && next->size() == 8) next_ref_ = DecodeFixed64BE(next->data());
  CANDOR_ASSIGN_OR_RETURN(const std::optional<std::string> horizon, disk_->GetMeta("raw_horizon"));
  if (horizon.has_value() && horizon->size() == 8)
    raw_horizon_ = DecodeOrderedInt64(horizon->data());
  absl::Status status = absl::OkStatus();
  CANDOR_RETURN_IF_ERROR(disk_->ScanMeta("rolled/", [&](std::string_view k, std::string_view) {
    int64_t day = 0;
    if (absl::SimpleAtoi(Sv(k.substr(7)), &day)) rolled_days_.insert(day);
  }));
  CANDOR_RETURN_IF_ERROR(disk_->ScanMeta("dirty/", [&](std::string_view k, std::string_view) {
    int64_t day = 0;
    if (absl::SimpleAtoi(Sv(k.substr(6)), &day)) dirty_days_[day] = 1;
  }));
  CANDOR_RETURN_IF_ERROR(disk_->ScanMeta("md/", [&](std::string_view k, std::string_view v) {
    MetricMetadata md;
    const size_t a = v.find('\0');
    const size_t b = a == std::string_view::npos ? a : v.find('\0', a + 1);
    if (b == std::string_view::npos) return;
    md.type = std::string(v.substr(0, a));
    md.help = std::string(v.substr(a + 1, b - a - 1));
    md.unit = std::string(v.substr(b + 1));
    metadata_[std::string(k.substr(3))] = std::move(md);
  }));
  return disk_->ScanSeries([&](uint64_t ref, std::string_view enc, std::string_view meta) {
    CANDOR_ASSIGN_OR_RETURN(LabelSet labels, DecodeLabels(enc));
    HeadSeries* s = AddSeriesLocked(ref, std::move(labels));
    if (!meta.empty()) {
      CANDOR_ASSIGN_OR_RETURN(s->meta, DecodeSeriesMeta(meta));
      store_maxt_ = std::max(store_maxt_, s->meta.maxt);
    }
    return absl::OkStatus();
  });
}

absl::Status SeriesStoreImpl::ApplyWalRecord(uint32_t segment, std::string_view record,
                                             std::vector<SealedChunk>* sealed,
                                             std::vector<LateSample>* late) {
  if (record.empty()) return absl::DataLossError("empty WAL record");
  const auto type = static_cast<WalRecordType>(record[0]);
  record.remove_prefix(1);
  const auto max = static_cast<size_t>(options_.chunk_max_samples);
  switch (type) {
    case WalRecordType::kSeries: {
      CANDOR_ASSIGN_OR_RETURN(WalSeries s, DecodeSeriesRecord(record));
      if (Find(s.ref) == nullptr && !by_labels_.contains(s.labels)) {
        AddSeriesLocked(s.ref, std::move(s.labels));
        auto batch = disk_->NewBatch();
        std::string enc;
        EncodeLabels(series_[s.ref]->labels, &enc);
        batch->PutSeries(s.ref, enc);
        CANDOR_RETURN_IF_ERROR(disk_->Write(batch.get(), false));
      }
      return absl::OkStatus();
    }
    case WalRecordType::kFloats: {
      std::vector<WalFloat> samples;
      CANDOR_RETURN_IF_ERROR(DecodeFloatRecord(record, &samples));
      for (const WalFloat& f : samples) {
        HeadSeries* s = Find(f.ref);
        if (s == nullptr || f.t <= s->meta.sealed_maxt) continue;  // Dropped, or already sealed.
        const bool was_empty = s->open_empty();
        if (s->AppendFloat(f.t, f.v, max, sealed) == AppendOutcome::kSealedRange) {
          late->push_back({f.ref, f.t, f.v, nullptr, 0});
        }
        if (was_empty && !s->open_empty()) s->first_segment = segment;
        store_maxt_ = std::max(store_maxt_, f.t);
      }
      return absl::OkStatus();
    }
    case WalRecordType::kHistograms: {
      std::vector<WalHistogram> samples;
      CANDOR_RETURN_IF_ERROR(DecodeHistogramRecord(record, &samples));
      for (WalHistogram& h : samples) {
        HeadSeries* s = Find(h.ref);
        if (s == nullptr || h.t <= s->meta.sealed_maxt) continue;
        const bool was_empty = s->open_empty();
        if (s->AppendHistogram(h.t, h.h, max, sealed) == AppendOutcome::kSealedRange) {
          late->push_back({h.ref, h.t, 0, std::make_shared<const Histogram>(std::move(h.h)), 0});
        }
        if (was_empty && !s->open_empty()) s->first_segment = segment;
        store_maxt_ = std::max(store_maxt_, h.t);
      }
      return absl::OkStatus();
    }
  }
  return absl::DataLossError(absl::StrCat("unknown WAL record type ", static_cast<int>(type)));
}

absl::Status SeriesStoreImpl::ReplayWal() {
  absl::MutexLock lock(&mu_);
  std::vector<SealedChunk> sealed;
  std::vector<LateSample> late;
  int64_t records = 0;
  CANDOR_RETURN_IF_ERROR(Wal::Replay(
      absl::StrCat(options_.path, "/wal"), [&](uint32_t segment, std::string_view record) {
        ++records;
        absl::Status s = ApplyWalRecord(segment, record, &sealed, &late);
        if (!s.ok() || sealed.size() < 4096) return s;
        return FlushSealed(&sealed);
      }));
  CANDOR_RETURN_IF_ERROR(FlushSealed(&sealed));
  CommitResult ignored;
  CANDOR_RETURN_IF_ERROR(MergeLate(&late, &ignored));
  if (records > 0) CANDOR_LOG_INFO("store", "replayed WAL", {{"records", records}});
  return absl::OkStatus();
}

HeadSeries* SeriesStoreImpl::Find(SeriesRef ref) const {
  return ref < series_.size() ? series_[ref].get() : nullptr;
}

absl::StatusOr<SeriesRef> SeriesStoreImpl::GetOrCreateSeries(const LabelSet& labels) {
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = by_labels_.find(labels);
    if (it != by_labels_.end()) return it->second;
  }
  const std::string_view metric = labels.MetricName();
  if (metric.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("series ", labels.ToString(), " has no metric name (__name__)"));
  }
  absl::MutexLock lock(&mu_);
  auto it = by_labels_.find(labels);
  if (it != by_labels_.end()) return it->second;
  auto count = metric_series_.find(std::string(metric));
  if (count != metric_series_.end() && count->second >= options_.max_series_per_metric) {
    series_limit_rejects_.fetch_add(1, std::memory_order_relaxed);
    return absl::ResourceExhaustedError(absl::StrCat(
        "metric \"", Sv(metric), "\" already has ", count->second,
        " series, the limit (max_series_per_metric); new series ", labels.ToString(), " rejected"));
  }
  const SeriesRef ref = next_ref_;
  HeadSeries* s = AddSeriesLocked(ref, labels);
  wal_->Append(EncodeSeriesRecord(ref, s->labels));
  auto batch = disk_->NewBatch();
  std::string enc;
  EncodeLabels(s->labels, &enc);
  batch->PutSeries(ref, enc);
  std::string next;
  PutFixed64BE(&next, next_ref_);
  batch->PutMeta(kNextRefKey, next);
  CANDOR_RETURN_IF_ERROR(disk_->Write(batch.get(), false));
  series_created_.fetch_add(1, std::memory_order_relaxed);
  return ref;
}

void SeriesStoreImpl::Reject(CommitResult* result, size_t index, RejectReason reason,
                             std::string message) {
  ++result->rejected;
  rejected_[static_cast<int>(reason)].fetch_add(1, std::memory_order_relaxed);
  if (result->rejects.size() < kMaxRejectsListed) {
    result->rejects.push_back({index, reason, std::move(message)});
  }
}

absl::StatusOr<CommitResult> SeriesStoreImpl::Commit(const SampleBatch& batch) {
  CommitResult result;
  if (batch.empty()) return result;
  const int64_t now = absl::ToUnixMillis(clock_.Now());
  const int64_t newest_allowed = now + absl::ToInt64Milliseconds(options_.max_future);
  const int64_t oldest_allowed = now - absl::ToInt64Milliseconds(options_.raw_retention);
  const int64_t window = absl::ToInt64Milliseconds(options_.out_of_order_window);
  const auto max = static_cast<size_t>(options_.chunk_max_samples);
  thread_local FloatRecordBuilder floats_record;
  std::vector<WalHistogram> hist_record;
  std::vector<SealedChunk> sealed;
  std::vector<LateSample> late;
  {
    absl::MutexLock lock(&mu_);
    const uint32_t segment = wal_->current_segment();
    // Returns the series if the sample may be applied, after counting a reject otherwise.
    auto check = [&](SeriesRef ref, int64_t t, size_t index) -> HeadSeries* {
      HeadSeries* s = Find(ref);
      if (s == nullptr) {
        Reject(&result, index, RejectReason::kUnknownSeries,
               absl::StrCat("unknown series ref ", ref));
        return nullptr;
      }
      if (t > newest_allowed) {
        Reject(&result, index, RejectReason::kTooFarInFuture,
               absl::StrCat(s->labels.ToString(), ": sample at ", FormatMs(t),
                            " is more than max_future ahead of now ", FormatMs(now)));
        return nullptr;
      }
      if (t < oldest_allowed) {
        Reject(&result, index, RejectReason::kOutOfRetention,
               absl::StrCat(s->labels.ToString(), ": sample at ", FormatMs(t),
                            " is older than the raw retention bound ", FormatMs(oldest_allowed)));
        return nullptr;
      }
      if (s->meta.maxt != INT64_MIN && t < s->meta.maxt - window) {
        Reject(&result, index, RejectReason::kTooOld,
               absl::StrCat(s->labels.ToString(), ": sample at ", FormatMs(t),
                            " is older than the out-of-order window before the newest sample ",
                            FormatMs(s->meta.maxt)));
        return nullptr;
      }
      return s;
    };
    auto handle = [&](HeadSeries* s, AppendOutcome outcome, bool was_empty, int64_t t,
                      size_t index) {
      switch (outcome) {
        case AppendOutcome::kAppended:
          if (was_empty && !s->open_empty()) s->first_segment = segment;
          store_maxt_ = std::max(store_maxt_, t);
          return true;
        case AppendOutcome::kDuplicate:
          ++result.appended;
          return false;
        case AppendOutcome::kConflict:
          Reject(&result, index, RejectReason::kDuplicateTimestamp,
                 absl::StrCat(s->labels.ToString(), ": a different value is already stored at ",
                              FormatMs(t)));
          return false;
        case AppendOutcome::kSealedRange:
          return false;
      }
      return false;
    };
    const auto& floats = batch.floats();
    for (size_t i = 0; i < floats.size(); ++i) {
      const SampleBatch::Float& f = floats[i];
      HeadSeries* s = check(f.ref, f.t, i);
      if (s == nullptr) continue;
      const bool was_empty = s->open_empty();
      const AppendOutcome o = s->AppendFloat(f.t, f.v, max, &sealed);
      if (o == AppendOutcome::kSealedRange) late.push_back({f.ref, f.t, f.v, nullptr, i});
      if (handle(s, o, was_empty, f.t, i)) {
        floats_record.Add(f.ref, f.t, f.v);
        ++result.appended;
      }
    }
    const auto& hists = batch.histograms();
    for (size_t j = 0; j < hists.size(); ++j) {
      const size_t index = floats.size() + j;
      const SampleBatch::Hist& h = hists[j];
      if (!IsStorableHistogram(h.h)) {
        Reject(
            &result, index, RejectReason::kInvalidHistogram,
            absl::StrCat("histogram at ", FormatMs(h.t), " is invalid or has non-integer counts: ",
                         h.h.Validate().ok() ? "fractional count" : h.h.Validate().message()));
        continue;
      }
      HeadSeries* s = check(h.ref, h.t, index);
      if (s == nullptr) continue;
      Histogram canonical = h.h;
      canonical.DropEmptyBuckets();
      const bool was_empty = s->open_empty();
      const AppendOutcome o = s->AppendHistogram(h.t, canonical, max, &sealed);
      if (o == AppendOutcome::kSealedRange)
        late.push_back({h.ref, h.t, 0, std::make_shared<const Histogram>(canonical), index});
      if (handle(s, o, was_empty, h.t, index)) {
        hist_record.push_back({h.ref, h.t, std::move(canonical)});
        ++result.appended;
      }
    }
    if (!floats_record.empty()) wal_->Append(floats_record.Finish());
    if (!hist_record.empty()) wal_->Append(EncodeHistogramRecord(hist_record));
    // Sealed chunks reach RocksDB first so the out-of-order merge sees (and never shadows)
    // them.
    absl::Status s = FlushSealed(&sealed);
    if (s.ok()) s = MergeLate(&late, &result);
    if (!s.ok()) {
      CANDOR_LOG_ERROR("store", "commit failed", {{"error", s.ToString()}});
      return s;
    }
  }
  CANDOR_RETURN_IF_ERROR(wal_->Commit());
  samples_appended_.fetch_add(result.appended - hist_record.size(), std::memory_order_relaxed);
  histograms_appended_.fetch_add(hist_record.size(), std::memory_order_relaxed);
  return result;
}

void SeriesStoreImpl::NoteRawWrite(int64_t day, Disk::Batch* batch) {
  if (!rolled_days_.contains(day)) return;
  auto [it, inserted] = dirty_days_.try_emplace(day, 0);
  ++it->second;
  if (inserted) batch->PutMeta(absl::StrCat("dirty/", day), "");
}

absl::Status SeriesStoreImpl::FlushSealed(std::vector<SealedChunk>* sealed) {
  if (sealed->empty()) return absl::OkStatus();
  auto batch = disk_->NewBatch();
  for (const SealedChunk& c : *sealed) {
    const PartitionId p = PartitionFor(PartitionKind::kRaw, c.mint);
    CANDOR_ASSIGN_OR_RETURN(auto cf, disk_->Partition(p, true));
    batch->PutChunk(cf, c.ref, c.mint, c.data);
    NoteRawWrite(p.start_ms, batch.get());
    HeadSeries* s = Find(c.ref);
    if (s != nullptr && s->meta_dirty) {
      batch->PutSeriesMeta(c.ref, EncodeSeriesMeta(s->meta));
      s->meta_dirty = false;
    }
  }
  CANDOR_RETURN_IF_ERROR(disk_->Write(batch.get(), false));
  chunks_written_.fetch_add(sealed->size(), std::memory_order_relaxed);
  sealed->clear();
  return absl::OkStatus();
}

absl::Status SeriesStoreImpl::SetMetadata(const std::string& metric, const MetricMetadata& md) {
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = metadata_.find(metric);
    if (it != metadata_.end() && it->second.type == md.type && it->second.help == md.help &&
        it->second.unit == md.unit) {
      return absl::OkStatus();
    }
  }
  absl::MutexLock lock(&mu_);
  metadata_[metric] = md;
  auto batch = disk_->NewBatch();
  std::string v = md.type;
  v.push_back('\0');
  v.append(md.help);
  v.push_back('\0');
  v.append(md.unit);
  batch->PutMeta(MetadataKey(metric), v);
  return disk_->Write(batch.get(), false);
}

std::vector<std::pair<std::string, MetricMetadata>> SeriesStoreImpl::Metadata() const {
  absl::ReaderMutexLock lock(&mu_);
  return {metadata_.begin(), metadata_.end()};
}

StoreStats SeriesStoreImpl::Stats() const {
  StoreStats st;
  {
    absl::ReaderMutexLock lock(&mu_);
    st.series = num_series_;
    int64_t bytes = index_.ApproximateBytes() +
                    static_cast<int64_t>(by_labels_.capacity() * (sizeof(LabelSet) + 16) +
                                         series_.capacity() * 8);
    for (const auto& s : series_) {
      if (s == nullptr) continue;
      st.head_samples += static_cast<int64_t>(s->ts.size());
      bytes += s->ApproximateBytes();
    }
    st.head_bytes = bytes;
  }
  st.samples_appended_total = samples_appended_.load();
  st.histograms_appended_total = histograms_appended_.load();
  for (int i = 0; i < 6; ++i) st.rejected_total[i] = rejected_[i].load();
  st.series_created_total = series_created_.load();
  st.series_limit_rejects_total = series_limit_rejects_.load();
  st.chunks_written_total = chunks_written_.load();
  st.rollups_written_total = rollups_written_.load();
  st.partitions_dropped_total = partitions_dropped_.load();
  st.corrupt_chunks_total = corrupt_chunks_.load();
  st.wal_bytes_total = wal_->bytes_written();
  st.wal_syncs_total = wal_->syncs();
  st.wal_segments = wal_->num_segments();
  return st;
}

SeriesStore::DiskUsage SeriesStoreImpl::Usage() const {
  DiskUsage u;
  u.sst_bytes = disk_->SstBytes();
  u.raw_sst_bytes = disk_->PartitionBytes(PartitionKind::kRaw);
  u.rollup_sst_bytes =
      disk_->PartitionBytes(PartitionKind::k5m) + disk_->PartitionBytes(PartitionKind::k1h);
  u.wal_bytes = wal_->total_bytes();
  u.rocksdb_wal_bytes = disk_->WalBytes();
  return u;
}

}  // namespace candor::store

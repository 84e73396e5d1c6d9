#include "collector/remote_write.h"

#include <snappy.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "common/labels.h"
#include "common/log.h"
#include "common/status.h"
#include "common/strings.h"
#include "common/time_util.h"

namespace candor::collector {
namespace {

// --- Protobuf wire format (proto3), read without generated code. ---

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLen = 2, kFixed32 = 5 };

class Wire {
 public:
  explicit Wire(std::string_view data) : data_(data) {}
  bool done() const { return pos_ >= data_.size(); }
  size_t pos() const { return pos_; }

  bool Varint(uint64_t* v) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64 && pos_ < data_.size(); shift += 7) {
      const auto b = static_cast<uint8_t>(data_[pos_++]);
      result |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        *v = result;
        return true;
      }
    }
    return false;
  }
  bool Fixed64(uint64_t* v) {
    if (data_.size() - pos_ < 8) return false;
    std::memcpy(v, data_.data() + pos_, 8);
    pos_ += 8;
    return true;
  }
  bool Bytes(std::string_view* out) {
    uint64_t len = 0;
    if (!Varint(&len) || len > data_.size() - pos_) return false;
    *out = data_.substr(pos_, len);
    pos_ += len;
    return true;
  }
  bool Tag(uint32_t* field, uint32_t* wire) {
    uint64_t tag = 0;
    if (!Varint(&tag) || tag > std::numeric_limits<uint32_t>::max()) return false;
    *field = static_cast<uint32_t>(tag >> 3);
    *wire = static_cast<uint32_t>(tag & 7);
    return *field != 0;
  }
  bool Skip(uint32_t wire) {
    uint64_t v = 0;
    std::string_view s;
    switch (wire) {
      case kVarint:
        return Varint(&v);
      case kFixed64:
        return Fixed64(&v);
      case kLen:
        return Bytes(&s);
      case kFixed32:
        if (data_.size() - pos_ < 4) return false;
        pos_ += 4;
        return true;
      default:
        return false;  // Groups are not part of this schema.
    }
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

double AsDouble(uint64_t bits) {
  double d;
  std::memcpy(&d, &bits, 8);
  return d;
}
int64_t ZigZag64(uint64_t z) { return static_cast<int64_t>(z >> 1) ^ -static_cast<int64_t>(z & 1); }

bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int n;
    uint32_t cp;
    if ((c & 0xe0) == 0xc0) {
      n = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3;
      cp = c & 0x07;
    } else
      return false;
    for (int k = 1; k <= n; ++k) {
      if (i + static_cast<size_t>(k) >= s.size()) return false;
      const auto cc = static_cast<uint8_t>(s[i + static_cast<size_t>(k)]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += static_cast<size_t>(n) + 1;
  }
  return true;
}

// Repeated scalar fields arrive packed (one LEN field) or one element per field.
template <typename Fn>
bool ReadRepeated(Wire* w, uint32_t wire, uint32_t element_wire, Fn&& add) {
  if (wire == kLen) {
    std::string_view packed;
    if (!w->Bytes(&packed)) return false;
    Wire p(packed);
    while (!p.done()) {
      uint64_t v = 0;
      if (!(element_wire == kVarint ? p.Varint(&v) : p.Fixed64(&v))) return false;
      add(v);
    }
    return true;
  }
  if (wire != element_wire) return false;
  uint64_t v = 0;
  if (!(wire == kVarint ? w->Varint(&v) : w->Fixed64(&v))) return false;
  add(v);
  return true;
}

struct Span {
  int32_t offset;
  uint32_t length;
};

absl::Status BuildBuckets(const std::vector<Span>& spans, const std::vector<int64_t>& deltas,
                          const std::vector<double>& counts, const char* side,
                          std::vector<store::Bucket>* out) {
  const bool use_counts = !counts.empty();
  if (use_counts && !deltas.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("histogram ", side, " buckets carry both deltas and counts"));
  }
  uint64_t total = 0;
  for (const Span& s : spans) total += s.length;
  if (total != (use_counts ? counts.size() : deltas.size())) {
    return absl::InvalidArgumentError(
        absl::StrCat("histogram ", side, " spans describe ", total, " buckets but ",
                     use_counts ? counts.size() : deltas.size(), " counts are given"));
  }
  int64_t idx = 0;
  int64_t running = 0;
  size_t k = 0;
  for (size_t si = 0; si < spans.size(); ++si) {
    if (si > 0 && spans[si].offset < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("histogram ", side, " span has a negative gap"));
    }
    idx += spans[si].offset;
    for (uint32_t j = 0; j < spans[si].length; ++j, ++idx, ++k) {
      if (idx < std::numeric_limits<int32_t>::min() || idx > std::numeric_limits<int32_t>::max()) {
        return absl::InvalidArgumentError(
            absl::StrCat("histogram ", side, " bucket index out of range"));
      }
      double c;
      if (use_counts) {
        c = counts[k];
      } else {
        running += deltas[k];
        c = static_cast<double>(running);
      }
      if (!(c >= 0) || !std::isfinite(c)) {
        return absl::InvalidArgumentError(
            absl::StrCat("histogram ", side, " bucket ", idx, " has count ", c));
      }
      if (c > 0) out->push_back({static_cast<int32_t>(idx), c});
    }
  }
  return absl::OkStatus();
}

absl::Status ReadSpans(std::string_view bytes, std::vector<Span>* spans) {
  Wire w(bytes);
  Span s{0, 0};
  while (!w.done()) {
    uint32_t f, wt;
    uint64_t v;
    if (!w.Tag(&f, &wt)) return absl::InvalidArgumentError("malformed histogram bucket span");
    if ((f == 1 || f == 2) && wt == kVarint) {
      if (!w.Varint(&v)) return absl::InvalidArgumentError("malformed histogram bucket span");
      if (f == 1) {
        const int64_t off = ZigZag64(v);
        if (off < std::numeric_limits<int32_t>::min() ||
            off > std::numeric_limits<int32_t>::max()) {
          return absl::InvalidArgumentError("histogram span offset out of range");
        }
        s.offset = static_cast<int32_t>(off);
      } else {
        if (v > (1u << 20))
          return absl::InvalidArgumentError("histogram span longer than 2^20 buckets");
        s.length = static_cast<uint32_t>(v);
      }
    } else if (!w.Skip(wt)) {
      return absl::InvalidArgumentError("malformed histogram bucket span");
    }
  }
  spans->push_back(s);
  return absl::OkStatus();
}

std::string JsonError(std::string_view msg, uint64_t accepted, uint64_t rejected) {
  return absl::StrCat("{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":", JsonQuote(msg),
                      ",\"accepted\":", accepted, ",\"rejected\":", rejected, "}");
}

}  // namespace

absl::Status DecodeNativeHistogram(std::string_view bytes, store::Histogram* h, int64_t* t_ms) {
  Wire w(bytes);
  double count = 0, zero = 0, sum = 0, zt = 0;
  int64_t schema = 0;
  int64_t ts = 0;
  std::vector<Span> pos_spans, neg_spans;
  std::vector<int64_t> pos_deltas, neg_deltas;
  std::vector<double> pos_counts, neg_counts;
  const absl::Status bad = absl::InvalidArgumentError("malformed native histogram");
  while (!w.done()) {
    uint32_t f, wt;
    if (!w.Tag(&f, &wt)) return bad;
    uint64_t v = 0;
    std::string_view sub;
    bool ok = true;
    switch (f) {
      case 1:
        ok = wt == kVarint && w.Varint(&v);
        count = static_cast<double>(v);
        break;
      case 2:
        ok = wt == kFixed64 && w.Fixed64(&v);
        count = AsDouble(v);
        break;
      case 3:
        ok = wt == kFixed64 && w.Fixed64(&v);
        sum = AsDouble(v);
        break;
      case 4:
        ok = wt == kVarint && w.Varint(&v);
        schema = ZigZag64(v);
        break;
      case 5:
        ok = wt == kFixed64 && w.Fixed64(&v);
        zt = AsDouble(v);
        break;
      case 6:
        ok = wt == kVarint && w.Varint(&v);
        zero = static_cast<double>(v);
        break;
      case 7:
        ok = wt == kFixed64 && w.Fixed64(&v);
        zero = AsDouble(v);
        break;
      case 8:
      case 11:
        ok = wt == kLen && w.Bytes(&sub);
        if (ok) CANDOR_RETURN_IF_ERROR(ReadSpans(sub, f == 8 ? &neg_spans : &pos_spans));
        break;
      case 9:
      case 12: {
        auto* d = f == 9 ? &neg_deltas : &pos_deltas;
        ok = ReadRepeated(&w, wt, kVarint, [d](uint64_t x) { d->push_back(ZigZag64(x)); });
        break;
      }
      case 10:
      case 13: {
        auto* c = f == 10 ? &neg_counts : &pos_counts;
        ok = ReadRepeated(&w, wt, kFixed64, [c](uint64_t x) { c->push_back(AsDouble(x)); });
        break;
      }
      case 15:
        ok = wt == kVarint && w.Varint(&v);
        ts = static_cast<int64_t>(v);
        break;
      default:
        ok = w.Skip(wt);
        break;
    }
    if (!ok) return bad;
  }
  if (schema < store::kMinSchema || schema > store::kMaxSchema) {
    return absl::InvalidArgumentError(
        absl::StrCat("native histogram schema ", schema, " is not one of -4..8"));
  }
  *h = store::Histogram(static_cast<int32_t>(schema), zt);
  h->set_count(count);
  h->set_zero_count(zero);
  h->set_sum(sum);
  CANDOR_RETURN_IF_ERROR(
      BuildBuckets(pos_spans, pos_deltas, pos_counts, "positive", h->mutable_positive()));
  CANDOR_RETURN_IF_ERROR(
      BuildBuckets(neg_spans, neg_deltas, neg_counts, "negative", h->mutable_negative()));
  CANDOR_RETURN_IF_ERROR(h->Validate());
  *t_ms = ts;
  return absl::OkStatus();
}

// Decodes one request into a sample batch, resolving series through the receiver's cache.
class RemoteWriteReceiver::Decoder {
 public:
  Decoder(RemoteWriteReceiver* r, store::SampleBatch* batch) : r_(r), batch_(batch) {}

  // False on a structural error (the whole request is refused); series-level problems are
  // recorded and decoding continues.
  bool Decode(std::string_view body) {
    Wire w(body);
    while (!w.done()) {
      uint32_t f, wt;
      if (!w.Tag(&f, &wt)) return Fail(absl::StrCat("protobuf: bad field tag at offset ", w.pos()));
      std::string_view sub;
      if (f == 1 && wt == kLen) {
        if (!w.Bytes(&sub))
          return Fail(absl::StrCat("protobuf: truncated time series at offset ", w.pos()));
        if (!Series(sub)) return false;
      } else if (f == 3 && wt == kLen) {
        if (!w.Bytes(&sub)) return Fail("protobuf: truncated metadata");
        Metadata(sub);
      } else if (!w.Skip(wt)) {
        return Fail(absl::StrCat("protobuf: cannot skip field ", f, " at offset ", w.pos()));
      }
    }
    return true;
  }

  const std::string& error() const { return error_; }
  uint64_t rejected() const { return rejected_; }

 private:
  bool Fail(std::string msg) {
    error_ = std::move(msg);
    return false;
  }
  void Problem(std::string msg, uint64_t samples) {
    if (error_.empty()) error_ = std::move(msg);
    rejected_ += samples;
  }

  bool Series(std::string_view msg) {
    Wire w(msg);
    size_t label_begin = std::string_view::npos;
    size_t label_end = 0;
    bool contiguous = true;
    label_spans_.clear();
    samples_.clear();
    histograms_.clear();
    while (!w.done()) {
      const size_t field_start = w.pos();
      uint32_t f, wt;
      if (!w.Tag(&f, &wt)) return Fail("protobuf: bad field tag in time series");
      std::string_view sub;
      if (wt == kLen && (f == 1 || f == 2 || f == 4)) {
        if (!w.Bytes(&sub)) return Fail("protobuf: truncated time series field");
        if (f == 1) {
          if (label_begin == std::string_view::npos) {
            label_begin = field_start;
          } else if (field_start != label_end) {
            contiguous = false;
          }
          label_end = w.pos();
          label_spans_.push_back(msg.substr(field_start, w.pos() - field_start));
        } else if (f == 2) {
          samples_.push_back(sub);
        } else {
          histograms_.push_back(sub);
        }
      } else if (!w.Skip(wt)) {
        return Fail("protobuf: malformed time series");
      }
    }
    const uint64_t n = samples_.size() + histograms_.size();
    if (label_spans_.empty()) {
      Problem("time series without labels", n);
      return true;
    }
    std::string_view key;
    if (contiguous) {
      key = msg.substr(label_begin, label_end - label_begin);
    } else {
      key_scratch_.clear();
      for (std::string_view s : label_spans_) key_scratch_.append(s.data(), s.size());
      key = key_scratch_;
    }
    const size_t hash = absl::Hash<std::string_view>{}(key);
    store::SeriesRef ref = 0;
    if (!r_->LookupRef(key, hash, &ref)) {
      absl::StatusOr<store::SeriesRef> created = Resolve();
      if (!created.ok()) {
        const std::string reason(created.status().message());
        if (reason.rfind("protobuf", 0) == 0) return Fail(reason);
        Problem(reason, n);  // A bad or over-limit series: skip it, keep the others.
        return true;
      }
      ref = *created;
      r_->RememberRef(key, hash, ref);
    }
    for (std::string_view s : samples_) {
      Wire sw(s);
      double v = 0;
      int64_t t = 0;
      while (!sw.done()) {
        uint32_t f, wt;
        uint64_t x = 0;
        if (!sw.Tag(&f, &wt)) return Fail("protobuf: malformed sample");
        if (f == 1 && wt == kFixed64) {
          if (!sw.Fixed64(&x)) return Fail("protobuf: truncated sample value");
          v = AsDouble(x);
        } else if (f == 2 && wt == kVarint) {
          if (!sw.Varint(&x)) return Fail("protobuf: truncated sample timestamp");
          t = static_cast<int64_t>(x);
        } else if (!sw.Skip(wt)) {
          return Fail("protobuf: malformed sample");
        }
      }
      batch_->Add(ref, t, v);
    }
    for (std::string_view hb : histograms_) {
      store::Histogram h;
      int64_t t = 0;
      absl::Status s = DecodeNativeHistogram(hb, &h, &t);
      if (!s.ok()) {
        Problem(std::string(s.message()), 1);
        continue;
      }
      batch_->AddHistogram(ref, t, std::move(h));
    }
    return true;
  }

  // Parses, validates and resolves the label set of the current series.
  absl::StatusOr<store::SeriesRef> Resolve() {
    std::vector<Label> labels;
    labels.reserve(label_spans_.size());
    for (std::string_view span : label_spans_) {
      Wire w(span);
      uint32_t f, wt;
      std::string_view body;
      if (!w.Tag(&f, &wt) || !w.Bytes(&body))
        return absl::InvalidArgumentError("protobuf: malformed label");
      Wire lw(body);
      std::string_view name, value;
      while (!lw.done()) {
        std::string_view s;
        if (!lw.Tag(&f, &wt)) return absl::InvalidArgumentError("protobuf: malformed label");
        if ((f == 1 || f == 2) && wt == kLen) {
          if (!lw.Bytes(&s)) return absl::InvalidArgumentError("protobuf: truncated label");
          (f == 1 ? name : value) = s;
        } else if (!lw.Skip(wt)) {
          return absl::InvalidArgumentError("protobuf: malformed label");
        }
      }
      if (!ValidUtf8(name) || !ValidUtf8(value)) {
        return absl::InvalidArgumentError(
            absl::StrCat("label \"", Sv(name), "\" is not valid UTF-8"));
      }
      labels.push_back({std::string(name), std::string(value)});
    }
    absl::StatusOr<LabelSet> set = LabelSet::FromUnsorted(std::move(labels));
    if (!set.ok()) return set.status();
    if (set->MetricName().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("series ", set->ToString(), " has no metric name (__name__)"));
    }
    absl::StatusOr<store::SeriesRef> ref = r_->store_.GetOrCreateSeries(*set);
    if (ref.ok()) r_->created_.fetch_add(1, std::memory_order_relaxed);
    return ref;
  }

  void Metadata(std::string_view msg) {
    Wire w(msg);
    store::MetricMetadata md;
    std::string name;
    static constexpr const char* kTypes[] = {"unknown",        "counter", "gauge", "histogram",
                                             "gaugehistogram", "summary", "info",  "stateset"};
    while (!w.done()) {
      uint32_t f, wt;
      uint64_t v = 0;
      std::string_view s;
      if (!w.Tag(&f, &wt)) return;
      if (f == 1 && wt == kVarint) {
        if (!w.Varint(&v)) return;
        md.type = v < 8 ? kTypes[v] : "unknown";
      } else if ((f == 2 || f == 4 || f == 5) && wt == kLen) {
        if (!w.Bytes(&s) || !ValidUtf8(s)) return;
        (f == 2 ? name : f == 4 ? md.help : md.unit) = std::string(s);
      } else if (!w.Skip(wt)) {
        return;
      }
    }
    if (IsValidMetricName(name)) (void)r_->store_.SetMetadata(name, md);
  }

  RemoteWriteReceiver* r_;
  store::SampleBatch* batch_;
  std::string error_;
  uint64_t rejected_ = 0;
  std::vector<std::string_view> label_spans_;
  std::vector<std::string_view> samples_;
  std::vector<std::string_view> histograms_;
  std::string key_scratch_;
};

RemoteWriteReceiver::RemoteWriteReceiver(store::SeriesStore& store, RemoteWriteOptions options)
    : store_(store), options_(options) {}

RemoteWriteReceiver::~RemoteWriteReceiver() = default;

bool RemoteWriteReceiver::LookupRef(std::string_view key, size_t hash, store::SeriesRef* ref) {
  Shard& s = shards_[hash % kShards];
  absl::MutexLock lock(&s.mu);
  auto it = s.refs.find(Sv(key));
  if (it == s.refs.end()) return false;
  *ref = it->second;
  return true;
}

void RemoteWriteReceiver::RememberRef(std::string_view key, size_t hash, store::SeriesRef ref) {
  Shard& s = shards_[hash % kShards];
  absl::MutexLock lock(&s.mu);
  if (static_cast<int64_t>(s.refs.size()) >= options_.ref_cache_entries_per_shard) s.refs.clear();
  s.refs.emplace(std::string(key), ref);
}

HttpResponse RemoteWriteReceiver::Handle(const HttpRequest& request) {
  requests_.fetch_add(1, std::memory_order_relaxed);
  auto bad = [this](int code, std::string_view msg, uint64_t accepted = 0, uint64_t rejected = 0) {
    bad_requests_.fetch_add(1, std::memory_order_relaxed);
    return HttpResponse::Json(code, JsonError(msg, accepted, rejected));
  };
  if (request.method != "POST") {
    HttpResponse r = bad(405, "remote write takes POST");
    r.headers.push_back({"Allow", "POST"});
    return r;
  }
  const std::string type = request.Header("content-type");
  if (!type.empty() && type.rfind("application/x-protobuf", 0) != 0) {
    return bad(415, absl::StrCat("unsupported Content-Type \"", type,
                                 "\"; expected application/x-protobuf"));
  }
  if (type.find("io.prometheus.write.v2") != std::string::npos) {
    return bad(
        415, "remote write 2.0 is not supported; send remote write 1.0 (prometheus.WriteRequest)");
  }
  const std::string encoding = request.Header("content-encoding");
  if (!encoding.empty() && encoding != "snappy") {
    return bad(415,
               absl::StrCat("unsupported Content-Encoding \"", encoding, "\"; expected snappy"));
  }
  if (static_cast<int64_t>(request.body.size()) > options_.max_body_bytes) {
    return bad(413, absl::StrCat("body of ", request.body.size(), " bytes exceeds the limit of ",
                                 options_.max_body_bytes));
  }
  size_t decoded_len = 0;
  if (!snappy::GetUncompressedLength(request.body.data(), request.body.size(), &decoded_len)) {
    return bad(400, "snappy: corrupt input (the body must use the snappy block format)");
  }
  if (static_cast<int64_t>(decoded_len) > options_.max_decoded_bytes) {
    return bad(413, absl::StrCat("decompressed body of ", decoded_len,
                                 " bytes exceeds the limit of ", options_.max_decoded_bytes));
  }
  thread_local std::string decoded;
  thread_local store::SampleBatch batch;
  decoded.resize(decoded_len);
  if (!snappy::RawUncompress(request.body.data(), request.body.size(), decoded.data())) {
    return bad(400, "snappy: corrupt input");
  }
  batch.Clear();
  Decoder d(this, &batch);
  if (!d.Decode(decoded)) {
    rejected_.fetch_add(batch.size() + d.rejected(), std::memory_order_relaxed);
    return bad(400, d.error(), 0, batch.size() + d.rejected());
  }
  absl::StatusOr<store::CommitResult> result = store_.Commit(batch);
  if (!result.ok()) {
    store_errors_.fetch_add(1, std::memory_order_relaxed);
    CANDOR_LOG_ERROR("collector", "remote write commit failed",
                     {{"error", result.status().ToString()}});
    return HttpResponse::Json(
        500, JsonError(absl::StrCat("store: ", result.status().message()), 0, batch.size()));
  }
  const uint64_t histograms = batch.histograms().size();
  samples_.fetch_add(result->appended, std::memory_order_relaxed);
  histograms_.fetch_add(histograms, std::memory_order_relaxed);
  for (const store::SampleReject& rej : result->rejects) {
    if (rej.reason == store::RejectReason::kUnknownSeries) {
      // A cached ref outlived its series (retention dropped it): forget every cached ref and
      // ask the sender to retry; stored samples are idempotent on retry.
      for (Shard& s : shards_) {
        absl::MutexLock lock(&s.mu);
        s.refs.clear();
      }
      return HttpResponse::Json(
          500, JsonError("series were dropped by retention while cached; retry", result->appended,
                         result->rejected));
    }
  }
  const uint64_t rejected = result->rejected + d.rejected();
  if (rejected == 0) return HttpResponse{204, "text/plain; charset=utf-8", "", {}};
  rejected_.fetch_add(rejected, std::memory_order_relaxed);
  std::string msg = !d.error().empty() ? d.error()
                    : !result->rejects.empty()
                        ? absl::StrCat(store::RejectReasonName(result->rejects[0].reason), ": ",
                                       result->rejects[0].message)
                        : "samples rejected";
  return bad(400, msg, result->appended, rejected);
}

RemoteWriteStats RemoteWriteReceiver::Stats() const {
  RemoteWriteStats s;
  s.requests_total = requests_.load();
  s.bad_requests_total = bad_requests_.load();
  s.samples_total = samples_.load();
  s.histograms_total = histograms_.load();
  s.rejected_samples_total = rejected_.load();
  s.series_created_total = created_.load();
  s.store_errors_total = store_errors_.load();
  return s;
}

}  // namespace candor::collector

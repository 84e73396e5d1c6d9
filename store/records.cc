#include "store/records.h"

#include <cstring>

#include "store/bits.h"

namespace candor::store {
namespace {

absl::Status Malformed(const char* what) {
  return absl::DataLossError(std::string("malformed ") + what);
}

void PutString(std::string* out, std::string_view s) {
  PutVarint(out, s.size());
  out->append(s.data(), s.size());
}

bool GetString(std::string_view* in, std::string_view* s) {
  uint64_t len = 0;
  if (!GetVarint(in, &len) || len > in->size()) return false;
  *s = in->substr(0, len);
  in->remove_prefix(len);
  return true;
}

void PutSigned(std::string* out, int64_t v) { PutVarint(out, ZigZag(v)); }
bool GetSigned(std::string_view* in, int64_t* v) {
  uint64_t z = 0;
  if (!GetVarint(in, &z)) return false;
  *v = UnZigZag(z);
  return true;
}

void PutDouble(std::string* out, double d) {
  const uint64_t u = DoubleBits(d);
  char buf[8];
  std::memcpy(buf, &u, 8);
  out->append(buf, 8);
}
bool GetDouble(std::string_view* in, double* d) {
  if (in->size() < 8) return false;
  uint64_t u;
  std::memcpy(&u, in->data(), 8);
  *d = BitsDouble(u);
  in->remove_prefix(8);
  return true;
}

void PutBuckets(std::string* out, const std::vector<Bucket>& buckets) {
  PutVarint(out, buckets.size());
  int32_t prev = 0;
  for (const Bucket& b : buckets) {
    PutSigned(out, static_cast<int64_t>(b.index) - prev);
    prev = b.index;
    PutVarint(out, static_cast<uint64_t>(b.count));
  }
}

bool GetBuckets(std::string_view* in, std::vector<Bucket>* buckets) {
  uint64_t n = 0;
  if (!GetVarint(in, &n) || n > in->size()) return false;
  buckets->resize(n);
  int64_t idx = 0;
  for (Bucket& b : *buckets) {
    int64_t delta = 0;
    uint64_t c = 0;
    if (!GetSigned(in, &delta) || !GetVarint(in, &c)) return false;
    idx += delta;
    if (idx < INT32_MIN || idx > INT32_MAX) return false;
    b = {static_cast<int32_t>(idx), static_cast<double>(c)};
  }
  return true;
}

}  // namespace

void EncodeLabels(const LabelSet& labels, std::string* out) {
  PutVarint(out, labels.size());
  for (const Label& l : labels.labels()) {
    PutString(out, l.name);
    PutString(out, l.value);
  }
}

absl::StatusOr<LabelSet> DecodeLabels(std::string_view in) {
  uint64_t n = 0;
  if (!GetVarint(&in, &n) || n > in.size()) return Malformed("label set");
  std::vector<Label> labels(n);
  for (Label& l : labels) {
    std::string_view name;
    std::string_view value;
    if (!GetString(&in, &name) || !GetString(&in, &value)) return Malformed("label set");
    l = {std::string(name), std::string(value)};
  }
  absl::StatusOr<LabelSet> set = LabelSet::FromUnsorted(std::move(labels));
  if (!set.ok())
    return absl::DataLossError("stored label set is invalid: " + set.status().ToString());
  return set;
}

std::string EncodeSeriesMeta(const SeriesMeta& m) {
  std::string out;
  PutSigned(&out, m.mint);
  PutSigned(&out, m.maxt);
  PutSigned(&out, m.sealed_maxt);
  return out;
}

absl::StatusOr<SeriesMeta> DecodeSeriesMeta(std::string_view in) {
  SeriesMeta m;
  if (!GetSigned(&in, &m.mint) || !GetSigned(&in, &m.maxt) || !GetSigned(&in, &m.sealed_maxt)) {
    return Malformed("series metadata");
  }
  return m;
}

void EncodeHistogram(const Histogram& h, std::string* out) {
  PutSigned(out, h.schema());
  PutDouble(out, h.zero_threshold());
  PutVarint(out, static_cast<uint64_t>(h.count()));
  PutVarint(out, static_cast<uint64_t>(h.zero_count()));
  PutDouble(out, h.sum());
  PutBuckets(out, h.positive());
  PutBuckets(out, h.negative());
}

bool DecodeHistogram(std::string_view* in, Histogram* h) {
  int64_t schema = 0;
  double zt = 0;
  uint64_t count = 0;
  uint64_t zero = 0;
  double sum = 0;
  if (!GetSigned(in, &schema) || !GetDouble(in, &zt) || !GetVarint(in, &count) ||
      !GetVarint(in, &zero) || !GetDouble(in, &sum)) {
    return false;
  }
  if (schema < kMinSchema || schema > kMaxSchema) return false;
  *h = Histogram(static_cast<int32_t>(schema), zt);
  h->set_count(static_cast<double>(count));
  h->set_zero_count(static_cast<double>(zero));
  h->set_sum(sum);
  return GetBuckets(in, h->mutable_positive()) && GetBuckets(in, h->mutable_negative());
}

void FloatRecordBuilder::Add(uint64_t ref, int64_t t, double v) {
  PutSigned(&body_, static_cast<int64_t>(ref - prev_ref_));
  PutSigned(&body_, t - prev_t_);
  PutDouble(&body_, v);
  prev_ref_ = ref;
  prev_t_ = t;
  ++count_;
}

std::string FloatRecordBuilder::Finish() {
  std::string out(1, static_cast<char>(WalRecordType::kFloats));
  PutVarint(&out, count_);
  out.append(body_);
  body_.clear();
  count_ = 0;
  prev_ref_ = 0;
  prev_t_ = 0;
  return out;
}

std::string EncodeSeriesRecord(uint64_t ref, const LabelSet& labels) {
  std::string out(1, static_cast<char>(WalRecordType::kSeries));
  PutVarint(&out, ref);
  EncodeLabels(labels, &out);
  return out;
}

std::string EncodeHistogramRecord(const std::vector<WalHistogram>& samples) {
  std::string out(1, static_cast<char>(WalRecordType::kHistograms));
  PutVarint(&out, samples.size());
  for (const WalHistogram& s : samples) {
    PutVarint(&out, s.ref);
    PutSigned(&out, s.t);
    EncodeHistogram(s.h, &out);
  }
  return out;
}

absl::StatusOr<WalSeries> DecodeSeriesRecord(std::string_view payload) {
  uint64_t ref = 0;
  if (!GetVarint(&payload, &ref)) return Malformed("series record");
  absl::StatusOr<LabelSet> labels = DecodeLabels(payload);
  if (!labels.ok()) return labels.status();
  return WalSeries{ref, *std::move(labels)};
}

absl::Status DecodeFloatRecord(std::string_view payload, std::vector<WalFloat>* out) {
  uint64_t n = 0;
  if (!GetVarint(&payload, &n) || n > payload.size()) return Malformed("float record");
  uint64_t ref = 0;
  int64_t t = 0;
  out->reserve(out->size() + n);
  for (uint64_t i = 0; i < n; ++i) {
    int64_t dref = 0;
    int64_t dt = 0;
    double v = 0;
    if (!GetSigned(&payload, &dref) || !GetSigned(&payload, &dt) || !GetDouble(&payload, &v)) {
      return Malformed("float record");
    }
    ref += static_cast<uint64_t>(dref);
    t = static_cast<int64_t>(static_cast<uint64_t>(t) + static_cast<uint64_t>(dt));
    out->push_back({ref, t, v});
  }
  return absl::OkStatus();
}

absl::Status DecodeHistogramRecord(std::string_view payload, std::vector<WalHistogram>* out) {
  uint64_t n = 0;
  if (!GetVarint(&payload, &n) || n > payload.size()) return Malformed("histogram record");
  for (uint64_t i = 0; i < n; ++i) {
    WalHistogram s{0, 0, Histogram()};
    if (!GetVarint(&payload, &s.ref) || !GetSigned(&payload, &s.t) ||
        !DecodeHistogram(&payload, &s.h)) {
      return Malformed("histogram record");
    }
    out->push_back(std::move(s));
  }
  return absl::OkStatus();
}

}  // namespace candor::store

#include "store/event_log_format.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/strings.h"

namespace candor::store::event_log_format {
namespace {

constexpr uint8_t kRecordFormat = 2;

std::string_view PartPrefix(PartitionPart part) {
  switch (part) {
    case PartitionPart::kRecords:
      return "events_";
    case PartitionPart::kIds:
      return "eventids_";
    case PartitionPart::kSpans:
      return "eventspans_";
  }
  return "";
}

void AppendLengthPrefixed(std::string* out, std::string_view s) {
  AppendVarint(out, s.size());
  out->append(s);
}

bool ReadLengthPrefixed(std::string_view* in, std::string_view* out) {
  uint64_t len = 0;
  if (!ReadVarint(in, &len) || len > in->size()) return false;
  *out = in->substr(0, len);
  in->remove_prefix(len);
  return true;
}

}  // namespace

int64_t DayOf(absl::Time t) {
  const int64_t s = absl::ToUnixSeconds(t);
  return s >= 0 ? s / 86400 : (s - 86399) / 86400;
}

std::string PartitionName(PartitionPart part, int64_t day) {
  return absl::StrCat(
      Sv(PartPrefix(part)),
      absl::FormatTime("%Y%m%d", absl::FromUnixSeconds(day * 86400), absl::UTCTimeZone()));
}

std::optional<std::pair<PartitionPart, int64_t>> ParsePartitionName(std::string_view name) {
  for (PartitionPart part : kAllParts) {
    const std::string_view prefix = PartPrefix(part);
    if (!name.starts_with(prefix)) continue;
    const std::string_view digits = name.substr(prefix.size());
    if (digits.size() != 8 ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return std::nullopt;
    }
    auto number = [&](size_t pos, size_t len) {
      int v = 0;
      for (size_t i = pos; i < pos + len; ++i) v = v * 10 + (digits[i] - '0');
      return v;
    };
    const absl::CivilDay day(number(0, 4), number(4, 2), number(6, 2));
    return std::make_pair(part, DayOf(absl::FromCivil(day, absl::UTCTimeZone())));
  }
  return std::nullopt;
}

void AppendBigEndian64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

uint64_t ReadBigEndian64(std::string_view s) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(s[i]);
  return v;
}

void AppendVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool ReadVarint(std::string_view* in, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64 && !in->empty(); shift += 7) {
    const uint8_t b = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    *v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

uint64_t TimeKey(absl::Time t) {
  return static_cast<uint64_t>(absl::ToUnixMillis(t)) ^ (uint64_t{1} << 63);
}

absl::Time FromTimeKey(uint64_t key) {
  return absl::FromUnixMillis(static_cast<int64_t>(key ^ (uint64_t{1} << 63)));
}

std::string RecordKey(uint64_t seq) {
  std::string k;
  AppendBigEndian64(&k, seq);
  return k;
}

std::string EncodeRecord(const LogRecord& r) {
  std::string v;
  v.reserve(r.payload.size() + r.request_id.size() + r.trace_id.size() + 64);
  v.push_back(static_cast<char>(kRecordFormat));
  v.push_back(static_cast<char>(r.kind));
  AppendBigEndian64(&v, TimeKey(r.event_time));
  AppendLengthPrefixed(&v, r.request_id);
  AppendLengthPrefixed(&v, r.trace_id);
  AppendVarint(&v, r.entities.size());
  for (const std::string& e : r.entities) AppendLengthPrefixed(&v, e);
  v.append(r.payload);
  return v;
}

absl::StatusOr<StoredRecord> DecodeRecord(uint64_t seq, std::string_view v) {
  StoredRecord out;
  out.seq = seq;
  if (v.size() < 10 || static_cast<uint8_t>(v[0]) != kRecordFormat) {
    return absl::DataLossError(absl::StrCat("event log record ", seq, " is corrupt"));
  }
  out.kind = static_cast<uint8_t>(v[1]);
  out.event_time = FromTimeKey(ReadBigEndian64(v.substr(2, 8)));
  v.remove_prefix(10);
  std::string_view request_id;
  std::string_view trace_id;
  uint64_t n = 0;
  if (!ReadLengthPrefixed(&v, &request_id) || !ReadLengthPrefixed(&v, &trace_id) ||
      !ReadVarint(&v, &n) || n > 1024) {
    return absl::DataLossError(absl::StrCat("event log record ", seq, " has a bad header"));
  }
  out.request_id = std::string(request_id);
  out.trace_id = std::string(trace_id);
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view entity;
    if (!ReadLengthPrefixed(&v, &entity)) {
      return absl::DataLossError(absl::StrCat("event log record ", seq, " is truncated"));
    }
    out.entities.emplace_back(entity);
  }
  out.payload = std::string(v);
  return out;
}

uint64_t IdHash(std::string_view id) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : id) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

std::string IdPrefix(char tag, std::string_view id) {
  std::string k(1, tag);
  AppendBigEndian64(&k, IdHash(id));
  return k;
}

std::string TimeSpanKey(const TimeSpan& span) {
  std::string k;
  AppendBigEndian64(&k, TimeKey(span.min_time));
  AppendBigEndian64(&k, span.seqs.front());
  return k;
}

std::string TimeSpanValue(const TimeSpan& span) {
  std::string v;
  AppendBigEndian64(&v, TimeKey(span.max_time));
  AppendVarint(&v, span.seqs.size());
  uint64_t prev = span.seqs.front();
  for (uint64_t seq : span.seqs) {
    AppendVarint(&v, seq - prev);
    prev = seq;
  }
  return v;
}

bool DecodeTimeSpan(std::string_view key, std::string_view value, TimeSpan* span) {
  if (key.size() != 16 || value.size() < 9) return false;
  span->min_time = FromTimeKey(ReadBigEndian64(key.substr(0, 8)));
  uint64_t seq = ReadBigEndian64(key.substr(8, 8));
  span->max_time = FromTimeKey(ReadBigEndian64(value.substr(0, 8)));
  value.remove_prefix(8);
  uint64_t count = 0;
  if (!ReadVarint(&value, &count) || count > value.size() || count == 0) return false;
  span->seqs.clear();
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t delta = 0;
    if (!ReadVarint(&value, &delta)) return false;
    seq += delta;
    span->seqs.push_back(seq);
  }
  return true;
}

}  // namespace candor::store::event_log_format

// The event log's on-disk encodings (store/FORMAT.md, "Event log"): keys, record values, time
// spans, partition names. Internal to store/; separate from event_log.cc so the encodings are
// tested on their own.
//
// Thread safety: pure functions.

#ifndef CANDOR_STORE_EVENT_LOG_FORMAT_H_
#define CANDOR_STORE_EVENT_LOG_FORMAT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "store/event_log.h"

namespace candor::store::event_log_format {

inline constexpr std::string_view kFormatVersion = "2";
inline constexpr std::string_view kFormatKey = "format_version";
inline constexpr std::string_view kMetaCf = "meta";
inline constexpr std::string_view kTransitionsCf = "transitions";

// The three column families of one UTC day.
enum class PartitionPart { kRecords, kIds, kSpans };
inline constexpr PartitionPart kAllParts[] = {PartitionPart::kRecords, PartitionPart::kIds,
                                              PartitionPart::kSpans};

// "events_YYYYMMDD", "eventids_YYYYMMDD", "eventspans_YYYYMMDD".
std::string PartitionName(PartitionPart part, int64_t day);
// The part and day of a partition column family name, or nullopt for other names.
std::optional<std::pair<PartitionPart, int64_t>> ParsePartitionName(std::string_view name);

// Days since the Unix epoch (UTC) of `t`, rounding towards the past.
int64_t DayOf(absl::Time t);

// Big-endian and LEB128 varint helpers.
void AppendBigEndian64(std::string* out, uint64_t v);
uint64_t ReadBigEndian64(std::string_view s);  // Requires s.size() >= 8.
void AppendVarint(std::string* out, uint64_t v);
bool ReadVarint(std::string_view* in, uint64_t* v);

// Unix milliseconds with the sign bit flipped: order-preserving as unsigned big-endian bytes.
uint64_t TimeKey(absl::Time t);
absl::Time FromTimeKey(uint64_t key);

// Records column family: key = seq (8 bytes), strictly increasing.
std::string RecordKey(uint64_t seq);
std::string EncodeRecord(const LogRecord& record);
absl::StatusOr<StoredRecord> DecodeRecord(uint64_t seq, std::string_view value);

// Ids column family: key = tag · IdHash(id) (8) · seq (8); the first 9 bytes are the prefix.
inline constexpr char kRequestTag = 'r';
inline constexpr char kTraceTag = 't';
inline constexpr size_t kIdPrefixBytes = 9;
// A stable 64-bit hash (FNV-1a with the SplitMix64 finaliser). On disk: never change it.
uint64_t IdHash(std::string_view id);
std::string IdPrefix(char tag, std::string_view id);

// Spans column family: the time index of one commit group's records in one partition whose
// event times lie within kTimeSpan. Key = min_time (8) · first seq (8); value = max_time (8) ·
// varint count · varint seq deltas.
inline constexpr absl::Duration kTimeSpan = absl::Minutes(1);
struct TimeSpan {
  absl::Time min_time = absl::InfiniteFuture();
  absl::Time max_time = absl::InfinitePast();
  std::vector<uint64_t> seqs;
};
std::string TimeSpanKey(const TimeSpan& span);
std::string TimeSpanValue(const TimeSpan& span);
bool DecodeTimeSpan(std::string_view key, std::string_view value, TimeSpan* span);

}  // namespace candor::store::event_log_format

#endif  // CANDOR_STORE_EVENT_LOG_FORMAT_H_

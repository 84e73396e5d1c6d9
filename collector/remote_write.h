// RemoteWriteReceiver: the Prometheus remote-write 1.0 receiver (`POST /api/v1/write`), so
// Prometheus, its agent mode or any remote-write client writes into candor's SeriesStore.
//
// The body is a `prometheus.WriteRequest` (proto/prometheus/remote.proto) compressed with the
// snappy block format. Decoding is hand-written over the wire format, without building
// protobuf objects: a series' label bytes are looked up in a cache of refs as they appear on
// the wire, so a sender that repeats the same label set (every remote-write client does)
// costs one hash and one lookup per series instead of a parse, a validation and a store
// lookup. Native histograms (TimeSeries field 4) and metric metadata (WriteRequest field 3)
// are accepted too.
//
// Responses: 204 when every sample was stored; 400 with a JSON body
// `{"status":"error","errorType":"bad_data","error":"...","accepted":N,"rejected":M}` naming
// the first problem when the request is malformed or some samples were rejected (the others
// are stored; remote-write senders do not retry a 400); 405 for other methods; 413 for a body
// past the limit; 415 for another content type or encoding; 500 when the store could not make
// the batch durable (senders retry). Every rejection is counted in Stats().
//
// Thread safety: Handle may be called from any number of threads at once.

#ifndef CANDOR_COLLECTOR_REMOTE_WRITE_H_
#define CANDOR_COLLECTOR_REMOTE_WRITE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/http.h"
#include "store/series_store.h"

namespace candor::collector {

struct RemoteWriteOptions {
  // Largest compressed body accepted, in bytes. Default: 64 MiB.
  int64_t max_body_bytes = 64 << 20;
  // Largest decompressed body accepted, in bytes. Default: 256 MiB.
  int64_t max_decoded_bytes = 256 << 20;
  // Entries of the label-bytes → ref cache (per shard of 16); a full shard is cleared.
  // Default: 262144 (about 4 M series overall).
  int64_t ref_cache_entries_per_shard = 262144;
};

struct RemoteWriteStats {
  uint64_t requests_total = 0;
  uint64_t bad_requests_total = 0;      // Malformed bodies and rejected series.
  uint64_t samples_total = 0;           // Samples stored (floats and histograms).
  uint64_t histograms_total = 0;        // Of those, native histogram samples.
  uint64_t rejected_samples_total = 0;  // Samples not stored (any reason).
  uint64_t series_created_total = 0;
  uint64_t store_errors_total = 0;  // 500s.
};

class RemoteWriteReceiver {
 public:
  // `store` must outlive the receiver.
  explicit RemoteWriteReceiver(store::SeriesStore& store, RemoteWriteOptions options = {});
  ~RemoteWriteReceiver();

  RemoteWriteReceiver(const RemoteWriteReceiver&) = delete;
  RemoteWriteReceiver& operator=(const RemoteWriteReceiver&) = delete;

  // Handles one request (see the header comment for the responses).
  HttpResponse Handle(const HttpRequest& request);

  // A handler bound to this receiver, for the HTTP server's route table.
  HttpHandler AsHandler() {
    return [this](const HttpRequest& r) { return Handle(r); };
  }

  RemoteWriteStats Stats() const;

 private:
  struct Shard {
    absl::Mutex mu;
    absl::flat_hash_map<std::string, store::SeriesRef> refs ABSL_GUARDED_BY(mu);
  };
  class Decoder;

  bool LookupRef(std::string_view key, size_t hash, store::SeriesRef* ref);
  void RememberRef(std::string_view key, size_t hash, store::SeriesRef ref);

  store::SeriesStore& store_;
  const RemoteWriteOptions options_;
  static constexpr size_t kShards = 16;
  Shard shards_[kShards];

  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> bad_requests_{0};
  std::atomic<uint64_t> samples_{0};
  std::atomic<uint64_t> histograms_{0};
  std::atomic<uint64_t> rejected_{0};
  std::atomic<uint64_t> created_{0};
  std::atomic<uint64_t> store_errors_{0};
};

// Decodes a remote-write native histogram message (the bytes of TimeSeries field 4) into a
// store histogram and its timestamp. InvalidArgumentError naming the problem otherwise.
absl::Status DecodeNativeHistogram(std::string_view bytes, store::Histogram* h, int64_t* t_ms);

}  // namespace candor::collector

#endif  // CANDOR_COLLECTOR_REMOTE_WRITE_H_

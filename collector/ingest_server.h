// IngestServer: the gRPC listener of `candor.v1.Ingest` (proto/candor/v1/ingest.proto).
//
// Both RPCs carry serialized batches as raw bytes, so candor parses them itself: a message
// that does not parse gets a precise INVALID_ARGUMENT and is counted, never a crash. Batches
// go through a bounded queue to worker threads running the BatchProcessor; an ack is sent only
// after the batch's accepted items are durable. On a stream, acks come back in batch order
// and several batches may be in flight at once. When the queue is full, a batch is refused
// whole with RESOURCE_EXHAUSTED and a retry hint (unary: the call's status with a
// `retry-after-ms` trailer; stream: the ack's code and `retry_after`), never queued without
// bound. Shutdown refuses new batches with UNAVAILABLE, lets every queued and running batch
// finish and be acknowledged, then closes the listener.
//
// Thread safety: Start/Shutdown from one thread; port() from any thread.

#ifndef CANDOR_COLLECTOR_INGEST_SERVER_H_
#define CANDOR_COLLECTOR_INGEST_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "collector/batch_processor.h"
#include "common/clock.h"
#include "common/metrics.h"

namespace candor::collector {

struct IngestServerOptions {
  // host:port for gRPC; port 0 picks a free port. Default: "127.0.0.1:4770".
  std::string listen_address = "127.0.0.1:4770";
  // Largest accepted gRPC message, bytes. Default: 16 MiB.
  size_t max_message_bytes = 16u << 20;
  // Worker threads that validate and commit batches. Range 1–64. Default: 2.
  int workers = 2;
  // Batches waiting for a worker before new ones are refused. Default: 256.
  size_t max_queued_batches = 256;
  // Bytes of batches waiting for a worker before new ones are refused. Default: 256 MiB.
  size_t max_queued_bytes = 256u << 20;
  // Batches in flight per stream before the server stops reading from it (flow control).
  // Default: 8.
  size_t max_in_flight_per_stream = 8;
  // Retry hint given with RESOURCE_EXHAUSTED. Default: 200 ms.
  absl::Duration retry_after = absl::Milliseconds(200);
};

class IngestServer {
 public:
  // Starts listening. UnavailableError naming the address if it cannot be bound.
  // `processor`, `metrics` and `clock` must outlive the server.
  static absl::StatusOr<std::unique_ptr<IngestServer>> Start(const IngestServerOptions& options,
                                                             BatchProcessor& processor,
                                                             MetricsRegistry& metrics,
                                                             Clock& clock);
  ~IngestServer();

  IngestServer(const IngestServer&) = delete;
  IngestServer& operator=(const IngestServer&) = delete;

  int port() const;
  std::string address() const;

  // Refuses new batches (UNAVAILABLE), waits up to `grace` for queued and running batches to
  // finish and be acknowledged, then stops the listener and cancels what remains. Idempotent.
  void Shutdown(absl::Duration grace);

 private:
  struct Impl;
  explicit IngestServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace candor::collector

#endif  // CANDOR_COLLECTOR_INGEST_SERVER_H_

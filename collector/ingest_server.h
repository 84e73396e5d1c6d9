// IngestServer: the gRPC listener of `candor.v1.Ingest` (proto/candor/v1/ingest.proto).
//
// Both RPCs carry serialized batches as raw bytes, so candor parses them itself: a message
// that does not parse gets a precise INVALID_ARGUMENT and is counted, never a crash. Batches
// go through a bounded queue to worker threads running the BatchProcessor; an ack is sent only
// after the batch's accepted items are durable. On a stream, acks come back in batch order
// and several batches may be in flight at once. Admission is by priority (critical routes,
// server and GPU samples are shed last; collector/admission.h): when a batch's class has
// reached its share of the bounded queue, the batch is refused whole with RESOURCE_EXHAUSTED
// and a retry hint (unary: the call's status with a `retry-after-ms` trailer; stream: the
// ack's code and `retry_after`), never queued without bound. Optional TLS, mutual TLS and
// bearer-token authentication guard the listener.
//
// Metrics: candor_ingest_refused_batches_total{reason,priority},
// candor_ingest_admitted_batches_total{priority}, candor_ingest_queue_batches,
// candor_ingest_queue_bytes, candor_ingest_streams, candor_ingest_client_batches_total{client}.
// Shutdown refuses new batches with UNAVAILABLE, lets every queued and running batch finish and be
// acknowledged, then closes the listener.
//
// Thread safety: Start/Shutdown from one thread; port() from any thread.

#ifndef CANDOR_COLLECTOR_INGEST_SERVER_H_
#define CANDOR_COLLECTOR_INGEST_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "collector/batch_processor.h"
#include "common/bearer_auth.h"
#include "common/clock.h"
#include "common/metrics.h"

namespace candor::collector {

struct IngestTlsOptions {
  // PEM certificate chain of the server. Empty: plaintext gRPC. Default: "".
  std::string cert_file;
  // PEM private key of `cert_file`. Required with `cert_file`. Default: "".
  std::string key_file;
  // PEM CA bundle. When set, clients must present a certificate signed by it (mutual TLS).
  // Default: "".
  std::string client_ca_file;
};

struct IngestServerOptions {
  // host:port for gRPC; port 0 picks a free port. Default: "127.0.0.1:4770".
  std::string listen_address = "127.0.0.1:4770";
  // Largest accepted gRPC message, bytes; larger ones are refused by the transport with
  // RESOURCE_EXHAUSTED ("received message larger than max"). Default: 16 MiB.
  size_t max_message_bytes = 16u << 20;
  // Worker threads that validate and commit batches. Range 1–64. Default: 2.
  int workers = 2;
  // Bounds of the admission queue (collector/admission.h): batches waiting for a worker and
  // bytes waiting or being processed, and the share of them that low and normal batches may
  // fill. Defaults: 256 batches, 256 MiB, 0.5, 0.8.
  size_t max_queued_batches = 256;
  size_t max_queued_bytes = 256u << 20;
  double low_watermark = 0.5;
  double normal_watermark = 0.8;
  // Batches in flight per stream before the server stops reading from it (flow control).
  // Default: 8.
  size_t max_in_flight_per_stream = 8;
  // Open streams at once; further streams are refused with RESOURCE_EXHAUSTED. Together with
  // the per-stream window this bounds the memory of batches read but not yet admitted.
  // Default: 1024.
  size_t max_streams = 1024;
  // Memory gRPC itself may use for connections, streams and read buffers (its resource
  // quota): past it, gRPC shrinks flow-control windows and refuses new work, so a flood of
  // clients cannot take the daemon's memory. Default: 512 MiB.
  size_t max_transport_bytes = 512u << 20;
  // Retry hint given with RESOURCE_EXHAUSTED. Default: 200 ms.
  absl::Duration retry_after = absl::Milliseconds(200);
  IngestTlsOptions tls;
  // Bearer tokens (metadata `authorization: Bearer <token>`). When enabled, a call without a
  // valid token gets UNAUTHENTICATED and nothing it sent is read or written. Not owned; must
  // outlive the server. Default: null (no authentication).
  const BearerAuthenticator* auth = nullptr;
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

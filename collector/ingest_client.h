// The client side of `candor.v1.Ingest`, for `candor ship` and tests: a channel with optional
// TLS / mutual TLS and a bearer token, and a bidirectional stream of batches and acks.
// gRPC stays inside this adapter.
//
// Thread safety: an IngestClient may open streams from any thread; one IngestStream is used
// by one thread at a time.

#ifndef CANDOR_COLLECTOR_INGEST_CLIENT_H_
#define CANDOR_COLLECTOR_INGEST_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "candor/v1/ingest.pb.h"

namespace candor::collector {

struct IngestClientOptions {
  // host:port of candor's gRPC listener. Required.
  std::string address;
  // Sent as `authorization: Bearer <token>` when set.
  std::string bearer_token;
  // Connect with TLS. Default: false.
  bool tls = false;
  // PEM CA bundle that signed the server's certificate (empty: the system's roots).
  std::string ca_file;
  // PEM client certificate and key, for mutual TLS.
  std::string cert_file;
  std::string key_file;
  // Name the server's certificate must carry when it differs from the address's host.
  std::string server_name;
};

class IngestStream {
 public:
  virtual ~IngestStream() = default;
  // Sends a batch; false when the stream is broken (see Finish for why).
  virtual bool Write(const candor::v1::IngestBatch& batch) = 0;
  // Waits for the next ack, in batch order; false when the stream has ended.
  virtual bool Read(candor::v1::IngestAck* ack) = 0;
  // Tells the server no more batches follow.
  virtual void WritesDone() = 0;
  // After Read returned false: the stream's final status (e.g. UNAUTHENTICATED, UNAVAILABLE).
  virtual absl::Status Finish() = 0;
  // Cancels the stream from the client side.
  virtual void Cancel() = 0;
};

class IngestClient {
 public:
  // InvalidArgumentError for an empty address; FailedPreconditionError naming a TLS file that
  // cannot be read. Does not connect yet.
  static absl::StatusOr<std::unique_ptr<IngestClient>> Create(const IngestClientOptions& options);
  virtual ~IngestClient() = default;

  // Opens a stream (connecting as needed).
  virtual std::unique_ptr<IngestStream> OpenStream() = 0;
  // One unary Write. A whole-batch refusal is the error status (RESOURCE_EXHAUSTED carries
  // the hint in the message and `retry_after_ms`).
  virtual absl::StatusOr<candor::v1::IngestAck> Write(const candor::v1::IngestBatch& batch,
                                                      int64_t* retry_after_ms = nullptr) = 0;
};

}  // namespace candor::collector

#endif  // CANDOR_COLLECTOR_INGEST_CLIENT_H_

// A client of candor.v1.Ingest's bidirectional Stream: sends IngestBatches one at a time and
// returns each acknowledgement. A batch refused whole with RESOURCE_EXHAUSTED is sent again
// after the server's retry hint (waiting on the injected Clock). Used by `candor sim --to` and
// by tests that stream recorded items into a live daemon.
//
// Thread safety: one thread uses a client at a time.

#ifndef CANDOR_COLLECTOR_INGEST_CLIENT_H_
#define CANDOR_COLLECTOR_INGEST_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "candor/v1/ingest.pb.h"
#include "common/clock.h"

namespace candor::collector {

struct IngestClientOptions {
  // How long Connect waits for the channel. Default: 10 s.
  absl::Duration connect_timeout = absl::Seconds(10);
  // Most resends of a batch refused with RESOURCE_EXHAUSTED. Default: 100.
  int max_retries = 100;
  // Largest message sent or received, bytes. Default: 16 MiB.
  int max_message_bytes = 16 << 20;
};

class IngestStreamClient {
 public:
  // Connects to `address` (host:port, plaintext) and opens a stream. UnavailableError if the
  // server cannot be reached within the timeout. `clock` must outlive the client.
  static absl::StatusOr<std::unique_ptr<IngestStreamClient>> Connect(
      const std::string& address, Clock& clock, IngestClientOptions options = {});
  ~IngestStreamClient();

  IngestStreamClient(const IngestStreamClient&) = delete;
  IngestStreamClient& operator=(const IngestStreamClient&) = delete;

  // Sends `batch` and returns its ack (code 0: the accepted items are durable; rejects list
  // refused items). ResourceExhaustedError after max_retries refusals; UnavailableError if the
  // stream broke.
  absl::StatusOr<candor::v1::IngestAck> Send(const candor::v1::IngestBatch& batch);

  // Half-closes the stream and returns the RPC's final status.
  absl::Status Close();

 private:
  struct Impl;
  explicit IngestStreamClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace candor::collector

#endif  // CANDOR_COLLECTOR_INGEST_CLIENT_H_

// An in-process candor.v1.Ingest server on 127.0.0.1 for tests: records every batch it
// receives and answers from a script (then with code 0 acks accepting everything).
//
// Thread safety: all methods are thread-safe; RPCs run on gRPC's threads.

#ifndef CANDOR_CUDA_PROFILER_TESTING_FAKE_INGEST_SERVER_H_
#define CANDOR_CUDA_PROFILER_TESTING_FAKE_INGEST_SERVER_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "candor/v1/ingest.pb.h"
#include "common/clock.h"

namespace candor::cuda_profiler::testing {

class FakeIngestServer {
 public:
  // Starts serving on 127.0.0.1:`port` (0: a free port chosen by the OS).
  static absl::StatusOr<std::unique_ptr<FakeIngestServer>> Start(int port = 0);
  ~FakeIngestServer();

  int port() const;
  std::string target() const;  // "127.0.0.1:<port>".

  // The next Write (or Stream batch) fails with `status` (Write) or is answered with an ack
  // of that code (Stream); scripted replies are used in order.
  void ScriptStatus(absl::Status status);
  // The next Write fails with RESOURCE_EXHAUSTED and a `retry-after-ms` trailer, as candor's
  // Ingest server does when overloaded.
  void ScriptOverload(absl::Duration retry_after);
  // The next batch is answered with `ack` (batch_id is filled in). The batch is still
  // recorded (a refusal in the ack does not un-record it).
  void ScriptAck(candor::v1::IngestAck ack);

  std::vector<candor::v1::IngestBatch> batches() const;
  // KernelSummary items received in batches that were acknowledged with code 0.
  std::vector<candor::v1::KernelSummary> accepted_summaries() const;
  // Waits (on `clock`) until `n` summaries were accepted or `deadline` passes; returns whether
  // they were.
  bool WaitForAcceptedSummaries(size_t n, Clock& clock, absl::Time deadline) const;

  // Stops serving; later calls fail with UNAVAILABLE at the client. Idempotent.
  void Shutdown();

 private:
  struct Impl;
  explicit FakeIngestServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace candor::cuda_profiler::testing

#endif  // CANDOR_CUDA_PROFILER_TESTING_FAKE_INGEST_SERVER_H_

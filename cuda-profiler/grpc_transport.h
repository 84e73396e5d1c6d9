// The gRPC IngestTransport: calls candor.v1.Ingest/Write over one channel.
//
// A call refused with RESOURCE_EXHAUSTED comes back as an IngestAck with code 8 and the
// server's `retry-after-ms` trailer as `retry_after`, so the shipper honours the hint.
//
// The channel reconnects by itself (gRPC's own connection backoff, capped here at 10 s); a call
// made while disconnected fails fast with UNAVAILABLE (no wait-for-ready), and the Shipper's
// jittered backoff decides when to try again. gRPC types stay inside grpc_transport.cc.
//
// Thread safety: Write may be called from any thread.

#ifndef CANDOR_CUDA_PROFILER_GRPC_TRANSPORT_H_
#define CANDOR_CUDA_PROFILER_GRPC_TRANSPORT_H_

#include <memory>
#include <string>

#include "common/clock.h"
#include "cuda-profiler/shipper.h"

namespace candor::cuda_profiler {

// A transport to `target` ("host:port", e.g. "127.0.0.1:4770"), insecure (plaintext) channel.
// `clock` (must outlive the transport) turns timeouts into call deadlines; pass a RealClock.
// Never fails: an unreachable target shows up as UNAVAILABLE from Write.
std::unique_ptr<IngestTransport> MakeGrpcIngestTransport(Clock& clock, const std::string& target);

}  // namespace candor::cuda_profiler

#endif  // CANDOR_CUDA_PROFILER_GRPC_TRANSPORT_H_

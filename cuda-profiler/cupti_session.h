// One CUPTI tracing session: the glue between libcupti and the CUPTI-free pipeline.
//
// `Start` checks the runtime CUPTI version against the headers, claims CUPTI with
// cuptiSubscribe_v2 (another subscriber — Nsight, an in-process profiler — makes it refuse
// with the holder's name), registers the buffer callbacks, enables the activity kinds
// (DEVICE, CONTEXT, CONCURRENT_KERNEL, MEMCPY, MEMCPY2, MEMSET, MEMORY2, SYNCHRONIZATION,
// OVERHEAD, EXTERNAL_CORRELATION, and GRAPH_TRACE when asked), and starts two threads: a
// flusher that every flush period calls cuptiActivityFlushAll(0), collects CUPTI's drop count
// and hands due summaries to the shipper (and the dump file), and the shipper's sender.
//
// CUPTI's buffer callbacks reach the live session through a process-wide pointer guarded by a
// reader/writer lock, so a callback that races with Shutdown either finishes first or finds no
// session; CUPTI is never called with one of candor's locks held.
//
// Thread safety: all methods are thread-safe. At most one session is active per process.

#ifndef CANDOR_CUDA_PROFILER_CUPTI_SESSION_H_
#define CANDOR_CUDA_PROFILER_CUPTI_SESSION_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "candor/v1/ingest.pb.h"
#include "common/clock.h"
#include "common/periodic_runner.h"
#include "cuda-profiler/activity_pipeline.h"
#include "cuda-profiler/profiler_options.h"
#include "cuda-profiler/request_registry.h"
#include "cuda-profiler/shipper.h"

namespace candor::cuda_profiler {

struct SessionStats {
  PipelineStats pipeline;
  ShipperStats shipper;
  uint64_t summaries_produced = 0;
  uint64_t records_lost = 0;  // dropped_records over every summary produced.
};

class CuptiSession {
 public:
  // Starts tracing. `clock` must outlive the session. Errors leave CUPTI released:
  // FailedPreconditionError when the runtime CUPTI is older than the headers;
  // AlreadyExistsError when another subscriber holds CUPTI (the message names it);
  // UnavailableError when CUPTI refuses (no driver, driver too old), with CUPTI's result
  // string; FailedPreconditionError also when another session is active in this process.
  static absl::StatusOr<std::unique_ptr<CuptiSession>> Start(Clock& clock,
                                                             const ProfilerOptions& options);
  // Shuts down if still running.
  ~CuptiSession();

  CuptiSession(const CuptiSession&) = delete;
  CuptiSession& operator=(const CuptiSession&) = delete;

  // Flushes completed buffers, collects CUPTI's drop count, and emits due summaries. Called by
  // the flush thread; callers may add flushes (never waits for the GPU).
  void Flush();

  // Stops the flush thread, force-flushes CUPTI, releases it, emits every open interval, and
  // ships for at most `drain` before dropping (counted) what is left. Idempotent.
  void Shutdown(absl::Duration drain);

  // Pushes an external correlation id for `request_id` on the calling thread.
  // InvalidArgumentError for a bad id; UnavailableError when CUPTI refuses.
  absl::Status PushRequest(std::string_view request_id);
  // Pushes numeric `id` (< 2^63). InvalidArgumentError otherwise.
  absl::Status PushExternalId(uint64_t id);
  // Pops the calling thread's innermost id. UnavailableError when CUPTI refuses.
  absl::Status Pop();

  SessionStats stats() const;
  // Kinds CUPTI refused to enable (the session runs without them), e.g. "MEMORY2".
  const std::vector<std::string>& disabled_kinds() const { return disabled_kinds_; }

 private:
  CuptiSession(Clock& clock, const ProfilerOptions& options);
  absl::Status Begin();
  absl::Status Subscribe();
  absl::Status EnableKinds();
  void StartThreads();
  void Emit(std::vector<candor::v1::KernelSummary> summaries);
  void ReleaseCupti();

  Clock& clock_;
  const ProfilerOptions options_;
  RequestRegistry registry_;
  std::unique_ptr<ActivityPipeline> pipeline_;
  std::unique_ptr<IngestTransport> transport_;
  std::unique_ptr<Shipper> shipper_;
  std::unique_ptr<PeriodicRunner> flusher_;
  void* subscriber_ = nullptr;  // CUpti_SubscriberHandle.
  bool started_ = false;        // Begin succeeded: there is something to shut down.
  std::vector<int> enabled_kinds_;
  std::vector<std::string> disabled_kinds_;
  absl::Mutex flush_mu_;  // Serialises Flush and Shutdown.
  bool shut_down_ ABSL_GUARDED_BY(flush_mu_) = false;
  mutable absl::Mutex emit_mu_;
  std::FILE* dump_ ABSL_GUARDED_BY(emit_mu_) = nullptr;
  uint64_t summaries_produced_ ABSL_GUARDED_BY(emit_mu_) = 0;
  uint64_t records_lost_ ABSL_GUARDED_BY(emit_mu_) = 0;
};

}  // namespace candor::cuda_profiler

#endif  // CANDOR_CUDA_PROFILER_CUPTI_SESSION_H_

// libcandor_cupti.so's exported C interface (candor_cupti.h) over one process-wide
// CuptiSession. Everything here is defensive: the host process must never fail, block for
// long, or crash because of this library.

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/log.h"
#include "cuda-profiler/candor_cupti.h"
#include "cuda-profiler/cupti_session.h"
#include "cuda-profiler/profiler_options.h"

namespace candor::cuda_profiler {
namespace {

constexpr char kComponent[] = "cuda-profiler";

struct Library {
  absl::Mutex mu;
  int state ABSL_GUARDED_BY(mu) = CANDOR_CUPTI_NOT_STARTED;
  std::string message ABSL_GUARDED_BY(mu) = "not started";
  std::unique_ptr<CuptiSession> session ABSL_GUARDED_BY(mu);
  bool exit_hook ABSL_GUARDED_BY(mu) = false;
  // Counters of the last session, kept after it shut down.
  candor_cupti_stats last_stats ABSL_GUARDED_BY(mu) = {};
  RealClock clock;
};

// Never destroyed: the exit hook and late CUPTI callbacks may still reach it.
Library& Lib() {
  static Library* lib = new Library();
  return *lib;
}

int StateFor(const absl::Status& st) {
  switch (st.code()) {
    case absl::StatusCode::kAlreadyExists:
      return CANDOR_CUPTI_PASSIVE;
    case absl::StatusCode::kFailedPrecondition:
      return CANDOR_CUPTI_VERSION_MISMATCH;
    case absl::StatusCode::kInvalidArgument:
      return CANDOR_CUPTI_BAD_CONFIG;
    default:
      return CANDOR_CUPTI_UNAVAILABLE;
  }
}

void AtExit() { candor_cupti_shutdown(); }

int Start() {
  Library& lib = Lib();
  absl::MutexLock lock(&lib.mu);
  if (lib.state == CANDOR_CUPTI_ACTIVE) return lib.state;
  if (!lib.exit_hook) {
    lib.exit_hook = true;
    std::atexit(&AtExit);
  }
  absl::StatusOr<ProfilerOptions> options =
      ProfilerOptionsFromEnv([](const char* name) { return std::getenv(name); });
  if (!options.ok()) {
    lib.state = CANDOR_CUPTI_BAD_CONFIG;
    lib.message = std::string(options.status().message());
  } else if (options->disabled) {
    lib.state = CANDOR_CUPTI_DISABLED;
    lib.message = "disabled by CANDOR_CUPTI_DISABLE";
  } else {
    absl::StatusOr<std::unique_ptr<CuptiSession>> session =
        CuptiSession::Start(lib.clock, *options);
    if (session.ok()) {
      lib.session = std::move(*session);
      lib.state = CANDOR_CUPTI_ACTIVE;
      lib.message = "tracing";
      if (!lib.session->disabled_kinds().empty()) {
        lib.message += " (some activity kinds unavailable)";
      }
    } else {
      lib.state = StateFor(session.status());
      lib.message = std::string(session.status().message());
    }
  }
  if (lib.state != CANDOR_CUPTI_ACTIVE) {
    CANDOR_LOG_WARN(kComponent, "not tracing", {{"state", lib.state}, {"reason", lib.message}});
  }
  return lib.state;
}

candor_cupti_stats ToC(const SessionStats& st) {
  candor_cupti_stats s{};
  s.struct_size = sizeof(s);
  s.records_decoded = st.pipeline.decode.records;
  s.kernels = st.pipeline.aggregate.kernels;
  s.dropped_by_cupti = st.pipeline.cupti_dropped;
  s.buffers_refused = st.pipeline.buffers_refused;
  s.records_lost = st.records_lost;
  s.summaries_produced = st.summaries_produced;
  s.summaries_sent = st.shipper.sent;
  s.summaries_dropped =
      st.shipper.dropped_overflow + st.shipper.dropped_refused + st.shipper.dropped_shutdown;
  s.peak_buffer_bytes = st.pipeline.peak_outstanding_bytes;
  return s;
}

int FromStatus(const absl::Status& st) {
  if (st.ok()) return CANDOR_CUPTI_OK;
  return st.code() == absl::StatusCode::kInvalidArgument ? CANDOR_CUPTI_ERR_INVALID
                                                         : CANDOR_CUPTI_ERR_CUPTI;
}

}  // namespace
}  // namespace candor::cuda_profiler

using candor::cuda_profiler::Lib;
using candor::cuda_profiler::Library;

extern "C" {

__attribute__((visibility("default"))) int InitializeInjection(void) {
  candor::cuda_profiler::Start();
  return 1;
}

__attribute__((visibility("default"))) int candor_cupti_start(void) {
  return candor::cuda_profiler::Start();
}

__attribute__((visibility("default"))) int candor_cupti_status(void) {
  Library& lib = Lib();
  absl::MutexLock lock(&lib.mu);
  return lib.state;
}

__attribute__((visibility("default"))) size_t candor_cupti_status_message(char* buf, size_t len) {
  Library& lib = Lib();
  absl::MutexLock lock(&lib.mu);
  if (buf != nullptr && len > 0) {
    const size_t n = lib.message.size() < len - 1 ? lib.message.size() : len - 1;
    std::memcpy(buf, lib.message.data(), n);
    buf[n] = '\0';
  }
  return lib.message.size();
}

__attribute__((visibility("default"))) int candor_cupti_push_request(const char* request_id) {
  if (request_id == nullptr) return CANDOR_CUPTI_ERR_INVALID;
  Library& lib = Lib();
  absl::ReaderMutexLock lock(&lib.mu);
  if (lib.session == nullptr) return CANDOR_CUPTI_ERR_NOT_ACTIVE;
  return candor::cuda_profiler::FromStatus(lib.session->PushRequest(request_id));
}

__attribute__((visibility("default"))) int candor_cupti_push_external_id(uint64_t id) {
  Library& lib = Lib();
  absl::ReaderMutexLock lock(&lib.mu);
  if (lib.session == nullptr) return CANDOR_CUPTI_ERR_NOT_ACTIVE;
  return candor::cuda_profiler::FromStatus(lib.session->PushExternalId(id));
}

__attribute__((visibility("default"))) int candor_cupti_pop(void) {
  Library& lib = Lib();
  absl::ReaderMutexLock lock(&lib.mu);
  if (lib.session == nullptr) return CANDOR_CUPTI_ERR_NOT_ACTIVE;
  return candor::cuda_profiler::FromStatus(lib.session->Pop());
}

__attribute__((visibility("default"))) int candor_cupti_flush(void) {
  Library& lib = Lib();
  absl::ReaderMutexLock lock(&lib.mu);
  if (lib.session == nullptr) return CANDOR_CUPTI_ERR_NOT_ACTIVE;
  lib.session->Flush();
  return CANDOR_CUPTI_OK;
}

__attribute__((visibility("default"))) int candor_cupti_shutdown(void) {
  Library& lib = Lib();
  std::unique_ptr<candor::cuda_profiler::CuptiSession> session;
  {
    absl::MutexLock lock(&lib.mu);
    session = std::move(lib.session);
    if (lib.state == CANDOR_CUPTI_ACTIVE) {
      lib.state = CANDOR_CUPTI_NOT_STARTED;
      lib.message = "shut down";
    }
  }
  if (session == nullptr) return CANDOR_CUPTI_OK;
  session->Shutdown(absl::Seconds(2));
  const candor_cupti_stats last = candor::cuda_profiler::ToC(session->stats());
  absl::MutexLock lock(&lib.mu);
  lib.last_stats = last;
  return CANDOR_CUPTI_OK;
}

__attribute__((visibility("default"))) int candor_cupti_get_stats(candor_cupti_stats* out) {
  if (out == nullptr || out->struct_size < 8) return CANDOR_CUPTI_ERR_INVALID;
  candor_cupti_stats s{};
  {
    Library& lib = Lib();
    absl::ReaderMutexLock lock(&lib.mu);
    s = lib.session != nullptr ? candor::cuda_profiler::ToC(lib.session->stats()) : lib.last_stats;
  }
  const uint32_t size = out->struct_size;
  const size_t n = size < sizeof(s) ? size : sizeof(s);
  std::memcpy(out, &s, n);
  out->struct_size = size;
  return CANDOR_CUPTI_OK;
}

}  // extern "C"

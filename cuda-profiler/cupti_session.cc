#include "cuda-profiler/cupti_session.h"

#include <cupti.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "common/status.h"
#include "common/strings.h"
#include "cuda-profiler/cupti_decode.h"
#include "cuda-profiler/grpc_transport.h"
#include "cuda-profiler/text_util.h"
#include "google/protobuf/util/json_util.h"

namespace candor::cuda_profiler {
namespace {

constexpr char kComponent[] = "cuda-profiler";

// The live session, for CUPTI's buffer callbacks (they carry no user data). Callbacks hold the
// reader side while they use the session; Shutdown takes the writer side to detach it.
absl::Mutex& CallbackMutex() {
  static absl::Mutex* mu = new absl::Mutex();  // Never destroyed: callbacks may run at exit.
  return *mu;
}
ActivityPipeline* g_pipeline ABSL_GUARDED_BY(CallbackMutex()) = nullptr;

std::string CuptiError(std::string_view call, CUptiResult rc) {
  const char* text = nullptr;
  if (cuptiGetResultString(rc, &text) != CUPTI_SUCCESS || text == nullptr) text = "unknown";
  return absl::StrCat(Sv(call), ": ", text, " (", static_cast<int>(rc), ")");
}

class CuptiRecordIterator final : public RecordIterator {
 public:
  NextRecord Next(uint8_t* buffer, size_t valid_bytes, uint8_t** record) override {
    auto* r = reinterpret_cast<CUpti_Activity*>(*record);
    const CUptiResult rc = cuptiActivityGetNextRecord(buffer, valid_bytes, &r);
    if (rc == CUPTI_SUCCESS) {
      *record = reinterpret_cast<uint8_t*>(r);
      return NextRecord::kRecord;
    }
    return rc == CUPTI_ERROR_MAX_LIMIT_REACHED ? NextRecord::kEnd : NextRecord::kInvalid;
  }
};

void CUPTIAPI OnBufferRequested(uint8_t** buffer, size_t* size, size_t* max_records) {
  *buffer = nullptr;
  *size = 0;
  *max_records = 0;
  absl::ReaderMutexLock lock(&CallbackMutex());
  if (g_pipeline == nullptr) return;
  const ActivityPipeline::Buffer b = g_pipeline->RequestBuffer();
  *buffer = b.data;
  *size = b.size;
}

void CUPTIAPI OnBufferCompleted(CUcontext, uint32_t, uint8_t* buffer, size_t, size_t valid) {
  absl::ReaderMutexLock lock(&CallbackMutex());
  // A buffer completed after Shutdown detached the pipeline is left alone: the pipeline that
  // lent it outlives the detach (see ReleaseCupti), so this is not a leak of live memory.
  if (g_pipeline == nullptr) return;
  CuptiRecordIterator iterator;
  g_pipeline->CompleteBuffer(buffer, valid, iterator);
}

void CUPTIAPI OnCallback(void*, CUpti_CallbackDomain, CUpti_CallbackId, const void*) {}

std::string HostName() {
  std::array<char, 256> name{};
  if (gethostname(name.data(), name.size() - 1) != 0) return "unknown";
  return SanitizeText(name.data(), 128);
}

std::string ProcessName() {
  std::ifstream comm("/proc/self/comm");
  std::string name;
  std::getline(comm, name);
  return SanitizeText(name, 128);
}

ProcessIdentity Identity(const ProfilerOptions& o) {
  ProcessIdentity id;
  id.node = o.node.empty() ? HostName() : o.node;
  id.pid = static_cast<uint32_t>(getpid());
  id.process_name = ProcessName();
  id.provider = o.provider;
  id.replica = o.replica;
  id.model = o.model;
  return id;
}

struct KindToEnable {
  CUpti_ActivityKind kind;
  const char* name;
  bool required;
};

}  // namespace

CuptiSession::CuptiSession(Clock& clock, const ProfilerOptions& options)
    : clock_(clock), options_(options) {}

absl::StatusOr<std::unique_ptr<CuptiSession>> CuptiSession::Start(Clock& clock,
                                                                  const ProfilerOptions& options) {
  std::unique_ptr<CuptiSession> s(new CuptiSession(clock, options));
  const absl::Status st = s->Begin();
  if (!st.ok()) {
    s->ReleaseCupti();
    return st;
  }
  return s;
}

absl::Status CuptiSession::Begin() {
  uint32_t version = 0;
  if (const CUptiResult rc = cuptiGetVersion(&version); rc != CUPTI_SUCCESS) {
    return absl::UnavailableError(CuptiError("cuptiGetVersion", rc));
  }
  CANDOR_RETURN_IF_ERROR(CheckCuptiVersion(version, CompiledCuptiApiVersion()));
  {
    absl::ReaderMutexLock lock(&CallbackMutex());
    if (g_pipeline != nullptr) {
      return absl::FailedPreconditionError("a CUPTI session is already active in this process");
    }
  }
  CANDOR_RETURN_IF_ERROR(Subscribe());
  pipeline_ = std::make_unique<ActivityPipeline>(clock_, Identity(options_), options_.aggregator,
                                                 options_.pipeline, &registry_);
  {
    absl::MutexLock lock(&CallbackMutex());
    g_pipeline = pipeline_.get();
  }
  if (const CUptiResult rc = cuptiActivityRegisterCallbacks(&OnBufferRequested, &OnBufferCompleted);
      rc != CUPTI_SUCCESS) {
    return absl::UnavailableError(CuptiError("cuptiActivityRegisterCallbacks", rc));
  }
  CANDOR_RETURN_IF_ERROR(EnableKinds());
  StartThreads();
  started_ = true;
  CANDOR_LOG_INFO(kComponent, "tracing",
                  {{"cupti_version", version},
                   {"endpoint", options_.endpoint.empty() ? "none" : options_.endpoint},
                   {"disabled_kinds", absl::StrJoin(disabled_kinds_, ",")}});
  return absl::OkStatus();
}

absl::Status CuptiSession::Subscribe() {
  std::array<char, 256> holder{};
  CUpti_SubscriberParams params{};
  params.structSize = CUpti_SubscriberParams_STRUCT_SIZE;
  params.subscriberName = "candor";
  params.oldSubscriberName = holder.data();
  params.oldSubscriberSize = holder.size() - 1;
  CUpti_SubscriberHandle handle = nullptr;
  const CUptiResult rc = cuptiSubscribe_v2(&handle, &OnCallback, nullptr, &params);
  if (rc == CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED) {
    const std::string who = holder[0] != '\0' ? SanitizeText(holder.data(), 128) : "unknown";
    return absl::AlreadyExistsError(
        absl::StrCat("CUPTI is held by another subscriber (", who, "); staying passive"));
  }
  if (rc != CUPTI_SUCCESS) {
    return absl::UnavailableError(
        absl::StrCat(CuptiError("cuptiSubscribe_v2", rc),
                     rc == CUPTI_ERROR_UNKNOWN ? "; no usable CUDA driver in this process?" : ""));
  }
  subscriber_ = handle;
  return absl::OkStatus();
}

absl::Status CuptiSession::EnableKinds() {
  std::vector<KindToEnable> kinds = {
      {CUPTI_ACTIVITY_KIND_DEVICE, "DEVICE", false},
      {CUPTI_ACTIVITY_KIND_CONTEXT, "CONTEXT", false},
      // Never KERNEL: it serialises every kernel on the GPU.
      {CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL, "CONCURRENT_KERNEL", true},
      {CUPTI_ACTIVITY_KIND_MEMCPY, "MEMCPY", false},
      {CUPTI_ACTIVITY_KIND_MEMCPY2, "MEMCPY2", false},
      {CUPTI_ACTIVITY_KIND_MEMSET, "MEMSET", false},
      {CUPTI_ACTIVITY_KIND_MEMORY2, "MEMORY2", false},
      {CUPTI_ACTIVITY_KIND_SYNCHRONIZATION, "SYNCHRONIZATION", false},
      {CUPTI_ACTIVITY_KIND_OVERHEAD, "OVERHEAD", false},
      {CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION, "EXTERNAL_CORRELATION", false},
  };
  if (options_.graph_trace) {
    kinds.push_back({CUPTI_ACTIVITY_KIND_GRAPH_TRACE, "GRAPH_TRACE", false});
  }
  for (const KindToEnable& k : kinds) {
    const CUptiResult rc = cuptiActivityEnable(k.kind);
    if (rc == CUPTI_SUCCESS) {
      enabled_kinds_.push_back(static_cast<int>(k.kind));
    } else if (k.required) {
      return absl::UnavailableError(
          CuptiError(absl::StrCat("cuptiActivityEnable(", k.name, ")"), rc));
    } else {
      disabled_kinds_.push_back(k.name);
      CANDOR_LOG_WARN(kComponent, "activity kind not available",
                      {{"kind", k.name}, {"error", CuptiError("cuptiActivityEnable", rc)}});
    }
  }
  return absl::OkStatus();
}

void CuptiSession::StartThreads() {
  if (!options_.dump_path.empty()) {
    absl::MutexLock lock(&emit_mu_);
    dump_ = std::fopen(options_.dump_path.c_str(), "a");
    if (dump_ == nullptr) {
      CANDOR_LOG_WARN(kComponent, "cannot open dump file",
                      {{"path", options_.dump_path}, {"error", std::strerror(errno)}});
    }
  }
  if (!options_.endpoint.empty()) {
    transport_ = MakeGrpcIngestTransport(clock_, options_.endpoint);
    ShipperOptions so = options_.shipper;
    so.seed = static_cast<uint64_t>(getpid()) * uint64_t{0x9e3779b97f4a7c15};
    shipper_ = std::make_unique<Shipper>(clock_, *transport_, so, [this](uint64_t records) {
      pipeline_->AddDropped(records, DropSource::kQueue);
    });
    shipper_->Start();
  }
  flusher_ = std::make_unique<PeriodicRunner>(clock_, "cupti-flush", options_.flush_period,
                                              [this] { Flush(); });
  flusher_->Start();
}

CuptiSession::~CuptiSession() { Shutdown(absl::Seconds(2)); }

void CuptiSession::Emit(std::vector<candor::v1::KernelSummary> summaries) {
  if (summaries.empty()) return;
  {
    absl::MutexLock lock(&emit_mu_);
    summaries_produced_ += summaries.size();
    for (const auto& s : summaries) {
      records_lost_ += s.dropped_records();
      if (dump_ == nullptr) continue;
      std::string json;
      google::protobuf::util::JsonPrintOptions print;
      print.preserve_proto_field_names = true;
      if (google::protobuf::util::MessageToJsonString(s, &json, print).ok()) {
        json.push_back('\n');
        std::fwrite(json.data(), 1, json.size(), dump_);
      }
    }
    if (dump_ != nullptr) std::fflush(dump_);
  }
  if (shipper_ != nullptr) shipper_->Enqueue(std::move(summaries));
}

void CuptiSession::Flush() {
  absl::MutexLock lock(&flush_mu_);
  if (shut_down_) return;
  // No candor lock that a buffer callback takes is held here: FlushAll runs the completion
  // callbacks, possibly on this thread.
  cuptiActivityFlushAll(0);
  size_t dropped = 0;
  if (cuptiActivityGetNumDroppedRecords(nullptr, 0, &dropped) == CUPTI_SUCCESS) {
    pipeline_->AddDropped(dropped, DropSource::kCupti);
  }
  Emit(pipeline_->Close());
}

void CuptiSession::ReleaseCupti() {
  for (int kind : enabled_kinds_) cuptiActivityDisable(static_cast<CUpti_ActivityKind>(kind));
  enabled_kinds_.clear();
  if (subscriber_ != nullptr) {
    cuptiUnsubscribe(static_cast<CUpti_SubscriberHandle>(subscriber_));
    subscriber_ = nullptr;
  }
  absl::MutexLock lock(&CallbackMutex());
  if (g_pipeline == pipeline_.get()) g_pipeline = nullptr;
}

void CuptiSession::Shutdown(absl::Duration drain) {
  if (!started_) return;
  if (flusher_ != nullptr) flusher_->Stop();
  {
    absl::MutexLock lock(&flush_mu_);
    if (shut_down_) return;
    shut_down_ = true;
  }
  cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
  size_t dropped = 0;
  if (cuptiActivityGetNumDroppedRecords(nullptr, 0, &dropped) == CUPTI_SUCCESS) {
    pipeline_->AddDropped(dropped, DropSource::kCupti);
  }
  ReleaseCupti();
  Emit(pipeline_->CloseAll());
  if (shipper_ != nullptr) shipper_->Stop(drain);
  const PipelineStats ps = pipeline_->stats();
  if (ps.outstanding_bytes > 0) {
    // CUPTI still holds buffers after a forced flush; it may write into them later, so they
    // must stay valid: the pipeline that owns them is deliberately kept alive.
    CANDOR_LOG_WARN(kComponent, "CUPTI kept activity buffers at shutdown",
                    {{"bytes", static_cast<uint64_t>(ps.outstanding_bytes)}});
    (void)pipeline_.release();
  }
  absl::MutexLock lock(&emit_mu_);
  if (dump_ != nullptr) {
    std::fclose(dump_);
    dump_ = nullptr;
  }
}

absl::Status CuptiSession::PushExternalId(uint64_t id) {
  if ((id & kRegisteredIdBit) != 0) {
    return absl::InvalidArgumentError("numeric external ids must be below 2^63");
  }
  const CUptiResult rc =
      cuptiActivityPushExternalCorrelationId(CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0, id);
  if (rc != CUPTI_SUCCESS) {
    return absl::UnavailableError(CuptiError("cuptiActivityPushExternalCorrelationId", rc));
  }
  return absl::OkStatus();
}

absl::Status CuptiSession::PushRequest(std::string_view request_id) {
  CANDOR_ASSIGN_OR_RETURN(const uint64_t id, registry_.Register(request_id));
  const CUptiResult rc =
      cuptiActivityPushExternalCorrelationId(CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0, id);
  if (rc != CUPTI_SUCCESS) {
    return absl::UnavailableError(CuptiError("cuptiActivityPushExternalCorrelationId", rc));
  }
  return absl::OkStatus();
}

absl::Status CuptiSession::Pop() {
  uint64_t last = 0;
  const CUptiResult rc =
      cuptiActivityPopExternalCorrelationId(CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0, &last);
  if (rc != CUPTI_SUCCESS) {
    return absl::UnavailableError(CuptiError("cuptiActivityPopExternalCorrelationId", rc));
  }
  return absl::OkStatus();
}

SessionStats CuptiSession::stats() const {
  SessionStats out;
  if (pipeline_ != nullptr) out.pipeline = pipeline_->stats();
  if (shipper_ != nullptr) out.shipper = shipper_->stats();
  absl::MutexLock lock(&emit_mu_);
  out.summaries_produced = summaries_produced_;
  out.records_lost = records_lost_;
  return out;
}

}  // namespace candor::cuda_profiler

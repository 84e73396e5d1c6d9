#include "cuda-profiler/testing/mock_cupti.h"

#include <cupti.h>

#include <cstring>
#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "cuda-profiler/cupti_decode.h"

namespace {

struct Filled {
  uint8_t* buffer;
  size_t size;
  size_t valid;
};

struct Mock {
  absl::Mutex mu;
  uint32_t version ABSL_GUARDED_BY(mu) = 130001;
  CUptiResult subscribe_result ABSL_GUARDED_BY(mu) = CUPTI_SUCCESS;
  std::string holder ABSL_GUARDED_BY(mu);
  bool subscribed ABSL_GUARDED_BY(mu) = false;
  std::map<int, CUptiResult> enable_results ABSL_GUARDED_BY(mu);
  std::map<int, bool> enabled ABSL_GUARDED_BY(mu);
  CUpti_BuffersCallbackRequestFunc request ABSL_GUARDED_BY(mu) = nullptr;
  CUpti_BuffersCallbackCompleteFunc complete ABSL_GUARDED_BY(mu) = nullptr;
  std::deque<Filled> filled ABSL_GUARDED_BY(mu);
  size_t dropped ABSL_GUARDED_BY(mu) = 0;
  int flushes ABSL_GUARDED_BY(mu) = 0;
  int forced_flushes ABSL_GUARDED_BY(mu) = 0;
};

Mock& M() {
  static Mock* m = new Mock();
  return *m;
}

thread_local std::vector<uint64_t> external_stack;

int subscriber_token = 0;

}  // namespace

extern "C" {

void candor_mock_cupti_reset(void) {
  Mock& m = M();
  absl::MutexLock lock(&m.mu);
  m.version = 130001;
  m.subscribe_result = CUPTI_SUCCESS;
  m.holder.clear();
  m.subscribed = false;
  m.enable_results.clear();
  m.enabled.clear();
  m.request = nullptr;
  m.complete = nullptr;
  m.filled.clear();
  m.dropped = 0;
  m.flushes = 0;
  m.forced_flushes = 0;
}

void candor_mock_cupti_set_version(uint32_t version) {
  absl::MutexLock lock(&M().mu);
  M().version = version;
}

void candor_mock_cupti_set_subscribe_result(int result, const char* holder) {
  absl::MutexLock lock(&M().mu);
  M().subscribe_result = static_cast<CUptiResult>(result);
  M().holder = holder == nullptr ? "" : holder;
}

void candor_mock_cupti_set_enable_result(int kind, int result) {
  absl::MutexLock lock(&M().mu);
  M().enable_results[kind] = static_cast<CUptiResult>(result);
}

int candor_mock_cupti_fill(const uint8_t* bytes, size_t n) {
  CUpti_BuffersCallbackRequestFunc request;
  {
    absl::MutexLock lock(&M().mu);
    request = M().request;
  }
  if (request == nullptr) return -1;
  uint8_t* buffer = nullptr;
  size_t size = 0;
  size_t max_records = 0;
  request(&buffer, &size, &max_records);
  if (buffer == nullptr) return -1;
  if (size < n) {
    absl::MutexLock lock(&M().mu);
    M().filled.push_back(Filled{buffer, size, 0});
    return -1;
  }
  std::memcpy(buffer, bytes, n);
  absl::MutexLock lock(&M().mu);
  M().filled.push_back(Filled{buffer, size, n});
  return 0;
}

void candor_mock_cupti_add_dropped(size_t n) {
  absl::MutexLock lock(&M().mu);
  M().dropped += n;
}

int candor_mock_cupti_subscribed(void) {
  absl::MutexLock lock(&M().mu);
  return M().subscribed ? 1 : 0;
}

int candor_mock_cupti_enabled(int kind) {
  absl::MutexLock lock(&M().mu);
  auto it = M().enabled.find(kind);
  return it != M().enabled.end() && it->second ? 1 : 0;
}

int candor_mock_cupti_flush_calls(void) {
  absl::MutexLock lock(&M().mu);
  return M().flushes;
}

int candor_mock_cupti_forced_flush_calls(void) {
  absl::MutexLock lock(&M().mu);
  return M().forced_flushes;
}

size_t candor_mock_cupti_external_depth(void) { return external_stack.size(); }

uint64_t candor_mock_cupti_external_top(void) {
  return external_stack.empty() ? 0 : external_stack.back();
}

// --- The CUPTI entry points libcandor_cupti.so uses. ---

CUptiResult CUPTIAPI cuptiGetVersion(uint32_t* version) {
  if (version == nullptr) return CUPTI_ERROR_INVALID_PARAMETER;
  absl::MutexLock lock(&M().mu);
  *version = M().version;
  return CUPTI_SUCCESS;
}

CUptiResult CUPTIAPI cuptiGetResultString(CUptiResult result, const char** str) {
  if (str == nullptr) return CUPTI_ERROR_INVALID_PARAMETER;
  switch (result) {
    case CUPTI_SUCCESS:
      *str = "CUPTI_SUCCESS";
      break;
    case CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED:
      *str = "CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED";
      break;
    case CUPTI_ERROR_NOT_INITIALIZED:
      *str = "CUPTI_ERROR_NOT_INITIALIZED";
      break;
    default:
      *str = "CUPTI_ERROR_UNKNOWN";
      break;
  }
  return CUPTI_SUCCESS;
}

CUptiResult CUPTIAPI cuptiSubscribe_v2(CUpti_SubscriberHandle* subscriber, CUpti_CallbackFunc,
                                       void*, CUpti_SubscriberParams* params) {
  Mock& m = M();
  absl::MutexLock lock(&m.mu);
  if (params != nullptr && params->structSize < CUpti_SubscriberParams_STRUCT_SIZE) {
    return CUPTI_ERROR_INVALID_PARAMETER;
  }
  if (m.subscribe_result == CUPTI_SUCCESS && m.subscribed) {
    m.holder = "candor";
    if (params != nullptr && params->oldSubscriberName != nullptr) {
      std::strncpy(params->oldSubscriberName, m.holder.c_str(), params->oldSubscriberSize);
    }
    return CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED;
  }
  if (m.subscribe_result != CUPTI_SUCCESS) {
    if (params != nullptr && params->oldSubscriberName != nullptr &&
        params->oldSubscriberSize > 0) {
      std::strncpy(params->oldSubscriberName, m.holder.c_str(), params->oldSubscriberSize - 1);
      params->oldSubscriberName[params->oldSubscriberSize - 1] = '\0';
    }
    return m.subscribe_result;
  }
  m.subscribed = true;
  *subscriber = reinterpret_cast<CUpti_SubscriberHandle>(&subscriber_token);
  return CUPTI_SUCCESS;
}

CUptiResult CUPTIAPI cuptiUnsubscribe(CUpti_SubscriberHandle subscriber) {
  if (subscriber != reinterpret_cast<CUpti_SubscriberHandle>(&subscriber_token)) {
    return CUPTI_ERROR_INVALID_PARAMETER;
  }
  absl::MutexLock lock(&M().mu);
  M().subscribed = false;
  return CUPTI_SUCCESS;
}

CUptiResult CUPTIAPI cuptiActivityRegisterCallbacks(CUpti_BuffersCallbackRequestFunc request,
                                                    CUpti_BuffersCallbackCompleteFunc complete) {
  if (request == nullptr || complete == nullptr) return CUPTI_ERROR_INVALID_PARAMETER;
  absl::MutexLock lock(&M().mu);
  M().request = request;
  M().complete = complete;
  return CUPTI_SUCCESS;
}

CUptiResult CUPTIAPI cuptiActivityEnable(CUpti_ActivityKind kind) {
  Mock& m = M();
  absl::MutexLock lock(&m.mu);
  auto it = m.enable_results.find(kind);
  if (it != m.enable_results.end() && it->second != CUPTI_SUCCESS) return it->second;
  m.enabled[kind] = true;
  return CUPTI_SUCCESS;
}

CUptiResult CUPTIAPI cuptiActivityDisable(CUpti_ActivityKind kind) {
  absl::MutexLock lock(&M().mu);
  M().enabled[kind] = false;
  return CUPTI_SUCCESS;
}

CUptiResult CUPTIAPI cuptiActivityFlushAll(uint32_t flag) {
  std::deque<Filled> filled;
  CUpti_BuffersCallbackCompleteFunc complete;
  {
    Mock& m = M();
    absl::MutexLock lock(&m.mu);
    ++m.flushes;
    if ((flag & CUPTI_ACTIVITY_FLAG_FLUSH_FORCED) != 0) ++m.forced_flushes;
    filled.swap(m.filled);
    complete = m.complete;
  }
  for (const Filled& f : filled) {
    if (complete != nullptr) complete(nullptr, 0, f.buffer, f.size, f.valid);
  }
  return CUPTI_SUCCESS;
}

CUptiResult CUPTIAPI cuptiActivityGetNumDroppedRecords(CUcontext, uint32_t, size_t* dropped) {
  if (dropped == nullptr) return CUPTI_ERROR_INVALID_PARAMETER;
  absl::MutexLock lock(&M().mu);
  *dropped = M().dropped;
  M().dropped = 0;
  return CUPTI_SUCCESS;
}

CUptiResult CUPTIAPI cuptiActivityGetNextRecord(uint8_t* buffer, size_t valid,
                                                CUpti_Activity** record) {
  if (buffer == nullptr || record == nullptr) return CUPTI_ERROR_INVALID_PARAMETER;
  static auto* walker = new candor::cuda_profiler::PackedRecordIterator();
  uint8_t* r = reinterpret_cast<uint8_t*>(*record);
  switch (walker->Next(buffer, valid, &r)) {
    case candor::cuda_profiler::NextRecord::kRecord:
      *record = reinterpret_cast<CUpti_Activity*>(r);
      return CUPTI_SUCCESS;
    case candor::cuda_profiler::NextRecord::kEnd:
      return CUPTI_ERROR_MAX_LIMIT_REACHED;
    case candor::cuda_profiler::NextRecord::kInvalid:
      break;
  }
  return CUPTI_ERROR_INVALID_KIND;
}

CUptiResult CUPTIAPI cuptiActivityPushExternalCorrelationId(CUpti_ExternalCorrelationKind kind,
                                                            uint64_t id) {
  if (kind != CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0) return CUPTI_ERROR_INVALID_PARAMETER;
  {
    absl::MutexLock lock(&M().mu);
    if (!M().subscribed) return CUPTI_ERROR_NOT_INITIALIZED;
  }
  external_stack.push_back(id);
  return CUPTI_SUCCESS;
}

CUptiResult CUPTIAPI cuptiActivityPopExternalCorrelationId(CUpti_ExternalCorrelationKind kind,
                                                           uint64_t* last) {
  if (kind != CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0) return CUPTI_ERROR_INVALID_PARAMETER;
  if (external_stack.empty()) return CUPTI_ERROR_QUEUE_EMPTY;
  if (last != nullptr) *last = external_stack.back();
  external_stack.pop_back();
  return CUPTI_SUCCESS;
}

}  // extern "C"

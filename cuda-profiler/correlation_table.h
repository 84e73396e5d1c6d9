// A fixed-size map from CUPTI correlation ids to values, for joining records that refer to the
// same API call.
//
// CUPTI numbers API calls sequentially, so a direct-mapped table indexed by the id's low bits
// holds a sliding window over the latest `capacity` ids: O(1) with no allocation per record,
// and an old entry is simply overwritten by the id `capacity` calls later.
//
// Thread safety: not thread-safe.

#ifndef CANDOR_CUDA_PROFILER_CORRELATION_TABLE_H_
#define CANDOR_CUDA_PROFILER_CORRELATION_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace candor::cuda_profiler {

template <typename T>
class CorrelationTable {
 public:
  // `capacity` is rounded up to a power of two (at least 1).
  explicit CorrelationTable(size_t capacity) {
    size_t n = 1;
    while (n < capacity) n <<= 1;
    slots_.resize(n);
    mask_ = n - 1;
  }

  // The value stored for `id`, or null.
  const T* Find(uint32_t id) const {
    const Slot& s = slots_[id & mask_];
    return s.used && s.id == id ? &s.value : nullptr;
  }
  // Stores `value` for `id`, replacing whatever shared its slot.
  void Put(uint32_t id, const T& value) { slots_[id & mask_] = Slot{id, true, value}; }
  void Erase(uint32_t id) {
    Slot& s = slots_[id & mask_];
    if (s.used && s.id == id) s.used = false;
  }

 private:
  struct Slot {
    uint32_t id = 0;
    bool used = false;
    T value{};
  };
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

}  // namespace candor::cuda_profiler

#endif  // CANDOR_CUDA_PROFILER_CORRELATION_TABLE_H_

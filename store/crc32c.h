// CRC-32C (Castagnoli), the checksum of WAL records: hardware instructions when the CPU has
// SSE 4.2, a table otherwise. `MaskedCrc` stores checksums of data that may itself hold
// checksums (LevelDB's masking).
//
// Thread safety: pure functions.

#ifndef CANDOR_STORE_CRC32C_H_
#define CANDOR_STORE_CRC32C_H_

#include <cstdint>
#include <string_view>

namespace candor::store {

uint32_t Crc32c(std::string_view data, uint32_t init = 0);

inline uint32_t MaskCrc(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

}  // namespace candor::store

#endif  // CANDOR_STORE_CRC32C_H_

// Bit- and byte-level encoding primitives of the store's on-disk formats (store/FORMAT.md):
// an MSB-first bit writer/reader, LEB128 varints, zigzag, and big-endian fixed integers.
// Readers never trust their input: every read is bounds-checked and reports failure through
// `ok()` instead of reading past the end.
//
// Thread safety: none; each writer/reader is used by one thread.

#ifndef CANDOR_STORE_BITS_H_
#define CANDOR_STORE_BITS_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace candor::store {

inline uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t UnZigZag(uint64_t z) {
  return static_cast<int64_t>(z >> 1) ^ -static_cast<int64_t>(z & 1);
}

// Number of significant bits of `v` (0 for 0).
inline int BitLength(uint64_t v) { return v == 0 ? 0 : 64 - __builtin_clzll(v); }

inline void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(static_cast<uint8_t>(v) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// Reads a varint from the front of `*in`, advancing it. False on truncation or overlong input.
inline bool GetVarint(std::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64 && !in->empty(); shift += 7) {
    const auto byte = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

inline void PutFixed64BE(std::string* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>(v >> (8 * i)));
}
inline uint64_t DecodeFixed64BE(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
inline void PutFixed32LE(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
inline uint32_t DecodeFixed32LE(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
// Signed integers as order-preserving big-endian bytes (sign bit flipped).
inline void PutOrderedInt64(std::string* out, int64_t v) {
  PutFixed64BE(out, static_cast<uint64_t>(v) ^ (uint64_t{1} << 63));
}
inline int64_t DecodeOrderedInt64(const char* p) {
  return static_cast<int64_t>(DecodeFixed64BE(p) ^ (uint64_t{1} << 63));
}

inline uint64_t DoubleBits(double d) {
  uint64_t u;
  std::memcpy(&u, &d, sizeof(u));
  return u;
}
inline double BitsDouble(uint64_t u) {
  double d;
  std::memcpy(&d, &u, sizeof(d));
  return d;
}

class BitWriter {
 public:
  explicit BitWriter(std::string* out) : out_(out) {}
  ~BitWriter() { Flush(); }
  BitWriter(const BitWriter&) = delete;
  BitWriter& operator=(const BitWriter&) = delete;

  // Writes the low `n` bits of `v` (0 ≤ n ≤ 64), most significant first.
  void Write(uint64_t v, int n) {
    if (n == 0) return;
    if (n < 64) v &= (uint64_t{1} << n) - 1;
    const int space = 64 - fill_;
    if (n <= space) {
      acc_ |= (n == 64) ? v : (v << (space - n));
      fill_ += n;
      if (fill_ == 64) Spill();
      return;
    }
    acc_ |= v >> (n - space);
    fill_ = 64;
    Spill();
    const int rest = n - space;
    acc_ = v << (64 - rest);
    fill_ = rest;
  }
  void WriteBit(bool b) { Write(b ? 1 : 0, 1); }

  // A signed value as zigzag with a 7-bit length prefix: 7 + bits(zigzag) bits.
  void WriteSigned(int64_t v) {
    const uint64_t z = ZigZag(v);
    const int len = BitLength(z);
    Write(static_cast<uint64_t>(len), 7);
    Write(z, len);
  }

  // Pads to a byte boundary and appends the pending bytes to the output.
  void Flush() {
    const int bytes = (fill_ + 7) / 8;
    for (int i = 0; i < bytes; ++i) out_->push_back(static_cast<char>(acc_ >> (56 - 8 * i)));
    acc_ = 0;
    fill_ = 0;
  }

 private:
  void Spill() {
    for (int i = 0; i < 8; ++i) out_->push_back(static_cast<char>(acc_ >> (56 - 8 * i)));
    acc_ = 0;
    fill_ = 0;
  }

  std::string* out_;
  uint64_t acc_ = 0;
  int fill_ = 0;
};

// The k = 0 Rice codes (v one-bits, then a zero bit) that end within one byte, MSB first:
// how many, the bits they take, and their values (unused slots 0).
struct RiceByte {
  uint8_t count = 0;
  uint8_t bits = 0;
  uint8_t value[8] = {};
};
struct RiceByteTable {
  RiceByte entry[256];
  constexpr RiceByteTable() {
    for (int b = 0; b < 256; ++b) {
      RiceByte& e = entry[b];
      int ones = 0;
      for (int bit = 7; bit >= 0; --bit) {
        if ((b >> bit) & 1) {
          ++ones;
        } else {
          e.value[e.count++] = static_cast<uint8_t>(ones);
          e.bits = static_cast<uint8_t>(8 - bit);
          ones = 0;
        }
      }
    }
  }
};
inline constexpr RiceByteTable kRiceBytes;

class BitReader {
 public:
  explicit BitReader(std::string_view in) : data_(in) {}

  // Reads `n` bits (0 ≤ n ≤ 64). On overrun returns 0 and sets ok() to false.
  uint64_t Read(int n) {
    if (n == 0) return 0;
    if (n > avail_) {
      Refill();
      if (n > avail_) {
        if (n <= 56 || avail_ == 0) return Fail();
        // n > 56: take what is buffered, then the rest after a refill.
        const int first = avail_;
        const uint64_t hi = Read(first);
        const uint64_t lo = Read(n - first);
        return ok_ ? (hi << (n - first)) | lo : 0;
      }
    }
    const uint64_t v = (n == 64) ? acc_ : (acc_ >> (64 - n));
    acc_ = (n == 64) ? 0 : (acc_ << n);
    avail_ -= n;
    return v;
  }
  bool ReadBit() { return Read(1) != 0; }

  // Reads a unary count: 1-bits up to a terminating 0 (consumed), at most `max` of them (then
  // no terminator is read). Several bits at a time.
  int ReadUnary(int max) {
    int q = 0;
    while (q < max) {
      if (avail_ == 0) {
        Refill();
        if (avail_ == 0) {
          Fail();
          return q;
        }
      }
      const uint64_t inv = ~acc_;
      int ones = inv == 0 ? 64 : __builtin_clzll(inv);
      if (ones > avail_) ones = avail_;
      if (q + ones >= max) {
        Read(max - q);
        return max;
      }
      if (ones < avail_) {
        Read(ones + 1);
        return q + ones;
      }
      Read(ones);
      q += ones;
    }
    return q;
  }

  // Bulk reads of the packed blocks of store/FORMAT.md §3.1, with the reader's state kept in
  // registers (stores to `out` cannot alias it). Each stores n unsigned codes in `out` and
  // returns false on overrun or an escape length over 64.
  //
  // Rice codes with parameter k (0 ≤ k < 64): q one-bits, a zero bit, k low bits; when q reaches
  // `max_q`, the zero bit is absent and 7 bits L and an L-bit value follow instead.
  bool ReadRiceBlock(int k, int max_q, uint32_t n, uint64_t* out) {
    uint64_t acc = acc_;
    int avail = avail_;
    size_t pos = pos_;
    for (uint32_t i = 0; i < n; ++i) {
      if (avail <= 56) FastRefill(&acc, &avail, &pos);
      if (k == 0 && n - i >= 8 && avail >= 8) {
        // k = 0 codes are short (a value v takes v + 1 bits): decode every code that ends in
        // the next 8 bits with one table lookup.
        const RiceByte& e = kRiceBytes.entry[acc >> 56];
        if (e.count > 0) {
          for (int j = 0; j < 8; ++j) out[i + static_cast<uint32_t>(j)] = e.value[j];
          i += e.count - 1u;
          acc <<= e.bits;
          avail -= e.bits;
          continue;
        }
      }
      const uint64_t inv = ~acc;  // Bits past `avail` are zero in acc, so one here.
      const int ones = inv == 0 ? 64 : __builtin_clzll(inv);
      const int len = ones + 1 + k;
      if (ones < max_q && len <= avail && len < 64) [[likely]] {
        out[i] = (static_cast<uint64_t>(ones) << k) | (((acc << (ones + 1)) >> 1) >> (63 - k));
        acc <<= len;
        avail -= len;
        continue;
      }
      // An escape, or the last bytes of the input: the general reads.
      acc_ = acc;
      avail_ = avail;
      pos_ = pos;
      const int q = ReadUnary(max_q);
      uint64_t u;
      if (q < max_q) {
        u = (static_cast<uint64_t>(q) << k) | Read(k);
      } else {
        const int bits = static_cast<int>(Read(7));
        if (bits > 64) {
          Fail();
          return false;
        }
        u = Read(bits);
      }
      if (!ok_) return false;
      out[i] = u;
      acc = acc_;
      avail = avail_;
      pos = pos_;
    }
    acc_ = acc;
    avail_ = avail;
    pos_ = pos;
    return true;
  }

  // Fixed-width codes of 1 ≤ `width` ≤ 64 bits; below 64, the all-ones code is an escape
  // followed by 7 bits L and an L-bit value.
  bool ReadFixedBlock(int width, uint32_t n, uint64_t* out) {
    if (width > 56) {
      for (uint32_t i = 0; i < n; ++i) {
        uint64_t u = Read(width);
        if (width != 64 && u == (uint64_t{1} << width) - 1) {
          const int bits = static_cast<int>(Read(7));
          if (bits > 64) return Fail() != 0;
          u = Read(bits);
        }
        out[i] = u;
      }
      return ok_;
    }
    const uint64_t escape = (uint64_t{1} << width) - 1;
    uint64_t acc = acc_;
    int avail = avail_;
    size_t pos = pos_;
    for (uint32_t i = 0; i < n; ++i) {
      if (avail < width) {
        FastRefill(&acc, &avail, &pos);
        if (avail < width) {
          acc_ = acc;
          avail_ = avail;
          pos_ = pos;
          Refill();
          if (avail_ < width) return Fail() != 0;
          acc = acc_;
          avail = avail_;
          pos = pos_;
        }
      }
      uint64_t u = acc >> (64 - width);
      acc <<= width;
      avail -= width;
      if (u == escape) [[unlikely]] {
        acc_ = acc;
        avail_ = avail;
        pos_ = pos;
        const int bits = static_cast<int>(Read(7));
        if (bits > 64) return Fail() != 0;
        u = Read(bits);
        if (!ok_) return false;
        acc = acc_;
        avail = avail_;
        pos = pos_;
      }
      out[i] = u;
    }
    acc_ = acc;
    avail_ = avail;
    pos_ = pos;
    return true;
  }

  int64_t ReadSigned() {
    const int len = static_cast<int>(Read(7));
    if (len > 64) {
      Fail();
      return 0;
    }
    return UnZigZag(Read(len));
  }

  bool ok() const { return ok_; }
  // Bits not yet consumed (including buffered ones).
  int64_t remaining_bits() const { return avail_ + 8 * static_cast<int64_t>(data_.size() - pos_); }

 private:
  uint64_t Fail() {
    ok_ = false;
    avail_ = 0;
    acc_ = 0;
    pos_ = data_.size();
    return 0;
  }
  // With 8 bytes of input left, adds as many whole bytes as fit in 64 bits with one load
  // (avail ≤ 56 on entry). Bits past *avail stay zero. Otherwise leaves the state alone.
  void FastRefill(uint64_t* acc, int* avail, size_t* pos) const {
    if (data_.size() - *pos < 8) return;
    uint64_t w;
    std::memcpy(&w, data_.data() + *pos, sizeof(w));
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    const int bytes = (64 - *avail) >> 3;  // 1..8 whole bytes fit.
    *acc |= (w >> (64 - 8 * bytes)) << (64 - *avail - 8 * bytes);
    *pos += static_cast<size_t>(bytes);
    *avail += 8 * bytes;
  }

  // Tops the buffer up to at least 57 bits while input lasts. Bits past avail_ stay zero.
  void Refill() {
    if (avail_ <= 56) FastRefill(&acc_, &avail_, &pos_);
    while (avail_ <= 56 && pos_ < data_.size()) {
      acc_ |= static_cast<uint64_t>(static_cast<uint8_t>(data_[pos_++])) << (56 - avail_);
      avail_ += 8;
    }
  }

  std::string_view data_;
  size_t pos_ = 0;
  uint64_t acc_ = 0;  // Buffered bits, left-aligned.
  int avail_ = 0;
  bool ok_ = true;
};

}  // namespace candor::store

#endif  // CANDOR_STORE_BITS_H_

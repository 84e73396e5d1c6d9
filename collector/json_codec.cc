#include "collector/json_codec.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/reflection.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <memory>
#include <mutex>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "collector/jsonl.h"
#include "common/strings.h"

namespace candor::collector {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Field lookup by proto name or JSON name, per message type, built once.
class FieldIndex {
 public:
  static const FieldIndex& For(const Descriptor* d) {
    // Most lookups repeat the previous type; skip the shared cache's lock for them.
    thread_local const Descriptor* last = nullptr;
    thread_local const FieldIndex* last_index = nullptr;
    if (d == last) return *last_index;
    last = d;
    last_index = &Shared(d);
    return *last_index;
  }
  static const FieldIndex& Shared(const Descriptor* d) {
    static std::mutex mu;
    static auto* cache = new absl::flat_hash_map<const Descriptor*, std::unique_ptr<FieldIndex>>;
    std::lock_guard<std::mutex> lock(mu);
    auto& slot = (*cache)[d];
    if (slot == nullptr) slot = std::make_unique<FieldIndex>(d);
    return *slot;
  }
  explicit FieldIndex(const Descriptor* d) {
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      by_name_.emplace(f->name(), f);
      by_name_.emplace(f->json_name(), f);
    }
  }
  const FieldDescriptor* Find(std::string_view name) const {
    const auto it = by_name_.find(Sv(name));
    return it == by_name_.end() ? nullptr : it->second;
  }

 private:
  absl::flat_hash_map<std::string, const FieldDescriptor*> by_name_;
};

// Well-formed UTF-8 (no overlong forms, no surrogates, at most U+10FFFF).
bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int n = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + static_cast<size_t>(n) >= s.size()) return false;
    for (int k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += static_cast<size_t>(n) + 1;
  }
  return true;
}

// A strict JSON reader over one line that gives up (returns false) on anything unusual.
class FastParser {
 public:
  explicit FastParser(std::string_view s) : p_(s.data()), end_(s.data() + s.size()) {}

  bool Document(Message& m) {
    if (!Object(m, 0)) return false;
    SkipWs();
    return p_ == end_;
  }

 private:
  void SkipWs() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }
  bool Eat(char c) {
    SkipWs();
    if (p_ < end_ && *p_ == c) {
      ++p_;
      return true;
    }
    return false;
  }
  bool Peek(char c) {
    SkipWs();
    return p_ < end_ && *p_ == c;
  }

  static void AppendUtf8(uint32_t cp, std::string& out) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  bool Hex4(uint32_t& out) {
    if (end_ - p_ < 4) return false;
    out = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = *p_++;
      out <<= 4;
      if (c >= '0' && c <= '9') {
        out |= static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        out |= static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        out |= static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return false;
      }
    }
    return true;
  }

  bool String(std::string& out) {
    out.clear();
    if (!Eat('"')) return false;
    bool high = false;
    while (p_ < end_) {
      // Copy runs of plain characters at once.
      const char* run = p_;
      while (p_ < end_ && *p_ != '"' && *p_ != '\\' && static_cast<unsigned char>(*p_) >= 0x20 &&
             static_cast<unsigned char>(*p_) < 0x80) {
        ++p_;
      }
      if (p_ > run) out.append(run, static_cast<size_t>(p_ - run));
      if (p_ == end_) break;
      const char c = *p_++;
      if (c == '"') {
        return !high || ValidUtf8(out);
      }
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (static_cast<unsigned char>(c) >= 0x80) high = true;
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (p_ == end_) return false;
      switch (*p_++) {
        case '"':
          out.push_back('"');
          break;
        case '\\':
          out.push_back('\\');
          break;
        case '/':
          out.push_back('/');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          uint32_t cp = 0;
          if (!Hex4(cp)) return false;
          if (cp >= 0xDC00 && cp <= 0xDFFF) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t lo = 0;
            if (end_ - p_ < 6 || p_[0] != '\\' || p_[1] != 'u') return false;
            p_ += 2;
            if (!Hex4(lo) || lo < 0xDC00 || lo > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          if (cp == 0) return false;
          AppendUtf8(cp, out);
          if (cp >= 0x80) high = true;
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }

  // A JSON number token, checked against the JSON grammar; `integral` if it has no fraction
  // or exponent.
  bool Number(std::string_view& tok, bool& integral) {
    SkipWs();
    const char* start = p_;
    if (p_ < end_ && *p_ == '-') ++p_;
    if (p_ == end_ || *p_ < '0' || *p_ > '9') return false;
    if (*p_ == '0') {
      ++p_;
    } else {
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    integral = true;
    if (p_ < end_ && *p_ == '.') {
      integral = false;
      ++p_;
      if (p_ == end_ || *p_ < '0' || *p_ > '9') return false;
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      integral = false;
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ == end_ || *p_ < '0' || *p_ > '9') return false;
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    tok = std::string_view(start, static_cast<size_t>(p_ - start));
    return true;
  }

  // A decimal integer, as a JSON number or a quoted plain decimal string.
  bool Integer(std::string_view& tok) {
    if (Peek('"')) {
      if (!String(scratch_)) return false;
      if (scratch_.empty()) return false;
      const size_t digits_from = scratch_[0] == '-' ? 1 : 0;
      if (digits_from == scratch_.size()) return false;
      for (size_t i = digits_from; i < scratch_.size(); ++i) {
        if (scratch_[i] < '0' || scratch_[i] > '9') return false;
      }
      if (scratch_.size() - digits_from > 1 && scratch_[digits_from] == '0') return false;
      tok = scratch_;
      return true;
    }
    bool integral = false;
    return Number(tok, integral) && integral;
  }

  static bool ParseTimestamp(const std::string& s, int64_t& seconds, int32_t& nanos) {
    // YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|±HH:MM)
    const auto digits = [&](size_t at, size_t n, int64_t& v) {
      if (at + n > s.size()) return false;
      v = 0;
      for (size_t i = at; i < at + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
      }
      return true;
    };
    int64_t y, mo, d, h, mi, sec;
    if (!digits(0, 4, y) || s.size() < 20 || s[4] != '-' || !digits(5, 2, mo) || s[7] != '-' ||
        !digits(8, 2, d) || s[10] != 'T' || !digits(11, 2, h) || s[13] != ':' ||
        !digits(14, 2, mi) || s[16] != ':' || !digits(17, 2, sec)) {
      return false;
    }
    size_t i = 19;
    int64_t frac = 0;
    if (s[i] == '.') {
      size_t n = 0;
      ++i;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9' && n < 9) {
        frac = frac * 10 + (s[i] - '0');
        ++i;
        ++n;
      }
      if (n == 0 || (i < s.size() && s[i] >= '0' && s[i] <= '9')) return false;
      for (size_t k = n; k < 9; ++k) frac *= 10;
    }
    int64_t offset = 0;
    if (i < s.size() && s[i] == 'Z') {
      ++i;
    } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
      int64_t oh, om;
      if (!digits(i + 1, 2, oh) || i + 3 >= s.size() || s[i + 3] != ':' || !digits(i + 4, 2, om) ||
          oh > 23 || om > 59) {
        return false;
      }
      offset = (oh * 60 + om) * 60 * (s[i] == '-' ? -1 : 1);
      i += 6;
    } else {
      return false;
    }
    if (i != s.size() || y < 1 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59) {
      return false;
    }
    const absl::CivilSecond cs(y, static_cast<int>(mo), static_cast<int>(d), static_cast<int>(h),
                               static_cast<int>(mi), static_cast<int>(sec));
    if (cs.day() != d || cs.month() != mo) return false;  // e.g. February 30
    seconds = absl::ToUnixSeconds(absl::FromCivil(cs, absl::UTCTimeZone())) - offset;
    nanos = static_cast<int32_t>(frac);
    // 0001-01-01 to 9999-12-31, as protobuf requires.
    return seconds >= -62135596800 && seconds <= 253402300799;
  }

  bool Scalar(Message& m, const FieldDescriptor* f, bool repeated) {
    const Reflection* r = m.GetReflection();
    std::string_view tok;
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING: {
        if (f->type() == FieldDescriptor::TYPE_BYTES || !String(value_)) return false;
        repeated ? r->AddString(&m, f, value_) : r->SetString(&m, f, value_);
        return true;
      }
      case FieldDescriptor::CPPTYPE_BOOL: {
        SkipWs();
        bool v;
        if (end_ - p_ >= 4 && std::string_view(p_, 4) == "true") {
          v = true;
          p_ += 4;
        } else if (end_ - p_ >= 5 && std::string_view(p_, 5) == "false") {
          v = false;
          p_ += 5;
        } else {
          return false;
        }
        repeated ? r->AddBool(&m, f, v) : r->SetBool(&m, f, v);
        return true;
      }
      case FieldDescriptor::CPPTYPE_INT64:
      case FieldDescriptor::CPPTYPE_INT32: {
        int64_t v = 0;
        if (!Integer(tok) || !absl::SimpleAtoi(Sv(tok), &v)) return false;
        if (f->cpp_type() == FieldDescriptor::CPPTYPE_INT32) {
          if (v < INT32_MIN || v > INT32_MAX) return false;
          const auto v32 = static_cast<int32_t>(v);
          repeated ? r->AddInt32(&m, f, v32) : r->SetInt32(&m, f, v32);
        } else {
          repeated ? r->AddInt64(&m, f, v) : r->SetInt64(&m, f, v);
        }
        return true;
      }
      case FieldDescriptor::CPPTYPE_UINT64:
      case FieldDescriptor::CPPTYPE_UINT32: {
        uint64_t v = 0;
        if (!Integer(tok) || tok[0] == '-' || !absl::SimpleAtoi(Sv(tok), &v)) return false;
        if (f->cpp_type() == FieldDescriptor::CPPTYPE_UINT32) {
          if (v > UINT32_MAX) return false;
          const auto v32 = static_cast<uint32_t>(v);
          repeated ? r->AddUInt32(&m, f, v32) : r->SetUInt32(&m, f, v32);
        } else {
          repeated ? r->AddUInt64(&m, f, v) : r->SetUInt64(&m, f, v);
        }
        return true;
      }
      case FieldDescriptor::CPPTYPE_DOUBLE: {
        bool integral = false;
        double v = 0;
        if (!Number(tok, integral)) return false;
        const auto res = std::from_chars(tok.data(), tok.data() + tok.size(), v);
        if (res.ec != std::errc() || res.ptr != tok.data() + tok.size() || !std::isfinite(v)) {
          return false;
        }
        repeated ? r->AddDouble(&m, f, v) : r->SetDouble(&m, f, v);
        return true;
      }
      case FieldDescriptor::CPPTYPE_ENUM: {
        if (!Peek('"') || !String(value_)) return false;
        const auto* ev = f->enum_type()->FindValueByName(value_);
        if (ev == nullptr) return false;
        repeated ? r->AddEnumValue(&m, f, ev->number()) : r->SetEnumValue(&m, f, ev->number());
        return true;
      }
      default:
        return false;
    }
  }

  bool MapField(Message& m, const FieldDescriptor* f) {
    const Descriptor* entry = f->message_type();
    const FieldDescriptor* key = entry->map_key();
    const FieldDescriptor* val = entry->map_value();
    if (key->cpp_type() != FieldDescriptor::CPPTYPE_STRING ||
        val->cpp_type() != FieldDescriptor::CPPTYPE_STRING || !Eat('{')) {
      return false;
    }
    const Reflection* r = m.GetReflection();
    std::vector<std::string> seen;
    if (Eat('}')) return true;
    do {
      std::string k;
      if (!String(k) || !Eat(':') || !String(value_)) return false;
      for (const std::string& s : seen) {
        if (s == k) return false;
      }
      Message* e = r->AddMessage(&m, f);
      e->GetReflection()->SetString(e, key, k);
      e->GetReflection()->SetString(e, val, value_);
      seen.push_back(std::move(k));
    } while (Eat(','));
    return Eat('}');
  }

  bool Value(Message& m, const FieldDescriptor* f, int depth) {
    if (Peek('n')) return false;  // null: let the canonical parser decide what it means.
    if (f->is_map()) return MapField(m, f);
    const Reflection* r = m.GetReflection();
    if (f->is_repeated()) {
      if (!Eat('[')) return false;
      if (Eat(']')) return true;
      do {
        if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
          if (!Object(*r->AddMessage(&m, f), depth + 1)) return false;
        } else if (!Scalar(m, f, true)) {
          return false;
        }
      } while (Eat(','));
      return Eat(']');
    }
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) return Scalar(m, f, false);
    if (f->message_type()->full_name() == "google.protobuf.Timestamp") {
      int64_t seconds = 0;
      int32_t nanos = 0;
      if (!Peek('"') || !String(value_) || !ParseTimestamp(value_, seconds, nanos)) return false;
      Message* ts = r->MutableMessage(&m, f);
      const Descriptor* d = ts->GetDescriptor();
      ts->GetReflection()->SetInt64(ts, d->FindFieldByName("seconds"), seconds);
      ts->GetReflection()->SetInt32(ts, d->FindFieldByName("nanos"), nanos);
      return true;
    }
    if (f->message_type()->file()->package() == "google.protobuf") return false;
    return Object(*r->MutableMessage(&m, f), depth + 1);
  }

  bool Object(Message& m, int depth) {
    if (depth > 8 || !Eat('{')) return false;
    const FieldIndex& index = FieldIndex::For(m.GetDescriptor());
    // Fields and oneofs already given, by index (duplicates go to the canonical parser).
    uint64_t seen_fields = 0;
    uint64_t seen_oneofs = 0;
    if (Eat('}')) return true;
    do {
      if (!String(key_) || !Eat(':')) return false;
      const FieldDescriptor* f = index.Find(key_);
      if (f == nullptr || f->index() >= 64) return false;
      const uint64_t bit = uint64_t{1} << f->index();
      if ((seen_fields & bit) != 0) return false;
      seen_fields |= bit;
      if (const auto* oneof = f->real_containing_oneof(); oneof != nullptr) {
        if (oneof->index() >= 64) return false;
        const uint64_t obit = uint64_t{1} << oneof->index();
        if ((seen_oneofs & obit) != 0) return false;
        seen_oneofs |= obit;
      }
      if (!Value(m, f, depth)) return false;
    } while (Eat(','));
    return Eat('}');
  }

  const char* p_;
  const char* end_;
  std::string scratch_;
  std::string value_;
  std::string key_;
};

}  // namespace

bool FastDecodeIngestItemJson(std::string_view line, candor::v1::IngestItem& out) {
  out.Clear();
  FastParser parser(line);
  return parser.Document(out) && out.item_case() != candor::v1::IngestItem::ITEM_NOT_SET;
}

absl::StatusOr<candor::v1::IngestItem> DecodeIngestItemJson(std::string_view line) {
  candor::v1::IngestItem item;
  if (FastDecodeIngestItemJson(line, item)) return item;
  return ParseIngestItemJson(line);
}

}  // namespace candor::collector

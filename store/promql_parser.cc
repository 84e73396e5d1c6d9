#include <cmath>
#include <cstdlib>
#include <limits>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/labels.h"
#include "common/status.h"
#include "common/strings.h"
#include "store/promql.h"

namespace candor::store {
namespace {

enum class Tok {
  kEof,
  kIdent,
  kNumber,
  kString,
  kDuration,
  kLParen,
  kRParen,
  kLBrace,
  kRBrace,
  kLBracket,
  kRBracket,
  kComma,
  kColon,
  kAt,
  kAssign,
  kEqlRegex,
  kNeqRegex,
  kNeq,
  kEql,
  kLt,
  kLe,
  kGt,
  kGe,
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kPow,
};

struct Token {
  Tok kind = Tok::kEof;
  std::string text;
  double number = 0;
  int64_t duration_ms = 0;
  size_t pos = 0;
};

bool IsIdentStart(char c) {
  return absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}
bool IsIdentChar(char c) {
  return IsIdentStart(c) || absl::ascii_isdigit(static_cast<unsigned char>(c));
}

absl::Status ParseError(size_t pos, std::string_view msg) {
  return absl::InvalidArgumentError(absl::StrCat("1:", pos + 1, ": parse error: ", Sv(msg)));
}

// Milliseconds per duration unit, or 0.
int64_t UnitMs(std::string_view u) {
  if (u == "ms") return 1;
  if (u == "s") return 1000;
  if (u == "m") return 60'000;
  if (u == "h") return 3'600'000;
  if (u == "d") return 86'400'000;
  if (u == "w") return 7 * 86'400'000LL;
  if (u == "y") return 365 * 86'400'000LL;
  return 0;
}

// Reads "1h30m" style durations at text[*pos]; false if there is none there.
bool ScanDuration(std::string_view text, size_t* pos, int64_t* ms) {
  size_t p = *pos;
  int64_t total = 0;
  bool any = false;
  while (p < text.size() && absl::ascii_isdigit(static_cast<unsigned char>(text[p]))) {
    size_t q = p;
    int64_t n = 0;
    while (q < text.size() && absl::ascii_isdigit(static_cast<unsigned char>(text[q]))) {
      if (n > (std::numeric_limits<int64_t>::max() / 10) - 10) return false;
      n = n * 10 + (text[q] - '0');
      ++q;
    }
    size_t u = q;
    while (u < text.size() && absl::ascii_isalpha(static_cast<unsigned char>(text[u]))) ++u;
    std::string_view unit = text.substr(q, u - q);
    // "ms" vs "m" followed by another component: take the longest known unit.
    int64_t unit_ms = UnitMs(unit);
    if (unit_ms == 0 && unit.size() > 1 && UnitMs(unit.substr(0, 2)) != 0) {
      unit = unit.substr(0, 2);
      unit_ms = UnitMs(unit);
    }
    if (unit_ms == 0 && !unit.empty() && UnitMs(unit.substr(0, 1)) != 0) {
      unit = unit.substr(0, 1);
      unit_ms = UnitMs(unit);
    }
    if (unit_ms == 0) break;
    total += n * unit_ms;
    any = true;
    p = q + unit.size();
  }
  if (!any) return false;
  *pos = p;
  *ms = total;
  return true;
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  absl::StatusOr<Token> Next() {
    while (pos_ < text_.size() && absl::ascii_isspace(static_cast<unsigned char>(text_[pos_])))
      ++pos_;
    if (pos_ < text_.size() && text_[pos_] == '#') {  // Comment to end of line.
      while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      return Next();
    }
    Token t;
    t.pos = pos_;
    if (pos_ >= text_.size()) return t;
    const char c = text_[pos_];
    auto two = [&](char next) { return pos_ + 1 < text_.size() && text_[pos_ + 1] == next; };
    auto single = [&](Tok k, size_t n) {
      t.kind = k;
      t.text = std::string(text_.substr(pos_, n));
      pos_ += n;
      return t;
    };
    switch (c) {
      case '(':
        return single(Tok::kLParen, 1);
      case ')':
        return single(Tok::kRParen, 1);
      case '{':
        return single(Tok::kLBrace, 1);
      case '}':
        return single(Tok::kRBrace, 1);
      case '[':
        return single(Tok::kLBracket, 1);
      case ']':
        return single(Tok::kRBracket, 1);
      case ',':
        return single(Tok::kComma, 1);
      case ':':
        if (!(pos_ + 1 < text_.size() && IsIdentChar(text_[pos_ + 1])))
          return single(Tok::kColon, 1);
        break;
      case '@':
        return single(Tok::kAt, 1);
      case '+':
        return single(Tok::kAdd, 1);
      case '-':
        return single(Tok::kSub, 1);
      case '*':
        return single(Tok::kMul, 1);
      case '/':
        return single(Tok::kDiv, 1);
      case '%':
        return single(Tok::kMod, 1);
      case '^':
        return single(Tok::kPow, 1);
      case '=':
        if (two('=')) return single(Tok::kEql, 2);
        if (two('~')) return single(Tok::kEqlRegex, 2);
        return single(Tok::kAssign, 1);
      case '!':
        if (two('=')) return single(Tok::kNeq, 2);
        if (two('~')) return single(Tok::kNeqRegex, 2);
        return ParseError(pos_, "unexpected character after '!'");
      case '<':
        if (two('=')) return single(Tok::kLe, 2);
        return single(Tok::kLt, 1);
      case '>':
        if (two('=')) return single(Tok::kGe, 2);
        return single(Tok::kGt, 1);
      case '"':
      case '\'':
      case '`':
        return String(c);
      default:
        break;
    }
    if (absl::ascii_isdigit(static_cast<unsigned char>(c)) ||
        (c == '.' && pos_ + 1 < text_.size() &&
         absl::ascii_isdigit(static_cast<unsigned char>(text_[pos_ + 1])))) {
      size_t p = pos_;
      int64_t ms = 0;
      if (ScanDuration(text_, &p, &ms) &&
          (p >= text_.size() || !IsIdentChar(text_[p]) || text_[p] == ':')) {
        t.kind = Tok::kDuration;
        t.duration_ms = ms;
        t.text = std::string(text_.substr(pos_, p - pos_));
        pos_ = p;
        return t;
      }
      const char* begin = text_.data() + pos_;
      char* end = nullptr;
      const std::string copy(text_.substr(pos_));
      const double v = std::strtod(copy.c_str(), &end);
      const size_t n = static_cast<size_t>(end - copy.c_str());
      if (n == 0) return ParseError(pos_, "bad number");
      t.kind = Tok::kNumber;
      t.number = v;
      t.text = std::string(begin, n);
      pos_ += n;
      if (pos_ < text_.size() && IsIdentChar(text_[pos_])) {
        return ParseError(pos_, absl::StrCat("bad number or duration syntax: \"", t.text,
                                             std::string(1, text_[pos_]), "\""));
      }
      return t;
    }
    if (IsIdentStart(c)) {
      size_t p = pos_;
      while (p < text_.size() && IsIdentChar(text_[p])) ++p;
      t.kind = Tok::kIdent;
      t.text = std::string(text_.substr(pos_, p - pos_));
      pos_ = p;
      const std::string lower = absl::AsciiStrToLower(t.text);
      if (lower == "inf" || lower == "nan") {
        t.kind = Tok::kNumber;
        t.number = lower == "inf" ? std::numeric_limits<double>::infinity()
                                  : std::numeric_limits<double>::quiet_NaN();
      }
      return t;
    }
    return ParseError(pos_, absl::StrCat("unexpected character: '", std::string(1, c), "'"));
  }

 private:
  absl::StatusOr<Token> String(char quote) {
    Token t;
    t.pos = pos_;
    t.kind = Tok::kString;
    size_t p = pos_ + 1;
    while (true) {
      if (p >= text_.size()) return ParseError(pos_, "unterminated quoted string");
      const char c = text_[p];
      if (c == quote) break;
      if (c == '\\' && quote != '`') {
        if (p + 1 >= text_.size()) return ParseError(p, "unterminated escape");
        const char e = text_[p + 1];
        p += 2;
        switch (e) {
          case 'n':
            t.text.push_back('\n');
            break;
          case 't':
            t.text.push_back('\t');
            break;
          case 'r':
            t.text.push_back('\r');
            break;
          case 'a':
            t.text.push_back('\a');
            break;
          case 'b':
            t.text.push_back('\b');
            break;
          case 'f':
            t.text.push_back('\f');
            break;
          case 'v':
            t.text.push_back('\v');
            break;
          case '\\':
            t.text.push_back('\\');
            break;
          case '"':
            t.text.push_back('"');
            break;
          case '\'':
            t.text.push_back('\'');
            break;
          case 'x':
          case 'u':
          case 'U': {
            const size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
            if (p + n > text_.size()) return ParseError(p, "bad escape");
            uint32_t cp = 0;
            for (size_t i = 0; i < n; ++i) {
              const char h = text_[p + i];
              if (!absl::ascii_isxdigit(static_cast<unsigned char>(h)))
                return ParseError(p, "bad escape");
              cp = cp * 16 +
                   static_cast<uint32_t>(
                       absl::ascii_isdigit(static_cast<unsigned char>(h))
                           ? h - '0'
                           : (absl::ascii_tolower(static_cast<unsigned char>(h)) - 'a' + 10));
            }
            p += n;
            if (e == 'x') {
              t.text.push_back(static_cast<char>(cp));
            } else if (cp < 0x80) {
              t.text.push_back(static_cast<char>(cp));
            } else if (cp < 0x800) {
              t.text.push_back(static_cast<char>(0xc0 | (cp >> 6)));
              t.text.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
            } else if (cp < 0x10000) {
              t.text.push_back(static_cast<char>(0xe0 | (cp >> 12)));
              t.text.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
              t.text.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
            } else if (cp <= 0x10ffff) {
              t.text.push_back(static_cast<char>(0xf0 | (cp >> 18)));
              t.text.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
              t.text.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
              t.text.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
            } else {
              return ParseError(p, "bad escape");
            }
            break;
          }
          default:
            return ParseError(p - 1,
                              absl::StrCat("unknown escape sequence '", std::string(1, e), "'"));
        }
        continue;
      }
      t.text.push_back(c);
      ++p;
    }
    pos_ = p + 1;
    return t;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

struct FuncSig {
  std::vector<ValueType> args;
  int min_args;   // Optional trailing args beyond this.
  bool variadic;  // The last arg type repeats.
  ValueType ret;
};

const absl::flat_hash_map<std::string, FuncSig>& Functions() {
  static const auto* const kFuncs = [] {
    using V = ValueType;
    auto* m = new absl::flat_hash_map<std::string, FuncSig>();
    for (const char* f : {"rate", "increase", "irate", "delta", "idelta", "resets", "changes",
                          "deriv", "avg_over_time", "min_over_time", "max_over_time",
                          "sum_over_time", "count_over_time", "last_over_time", "stddev_over_time",
                          "stdvar_over_time", "present_over_time", "absent_over_time"}) {
      (*m)[f] = {{V::kMatrix}, 1, false, V::kVector};
    }
    (*m)["quantile_over_time"] = {{V::kScalar, V::kMatrix}, 2, false, V::kVector};
    (*m)["predict_linear"] = {{V::kMatrix, V::kScalar}, 2, false, V::kVector};
    (*m)["histogram_quantile"] = {{V::kScalar, V::kVector}, 2, false, V::kVector};
    (*m)["histogram_fraction"] = {{V::kScalar, V::kScalar, V::kVector}, 3, false, V::kVector};
    for (const char* f :
         {"histogram_count", "histogram_sum", "abs", "ceil", "floor", "exp", "ln", "log2", "log10",
          "sqrt", "sgn", "absent", "timestamp", "sort", "sort_desc"}) {
      (*m)[f] = {{V::kVector}, 1, false, V::kVector};
    }
    (*m)["round"] = {{V::kVector, V::kScalar}, 1, false, V::kVector};
    (*m)["clamp"] = {{V::kVector, V::kScalar, V::kScalar}, 3, false, V::kVector};
    (*m)["clamp_min"] = {{V::kVector, V::kScalar}, 2, false, V::kVector};
    (*m)["clamp_max"] = {{V::kVector, V::kScalar}, 2, false, V::kVector};
    (*m)["label_replace"] = {
        {V::kVector, V::kString, V::kString, V::kString, V::kString}, 5, false, V::kVector};
    (*m)["label_join"] = {{V::kVector, V::kString, V::kString, V::kString}, 3, true, V::kVector};
    (*m)["scalar"] = {{V::kVector}, 1, false, V::kScalar};
    (*m)["vector"] = {{V::kScalar}, 1, false, V::kVector};
    (*m)["time"] = {{}, 0, false, V::kScalar};
    for (const char* f : {"minute", "hour", "day_of_week", "day_of_month", "day_of_year",
                          "days_in_month", "month", "year"}) {
      (*m)[f] = {{V::kVector}, 0, false, V::kVector};
    }
    return m;
  }();
  return *kFuncs;
}

bool IsAggregator(std::string_view s) {
  static constexpr std::string_view kAggs[] = {"sum",  "avg",     "count",    "min",
                                               "max",  "group",   "stddev",   "stdvar",
                                               "topk", "bottomk", "quantile", "count_values"};
  for (auto a : kAggs) {
    if (a == s) return true;
  }
  return false;
}

bool AggregatorTakesParam(std::string_view s) {
  return s == "topk" || s == "bottomk" || s == "quantile" || s == "count_values";
}

int Precedence(BinaryOp op) {
  switch (op) {
    case BinaryOp::kOr:
      return 1;
    case BinaryOp::kAnd:
    case BinaryOp::kUnless:
      return 2;
    case BinaryOp::kEq:
    case BinaryOp::kNe:
    case BinaryOp::kGt:
    case BinaryOp::kLt:
    case BinaryOp::kGe:
    case BinaryOp::kLe:
      return 3;
    case BinaryOp::kAdd:
    case BinaryOp::kSub:
      return 4;
    case BinaryOp::kMul:
    case BinaryOp::kDiv:
    case BinaryOp::kMod:
      return 5;
    case BinaryOp::kPow:
      return 6;
  }
  return 0;
}

bool IsComparison(BinaryOp op) { return Precedence(op) == 3; }
bool IsSetOp(BinaryOp op) {
  return op == BinaryOp::kAnd || op == BinaryOp::kOr || op == BinaryOp::kUnless;
}

const char* OpText(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd:
      return "+";
    case BinaryOp::kSub:
      return "-";
    case BinaryOp::kMul:
      return "*";
    case BinaryOp::kDiv:
      return "/";
    case BinaryOp::kMod:
      return "%";
    case BinaryOp::kPow:
      return "^";
    case BinaryOp::kEq:
      return "==";
    case BinaryOp::kNe:
      return "!=";
    case BinaryOp::kGt:
      return ">";
    case BinaryOp::kLt:
      return "<";
    case BinaryOp::kGe:
      return ">=";
    case BinaryOp::kLe:
      return "<=";
    case BinaryOp::kAnd:
      return "and";
    case BinaryOp::kOr:
      return "or";
    case BinaryOp::kUnless:
      return "unless";
  }
  return "?";
}

class Parser {
 public:
  explicit Parser(std::string_view text) : lexer_(text), text_(text) {}

  absl::StatusOr<ExprPtr> ParseTop() {
    CANDOR_RETURN_IF_ERROR(Advance());
    CANDOR_ASSIGN_OR_RETURN(ExprPtr e, ParseExpr(0));
    if (tok_.kind != Tok::kEof) {
      return ParseError(tok_.pos, absl::StrCat("unexpected ", Describe(tok_)));
    }
    return e;
  }

  absl::StatusOr<std::vector<LabelMatcher>> ParseSelectorOnly() {
    CANDOR_RETURN_IF_ERROR(Advance());
    CANDOR_ASSIGN_OR_RETURN(ExprPtr e, ParsePrimary());
    if (e->kind != ExprKind::kVectorSelector || tok_.kind != Tok::kEof) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid series selector \"", Sv(text_), "\""));
    }
    return std::move(e->matchers);
  }

 private:
  static std::string Describe(const Token& t) {
    switch (t.kind) {
      case Tok::kEof:
        return "end of input";
      case Tok::kIdent:
        return absl::StrCat("identifier \"", t.text, "\"");
      case Tok::kNumber:
        return absl::StrCat("number \"", t.text, "\"");
      case Tok::kString:
        return "string";
      case Tok::kDuration:
        return absl::StrCat("duration \"", t.text, "\"");
      default:
        return absl::StrCat("\"", t.text, "\"");
    }
  }

  absl::Status Advance() {
    CANDOR_ASSIGN_OR_RETURN(tok_, lexer_.Next());
    return absl::OkStatus();
  }

  absl::Status Expect(Tok kind, std::string_view what) {
    if (tok_.kind != kind) {
      return ParseError(tok_.pos,
                        absl::StrCat("unexpected ", Describe(tok_), ", expected ", Sv(what)));
    }
    return Advance();
  }

  bool PeekBinaryOp(BinaryOp* op) const {
    switch (tok_.kind) {
      case Tok::kAdd:
        *op = BinaryOp::kAdd;
        return true;
      case Tok::kSub:
        *op = BinaryOp::kSub;
        return true;
      case Tok::kMul:
        *op = BinaryOp::kMul;
        return true;
      case Tok::kDiv:
        *op = BinaryOp::kDiv;
        return true;
      case Tok::kMod:
        *op = BinaryOp::kMod;
        return true;
      case Tok::kPow:
        *op = BinaryOp::kPow;
        return true;
      case Tok::kEql:
        *op = BinaryOp::kEq;
        return true;
      case Tok::kNeq:
        *op = BinaryOp::kNe;
        return true;
      case Tok::kGt:
        *op = BinaryOp::kGt;
        return true;
      case Tok::kLt:
        *op = BinaryOp::kLt;
        return true;
      case Tok::kGe:
        *op = BinaryOp::kGe;
        return true;
      case Tok::kLe:
        *op = BinaryOp::kLe;
        return true;
      case Tok::kIdent: {
        const std::string l = absl::AsciiStrToLower(tok_.text);
        if (l == "and") {
          *op = BinaryOp::kAnd;
          return true;
        }
        if (l == "or") {
          *op = BinaryOp::kOr;
          return true;
        }
        if (l == "unless") {
          *op = BinaryOp::kUnless;
          return true;
        }
        return false;
      }
      default:
        return false;
    }
  }

  absl::StatusOr<std::vector<std::string>> ParseLabelList() {
    CANDOR_RETURN_IF_ERROR(Expect(Tok::kLParen, "\"(\""));
    std::vector<std::string> out;
    while (tok_.kind != Tok::kRParen) {
      if (tok_.kind != Tok::kIdent || !IsValidLabelName(tok_.text)) {
        return ParseError(tok_.pos, absl::StrCat("unexpected ", Describe(tok_),
                                                 " in grouping opts, expected label"));
      }
      out.push_back(tok_.text);
      CANDOR_RETURN_IF_ERROR(Advance());
      if (tok_.kind == Tok::kComma) {
        CANDOR_RETURN_IF_ERROR(Advance());
      } else if (tok_.kind != Tok::kRParen) {
        return ParseError(tok_.pos, absl::StrCat("unexpected ", Describe(tok_),
                                                 " in grouping opts, expected \",\" or \")\""));
      }
    }
    CANDOR_RETURN_IF_ERROR(Advance());
    return out;
  }

  absl::StatusOr<ExprPtr> ParseExpr(int min_prec) {
    CANDOR_ASSIGN_OR_RETURN(ExprPtr lhs, ParseUnary());
    while (true) {
      BinaryOp op;
      if (!PeekBinaryOp(&op) || Precedence(op) < min_prec) break;
      const size_t pos = tok_.pos;
      CANDOR_RETURN_IF_ERROR(Advance());
      auto e = std::make_unique<Expr>();
      e->kind = ExprKind::kBinary;
      e->op = op;
      if (tok_.kind == Tok::kIdent && absl::AsciiStrToLower(tok_.text) == "bool") {
        if (!IsComparison(op))
          return ParseError(tok_.pos, "bool modifier can only be used on comparison operators");
        e->return_bool = true;
        CANDOR_RETURN_IF_ERROR(Advance());
      }
      if (tok_.kind == Tok::kIdent && (tok_.text == "on" || tok_.text == "ignoring")) {
        e->matching.on = tok_.text == "on";
        CANDOR_RETURN_IF_ERROR(Advance());
        CANDOR_ASSIGN_OR_RETURN(e->matching.labels, ParseLabelList());
        if (tok_.kind == Tok::kIdent && (tok_.text == "group_left" || tok_.text == "group_right")) {
          e->matching.card =
              tok_.text == "group_left" ? Cardinality::kManyToOne : Cardinality::kOneToMany;
          CANDOR_RETURN_IF_ERROR(Advance());
          if (tok_.kind == Tok::kLParen) {
            CANDOR_ASSIGN_OR_RETURN(e->matching.include, ParseLabelList());
          }
        }
      }
      // ^ is right-associative; everything else is left-associative.
      const int next = op == BinaryOp::kPow ? Precedence(op) : Precedence(op) + 1;
      CANDOR_ASSIGN_OR_RETURN(ExprPtr rhs, ParseExpr(next));
      e->args.push_back(std::move(lhs));
      e->args.push_back(std::move(rhs));
      CANDOR_RETURN_IF_ERROR(CheckBinary(e.get(), pos));
      lhs = std::move(e);
    }
    return lhs;
  }

  absl::Status CheckBinary(Expr* e, size_t pos) {
    const ValueType l = e->args[0]->type;
    const ValueType r = e->args[1]->type;
    for (ValueType t : {l, r}) {
      if (t != ValueType::kScalar && t != ValueType::kVector) {
        return ParseError(
            pos,
            absl::StrCat("binary expression must contain only scalar and instant vector types"));
      }
    }
    if (IsSetOp(e->op)) {
      if (l != ValueType::kVector || r != ValueType::kVector) {
        return ParseError(pos, absl::StrCat("set operator \"", OpText(e->op),
                                            "\" not allowed in binary scalar expression"));
      }
      e->matching.card = Cardinality::kManyToMany;
    }
    if (IsComparison(e->op) && l == ValueType::kScalar && r == ValueType::kScalar &&
        !e->return_bool) {
      return ParseError(pos, "comparisons between scalars must use BOOL modifier");
    }
    if ((l != ValueType::kVector || r != ValueType::kVector) &&
        (!e->matching.labels.empty() || e->matching.on)) {
      return ParseError(pos, "vector matching only allowed between instant vectors");
    }
    if (!e->matching.include.empty() || e->matching.card == Cardinality::kManyToOne ||
        e->matching.card == Cardinality::kOneToMany) {
      if (IsSetOp(e->op))
        return ParseError(pos, "no grouping allowed for \"and\", \"or\", \"unless\" operations");
    }
    e->type = (l == ValueType::kScalar && r == ValueType::kScalar) ? ValueType::kScalar
                                                                   : ValueType::kVector;
    return absl::OkStatus();
  }

  absl::StatusOr<ExprPtr> ParseUnary() {
    if (tok_.kind == Tok::kSub || tok_.kind == Tok::kAdd) {
      const bool neg = tok_.kind == Tok::kSub;
      const size_t pos = tok_.pos;
      CANDOR_RETURN_IF_ERROR(Advance());
      // Unary minus binds looser than ^ (so -2^2 is -4).
      CANDOR_ASSIGN_OR_RETURN(ExprPtr operand, ParseExpr(Precedence(BinaryOp::kPow)));
      if (operand->type != ValueType::kScalar && operand->type != ValueType::kVector) {
        return ParseError(
            pos, "unary expression only allowed on expressions of type scalar or instant vector");
      }
      if (!neg) return operand;
      if (operand->kind == ExprKind::kNumber) {
        operand->number = -operand->number;
        return operand;
      }
      auto e = std::make_unique<Expr>();
      e->kind = ExprKind::kUnaryMinus;
      e->type = operand->type;
      e->args.push_back(std::move(operand));
      return e;
    }
    CANDOR_ASSIGN_OR_RETURN(ExprPtr e, ParsePrimary());
    return ParsePostfix(std::move(e));
  }

  absl::StatusOr<ExprPtr> ParsePostfix(ExprPtr e) {
    while (true) {
      if (tok_.kind == Tok::kLBracket) {
        const size_t pos = tok_.pos;
        CANDOR_RETURN_IF_ERROR(Advance());
        if (tok_.kind != Tok::kDuration) {
          return ParseError(tok_.pos, absl::StrCat("unexpected ", Describe(tok_),
                                                   " in range, expected duration"));
        }
        const int64_t range = tok_.duration_ms;
        CANDOR_RETURN_IF_ERROR(Advance());
        if (tok_.kind == Tok::kColon || (tok_.kind == Tok::kIdent && tok_.text[0] == ':')) {
          return ParseError(tok_.pos, "subqueries are not supported by candor");
        }
        CANDOR_RETURN_IF_ERROR(Expect(Tok::kRBracket, "\"]\""));
        if (e->kind != ExprKind::kVectorSelector || e->offset_ms != 0) {
          return ParseError(pos, "ranges only allowed for vector selectors");
        }
        if (range <= 0) return ParseError(pos, "range must be positive");
        e->kind = ExprKind::kMatrixSelector;
        e->type = ValueType::kMatrix;
        e->range_ms = range;
        continue;
      }
      if (tok_.kind == Tok::kIdent && tok_.text == "offset") {
        const size_t pos = tok_.pos;
        CANDOR_RETURN_IF_ERROR(Advance());
        bool neg = false;
        if (tok_.kind == Tok::kSub) {
          neg = true;
          CANDOR_RETURN_IF_ERROR(Advance());
        }
        if (tok_.kind != Tok::kDuration)
          return ParseError(tok_.pos, "unexpected token in offset, expected duration");
        if (e->kind != ExprKind::kVectorSelector && e->kind != ExprKind::kMatrixSelector) {
          return ParseError(pos,
                            "offset modifier must be preceded by an instant vector selector or "
                            "range vector selector");
        }
        e->offset_ms = neg ? -tok_.duration_ms : tok_.duration_ms;
        CANDOR_RETURN_IF_ERROR(Advance());
        continue;
      }
      if (tok_.kind == Tok::kAt)
        return ParseError(tok_.pos, "the @ modifier is not supported by candor");
      return e;
    }
  }

  absl::StatusOr<ExprPtr> ParsePrimary() {
    auto e = std::make_unique<Expr>();
    switch (tok_.kind) {
      case Tok::kNumber:
        e->kind = ExprKind::kNumber;
        e->type = ValueType::kScalar;
        e->number = tok_.number;
        CANDOR_RETURN_IF_ERROR(Advance());
        return e;
      case Tok::kDuration:
        return ParseError(tok_.pos, absl::StrCat("unexpected ", Describe(tok_)));
      case Tok::kString:
        e->kind = ExprKind::kString;
        e->type = ValueType::kString;
        e->text = tok_.text;
        CANDOR_RETURN_IF_ERROR(Advance());
        return e;
      case Tok::kLParen: {
        CANDOR_RETURN_IF_ERROR(Advance());
        CANDOR_ASSIGN_OR_RETURN(ExprPtr inner, ParseExpr(0));
        CANDOR_RETURN_IF_ERROR(Expect(Tok::kRParen, "\")\""));
        if (inner->kind == ExprKind::kVectorSelector) {
          // A parenthesised selector may not take a range: mark it as no longer bare.
          auto wrap = std::make_unique<Expr>();
          wrap->kind = ExprKind::kCall;
          wrap->text = "__paren";
          wrap->type = inner->type;
          wrap->args.push_back(std::move(inner));
          return wrap;
        }
        return inner;
      }
      case Tok::kLBrace:
        return ParseSelector("", tok_.pos);
      case Tok::kIdent:
        break;
      default:
        return ParseError(tok_.pos, absl::StrCat("unexpected ", Describe(tok_)));
    }
    const std::string name = tok_.text;
    const size_t pos = tok_.pos;
    CANDOR_RETURN_IF_ERROR(Advance());
    if (IsAggregator(name) &&
        (tok_.kind == Tok::kLParen ||
         (tok_.kind == Tok::kIdent && (tok_.text == "by" || tok_.text == "without")))) {
      return ParseAggregate(name, pos);
    }
    if (tok_.kind == Tok::kLParen) return ParseCall(name, pos);
    return ParseSelector(name, pos);
  }

  absl::StatusOr<ExprPtr> ParseAggregate(const std::string& name, size_t pos) {
    auto e = std::make_unique<Expr>();
    e->kind = ExprKind::kAggregate;
    e->type = ValueType::kVector;
    e->text = name;
    auto modifier = [&]() -> absl::Status {
      if (tok_.kind == Tok::kIdent && (tok_.text == "by" || tok_.text == "without")) {
        e->without = tok_.text == "without";
        CANDOR_RETURN_IF_ERROR(Advance());
        CANDOR_ASSIGN_OR_RETURN(e->grouping, ParseLabelList());
      }
      return absl::OkStatus();
    };
    CANDOR_RETURN_IF_ERROR(modifier());
    CANDOR_RETURN_IF_ERROR(Expect(Tok::kLParen, "\"(\""));
    std::vector<ExprPtr> args;
    while (tok_.kind != Tok::kRParen) {
      CANDOR_ASSIGN_OR_RETURN(ExprPtr a, ParseExpr(0));
      args.push_back(std::move(a));
      if (tok_.kind == Tok::kComma)
        CANDOR_RETURN_IF_ERROR(Advance());
      else if (tok_.kind != Tok::kRParen)
        return ParseError(tok_.pos, absl::StrCat("unexpected ", Describe(tok_), " in aggregation"));
    }
    CANDOR_RETURN_IF_ERROR(Advance());
    if (e->grouping.empty() && !e->without) CANDOR_RETURN_IF_ERROR(modifier());
    const bool param = AggregatorTakesParam(name);
    if (args.size() != (param ? 2u : 1u)) {
      return ParseError(
          pos,
          absl::StrCat("wrong number of arguments for aggregate expression provided, expected ",
                       param ? 2 : 1, ", got ", args.size()));
    }
    ExprPtr vec = std::move(args.back());
    if (vec->type != ValueType::kVector) {
      return ParseError(pos,
                        absl::StrCat("expected type instant vector in aggregation expression, got ",
                                     ValueTypeName(vec->type)));
    }
    e->args.push_back(std::move(vec));
    if (param) {
      const ValueType want = name == "count_values" ? ValueType::kString : ValueType::kScalar;
      if (args[0]->type != want) {
        return ParseError(
            pos, absl::StrCat("expected type ", ValueTypeName(want),
                              " in aggregation parameter, got ", ValueTypeName(args[0]->type)));
      }
      e->args.push_back(std::move(args[0]));
    }
    return e;
  }

  absl::StatusOr<ExprPtr> ParseCall(const std::string& name, size_t pos) {
    const auto& funcs = Functions();
    auto it = funcs.find(name);
    if (it == funcs.end())
      return ParseError(pos, absl::StrCat("unknown function with name \"", name, "\""));
    const FuncSig& sig = it->second;
    auto e = std::make_unique<Expr>();
    e->kind = ExprKind::kCall;
    e->text = name;
    e->type = sig.ret;
    CANDOR_RETURN_IF_ERROR(Advance());  // (
    while (tok_.kind != Tok::kRParen) {
      CANDOR_ASSIGN_OR_RETURN(ExprPtr a, ParseExpr(0));
      e->args.push_back(std::move(a));
      if (tok_.kind == Tok::kComma)
        CANDOR_RETURN_IF_ERROR(Advance());
      else if (tok_.kind != Tok::kRParen)
        return ParseError(
            tok_.pos, absl::StrCat("unexpected ", Describe(tok_), " in call to \"", name, "\""));
    }
    CANDOR_RETURN_IF_ERROR(Advance());
    const size_t n = e->args.size();
    const size_t max = sig.variadic ? std::numeric_limits<size_t>::max() : sig.args.size();
    if (n < static_cast<size_t>(sig.min_args) || n > max) {
      return ParseError(pos, absl::StrCat("expected ", sig.min_args, " argument(s) in call to \"",
                                          name, "\", got ", n));
    }
    for (size_t i = 0; i < n; ++i) {
      const ValueType want = sig.args[std::min(i, sig.args.size() - 1)];
      ValueType got = e->args[i]->type;
      if (got != want) {
        return ParseError(pos, absl::StrCat("expected type ",
                                            want == ValueType::kMatrix   ? "range vector"
                                            : want == ValueType::kVector ? "instant vector"
                                                                         : ValueTypeName(want),
                                            " in call to function \"", name, "\", got ",
                                            got == ValueType::kMatrix   ? "range vector"
                                            : got == ValueType::kVector ? "instant vector"
                                                                        : ValueTypeName(got)));
      }
    }
    return e;
  }

  absl::StatusOr<ExprPtr> ParseSelector(const std::string& name, size_t pos) {
    auto e = std::make_unique<Expr>();
    e->kind = ExprKind::kVectorSelector;
    e->type = ValueType::kVector;
    if (!name.empty()) {
      if (!IsValidMetricName(name))
        return ParseError(pos, absl::StrCat("invalid metric name \"", name, "\""));
      e->matchers.push_back(LabelMatcher::Equal(std::string(kMetricNameLabel), name));
    }
    if (tok_.kind == Tok::kLBrace) {
      CANDOR_RETURN_IF_ERROR(Advance());
      while (tok_.kind != Tok::kRBrace) {
        if (tok_.kind != Tok::kIdent)
          return ParseError(tok_.pos, absl::StrCat("unexpected ", Describe(tok_),
                                                   " in label matching, expected label"));
        const std::string label = tok_.text;
        CANDOR_RETURN_IF_ERROR(Advance());
        MatchType type;
        switch (tok_.kind) {
          case Tok::kAssign:
            type = MatchType::kEqual;
            break;
          case Tok::kNeq:
            type = MatchType::kNotEqual;
            break;
          case Tok::kEqlRegex:
            type = MatchType::kRegexMatch;
            break;
          case Tok::kNeqRegex:
            type = MatchType::kRegexNoMatch;
            break;
          default:
            return ParseError(tok_.pos,
                              absl::StrCat("unexpected ", Describe(tok_),
                                           " in label matching, expected label matching operator"));
        }
        CANDOR_RETURN_IF_ERROR(Advance());
        if (tok_.kind != Tok::kString)
          return ParseError(tok_.pos, absl::StrCat("unexpected ", Describe(tok_),
                                                   " in label matching, expected string"));
        absl::StatusOr<LabelMatcher> m = LabelMatcher::Create(type, label, tok_.text);
        if (!m.ok()) return ParseError(tok_.pos, StdSv(m.status().message()));
        if (label == kMetricNameLabel && !name.empty())
          return ParseError(tok_.pos, "metric name must not be set twice");
        e->matchers.push_back(*std::move(m));
        CANDOR_RETURN_IF_ERROR(Advance());
        if (tok_.kind == Tok::kComma)
          CANDOR_RETURN_IF_ERROR(Advance());
        else if (tok_.kind != Tok::kRBrace)
          return ParseError(tok_.pos, absl::StrCat("unexpected ", Describe(tok_),
                                                   " in label matching, expected \",\" or \"}\""));
      }
      CANDOR_RETURN_IF_ERROR(Advance());
    }
    bool non_empty = false;
    for (const LabelMatcher& m : e->matchers) non_empty |= !m.MatchesEmpty();
    if (!non_empty)
      return ParseError(pos, "vector selector must contain at least one non-empty matcher");
    return e;
  }

  Lexer lexer_;
  std::string_view text_;
  Token tok_;
};

}  // namespace

std::string Expr::ToString() const {
  switch (kind) {
    case ExprKind::kNumber:
      return absl::StrCat(number);
    case ExprKind::kString:
      return absl::StrCat("\"", text, "\"");
    case ExprKind::kVectorSelector:
    case ExprKind::kMatrixSelector: {
      std::string name;
      std::vector<std::string> parts;
      for (const LabelMatcher& m : matchers) {
        if (m.name() == kMetricNameLabel && m.type() == MatchType::kEqual) {
          name = m.value();
        } else {
          parts.push_back(m.ToString());
        }
      }
      std::string out = name;
      if (!parts.empty() || name.empty())
        absl::StrAppend(&out, "{", absl::StrJoin(parts, ", "), "}");
      if (kind == ExprKind::kMatrixSelector) absl::StrAppend(&out, "[", range_ms / 1000, "s]");
      if (offset_ms != 0) absl::StrAppend(&out, " offset ", offset_ms / 1000, "s");
      return out;
    }
    case ExprKind::kCall: {
      if (text == "__paren") return absl::StrCat("(", args[0]->ToString(), ")");
      std::vector<std::string> a;
      for (const auto& x : args) a.push_back(x->ToString());
      return absl::StrCat(text, "(", absl::StrJoin(a, ", "), ")");
    }
    case ExprKind::kAggregate: {
      std::string out = text;
      if (!grouping.empty() || without) {
        absl::StrAppend(&out, without ? " without (" : " by (", absl::StrJoin(grouping, ", "), ")");
      }
      absl::StrAppend(&out, " (");
      if (args.size() > 1) absl::StrAppend(&out, args[1]->ToString(), ", ");
      absl::StrAppend(&out, args[0]->ToString(), ")");
      return out;
    }
    case ExprKind::kBinary:
      return absl::StrCat(args[0]->ToString(), " ", OpText(op), return_bool ? " bool " : " ",
                          args[1]->ToString());
    case ExprKind::kUnaryMinus:
      return absl::StrCat("-", args[0]->ToString());
  }
  return "";
}

absl::StatusOr<ExprPtr> ParsePromQL(std::string_view query) {
  Parser p(query);
  return p.ParseTop();
}

absl::StatusOr<std::vector<LabelMatcher>> ParseSeriesSelector(std::string_view text) {
  Parser p(text);
  return p.ParseSelectorOnly();
}

absl::StatusOr<int64_t> ParseDurationMs(std::string_view text) {
  size_t pos = 0;
  int64_t ms = 0;
  if (ScanDuration(text, &pos, &ms) && pos == text.size()) return ms;
  const std::string copy(text);
  char* end = nullptr;
  const double secs = std::strtod(copy.c_str(), &end);
  if (!copy.empty() && end == copy.c_str() + copy.size() && std::isfinite(secs) &&
      std::fabs(secs) < 1e15) {
    return static_cast<int64_t>(std::llround(secs * 1000));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("cannot parse \"", Sv(text), "\" to a valid duration"));
}

}  // namespace candor::store

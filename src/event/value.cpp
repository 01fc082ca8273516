#include "event/value.hpp"

#include <fmt/format.h>

#include <cmath>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "event/time.hpp"

namespace vigil {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";

void append_real(std::string& out, double d, bool single) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  if (single)
    fmt::format_to(std::back_inserter(out), "{}", static_cast<float>(d));
  else
    fmt::format_to(std::back_inserter(out), "{}", d);
}

// Index of the first byte at or after `k` that a JSON string must escape (a
// control character, '"' or '\\'), or s.size(). Sixteen bytes at a time where
// SSE2 is there (every x86-64): event text rarely holds any, and this loop is
// most of the cost of writing JSON lines.
size_t next_json_special(std::string_view s, size_t k) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), control = _mm_set1_epi8(0x1F);
  for (; k + 16 <= s.size(); k += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + k));
    const __m128i special = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                                         _mm_cmpeq_epi8(_mm_max_epu8(v, control), control));  // v <= 0x1F
    if (const int mask = _mm_movemask_epi8(special)) return k + static_cast<size_t>(__builtin_ctz(mask));
  }
#endif
  for (; k < s.size(); ++k) {
    const unsigned char c = static_cast<unsigned char>(s[k]);
    if (c < 0x20 || c == '"' || c == '\\') return k;
  }
  return s.size();
}

}  // namespace

void append_text(std::string& out, const Value& v) {
  switch (v.type) {
    case ValueType::Null: break;
    case ValueType::String: out.append(v.s, v.count); break;
    case ValueType::Int: fmt::format_to(std::back_inserter(out), "{}", v.i); break;
    case ValueType::UInt: fmt::format_to(std::back_inserter(out), "{}", v.u); break;
    case ValueType::Real32: fmt::format_to(std::back_inserter(out), "{}", v.f); break;
    case ValueType::Real64: fmt::format_to(std::back_inserter(out), "{}", v.d); break;
    case ValueType::Bool: out += v.b ? "true" : "false"; break;
    case ValueType::Time: append_filetime_iso(out, v.u); break;
    case ValueType::Binary:
      for (uint32_t k = 0; k < v.count; ++k) {
        out += kHex[v.bytes[k] >> 4];
        out += kHex[v.bytes[k] & 15];
      }
      break;
    case ValueType::Array:
      for (uint32_t k = 0; k < v.count; ++k) {
        if (k) out += ',';
        append_text(out, v.items[k]);
      }
      break;
  }
}

bool may_occur_in_non_string_text(std::string_view s) {
  // Every character append_text can write for the non-string types above.
  static constexpr std::string_view kChars = "0123456789abcdefilnrstuz+-.:,";
  for (char c : s) {
    const char l = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (kChars.find(l) == std::string_view::npos) return false;
  }
  return true;
}

std::string to_text(const Value& v) {
  std::string s;
  append_text(s, v);
  return s;
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  size_t run = 0;
  for (size_t k = next_json_special(s, 0); k < s.size(); k = next_json_special(s, k + 1)) {
    const unsigned char c = static_cast<unsigned char>(s[k]);
    out.append(s.data() + run, k - run);
    run = k + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 15];
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

void append_json(std::string& out, const Value& v) {
  switch (v.type) {
    case ValueType::Null: out += "null"; break;
    case ValueType::String: append_json_string(out, std::string_view(v.s, v.count)); break;
    case ValueType::Int:
    case ValueType::UInt: append_text(out, v); break;
    case ValueType::Real32: append_real(out, v.f, true); break;
    case ValueType::Real64: append_real(out, v.d, false); break;
    case ValueType::Bool: out += v.b ? "true" : "false"; break;
    case ValueType::Time:
    case ValueType::Binary:
      out += '"';
      append_text(out, v);
      out += '"';
      break;
    case ValueType::Array:
      out += '[';
      for (uint32_t k = 0; k < v.count; ++k) {
        if (k) out += ',';
        append_json(out, v.items[k]);
      }
      out += ']';
      break;
  }
}

}  // namespace vigil

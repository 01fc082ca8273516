#include "event/value.hpp"

#include <fmt/format.h>

#include <cmath>

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
  for (size_t k = 0; k < s.size(); ++k) {
    const unsigned char c = static_cast<unsigned char>(s[k]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
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

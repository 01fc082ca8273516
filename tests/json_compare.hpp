// Compares two parsed JSON values structurally (object key order ignored),
// optionally trimming whitespace from both sides of strings, and explains the
// first difference by its path.
#pragma once
#include <simdjson.h>

#include <cmath>
#include <string>
#include <string_view>

namespace vigil::test {

inline std::string_view trim(std::string_view s) {
  const char* ws = " \t\r\n\v\f";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  const size_t e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

// Empty string when equal, else "path: what differs".
inline std::string json_diff(simdjson::dom::element a, simdjson::dom::element b, bool trim_strings,
                             const std::string& path = "$") {
  using simdjson::dom::element_type;
  const auto ta = a.type(), tb = b.type();
  auto is_num = [](element_type t) {
    return t == element_type::INT64 || t == element_type::UINT64 || t == element_type::DOUBLE;
  };
  if (is_num(ta) && is_num(tb)) {
    if (ta != element_type::DOUBLE && tb != element_type::DOUBLE) {
      if (ta == tb ? (ta == element_type::INT64 ? int64_t(a) == int64_t(b) : uint64_t(a) == uint64_t(b))
                   : (ta == element_type::INT64 ? int64_t(a) >= 0 && uint64_t(int64_t(a)) == uint64_t(b)
                                                : int64_t(b) >= 0 && uint64_t(a) == uint64_t(int64_t(b))))
        return {};
      return path + ": numbers differ";
    }
    const double x = ta == element_type::DOUBLE ? double(a) : ta == element_type::INT64 ? double(int64_t(a)) : double(uint64_t(a));
    const double y = tb == element_type::DOUBLE ? double(b) : tb == element_type::INT64 ? double(int64_t(b)) : double(uint64_t(b));
    if (x == y || std::fabs(x - y) <= 1e-6 * std::fmax(std::fabs(x), std::fabs(y))) return {};
    return path + ": numbers differ";
  }
  if (ta != tb) return path + ": types differ";
  switch (ta) {
    case element_type::STRING: {
      std::string_view x = a.get_string().value(), y = b.get_string().value();
      if (trim_strings) {
        x = trim(x);
        y = trim(y);
      }
      return x == y ? std::string() : path + ": \"" + std::string(x) + "\" != \"" + std::string(y) + "\"";
    }
    case element_type::BOOL: return bool(a) == bool(b) ? std::string() : path + ": booleans differ";
    case element_type::NULL_VALUE: return {};
    case element_type::ARRAY: {
      auto xa = a.get_array().value(), ya = b.get_array().value();
      if (xa.size() != ya.size()) return path + ": array sizes differ";
      size_t i = 0;
      auto it = ya.begin();
      for (auto x : xa) {
        std::string d = json_diff(x, *it, trim_strings, path + "[" + std::to_string(i++) + "]");
        if (!d.empty()) return d;
        ++it;
      }
      return {};
    }
    case element_type::OBJECT: {
      auto xo = a.get_object().value(), yo = b.get_object().value();
      if (xo.size() != yo.size()) {
        std::string keys_a, keys_b;
        for (auto f : xo) keys_a += std::string(f.key) + " ";
        for (auto f : yo) keys_b += std::string(f.key) + " ";
        return path + ": different keys {" + keys_a + "} vs {" + keys_b + "}";
      }
      for (auto field : xo) {
        auto other = yo.at_key(field.key);
        if (other.error()) return path + ": key \"" + std::string(field.key) + "\" missing on one side";
        std::string d = json_diff(field.value, other.value(), trim_strings, path + "." + std::string(field.key));
        if (!d.empty()) return d;
      }
      return {};
    }
    default: return path + ": unexpected type";
  }
}

}  // namespace vigil::test

#include "detection/network/net_fields.hpp"

#include <algorithm>
#include <charconv>

namespace vigil::net {

namespace {
// A real taken as a count when it is one: 0 up to 2^64 (a larger or NaN value
// would make the conversion undefined).
bool whole(double d, uint64_t& out) {
  if (!(d >= 0 && d < 18446744073709551616.0)) return false;
  out = static_cast<uint64_t>(d);
  return true;
}
}  // namespace

bool number(const Value* v, uint64_t& out) {
  if (!v) return false;
  switch (v->type) {
    case ValueType::UInt: out = v->u; return true;
    case ValueType::Int: if (v->i < 0) return false; out = static_cast<uint64_t>(v->i); return true;
    case ValueType::Real64: return whole(v->d, out);
    case ValueType::Real32: return whole(v->f, out);
    case ValueType::String: {
      std::string_view s = v->as_string();
      auto r = std::from_chars(s.data(), s.data() + s.size(), out);
      return r.ec == std::errc() && r.ptr == s.data() + s.size();
    }
    default: return false;
  }
}

bool seconds_value(const Value* v, double& out) {
  if (!v) return false;
  switch (v->type) {
    case ValueType::UInt: out = static_cast<double>(v->u); return true;
    case ValueType::Int: out = static_cast<double>(v->i); return true;
    case ValueType::Real64: out = v->d; return out == out;
    case ValueType::Real32: out = v->f; return out == out;
    case ValueType::String: {
      std::string_view s = v->as_string();
      auto r = std::from_chars(s.data(), s.data() + s.size(), out);
      return r.ec == std::errc() && r.ptr == s.data() + s.size();
    }
    default: return false;
  }
}

std::string_view text(const Value* v) {
  if (!v) return {};
  std::string_view s = v->as_string();
  return s == "-" ? std::string_view() : s;
}

std::string_view host_only(std::string_view h) {
  if (h.empty()) return h;
  if (h.front() == '[') {
    size_t e = h.find(']');
    return e == std::string_view::npos ? h : h.substr(1, e - 1);
  }
  size_t c = h.rfind(':');
  if (c != std::string_view::npos && h.find(':') == c) {
    std::string_view port = h.substr(c + 1);
    if (!port.empty() && std::all_of(port.begin(), port.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
      return h.substr(0, c);
  }
  return h;
}

bool is_multicast(std::string_view ip) {
  if (ip.find(':') != std::string_view::npos)
    return ip.size() >= 2 && (ip[0] == 'f' || ip[0] == 'F') && (ip[1] == 'f' || ip[1] == 'F');
  unsigned first = 0;
  auto r = std::from_chars(ip.data(), ip.data() + ip.size(), first);
  if (r.ec != std::errc()) return false;
  return (first >= 224 && first <= 239) || ip == "255.255.255.255";
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

uint32_t StringTable::intern(std::string_view s) {
  auto it = ids_.find(s);
  if (it != ids_.end()) return it->second;
  const uint32_t id = static_cast<uint32_t>(strings_.size());
  strings_.emplace_back(s);
  ids_.emplace(std::string(s), id);
  return id;
}

}  // namespace vigil::net

#include "detection/network/scope.hpp"

#include <fmt/format.h>

#include <cstring>

#include "detection/network/net_fields.hpp"
#include "detection/sigma/pattern.hpp"

namespace vigil {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool prefix_match(const uint8_t* a, const uint8_t* b, unsigned bits) {
  const unsigned whole = bits / 8, rest = bits % 8;
  if (std::memcmp(a, b, whole) != 0) return false;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

}  // namespace

NetworkScope::NetworkScope() {
  std::string ignored;
  set_internal("10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7", &ignored);
}

bool NetworkScope::parse(std::string_view text, Cidr& out) {
  text = trim(text);
  std::string_view addr = text;
  unsigned prefix = 0;
  bool has_prefix = false;
  if (size_t slash = text.find('/'); slash != std::string_view::npos) {
    addr = text.substr(0, slash);
    std::string_view p = text.substr(slash + 1);
    if (p.empty() || p.size() > 3) return false;
    for (char c : p) {
      if (c < '0' || c > '9') return false;
      prefix = prefix * 10 + unsigned(c - '0');
    }
    has_prefix = true;
  }
  if (!sigma::parse_ip(addr, out.family, out.addr)) return false;
  const unsigned max = out.family == 4 ? 32 : 128;
  if (!has_prefix) prefix = max;
  if (prefix > max) return false;
  out.prefix = static_cast<uint8_t>(prefix);
  return true;
}

bool NetworkScope::contains(const std::vector<Cidr>& list, std::string_view ip) {
  if (list.empty() || ip.empty()) return false;
  uint8_t family = 0, addr[16] = {};
  if (!sigma::parse_ip(ip, family, addr)) return false;
  for (const Cidr& c : list)
    if (c.family == family && prefix_match(c.addr, addr, c.prefix)) return true;
  return false;
}

bool NetworkScope::set_internal(std::string_view cidrs, std::string* error) {
  std::vector<Cidr> list;
  std::vector<std::string> text;
  while (!cidrs.empty()) {
    size_t comma = cidrs.find(',');
    std::string_view item = trim(cidrs.substr(0, comma));
    cidrs = comma == std::string_view::npos ? std::string_view() : cidrs.substr(comma + 1);
    if (item.empty()) continue;
    Cidr c;
    if (!parse(item, c)) {
      if (error) *error = fmt::format("'{}' is not a network (expected CIDR such as 10.0.0.0/8 or fc00::/7)", item);
      return false;
    }
    list.push_back(c);
    text.emplace_back(item);
  }
  internal_ = std::move(list);
  internal_text_ = std::move(text);
  return true;
}

bool NetworkScope::allow(std::string_view item, std::string* error) {
  item = trim(item);
  if (item.empty()) {
    if (error) *error = "empty destination";
    return false;
  }
  Cidr c;
  if (parse(item, c)) {
    allowed_cidrs_.push_back(c);
    return true;
  }
  if (item.find('/') != std::string_view::npos) {
    if (error) *error = fmt::format("'{}' is neither a network nor a domain", item);
    return false;
  }
  while (!item.empty() && item.front() == '.') item.remove_prefix(1);
  while (!item.empty() && item.back() == '.') item.remove_suffix(1);
  if (item.empty() || item.find_first_of(" \t,") != std::string_view::npos) {
    if (error) *error = fmt::format("'{}' is not a domain", item);
    return false;
  }
  allowed_domains_.push_back(net::lower(item));
  return true;
}

bool NetworkScope::is_internal(std::string_view ip) const { return contains(internal_, ip); }

bool NetworkScope::allowed_ip(std::string_view ip) const { return contains(allowed_cidrs_, ip); }

bool NetworkScope::allowed_name(std::string_view name) const {
  if (allowed_domains_.empty() || name.empty()) return false;
  std::string n = net::lower(name);
  while (!n.empty() && n.back() == '.') n.pop_back();
  for (const std::string& d : allowed_domains_) {
    if (n.size() < d.size()) continue;
    if (n.compare(n.size() - d.size(), d.size(), d) != 0) continue;
    if (n.size() == d.size() || n[n.size() - d.size() - 1] == '.') return true;
  }
  return false;
}

Direction NetworkScope::direction(std::string_view src_ip, std::string_view dst_ip) const {
  const bool s = is_internal(src_ip), d = is_internal(dst_ip);
  if (s && d) return Direction::Internal;
  if (s) return Direction::Outbound;
  if (d) return Direction::Inbound;
  return Direction::External;
}

bool NetworkScope::leaving(std::string_view src_ip, std::string_view dst_ip, std::string_view dst_name) const {
  if (!is_internal(src_ip)) return false;
  if (!dst_name.empty()) {
    // Through a proxy the address is the proxy's; the name is where the traffic
    // goes. A name that is an internal address is internal traffic all the same.
    return !allowed_name(dst_name) && !allowed_ip(dst_name) && !is_internal(dst_name);
  }
  return !allowed_ip(dst_ip) && !is_internal(dst_ip);
}

}  // namespace vigil

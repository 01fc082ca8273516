// Small readers of network fields shared by the network analytics: counts as
// Zeek (UInt) or Sysmon (text) gives them, host names, address classes.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "event/text.hpp"
#include "event/value.hpp"

namespace vigil::net {

// A non-negative count; false when absent or not a number.
bool number(const Value* v, uint64_t& out);
// A duration or other real number in seconds (Zeek `interval`); false when absent.
bool seconds_value(const Value* v, double& out);
// The value's text, empty when absent or not a string. Zeek's "-" counts as absent.
std::string_view text(const Value* v);
// Strips a trailing ":port" from an HTTP Host value (not from a bare IPv6 address).
std::string_view host_only(std::string_view h);
// Multicast and broadcast addresses (224.0.0.0/4, 255.255.255.255, ff00::/8):
// one-to-many traffic (mDNS, SSDP, router solicitations), never a C2 server.
bool is_multicast(std::string_view ip);
// ASCII lower case.
std::string lower(std::string_view s);
// Clamps a count to 32 bits (compact per-connection state).
inline uint32_t clamp32(uint64_t x) { return x > 0xFFFFFFFFull ? 0xFFFFFFFFu : static_cast<uint32_t>(x); }

// Strings stored once, named by a dense 32-bit id: the analytics keep ids, not
// text, in their per-pair state.
class StringTable {
 public:
  uint32_t intern(std::string_view s);
  const std::string& operator[](uint32_t id) const { return strings_[id]; }
  size_t size() const { return strings_.size(); }

 private:
  std::vector<std::string> strings_;
  std::unordered_map<std::string, uint32_t, TextHash, std::equal_to<>> ids_;
};

}  // namespace vigil::net

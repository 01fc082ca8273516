// Which addresses are inside the network, and which destinations a user has
// declared known-good (update servers, CDNs). Analyses of traffic leaving the
// network (beacons, long connections, uploads, tunnels) ask this.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vigil {

enum class Direction : uint8_t {
  Outbound,  // internal source, external destination
  Inbound,   // external source, internal destination
  Internal,  // both internal
  External,  // neither internal (a capture outside the network, or unknown ranges)
};

class NetworkScope {
 public:
  // Internal by default: RFC 1918 (10/8, 172.16/12, 192.168/16) and IPv6 unique-local (fc00::/7).
  NetworkScope();

  // Replaces the internal networks with a comma-separated CIDR list; false with a message on a bad entry.
  bool set_internal(std::string_view cidrs, std::string* error);
  // Declares a destination known-good: a CIDR or bare address, or a domain (which covers its subdomains).
  bool allow(std::string_view cidr_or_domain, std::string* error);

  // False for text that is not an IP address.
  bool is_internal(std::string_view ip) const;
  // Destination known-good by address or by name (case-insensitive, subdomains included).
  bool allowed_ip(std::string_view ip) const;
  bool allowed_name(std::string_view name) const;

  // Direction of a connection between two addresses. Text that is not an
  // address counts as external.
  Direction direction(std::string_view src_ip, std::string_view dst_ip) const;
  // Whether a connection is traffic leaving the network: from an internal
  // source to an external destination that is not known-good. Through a proxy
  // the destination name (`dst_name`: HTTP CONNECT host, Host header, SNI)
  // decides, not the proxy's internal address.
  bool leaving(std::string_view src_ip, std::string_view dst_ip, std::string_view dst_name = {}) const;

  const std::vector<std::string>& internal_text() const { return internal_text_; }

 private:
  struct Cidr {
    uint8_t family = 0, prefix = 0;
    uint8_t addr[16] = {};
  };
  static bool contains(const std::vector<Cidr>& list, std::string_view ip);
  static bool parse(std::string_view text, Cidr& out);

  std::vector<Cidr> internal_;
  std::vector<std::string> internal_text_;
  std::vector<Cidr> allowed_cidrs_;
  std::vector<std::string> allowed_domains_;  // lower case, no leading dot
};

}  // namespace vigil

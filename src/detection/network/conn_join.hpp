// Zeek connections joined across conn, open_conn, http and ssl by uid, for the
// analytics that need a connection's time, duration and bytes together with
// the name behind it (beacons, long connections, uploads). One store serves
// them all (NetworkAnalytics feeds it once).
//
// - conn: the connection's final record. It replaces whatever open_conn said.
// - open_conn: a connection still open when the log rotated; Zeek writes one
//   record per rotation with the duration and bytes so far. The latest (longest)
//   one counts until a conn record of the same uid arrives.
// - http, ssl: name the destination. The HTTP Host (the CONNECT host through a
//   proxy) wins over the SSL SNI, as in the beaconing analytic: the proxy
//   connects to the CONNECT host whatever the TLS inside names (an SNI may be
//   absent or a front). The earliest HTTP request of a connection wins.
//
// Events may come in any order. For millions of connections the records are
// only appended while streaming (64 bytes a connection record, 32 a name
// record, no per-record allocation; uids kept as 64-bit hashes, which collide
// only past billions of connections) and joined once, by sorting, when the
// analytics ask for the connections.
#pragma once
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "event/event.hpp"
#include "detection/network/net_fields.hpp"
#include "detection/network/scope.hpp"

namespace vigil::net {

class ConnJoin {
 public:
  static constexpr uint32_t kNone = 0xFFFFFFFFu;

  struct Conn {
    uint64_t uid = 0;          // hash of the Zeek uid
    uint64_t start = 0;        // FILETIME ticks of the connection's start (of its first http/ssl record without one)
    uint64_t out = 0, in = 0;  // orig_bytes, resp_bytes
    uint32_t src = kNone;      // string ids: source IP, responder IP,
    uint32_t ip = kNone;
    uint32_t name = kNone;     // destination name from http/ssl,
    uint32_t port = kNone;     // "22/tcp",
    uint32_t service = kNone;  // Zeek's service ("ssh", "ssl,http")
    double duration = 0;       // seconds
    bool has_conn = false;     // a conn record was seen
    bool has_open = false;     // an open_conn record was seen (still open unless has_conn)
    bool has_bytes = false;    // orig_bytes or resp_bytes were given
    bool still_open() const { return has_open && !has_conn; }
    // FILETIME ticks of its end, saturated: a damaged or crafted duration
    // (1e82 s) must not wrap the time or overflow the conversion.
    uint64_t end() const {
      const double ticks = duration * 1e7;
      const double room = static_cast<double>(UINT64_MAX - start);
      return ticks < room ? start + static_cast<uint64_t>(ticks) : UINT64_MAX;
    }
    // A conn or open_conn record was seen (else only http/ssl named it).
    bool usable() const { return (has_conn || has_open) && src != kNone && ip != kNone; }
  };

  // True when the event was a Zeek conn, open_conn, http or ssl record with a uid.
  bool add(const Event& ev, std::string_view path);

  uint32_t intern(std::string_view s) { return strings_.intern(s); }
  const std::string& str(uint32_t id) const { return strings_[id]; }
  // One entry per uid, joined (sorted by uid hash). Connections only named by
  // http/ssl records come too, with usable() false.
  const std::deque<Conn>& conns() const;
  // Whether a connection is traffic leaving the network (NetworkScope::leaving,
  // by its name when http/ssl gave one); with skip_multicast, an unnamed one to
  // a multicast or broadcast address is not.
  bool leaving(const Conn& c, const NetworkScope& scope, bool skip_multicast) const;

 private:
  struct Name {
    uint64_t uid;
    uint64_t time;
    uint32_t src, ip, name;
    bool from_http;
  };
  void join() const;

  StringTable strings_;
  // Appended while streaming; join() sorts, merges and keeps one per uid.
  mutable std::deque<Conn> conns_;
  mutable std::deque<Name> names_;
  mutable bool joined_ = true;
};

}  // namespace vigil::net

// Zeek connections joined across conn, open_conn, http and ssl by uid, for the
// analytics that need a connection's duration and bytes together with the name
// behind it (long connections, uploads). One compact record per uid; strings
// are interned.
//
// - conn: the connection's final record. It replaces whatever open_conn said.
// - open_conn: a connection still open when the log rotated; Zeek writes one
//   record per rotation with the duration and bytes so far. The latest (longest)
//   one counts until a conn record of the same uid arrives.
// - http, ssl: name the destination. The HTTP Host (the CONNECT host through a
//   proxy) wins over the SSL SNI, as in the beaconing analytic: the proxy
//   connects to the CONNECT host whatever the TLS inside names (an SNI may be
//   absent or a front). The first HTTP request of a connection wins.
//
// Events may come in any order; anything else is ignored.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "event/event.hpp"

namespace vigil::net {

class ConnJoin {
 public:
  static constexpr uint32_t kNone = 0xFFFFFFFFu;

  struct Conn {
    uint32_t src = kNone;      // string ids: source IP, responder IP,
    uint32_t ip = kNone;
    uint32_t name = kNone;     // destination name from http/ssl,
    uint32_t port = kNone;     // "22/tcp",
    uint32_t service = kNone;  // Zeek's service ("ssh", "ssl,http")
    uint64_t start = 0;        // FILETIME ticks of the connection's start
    double duration = 0;       // seconds
    uint64_t out = 0, in = 0;  // orig_bytes, resp_bytes
    bool has_conn = false;     // a conn record was seen
    bool has_open = false;     // an open_conn record was seen (still open unless has_conn)
    bool name_from_http = false;
    bool still_open() const { return has_open && !has_conn; }
    bool usable() const { return (has_conn || has_open) && src != kNone && ip != kNone; }
  };

  // True when the event was a Zeek conn, open_conn, http or ssl record with a uid.
  bool add(const Event& ev, std::string_view path);

  uint32_t intern(std::string_view s);
  const std::string& str(uint32_t id) const { return strings_[id]; }
  const std::unordered_map<std::string, Conn>& conns() const { return conns_; }

 private:
  std::vector<std::string> strings_;
  std::unordered_map<std::string, uint32_t> string_ids_;
  std::unordered_map<std::string, Conn> conns_;  // by uid
};

}  // namespace vigil::net

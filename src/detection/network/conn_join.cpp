#include "detection/network/conn_join.hpp"

#include <fmt/format.h>

#include "detection/network/net_fields.hpp"

namespace vigil::net {

uint32_t ConnJoin::intern(std::string_view s) {
  auto it = string_ids_.find(std::string(s));
  if (it != string_ids_.end()) return it->second;
  const uint32_t id = static_cast<uint32_t>(strings_.size());
  strings_.emplace_back(s);
  string_ids_.emplace(std::string(s), id);
  return id;
}

bool ConnJoin::add(const Event& ev, std::string_view path) {
  const bool is_conn = path == "conn", is_open = path == "open_conn", is_http = path == "http",
             is_ssl = path == "ssl";
  if (!is_conn && !is_open && !is_http && !is_ssl) return false;
  const std::string_view uid = text(ev.get("uid"));
  const std::string_view src = text(ev.get("id.orig_h"));
  if (uid.empty() || src.empty()) return false;
  Conn& c = conns_[std::string(uid)];
  if (c.src == kNone) c.src = intern(src);
  if (c.ip == kNone) {
    const std::string_view ip = text(ev.get("id.resp_h"));
    if (!ip.empty()) c.ip = intern(ip);
  }
  if (is_conn || is_open) {
    double duration = 0;
    if (!seconds_value(ev.get("duration"), duration) || !(duration >= 0)) duration = 0;
    // A conn record is final; among open_conn records the longest is the latest.
    if (is_open && (c.has_conn || (c.has_open && duration < c.duration))) return true;
    c.has_conn = c.has_conn || is_conn;
    c.has_open = c.has_open || is_open;
    c.duration = duration;
    c.start = ev.time;
    uint64_t out = 0, in = 0;
    c.out = number(ev.get("orig_bytes"), out) ? out : 0;
    c.in = number(ev.get("resp_bytes"), in) ? in : 0;
    uint64_t port = 0;
    if (c.port == kNone && number(ev.get("id.resp_p"), port)) {
      const std::string_view proto = text(ev.get("proto"));
      c.port = intern(proto.empty() ? std::to_string(port) : fmt::format("{}/{}", port, proto));
    }
    const std::string_view service = text(ev.get("service"));
    if (!service.empty()) c.service = intern(lower(service));
    return true;
  }
  std::string_view name = is_http ? host_only(text(ev.get("host"))) : text(ev.get("server_name"));
  if (!name.empty() && (c.name == kNone || (is_http && !c.name_from_http))) {
    c.name = intern(lower(name));
    c.name_from_http = is_http;
  }
  return true;
}

}  // namespace vigil::net

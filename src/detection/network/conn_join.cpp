#include "detection/network/conn_join.hpp"

#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>

#include "detection/network/net_fields.hpp"

namespace vigil::net {

namespace {
constexpr double kCenturySeconds = 100 * 365.25 * 86400;
}  // namespace

bool ConnJoin::add(const Event& ev, std::string_view path) {
  const bool is_conn = path == "conn", is_open = path == "open_conn", is_http = path == "http",
             is_ssl = path == "ssl";
  if (!is_conn && !is_open && !is_http && !is_ssl) return false;
  const std::string_view uid = text(ev.get("uid"));
  const std::string_view src = text(ev.get("id.orig_h"));
  if (uid.empty() || src.empty()) return false;
  joined_ = false;
  const uint64_t key = XXH3_64bits(uid.data(), uid.size());
  const std::string_view ip = text(ev.get("id.resp_h"));
  if (is_conn || is_open) {
    Conn c;
    c.uid = key;
    c.src = intern(src);
    if (!ip.empty()) c.ip = intern(ip);
    double duration = 0;
    // A negative, NaN, infinite ("inf" parses) or longer than a century
    // duration is damage, not a connection: taken as absent.
    if (!seconds_value(ev.get("duration"), duration) || !(duration >= 0 && duration <= kCenturySeconds)) duration = 0;
    c.duration = duration;
    c.has_conn = is_conn;
    c.has_open = is_open;
    c.start = ev.time;
    uint64_t out = 0, in = 0;
    const bool has_out = number(ev.get("orig_bytes"), out), has_in = number(ev.get("resp_bytes"), in);
    c.out = has_out ? out : 0;
    c.in = has_in ? in : 0;
    c.has_bytes = has_out || has_in;
    uint64_t port = 0;
    if (number(ev.get("id.resp_p"), port)) {
      const std::string_view proto = text(ev.get("proto"));
      c.port = intern(proto.empty() ? std::to_string(port) : fmt::format("{}/{}", port, proto));
    }
    const std::string_view service = text(ev.get("service"));
    if (!service.empty()) c.service = intern(lower(service));
    conns_.push_back(c);
    return true;
  }
  const std::string_view name = is_http ? host_only(text(ev.get("host"))) : text(ev.get("server_name"));
  names_.push_back(Name{key, ev.time, intern(src), ip.empty() ? kNone : intern(ip),
                        name.empty() ? kNone : intern(lower(name)), is_http});
  return true;
}

bool ConnJoin::leaving(const Conn& c, const NetworkScope& scope, bool skip_multicast) const {
  if (c.src == kNone || c.ip == kNone) return false;
  const std::string& ip = strings_[c.ip];
  const std::string_view name = c.name != kNone ? std::string_view(strings_[c.name]) : std::string_view();
  if (name.empty() && skip_multicast && is_multicast(ip)) return false;
  return scope.leaving(strings_[c.src], ip, name);
}

const std::deque<ConnJoin::Conn>& ConnJoin::conns() const {
  if (!joined_) join();
  return conns_;
}

void ConnJoin::join() const {
  // One record per uid: the conn record, else the longest open_conn.
  std::sort(conns_.begin(), conns_.end(), [](const Conn& a, const Conn& b) {
    if (a.uid != b.uid) return a.uid < b.uid;
    if (a.has_conn != b.has_conn) return a.has_conn;
    if (a.usable() != b.usable()) return a.usable();  // earlier joins' name-only entries last
    return a.duration > b.duration;
  });
  size_t kept = 0;
  for (size_t i = 0; i < conns_.size();) {
    size_t j = i + 1;
    Conn best = conns_[i];
    for (; j < conns_.size() && conns_[j].uid == best.uid; ++j) {
      if (best.name == kNone) best.name = conns_[j].name;  // named by an earlier join
      best.has_open = best.has_open || conns_[j].has_open;
    }
    conns_[kept++] = best;
    i = j;
  }
  conns_.resize(kept);

  // Names: the earliest HTTP request of a connection wins, else the earliest SNI.
  std::sort(names_.begin(), names_.end(), [](const Name& a, const Name& b) {
    if (a.uid != b.uid) return a.uid < b.uid;
    const bool an = a.name != kNone, bn = b.name != kNone;
    if (an != bn) return an;
    if (a.from_http != b.from_http) return a.from_http;
    return a.time < b.time;
  });
  size_t c = 0;
  const size_t conn_count = conns_.size();
  for (size_t i = 0; i < names_.size();) {
    const Name& n = names_[i];
    uint64_t earliest = n.time;
    size_t j = i + 1;
    for (; j < names_.size() && names_[j].uid == n.uid; ++j) earliest = std::min(earliest, names_[j].time);
    while (c < conn_count && conns_[c].uid < n.uid) ++c;
    if (c < conn_count && conns_[c].uid == n.uid) {
      if (n.name != kNone) conns_[c].name = n.name;
    } else {
      // No conn record: the connection is known from http/ssl alone.
      Conn x;
      x.uid = n.uid;
      x.start = earliest;
      x.src = n.src;
      x.ip = n.ip;
      x.name = n.name;
      conns_.push_back(x);
    }
    i = j;
  }
  names_.clear();
  names_.shrink_to_fit();
  if (conns_.size() != conn_count)
    std::inplace_merge(conns_.begin(), conns_.begin() + static_cast<std::ptrdiff_t>(conn_count), conns_.end(),
                       [](const Conn& a, const Conn& b) { return a.uid < b.uid; });
  joined_ = true;
}

}  // namespace vigil::net

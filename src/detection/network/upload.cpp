#include "detection/network/upload.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include <fmt/format.h>

#include "detection/network/net_fields.hpp"

namespace vigil {

namespace {

constexpr uint32_t kNone = net::ConnJoin::kNone;

// HTTP methods that send data out. POST, PUT and PATCH carry the uploads; the
// WebDAV methods write to a remote file store (PROPFIND lists it, MKCOL, MOVE
// and COPY arrange it, PROPPATCH and LOCK change it) and are rare in ordinary
// browsing, which is why the score notices them.
constexpr std::array<std::string_view, 9> kUploadMethods = {"POST",  "PUT",  "PATCH", "PROPFIND", "PROPPATCH",
                                                            "MKCOL", "MOVE", "COPY",  "LOCK"};
constexpr uint32_t kWebDavBits = ~0u << 3;  // PROPFIND onwards

std::string bytes_text(uint64_t b) {
  const double x = static_cast<double>(b);
  if (x >= 1e9) return fmt::format("{:.1f} GB", x / 1e9);
  if (x >= 1e6) return fmt::format("{:.1f} MB", x / 1e6);
  if (x >= 1e3) return fmt::format("{:.1f} kB", x / 1e3);
  return fmt::format("{} B", b);
}

// 0 at `threshold`, 1 at 100 times it, logarithmic between.
double log_part(double x, double threshold) {
  if (!(threshold > 0) || !(x > threshold)) return 0;
  return std::min(1.0, std::log10(x / threshold) / 2.0);
}

// 1 for a destination one source uses, 0.5 for one at most `max_hosts` use, 0 above.
double rarity(uint32_t hosts, uint32_t max_hosts) { return hosts <= 1 ? 1.0 : hosts <= max_hosts ? 0.5 : 0.0; }

std::string hosts_text(uint32_t hosts) {
  return hosts == 1 ? "no other source sends to it" : fmt::format("{} sources send to it", hosts);
}

}  // namespace

uint32_t UploadAnalyzer::method_bit(std::string_view method) {
  for (size_t i = 0; i < kUploadMethods.size(); ++i)
    if (method.size() == kUploadMethods[i].size() &&
        std::equal(method.begin(), method.end(), kUploadMethods[i].begin(),
                   [](char a, char b) { return (a >= 'a' && a <= 'z' ? a - 32 : a) == b; }))
      return 1u << i;
  return 0;
}

void UploadAnalyzer::add(const Event& ev) {
  // Zeek records only: Sysmon network events carry no byte counts.
  const Value* path = ev.get("_path");
  if (!path) return;
  const std::string_view p = path->as_string();
  if (feeds_join_) join_->add(ev, p);
  if (p == "http") add_http(ev);
}

void UploadAnalyzer::add_http(const Event& ev) {
  const std::string_view src = net::text(ev.get("id.orig_h"));
  const std::string_view ip = net::text(ev.get("id.resp_h"));
  if (src.empty() || ip.empty()) return;
  const std::string host = net::lower(net::host_only(net::text(ev.get("host"))));
  if (host.empty() && t_.skip_multicast && net::is_multicast(ip)) return;
  if (!scope_.leaving(src, ip, host)) return;
  // Only requests that carry data up get an entry (GETs would cost one per
  // source and site): a destination's users are the sources uploading to it.
  const uint32_t bit = method_bit(net::text(ev.get("method")));
  if (!bit) return;
  HttpPair& h = http_[HttpKey{join_->intern(src), join_->intern(host.empty() ? std::string(ip) : host)}];
  uint64_t body = 0;
  if (!net::number(ev.get("request_body_len"), body)) body = 0;
  h.bytes += body;
  h.largest = std::max(h.largest, body);
  ++h.requests;
  h.methods |= bit;
  h.first = std::min(h.first, ev.time);
  h.last = std::max(h.last, ev.time);
}

std::vector<NetworkFinding> UploadAnalyzer::findings() const {
  std::vector<NetworkFinding> out = bulk(), h = http();
  out.insert(out.end(), std::make_move_iterator(h.begin()), std::make_move_iterator(h.end()));
  sort_findings(out);
  return out;
}

std::vector<NetworkFinding> UploadAnalyzer::bulk() const {
  struct Pair {
    uint64_t out = 0, in = 0;
    uint32_t connections = 0;
    uint64_t first = ~0ull, last = 0;
  };
  // Connections in scope as (destination, source, index), sorted: each
  // destination's run counts the sources using it, each source's run within it
  // gives a pair's figures, with no map entry per pair (12 bytes a connection,
  // for this call).
  struct Ref {
    uint32_t dst, src, index;
  };
  const auto& conns = join_->conns();
  std::vector<Ref> refs;
  for (size_t i = 0; i < conns.size(); ++i) {
    const auto& c = conns[i];
    if (!c.usable() || !join_->leaving(c, scope_, t_.skip_multicast)) continue;
    refs.push_back(Ref{c.name != kNone ? c.name : c.ip, c.src, uint32_t(i)});
  }
  std::sort(refs.begin(), refs.end(), [](const Ref& a, const Ref& b) {
    if (a.dst != b.dst) return a.dst < b.dst;
    if (a.src != b.src) return a.src < b.src;
    return a.index < b.index;
  });

  std::vector<NetworkFinding> found;
  for (size_t d0 = 0; d0 < refs.size();) {
    size_t d1 = d0;
    uint32_t users = 0;  // distinct sources sending to this destination
    for (; d1 < refs.size() && refs[d1].dst == refs[d0].dst; ++d1) users += d1 == d0 || refs[d1].src != refs[d1 - 1].src;
    for (size_t s0 = d0; s0 < d1;) {
      const HttpKey key{refs[s0].src, refs[s0].dst};
      Pair p;
      for (; s0 < d1 && refs[s0].src == key.src; ++s0) {
        const auto& c = conns[refs[s0].index];
        p.out += c.out;
        p.in += c.in;
        ++p.connections;
        p.first = std::min(p.first, c.start);
        p.last = std::max(p.last, c.end());
      }
      if (p.out < t_.min_bytes_out) continue;
      const double ratio = static_cast<double>(p.out) / static_cast<double>(std::max<uint64_t>(1, p.in));
      if (ratio < t_.min_ratio) continue;
      if (users > t_.max_hosts) continue;
      const double score = 0.55 + 0.25 * log_part(static_cast<double>(p.out), static_cast<double>(t_.min_bytes_out)) +
                           0.1 * log_part(ratio, t_.min_ratio) + 0.1 * rarity(users, t_.max_hosts);
      if (score < t_.min_score) continue;
      NetworkFinding f;
      f.analytic = "upload";
      f.src = join_->str(key.src);
      f.dst = join_->str(key.dst);
      f.score = score;
      f.first_time = p.first;
      f.last_time = p.last;
      f.title = fmt::format("Upload: {} to {}, {} out, {} in", f.src, f.dst, bytes_text(p.out), bytes_text(p.in));
      f.description = fmt::format(
          "{} sent {} to {} over {} connection{} and received {} ({:.1f} times less); {}. A large one-way transfer "
          "to a destination few hosts use is how data leaves in bulk; check what the destination is and what was "
          "sent.",
          f.src, bytes_text(p.out), f.dst, p.connections, p.connections == 1 ? "" : "s", bytes_text(p.in), ratio,
          hosts_text(users));
      f.tags = {"attack.exfiltration", "attack.t1048", "attack.t1041"};
      f.figures.push_back(figure("bytes_out", p.out));
      f.figures.push_back(figure("bytes_in", p.in));
      f.figures.push_back(figure("ratio", ratio, 1));
      f.figures.push_back(figure("connections", uint64_t(p.connections)));
      f.figures.push_back(figure("hosts_using_destination", uint64_t(users)));
      found.push_back(std::move(f));
    }
    d0 = d1;
  }
  return found;
}

std::vector<NetworkFinding> UploadAnalyzer::http() const {
  std::unordered_map<uint32_t, uint32_t> hosts;
  for (const auto& [key, h] : http_) ++hosts[key.dst];
  std::vector<NetworkFinding> found;
  for (const auto& [key, h] : http_) {
    if (h.requests == 0 || h.bytes < t_.http_min_bytes || h.bytes == 0) continue;
    const uint32_t users = hosts[key.dst];
    const bool webdav = (h.methods & kWebDavBits) != 0;
    const double score = 0.6 + 0.25 * log_part(static_cast<double>(h.bytes), static_cast<double>(t_.http_min_bytes)) +
                         0.1 * rarity(users, t_.max_hosts) + (webdav ? 0.05 : 0.0);
    if (score < t_.min_score) continue;
    std::string methods;
    for (size_t i = 0; i < kUploadMethods.size(); ++i)
      if (h.methods & (1u << i)) methods += (methods.empty() ? "" : ",") + std::string(kUploadMethods[i]);
    NetworkFinding f;
    f.analytic = "http-upload";
    f.src = join_->str(key.src);
    f.dst = join_->str(key.dst);
    f.score = score;
    f.first_time = h.first;
    f.last_time = h.last;
    f.title = fmt::format("HTTP upload: {} to {}, {} in {} request{} ({})", f.src, f.dst, bytes_text(h.bytes),
                          h.requests, h.requests == 1 ? "" : "s", methods);
    f.description = fmt::format(
        "{} sent {} of request bodies to {} in {} {} request{} (the largest {}){}; {}. Plain HTTP uploads of this "
        "size to an outside host are a way data leaves unencrypted; check what was sent.",
        f.src, bytes_text(h.bytes), f.dst, h.requests, methods, h.requests == 1 ? "" : "s", bytes_text(h.largest),
        webdav ? ", with WebDAV methods (a remote file store)" : "", hosts_text(users));
    f.tags = {"attack.exfiltration", "attack.t1048.003"};
    f.figures.push_back(figure("bytes_out", h.bytes));
    f.figures.push_back(figure("requests", uint64_t(h.requests)));
    f.figures.push_back(figure("largest_request", h.largest));
    f.figures.push_back(figure("methods", std::string_view(methods)));
    f.figures.push_back(figure("hosts_using_destination", uint64_t(users)));
    found.push_back(std::move(f));
  }
  return found;
}

}  // namespace vigil

#include "detection/network/long_conn.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include <fmt/format.h>

#include "detection/network/net_fields.hpp"

namespace vigil {

namespace {

constexpr uint32_t kNone = net::ConnJoin::kNone;

struct PairKey {
  uint32_t src, dst, port;
  bool operator==(const PairKey&) const = default;
};
struct Pair {
  double total = 0, longest = 0;
  uint32_t connections = 0, still_open = 0;
  uint64_t out = 0, in = 0;
  uint64_t first = ~0ull, last = 0;
  uint32_t service = kNone;
};

std::string duration_text(double seconds) {
  if (seconds >= 3600) return fmt::format("{:.1f} h", seconds / 3600);
  if (seconds >= 60) return fmt::format("{:.1f} min", seconds / 60);
  return fmt::format("{:.1f} s", seconds);
}

// SSH carries port forwards and SOCKS proxies: a long SSH session may be a tunnel.
bool tunnelling(std::string_view service, std::string_view port) {
  return service.find("ssh") != std::string_view::npos || port == "22/tcp";
}

}  // namespace

void LongConnectionAnalyzer::add(const Event& ev) {
  // Zeek records only: Sysmon network events have no duration.
  if (const Value* path = ev.get("_path"); path && feeds_join_) join_->add(ev, path->as_string());
}

double LongConnectionAnalyzer::score_of(double d) const {
  const double base = std::max(1.0, t_.min_single_seconds);
  const double medium = std::max(base, t_.medium_seconds), high = std::max(medium, t_.high_seconds);
  if (d <= base) return 0.5 * std::max(0.0, d) / base;
  if (d <= medium) return medium > base ? 0.5 + 0.2 * (d - base) / (medium - base) : 0.7;
  if (d <= high) return high > medium ? 0.7 + 0.2 * (d - medium) / (high - medium) : 0.9;
  return 1.0 - 0.1 * high / d;
}

std::vector<NetworkFinding> LongConnectionAnalyzer::findings() const {
  // Connections in scope as (pair, index), sorted by pair: each pair's figures
  // come from one run of the array, with no map entry for each of the millions
  // of short pairs a big capture holds (16 bytes a connection, for this call).
  struct Ref {
    PairKey key;
    uint32_t index;
  };
  const auto& conns = join_->conns();
  std::vector<Ref> refs;
  for (size_t i = 0; i < conns.size(); ++i) {
    const auto& c = conns[i];
    if (!c.usable() || !join_->leaving(c, scope_, t_.skip_multicast)) continue;
    refs.push_back(Ref{PairKey{c.src, c.name != kNone ? c.name : c.ip, c.port}, uint32_t(i)});
  }
  std::sort(refs.begin(), refs.end(), [](const Ref& a, const Ref& b) {
    if (a.key.src != b.key.src) return a.key.src < b.key.src;
    if (a.key.dst != b.key.dst) return a.key.dst < b.key.dst;
    if (a.key.port != b.key.port) return a.key.port < b.key.port;
    return a.index < b.index;
  });

  std::vector<std::pair<NetworkFinding, double>> out;  // with the total, to order equal scores
  for (size_t next = 0; next < refs.size();) {
    const PairKey key = refs[next].key;
    Pair p;
    for (; next < refs.size() && refs[next].key == key; ++next) {
      const auto& c = conns[refs[next].index];
      p.total += c.duration;
      p.longest = std::max(p.longest, double(c.duration));
      ++p.connections;
      p.still_open += c.still_open();
      p.out += c.out;
      p.in += c.in;
      p.first = std::min(p.first, c.start);
      p.last = std::max(p.last, c.end());
      if (p.service == kNone) p.service = c.service;
    }
    if (p.longest < t_.min_single_seconds && p.total < t_.min_total_seconds) continue;
    // The longest connection counts fully; the rest of the total half: many
    // shorter connections (keep-alive, polling) are weaker evidence than one long one.
    const double effective = p.longest + 0.5 * (p.total - p.longest);
    const double score = score_of(effective);
    if (score < t_.min_score) continue;
    const std::string& src = join_->str(key.src);
    const std::string& dst = join_->str(key.dst);
    const std::string port = key.port != kNone ? join_->str(key.port) : std::string();
    const std::string service = p.service != kNone ? join_->str(p.service) : std::string();
    const std::string_view port_number = std::string_view(port).substr(0, port.find('/'));

    NetworkFinding f;
    f.analytic = "long-connection";
    f.src = src;
    f.dst = dst;
    f.score = score;
    f.first_time = p.first;
    f.last_time = p.last;
    f.title = fmt::format("Long connection: {} to {}{}{}{}, {}{}", src, dst, port.empty() ? "" : ":", port_number,
                          service.empty() ? "" : fmt::format(" ({})", service), duration_text(p.total),
                          p.still_open ? ", still open" : "");
    f.description = fmt::format(
        "{} kept {} connection{} to {}{}{} open for {} in total, the longest {}{}. {} bytes sent, {} received. "
        "Connections lasting hours to one outside destination are how interactive command and control, reverse "
        "shells and tunnels look; check what the destination is and who runs the session.",
        src, p.connections, p.connections == 1 ? "" : "s", dst, port.empty() ? "" : " port " + port,
        service.empty() ? "" : fmt::format(" ({})", service), duration_text(p.total), duration_text(p.longest),
        p.still_open == 0 ? ""
        : p.still_open == p.connections
            ? (p.connections == 1 ? "; it was still open at the end of the data" : "; all were still open at the end of the data")
            : fmt::format("; {} were still open at the end of the data", p.still_open),
        p.out, p.in);
    f.tags = {"attack.command-and-control", "attack.t1071"};
    if (tunnelling(service, port)) f.tags.push_back("attack.t1572");
    f.figures.push_back(figure("total_duration_seconds", p.total, 1));
    f.figures.push_back(figure("longest_seconds", p.longest, 1));
    f.figures.push_back(figure("connections", uint64_t(p.connections)));
    f.figures.push_back(figure("still_open", uint64_t(p.still_open)));
    f.figures.push_back(figure("bytes_out", p.out));
    f.figures.push_back(figure("bytes_in", p.in));
    if (!port.empty()) f.figures.push_back(figure("port", std::string_view(port)));
    if (!service.empty()) f.figures.push_back(figure("service", std::string_view(service)));
    out.emplace_back(std::move(f), p.total);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    if (a.first.score != b.first.score) return a.first.score > b.first.score;
    if (a.second != b.second) return a.second > b.second;
    if (a.first.src != b.first.src) return a.first.src < b.first.src;
    if (a.first.title != b.first.title) return a.first.title < b.first.title;
    return a.first.description < b.first.description;  // names the protocol (53/tcp, 53/udp)
  });
  std::vector<NetworkFinding> result;
  result.reserve(out.size());
  for (auto& x : out) result.push_back(std::move(x.first));
  return result;
}

}  // namespace vigil

#include "detection/network/beacon.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>

#include <fmt/format.h>
#include <xxhash.h>

#include "detection/network/net_fields.hpp"
#include "event/time.hpp"

namespace vigil {

using net::clamp32;
using net::host_only;
using net::is_multicast;
using net::lower;
using net::number;
using net::text;

namespace {

constexpr uint64_t kTicksPerSecond = 10'000'000;
constexpr uint64_t kHalfRange = 0x80000000ull;  // base sits this far before the first event

// Quartile by RITA's rule: the element at round(q * (n - 1)) of the sorted data.
template <class T>
T at_quantile(const std::vector<T>& sorted, double q) {
  size_t i = static_cast<size_t>(std::llround(q * static_cast<double>(sorted.size() - 1)));
  return sorted[std::min(i, sorted.size() - 1)];
}

struct Spread {
  double skew_score = 0;        // 1 - |Bowley skewness|
  double dispersion_score = 0;  // 1 - MAD / median, clamped to [0, 1]
  double median = 0;
};

// Skewness and dispersion scores of sorted data.
Spread spread(const std::vector<int64_t>& sorted) {
  Spread s;
  if (sorted.empty()) return s;
  const int64_t low = at_quantile(sorted, 0.25), mid = at_quantile(sorted, 0.5), high = at_quantile(sorted, 0.75);
  double skew = 0;
  // Bowley's skewness is 0 when the quartiles coincide (no spread, or all the spread on one side of a spike).
  if (high != low && mid != low && mid != high)
    skew = static_cast<double>(low + high - 2 * mid) / static_cast<double>(high - low);
  s.skew_score = 1.0 - std::fabs(skew);
  std::vector<int64_t> dev(sorted.size());
  for (size_t i = 0; i < sorted.size(); ++i) dev[i] = sorted[i] > mid ? sorted[i] - mid : mid - sorted[i];
  std::sort(dev.begin(), dev.end());
  const int64_t mad = at_quantile(dev, 0.5);
  if (mid > 0)
    s.dispersion_score = std::clamp(1.0 - static_cast<double>(mad) / static_cast<double>(mid), 0.0, 1.0);
  else
    s.dispersion_score = mad == 0 ? 1.0 : 0.0;
  s.median = static_cast<double>(mid);
  return s;
}

}  // namespace

uint32_t BeaconAnalyzer::seconds(uint64_t filetime) {
  const uint64_t s = filetime / kTicksPerSecond;
  if (!have_base_) {
    base_ = s > kHalfRange ? s - kHalfRange : 0;
    have_base_ = true;
  }
  const uint32_t off = s < base_ ? 0 : clamp32(s - base_);
  min_sec_ = std::min(min_sec_, off);
  max_sec_ = std::max(max_sec_, off);
  return off;
}

void BeaconAnalyzer::add(const Event& ev) {
  if (const Value* path = ev.get("_path")) {
    if (ev.time != 0) add_zeek(ev, path->as_string());
    return;
  }
  if (text(ev.get("Channel")) == "Microsoft-Windows-Sysmon/Operational") {
    uint64_t id = 0;
    if (number(ev.get("EventID"), id) && id == 3) add_sysmon(ev);
  }
}

void BeaconAnalyzer::add_zeek(const Event& ev, std::string_view path) {
  if (path != "conn" && path != "http" && path != "ssl") return;
  if (text(ev.get("uid")).empty() || text(ev.get("id.orig_h")).empty()) return;
  ++used_;
  seconds(ev.time);  // the observation period
  if (feeds_join_) join_->add(ev, path);
}

void BeaconAnalyzer::add_sysmon(const Event& ev) {
  const std::string_view src = text(ev.get("SourceIp"));
  std::string_view dst = text(ev.get("DestinationHostname"));
  bool named = !dst.empty() && dst != "-";
  if (!named) dst = text(ev.get("DestinationIp"));
  if (src.empty() || dst.empty()) return;
  if (!named && t_.skip_multicast && is_multicast(dst)) return;
  // UtcTime is when the connection was seen; the record's time is when it was logged.
  uint64_t when = ev.time;
  if (const Value* utc = ev.get("UtcTime")) {
    if (utc->type == ValueType::Time) when = utc->u;
    else if (auto t = parse_iso_time(utc->as_string())) when = *t;
  }
  if (when == 0) return;
  ++used_;
  const PairKey key{join_->intern(src), join_->intern(named ? lower(dst) : std::string(dst))};
  direct_[key].push_back(Point{seconds(when), 0, 0, false});
  if (named) direct_named_[key] = true;
}

std::vector<Beacon> BeaconAnalyzer::results() const {
  // Gather every connection under its pair: a conn record under the name its
  // http/ssl records give, else its responder IP; http/ssl records with no
  // conn record on their own. One flat array sorted by pair and time (24
  // bytes a connection, no allocation per pair).
  struct Item {
    uint64_t pair;  // src << 32 | dst
    Point p;
  };
  auto pack = [](uint32_t src, uint32_t dst) { return uint64_t(src) << 32 | dst; };
  std::vector<Item> items;
  for (const auto& [key, list] : direct_) {
    const bool is_named = direct_named_.count(key) != 0;
    for (Point p : list) {
      p.named = is_named;
      items.push_back(Item{pack(key.src, key.dst), p});
    }
  }
  // DNS connections (port 53 or service dns) stay out: resolvers are asked all day.
  std::unordered_map<uint32_t, bool> dns_port;
  auto is_dns = [&](const net::ConnJoin::Conn& c) {
    if (!t_.skip_dns) return false;
    if (c.service != kNone && join_->str(c.service) == "dns") return true;
    if (c.port == kNone) return false;
    auto [it, fresh] = dns_port.try_emplace(c.port, false);
    if (fresh) it->second = join_->str(c.port).rfind("53/", 0) == 0 || join_->str(c.port) == "53";
    return it->second;
  };
  const auto& conns = join_->conns();
  items.reserve(items.size() + conns.size());
  for (const net::ConnJoin::Conn& c : conns) {
    if (c.src == kNone || c.start == 0 || is_dns(c)) continue;
    const uint32_t dst = c.name != kNone ? c.name : c.ip;
    if (dst == kNone) continue;
    const uint64_t s = c.start / kTicksPerSecond;
    const uint32_t sec = s < base_ ? 0 : clamp32(s - base_);
    items.push_back(Item{pack(c.src, dst), Point{sec, clamp32(c.out), clamp32(c.in), c.has_bytes, c.name != kNone}});
  }
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    return a.pair != b.pair ? a.pair < b.pair : a.p.sec < b.p.sec;
  });

  const double period = max_sec_ > min_sec_ ? static_cast<double>(max_sec_ - min_sec_) : 0.0;
  const double width = t_.histogram_bucket_seconds > 0 ? t_.histogram_bucket_seconds : 3600.0;
  const size_t buckets = std::max<size_t>(1, static_cast<size_t>(std::llround(period / width)));

  std::vector<Beacon> out;
  std::vector<Point> points;
  for (size_t next = 0; next < items.size();) {
    const size_t begin = next;
    bool is_named = false;
    while (next < items.size() && items[next].pair == items[begin].pair) is_named |= items[next++].p.named;
    if (next - begin < t_.min_connections || next - begin < 3) continue;
    const PairKey key{uint32_t(items[begin].pair >> 32), uint32_t(items[begin].pair)};
    // Pairs out of scope: multicast destinations, traffic not leaving the network.
    const std::string_view src = join_->str(key.src), dst = join_->str(key.dst);
    if (!is_named && t_.skip_multicast && is_multicast(dst)) continue;
    if (scope_ && !scope_->leaving(src, is_named ? std::string_view() : dst, is_named ? dst : std::string_view()))
      continue;
    points.clear();
    for (size_t k = begin; k < next; ++k) points.push_back(items[k].p);
    Beacon b;
    b.src = std::string(src);
    b.dst = std::string(dst);
    b.dst_is_name = is_named;
    b.connections = static_cast<uint32_t>(points.size());
    b.first_time = (base_ + points.front().sec) * kTicksPerSecond;
    b.last_time = (base_ + points.back().sec) * kTicksPerSecond;

    // Timing: the intervals between consecutive connections.
    std::vector<int64_t> deltas(points.size() - 1);
    for (size_t i = 1; i < points.size(); ++i) deltas[i - 1] = int64_t(points[i].sec) - int64_t(points[i - 1].sec);
    std::sort(deltas.begin(), deltas.end());
    const Spread ts = spread(deltas);
    b.timing_skew = ts.skew_score;
    b.timing_dispersion = ts.dispersion_score;
    b.timing = (ts.skew_score + ts.dispersion_score) / 2.0;
    b.median_interval = ts.median;

    // Size: bytes the source sent per connection.
    std::vector<int64_t> sizes;
    sizes.reserve(points.size());
    for (const Point& p : points) {
      b.total_bytes += uint64_t(p.sent) + p.recv;
      if (p.has_bytes) sizes.push_back(p.sent);
    }
    if (!sizes.empty()) {
      std::sort(sizes.begin(), sizes.end());
      const Spread ds = spread(sizes);
      size_t best = 0;
      for (size_t i = 0; i < sizes.size();) {
        size_t j = i;
        while (j < sizes.size() && sizes[j] == sizes[i]) ++j;
        if (j - i > best) {
          best = j - i;
          b.mode_bytes = static_cast<uint64_t>(sizes[i]);
        }
        i = j;
      }
      b.size_known = true;
      b.size_skew = ds.skew_score;
      b.size_dispersion = ds.dispersion_score;
      // Concentration: the share of connections within size_tolerance of the median
      // (padding and small fields vary a few bytes in a beacon's requests).
      const double tol = std::max(1.0, ds.median * t_.size_tolerance);
      size_t near = 0;
      for (int64_t x : sizes) near += std::fabs(static_cast<double>(x) - ds.median) <= tol;
      b.size_mode = static_cast<double>(near) / static_cast<double>(sizes.size());
      b.size = (b.size_skew + b.size_dispersion + b.size_mode) / 3.0;
    }

    // Duration and histogram: how the connections sit in the observation period.
    std::vector<uint32_t> counts(buckets, 0);
    for (const Point& p : points) {
      size_t i = period > 0 ? static_cast<size_t>(static_cast<double>(p.sec - min_sec_) / period * buckets) : 0;
      ++counts[std::min(i, buckets - 1)];
    }
    size_t seen = 0;
    uint32_t busiest = 0;
    for (uint32_t n : counts) {
      seen += n != 0;
      busiest = std::max(busiest, n);
    }
    b.coverage = period > 0 ? static_cast<double>(points.back().sec - points.front().sec) / period : 1.0;
    b.consistency = static_cast<double>(seen) / static_cast<double>(buckets);
    b.duration = std::max(b.coverage, b.consistency);

    const double mean = static_cast<double>(points.size()) / static_cast<double>(buckets);
    double var = 0;
    for (uint32_t n : counts) var += (n - mean) * (n - mean);
    var /= static_cast<double>(buckets);
    const double flatness = buckets == 1 ? 1.0 : 1.0 - std::min(1.0, std::sqrt(var) / mean);
    double bimodal = 0;
    if (seen >= t_.bimodal_min_hours) {
      // Two levels (say busy by day, quiet by night) are regular too: the share of
      // buckets whose count falls in the two most common count bins.
      const uint32_t bin = std::max<uint32_t>(1, static_cast<uint32_t>(std::ceil(busiest * t_.bimodal_bin_fraction)));
      std::map<uint32_t, size_t> bins;
      for (uint32_t n : counts) ++bins[n / bin];
      std::vector<size_t> sizes_of;
      for (const auto& [k, v] : bins) sizes_of.push_back(v);
      std::sort(sizes_of.rbegin(), sizes_of.rend());
      size_t top = sizes_of[0] + (sizes_of.size() > 1 ? sizes_of[1] : 0);
      bimodal = static_cast<double>(top) / static_cast<double>(buckets);
    }
    b.histogram = std::max(flatness, bimodal);

    double sum = b.timing + b.duration + b.histogram;
    double parts = 3;
    if (b.size_known) {
      sum += b.size;
      parts += 1;
    }
    b.score = sum / parts;
    if (b.score < t_.min_score) continue;
    out.push_back(std::move(b));
  }
  std::sort(out.begin(), out.end(), [](const Beacon& a, const Beacon& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.src != b.src) return a.src < b.src;
    return a.dst < b.dst;
  });
  return out;
}

std::vector<NetworkFinding> BeaconAnalyzer::findings() const {
  std::vector<NetworkFinding> out;
  for (const Beacon& b : results()) {
    NetworkFinding f;
    f.analytic = "beacon";
    f.src = b.src;
    f.dst = b.dst;
    f.score = b.score;
    f.first_time = b.first_time;
    f.last_time = b.last_time;
    f.title = fmt::format("Beaconing: {} to {} (score {:.2f})", b.src, b.dst, b.score);
    f.description = fmt::format(
        "{} connections from {} to {} at regular intervals (median {:.0f} s): timing {:.3f}, size {}, duration "
        "{:.3f}, histogram {:.3f}. Regular check-ins to one destination are how implants call home; see "
        "docs/analytics.md for the method.",
        b.connections, b.src, b.dst, b.median_interval, b.timing,
        b.size_known ? fmt::format("{:.3f}", b.size) : std::string("unknown"), b.duration, b.histogram);
    f.tags = {"attack.command-and-control", "attack.t1071"};
    if (b.dst_is_name) f.tags.push_back("attack.t1071.001");
    f.figures.push_back(figure("connections", uint64_t(b.connections)));
    f.figures.push_back(figure("score", b.score));
    f.figures.push_back(figure("timing", b.timing));
    if (b.size_known) f.figures.push_back(figure("size", b.size));
    f.figures.push_back(figure("duration", b.duration));
    f.figures.push_back(figure("histogram", b.histogram));
    f.figures.push_back(figure("median_interval_seconds", b.median_interval, 1));
    if (b.size_known) f.figures.push_back(figure("mode_bytes", b.mode_bytes));
    f.figures.push_back(figure("total_bytes", b.total_bytes));
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace vigil

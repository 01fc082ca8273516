// Beaconing analytic: finds pairs (source IP, destination) whose connections come
// at regular intervals with regular sizes, the way RITA scores beacons. See
// docs/analytics.md "Beaconing" for the method.
//
// Fed events one at a time, in any order: Zeek conn, http and ssl events and
// Sysmon EventID 3 (network connection). Other events are ignored. The analyzer
// copies what it needs, so events may die after add() returns.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "detection/network/analytic.hpp"
#include "detection/network/conn_join.hpp"
#include "detection/network/scope.hpp"
#include "event/event.hpp"

namespace vigil {

struct BeaconThresholds {
  uint32_t min_connections = 20;     // fewer connections: no score
  double min_score = 0.0;            // results() leaves out pairs scoring below this
  uint32_t bimodal_min_hours = 11;   // hours with connections needed before a two-level histogram counts as regular
  double bimodal_bin_fraction = 0.05;  // width of a count bin in the bimodal test, as a fraction of the busiest hour
  double histogram_bucket_seconds = 3600;  // histogram bucket width (hours)
  double size_tolerance = 0.05;      // sizes within this fraction of the median (at least 1 byte) count as the same size
  bool skip_multicast = true;        // leave out pairs whose destination is a multicast or broadcast address
  bool skip_dns = true;              // leave out DNS (port 53) connections: resolvers are asked all the time; DNS C2 is the tunnel analytic's
};

struct Beacon {
  std::string src;                  // source IP
  std::string dst;                  // destination name (HTTP host, SNI, proxy CONNECT host) or IP
  bool dst_is_name = false;
  uint32_t connections = 0;
  double score = 0;                 // mean of the parts below (size left out when no byte counts are known)
  double timing = 0;                // intervals: mean of skew and dispersion scores
  double timing_skew = 0;
  double timing_dispersion = 0;
  double size = 0;                  // bytes sent per connection: mean of skew, dispersion, mode scores
  double size_skew = 0;
  double size_dispersion = 0;
  double size_mode = 0;             // concentration: share of connections within size_tolerance of the median size
  bool size_known = false;          // false when no connection carried byte counts (Sysmon)
  double duration = 0;              // max(coverage, consistency) over the observation period
  double coverage = 0;              // (last - first) / observation period
  double consistency = 0;           // share of histogram buckets of the period holding a connection
  double histogram = 0;             // max(flatness, bimodal fit) of connections per hour
  uint64_t first_time = 0;          // FILETIME ticks
  uint64_t last_time = 0;
  double median_interval = 0;       // seconds
  uint64_t mode_bytes = 0;          // most common bytes sent per connection
  uint64_t total_bytes = 0;         // sent + received over all connections
};

class BeaconAnalyzer : public NetworkAnalytic {
 public:
  // Without a scope every pair is scored; with one, only traffic leaving the network.
  // With a shared connection store, whoever shares it feeds it; alone, the
  // analyzer keeps and feeds its own.
  explicit BeaconAnalyzer(BeaconThresholds t = {}, const NetworkScope* scope = nullptr,
                          std::shared_ptr<net::ConnJoin> shared = nullptr)
      : t_(t), scope_(scope), feeds_join_(!shared),
        join_(shared ? std::move(shared) : std::make_shared<net::ConnJoin>()) {}

  void add(const Event& ev) override;
  // Scored pairs (at least min_connections, at least min_score), highest score first.
  std::vector<Beacon> results() const;
  // The same, as findings (analytic "beacon").
  std::vector<NetworkFinding> findings() const override;

  uint64_t events_used() const { return used_; }

 private:
  // A connection with no uid (Sysmon) goes straight to its pair; results() gathers all as these.
  struct Point {
    uint32_t sec;
    uint32_t sent, recv;
    bool has_bytes;
    bool named = false;  // the destination is a name (HTTP host, SNI, Sysmon DestinationHostname)
  };
  struct PairKey {
    uint32_t src, dst;
    bool operator==(const PairKey&) const = default;
  };
  struct PairHash {
    size_t operator()(const PairKey& k) const { return (uint64_t(k.src) << 32 | k.dst) * 0x9E3779B97F4A7C15ull >> 16; }
  };
  static constexpr uint32_t kNone = 0xFFFFFFFFu;

  uint32_t seconds(uint64_t filetime);
  void add_zeek(const Event& ev, std::string_view path);
  void add_sysmon(const Event& ev);

  BeaconThresholds t_;
  const NetworkScope* scope_ = nullptr;
  bool feeds_join_;
  std::shared_ptr<net::ConnJoin> join_;            // Zeek connections; strings of every pair
  std::unordered_map<PairKey, std::vector<Point>, PairHash> direct_;
  std::unordered_map<PairKey, bool, PairHash> direct_named_;
  uint64_t base_ = 0;                 // FILETIME seconds of the first event, minus a margin
  bool have_base_ = false;
  uint32_t min_sec_ = 0xFFFFFFFFu, max_sec_ = 0;  // observation period
  uint64_t used_ = 0;
};

}  // namespace vigil

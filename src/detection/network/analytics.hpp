// Every network analytic behind one door: the hunt hands it the network events
// (Zeek conn/open_conn/http/ssl/dns/files, Sysmon EventID 3 and 22) in input
// order and asks for the findings at the end.
#pragma once
#include <memory>
#include <vector>

#include "detection/network/analytic.hpp"
#include "detection/network/conn_join.hpp"
#include "detection/network/network_config.hpp"

namespace vigil {

struct NetworkAnalyticsOptions {
  bool beacons = true;
  bool others = true;  // every analytic but beaconing
};

class NetworkAnalytics {
 public:
  explicit NetworkAnalytics(const NetworkConfig& config, NetworkAnalyticsOptions options = {});

  // Whether an event is one any analytic reads (cheap: checked for every event).
  static bool wants(const Event& ev);
  void add(const Event& ev);
  uint64_t events_used() const { return used_; }
  // Whether any connection came from an internal network: when none did, the
  // analyses of traffic leaving the network had nothing to look at (the
  // internal networks are probably not set for this data).
  bool saw_internal_source() const { return saw_internal_; }
  // All findings, best first within each analytic, analytics in a fixed order.
  std::vector<NetworkFinding> findings() const;

 private:
  const NetworkConfig& config_;
  std::shared_ptr<net::ConnJoin> join_ = std::make_shared<net::ConnJoin>();
  std::vector<std::unique_ptr<NetworkAnalytic>> analytics_;
  uint64_t used_ = 0;
  bool saw_internal_ = false;
};

}  // namespace vigil

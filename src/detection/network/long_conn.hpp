// Long connections: pairs (source IP, destination and port) whose connections
// stay open for hours, as an interactive C2 channel, a reverse shell or a
// tunnel does. Connections still open at the end of the data (Zeek open_conn)
// count with the duration they had so far. See docs/analytics.md "Long
// connections" for the method and score.
//
// Fed Zeek conn, open_conn, http and ssl events in any order (http/ssl only name
// the destination behind a proxy). Sysmon network events carry no duration and
// are ignored.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "detection/network/analytic.hpp"
#include "detection/network/conn_join.hpp"
#include "detection/network/scope.hpp"

namespace vigil {

struct LongConnectionThresholds {
  double min_single_seconds = 3600;       // one connection this long reports its pair (RITA's base, 1 h)
  double min_total_seconds = 4 * 3600;    // so do connections adding up to this (RITA's low, 4 h)
  double medium_seconds = 4 * 3600;       // effective duration scoring 0.7 (the default medium level)
  double high_seconds = 12 * 3600;        // effective duration scoring 0.9 (the default high level; RITA's high)
  double min_score = 0;                   // leave out findings scoring below this
  bool skip_multicast = true;             // leave out multicast and broadcast destinations
};

class LongConnectionAnalyzer : public NetworkAnalytic {
 public:
  // With a shared connection store, whoever shares it feeds it (add() does
  // not); alone, the analyzer keeps and feeds its own.
  LongConnectionAnalyzer(const LongConnectionThresholds& t, const NetworkScope& scope, std::shared_ptr<net::ConnJoin> shared = nullptr)
      : t_(t), scope_(scope), feeds_join_(!shared), join_(shared ? std::move(shared) : std::make_shared<net::ConnJoin>()) {}

  void add(const Event& ev) override;
  std::vector<NetworkFinding> findings() const override;

  // The score of an effective duration in seconds (the longest connection plus
  // half of the rest of the pair's total): 0.5 at min_single_seconds, 0.7 at
  // medium_seconds, 0.9 at high_seconds, then towards 1 (0.95 at twice high).
  double score_of(double effective_seconds) const;

 private:
  LongConnectionThresholds t_;
  NetworkScope scope_;
  bool feeds_join_;
  std::shared_ptr<net::ConnJoin> join_;
};

}  // namespace vigil

// The interface of every network analytic (beaconing, long connections, DNS
// tunnelling, uploads, rare signatures). An analytic is fed events one at a
// time in any order, copies the little it needs into compact per-pair state
// (events may die after add() returns), and reports findings at the end.
#pragma once
#include <vector>

#include "detection/network/finding.hpp"
#include "event/event.hpp"

namespace vigil {

class NetworkAnalytic {
 public:
  virtual ~NetworkAnalytic() = default;
  virtual void add(const Event& ev) = 0;
  // Findings at or above the analytic's reporting threshold, best first.
  virtual std::vector<NetworkFinding> findings() const = 0;
};

}  // namespace vigil

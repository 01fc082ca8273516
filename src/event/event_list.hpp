// Events that outlive their reader's batch: deep copies whose text lives in the
// list's own arena. Workers use it to hand the few events a later, ordered
// stage needs (network connections for the network analytics) to that stage.
#pragma once
#include <cstddef>
#include <vector>

#include "event/arena.hpp"
#include "event/event.hpp"

namespace vigil {

class EventList {
 public:
  EventList() = default;
  EventList(EventList&&) noexcept = default;
  EventList& operator=(EventList&&) noexcept = default;

  void add(const Event& ev);
  size_t size() const { return events_.size(); }
  bool empty() const { return events_.empty(); }
  const Event& operator[](size_t i) const { return events_[i]; }
  auto begin() const { return events_.begin(); }
  auto end() const { return events_.end(); }

 private:
  Value copy(const Value& v);

  Arena arena_{16 * 1024};
  std::vector<Event> events_;
};

}  // namespace vigil

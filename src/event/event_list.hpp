// Events that outlive their reader's batch, kept compactly: each event's flat
// index (canonical name, path and value of every field) serialised into one
// buffer, a few hundred bytes for a Zeek connection instead of the ~1.5 KB of
// its tree. Workers use it to hand the events a later, ordered stage needs
// (network connections for the network analytics) to that stage; for_each()
// rebuilds each event (the flat index, with one node per field and no tree)
// for the time of one call.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "event/event.hpp"

namespace vigil {

class EventList {
 public:
  void add(const Event& ev);
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  size_t bytes() const { return buf_.size(); }
  // Calls f with each event in the order added. The event (and its text) is
  // valid during the call only.
  void for_each(const std::function<void(const Event&)>& f) const;

 private:
  void put_value(const Value& v);

  std::string buf_;
  size_t count_ = 0;
};

}  // namespace vigil

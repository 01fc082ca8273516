// A detection: one rule (or indicator, or analytic) that fired on one event,
// with what a hunter needs to read it without going back to the evidence.
#pragma once
#include <cstdint>
#include <string>

#include "event/event.hpp"

namespace vigil {

struct Detection {
  uint32_t rule = 0;       // index into the RuleSet's rules
  uint64_t time = 0;       // event time, FILETIME ticks (0 when unknown)
  uint64_t record_id = 0;  // EVTX record id, or line number
  uint32_t source = 0;     // index of the input file
  uint64_t sequence = 0;   // position of the event in the input, for a stable order
  std::string computer, channel;
  int64_t event_id = -1;
  std::string event_json;  // the event's canonical fields as one JSON object
};

// Fills the event-derived parts of a detection (computer, channel, id, JSON).
void describe_event(const Event& ev, Detection& d);

}  // namespace vigil

namespace vigil {

// Timeline order: by event time, then by position in the input, then by rule;
// events without a time go last. A total order, so the output never depends on
// the thread count.
inline bool timeline_before(const Detection& a, const Detection& b) {
  if ((a.time == 0) != (b.time == 0)) return a.time != 0;
  if (a.time != b.time) return a.time < b.time;
  if (a.sequence != b.sequence) return a.sequence < b.sequence;
  return a.rule < b.rule;
}

}  // namespace vigil

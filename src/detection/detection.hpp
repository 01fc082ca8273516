// A detection: one rule (or indicator, or analytic) that fired on one event,
// with what a hunter needs to read it without going back to the evidence.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "event/event.hpp"

namespace vigil {

// Detection::source of a detection that stands for no single input (network findings).
inline constexpr uint32_t kNoSource = 0xFFFFFFFFu;

struct Detection {
  uint32_t rule = 0;       // index into the RuleSet's rules
  uint64_t time = 0;       // event time, FILETIME ticks (0 when unknown)
  uint64_t record_id = 0;  // EVTX record id, or line number
  uint32_t source = 0;     // index of the input file; kNoSource for findings over many files
  uint64_t sequence = 0;   // position of the event in the input, for a stable order
  std::string computer, channel;
  int64_t event_id = -1;
  std::string event_json;  // the event's canonical fields as one JSON object
  // Why it fired: a JSON array of {"selection","field","value"} objects, one per
  // field value that satisfied a selection of the rule (see Matcher::explain).
  std::string explain_json;
  // Hashes of the process and logon identities the event names (ProcessGuid,
  // LogonId...), which chain detections into stories. Not kept past the story
  // builder (not written to spill files).
  std::vector<uint64_t> links;
  // For a correlation: its window, group, value and base events, as a JSON object.
  std::string correlation_json;
  // For an indicator hit: the indicator (type, value, id, name, source,
  // confidence, labels, validity), as a JSON object.
  std::string indicator_json;
  uint32_t story = 0;     // 1-based story (incident) id; 0 for none
  uint64_t count = 1;     // identical detections folded into this one (--dedup)
  uint64_t last_time = 0; // with count > 1: time of the last of them
};

// Fills the event-derived parts of a detection (computer, channel, id, JSON, links).
void describe_event(const Event& ev, Detection& d);

// The identities an event carries that tie it to other events on the same
// computer: its process and parent process (ProcessGuid, or ProcessId when no
// GUID) and its logon sessions (LogonId, TargetLogonId, SubjectLogonId), except
// the well-known system sessions that every service shares.
void event_links(const Event& ev, std::vector<uint64_t>& links);

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

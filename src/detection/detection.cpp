#include "detection/detection.hpp"

#include <cstdlib>
#include <vector>

namespace vigil {

void describe_event(const Event& ev, Detection& d) {
  static const NameId kComputer = intern("Computer"), kChannel = intern("Channel"), kEventId = intern("EventID");
  d.time = ev.time;
  d.record_id = ev.record_id;
  d.source = ev.source;
  d.computer.clear();
  d.channel.clear();
  d.event_id = -1;
  if (const Value* v = ev.get(kComputer)) append_text(d.computer, *v);
  if (const Value* v = ev.get(kChannel)) append_text(d.channel, *v);
  if (const Value* v = ev.get(kEventId)) {
    std::string t;
    append_text(t, *v);
    char* end = nullptr;
    const long long n = std::strtoll(t.c_str(), &end, 10);
    if (!t.empty() && end && *end == 0) d.event_id = n;
  }
  // Canonical fields, first value of each name, in document order.
  std::string& j = d.event_json;
  j.clear();
  j += '{';
  std::vector<NameId> seen;
  for (const Field& f : ev.fields) {
    bool dup = false;
    for (NameId s : seen)
      if (s == f.name) dup = true;
    if (dup) continue;
    seen.push_back(f.name);
    if (j.size() > 1) j += ',';
    append_json_string(j, name_text(f.name));
    j += ':';
    append_json(j, ev.nodes[f.node].value);
  }
  j += '}';
}

}  // namespace vigil

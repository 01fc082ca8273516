#include "detection/detection.hpp"

#include <xxhash.h>

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
  // Network logs (Zeek) have no computer: the host that opened the connection
  // stands for it, so its detections share a story.
  static const NameId kOrigHost = intern("id.orig_h");
  if (d.computer.empty())
    if (const Value* v = ev.get(kOrigHost)) append_text(d.computer, *v);
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
  j.reserve(1024);
  j += '{';
  // Names already written, by a stamp per interned name (events have ~50
  // fields: comparing each with all before it cost more than writing them).
  thread_local std::vector<uint32_t> written;
  thread_local uint32_t stamp = 0;
  // Each name as JSON with its colon, made once per thread: events repeat a
  // few hundred names, and escaping each again cost a quarter of this.
  thread_local std::vector<std::string> name_json;
  if (++stamp == 0) {
    std::fill(written.begin(), written.end(), 0);
    stamp = 1;
  }
  for (const Field& f : ev.fields) {
    if (f.name >= written.size()) {
      written.resize(f.name + 1, 0);
      name_json.resize(f.name + 1);
    }
    if (written[f.name] == stamp) continue;
    written[f.name] = stamp;
    std::string& name = name_json[f.name];
    if (name.empty()) {
      append_json_string(name, name_text(f.name));
      name += ':';
    }
    if (j.size() > 1) j += ',';
    j += name;
    append_json(j, ev.nodes[f.node].value);
  }
  j += '}';
  event_links(ev, d.links);
}

namespace {

// A process or logon id as a number ("0x1a4", "420", "{...}" GUIDs are kept as
// lower-case text). Empty when it names nothing.
std::string identity_text(const Value& v) {
  std::string t;
  append_text(t, v);
  if (t.empty() || t == "-") return {};
  if (t.front() == '{') {
    for (char& c : t) c = (c >= 'A' && c <= 'Z') ? char(c + 32) : c;
    return t == "{00000000-0000-0000-0000-000000000000}" ? std::string() : t;
  }
  char* end = nullptr;
  const bool hex = t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X');
  const unsigned long long n = std::strtoull(t.c_str(), &end, hex ? 16 : 10);
  if (!end || *end != 0) return t;
  return n == 0 ? std::string() : std::to_string(n);
}

void add_link(std::vector<uint64_t>& links, char kind, const std::string& id) {
  if (id.empty()) return;
  std::string key(1, kind);
  key += id;
  const uint64_t h = XXH3_64bits(key.data(), key.size());
  for (uint64_t x : links)
    if (x == h) return;
  links.push_back(h);
}

}  // namespace

void event_links(const Event& ev, std::vector<uint64_t>& links) {
  static const NameId kProcessGuid = intern("ProcessGuid"), kParentProcessGuid = intern("ParentProcessGuid"),
                      kNewProcessId = intern("NewProcessId"), kProcessId = intern("ProcessId"),
                      kParentProcessId = intern("ParentProcessId"), kLogonId = intern("LogonId"),
                      kTargetLogonId = intern("TargetLogonId"), kSubjectLogonId = intern("SubjectLogonId");
  links.clear();
  auto text = [&ev](NameId n) {
    const Value* v = ev.get(n);
    return v ? identity_text(*v) : std::string();
  };
  // Processes: Sysmon's GUIDs are unique; bare ids (Security 4688) are reused
  // by Windows, but within one story's time span they are good enough.
  if (ev.get(kProcessGuid)) {
    add_link(links, 'G', text(kProcessGuid));
    add_link(links, 'G', text(kParentProcessGuid));
  } else if (ev.get(kNewProcessId)) {
    add_link(links, 'P', text(kNewProcessId));
    add_link(links, 'P', text(kProcessId));  // the creator
  } else {
    const std::string pid = text(kProcessId);
    if (pid != "4") add_link(links, 'P', pid);  // 4 is the System process
    add_link(links, 'P', text(kParentProcessId));
  }
  // Logon sessions, without SYSTEM (0x3e7), LOCAL SERVICE (0x3e5), NETWORK
  // SERVICE (0x3e4) and anonymous (0x3e6), which every service shares.
  for (NameId n : {kLogonId, kTargetLogonId, kSubjectLogonId}) {
    const std::string id = text(n);
    if (id == "999" || id == "997" || id == "996" || id == "998") continue;
    add_link(links, 'L', id);
  }
}

}  // namespace vigil

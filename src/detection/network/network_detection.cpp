#include "detection/network/network_detection.hpp"

#include <fmt/format.h>

#include "event/time.hpp"
#include "event/value.hpp"

namespace vigil {

sigma::Rule finding_rule(const NetworkFinding& f, const NetworkLevels& levels) {
  sigma::Rule r;
  r.id = "vigil-net:" + f.analytic + ":" + f.src + "->" + f.dst;
  r.title = f.title;
  r.status = "analytic";
  r.level = f.score >= levels.high ? sigma::Level::High
            : f.score >= levels.medium ? sigma::Level::Medium
                                       : sigma::Level::Low;
  r.level_given = true;
  r.description = f.description;
  r.tags = f.tags;
  r.path = "docs/analytics.md";
  return r;
}

Detection finding_detection(const NetworkFinding& f, uint32_t rule, uint64_t sequence) {
  Detection d;
  d.rule = rule;
  d.time = f.last_time;
  d.sequence = sequence;
  d.computer = f.src;
  d.source = kNoSource;
  std::string& e = d.event_json;
  e = "{\"analytic\":";
  append_json_string(e, f.analytic);
  e += ",\"src\":";
  append_json_string(e, f.src);
  e += ",\"dst\":";
  append_json_string(e, f.dst);
  e += fmt::format(",\"score\":{:.3f}", f.score);
  for (const Figure& x : f.figures) {
    if (x.name == "score") continue;
    e += ',';
    append_json_string(e, x.name);
    e += ':';
    e += x.json;
  }
  e += ",\"first\":";
  append_time_json(e, f.first_time);
  e += ",\"last\":";
  append_time_json(e, f.last_time);
  e += '}';
  d.explain_json = "[";
  for (const Figure& x : f.figures) {
    if (d.explain_json.size() > 1) d.explain_json += ',';
    d.explain_json += "{\"selection\":";
    append_json_string(d.explain_json, f.analytic);
    d.explain_json += ",\"field\":";
    append_json_string(d.explain_json, x.name);
    d.explain_json += ",\"value\":";
    append_json_string(d.explain_json, x.text);
    d.explain_json += '}';
  }
  d.explain_json += ']';
  return d;
}

}  // namespace vigil

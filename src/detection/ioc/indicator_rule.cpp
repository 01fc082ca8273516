#include "detection/ioc/indicator_rule.hpp"

#include <fmt/format.h>

#include "detection/attack.hpp"
#include "event/text.hpp"
#include "event/time.hpp"
#include "event/value.hpp"

namespace vigil::ioc {

// The JSON of an indicator, for the detections it makes.
std::string indicator_json(const Indicator& ind) {
  std::string j = "{\"type\":";
  append_json_string(j, indicator_type_name(ind.type));
  j += ",\"value\":";
  append_json_string(j, ind.value);
  j += ",\"id\":";
  append_json_string(j, ind.id);
  j += ",\"name\":";
  append_json_string(j, ind.name);
  j += ",\"source\":";
  append_json_string(j, ind.source);
  j += ",\"confidence\":";
  j += ind.confidence >= 0 ? std::to_string(ind.confidence) : std::string("null");
  j += ",\"labels\":[";
  for (size_t i = 0; i < ind.labels.size(); ++i) {
    if (i) j += ',';
    append_json_string(j, ind.labels[i]);
  }
  j += "],\"valid_from\":";
  append_time_json(j, ind.valid_from);
  j += ",\"valid_until\":";
  append_time_json(j, ind.valid_until);
  j += '}';
  return j;
}

// A rule standing for one indicator, so that its hits read like any detection:
// title, level (from the indicator's confidence), ATT&CK tags from its labels.
sigma::Rule indicator_rule(const Indicator& ind) {
  sigma::Rule r;
  r.id = ind.id;
  r.title = fmt::format("Threat intelligence: {} {}", indicator_type_name(ind.type), ind.value);
  if (!ind.name.empty() && ind.name != ind.value) r.title += " (" + ind.name + ")";
  r.status = "indicator";
  r.level = ind.confidence < 0 || ind.confidence >= 70 ? sigma::Level::High
            : ind.confidence >= 30                     ? sigma::Level::Medium
                                                       : sigma::Level::Low;
  r.level_given = true;
  r.description = fmt::format("An event holds the {} indicator `{}` from {}.", indicator_type_name(ind.type),
                              ind.value, ind.source);
  if (!ind.labels.empty()) {
    r.description += " Labels:";
    for (const auto& l : ind.labels) r.description += " " + l + ";";
    r.description.pop_back();
    r.description += '.';
  }
  r.path = ind.source;
  r.references.push_back(ind.source);
  for (const auto& l : ind.labels) {
    const std::string tech = Attack::technique_id("attack." + ascii_lower(l));
    if (!tech.empty()) r.tags.push_back("attack." + ascii_lower(l));
    else r.tags.push_back("intel." + l);
  }
  return r;
}

}  // namespace vigil::ioc

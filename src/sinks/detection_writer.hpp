// Writes detections: a terminal timeline, or one JSON object per line.
#pragma once
#include <cstdio>
#include <string>
#include <vector>

#include "detection/detection.hpp"
#include "detection/sigma/rule.hpp"

namespace vigil {

struct DetectionContext {
  const std::vector<sigma::Rule>* rules;
  const std::vector<std::string>* sources;  // input paths by index
};

// One JSON object (no newline): timestamp, rule_id, rule_title, level, status,
// tags, computer, channel, event_id, record_id, source, event.
void append_detection_json(std::string& out, const Detection& d, const DetectionContext& ctx);

// One entry of the terminal timeline: time, computer, level, rule title, and the
// event's most telling fields. `color` adds ANSI colours by level.
void write_timeline_entry(std::FILE* out, const Detection& d, const DetectionContext& ctx, bool color);

// "2026-03-10T09:13:05.771000Z", or "-" when unknown.
std::string format_time(uint64_t filetime);

}  // namespace vigil

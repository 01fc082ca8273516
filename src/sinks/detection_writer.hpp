// Writes detections: a terminal timeline, or one JSON object per line.
#pragma once
#include <cstdio>
#include <string>
#include <vector>

#include "detection/detection.hpp"
#include "detection/sigma/rule.hpp"
#include "sinks/report.hpp"

namespace vigil {

// One JSON object (no newline): type ("detection"), timestamp, rule_id,
// rule_title, level, status, tags, computer, channel, event_id, record_id,
// source, story, count (and last_timestamp when count > 1), matched (why it
// fired: selection, field, value), event.
void append_detection_json(std::string& out, const Detection& d, const DetectionContext& ctx);

// One entry of the terminal timeline: time, computer, level, rule title, and the
// event's most telling fields; with `explain`, the values that made it fire.
// `color` adds ANSI colours by level.
void write_timeline_entry(std::FILE* out, const Detection& d, const DetectionContext& ctx, bool color,
                          bool explain = false);

// "2026-03-10T09:13:05.771000Z", or "-" when unknown.
std::string format_time(uint64_t filetime);

// The explain entries of a detection as "selection: field = value" lines.
std::vector<std::string> explain_lines(const Detection& d);

// The event's most telling fields as "Name: value  Name: value" (at most three).
std::string summary_fields(const Detection& d);

}  // namespace vigil

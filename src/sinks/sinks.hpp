// The output formats of a hunt that write text: the terminal timeline, JSON
// lines, CSV (Timesketch) and the ATT&CK Navigator layer. The HTML report and
// the SQLite database have their own headers. Each writes to a FILE the caller
// owns.
#pragma once
#include <cstdio>
#include <memory>

#include "sinks/report.hpp"

namespace vigil {

struct TableOptions {
  bool color = false;    // ANSI colours by level (only for a terminal)
  bool explain = false;  // show which selections matched, with their values
};

std::unique_ptr<DetectionSink> make_table_sink(std::FILE* out, const DetectionContext& ctx, TableOptions options);
// One detection per line (see append_detection_json), then one line per story.
std::unique_ptr<DetectionSink> make_jsonl_sink(std::FILE* out, const DetectionContext& ctx);
// RFC 4180 CSV, Timesketch-ready: datetime, timestamp_desc, message first.
std::unique_ptr<DetectionSink> make_csv_sink(std::FILE* out, const DetectionContext& ctx);
// An ATT&CK Navigator layer: techniques scored by detections, with the rules.
std::unique_ptr<DetectionSink> make_navigator_sink(std::FILE* out, const DetectionContext& ctx);

// The end-of-hunt summary for a terminal: stories first, then counts, rules,
// computers, ATT&CK, time span, unreadable inputs.
void write_summary_text(std::FILE* out, const HuntSummary& s, const DetectionContext& ctx, bool color);

// Appends `field` to `out` as one RFC 4180 CSV field (quoted when needed).
void append_csv_field(std::string& out, std::string_view field);

}  // namespace vigil

#include "sinks/detection_writer.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>

#include "event/time.hpp"
#include "event/value.hpp"

namespace vigil {
namespace {

// Fields shown in the timeline, most telling first; a detection shows the
// first few its event has.
constexpr const char* kTimelineFields[] = {
    "CommandLine", "ScriptBlockText", "Image", "TargetFilename", "TargetObject", "Details", "QueryName",
    "DestinationIp", "DestinationPort", "ServiceName", "ImagePath", "TaskName", "TargetUserName", "IpAddress",
    "LogonType", "ParentImage", "User", "SubjectUserName", "ShareName", "RelativeTargetName", "PipeName",
    "ImageLoaded", "TargetImage", "GrantedAccess", "Payload", "Message"};

const char* level_color(sigma::Level l) {
  switch (l) {
    case sigma::Level::Critical: return "\x1b[1;35m";
    case sigma::Level::High: return "\x1b[1;31m";
    case sigma::Level::Medium: return "\x1b[33m";
    case sigma::Level::Low: return "\x1b[36m";
    case sigma::Level::Informational: return "\x1b[2m";
  }
  return "";
}

std::string one_line(std::string_view s, size_t max) {
  std::string out;
  for (char c : s) {
    if (out.size() >= max) {
      out += "…";
      break;
    }
    out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  }
  return out;
}

std::string telling_fields(const Detection& d) {
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(d.event_json).get(obj) != simdjson::SUCCESS) return {};
  std::string out;
  int shown = 0;
  for (const char* name : kTimelineFields) {
    simdjson::dom::element v;
    if (obj.at_key(name).get(v) != simdjson::SUCCESS) continue;
    std::string text;
    if (v.is_string()) text = std::string(v.get_string().value());
    else text = simdjson::minify(v);
    if (text.empty() || text == "-") continue;
    if (!out.empty()) out += "  ";
    out += fmt::format("{}: {}", name, one_line(text, 160));
    if (++shown == 3) break;
  }
  return out;
}

std::string_view str_at(simdjson::dom::object o, const char* key) {
  std::string_view v;
  if (o[key].get(v) != simdjson::SUCCESS) return {};
  return v;
}

// "event_count 5 (gte 5), TargetUserName=svc-backup, 09:11:40 .. 09:11:58, 5 events".
std::string correlation_line(const std::string& json) {
  simdjson::dom::parser parser;
  simdjson::dom::object c;
  if (parser.parse(json).get(c) != simdjson::SUCCESS) return {};
  const std::string_view type = str_at(c, "type"), cond = str_at(c, "condition"), metric = str_at(c, "metric"),
                         start = str_at(c, "window_start"), end = str_at(c, "window_end");
  std::string out = fmt::format("{}: {} {} ({})", type, metric, simdjson::minify(c["value"]), cond);
  simdjson::dom::object group;
  if (c["group"].get(group) == simdjson::SUCCESS)
    for (auto kv : group) {
      std::string_view v;
      if (kv.value.get(v) == simdjson::SUCCESS) out += fmt::format(", {}={}", kv.key, one_line(v, 80));
    }
  auto hms = [](std::string_view t) { return t.size() >= 19 ? t.substr(11, 8) : t; };
  out += fmt::format(", {} .. {}", hms(start), hms(end));
  int64_t events = 0;
  if (c["events"].get(events) == simdjson::SUCCESS) out += fmt::format(", {} events", events);
  return out;
}

// "indicator domain c2.evil.example in QueryName".
std::string indicator_line(const Detection& d) {
  simdjson::dom::parser parser;
  simdjson::dom::object ind;
  if (parser.parse(d.indicator_json).get(ind) != simdjson::SUCCESS) return {};
  const std::string_view type = str_at(ind, "type"), value = str_at(ind, "value");
  std::string field;
  const auto lines = explain_lines(d);
  if (!lines.empty()) field = lines.front().substr(lines.front().find(": ") + 2);
  return fmt::format("indicator {} {}{}", type, one_line(value, 100), field.empty() ? "" : " in " + field.substr(0, field.find(" = ")));
}

}  // namespace

std::vector<std::string> explain_lines(const Detection& d) {
  std::vector<std::string> lines;
  if (d.explain_json.empty()) return lines;
  simdjson::dom::parser parser;
  simdjson::dom::array arr;
  if (parser.parse(d.explain_json).get(arr) != simdjson::SUCCESS) return lines;
  for (simdjson::dom::element e : arr) {
    std::string_view sel, field, value;
    if (e["selection"].get(sel) || e["field"].get(field)) continue;
    if (e["value"].get(value)) value = "(present)";  // null: an exists / null test
    lines.push_back(fmt::format("{}: {} = {}", sel, field.empty() ? std::string_view("(keyword)") : field,
                                one_line(value, 160)));
  }
  return lines;
}

std::string summary_fields(const Detection& d) { return telling_fields(d); }

std::string format_time(uint64_t filetime) {
  if (filetime == 0) return "-";
  std::string s;
  append_filetime_iso(s, filetime);
  return s;
}

void append_detection_json(std::string& out, const Detection& d, const DetectionContext& ctx) {
  const sigma::Rule& r = ctx.rules[d.rule];
  out += "{\"type\":\"detection\",\"timestamp\":";
  if (d.time) {
    out += '"';
    append_filetime_iso(out, d.time);
    out += '"';
  } else {
    out += "null";
  }
  out += ",\"rule_id\":";
  append_json_string(out, r.id);
  out += ",\"rule_title\":";
  append_json_string(out, r.title);
  out += ",\"level\":";
  append_json_string(out, sigma::level_name(r.level));
  out += ",\"status\":";
  append_json_string(out, r.status);
  out += ",\"tags\":[";
  for (size_t i = 0; i < r.tags.size(); ++i) {
    if (i) out += ',';
    append_json_string(out, r.tags[i]);
  }
  out += "],\"computer\":";
  append_json_string(out, d.computer);
  out += ",\"channel\":";
  append_json_string(out, d.channel);
  out += ",\"event_id\":";
  if (d.event_id >= 0) out += std::to_string(d.event_id);
  else out += "null";
  out += fmt::format(",\"record_id\":{},\"source\":", d.record_id);
  if (d.source < ctx.sources->size()) append_json_string(out, (*ctx.sources)[d.source]);
  else out += "null";
  out += ",\"story\":";
  if (d.story) out += std::to_string(d.story);
  else out += "null";
  out += fmt::format(",\"count\":{}", d.count);
  if (d.count > 1) {
    out += ",\"last_timestamp\":";
    append_time_json(out, d.last_time);
  }
  out += ",\"matched\":";
  out += d.explain_json.empty() ? "[]" : d.explain_json;
  if (!d.correlation_json.empty()) {
    out += ",\"correlation\":";
    out += d.correlation_json;
  }
  if (!d.indicator_json.empty()) {
    out += ",\"indicator\":";
    out += d.indicator_json;
  }
  out += ",\"event\":";
  out += d.event_json.empty() ? "{}" : d.event_json;
  out += '}';
}

void write_timeline_entry(std::FILE* out, const Detection& d, const DetectionContext& ctx, bool color,
                          bool explain) {
  {
    const sigma::Rule& r = ctx.rules[d.rule];
    std::string time = format_time(d.time);
    if (time.size() > 20) time = time.substr(0, 19) + "Z";  // seconds are enough on screen
    const char* on = color ? level_color(r.level) : "";
    const char* off = color ? "\x1b[0m" : "";
    std::string title = r.title;
    if (d.count > 1) title += fmt::format("  (x{}, until {})", d.count, format_time(d.last_time));
    if (d.story) title += fmt::format("  [story {}]", d.story);
    fmt::print(out, "{}  {:<24}  {}{:<8}{}  {}\n", time, one_line(d.computer, 24), on, sigma::level_name(r.level),
               off, title);
    std::string fields = telling_fields(d);
    if (!d.correlation_json.empty()) fields = correlation_line(d.correlation_json);
    if (!d.indicator_json.empty()) fields = indicator_line(d) + (fields.empty() ? "" : "  " + fields);
    if (!fields.empty()) fmt::print(out, "{:>22}{}\n", "", fields);
    if (explain) {
      for (const auto& m : explain_lines(d)) fmt::print(out, "{:>22}why: {}\n", "", m);
    }
  }
}

}  // namespace vigil

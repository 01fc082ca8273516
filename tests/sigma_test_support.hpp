// Helpers for the Sigma tests: build a RuleSet from YAML text, build events from
// JSON text, and ask whether a rule fires (or was refused, and why).
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "detection/logsource_map.hpp"
#include "detection/sigma/ruleset.hpp"
#include "event/field_map.hpp"
#include "sources/input.hpp"
#include "sources/jsonl_reader.hpp"

namespace vigil::sigma_test {

// ---------------------------------------------------------------------------
// JSON building
// ---------------------------------------------------------------------------

// A JSON string literal for arbitrary UTF-8 text.
inline std::string json_quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

// One JSON value: a string (quoted and escaped for you) or raw JSON text.
struct J {
  std::string json;
  J(const char* s) : json(json_quote(s)) {}         // NOLINT: implicit on purpose
  J(const std::string& s) : json(json_quote(s)) {}  // NOLINT
  static J raw(std::string text) {
    J j("");
    j.json = std::move(text);
    return j;
  }
};
inline J num(long long v) { return J::raw(std::to_string(v)); }
inline J real(const std::string& text) { return J::raw(text); }
inline J null() { return J::raw("null"); }

using Fields = std::vector<std::pair<std::string, J>>;

inline std::string json_object(const Fields& fields) {
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : fields) {
    if (!first) out += ",";
    first = false;
    out += json_quote(k) + ":" + v.json;
  }
  return out + "}";
}

// A flat event without a Channel: what non-Windows rules see.
inline std::string flat_event(const Fields& fields) { return json_object(fields); }

// An evtx_dump-layout Windows event.
inline std::string win_event(const std::string& channel, uint32_t event_id, const std::string& provider,
                             const Fields& event_data, const std::string& computer = "WS1") {
  return "{\"Event\":{\"System\":{\"Channel\":" + json_quote(channel) + ",\"EventID\":" + std::to_string(event_id) +
         ",\"Computer\":" + json_quote(computer) + ",\"Provider\":{\"#attributes\":{\"Name\":" + json_quote(provider) +
         "}}},\"EventData\":" + json_object(event_data) + "}}";
}

inline const char* kSysmonChannel = "Microsoft-Windows-Sysmon/Operational";
inline const char* kSysmonProvider = "Microsoft-Windows-Sysmon";
inline const char* kSecurityProvider = "Microsoft-Windows-Security-Auditing";

inline std::string sysmon_event(uint32_t event_id, const Fields& event_data) {
  return win_event(kSysmonChannel, event_id, kSysmonProvider, event_data);
}
// Sysmon process creation (EID 1).
inline std::string proc(const Fields& event_data) { return sysmon_event(1, event_data); }

// ---------------------------------------------------------------------------
// Rule building
// ---------------------------------------------------------------------------

inline std::string indent(const std::string& text, int spaces) {
  std::istringstream in(text);
  std::string line, out;
  const std::string pad(static_cast<size_t>(spaces), ' ');
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    out += pad + line + "\n";
  }
  return out;
}

// A whole rule. `logsource` is a flow map ("{product: linux, service: auditd}");
// `detection` is the body of `detection:`, written from column 0.
inline std::string rule(const std::string& logsource, const std::string& detection,
                        const std::string& title = "Test rule") {
  return "title: " + title + "\nlogsource: " + logsource + "\ndetection:\n" + indent(detection, 4);
}
inline const char* kWinProc = "{product: windows, category: process_creation}";
inline const char* kLinux = "{product: linux, service: auditd}";

inline std::string win_rule(const std::string& detection) { return rule(kWinProc, detection); }
inline std::string generic_rule(const std::string& detection) { return rule(kLinux, detection); }

// ---------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------

// A rule set loaded from YAML text, and a matcher over it.
class Probe {
 public:
  explicit Probe(const std::string& yaml, sigma::Placeholders placeholders = {},
                 std::shared_ptr<LogSourceMap> map = nullptr) {
    sigma::RuleSetOptions o;
    o.logsources = map ? std::move(map) : LogSourceMap::builtin();
    o.placeholders = std::move(placeholders);
    rs_ = std::make_unique<sigma::RuleSet>(std::move(o));
    loaded_ = rs_->load_text("t.yml", yaml);
    matcher_ = std::make_unique<sigma::Matcher>(*rs_);
    for (const auto& p : rs_->problems()) (p.warning ? warnings_ : errors_) += p.to_string() + "\n";
  }

  size_t loaded() const { return loaded_; }
  bool refused() const { return loaded_ == 0; }
  const std::string& errors() const { return errors_; }      // joined non-warning problems
  const std::string& warnings() const { return warnings_; }  // joined warnings
  const sigma::RuleSet& ruleset() const { return *rs_; }

  // Indexes of the rules that fire on the event (JSON text). Sets *parse_error
  // when the JSON cannot be read.
  std::vector<uint32_t> hits(const std::string& json, std::string* parse_error) {
    ReadContext ctx(fields_);
    std::string err;
    std::vector<uint32_t> out;
    if (!parse_json_event(json, ctx, -1, &err)) {
      *parse_error = "event does not parse: " + err + "\n" + json;
      return out;
    }
    matcher_->match(ctx.event, out);
    return out;
  }

 private:
  std::unique_ptr<sigma::RuleSet> rs_;
  std::unique_ptr<sigma::Matcher> matcher_;
  std::shared_ptr<FieldMap> fields_ = FieldMap::builtin();  // parsed once: tests match thousands of events
  size_t loaded_ = 0;
  std::string errors_, warnings_;
};

// Success when the (single) rule loaded and fires on the event.
inline ::testing::AssertionResult fires(Probe& p, const std::string& json) {
  if (p.refused()) return ::testing::AssertionFailure() << "rule was refused: " << p.errors();
  std::string err;
  const auto h = p.hits(json, &err);
  if (!err.empty()) return ::testing::AssertionFailure() << err;
  if (h.empty()) return ::testing::AssertionFailure() << "rule did not fire on " << json;
  return ::testing::AssertionSuccess() << "fired on " << json;
}

// Success when the rule loaded and does NOT fire on the event.
inline ::testing::AssertionResult quiet(Probe& p, const std::string& json) {
  if (p.refused()) return ::testing::AssertionFailure() << "rule was refused: " << p.errors();
  std::string err;
  const auto h = p.hits(json, &err);
  if (!err.empty()) return ::testing::AssertionFailure() << err;
  if (!h.empty()) return ::testing::AssertionFailure() << "rule fired on " << json;
  return ::testing::AssertionSuccess();
}

// Success when the rule was refused and the reason contains `needle`
// (case-insensitive; empty needle: any reason).
inline ::testing::AssertionResult refused(const Probe& p, const std::string& needle = "") {
  if (!p.refused()) return ::testing::AssertionFailure() << "rule was accepted (warnings: " << p.warnings() << ")";
  if (p.errors().empty()) return ::testing::AssertionFailure() << "rule refused without any reason";
  auto lower = [](std::string s) {
    for (char& c : s)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
  };
  if (!needle.empty() && lower(p.errors()).find(lower(needle)) == std::string::npos)
    return ::testing::AssertionFailure() << "reason does not mention `" << needle << "`: " << p.errors();
  return ::testing::AssertionSuccess() << p.errors();
}

// ---------------------------------------------------------------------------
// Encoders (written independently of the engine's)
// ---------------------------------------------------------------------------

inline std::string b64(std::string_view in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += k[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += k[(acc << (6 - bits)) & 63];
  while (out.size() % 4) out += '=';
  return out;
}

// UTF-8 -> UTF-16 code units (BMP and surrogate pairs).
inline std::vector<uint16_t> utf16_units(std::string_view s) {
  std::vector<uint16_t> u;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    uint32_t cp;
    size_t n;
    if (c < 0x80) { cp = c; n = 1; }
    else if ((c >> 5) == 6) { cp = c & 0x1F; n = 2; }
    else if ((c >> 4) == 14) { cp = c & 0x0F; n = 3; }
    else { cp = c & 0x07; n = 4; }
    for (size_t k = 1; k < n && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    i += n;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      u.push_back(static_cast<uint16_t>(0xD800 | (cp >> 10)));
      u.push_back(static_cast<uint16_t>(0xDC00 | (cp & 0x3FF)));
    } else {
      u.push_back(static_cast<uint16_t>(cp));
    }
  }
  return u;
}
inline std::string utf16le(std::string_view s) {
  std::string out;
  for (uint16_t x : utf16_units(s)) {
    out += static_cast<char>(x & 0xFF);
    out += static_cast<char>(x >> 8);
  }
  return out;
}
inline std::string utf16be(std::string_view s) {
  std::string out;
  for (uint16_t x : utf16_units(s)) {
    out += static_cast<char>(x >> 8);
    out += static_cast<char>(x & 0xFF);
  }
  return out;
}

}  // namespace vigil::sigma_test

// What every network analytic reports: one finding per source and destination
// (or registered domain, or signature), scored 0..1, with the figures that made
// the score. The hunt turns each finding into a detection like any other.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace vigil {

// One named figure; `json` is its value already written as JSON (number or string).
struct Figure {
  std::string name;
  std::string json;
  std::string text;  // the value as a hunter reads it
};

inline Figure figure(std::string name, double v, int decimals = 3) {
  std::string s = fmt::format("{:.{}f}", v, decimals);
  return Figure{std::move(name), s, s};
}
inline Figure figure(std::string name, uint64_t v) {
  std::string s = std::to_string(v);
  return Figure{std::move(name), s, s};
}
Figure figure(std::string name, std::string_view v);  // a JSON string

struct NetworkFinding {
  std::string analytic;     // "beacon", "long-connection", "dns-tunnel", "upload", "rare-user-agent", ...
  std::string src;          // source host (an IP); the detection's computer
  std::string dst;          // destination: IP, name, registered domain or signature
  std::string title;        // one line for the timeline
  std::string description;  // what was seen and why it matters, in words
  double score = 0;         // 0..1: how sure the analytic is; the level follows from it
  uint64_t first_time = 0;  // FILETIME ticks of the first and last connection behind it
  uint64_t last_time = 0;
  std::vector<std::string> tags;  // Sigma-style: "attack.command-and-control", "attack.t1071.004"
  std::vector<Figure> figures;    // in the order a hunter should read them
};

// Best first: score, then analytic, source and destination (a stable order for equal scores).
void sort_findings(std::vector<NetworkFinding>& findings);

}  // namespace vigil

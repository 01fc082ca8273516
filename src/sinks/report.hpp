// What a hunt hands to its outputs: the summary of the whole hunt (known before
// the first detection is written, so a report can open with it) and the
// detections in timeline order, through the DetectionSink interface.
#pragma once
#include <array>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "detection/attack.hpp"
#include "detection/detection.hpp"
#include "detection/network/finding.hpp"
#include "detection/rule_table.hpp"
#include "detection/sigma/rule.hpp"
#include "detection/stories.hpp"
#include "event/time.hpp"

namespace vigil {

// What the outputs need besides the detections themselves. Sinks keep a
// reference to it: it must outlive them, and it may be filled in after they are
// made (the hunt opens its outputs before it loads rules or finds inputs).
struct DetectionContext {
  RuleTable rules;
  const std::vector<std::string>* sources;  // input paths by index
  const Attack* attack = &Attack::builtin();
};

struct RunInfo {
  std::string version;
  std::string command;        // the command line, as typed
  uint64_t started = 0;       // wall clock at start, FILETIME ticks
  unsigned threads = 0;
  std::vector<std::string> rule_paths, inputs;
  std::vector<std::string> filters;  // each filter in force, as "min-level: high"
};

struct NamedCount {
  std::string name;
  uint64_t count = 0;
};

struct RuleHits {
  uint32_t rule = 0;
  uint64_t count = 0;
  uint64_t first = 0, last = 0;  // FILETIME of its first and last detection (0: unknown)
};

struct InputFailure {
  std::string path, reason;
};

struct HuntSummary {
  RunInfo run;
  size_t rules_loaded = 0;
  uint64_t files_read = 0, events = 0, bytes = 0;
  double seconds = 0;
  uint64_t detections = 0;  // every detection, before --dedup folds them
  uint64_t reported = 0;    // lines written (after --dedup)
  std::array<uint64_t, 5> by_level{};              // indexed by sigma::Level
  std::vector<RuleHits> rules;                     // rules that fired, most detections first
  std::vector<NamedCount> computers;               // most detections first
  std::vector<std::pair<int, uint64_t>> tactics;   // Attack::tactics() index, detections; kill-chain order
  std::vector<NamedCount> techniques;              // "T1003.001", most detections first
  uint64_t first = 0, last = 0;                    // first and last detection time (0: none)
  std::vector<InputFailure> unreadable;            // inputs that could not be read, with the reason
  std::vector<Story> stories;                      // ranked, story 1 first
  uint64_t network_events = 0;                     // events the network analytics read
  std::vector<std::string> internal_networks;      // as configured, for the report
  bool network_internal_seen = true;               // some connection came from an internal network
  std::vector<NetworkFinding> network;             // network findings reported, best first per analytic
};

// Counts detections as they arrive (in any order) for the summary.
class HuntTally {
 public:
  explicit HuntTally(const DetectionContext& ctx) : ctx_(ctx) {}
  void add(const Detection& d);
  // Fills the detection parts of the summary (not run, files, events, stories).
  void fill(HuntSummary& s) const;

 private:
  const DetectionContext& ctx_;
  uint64_t detections_ = 0, first_ = 0, last_ = 0;
  std::array<uint64_t, 5> by_level_{};
  std::vector<RuleHits> rules_;  // by rule index, grown on demand
  std::vector<std::pair<std::string, uint64_t>> computers_;
  std::unordered_map<std::string, size_t> computer_index_;
  std::vector<std::vector<int>> rule_tactics_;
  std::vector<std::vector<std::string>> rule_techniques_;
  std::vector<uint8_t> rule_tags_done_;
};

// An output format. The hunt calls begin once (the summary is final), write for
// every detection in timeline order, then finish. A sink that fails keeps going
// quietly and reports it from finish (false) and error().
class DetectionSink {
 public:
  virtual ~DetectionSink() = default;
  virtual void begin(const HuntSummary&) {}
  virtual void write(const Detection& d) = 0;
  virtual bool finish(const HuntSummary& summary) = 0;
  virtual std::string error() const { return {}; }
};

// JSON pieces shared by the JSON lines, HTML and SQLite outputs.
// The summary object: run, files, events, seconds, detections, by_level, rules,
// computers, tactics, techniques, first, last, unreadable (stories apart).
void append_summary_json(std::string& out, const HuntSummary& s, const DetectionContext& ctx);
// One story: {"type":"story","id","computer","first","last","level","tactics",
// "techniques","detections","rules":[{"id","title","level","count"}]}.
void append_story_json(std::string& out, const Story& s, const DetectionContext& ctx);
// A rule's metadata: id, title, level, status, description, author, date,
// references, tags, falsepositives, path.
void append_rule_json(std::string& out, const sigma::Rule& r);
// "2026-03-10T09:13:05.771000Z" in quotes, or null.
// The network part of the summary: {"events","internal_networks",
// "internal_source_seen","findings":[{analytic,src,dst,score,title,first,last,figures{}}]}.
void append_network_json(std::string& out, const HuntSummary& s);
// "Beacons", "DNS tunnels"... for a finding's analytic; nullptr when unknown.
const char* network_analytic_name(std::string_view analytic);

}  // namespace vigil

// The subcommands behind the thin CLI in main.cpp.
#pragma once
#include <string>
#include <vector>

namespace vigil::cli {

struct CommonOptions {
  unsigned threads = 0;  // 0: all cores
  bool quiet = false;
  std::vector<std::string> field_alias_files;
};

struct DumpOptions {
  CommonOptions common;
  std::vector<std::string> paths;
  std::string format = "jsonl";  // jsonl | json | xml
  std::string output;            // empty: stdout
};

// Exit status: 0 when anything was read, 1 when nothing could be read, 2 on bad use.
int run_dump(const DumpOptions& options);

struct RuleOptions {
  std::vector<std::string> rule_paths;  // empty: the rule pack shipped with Vigil
  std::vector<std::string> filter_paths;  // Sigma filter files kept apart from the rules (--filters)
  std::string mapping;                  // logsource mapping file; empty: built-in
  std::vector<std::string> placeholder_files;
  bool no_cache = false;
  std::string cache_dir;  // empty: $VIGIL_CACHE_DIR, $XDG_CACHE_HOME/vigil or ~/.cache/vigil
};

// One output of a hunt: a format and where it goes ("" or "-": stdout).
struct OutputSpec {
  std::string format;  // table | jsonl | csv | html | navigator | sqlite
  std::string path;
};

struct HuntOptions {
  CommonOptions common;
  RuleOptions rules;
  std::vector<std::string> paths;
  std::vector<OutputSpec> outputs;  // empty: a table on stdout
  // Filters.
  std::string min_level;                   // informational | low | medium | high | critical
  std::string from, to;                    // event time window (ISO 8601), inclusive
  std::vector<std::string> rule_status;    // keep rules with one of these statuses
  std::vector<std::string> exclude_rules;  // rule ids
  std::vector<std::string> exclude_rules_files;
  std::vector<std::string> computers;      // keep events of these computers (case-insensitive, `*` globs)
  std::vector<std::string> ioc_paths;  // indicator files or folders (STIX, MISP, lists)
  bool ioc_ignore_validity = false;    // match indicators outside their validity window too
  // Network analytics (docs/analytics.md).
  bool network = true;                 // run the network analytics on network events
  bool beacons = true;                 // ... beaconing among them
  double beacon_min_score = -1;        // report pairs scoring at least this; < 0: the configuration's
  std::string network_config;          // thresholds file; empty: built-in data/network.yaml
  std::string internal_networks;       // CIDR,...; empty: the configuration's
  std::vector<std::string> allow_destinations;  // known-good CIDRs or domains
  bool dedup = false;    // one line for identical detections, with a count
  bool explain = false;  // table: show why each detection fired
  std::string progress = "auto";  // auto (a terminal, not --quiet) | always | never
  std::string command_line;        // for the run information of reports
};

// Exit status: 0 when the hunt ran (whatever it found), 1 when no input could
// be read or output not written, 2 on bad use (including no usable rule).
int run_hunt(const HuntOptions& options);

struct RulesCheckOptions {
  CommonOptions common;
  RuleOptions rules;
};

// Lists every unusable rule and why, and counts usable rules per logsource.
// Exit status: 0 when every rule is usable, 1 when some are not, 2 on bad use.
int run_rules_check(const RulesCheckOptions& options);

}  // namespace vigil::cli

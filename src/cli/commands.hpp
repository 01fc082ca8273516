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
  std::string mapping;                  // logsource mapping file; empty: built-in
  std::vector<std::string> placeholder_files;
  bool no_cache = false;
  std::string cache_dir;  // empty: $VIGIL_CACHE_DIR, $XDG_CACHE_HOME/vigil or ~/.cache/vigil
  unsigned threads = 0;
};

struct HuntOptions {
  CommonOptions common;
  RuleOptions rules;
  std::vector<std::string> paths;
  std::string format = "table";  // table | jsonl
  std::string output;            // empty: stdout
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

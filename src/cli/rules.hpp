// Loading rules for the hunt and rules-check commands.
#pragma once
#include <memory>

#include "cli/commands.hpp"
#include "detection/sigma/ruleset.hpp"

namespace vigil::cli {

// The rule pack shipped with Vigil: $VIGIL_RULES, else rules/ beside the
// binary's parent directory (build/../rules), else the source tree's rules/.
std::string default_rule_pack();

// Where compiled rules are cached unless --cache-dir or --no-cache say otherwise.
std::string default_cache_dir();

// Builds a RuleSet from the options on up to `threads` threads (0: all cores;
// the command's --threads, which every caller must pass on); nullptr after an
// error message when the mapping or placeholder files are unusable.
std::unique_ptr<sigma::RuleSet> load_rules(const RuleOptions& o, unsigned threads);

}  // namespace vigil::cli

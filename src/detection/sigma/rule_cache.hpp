// The compiled-rule cache. Loading ~3,800 SigmaHQ rules means parsing YAML,
// compiling patterns and building the vectorscan databases: seconds. The cache
// stores the finished RuleSet, keyed by a hash of every rule file's content,
// the logsource mapping and the placeholders, so a second hunt with the same
// rules starts in milliseconds. A cache file that is damaged, truncated or from
// another build is ignored (and rewritten), never trusted: every read is checked
// and the payload carries its own checksum.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace vigil::sigma {

class RuleSet;

struct RuleCache {
  // The key for a set of rule files (path and content of each, in order).
  static uint64_t key(const RuleSet& rules, const std::vector<std::pair<std::string, std::string>>& files);
  static std::string path(const std::string& dir, uint64_t key);
  // False (and `rules` left empty) when the file is missing, damaged or stale.
  static bool load(RuleSet& rules, const std::string& file, uint64_t key);
  // Writes atomically (temp file + rename); false on any I/O error.
  static bool save(const RuleSet& rules, const std::string& file, uint64_t key);
};

}  // namespace vigil::sigma

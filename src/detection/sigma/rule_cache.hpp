// The compiled-rule cache. Loading ~3,800 SigmaHQ rules means parsing YAML,
// compiling patterns and building the vectorscan databases: seconds. The cache
// stores the finished RuleSet, keyed by a hash of every rule file's content,
// the logsource mapping and the placeholders, so a second hunt with the same
// rules starts in milliseconds. A cache file that is damaged, truncated or from
// another build is ignored (and rewritten), never trusted: every read is checked
// and the payload carries its own checksum. The vectorscan databases are
// deserialised at their first use (vectorscan checks their bytes then); one
// found damaged is compiled again from its source, kept beside it.
//
// The content hash of each rule file comes from the manifest of rule_files.hpp
// when the file's stat is unchanged, so a warm start reads no rule file. The
// cache file is mapped rather than read. Writing a new compiled set prunes the
// directory (prune_cache_dir: the 8 most recently used sets are kept).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::sigma {

class RuleSet;
struct Rule;
struct Pattern;
struct Variant;

// A rule file and the XXH3-64 hash of its content.
struct HashedFile {
  std::string_view path;
  uint64_t hash;
};

struct RuleCache {
  // The hash of a rule file's content, as key() wants it.
  static uint64_t content_hash(std::string_view content);
  // The key for a set of rule files (path and content hash of each, in order).
  static uint64_t key(const RuleSet& rules, const std::vector<HashedFile>& files);
  static std::string path(const std::string& dir, uint64_t key);
  // False (and `rules` left empty) when the file is missing, damaged or stale.
  static bool load(RuleSet& rules, const std::string& file, uint64_t key);
  // Decodes the texts a cached rule keeps in the file until it is needed (see
  // RuleSet::rule): all but its level and document. False when they are not
  // well formed.
  static bool read_rule(std::string_view bytes, Rule& rule);
  // Decodes the `count` patterns a cached atom keeps encoded (see
  // RuleSet::atom); `names` maps the set's name numbers to interned names and
  // `prefilter_ids` bounds the prefilter ids. False when they are not well
  // formed (`out` then holds what was decoded).
  static bool read_patterns(std::string_view bytes, uint32_t count, const std::vector<uint32_t>& names,
                            size_t prefilter_ids, std::vector<Pattern>& out);
  // Decodes a cached variant (see RuleSet::variant), checking it against the
  // set's rule, atom and prefilter id counts. False when it is not well formed.
  static bool read_variant(std::string_view bytes, size_t rules, size_t atoms, size_t prefilter_ids,
                           Variant& out);
  // Writes atomically (temp file + rename), then prunes the directory; false on
  // any I/O error.
  static bool save(const RuleSet& rules, const std::string& file, uint64_t key);
};

}  // namespace vigil::sigma

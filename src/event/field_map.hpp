// Field aliases as data: which JSON layout a file uses and how its dotted paths
// map to canonical field names. Loaded from data/field_aliases.yaml (compiled into
// the binary) and from user files in the same format.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "event/event.hpp"
#include "event/text.hpp"
#include "event/u64_map.hpp"

namespace YAML {
class Node;
}

namespace vigil {

using PathId = uint32_t;
inline constexpr PathId kRootPath = 0;

class FieldMap {
 public:
  // The map shipped with Vigil (data/field_aliases.yaml).
  static std::shared_ptr<FieldMap> builtin();

  FieldMap() = default;
  // Adds layouts and aliases from YAML text; later entries override earlier ones.
  // Returns false with a message naming the problem when the text is unusable.
  bool load_yaml(std::string_view yaml_text, std::string* error);
  bool load_file(const std::string& path, std::string* error);
  // The same from a parsed document (the built-in map comes as its tree).
  bool load_tree(const YAML::Node& root, std::string* error);

  size_t layout_count() const { return layouts_.size(); }
  const std::string& layout_name(uint8_t layout) const { return layouts_[layout].name; }
  int layout_index(std::string_view name) const;
  // The layout for an object with these top-level keys (the last one is `generic`).
  uint8_t detect(const std::vector<std::string_view>& top_level_keys) const;
  const std::vector<NameId>& time_fields() const { return time_fields_; }

  // Interned dotted paths. Thread-safe; callers cache results (see FlatIndexer).
  PathId child_path(PathId parent, std::string_view name);
  std::string path_text(PathId path) const;
  // The path for dotted text if it was ever seen, else nullopt-like kNoPath.
  static constexpr PathId kNoPath = 0xFFFFFFFFu;
  PathId find_path(std::string_view dotted) const;
  NameId canonical(uint8_t layout, PathId path);

 private:
  struct Layout {
    std::string name;
    std::vector<std::string> detect;
    std::vector<std::string> flatten;
    bool strip_spaces = false;
    std::unordered_map<std::string, std::string> fields;
  };
  NameId resolve(const Layout& l, const std::string& path) const;

  std::vector<Layout> layouts_;
  std::vector<NameId> time_fields_;

  mutable std::mutex mu_;
  std::vector<std::string> paths_{""};
  std::unordered_map<std::string, PathId> path_ids_{{"", kRootPath}};
  std::unordered_map<uint64_t, NameId> canonical_;  // (layout << 32 | path) -> name
};

// Builds an event's flat index. One per worker thread: it caches path and name
// resolution so the shared map's lock is taken only for paths never seen before.
class FlatIndexer {
 public:
  explicit FlatIndexer(std::shared_ptr<FieldMap> map) : map_(std::move(map)) {}
  FieldMap& map() { return *map_; }

  // Fills ev.fields from ev.nodes in `layout`, and ev.time from the time fields.
  void index(Event& ev, uint8_t layout);

 private:
  PathId child(PathId parent, NameId name);
  PathId child_text(PathId parent, std::string_view name);
  NameId canonical(uint8_t layout, PathId path);
  void walk(Event& ev, uint32_t node, PathId parent_path, uint8_t layout);
  void add(Event& ev, uint32_t node, PathId path, uint8_t layout);

  std::shared_ptr<FieldMap> map_;
  U64Map child_cache_;      // (parent << 32 | name) -> path
  U64Map canonical_cache_;  // (layout << 32 | path) -> canonical name
  // Data[@Name] children: (hash of the name text mixed with the parent path)
  // -> index in dynamic_entries_, which holds the text to confirm it (another
  // name with the same hash simply goes uncached).
  struct DynamicEntry {
    std::string name;
    PathId parent, path;
  };
  U64Map dynamic_cache_;
  std::vector<DynamicEntry> dynamic_entries_;
  NameId data_ = intern("Data"), name_ = intern("Name"), attributes_ = intern("#attributes"), text_ = intern("#text");
};

}  // namespace vigil

#include "event/field_map.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "event/text.hpp"
#include "event/time.hpp"
#include "event/yaml_tree.hpp"

namespace vigil {

extern const std::string_view kBuiltinFieldAliases;  // data/field_aliases.yaml, its tree (yaml_tree.hpp)

std::shared_ptr<FieldMap> FieldMap::builtin() {
  auto map = std::make_shared<FieldMap>();
  std::string error;
  if (!map->load_tree(decode_yaml_tree(kBuiltinFieldAliases), &error))
    throw std::runtime_error("built-in field aliases are broken: " + error);
  return map;
}

bool FieldMap::load_file(const std::string& path, std::string* error) {
  return load_text_file(path, error, [this](const std::string& text, std::string* e) { return load_yaml(text, e); });
}

bool FieldMap::load_yaml(std::string_view text, std::string* error) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    *error = std::string("not valid YAML: ") + e.what();
    return false;
  }
  return load_tree(root, error);
}

bool FieldMap::load_tree(const YAML::Node& root, std::string* error) {
  if (!root.IsMap() || (!root["layouts"] && !root["time_fields"])) {
    *error = "expected a map with `layouts` and/or `time_fields`";
    return false;
  }
  try {
    std::vector<Layout> layouts = layouts_;
    if (const YAML::Node ls = root["layouts"]) {
      if (!ls.IsMap()) {
        *error = "`layouts` must be a map of layout name to its rules";
        return false;
      }
      for (const auto& kv : ls) {
        const std::string name = kv.first.as<std::string>();
        Layout* l = nullptr;
        for (auto& existing : layouts)
          if (existing.name == name) l = &existing;
        if (!l) {
          // New layouts go before `generic`, which must stay the catch-all.
          Layout fresh;
          fresh.name = name;
          auto pos = layouts.end();
          if (!layouts.empty() && layouts.back().name == "generic") --pos;
          l = &*layouts.insert(pos, std::move(fresh));
        }
        const YAML::Node body = kv.second;
        if (!body.IsMap()) {
          *error = "layout `" + name + "` must be a map";
          return false;
        }
        if (body["detect"]) l->detect = body["detect"].as<std::vector<std::string>>();
        if (body["flatten"]) l->flatten = body["flatten"].as<std::vector<std::string>>();
        if (body["strip_spaces"]) l->strip_spaces = body["strip_spaces"].as<bool>();
        if (const YAML::Node f = body["fields"]) {
          if (!f.IsMap()) {
            *error = "layout `" + name + "`: `fields` must map paths to names";
            return false;
          }
          for (const auto& e : f) l->fields[e.first.as<std::string>()] = e.second.as<std::string>();
        }
      }
    }
    if (layouts.size() > 250) {
      *error = "too many layouts";
      return false;
    }
    if (const YAML::Node t = root["time_fields"]) {
      time_fields_.clear();
      for (const auto& s : t.as<std::vector<std::string>>()) time_fields_.push_back(intern(s));
    }
    std::lock_guard lock(mu_);
    layouts_ = std::move(layouts);
    canonical_.clear();
  } catch (const YAML::Exception& e) {
    *error = std::string("unexpected value: ") + e.what();
    return false;
  }
  return true;
}

int FieldMap::layout_index(std::string_view name) const {
  for (size_t i = 0; i < layouts_.size(); ++i)
    if (layouts_[i].name == name) return static_cast<int>(i);
  return -1;
}

uint8_t FieldMap::detect(const std::vector<std::string_view>& keys) const {
  for (size_t i = 0; i < layouts_.size(); ++i)
    for (const auto& d : layouts_[i].detect)
      for (auto k : keys)
        if (k == d) return static_cast<uint8_t>(i);
  return static_cast<uint8_t>(layouts_.empty() ? 0 : layouts_.size() - 1);
}

PathId FieldMap::child_path(PathId parent, std::string_view name) {
  std::lock_guard lock(mu_);
  std::string text = parent == kRootPath ? std::string(name) : paths_[parent] + "." + std::string(name);
  auto it = path_ids_.find(text);
  if (it != path_ids_.end()) return it->second;
  const PathId id = static_cast<PathId>(paths_.size());
  paths_.push_back(text);
  path_ids_.emplace(std::move(text), id);
  return id;
}

std::string FieldMap::path_text(PathId path) const {
  std::lock_guard lock(mu_);
  return path < paths_.size() ? paths_[path] : std::string();
}

PathId FieldMap::find_path(std::string_view dotted) const {
  std::lock_guard lock(mu_);
  auto it = path_ids_.find(std::string(dotted));
  return it == path_ids_.end() ? kNoPath : it->second;
}

NameId FieldMap::canonical(uint8_t layout, PathId path) {
  const uint64_t key = (static_cast<uint64_t>(layout) << 32) | path;
  std::string text;
  {
    std::lock_guard lock(mu_);
    auto it = canonical_.find(key);
    if (it != canonical_.end()) return it->second;
    text = paths_[path];
  }
  const NameId id = layout < layouts_.size() ? resolve(layouts_[layout], text) : intern(text);
  std::lock_guard lock(mu_);
  canonical_.emplace(key, id);
  return id;
}

NameId FieldMap::resolve(const Layout& l, const std::string& path) const {
  if (auto it = l.fields.find(path); it != l.fields.end()) return intern(it->second);
  std::string_view p = path;
  constexpr std::string_view kText = ".#text";
  if (p.size() > kText.size() && p.substr(p.size() - kText.size()) == kText) {
    p.remove_suffix(kText.size());
    if (auto it = l.fields.find(std::string(p)); it != l.fields.end()) return intern(it->second);
  }
  // Longest flatten prefix that contains the path.
  const std::string* best = nullptr;
  for (const auto& f : l.flatten) {
    const bool inside = f.empty() || (p.size() > f.size() && p.substr(0, f.size()) == f && p[f.size()] == '.');
    if (inside && (!best || f.size() > best->size())) best = &f;
  }
  if (!best) return intern(p);
  auto named = [&](std::string name) {
    if (l.strip_spaces) name.erase(std::remove(name.begin(), name.end(), ' '), name.end());
    return intern(name);
  };
  std::string_view rest = best->empty() ? p : p.substr(best->size() + 1);
  constexpr std::string_view kAttrs = "#attributes.";
  const size_t a = rest.rfind(kAttrs);
  if (a != std::string_view::npos) {
    const std::string_view attr = rest.substr(a + kAttrs.size());
    if (a == 0) return named(std::string(attr));
    std::string_view owner = rest.substr(0, a - 1);
    const size_t dot = owner.rfind('.');
    if (dot != std::string_view::npos) owner = owner.substr(dot + 1);
    return named(std::string(owner) + "_" + std::string(attr));
  }
  const size_t dot = rest.rfind('.');
  return named(std::string(dot == std::string_view::npos ? rest : rest.substr(dot + 1)));
}

PathId FlatIndexer::child(PathId parent, NameId name) {
  const uint64_t key = (static_cast<uint64_t>(parent) << 32) | name;
  if (const uint32_t* id = child_cache_.find(key)) return *id;
  const PathId id = map_->child_path(parent, name_text(name));
  if (key != U64Map::kNoKey) child_cache_.insert(key, id);
  return id;
}

PathId FlatIndexer::child_text(PathId parent, std::string_view name) {
  // Data[@Name] keys come from record text, not from interned element names.
  const uint64_t key = TextHash{}(name) ^ (static_cast<uint64_t>(parent) * 0x9E3779B97F4A7C15ull);
  const uint32_t* at = dynamic_cache_.find(key);
  if (at) {
    const DynamicEntry& e = dynamic_entries_[*at];
    if (e.parent == parent && e.name == name) return e.path;
  }
  const PathId id = map_->child_path(parent, name);
  // Bounded: hostile input may invent names without end.
  if (!at && key != U64Map::kNoKey && dynamic_entries_.size() < 100000) {
    dynamic_cache_.insert(key, static_cast<uint32_t>(dynamic_entries_.size()));
    dynamic_entries_.push_back({std::string(name), parent, id});
  }
  return id;
}

NameId FlatIndexer::canonical(uint8_t layout, PathId path) {
  const uint64_t key = (static_cast<uint64_t>(layout) << 32) | path;  // never kNoKey: layout < 256
  if (const uint32_t* id = canonical_cache_.find(key)) return *id;
  const NameId id = map_->canonical(layout, path);
  canonical_cache_.insert(key, id);
  return id;
}

void FlatIndexer::add(Event& ev, uint32_t node, PathId path, uint8_t layout) {
  ev.fields.push_back({canonical(layout, path), path, node});
}

void FlatIndexer::walk(Event& ev, uint32_t idx, PathId parent_path, uint8_t layout) {
  const Node& n = ev.nodes[idx];
  PathId path;
  bool data_named = false;
  if (n.name == data_) {
    const Value* nm = ev.attribute(idx, name_);
    if (nm && nm->is_string()) {
      path = child_text(parent_path, nm->as_string());
      data_named = true;
    } else {
      path = child(parent_path, n.name);
    }
  } else {
    path = child(parent_path, n.name);
  }
  bool has_attrs = false;
  if (!data_named) {
    PathId attrs = kRootPath;
    for (uint32_t a = n.first_attr; a != kNoNode; a = ev.nodes[a].next) {
      if (ev.nodes[a].value.is_null()) continue;
      if (!has_attrs) attrs = child(path, attributes_);
      has_attrs = true;
      add(ev, a, child(attrs, ev.nodes[a].name), layout);
    }
  }
  if (n.has_value) {
    const bool wrapped = has_attrs || n.first_child != kNoNode || (n.name == data_ && !data_named);
    add(ev, idx, wrapped ? child(path, text_) : path, layout);
  } else if (!has_attrs && n.first_child == kNoNode) {
    // An element with nothing in it (`"X": null`, a null substitution) is a field
    // that exists with a null value: `|exists` sees it, `X: null` matches it.
    add(ev, idx, path, layout);
  }
  for (uint32_t c = n.first_child; c != kNoNode; c = ev.nodes[c].next) walk(ev, c, path, layout);
}

void FlatIndexer::index(Event& ev, uint8_t layout) {
  ev.fields.clear();
  ev.layout = layout;
  if (ev.nodes.empty()) return;
  for (uint32_t top = 0; top != kNoNode; top = ev.nodes[top].next) walk(ev, top, kRootPath, layout);
  ev.time = 0;
  for (NameId tf : map_->time_fields()) {
    const Value* v = ev.get(tf);
    if (!v) continue;
    if (v->type == ValueType::Time) {
      ev.time = v->u;
      break;
    }
    if (v->is_string()) {
      if (auto t = parse_iso_time(v->as_string())) {
        ev.time = *t;
        break;
      }
    }
  }
}

}  // namespace vigil

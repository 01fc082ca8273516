#include "detection/attack.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <stdexcept>

#include "event/text.hpp"
#include "event/yaml_tree.hpp"

namespace vigil {

extern const std::string_view kBuiltinAttack;  // data/attack.yaml, its tree (event/yaml_tree.hpp)

const Attack& Attack::builtin() {
  static const Attack table = [] {
    Attack a;
    std::string error;
    if (!a.load_tree(decode_yaml_tree(kBuiltinAttack), &error))
      throw std::runtime_error("built-in ATT&CK table is broken: " + error);
    return a;
  }();
  return table;
}

bool Attack::load_yaml(const std::string& text, std::string* error) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    *error = e.what();
    return false;
  }
  return load_tree(root, error);
}

bool Attack::load_tree(const YAML::Node& root, std::string* error) {
  try {
    const YAML::Node list = root["tactics"];
    if (!list || !list.IsSequence()) {
      *error = "expected `tactics:` with a list";
      return false;
    }
    std::vector<Tactic> tactics;
    for (const auto& t : list) {
      Tactic tactic{ascii_lower(t["tag"].as<std::string>()), t["id"].as<std::string>(), t["name"].as<std::string>()};
      if (tactic.tag.empty() || tactic.id.empty()) {
        *error = "a tactic needs a tag and an id";
        return false;
      }
      tactics.push_back(std::move(tactic));
    }
    tactics_ = std::move(tactics);
    return true;
  } catch (const YAML::Exception& e) {
    *error = e.what();
    return false;
  }
}

std::string Attack::technique_id(std::string_view tag) {
  const std::string t = ascii_lower(tag);
  if (t.size() < 12 || t.compare(0, 8, "attack.t") != 0) return {};
  // t + 4 digits, optionally . + 3 digits
  std::string_view id = std::string_view(t).substr(8);
  auto digits = [](std::string_view s) { return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }); };
  if (id.size() == 4 && digits(id)) return "T" + std::string(id);
  if (id.size() == 8 && id[4] == '.' && digits(id.substr(0, 4)) && digits(id.substr(5))) return "T" + std::string(id);
  return {};
}

AttackTags Attack::classify(const std::vector<std::string>& tags) const {
  AttackTags out;
  for (const std::string& tag : tags) {
    std::string technique = technique_id(tag);
    if (!technique.empty()) {
      if (std::find(out.techniques.begin(), out.techniques.end(), technique) == out.techniques.end())
        out.techniques.push_back(std::move(technique));
      continue;
    }
    const std::string t = ascii_lower(tag);
    if (t.compare(0, 7, "attack.") != 0) continue;
    const std::string_view name = std::string_view(t).substr(7);
    for (size_t i = 0; i < tactics_.size(); ++i)
      if (tactics_[i].tag == name && std::find(out.tactics.begin(), out.tactics.end(), int(i)) == out.tactics.end())
        out.tactics.push_back(int(i));
  }
  std::sort(out.tactics.begin(), out.tactics.end());
  return out;
}

}  // namespace vigil

#include "detection/sigma/rule.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "event/text.hpp"

namespace vigil::sigma {
namespace {

// Deep merge: maps merge key by key, anything else in `over` replaces `base`.
YAML::Node merge(const YAML::Node& base, const YAML::Node& over) {
  if (!base || base.IsNull()) return YAML::Clone(over);
  if (!over || over.IsNull()) return YAML::Clone(base);
  if (!base.IsMap() || !over.IsMap()) return YAML::Clone(over);
  YAML::Node out = YAML::Clone(base);
  for (const auto& kv : over) {
    const std::string key = kv.first.as<std::string>();
    out[key] = out[key] ? merge(out[key], kv.second) : YAML::Clone(kv.second);
  }
  return out;
}

std::string scalar(const YAML::Node& n) {
  if (n && n.IsScalar()) return n.Scalar();
  return {};
}

std::vector<std::string> string_list(const YAML::Node& n) {
  std::vector<std::string> out;
  if (!n) return out;
  if (n.IsScalar()) {
    out.push_back(n.Scalar());
  } else if (n.IsSequence()) {
    for (const auto& x : n)
      if (x.IsScalar()) out.push_back(x.Scalar());
  }
  return out;
}

}  // namespace

void read_rule_metadata(const YAML::Node& doc, Rule& r) {
  r.id = scalar(doc["id"]);
  r.name = scalar(doc["name"]);
  r.title = scalar(doc["title"]);
  r.status = ascii_lower(scalar(doc["status"]));
  r.description = scalar(doc["description"]);
  r.author = scalar(doc["author"]);
  r.date = scalar(doc["date"]);
  r.modified = scalar(doc["modified"]);
  r.license = scalar(doc["license"]);
  r.tags = string_list(doc["tags"]);
  r.references = string_list(doc["references"]);
  r.falsepositives = string_list(doc["falsepositives"]);
  r.fields = string_list(doc["fields"]);
}

const char* level_name(Level l) {
  switch (l) {
    case Level::Informational: return "informational";
    case Level::Low: return "low";
    case Level::Medium: return "medium";
    case Level::High: return "high";
    case Level::Critical: return "critical";
  }
  return "medium";
}

bool parse_level(std::string_view text, Level& out) {
  const std::string t = ascii_lower(std::string(text));
  if (t == "informational" || t == "info") out = Level::Informational;
  else if (t == "low") out = Level::Low;
  else if (t == "medium") out = Level::Medium;
  else if (t == "high") out = Level::High;
  else if (t == "critical") out = Level::Critical;
  else return false;
  return true;
}

std::string RuleProblem::to_string() const {
  std::string s = path;
  if (document > 0) s += fmt::format(" (document {})", document + 1);
  if (!rule.empty()) s += fmt::format(" [{}]", rule);
  s += ": ";
  if (!field.empty()) s += field + ": ";
  s += message;
  return s;
}

RuleFile parse_rule_file(const std::string& path, const std::string& text) {
  RuleFile out;
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    out.problems.push_back({path, 0, "", "", fmt::format("not valid YAML: {}", e.what())});
    return out;
  }
  YAML::Node global;
  YAML::Node previous;
  bool have_previous = false;
  for (size_t i = 0; i < docs.size(); ++i) {
    const YAML::Node& doc = docs[i];
    const int index = static_cast<int>(i);
    if (!doc || doc.IsNull()) continue;
    if (!doc.IsMap()) {
      out.problems.push_back({path, index, "", "", "a rule must be a YAML map"});
      continue;
    }
    YAML::Node merged;
    const std::string action = ascii_lower(scalar(doc["action"]));
    if (action == "global") {
      global.reset(merge(global, doc));
      global.remove("action");
      continue;
    }
    if (action == "reset") {
      global.reset();
      continue;
    }
    if (action == "repeat") {
      if (!have_previous) {
        out.problems.push_back({path, index, "", "action", "`repeat` with no previous document"});
        continue;
      }
      merged.reset(merge(previous, doc));
      merged.remove("action");
    } else if (!action.empty()) {
      out.problems.push_back({path, index, "", "action", fmt::format("unknown action `{}`", action)});
      continue;
    } else {
      merged.reset(merge(global, doc));
    }
    // reset, not =: assigning to a defined yaml-cpp node overwrites the node it
    // refers to, which `other` may still hold.
    previous.reset(merged);
    have_previous = true;

    if (merged["correlation"] || merged["filter"]) {
      out.other.push_back({index, merged, path});
      continue;
    }
    Rule r;
    r.path = path;
    r.document = index;
    try {
      read_rule_metadata(merged, r);
      const std::string rule_name = r.id.empty() ? r.title : r.id;
      if (r.title.empty()) {
        out.problems.push_back({path, index, rule_name, "title", "missing (the spec makes it mandatory)"});
        continue;
      }
      if (const YAML::Node lvl = merged["level"]) {
        if (!parse_level(scalar(lvl), r.level)) {
          out.problems.push_back({path, index, rule_name, "level",
                                  fmt::format("`{}` is not informational, low, medium, high or critical", scalar(lvl))});
          continue;
        }
        r.level_given = true;
      }
      const YAML::Node ls = merged["logsource"];
      if (!ls || !ls.IsMap()) {
        out.problems.push_back({path, index, rule_name, "logsource", "missing or not a map"});
        continue;
      }
      r.logsource.product = ascii_lower(scalar(ls["product"]));
      r.logsource.category = ascii_lower(scalar(ls["category"]));
      r.logsource.service = ascii_lower(scalar(ls["service"]));
      r.detection = merged["detection"];
      if (!r.detection || !r.detection.IsMap()) {
        out.problems.push_back({path, index, rule_name, "detection", "missing or not a map"});
        continue;
      }
      if (!r.detection["condition"]) {
        out.problems.push_back({path, index, rule_name, "detection.condition", "missing"});
        continue;
      }
    } catch (const YAML::Exception& e) {
      out.problems.push_back({path, index, r.id, "", fmt::format("unexpected YAML structure: {}", e.what())});
      continue;
    }
    out.rules.push_back(std::move(r));
  }
  return out;
}

}  // namespace vigil::sigma

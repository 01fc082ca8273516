// A Sigma rule as loaded from YAML: its metadata, logsource and the raw
// detection section, before compilation.
#pragma once
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <vector>

namespace vigil::sigma {

enum class Level : uint8_t { Informational, Low, Medium, High, Critical };
const char* level_name(Level l);
// "informational", "low", ... (case-insensitive); false when not a level.
bool parse_level(std::string_view text, Level& out);

struct LogSource {
  std::string product, category, service;  // lower-case; empty when absent
};

struct Rule {
  std::string id, name, title, status, description, author, date, modified, license;
  Level level = Level::Medium;
  bool level_given = false;
  std::vector<std::string> tags, references, falsepositives, fields;
  LogSource logsource;
  YAML::Node detection;  // the raw detection map
  std::string path;      // file it came from
  int document = 0;      // 0-based YAML document within the file
};

// Reads the descriptive keys every Sigma document shares (id, name, title,
// status, description, author, dates, license, tags, references,
// falsepositives, fields); absent keys are left empty. Level is not read here.
void read_rule_metadata(const YAML::Node& doc, Rule& r);

// Why a rule (or a whole file) cannot be used.
struct RuleProblem {
  std::string path;
  int document = 0;
  std::string rule;   // id or title when known
  std::string field;  // the YAML key at fault ("detection.selection.Image|endswith")
  std::string message;
  bool warning = false;  // usable, but the user should know (e.g. unresolved placeholder)
  std::string to_string() const;
};

// Parses every YAML document of a rule file into rules, applying Sigma's
// multi-document `action: global / reset / repeat`. Correlation and filter
// documents are returned in `other` for the stages that handle them.
struct RuleFile {
  std::vector<Rule> rules;
  struct Other {
    int document;
    YAML::Node node;
    std::string path;
  };
  std::vector<Other> other;  // correlation / filter documents
  std::vector<RuleProblem> problems;
};
RuleFile parse_rule_file(const std::string& path, const std::string& text);

}  // namespace vigil::sigma

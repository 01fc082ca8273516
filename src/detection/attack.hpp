// MITRE ATT&CK as Sigma rule tags carry it: `attack.credential-access` names a
// tactic, `attack.t1003.001` a technique. The tactic table is data
// (data/attack.yaml), compiled into the binary.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace YAML {
class Node;
}

namespace vigil {

struct Tactic {
  std::string tag;   // "credential-access"
  std::string id;    // "TA0006"
  std::string name;  // "Credential Access"
};

struct AttackTags {
  std::vector<int> tactics;             // indices into Attack::tactics(), kill-chain order, no duplicates
  std::vector<std::string> techniques;  // "T1003.001", in tag order, no duplicates
};

class Attack {
 public:
  // The built-in table; throws only if the embedded data is broken.
  static const Attack& builtin();
  // Parses the YAML of data/attack.yaml; false with a message when unusable.
  bool load_yaml(const std::string& text, std::string* error);
  // The same from a parsed document (the built-in table comes as its tree).
  bool load_tree(const YAML::Node& root, std::string* error);

  const std::vector<Tactic>& tactics() const { return tactics_; }
  // Tactics and techniques named by a rule's tags (case-insensitive); other
  // tags (cve.*, detection.*, attack.g0007, attack.s0002) are ignored.
  AttackTags classify(const std::vector<std::string>& tags) const;
  // "T1003.001" for "attack.t1003.001"; empty when the tag is not a technique.
  static std::string technique_id(std::string_view tag);

 private:
  std::vector<Tactic> tactics_;
};

}  // namespace vigil

// The rules a hunt's detections refer to, by index: the loaded Sigma rules,
// then the rules made during the hunt (one per indicator that hits, one per
// network finding). A view over the two lists, so the loaded rules (thousands,
// each with its strings) are not copied just to append a few. Over a RuleSet,
// a rule is taken with RuleSet::rule, which makes a cached rule from the
// cache file when it is first needed.
#pragma once
#include <cstddef>
#include <vector>

#include "detection/sigma/rule.hpp"

namespace vigil {

namespace sigma {
class RuleSet;
}

class RuleTable {
 public:
  RuleTable(const std::vector<sigma::Rule>* loaded = nullptr, const std::vector<sigma::Rule>* added = nullptr)
      : loaded_(loaded), added_(added) {}
  RuleTable(const std::vector<sigma::Rule>& loaded) : loaded_(&loaded), added_(nullptr) {}
  RuleTable(const std::vector<sigma::Rule>&&) = delete;  // would outlive the list
  RuleTable(const sigma::RuleSet* loaded, const std::vector<sigma::Rule>* added);

  size_t size() const { return loaded_size_() + (added_ ? added_->size() : 0); }
  const sigma::Rule& operator[](size_t i) const;

 private:
  size_t loaded_size_() const;
  const sigma::RuleSet* set_ = nullptr;
  const std::vector<sigma::Rule>* loaded_ = nullptr;
  const std::vector<sigma::Rule>* added_ = nullptr;
};

}  // namespace vigil

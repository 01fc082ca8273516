#include "detection/rule_table.hpp"

#include "detection/sigma/ruleset.hpp"

namespace vigil {

RuleTable::RuleTable(const sigma::RuleSet* loaded, const std::vector<sigma::Rule>* added)
    : set_(loaded), added_(added) {}

size_t RuleTable::loaded_size_() const {
  if (set_) return set_->rule_count();
  return loaded_ ? loaded_->size() : 0;
}

const sigma::Rule& RuleTable::operator[](size_t i) const {
  const size_t n = loaded_size_();
  if (i >= n) return (*added_)[i - n];
  return set_ ? set_->rule(i) : (*loaded_)[i];
}

}  // namespace vigil

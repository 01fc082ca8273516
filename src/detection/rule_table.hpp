// The rules a hunt's detections refer to, by index: the loaded Sigma rules,
// then the rules made during the hunt (one per indicator that hits, one per
// network finding). A view over the two lists, so the loaded rules (thousands,
// each with its strings) are not copied just to append a few.
#pragma once
#include <cstddef>
#include <vector>

#include "detection/sigma/rule.hpp"

namespace vigil {

class RuleTable {
 public:
  RuleTable(const std::vector<sigma::Rule>* loaded = nullptr, const std::vector<sigma::Rule>* added = nullptr)
      : loaded_(loaded), added_(added) {}
  RuleTable(const std::vector<sigma::Rule>& loaded) : loaded_(&loaded), added_(nullptr) {}
  RuleTable(const std::vector<sigma::Rule>&&) = delete;  // would outlive the list

  size_t size() const { return (loaded_ ? loaded_->size() : 0) + (added_ ? added_->size() : 0); }
  const sigma::Rule& operator[](size_t i) const {
    const size_t n = loaded_ ? loaded_->size() : 0;
    return i < n ? (*loaded_)[i] : (*added_)[i - n];
  }

 private:
  const std::vector<sigma::Rule>* loaded_;
  const std::vector<sigma::Rule>* added_;
};

}  // namespace vigil

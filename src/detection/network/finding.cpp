#include "detection/network/finding.hpp"

#include <algorithm>

#include "event/value.hpp"

namespace vigil {

Figure figure(std::string name, std::string_view v) {
  std::string json;
  append_json_string(json, v);
  return Figure{std::move(name), std::move(json), std::string(v)};
}

void sort_findings(std::vector<NetworkFinding>& findings) {
  std::stable_sort(findings.begin(), findings.end(), [](const NetworkFinding& a, const NetworkFinding& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.analytic != b.analytic) return a.analytic < b.analytic;
    if (a.src != b.src) return a.src < b.src;
    return a.dst < b.dst;
  });
}

}  // namespace vigil

// Indicators as the rest of the hunt sees them: a rule standing for each
// indicator that hits (title, level, tags), and its JSON for detections.
#pragma once
#include <string>

#include "detection/ioc/indicator.hpp"
#include "detection/sigma/rule.hpp"

namespace vigil::ioc {

// {"type","value","id","name","source","confidence","labels","valid_from","valid_until"}.
std::string indicator_json(const Indicator& ind);

// "Threat intelligence: domain evil.example (C2 domain)"; level high from
// confidence 70 up (or none given), medium from 30, else low; ATT&CK labels
// become attack.t#### tags, other labels intel.<label>.
sigma::Rule indicator_rule(const Indicator& ind);

}  // namespace vigil::ioc

// Network findings as the rest of the hunt sees them: a rule standing for each
// finding (title, level from the score, ATT&CK tags) and its detection, whose
// event is the finding's figures.
#pragma once
#include <cstdint>

#include "detection/detection.hpp"
#include "detection/network/finding.hpp"
#include "detection/network/network_config.hpp"
#include "detection/sigma/rule.hpp"

namespace vigil {

// Id "vigil-net:<analytic>:<src>-><dst>", status "analytic", level from the
// score by the configured cuts.
sigma::Rule finding_rule(const NetworkFinding& f, const NetworkLevels& levels);

// At the finding's last connection, under its source host. The event is
// {"analytic","src","dst","score",<figures>,"first","last"}; the explanation
// lists the figures.
Detection finding_detection(const NetworkFinding& f, uint32_t rule, uint64_t sequence);

}  // namespace vigil

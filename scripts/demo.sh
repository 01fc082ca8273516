#!/usr/bin/env bash
# The main job on the sample data shipped in the repository: builds Vigil, then
# hunts the simulated intrusion in samples/ with Vigil's own rule pack (rules/)
# and prints the timeline of detections.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh vigil >/dev/null
build/vigil hunt -r rules samples

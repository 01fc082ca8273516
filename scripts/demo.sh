#!/usr/bin/env bash
# The main job on the sample data shipped in samples/: builds Vigil, then decodes
# the sample evidence and prints it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh vigil >/dev/null
echo "== vigil dump samples/ (first records, pretty JSON) ==" >&2
build/vigil dump --format json samples/ | head -n 80
echo "== $(build/vigil dump samples/ | wc -l) records decoded from samples/ ==" >&2

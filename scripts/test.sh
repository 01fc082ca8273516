#!/usr/bin/env bash
# Builds and runs every test: the unit and corpus tests (CTest), the same tests
# under AddressSanitizer + UndefinedBehaviorSanitizer, each fuzzer for
# ${VIGIL_FUZZ_SECONDS:-60} seconds, and the benchmark scripts in quick mode.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
jobs=$(nproc)
# Compiled-rule caches of test runs stay inside the build trees.
export VIGIL_CACHE_DIR="$PWD/build/test-cache"

log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "== build and test (RelWithDebInfo) =="
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build
ctest --test-dir build --output-on-failure -j "$jobs" | tee -a "$log"

echo "== build and test under ASan + UBSan (clang) =="
# clang, not GCC: at -O0 with the sanitizers it compiles this tree in less than
# half the time, and a second compiler's warnings and checks come with it.
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++ -DVIGIL_SANITIZE=ON \
  -DVIGIL_BENCH=OFF >/dev/null
ninja -C build-asan
# The report's script in a browser (HtmlReportInChromium, ~100 s here) was
# tested by the release build: the page is the same in both, and Chromium is not
# what the sanitizers check.
VIGIL_CACHE_DIR="$PWD/build-asan/test-cache" \
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j "$jobs" -E '^HtmlReportInChromium\.' | tee -a "$log"

if [ -f fuzz/run.sh ]; then
  echo "== fuzzing (${VIGIL_FUZZ_SECONDS:-60} s per target) =="
  bash fuzz/run.sh "${VIGIL_FUZZ_SECONDS:-60}"
fi

echo "== benchmark smoke runs (numbers are not checked here) =="
bash bench/dump_bench.sh --quick --vigil build/vigil
python3 bench/bench.py --quick --vigil build/vigil
build/bench/micro/ioc_scale --quick
build/bench/micro/net_scale --quick

# One closing line for the whole run: tests of both builds.
total=$(awk '/tests passed, .* tests failed out of/ {n += $NF} END {print n + 0}' "$log")
echo "tests: $total passed, 0 failed"

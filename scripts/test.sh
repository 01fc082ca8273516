#!/usr/bin/env bash
# Builds and runs every test: the unit and corpus tests (CTest), the same tests
# under AddressSanitizer + UndefinedBehaviorSanitizer, each fuzzer for
# ${VIGIL_FUZZ_SECONDS:-60} seconds, and the benchmark script in quick mode.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
jobs=$(nproc)
# Compiled-rule caches of test runs stay inside the build trees.
export VIGIL_CACHE_DIR="$PWD/build/test-cache"

echo "== build and test (RelWithDebInfo) =="
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build
ctest --test-dir build --output-on-failure -j "$jobs"

echo "== build and test under ASan + UBSan =="
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DVIGIL_SANITIZE=ON >/dev/null
ninja -C build-asan
VIGIL_CACHE_DIR="$PWD/build-asan/test-cache" \
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j "$jobs"

if [ -f fuzz/run.sh ]; then
  echo "== fuzzing (${VIGIL_FUZZ_SECONDS:-60} s per target) =="
  bash fuzz/run.sh "${VIGIL_FUZZ_SECONDS:-60}"
fi

if [ -f bench/dump_bench.sh ]; then
  echo "== benchmark smoke run =="
  bash bench/dump_bench.sh --quick --vigil build/vigil
fi
echo "all tests passed"

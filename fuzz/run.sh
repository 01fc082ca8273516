#!/usr/bin/env bash
# Builds the libFuzzer targets in build-fuzz/ with clang++ and runs each one for
# DURATION seconds (default 60). Fails (non-zero) when a fuzzer finds a crash, a
# leak, a timeout or undefined behaviour; the input that did it is kept in
# build-fuzz/artifacts/.
#
#   bash fuzz/run.sh [DURATION]
#
# Seed corpora are made afresh in a temporary directory: EVTX seeds from the
# shared corpus (../shared/corpus/evtx-attack-samples, or $VIGIL_CORPUS: the file
# header and first chunk of some files, and first chunks alone) plus small files
# written with tests/evtx_builder.hpp; JSON-lines seeds from
# ../shared/corpus/otrf-atomic and samples/. Without the shared corpus the built
# and built-in seeds are used alone. What the fuzzers discover is kept in
# build-fuzz/corpus/ for the next run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

duration=${1:-60}
if ! [[ "$duration" =~ ^[0-9]+$ ]] || [ "$duration" -eq 0 ]; then
  echo "usage: $0 [DURATION_SECONDS]   (a positive whole number of seconds per fuzzer)" >&2
  exit 2
fi

cxx=${FUZZ_CXX:-clang++}
if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "fuzz/run.sh: $cxx not found; libFuzzer needs clang (apt-get install clang)" >&2
  exit 1
fi

build=$root/build-fuzz
echo "== building fuzzers in $build with $cxx =="
CXX=$cxx cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DVIGIL_FUZZ=ON -DVIGIL_TESTS=OFF >/dev/null
ninja -C "$build" -j "${FUZZ_JOBS:-$(nproc)}" evtx_fuzzer jsonl_fuzzer zeek_fuzzer

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vigil-fuzz-seeds-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/evtx" "$tmp/jsonl" "$tmp/zeek"

if [ -n "${VIGIL_CORPUS:-}" ]; then
  corpus=$VIGIL_CORPUS
else
  corpus=$root/../shared/corpus
fi

# u32 little-endian at byte offset $2 of file $1.
u32_at() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' \n'; }

# ---- EVTX seeds from the corpus: file header + first chunk, and the first chunk alone
# (trimmed to its records; the fuzzer wraps a bare chunk in a file header).
n_corpus_evtx=0
if [ -d "$corpus/evtx-attack-samples" ]; then
  while IFS= read -r -d '' f; do
    n_corpus_evtx=$((n_corpus_evtx + 1))
    # Every 30th file in sorted order: a spread of providers, deterministic.
    [ $(((n_corpus_evtx - 1) % 30)) -eq 0 ] || continue
    base=$(printf 'corpus-%03d' "$n_corpus_evtx")
    head -c $((4096 + 65536)) "$f" >"$tmp/evtx/$base.evtx"
    free=$(u32_at "$f" $((4096 + 48)))
    if [ -n "$free" ] && [ "$free" -ge 512 ] && [ "$free" -le 65536 ]; then
      tail -c +4097 "$f" | head -c "$free" >"$tmp/evtx/$base.chunk" || true
    fi
  done < <(find "$corpus/evtx-attack-samples" -name '*.evtx' -type f -print0 | sort -z)
  echo "EVTX seeds: $(ls "$tmp/evtx" | wc -l) from $n_corpus_evtx corpus files"
else
  echo "EVTX seeds: shared corpus not found at $corpus; using built seeds only"
fi

# ---- EVTX seeds written with the tests' builder: every value type, arrays, nested
# BinXML, references, CDATA, reused templates; whole files and bare chunks.
cat >"$tmp/make_seeds.cpp" <<'EOF'
#include <fstream>
#include <string>

#include "evtx_builder.hpp"
using namespace vigil::test::evtx;

static void emit(const std::string& dir, const std::string& name, const EvtxBuilder& b) {
  const std::string f = b.bytes();
  std::ofstream(dir + "/" + name + ".evtx", std::ios::binary) << f;
  const uint32_t free_space = get32(f, kFileHeaderSize + 48);
  std::ofstream(dir + "/" + name + ".chunk", std::ios::binary) << f.substr(kFileHeaderSize, free_space);
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const std::string dir = argv[1];
  const uint8_t g[16] = {0x5F, 0x38, 0x70, 0x57, 0x2A, 0xC2, 0xE0, 0x43, 0xBF, 0x4C, 0x06, 0xF5, 0x69, 0x8F, 0xFB, 0xD9};
  {
    EvtxBuilder b;
    RecordSpec s;
    s.event_id = u16(1);
    s.data = {{"S", str("cmd.exe /c whoami")}, {"A", ansi("ansi")}, {"I8", i8(-1)}, {"U8", u8(1)},
              {"I16", i16(-2)}, {"U16", u16(2)}, {"I32", i32(-3)}, {"U32", u32(3)}, {"I64", i64(-4)},
              {"U64", u64(4)}, {"F", real32(1.5f)}, {"D", real64(2.5)}, {"B", boolean(true)},
              {"Bin", binary("\x01\x02")}, {"G", guid(g)}, {"Sz", size_t64(5)},
              {"Ft", filetime(132539328000000000ULL)}, {"St", systemtime(2021, 1, 5, 1, 2, 3, 4, 5)},
              {"Sid", sid(1, 5, {21, 1, 2, 3, 500})}, {"H32", hex32(0xabc)}, {"H64", hex64(0xdef)},
              {"SA", str_array({"a", "b"})}, {"UA", u16_array({1, 2})}, {"IA", i32_array({-1, 1})},
              {"N", null_value(), true, 0x01}};
    b.add_record(1, 132539328000000000ULL, s);
    b.add_record(2, 132539328000000000ULL, s);  // reuses the template
    emit(dir, "built-types", b);
  }
  {
    Fragment inner;
    inner.tmpl.key = "inner";
    inner.tmpl.root = elem("UserData", {}, {elem("Cleared", {attr("xmlns", {text("urn:x")})},
                                                  {elem("User", {}, {sub(0, 0x01)})})});
    inner.values = {str("alice")};
    EvtxBuilder b;
    RecordSpec s;
    s.event_id = u16(1102);
    s.user_data = true;
    s.user_data_value = binxml(inner);
    b.add_record(1, 1, s);
    Fragment refs;
    refs.tmpl.key = "refs";
    refs.tmpl.root = elem("Event", {}, {elem("EventData", {},
        {elem("Data", {attr("Name", {text("R")})}, {text("a"), entity("amp"), charref(0x42), cdata("<c>")})})});
    b.add_fragment(2, 1, refs);
    emit(dir, "built-nested", b);
  }
  {
    EvtxBuilder b;
    b.options.share_names = false;
    b.options.share_templates = false;
    RecordSpec s;
    s.data = {{"CommandLine", str("powershell -enc AAAA")}};
    b.add_record(1, 1, s);
    b.add_record(2, 1, s);
    emit(dir, "built-inline", b);
  }
  return 0;
}
EOF
if "$cxx" -std=c++20 -O1 -I"$root/tests" "$tmp/make_seeds.cpp" -o "$tmp/make_seeds" -lz &&
   "$tmp/make_seeds" "$tmp/evtx"; then
  echo "EVTX seeds: built files added ($(ls "$tmp/evtx" | wc -l) in all)"
else
  echo "fuzz/run.sh: could not build the seed writer; using a bare chunk header as the EVTX seed" >&2
  printf 'ElfChnk\0' >"$tmp/evtx/tiny.chunk"
fi

# ---- JSON-lines seeds: a few lines of some otrf-atomic files, the repository's
# samples, and built-in lines in each layout.
first_lines() {  # FILE N: the first N lines, plain or gzip
  case "$1" in
    *.gz) { gzip -dc "$1" 2>/dev/null || true; } | head -n "$2" ;;
    *) head -n "$2" "$1" ;;
  esac
}
n=0
if [ -d "$corpus/otrf-atomic" ]; then
  while IFS= read -r -d '' f; do
    n=$((n + 1))
    [ "$n" -le 16 ] || break  # the first 16 files in sorted order
    first_lines "$f" 4 >"$tmp/jsonl/otrf-$n.jsonl" || true
    first_lines "$f" 1 >"$tmp/jsonl/otrf-$n-line.jsonl" || true
  done < <(find "$corpus/otrf-atomic" \( -name '*.json' -o -name '*.json.gz' -o -name '*.jsonl' \) -type f -print0 | sort -z)
fi
for f in "$root"/samples/*/*.jsonl; do
  [ -f "$f" ] || continue
  first_lines "$f" 3 >"$tmp/jsonl/sample-$(basename "$f")" || true
done
printf '%s\n' '{"Event":{"#attributes":{"xmlns":"x"},"System":{"EventID":4688,"Provider":{"#attributes":{"Name":"P"}}},"EventData":{"CommandLine":"cmd.exe"}}}' \
  >"$tmp/jsonl/builtin-evtx.jsonl"
printf '%s\n' '{"@timestamp":"2024-01-02T03:04:05.123Z","winlog":{"event_id":1,"channel":"Security","event_data":{"Image":"a.exe"}}}' \
  >"$tmp/jsonl/builtin-winlogbeat.jsonl"
printf '%s\n' '{"EventTime":"2024-01-02 03:04:05","Hostname":"h","SourceName":"s","EventID":4624,"Keys":[1,2.5,true,null,{"a":"b"}]}' \
  >"$tmp/jsonl/builtin-nxlog.jsonl"
printf '%s\n' '{"a":1}' 'not json' '[1,2]' '' '{"b":"\u00e9\ud83d\ude00"}' >"$tmp/jsonl/builtin-mixed.jsonl"
gzip -c "$tmp/jsonl/builtin-evtx.jsonl" >"$tmp/jsonl/builtin-evtx.jsonl.gz"
echo "JSONL seeds: $(ls "$tmp/jsonl" | wc -l)"

# ---- Zeek TSV seeds: the header and first records of each log type in
# ../shared/corpus/zeek (one gzip file kept whole), and records alone (the
# fuzzer puts a header in front of input without one).
if [ -d "$corpus/zeek" ]; then
  while IFS= read -r -d '' f; do
    b=$(basename "$f")
    kind=${b%%.*}
    [ -e "$tmp/zeek/$kind.log" ] && continue
    first_lines "$f" 12 >"$tmp/zeek/$kind.log" || true
    first_lines "$f" 12 | grep -v '^#' >"$tmp/zeek/$kind-records.log" || true
  done < <(find "$corpus/zeek" \( -name '*.log' -o -name '*.log.gz' \) -type f -print0 | sort -z)
  # sed reads all of sort's output: `head -n 1` may close the pipe first, and
  # sort's SIGPIPE (exit 141) then ended the whole run under pipefail.
  gz=$(find "$corpus/zeek" -name 'ssl.*.log.gz' -type f | sort | sed -n 1p)
  [ -n "$gz" ] && cp "$gz" "$tmp/zeek/whole.log.gz"
fi
printf '1.5\tC1\t10.0.0.1\t80\t0.25\tT\t-3\ta\\x2cb,c\t(empty)\t1.0,-\t2.5\n-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\n' \
  >"$tmp/zeek/builtin-records.log"
printf 'x\\x09y\t\\\\\t\\xc3\\xa9\t\\xc0\n' >>"$tmp/zeek/builtin-records.log"
echo "Zeek seeds: $(ls "$tmp/zeek" | wc -l)"

# ---- run the fuzzers, as many at once as there are cores (each still gets a
# core for its DURATION seconds: the same fuzzing in less wall time)
mkdir -p "$build/artifacts" "$build/logs"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
names=(evtx jsonl zeek)
at_once=${FUZZ_JOBS:-$(nproc)}
declare -A pid_of
running=0
for name in "${names[@]}"; do
  if [ "$running" -ge "$at_once" ]; then
    wait -n || true  # a slot is free; statuses are collected below
    running=$((running - 1))
  fi
  mkdir -p "$build/corpus/$name"
  echo "== ${name}_fuzzer: $duration s =="
  "$build/fuzz/${name}_fuzzer" -max_len=200000 -max_total_time="$duration" -timeout=30 -rss_limit_mb=2560 \
    -print_final_stats=1 -artifact_prefix="$build/artifacts/${name}-" \
    "$build/corpus/$name" "$tmp/$name" >"$build/logs/${name}_fuzzer.log" 2>&1 &
  pid_of[$name]=$!
  running=$((running + 1))
done
failed=()
for name in "${names[@]}"; do
  status=0
  wait "${pid_of[$name]}" || status=$?
  log=$build/logs/${name}_fuzzer.log
  if [ "$status" -ne 0 ]; then
    failed+=("$name")
    echo "${name}_fuzzer FAILED (exit status $status); log: $log" >&2
    tail -n 80 "$log" >&2
  else
    echo "${name}_fuzzer:"
    grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added|stat::peak_rss_mb)' "$log" || tail -n 5 "$log"
  fi
done

if [ "${#failed[@]}" -ne 0 ]; then
  echo "fuzz/run.sh: crashes found by: ${failed[*]}; inputs in $build/artifacts/" >&2
  exit 1
fi
echo "fuzz/run.sh: no crash in ${duration} s per fuzzer"

#!/usr/bin/env bash
# Benchmarks `vigil dump` against Debian's `evtxexport` (libevtx-utils) on the
# EVTX-ATTACK-SAMPLES corpus and prints one markdown table.
#
#   bench/dump_bench.sh [--vigil PATH] [--runs N] [--largest K] [--quick]
#
# Corpus: $VIGIL_CORPUS/evtx-attack-samples ($VIGIL_CORPUS defaults to ../shared/corpus relative to
# the repo root). A missing corpus is not an error: the script says
# "corpus not found, skipping" and exits 0. Any failing command exits non-zero.
# See bench/README.md for what the columns mean.
set -euo pipefail
export LC_ALL=C # '.' as decimal separator in $EPOCHREALTIME and awk

die() { echo "dump_bench: $*" >&2; exit 1; }

usage() {
  cat <<'EOF'
Usage: bench/dump_bench.sh [--vigil PATH] [--runs N] [--largest K] [--quick]

  --vigil PATH   vigil binary (default: build/vigil in the repo root; built with
                 cmake+ninja only when that default is missing)
  --runs N       timed runs per row, the median is reported (default 5)
  --largest K    size of the "largest files" variant (default 5)
  --quick        smoke run for CI: 1 run, only the first 20 files
  -h, --help     this text

Environment: VIGIL_CORPUS = corpus root holding evtx-attack-samples/ (default ../shared/corpus
relative to the repo root).
EOF
}

((BASH_VERSINFO[0] >= 5)) || die "needs bash >= 5 (for \$EPOCHREALTIME)"

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$script_dir/.." && pwd)

vigil=""
runs=5
largest=5
quick=0
while (($#)); do
  case $1 in
    --vigil) (($# >= 2)) || die "--vigil needs a PATH"; vigil=$2; shift 2 ;;
    --vigil=*) vigil=${1#*=}; shift ;;
    --runs) (($# >= 2)) || die "--runs needs N"; runs=$2; shift 2 ;;
    --runs=*) runs=${1#*=}; shift ;;
    --largest) (($# >= 2)) || die "--largest needs K"; largest=$2; shift 2 ;;
    --largest=*) largest=${1#*=}; shift ;;
    --quick) quick=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive integer, got '$runs'"
[[ $largest =~ ^[1-9][0-9]*$ ]] || die "--largest must be a positive integer, got '$largest'"
((quick)) && runs=1
quick_files=20

# --- corpus ------------------------------------------------------------------
corpus=${VIGIL_CORPUS:-$repo/../shared/corpus}/evtx-attack-samples
if [[ ! -d $corpus ]]; then
  echo "corpus not found, skipping ($corpus does not exist; set VIGIL_CORPUS)"
  exit 0
fi
corpus=$(cd "$corpus" && pwd)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dump_bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# Any failing command ends the script with its exit status and says which one.
set -E
on_err() {
  local rc=$1
  if [[ $BASHPID == "$$" ]]; then # report once, from the main shell
    echo "dump_bench: command failed (exit $rc) at line $2: $3" >&2
    local f
    for f in "$tmp"/*.stderr; do
      [[ -s $f ]] && { echo "--- last lines of $(basename "$f"):" >&2; tail -n 5 "$f" >&2; }
    done
  fi
  exit "$rc"
}
trap 'on_err $? $LINENO "$BASH_COMMAND"' ERR

# size<TAB>path, NUL-separated, sorted by path so "the first 20 files" is stable.
find -H "$corpus" -type f -iname '*.evtx' -printf '%s\t%p\0' | sort -z -t $'\t' -k2 >"$tmp/all.sz"
if ((quick)); then
  head -z -n "$quick_files" "$tmp/all.sz" >"$tmp/set.sz"
else
  cp "$tmp/all.sz" "$tmp/set.sz"
fi
if [[ ! -s $tmp/set.sz ]]; then
  echo "corpus not found, skipping (no .evtx files under $corpus)"
  exit 0
fi
# (via a file, not a pipe: `sort | head` would die of SIGPIPE under pipefail)
sort -z -t $'\t' -k1,1nr -k2 "$tmp/set.sz" >"$tmp/by_size.sz"
head -z -n "$largest" "$tmp/by_size.sz" >"$tmp/big.sz"

cut -z -f2- "$tmp/set.sz" >"$tmp/set.list"
cut -z -f2- "$tmp/big.sz" >"$tmp/big.list"
mapfile -d '' -t set_files <"$tmp/set.list"
mapfile -d '' -t big_files <"$tmp/big.list"
sum_bytes() { cut -z -f1 "$1" | tr '\0' '\n' | awk '{s += $1} END {printf "%d", s}'; }
set_bytes=$(sum_bytes "$tmp/set.sz")
big_bytes=$(sum_bytes "$tmp/big.sz")
nset=${#set_files[@]}
nbig=${#big_files[@]}

# --- tools -------------------------------------------------------------------
need_pkgs=()
[[ -x /usr/bin/time ]] || need_pkgs+=(time)
command -v evtxexport >/dev/null || need_pkgs+=(libevtx-utils)
if ((${#need_pkgs[@]})); then
  echo "dump_bench: installing Debian packages: ${need_pkgs[*]}" >&2
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi
[[ -x /usr/bin/time ]] || die "/usr/bin/time still missing (Debian package 'time')"
evtxexport=$(command -v evtxexport) || die "evtxexport still missing (Debian package 'libevtx-utils')"

if [[ -z $vigil ]]; then
  vigil=$repo/build/vigil
  if [[ ! -x $vigil ]]; then
    echo "dump_bench: $vigil missing, building it" >&2
    (cd "$repo" && cmake -S . -B build -G Ninja && ninja -C build vigil) >&2
  fi
fi
[[ -x $vigil ]] || die "vigil binary not found or not executable: $vigil"
vigil=$(cd "$(dirname "$vigil")" && pwd)/$(basename "$vigil")

nproc=$(nproc)
load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)

# --- record counts (also warms the page cache) --------------------------------
# records = lines of `vigil dump` jsonl output; evtxexport's "Event number" lines
# are counted as a cross-check.
count_vigil() { "$vigil" dump --threads "$nproc" "$@" 2>>"$tmp/vigil.stderr" | wc -l; }
count_evtxexport() {
  xargs -0 -n1 -a "$1" "$evtxexport" 2>>"$tmp/evtxexport.stderr" </dev/null | { grep -c '^Event number' || true; }
}
set_records=$(count_vigil "${set_files[@]}")
big_records=$(count_vigil "${big_files[@]}")
set_records_ee=$(count_evtxexport "$tmp/set.list")
big_records_ee=$(count_evtxexport "$tmp/big.list")
((set_records > 0)) || die "vigil dump produced no records on $corpus"

# --- timed runs ---------------------------------------------------------------
# Rows: id|tool label|threads|baseline id|input (set or big)|command...
# Runs are interleaved (run 1 of every row, then run 2, ...) so slow drift in
# machine load does not favour one tool.
rows=(
  "v1|vigil dump|1|ee|set"
  "vN|vigil dump|$nproc|ee|set"
  "ee|evtxexport (xargs -n1, $nset processes)|1|ee|set"
  "bv1|vigil dump, largest $nbig files|1|bee|big"
  "bvN|vigil dump, largest $nbig files|$nproc|bee|big"
  "bee|evtxexport, largest $nbig files ($nbig processes)|1|bee|big"
)

cmd_for() { # id -> argv in the global array `cmd`
  case $1 in
    v1) cmd=("$vigil" dump --threads 1 "${set_files[@]}") ;;
    vN) cmd=("$vigil" dump --threads "$nproc" "${set_files[@]}") ;;
    bv1) cmd=("$vigil" dump --threads 1 "${big_files[@]}") ;;
    bvN) cmd=("$vigil" dump --threads "$nproc" "${big_files[@]}") ;;
    ee) cmd=(xargs -0 -n1 -a "$tmp/set.list" "$evtxexport") ;;
    bee) cmd=(xargs -0 -n1 -a "$tmp/big.list" "$evtxexport") ;;
    *) die "internal: unknown row $1" ;;
  esac
}

measure() { # id: one timed run; appends "wall_s peak_rss_kb" to $tmp/samples.id
  local id=$1 t0 t1 rss
  cmd_for "$id"
  t0=$EPOCHREALTIME
  if ! /usr/bin/time -v -o "$tmp/time.$id" "${cmd[@]}" >/dev/null 2>"$tmp/err.$id" </dev/null; then
    echo "dump_bench: command failed (row $id): ${cmd[*]:0:4} ..." >&2
    cat "$tmp/err.$id" "$tmp/time.$id" >&2 2>/dev/null || true
    exit 1
  fi
  t1=$EPOCHREALTIME
  rss=$(awk -F': *' '/Maximum resident set size/ {print $2}' "$tmp/time.$id")
  [[ -n $rss ]] || die "could not read peak RSS from /usr/bin/time -v output"
  awk -v a="$t0" -v b="$t1" -v r="$rss" 'BEGIN {printf "%.6f %d\n", b - a, r}' >>"$tmp/samples.$id"
}

for ((i = 1; i <= runs; i++)); do
  for row in "${rows[@]}"; do
    measure "${row%%|*}"
  done
done

# median wall time and max peak RSS of one row: prints "median_s rss_kb"
stats() {
  sort -n -k1,1 "$tmp/samples.$1" | awk '
    { t[NR] = $1; if ($2 > r) r = $2 }
    END { m = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2; printf "%.6f %d\n", m, r }'
}

# --- table --------------------------------------------------------------------
declare -A med rss
for row in "${rows[@]}"; do
  id=${row%%|*}
  read -r "med[$id]" "rss[$id]" < <(stats "$id")
done

mode="full, $runs runs"
((quick)) && mode="quick: first $nset files, 1 run"
echo
echo "## vigil dump vs evtxexport ($mode)"
echo
echo "| tool | threads | median s | records/s | MB/s | peak RSS MB | speed-up vs evtxexport |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for row in "${rows[@]}"; do
  IFS='|' read -r id label threads base input <<<"$row"
  if [[ $input == set ]]; then recs=$set_records bytes=$set_bytes; else recs=$big_records bytes=$big_bytes; fi
  awk -v l="$label" -v th="$threads" -v t="${med[$id]}" -v tb="${med[$base]}" \
      -v n="$recs" -v b="$bytes" -v r="${rss[$id]}" 'BEGIN {
    t = (t > 0) ? t : 1e-9
    printf "| %s | %s | %.3f | %.0f | %.1f | %.1f | %.2fx |\n", l, th, t, n / t, b / 1048576 / t, r / 1024, tb / t
  }'
done
echo

# vigil 1 thread vs evtxexport: same records and bytes, so the throughput ratio
# is the inverse ratio of the median times.
awk -v v="${med[v1]}" -v e="${med[ee]}" -v bv="${med[bv1]}" -v be="${med[bee]}" -v k="$nbig" 'BEGIN {
  x = e / v
  printf "vigil 1-thread / evtxexport throughput: %.1fx (target: >= 10x) -> %s\n", x, (x >= 10 ? "met" : "NOT met")
  printf "same ratio on the largest %d files (evtxexport start-up amortised): %.1fx\n", k, be / bv
}'

# --- notes ----------------------------------------------------------------------
cpu=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
echo
echo "Notes:"
echo "- corpus: $corpus; $nset .evtx files, $(awk -v b="$set_bytes" 'BEGIN {printf "%.1f", b / 1048576}') MB, $set_records records" \
  "(largest $nbig files: $(awk -v b="$big_bytes" 'BEGIN {printf "%.1f", b / 1048576}') MB, $big_records records)."
echo "- records = lines of \`vigil dump\` jsonl output; evtxexport exported $set_records_ee / $big_records_ee events" \
  "(\"Event number\" lines) on the same files$([[ $set_records_ee == "$set_records" && $big_records_ee == "$big_records" ]] && echo ", identical counts" || echo " -- COUNTS DIFFER from vigil")."
echo "- evtxexport takes one file per call, so its corpus row runs $nset processes in sequence (\`xargs -0 -n1\`):" \
  "per-process start-up (exec, dynamic linking, opening the file) is included $nset times." \
  "The \"largest $nbig files\" rows run $nbig processes on the biggest inputs, which amortises that start-up;" \
  "their speed-up is relative to evtxexport on those same files."
echo "- both tools write to /dev/null (vigil: jsonl, evtxexport: default text format); vigil is given the same" \
  "explicit list of .evtx files as evtxexport."
echo "- median s = median wall time of $runs run(s) (bash \$EPOCHREALTIME around \`/usr/bin/time -v\`);" \
  "peak RSS = largest \"Maximum resident set size\" over the runs (for evtxexport: the largest single process);" \
  "MB = 2^20 bytes; MB/s = total .evtx bytes / median s. Page cache warm (files read once before timing)."
echo "- machine: $nproc cores${cpu:+, $cpu}, load average before the run: $load; $("$vigil" --version 2>/dev/null | head -1); $("$evtxexport" -V 2>/dev/null | head -1)."
if [[ -s $tmp/vigil.stderr ]]; then
  echo "- vigil printed on stderr ($(wc -l <"$tmp/vigil.stderr") lines), first: $(head -1 "$tmp/vigil.stderr")"
fi
if [[ -s $tmp/evtxexport.stderr ]]; then
  echo "- evtxexport printed on stderr ($(wc -l <"$tmp/evtxexport.stderr") lines), first: $(head -1 "$tmp/evtxexport.stderr")"
fi

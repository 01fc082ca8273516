#!/usr/bin/env python3
"""Vigil benchmark suite: decode, hunt and scale workloads on the shared corpus.

    bench/bench.py [--quick] [--runs N] [--vigil PATH] [--only W1,W4] [--keep-tmp]

Prints one markdown table of measurements and a second, small table of target
checks (PASS/FAIL). Progress goes to stderr, the tables to stdout.

Workloads (see bench/README.md for the details):
  W1  vigil dump of evtx-attack-samples, 1 and all threads; evtxexport (one
      process per file) as the fixed reference
  W2  vigil hunt of the same with every rule of the five sigma rule folders,
      warm rule cache, 1 and all threads; one cold hunt (--no-cache); rule
      loading alone (vigil rules check, warm and cold)
  W3  the W2 hunt (1 thread, warm) with 100, 1,000 and all rules (seeded sample)
  W4  a >= 1 GiB corpus (N copies of the samples) and the 10x corpus: hunt
      throughput and peak RSS, 1 and all threads; published Chainsaw/Hayabusa rows
  W5  the W2 hunt over the same events as JSON lines

Corpus: $VIGIL_CORPUS, else ../shared/corpus relative to the repo root. A missing
corpus is not an error ("corpus not found, skipping", exit 0).

Exit status: 0 done (in --quick mode even when targets fail); 1 a vigil command
(or the set-up) failed; 2 bad usage; 3 full mode and at least one target FAILed.
Standard library only.
"""
from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RULE_FOLDERS = ["rules", "rules-threat-hunting", "rules-emerging-threats", "rules-placeholder", "rules-compliance"]
WORKLOADS = ["W1", "W2", "W3", "W4", "W5"]
GIB = 1 << 30
MB = 1 << 20
QUICK_FILES = 20
SEED = 42

# Published figures (2-core machine) for the like-for-like rows; not measured here.
# (tool, corpus copies, threads, seconds)
PUBLISHED = [
    ("Chainsaw", 1, 1, 9.9),
    ("Hayabusa", 1, 1, 13.0),
    ("Hayabusa", 1, 2, 8.4),
    ("Chainsaw", 10, 1, 125.9),
    ("Hayabusa", 10, 2, 62.4),
]

# Targets of the performance issue.
T_HUNT_VS_DUMP = 2.0       # W2 hunt time <= 2x W1 dump time, same threads
T_RULE_SCALING = 1.5       # W3 all rules <= 1.5x the 100-rule time
T_THREAD_SCALING = 1.8     # all threads >= 1.8x one thread (W2, W4)
T_RSS_MB = 300.0           # W4 peak RSS
T_RSS_GROWTH = 1.25        # RSS(1 GiB corpus) <= 1.25x RSS(10x corpus)
T_VS_EVTXEXPORT = 10.0     # W1 1 thread >= 10x evtxexport
T_RECS_PER_CORE = 33000.0  # W2, W4 records/s per core, all rules
T_10X_SECONDS = 2.5        # 10x corpus, 1 thread (50x Chainsaw's 125.9 s)
T_1X_SECONDS = 0.5         # 1x corpus incl. warm rule loading


class BenchError(Exception):
    """A command or the set-up failed: the script exits 1."""


def log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def fmt_int(x: float | int | None) -> str:
    return "-" if x is None else f"{x:,.0f}"


def thr(n: int) -> str:
    return f"{n} thread" if n == 1 else f"{n} threads"


def copies(n: int) -> str:
    return f"{n} copy" if n == 1 else f"{n} copies"


def fmt_f(x: float | None, digits: int) -> str:
    return "-" if x is None else f"{x:,.{digits}f}"


class Row:
    """One line of the result table: a command timed `runs` times, or a published figure."""

    def __init__(self, workload: str, what: str, threads: int | str, *, cmd: list[str] | None = None,
                 rules: int | None = None, records: int | None = None, nbytes: int | None = None,
                 runs: int | None = None, published: float | None = None, is_vigil: bool = True,
                 stdout: str | None = None):
        self.workload, self.what, self.threads = workload, what, threads
        self.cmd, self.rules, self.records, self.nbytes = cmd, rules, records, nbytes
        self.runs, self.published, self.is_vigil, self.stdout = runs, published, is_vigil, stdout
        self.samples: list[tuple[float, int | None, float | None]] = []  # (wall s, peak RSS KiB, CPU %)
        self.failed: str | None = None  # reference tool failure, noted instead of fatal

    def median(self) -> float | None:
        if self.published is not None:
            return self.published
        return statistics.median(s[0] for s in self.samples) if self.samples else None

    def cpu_pct(self) -> float | None:
        vals = [s[2] for s in self.samples if s[2] is not None]
        return statistics.median(vals) if vals else None

    def rss_mb(self) -> float | None:
        vals = [s[1] for s in self.samples if s[1] is not None]
        return max(vals) / 1024 if vals else None

    def recs_per_s(self) -> float | None:
        t = self.median()
        return self.records / t if (t and self.records) else None

    def mb_per_s(self) -> float | None:
        t = self.median()
        return self.nbytes / MB / t if (t and self.nbytes) else None


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.quick = args.quick
        self.runs = 1 if args.quick else args.runs
        self.nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        self.only = args.only
        self.rows: list[Row] = []
        self.notes: list[str] = []
        self.tmp = ""
        self.vigil = ""
        self.time_bin = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
        self.stderr_lines: dict[str, list[str]] = {}
        self.warmed: set[tuple[str, ...]] = set()

    # --- running commands -------------------------------------------------
    def run_once(self, cmd: list[str], *, label: str, is_vigil: bool = True,
                 stdout: str | None = None) -> tuple[float, int | None, float | None, int]:
        """Runs cmd (stdout to /dev/null or a file); returns (wall s, peak RSS KiB, CPU %, exit status).
        A failing vigil command raises BenchError."""
        timefile = os.path.join(self.tmp, "time.out")
        errfile = os.path.join(self.tmp, "cmd.err")
        out = open(stdout, "wb") if stdout else subprocess.DEVNULL
        try:
            with open(errfile, "wb") as err:
                if self.time_bin:
                    argv = [self.time_bin, "-v", "-o", timefile] + cmd
                    t0 = time.perf_counter()
                    rc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err).returncode
                    wall = time.perf_counter() - t0
                    rss = cpu = None
                    try:
                        with open(timefile, encoding="utf-8", errors="replace") as f:
                            for line in f:
                                if "Maximum resident set size" in line:
                                    rss = int(line.rsplit(":", 1)[1])
                                elif "Percent of CPU this job got" in line:
                                    cpu = float(line.rsplit(":", 1)[1].strip().rstrip("%"))
                    except (OSError, ValueError):
                        pass
                else:  # no /usr/bin/time: the kernel's rusage of the child
                    t0 = time.perf_counter()
                    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
                    _, status, ru = os.wait4(p.pid, 0)
                    wall = time.perf_counter() - t0
                    p.returncode = os.waitstatus_to_exitcode(status)
                    rc, rss = p.returncode, ru.ru_maxrss
                    cpu = 100.0 * (ru.ru_utime + ru.ru_stime) / wall if wall > 0 else None
        finally:
            if stdout:
                out.close()
        with open(errfile, encoding="utf-8", errors="replace") as f:
            err_text = f.read()
        if rc != 0:
            tail = "\n".join(err_text.strip().splitlines()[-8:])
            msg = f"command failed (exit {rc}): {label}\n  {' '.join(cmd[:6])}{' ...' if len(cmd) > 6 else ''}"
            if tail:
                msg += f"\n--- last lines of its stderr:\n{tail}"
            if is_vigil:
                raise BenchError(msg)
            log(msg)
        elif err_text.strip():
            self.stderr_lines.setdefault(label, []).extend(err_text.strip().splitlines())
        return wall, rss, cpu, rc

    def measure(self, rows: list[Row], name: str) -> None:
        """Times every row `runs` times, interleaved (run 1 of each row, then run 2...)."""
        max_runs = max((r.runs or self.runs) for r in rows if r.cmd)
        for i in range(max_runs):
            for r in rows:
                if not r.cmd or i >= (r.runs or self.runs) or r.failed:
                    continue
                log(f"{name} run {i + 1}/{max_runs}: {r.what}, {thr(r.threads)}")
                wall, rss, cpu, rc = self.run_once(r.cmd, label=f"{name} {r.what}", is_vigil=r.is_vigil,
                                              stdout=r.stdout)
                if rc != 0:
                    r.failed = f"exit status {rc}"
                    continue
                r.samples.append((wall, rss, cpu))
        self.rows.extend(rows)

    # --- commands ---------------------------------------------------------
    def dump_cmd(self, inputs: list[str], threads: int) -> list[str]:
        return [self.vigil, "dump", *inputs, "--threads", str(threads)]

    def hunt_cmd(self, inputs: list[str], rule_args: list[str], threads: int, cache: bool = True) -> list[str]:
        c = [self.vigil, "hunt", *inputs, *rule_args, "--format", "jsonl", "--quiet", "--threads", str(threads)]
        return c + (["--cache-dir", self.cache_dir] if cache else ["--no-cache"])

    def check_cmd(self, rule_args: list[str], cache: bool = True) -> list[str]:
        c = [self.vigil, "rules", "check", *rule_args, "--quiet"]
        return c + (["--cache-dir", self.cache_dir] if cache else ["--no-cache"])

    def warm_rules(self, rule_args: list[str]) -> None:
        """Fills the private rule cache for a rule set (untimed) with `vigil rules check`."""
        key = tuple(rule_args)
        if key in self.warmed:
            return
        log(f"compiling {self.rule_label(rule_args)} into the rule cache (untimed)")
        self.run_once(self.check_cmd(rule_args), label="rule cache warm-up")
        self.warmed.add(key)

    def rule_label(self, rule_args: list[str]) -> str:
        return f"{len(rule_args) // 2} rule folder(s)"

    # --- set-up -----------------------------------------------------------
    def find_vigil(self) -> None:
        if self.args.vigil:
            v = self.args.vigil
        else:
            v = os.path.join(REPO, "build", "vigil")
            if not os.access(v, os.X_OK):
                log(f"{v} missing, building it")
                for cmd in (["cmake", "-S", REPO, "-B", os.path.join(REPO, "build"), "-G", "Ninja"],
                            ["ninja", "-C", os.path.join(REPO, "build"), "vigil"]):
                    if subprocess.run(cmd, stdout=sys.stderr).returncode != 0:
                        raise BenchError(f"build failed: {' '.join(cmd)}")
        if not (os.path.isfile(v) and os.access(v, os.X_OK)):
            raise BenchError(f"vigil binary not found or not executable: {v}")
        self.vigil = os.path.abspath(v)

    def make_tmp(self) -> None:
        base = os.environ.get("TMPDIR") or "/tmp"
        # Never inside the repository (the 1 GiB corpus would land in the work tree).
        if os.path.realpath(base).startswith(os.path.realpath(REPO) + os.sep):
            base = "/tmp"
        self.tmp = tempfile.mkdtemp(prefix="vigil_bench.", dir=base)
        self.cache_dir = os.path.join(self.tmp, "rule-cache")
        os.makedirs(self.cache_dir)

    # --- main -------------------------------------------------------------
    def run(self) -> int:
        t_start = time.perf_counter()
        root = os.environ.get("VIGIL_CORPUS") or os.path.join(REPO, "..", "shared", "corpus")
        samples = os.path.join(root, "evtx-attack-samples")
        if not os.path.isdir(samples):
            print(f"corpus not found, skipping ({samples} does not exist; set VIGIL_CORPUS)")
            return 0
        samples = os.path.realpath(samples)
        all_files = []
        for d, _, names in os.walk(samples, followlinks=True):
            all_files += [os.path.join(d, n) for n in names if n.lower().endswith(".evtx")]
        all_files.sort()
        files = all_files[:QUICK_FILES] if self.quick else all_files
        if not files:
            print(f"corpus not found, skipping (no .evtx files under {samples})")
            return 0
        sigma = os.path.realpath(os.path.join(root, "sigma"))
        rule_dirs = [os.path.join(sigma, d) for d in RULE_FOLDERS if os.path.isdir(os.path.join(sigma, d))]
        rule_files = []
        for rd in rule_dirs:
            for d, _, names in os.walk(rd, followlinks=True):
                rule_files += [os.path.join(d, n) for n in names if n.endswith((".yml", ".yaml"))]
        rule_files.sort()
        missing = [d for d in RULE_FOLDERS if not os.path.isdir(os.path.join(sigma, d))]
        if missing:
            self.notes.append(f"rule folders missing under {sigma}: {', '.join(missing)}")

        self.find_vigil()
        self.make_tmp()
        load0 = _loadavg()
        self.files, self.samples_dir = files, samples
        self.nbytes = sum(os.stat(f).st_size for f in files)
        self.rule_dirs, self.rule_files = rule_dirs, rule_files
        self.rule_args = [a for d in rule_dirs for a in ("-r", d)]

        # Records = lines of `vigil dump` jsonl output (also the W5 input, and a
        # warm page cache for everything after).
        self.jsonl = os.path.join(self.tmp, "events.jsonl")
        log(f"counting records of {len(files)} files with vigil dump (untimed)")
        self.run_once([self.vigil, "dump", "--format", "jsonl", "--threads", str(self.nproc), "-o", self.jsonl,
                       *files], label="record count (vigil dump)")
        with open(self.jsonl, "rb") as f:
            self.records = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
        if self.records == 0:
            raise BenchError(f"vigil dump produced no records on {samples}")

        hunts_ok = bool(rule_files)
        if not hunts_ok:
            self.notes.append(f"no Sigma rules under {sigma}: W2-W5 skipped")
        for w in WORKLOADS:
            if w not in self.only:
                continue
            if w != "W1" and not hunts_ok:
                continue
            getattr(self, w.lower())()

        load1 = _loadavg()
        failed = self.report(load0, load1, time.perf_counter() - t_start)
        return 3 if (failed and not self.quick) else 0

    # --- workloads --------------------------------------------------------
    def w1(self) -> None:
        n = len(self.files)
        rows = [Row("W1", "vigil dump", 1, cmd=self.dump_cmd(self.files, 1), records=self.records, nbytes=self.nbytes),
                Row("W1", "vigil dump", self.nproc, cmd=self.dump_cmd(self.files, self.nproc),
                    records=self.records, nbytes=self.nbytes)]
        ee = shutil.which("evtxexport")
        if ee:
            listfile = os.path.join(self.tmp, "files.list0")
            with open(listfile, "wb") as f:
                f.write(b"\0".join(os.fsencode(p) for p in self.files) + b"\0")
            rows.append(Row("W1", f"evtxexport, reference ({n} processes, xargs -n1)", 1,
                            cmd=["xargs", "-0", "-n1", "-a", listfile, ee], records=self.records,
                            nbytes=self.nbytes, is_vigil=False))
            self.ee_version = _first_line([ee, "-V"])
        else:
            self.notes.append("evtxexport (Debian libevtx-utils) not installed: no W1 reference row")
        self.measure(rows, "W1")
        self.w1_rows = rows

    def w2(self) -> None:
        ra, nr, f = self.rule_args, len(self.rule_files), self.files
        log("W2 warm-up hunt (untimed; fills the rule cache)")
        self.run_once(self.hunt_cmd(f, ra, self.nproc), label="W2 warm-up")
        self.warmed.add(tuple(ra))
        rows = [
            Row("W2", "hunt, warm rule cache", 1, cmd=self.hunt_cmd(f, ra, 1), rules=nr, records=self.records,
                nbytes=self.nbytes),
            Row("W2", "hunt, warm rule cache", self.nproc, cmd=self.hunt_cmd(f, ra, self.nproc), rules=nr,
                records=self.records, nbytes=self.nbytes),
            Row("W2", "hunt, cold: --no-cache (start-up cost, 1 run)", self.nproc,
                cmd=self.hunt_cmd(f, ra, self.nproc, cache=False), rules=nr, records=self.records,
                nbytes=self.nbytes, runs=1),
            Row("W2", "rule loading alone: rules check, warm cache", self.nproc, cmd=self.check_cmd(ra), rules=nr),
            # (--quick skips it: a third full compilation, and the cold hunt above
            # already shows the cost)
            Row("W2", "rule loading alone: rules check, cold (--no-cache)"
                + (" -- skipped in --quick" if self.quick else ""), self.nproc,
                cmd=None if self.quick else self.check_cmd(ra, cache=False), rules=nr),
        ]
        self.measure(rows, "W2")
        self.w2_rows = rows

    def w3(self) -> None:
        sizes = [10, 50] if self.quick else [100, 1000]
        sizes = [k for k in sizes if k < len(self.rule_files)] + [len(self.rule_files)]
        rows = []
        index = {p: i for i, p in enumerate(self.rule_files)}
        for k in sizes:
            if k < len(self.rule_files):
                ra = ["-r", os.path.join(self.tmp, f"rules_{k}")]
                os.makedirs(ra[1])
                for p in random.Random(SEED).sample(self.rule_files, k):
                    # flat; the index in the sorted list keeps the names unique
                    os.symlink(p, os.path.join(ra[1], f"{index[p]:04d}_{os.path.basename(p)}"))
                label = f"{k:,} rules (seed {SEED})"
            else:
                # All rules: the five folders themselves (the same rule set and
                # cache entry as W2; the cache key includes the rule paths).
                ra, label = self.rule_args, "all rules"
            log(f"W3 warm-up hunt with {k} rules (untimed; fills the rule cache)")
            self.run_once(self.hunt_cmd(self.files, ra, 1), label=f"W3 warm-up {k} rules")
            rows.append(Row("W3", f"hunt, {label}, warm cache", 1, cmd=self.hunt_cmd(self.files, ra, 1), rules=k,
                            records=self.records, nbytes=self.nbytes))
        self.measure(rows, "W3")
        self.w3_rows = rows

    def w4(self) -> None:
        n_big = 2 if self.quick else math.ceil(GIB / self.nbytes)
        n_ref = 1 if self.quick else 10
        n = max(n_big, n_ref)
        big = os.path.join(self.tmp, "big")
        os.makedirs(big)
        same_fs = os.stat(self.tmp).st_dev == os.stat(self.samples_dir).st_dev
        linked = same_fs
        log(f"W4 making {n} copies of the corpus in {big} ({'hard links' if same_fs else 'copies'})")
        for c in range(n):
            dst_root = os.path.join(big, f"copy_{c:03d}")
            for src in self.files:
                dst = os.path.join(dst_root, os.path.relpath(src, self.samples_dir))
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                if linked:
                    try:
                        os.link(src, dst)
                        continue
                    except OSError:
                        linked = False  # e.g. EXDEV, EPERM: copy this and the rest
                shutil.copyfile(src, dst)
        self.w4_linked = linked
        self.w4_copies = (n_big, n_ref)
        ra, nr = self.rule_args, len(self.rule_files)
        self.warm_rules(ra)
        big_in = [os.path.join(big, f"copy_{c:03d}") for c in range(n_big)]
        ref_in = [os.path.join(big, f"copy_{c:03d}") for c in range(n_ref)]
        rows = []
        for n_copies, inputs in ((n_big, big_in), (n_ref, ref_in)):
            for t in (1, self.nproc):
                what = f"hunt, {copies(n_copies)} ({n_copies * self.nbytes / MB:,.0f} MB)"
                rows.append(Row("W4", what, t, cmd=self.hunt_cmd(inputs, ra, t), rules=nr,
                                records=n_copies * self.records, nbytes=n_copies * self.nbytes))
        self.measure(rows, "W4")
        self.w4_rows = rows
        # Published like-for-like rows (same corpus, 1x and 10x), not measured here.
        pub = []
        for tool, n_copies, threads, secs in PUBLISHED:
            pub.append(Row("W4", f"{tool}, {n_copies}x corpus (published, not measured)", threads, published=secs,
                           records=None if self.quick else n_copies * self.records,
                           nbytes=None if self.quick else n_copies * self.nbytes))
        self.rows.extend(pub)

    def w5(self) -> None:
        ra, nr = self.rule_args, len(self.rule_files)
        size = os.stat(self.jsonl).st_size
        self.warm_rules(ra)
        log("W5 warm-up hunt over JSON lines (untimed)")
        self.run_once(self.hunt_cmd([self.jsonl], ra, self.nproc), label="W5 warm-up")
        rows = [Row("W5", f"hunt JSON lines ({size / MB:,.1f} MB), warm cache", t,
                    cmd=self.hunt_cmd([self.jsonl], ra, t), rules=nr, records=self.records, nbytes=size)
                for t in (1, self.nproc)]
        self.measure(rows, "W5")
        self.w5_rows = rows

    # --- report -----------------------------------------------------------
    def find(self, attr: str, pred) -> Row | None:
        for r in getattr(self, attr, []):
            if pred(r) and r.median() is not None:
                return r
        return None

    def checks(self) -> list[tuple[str, str, str, str, str]]:
        """(check, target, measured, ratio, result) lines."""
        out = []
        N = self.nproc

        def add(name, target, measured, ratio, ok):
            res = "n/a" if ok is None else ("PASS" if ok else "FAIL")
            out.append((name, target, measured, ratio, res))

        def t(r):
            return r.median() if r else None

        # W2 vs W1, same threads.
        for th in (1, N):
            d = self.find("w1_rows", lambda r: r.what == "vigil dump" and r.threads == th)
            h = self.find("w2_rows", lambda r: r.what == "hunt, warm rule cache" and r.threads == th)
            if d and h:
                x = t(h) / t(d)
                add(f"W2 hunt (all rules) vs W1 dump, {thr(th)}", f"<= {T_HUNT_VS_DUMP:g}x",
                    f"{t(h):.3f} s vs {t(d):.3f} s", f"{x:.2f}x", x <= T_HUNT_VS_DUMP)
            else:
                add(f"W2 hunt (all rules) vs W1 dump, {thr(th)}", f"<= {T_HUNT_VS_DUMP:g}x", "-", "-", None)
        # W3 rule scaling.
        w3 = getattr(self, "w3_rows", [])
        if len(w3) >= 2 and t(w3[0]) and t(w3[-1]):
            x = t(w3[-1]) / t(w3[0])
            add(f"W3 all rules vs {w3[0].rules:,} rules, 1 thread", f"<= {T_RULE_SCALING:g}x",
                f"{t(w3[-1]):.3f} s vs {t(w3[0]):.3f} s", f"{x:.2f}x", x <= T_RULE_SCALING)
        else:
            add("W3 all rules vs 100 rules, 1 thread", f"<= {T_RULE_SCALING:g}x", "-", "-", None)
        # Thread scaling.
        for attr, name, pred in (
                ("w2_rows", "W2", lambda r: r.what == "hunt, warm rule cache"),
                ("w4_rows", "W4 (big corpus)", lambda r: r.records == self.w4_rows[0].records)):
            one = self.find(attr, lambda r: pred(r) and r.threads == 1) if hasattr(self, attr) else None
            alln = self.find(attr, lambda r: pred(r) and r.threads == N) if hasattr(self, attr) else None
            if one and alln and N > 1:
                x = t(one) / t(alln)
                add(f"{name} {thr(N)} vs 1 thread", f">= {T_THREAD_SCALING:g}x",
                    f"{t(alln):.3f} s vs {t(one):.3f} s", f"{x:.2f}x", x >= T_THREAD_SCALING)
            else:
                add(f"{name} all threads vs 1 thread", f">= {T_THREAD_SCALING:g}x", "-", "-",
                    None)
        # W4 memory.
        w4 = getattr(self, "w4_rows", [])
        if w4:
            big_rows = [r for r in w4 if r.records == w4[0].records]
            ref_rows = [r for r in w4 if r.records != w4[0].records] or big_rows
            rb = max((r.rss_mb() or 0) for r in big_rows)
            rr = max((r.rss_mb() or 0) for r in ref_rows)
            nb, nr = self.w4_copies
            add(f"W4 peak RSS, {copies(nb)} (max over threads)", f"< {T_RSS_MB:g} MB", f"{rb:.1f} MB",
                f"{rb / T_RSS_MB:.2f}x of limit", rb < T_RSS_MB)
            add(f"W4 RSS growth, {copies(nb)} vs {copies(nr)}", f"<= {T_RSS_GROWTH:g}x", f"{rb:.1f} MB vs {rr:.1f} MB",
                f"{rb / rr:.2f}x" if rr else "-", (rb / rr <= T_RSS_GROWTH) if rr else None)
        else:
            add("W4 peak RSS", f"< {T_RSS_MB:g} MB", "-", "-", None)
            add("W4 RSS growth, 1 GiB vs 10x corpus", f"<= {T_RSS_GROWTH:g}x", "-", "-", None)
        # W1 vs evtxexport.
        v1 = self.find("w1_rows", lambda r: r.what == "vigil dump" and r.threads == 1)
        ee = self.find("w1_rows", lambda r: r.what.startswith("evtxexport"))
        if v1 and ee:
            x = t(ee) / t(v1)
            add("W1 vigil dump 1 thread vs evtxexport", f">= {T_VS_EVTXEXPORT:g}x",
                f"{t(v1):.3f} s vs {t(ee):.3f} s", f"{x:.1f}x", x >= T_VS_EVTXEXPORT)
        else:
            add("W1 vigil dump 1 thread vs evtxexport", f">= {T_VS_EVTXEXPORT:g}x", "-", "-", None)
        # Records/s per core, all rules.
        for attr, name, pred in (("w2_rows", "W2", lambda r: r.what == "hunt, warm rule cache"),
                                 ("w4_rows", "W4 (big corpus)",
                                  lambda r: r.records == self.w4_rows[0].records)):
            for th in (1, N):
                r = self.find(attr, lambda r: pred(r) and r.threads == th) if hasattr(self, attr) else None
                if r:
                    per_core = r.recs_per_s() / th
                    add(f"{name} records/s per core, {thr(th)}", f">= {T_RECS_PER_CORE:,.0f}",
                        f"{per_core:,.0f}", f"{per_core / T_RECS_PER_CORE:.2f}x of target",
                        per_core >= T_RECS_PER_CORE)
                else:
                    add(f"{name} records/s per core, {thr(th)}", f">= {T_RECS_PER_CORE:,.0f}", "-", "-", None)
        # 50x the published tools.
        r10 = None
        if w4 and not self.quick:
            r10 = self.find("w4_rows", lambda r: r.records == 10 * self.records and r.threads == 1)
        if r10:
            x = 125.9 / t(r10)
            add("10x corpus, 1 thread (50x Chainsaw 125.9 s)", f"<= {T_10X_SECONDS:g} s",
                f"{t(r10):.3f} s; Hayabusa 62.4 s (2 thr) / this = {62.4 / t(r10):.1f}x",
                f"{x:.1f}x Chainsaw", t(r10) <= T_10X_SECONDS)
        else:
            add("10x corpus, 1 thread (50x Chainsaw 125.9 s)", f"<= {T_10X_SECONDS:g} s",
                "n/a in --quick" if self.quick else "-", "-", None)
        h1 = None
        if not self.quick:
            h1 = self.find("w2_rows", lambda r: r.what == "hunt, warm rule cache" and r.threads == 1)
        if h1:
            hn = self.find("w2_rows", lambda r: r.what == "hunt, warm rule cache" and r.threads == N)
            extra = f"; {N} threads {t(hn):.3f} s ({8.4 / t(hn):.1f}x Hayabusa 2 thr)" if hn else ""
            add("1x corpus incl. warm rule loading, 1 thread", f"<= {T_1X_SECONDS:g} s",
                f"{t(h1):.3f} s{extra}", f"{9.9 / t(h1):.1f}x Chainsaw, {13.0 / t(h1):.1f}x Hayabusa",
                t(h1) <= T_1X_SECONDS)
        else:
            add("1x corpus incl. warm rule loading, 1 thread", f"<= {T_1X_SECONDS:g} s",
                "n/a in --quick" if self.quick else "-", "-", None)
        return out

    def report(self, load0: str, load1: str, elapsed: float) -> bool:
        mode = (f"quick: first {len(self.files)} files, 1 run" if self.quick else f"full, {self.runs} runs, median")
        print()
        print(f"## Vigil benchmarks ({mode})")
        print()
        print("| workload | what | threads | rules | records | input MB | median s | records/s | MB/s | peak RSS MB "
              "| CPU % |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in self.rows:
            med = r.median()
            what = r.what + (f" -- FAILED ({r.failed})" if r.failed else "")
            print(f"| {r.workload} | {what} | {r.threads} | {fmt_int(r.rules)} | {fmt_int(r.records)} | "
                  f"{fmt_f(r.nbytes / MB if r.nbytes else None, 1)} | {fmt_f(med, 3)} | {fmt_int(r.recs_per_s())} | "
                  f"{fmt_f(r.mb_per_s(), 1)} | {fmt_f(r.rss_mb(), 1)} | {fmt_int(r.cpu_pct())} |")
        checks = self.checks()
        print()
        print("### Targets" + (" (quick mode: informative only)" if self.quick else ""))
        print()
        print("| check | target | measured | ratio | result |")
        print("|---|---|---|---|---|")
        for c in checks:
            print("| " + " | ".join(c) + " |")
        print()
        print("Notes:")
        notes = [
            f"corpus: {self.samples_dir}; {len(self.files)} .evtx files, {self.nbytes / MB:.1f} MB, "
            f"{self.records:,} records (lines of `vigil dump` jsonl output); "
            f"{len(self.rule_files):,} rule files in {len(self.rule_dirs)} sigma folders.",
            f"median s = median wall time of the runs (time.perf_counter around `/usr/bin/time -v CMD`), "
            f"peak RSS = largest \"Maximum resident set size\" over the runs; CPU % = median (user + sys) / wall "
            f"(200% = two cores busy); MB = 2^20 bytes; all output to "
            f"/dev/null (hunt: --format jsonl --quiet); runs interleaved within a workload; page cache warm.",
            f"warm rule cache = private --cache-dir in the temp dir, filled by an untimed run first; the cold "
            f"hunt is one run with --no-cache; `rules check` rows time rule loading alone.",
        ]
        if hasattr(self, "w3_rows"):
            notes.append(f"W3 subsets: random.Random({SEED}).sample over the sorted list of rule files, as flat "
                         f"symlink folders; \"all rules\" is the five folders, as in W2.")
        if hasattr(self, "w4_rows"):
            nb, nr = self.w4_copies
            notes.append(f"W4: {max(nb, nr)} copies of the corpus (folders copy_NNN, "
                         f"{'hard links' if self.w4_linked else 'file copies'}); the big corpus is {nb} copies "
                         f"({'--quick' if self.quick else 'ceil(1 GiB / corpus size)'}), the like-for-like one "
                         f"{'copy_000' if nr == 1 else f'copy_000 to copy_{nr - 1:03d}'}; "
                         f"published rows are Chainsaw/Hayabusa figures on a 2-core machine, not measured here.")
        notes += self.notes
        busy = _busy_note(load0, self.nproc, self.rows)
        if busy:
            notes.append(busy)
        for label, lines in self.stderr_lines.items():
            notes.append(f"{label} printed {len(lines)} line(s) on stderr, first: {lines[0][:160]}")
        ver = _first_line([self.vigil, "--version"])
        cpu = ""
        try:
            with open("/proc/cpuinfo", encoding="utf-8") as f:
                cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
        except OSError:
            pass
        notes.append(f"machine: {self.nproc} cores{', ' + cpu if cpu else ''}; load average before {load0}, "
                     f"after {load1}; {ver} ({self.vigil})"
                     + (f"; {self.ee_version}" if getattr(self, "ee_version", "") else "")
                     + f"; bench wall time {elapsed:.1f} s.")
        for n in notes:
            print(f"- {n}")
        return any(c[4] == "FAIL" for c in checks)


def _loadavg() -> str:
    try:
        with open("/proc/loadavg", encoding="utf-8") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


def _busy_note(load0: str, nproc: int, rows: list[Row]) -> str:
    """A warning when other jobs shared the cores: all-thread rows then say little."""
    try:
        load = float(load0.split()[0])
    except (ValueError, IndexError):
        load = 0.0
    multi = [r.cpu_pct() for r in rows if r.cmd and r.is_vigil and r.threads == nproc and r.cpu_pct()]
    low = bool(multi) and nproc > 1 and statistics.median(multi) < 100 * (1 + 0.6 * (nproc - 1))
    if load < nproc / 2 and not low:
        return ""
    autogroup = ""
    try:
        with open("/proc/sys/kernel/sched_autogroup_enabled", encoding="utf-8") as f:
            if f.read().strip() == "1":
                autogroup = (" With kernel autogroup on, each session gets an equal share of the CPUs, so a busy "
                             "other session caps this one near one core whatever --threads says.")
    except OSError:
        pass
    cpu = f"median CPU % of the {nproc}-thread vigil rows {statistics.median(multi):.0f}%" if multi else ""
    return (f"WARNING: the machine was busy (load average {load0} on {nproc} cores{'; ' + cpu if cpu else ''}): "
            f"all-thread rows and the thread-scaling checks are not meaningful, and every time is inflated."
            + autogroup)


def _first_line(cmd: list[str]) -> str:
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                           timeout=10)
        lines = p.stdout.decode(errors="replace").strip().splitlines()
        return lines[0] if lines else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="bench/bench.py",
        description="Vigil benchmark suite (W1 dump, W2 hunt, W3 rule scaling, W4 >= 1 GiB corpus, W5 JSON lines).",
        epilog="Environment: VIGIL_CORPUS = corpus root holding evtx-attack-samples/ and sigma/ "
               "(default ../shared/corpus relative to the repo root). See bench/README.md.")
    ap.add_argument("--quick", action="store_true",
                    help="CI smoke run: first 20 files, 1 run, W3 with 10/50 rules, W4 with 2 copies; "
                         "targets are printed but never fail the script")
    ap.add_argument("--runs", type=int, default=3, metavar="N", help="timed runs per row, median reported (default 3)")
    ap.add_argument("--vigil", metavar="PATH", help="vigil binary (default: build/vigil in the repo root)")
    ap.add_argument("--keep-tmp", action="store_true", help="keep the temporary folder (path printed on stderr)")
    ap.add_argument("--only", metavar="W1,W4", default=",".join(WORKLOADS),
                    help="comma-separated workloads to run (default: all)")
    args = ap.parse_args(argv)
    if args.runs < 1:
        ap.error("--runs must be >= 1")
    only = [w.strip().upper() for w in args.only.split(",") if w.strip()]
    bad = [w for w in only if w not in WORKLOADS]
    if bad or not only:
        ap.error(f"--only takes a comma-separated subset of {','.join(WORKLOADS)}, got {args.only!r}")
    args.only = set(only)
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    bench = Bench(args)
    try:
        return bench.run()
    except BenchError as e:
        log(str(e))
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        if bench.tmp:
            if args.keep_tmp:
                log(f"temporary folder kept: {bench.tmp}")
            else:
                shutil.rmtree(bench.tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

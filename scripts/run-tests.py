#!/usr/bin/env python3
"""Run the Meson test suites of one or more build directories and print a
single closing line: "N passed, N failed[, N skipped]".

Skipped tests are listed with the reason they printed ("SKIP: ..."), so a
skip is never silent.  Exit status is non-zero on any failure.
"""
import argparse
import json
import os
import re
import subprocess
import sys


def run_suites(build, suites, extra):
    cmd = ["meson", "test", "-C", build, "--no-rebuild", "--print-errorlogs"]
    for s in suites:
        cmd += ["--suite", s]
    cmd += extra
    env = dict(os.environ)
    # Sanitizer builds: fail on UBSan reports, skip leak checks of helper
    # processes the tests kill.
    env.setdefault("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1")
    env.setdefault("ASAN_OPTIONS", "detect_leaks=0")
    subprocess.run(cmd, env=env)
    return os.path.join(build, "meson-logs", "testlog.json")


def skip_reason(stdout):
    for line in (stdout or "").splitlines():
        m = re.search(r"SKIP:?\s*(.*)", line)
        if m:
            return m.group(1).strip() or "no reason given"
    return "no reason given"


# What failed and the end of its output, printed again last, just above the
# summary line, so a CI log cut to its tail still says why a test failed.
FAILURES = []


def failure_tail(rec, lines=25):
    out = (rec.get("stdout") or "") + (rec.get("stderr") or "")
    return "\n".join("    " + l for l in out.rstrip().splitlines()[-lines:])


def tally(logfile, label):
    passed = failed = skipped = 0
    if not os.path.exists(logfile):
        print(f"{label}: no test log written", file=sys.stderr)
        return 0, 1, 0
    with open(logfile) as f:
        for line in f:
            rec = json.loads(line)
            result = rec.get("result")
            name = rec.get("name")
            if result in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif result == "SKIP":
                skipped += 1
                print(f"SKIP {label}:{name}: {skip_reason(rec.get('stdout'))}")
            else:
                failed += 1
                print(f"FAIL {label}:{name} ({result})")
                FAILURES.append(f"FAIL {label}:{name} ({result}), last "
                                f"lines of its output:\n{failure_tail(rec)}")
    return passed, failed, skipped


# libFuzzer targets (fuzz/meson.build); each run counts as one test.
FUZZ_TARGETS = ["qmp-json", "pc", "virtio", "nic", "vgpu", "usb", "vc",
                "audio", "ahci", "q35", "qcow2", "migration", "nbd-server"]


def run_fuzz_target(target, seconds):
    p = subprocess.run(["scripts/run-fuzz.sh", "build-fuzz", str(seconds),
                        target], capture_output=True, text=True)
    print(p.stdout.strip())
    if p.returncode == 0:
        return 1, 0, 0
    if p.returncode == 77:
        print(f"SKIP fuzz:{target}: {skip_reason(p.stdout)}")
        return 0, 0, 1
    print(f"FAIL fuzz:{target}\n{p.stderr[-2000:]}")
    FAILURES.append(f"FAIL fuzz:{target}\n{p.stderr[-2000:]}")
    return 0, 1, 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", action="append", required=True)
    ap.add_argument("--suites", default="unit qtest guest functional")
    ap.add_argument("--first-build-suites", default="",
                    help="suites run in the first --build only (the "
                         "firmware boots: not again under ASan)")
    ap.add_argument("--fuzz-seconds", type=int, default=0,
                    help="also run each fuzz target this long")
    ap.add_argument("extra", nargs="*")
    args = ap.parse_args()
    suites = args.suites.split()

    total = [0, 0, 0]
    for i, build in enumerate(args.build):
        log = run_suites(build, suites + (args.first_build_suites.split()
                                          if i == 0 else []), args.extra)
        p, f, s = tally(log, os.path.basename(build.rstrip("/")))
        total = [total[0] + p, total[1] + f, total[2] + s]
    for target in FUZZ_TARGETS if args.fuzz_seconds else []:
        p, f, s = run_fuzz_target(target, args.fuzz_seconds)
        total = [total[0] + p, total[1] + f, total[2] + s]
    for failure in FAILURES:
        print(failure)
    line = f"{total[0]} passed, {total[1]} failed"
    if total[2]:
        line += f", {total[2]} skipped"
    print(line)
    sys.exit(1 if total[1] else 0)


if __name__ == "__main__":
    main()

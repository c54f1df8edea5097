#!/usr/bin/env python3
"""kvmpc benchmarks, as ratios against Debian's qemu-system-x86_64 and a raw
KVM_RUN loop measured in the same run.

Rows:
  startup   whole-process time, start to exit, of an empty Multiboot payload
  pio-exit  cost of one PIO exit: (time of a payload doing 200,000 `out`
            instructions at CPL 3 - time of the empty payload) / 200,000

Runs of the programs alternate and medians are compared, because single runs
on these machines vary by up to 2x.  Usage: bench/run.py BUILD_DIR [RUNS]
"""
import os
import shutil
import statistics
import subprocess
import sys
import time

PIO_COUNT = 200_000


def timed(cmd):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       timeout=120)
    dt = time.perf_counter() - t0
    if p.returncode != 1:   # isa-debug-exit 0 -> status 1
        raise RuntimeError(f"{cmd[0]} exited {p.returncode}: "
                           f"{p.stderr.decode(errors='replace')[-300:]}")
    return dt


def commands(build, payload):
    common = ["-nodefaults", "-display", "none", "-serial", "none",
              "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
              "-kernel", payload]
    progs = {
        "kvmpc": [os.path.join(build, "kvmpc")] + common,
        "raw": [os.path.join(build, "bench", "raw-kvm-loop"), payload],
    }
    qemu = shutil.which("qemu-system-x86_64")
    if qemu:
        progs["qemu"] = [qemu, "-enable-kvm", "-machine", "pc"] + common
    return progs


def measure(build, payload, runs):
    progs = commands(build, payload)
    times = {name: [] for name in progs}
    for _ in range(runs):
        for name, cmd in progs.items():   # alternate programs each round
            times[name].append(timed(cmd))
    return {name: statistics.median(ts) for name, ts in times.items()}


def fmt_ratio(a, b):
    return f"{a / b:.3f}" if b > 0 else "n/a"


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    empty = os.path.join(build, "tests", "guest", "bench-empty.elf")
    pio = os.path.join(build, "tests", "guest", "bench-pio.elf")
    for f in (empty, pio):
        if not os.path.exists(f):
            sys.exit(f"bench: {f} missing; run `make` first")
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        sys.exit("bench: /dev/kvm is not usable")

    start = measure(build, empty, runs)
    loaded = measure(build, pio, runs)
    per_exit = {k: (loaded[k] - start[k]) / PIO_COUNT for k in start}

    print(f"kvmpc benchmarks ({runs} alternating runs, medians)")
    print(f"{'row':<10}{'kvmpc':>12}{'qemu':>12}{'raw':>12}"
          f"{'kvmpc/qemu':>12}{'kvmpc/raw':>11}")
    q = start.get("qemu")
    print(f"{'startup':<10}{start['kvmpc']*1e3:>10.1f}ms"
          f"{(q*1e3 if q else float('nan')):>10.1f}ms"
          f"{start['raw']*1e3:>10.1f}ms"
          f"{fmt_ratio(start['kvmpc'], q) if q else 'n/a':>12}"
          f"{fmt_ratio(start['kvmpc'], start['raw']):>11}")
    q = per_exit.get("qemu")
    print(f"{'pio-exit':<10}{per_exit['kvmpc']*1e6:>10.2f}us"
          f"{(q*1e6 if q else float('nan')):>10.2f}us"
          f"{per_exit['raw']*1e6:>10.2f}us"
          f"{fmt_ratio(per_exit['kvmpc'], q) if q else 'n/a':>12}"
          f"{fmt_ratio(per_exit['kvmpc'], per_exit['raw']):>11}")
    print("targets: startup kvmpc/qemu <= 0.05; pio-exit kvmpc/raw <= 1.10")


if __name__ == "__main__":
    main()

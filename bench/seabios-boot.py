#!/usr/bin/env python3
"""Time from process start to SeaBIOS's "No bootable device." on the serial
console, kvmpc against Debian's qemu-system-x86_64 -enable-kvm with the same
options (`-nodefaults -nographic -serial stdio`), runs alternating, medians
and their ratio (target: kvmpc <= 0.9 x QEMU).

    bench/seabios-boot.py [BUILD_DIR] [RUNS]
    bench/seabios-boot.py --run-once -- COMMAND...   (one run, used by
                                                      seabios-phases.py)
"""
import os
import select
import shutil
import statistics
import subprocess
import sys
import time

MARK = b"No bootable device."
TIMEOUT = 120
TARGET = 0.9
OPTIONS = ["-nodefaults", "-nographic", "-serial", "stdio"]


def time_to_mark(cmd):
    """Seconds from spawn to MARK on stdout; the process is then killed."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = b""
    try:
        while time.perf_counter() - t0 < TIMEOUT:
            ready, _, _ = select.select([proc.stdout], [], [], 0.2)
            if ready:
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                out += chunk
                if MARK in out:
                    return time.perf_counter() - t0
            elif proc.poll() is not None:
                break
    finally:
        proc.kill()
        proc.wait()
    raise RuntimeError(f"{cmd[0]}: no {MARK.decode()!r} within {TIMEOUT}s; "
                       f"output: {out[-300:]!r}")


def main():
    if sys.argv[1:2] == ["--run-once"]:
        cmd = sys.argv[3:] if sys.argv[2:3] == ["--"] else sys.argv[2:]
        print(f"{time_to_mark(cmd):.3f}")
        return
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    kvmpc = os.path.join(build, "kvmpc")
    qemu = shutil.which("qemu-system-x86_64")
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        sys.exit("seabios-boot: /dev/kvm is not usable")
    if not os.path.exists(kvmpc):
        sys.exit(f"seabios-boot: {kvmpc} missing; run `make` first")
    progs = {"kvmpc": [kvmpc] + OPTIONS}
    if qemu:
        progs["qemu"] = [qemu, "-enable-kvm"] + OPTIONS
    times = {name: [] for name in progs}
    for _ in range(runs):
        for name, cmd in progs.items():     # alternate every round
            times[name].append(time_to_mark(cmd))
    med = {name: statistics.median(ts) for name, ts in times.items()}

    print(f"SeaBIOS to \"No bootable device.\" ({runs} alternating runs, "
          "medians)")
    print(f"{'row':<14}{'kvmpc':>10}{'qemu':>10}{'kvmpc/qemu':>12}"
          f"{'target':>8}")
    q = med.get("qemu")
    ratio = f"{med['kvmpc'] / q:.3f}" if q else "n/a"
    qs = f"{q:.2f}s" if q else "n/a"
    print(f"{'seabios-boot':<14}{med['kvmpc']:>9.2f}s{qs:>10}{ratio:>12}"
          f"{TARGET:>8}")
    for name, ts in times.items():
        print(f"  {name}: " + " ".join(f"{t:.2f}" for t in ts))


if __name__ == "__main__":
    main()

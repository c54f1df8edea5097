#!/usr/bin/env python3
"""kvmpc-img convert against qemu-img convert, same machine, same run.

Row:
  img-convert  time of `convert -O qcow2` of a 1 GiB raw image of which
               half is data (1 MiB data, 1 MiB hole, repeated), to a new
               qcow2 image; target kvmpc/qemu <= 1.0

Runs of the two programs alternate and medians are compared, because
single runs on these machines vary by up to 2x.  The outputs are checked
(qemu-img compare, qemu-img check) before timing.
Usage: bench/img-convert.py BUILD_DIR [RUNS] [WORKDIR]
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

SIZE = 1 << 30
BLOCK = 1 << 20


def make_source(path):
    data = os.urandom(BLOCK)
    with open(path, "wb") as f:
        f.truncate(SIZE)
        for off in range(0, SIZE, 2 * BLOCK):
            f.seek(off)
            f.write(data)


def timed(cmd):
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    work = sys.argv[3] if len(sys.argv) > 3 else None
    kimg = os.path.join(build, "kvmpc-img")
    if not shutil.which("qemu-img"):
        sys.exit("bench: qemu-img missing (qemu-utils)")
    with tempfile.TemporaryDirectory(prefix="kvmpc-bench-", dir=work) as d:
        src = os.path.join(d, "src.raw")
        out = {"kvmpc": os.path.join(d, "k.qcow2"),
               "qemu": os.path.join(d, "q.qcow2")}
        make_source(src)
        progs = {"kvmpc": [kimg, "convert", "-O", "qcow2", src, out["kvmpc"]],
                 "qemu": ["qemu-img", "convert", "-O", "qcow2", src,
                          out["qemu"]]}
        for name, cmd in progs.items():     # correctness first
            subprocess.run(cmd, check=True)
            subprocess.run(["qemu-img", "compare", "-q", src, out[name]],
                           check=True)
            subprocess.run(["qemu-img", "check", "-q", out[name]], check=True)
        times = {name: [] for name in progs}
        for _ in range(runs):
            for name, cmd in progs.items():
                os.unlink(out[name])
                subprocess.run(["sync"], check=True)
                times[name].append(timed(cmd))
        med = {k: statistics.median(v) for k, v in times.items()}
    ratio = med["kvmpc"] / med["qemu"]
    print(f"kvmpc-img benchmark ({runs} alternating runs, medians)")
    print(f"{'row':<13}{'kvmpc':>10}{'qemu':>10}{'kvmpc/qemu':>12}"
          f"{'target':>9}{'met':>5}")
    print(f"{'img-convert':<13}{med['kvmpc']:>9.2f}s{med['qemu']:>9.2f}s"
          f"{ratio:>12.3f}{'<= 1.0':>9}{'yes' if ratio <= 1.0 else 'no':>5}")
    print("all runs: " + "; ".join(
        f"{k} " + " ".join(f"{t:.2f}" for t in v) for k, v in times.items()))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""kvmpc-img bench against qemu-img bench, same image, same run.

Rows (4 KiB requests, 20,000 each, on a 128 MiB qcow2 image whose every
cluster holds data, cache=writeback, aio=threads; and the same on raw):
  {qcow2,raw}/read/dN    sequential reads, queue depth N (1, 16, 64)
  {qcow2,raw}/write/dN   sequential overwrites, queue depth N
The time is what each tool prints ("Run completed in S seconds."): the
request loop only, not start-up.  Runs of the two programs alternate
and medians are compared, because single runs on these machines vary by
up to 2x.  Both images are checked (qemu-img check) after the writes.
Usage: bench/img-bench.py BUILD_DIR [RUNS] [WORKDIR]
"""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

SIZE = 128 << 20
COUNT = 20000
DEPTHS = (1, 16, 64)


def make_images(d):
    raw = os.path.join(d, "img.raw")
    with open(raw, "wb") as f:
        for _ in range(SIZE >> 20):
            f.write(os.urandom(1 << 20))
    qcow2 = os.path.join(d, "img.qcow2")
    subprocess.run(["qemu-img", "convert", "-O", "qcow2", raw, qcow2],
                   check=True)
    return {"qcow2": qcow2, "raw": raw}


def bench_time(cmd):
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE,
                         text=True).stdout
    m = re.search(r"Run completed in ([0-9.]+) seconds", out)
    if not m:
        raise RuntimeError(f"{' '.join(cmd)}: no time in {out!r}")
    return float(m.group(1))


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    work = sys.argv[3] if len(sys.argv) > 3 else None
    kimg = os.path.join(build, "kvmpc-img")
    if not shutil.which("qemu-img"):
        sys.exit("bench: qemu-img missing (qemu-utils)")
    rows = []
    with tempfile.TemporaryDirectory(prefix="kvmpc-bench-", dir=work) as d:
        images = make_images(d)
        for fmt, img in images.items():
            for mode in ("read", "write"):
                for depth in DEPTHS:
                    args = ["bench", "-f", fmt, "-c", str(COUNT), "-d",
                            str(depth), "-s", "4k"]
                    if mode == "write":
                        args += ["-w", "--pattern=0x5a"]
                    times = {"kvmpc": [], "qemu": []}
                    for _ in range(runs):
                        times["kvmpc"].append(bench_time([kimg, *args, img]))
                        times["qemu"].append(bench_time(["qemu-img", *args,
                                                         img]))
                    rows.append((f"{fmt}/{mode}/d{depth}", times))
            if fmt == "qcow2":
                subprocess.run(["qemu-img", "check", "-q", img], check=True)
    print(f"kvmpc-img bench vs qemu-img bench ({runs} alternating runs, "
          f"medians, {COUNT} x 4 KiB)")
    print(f"{'row':<18}{'kvmpc':>10}{'qemu':>10}{'kvmpc/qemu':>12}")
    for name, times in rows:
        k = statistics.median(times["kvmpc"])
        q = statistics.median(times["qemu"])
        print(f"{name:<18}{k:>9.3f}s{q:>9.3f}s{k / q:>12.2f}")
    for name, times in rows:
        print(f"{name}: " + "; ".join(
            f"{p} " + " ".join(f"{t:.3f}" for t in v)
            for p, v in times.items()))


if __name__ == "__main__":
    main()

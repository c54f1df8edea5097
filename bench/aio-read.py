#!/usr/bin/env python3
"""Asynchronous reads: kvmpc's aio=threads, aio=io_uring and aio=native
against qemu-img bench (the peer, same modes) and dd (the host's limit).

Rows (time to read a 256 MiB raw file in 64 KiB requests with O_DIRECT,
cache=none, so the disk is read, not the page cache):
  aio-read/threads   kvmpc-io aioread, 32 in flight, thread pool
  aio-read/io_uring  the same through the node's io_uring
  aio-read/native    the same through Linux AIO
Columns: median seconds for kvmpc, for `qemu-img bench -t none -i MODE
-d 32 -s 64k` (when qemu-img has the mode), their ratio (target <= 1.0),
and `dd iflag=direct bs=64k` (one request at a time) as the raw limit.
The line io_uring/threads compares kvmpc's two modes.
Runs alternate; medians, because single runs here vary by up to 2x.
Usage: bench/aio-read.py BUILD_DIR [RUNS] [WORKDIR]
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

SIZE = 256 << 20
CHUNK = 64 << 10
DEPTH = 32


def timed(cmd):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True)
    if p.returncode:
        return None, p.stderr.strip().splitlines()[-1:] or ["failed"]
    return time.perf_counter() - t0, None


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    work = sys.argv[3] if len(sys.argv) > 3 else None
    kio = os.path.join(build, "tests", "unit", "block", "kvmpc-io")
    qemu = shutil.which("qemu-img")
    with tempfile.TemporaryDirectory(prefix="kvmpc-bench-", dir=work) as d:
        img = os.path.join(d, "read.raw")
        with open(img, "wb") as f:
            for _ in range(SIZE // (1 << 20)):
                f.write(os.urandom(1 << 20))
            os.fsync(f.fileno())
        progs = {"dd": ["dd", f"if={img}", "of=/dev/null", f"bs={CHUNK}",
                        "iflag=direct", "status=none"]}
        for mode in ("threads", "io_uring", "native"):
            progs[f"kvmpc/{mode}"] = [kio, "-f", "raw", "-t", "none", "-a",
                                      mode, img, "aioread", "0", str(SIZE),
                                      str(CHUNK), str(DEPTH)]
            if qemu:
                progs[f"qemu/{mode}"] = [qemu, "bench", "-f", "raw", "-t",
                                         "none", "-i", mode, "-d", str(DEPTH),
                                         "-s", str(CHUNK), "-c",
                                         str(SIZE // CHUNK), img]
        times = {name: [] for name in progs}
        errors = {}
        for _ in range(runs):
            for name, cmd in progs.items():
                t, err = timed(cmd)
                if t is None:
                    errors[name] = err[0]
                else:
                    times[name].append(t)
        med = {n: statistics.median(t) for n, t in times.items() if t}
    limit = med.get("dd")
    print(f"{'row':22} {'kvmpc s':>9} {'qemu s':>9} {'k/q':>6} "
          f"{'dd limit s':>10}")
    for mode in ("threads", "io_uring", "native"):
        k, q = med.get(f"kvmpc/{mode}"), med.get(f"qemu/{mode}")
        ks = f"{k:9.3f}" if k else f"{'n/a':>9}"
        qs = f"{q:9.3f}" if q else f"{'n/a':>9}"
        ratio = f"{k / q:6.2f}" if k and q else f"{'-':>6}"
        ls = f"{limit:10.3f}" if limit else f"{'n/a':>10}"
        print(f"aio-read/{mode:13} {ks} {qs} {ratio} {ls}")
    t, u = med.get("kvmpc/threads"), med.get("kvmpc/io_uring")
    if t and u:
        print(f"kvmpc io_uring/threads: {u / t:.2f} (below 1.0: io_uring "
              f"faster)")
    for name, err in errors.items():
        print(f"# {name}: {err}")


if __name__ == "__main__":
    main()

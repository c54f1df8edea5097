#!/usr/bin/env python3
"""64 KiB sequential read throughput of an AHCI disk, from the CPL 3 guest
driver (tests/guest/ahci.c with bench_mib=N: READ DMA EXT of 128 sectors,
one command at a time, polled), kvmpc against Debian's qemu-system-x86_64
-enable-kvm (QEMU 7.2, `-device ahci`) with the same payload and image.
Runs alternate, medians and their ratio; the limit column is the host's
own read speed of the image file in 64 KiB reads (page cache warm, as the
guests see it).  The guest times its reads with the TSC, so start-up and
QEMU's SeaBIOS are not counted.

Rows: "ahci-read" (READ DMA EXT, one command at a time) and "ncq-qdN"
(READ FPDMA QUEUED of 64 KiB, N tags outstanding: bench_qd=N), each with
both programs alternating run by run.

    bench/ahci-read.py [BUILD_DIR] [RUNS] [MIB] [QD,QD,...]

Prints SKIP and exits 77 without /dev/kvm.
"""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

IMAGE_MIB = 64
BENCH_RE = re.compile(rb"BENCH: ahci-read bytes=(\d+) us=(\d+)")


def skip(reason):
    print(f"SKIP: ahci-read: {reason}")
    sys.exit(77)


def guest_rate(cmd):
    """MB/s the guest reported."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=300)
    m = BENCH_RE.search(p.stdout)
    if p.returncode != 1 or not m:
        raise RuntimeError(f"{cmd[0]} exited {p.returncode}: "
                           f"{p.stdout.decode(errors='replace')[-400:]}"
                           f"{p.stderr.decode(errors='replace')[-300:]}")
    return int(m.group(1)) / int(m.group(2))         # bytes/us = MB/s


def host_rate(path, mib):
    """MB/s of reading @path in 64 KiB reads, @mib MiB in all (wrapping)."""
    with open(path, "rb", buffering=0) as f:
        while f.read(1 << 20):                       # warm the cache
            pass
        want, done = mib << 20, 0
        t0 = time.perf_counter()
        while done < want:
            chunk = f.read(64 << 10)
            if not chunk:
                f.seek(0)
                continue
            done += len(chunk)
        return done / ((time.perf_counter() - t0) * 1e6)


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    mib = int(sys.argv[3]) if len(sys.argv) > 3 else 256
    qds = [int(x) for x in sys.argv[4].split(",")] if len(sys.argv) > 4 \
        else [8, 32]
    kvmpc = os.path.join(build, "kvmpc")
    payload = os.path.join(build, "tests", "guest", "ahci.elf")
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        skip("/dev/kvm not available")
    for f in (kvmpc, payload):
        if not os.path.exists(f):
            sys.exit(f"ahci-read: {f} missing; run `make` first")
    with tempfile.TemporaryDirectory(prefix="kvmpc-ahci-bench-") as d:
        image = os.path.join(d, "disk.raw")
        with open(image, "wb") as f:
            for _ in range(IMAGE_MIB):
                f.write(os.urandom(1 << 20))
        def common(append):
            return ["-nodefaults", "-display", "none", "-serial", "stdio",
                    "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
                    "-kernel", payload, "-append", append,
                    "-drive", f"file={image},format=raw,if=none,id=disk",
                    "-device", "ahci,id=ahci0",
                    "-device", "ide-hd,drive=disk,bus=ahci0.0"]
        progs = {"kvmpc": [kvmpc]}
        qemu = shutil.which("qemu-system-x86_64")
        if qemu:
            progs["qemu"] = [qemu, "-enable-kvm", "-machine", "pc"]
        rows = [("ahci-read", f"bench_mib={mib}")] + \
            [(f"ncq-qd{qd}", f"bench_mib={mib} bench_qd={qd}") for qd in qds]
        rates = {(row, name): [] for row, _ in rows for name in progs}
        limit = []
        for _ in range(runs):
            for row, append in rows:
                for name, cmd in progs.items():     # alternate every round
                    rates[(row, name)].append(guest_rate(cmd + common(append)))
            limit.append(host_rate(image, mib))
    lim = statistics.median(limit)
    print(f"AHCI 64 KiB sequential reads, {mib} MiB per run ({runs} "
          "alternating runs, medians)")
    print(f"{'row':<10}{'kvmpc':>12}{'qemu':>12}{'host':>12}"
          f"{'kvmpc/qemu':>12}{'kvmpc/host':>12}")
    for row, _ in rows:
        k = statistics.median(rates[(row, "kvmpc")])
        q = statistics.median(rates[(row, "qemu")]) if qemu else None
        ratio = f"{k / q:.3f}" if q else "n/a"
        qs = f"{q:.1f}MB/s" if q else "n/a"
        print(f"{row:<10}{k:>8.1f}MB/s{qs:>12}{lim:>8.1f}MB/s{ratio:>12}"
              f"{k / lim:>12.3f}")
    for (row, name), r in rates.items():
        print(f"  {row} {name}: " + " ".join(f"{x:.1f}" for x in r))


if __name__ == "__main__":
    main()

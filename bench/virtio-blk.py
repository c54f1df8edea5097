#!/usr/bin/env python3
"""virtio-blk throughput from the CPL 3 guest driver (tests/guest/virtio-blk.c
in bench mode: requests kept QD deep for SECS seconds, polled, interrupts
off, one kick per batch, timed by the guest's TSC so start-up and QEMU's
SeaBIOS are not counted), kvmpc against Debian's qemu-system-x86_64
-enable-kvm (QEMU 7.2) with the same payload, image and options: a 256 MiB
raw image in the page cache (cache=writeback), aio=io_uring, an I/O
thread for the device.  Rows:

    randread   4 KiB random reads, QD 32
    randwrite  4 KiB random writes, QD 32
    seqread    1 MiB sequential reads, QD 8

The programs alternate run by run; medians and their ratio are printed
(IOPS for the 4 KiB rows, MB/s for seqread), and for each program the
host CPU time (all its threads, /proc/PID/stat between the guest's start
and result lines) per request and the guest's kicks per request.  The
guest kicks only when the device asks for kicks (VRING_USED_F_NO_NOTIFY
clear), as Linux's driver does.

With --scsi the same rows run through virtio-scsi-pci (I/O thread) and a
scsi-hd instead, driven by tests/guest/virtio-scsi.c in bench mode
(READ(10)/WRITE(10) on a 128-entry split ring).

    bench/virtio-blk.py [--scsi] [BUILD_DIR] [RUNS] [SECS]

Prints SKIP and exits 77 without /dev/kvm.
"""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

IMAGE_MIB = 256
ROWS = [("randread", 4096, 32), ("randwrite", 4096, 32),
        ("seqread", 1 << 20, 8)]
BENCH_RE = re.compile(rb"virtio-(?:blk|scsi)-bench: op=(\w+) .* n=(\d+) .* "
                      rb"iops=(\d+) kbps=(\d+) errors=(\d+) kicks=(\d+)")


def skip(reason):
    print(f"SKIP: virtio-blk.py: {reason}")
    sys.exit(77)


def cpu_seconds(pid):
    """utime + stime of every thread of @pid so far (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def guest_result(cmd):
    """(iops, MB/s, host CPU us per request) the guest's run gave.

    The CPU time is the emulator's (all its threads) between the guest's
    "start" line and its result line, so boot and firmware are not in it.
    """
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, cpu0, cpu1, m = b"", None, None, None
    try:
        for line in p.stdout:
            out += line
            if b"-bench: start" in line:
                cpu0 = cpu_seconds(p.pid)
            elif BENCH_RE.search(line):
                cpu1 = cpu_seconds(p.pid)
                m = BENCH_RE.search(line)
        err = p.stderr.read()
        p.wait(timeout=300)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    if p.returncode != 1 or not m or int(m.group(5)) or cpu0 is None:
        raise RuntimeError(f"{cmd[0]} exited {p.returncode}: "
                           f"{out.decode(errors='replace')[-400:]}"
                           f"{err.decode(errors='replace')[-300:]}")
    n = int(m.group(2))
    return (int(m.group(3)), int(m.group(4)) / 1000.0,
            (cpu1 - cpu0) * 1e6 / n if n else float("nan"),
            int(m.group(6)) / n if n else float("nan"))


DEVICES = {
    "virtio-blk": ["-device", "virtio-blk-pci,drive=vd,iothread=io0"],
    "virtio-scsi": ["-device", "virtio-scsi-pci,id=scsi0,iothread=io0",
                    "-device", "scsi-hd,drive=vd,bus=scsi0.0"],
}


def main():
    args = sys.argv[1:]
    dev = "virtio-blk"
    if args and args[0] == "--scsi":
        dev = "virtio-scsi"
        args = args[1:]
    build = args[0] if len(args) > 0 else "build"
    runs = int(args[1]) if len(args) > 1 else 5
    secs = int(args[2]) if len(args) > 2 else 3
    kvmpc = os.path.join(build, "kvmpc")
    payload = os.path.join(build, "tests", "guest", dev + ".elf")
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        skip("/dev/kvm not available")
    for f in (kvmpc, payload):
        if not os.path.exists(f):
            sys.exit(f"virtio-blk.py: {f} missing; run `make` first")
    qemu = shutil.which("qemu-system-x86_64")
    results = {}
    with tempfile.TemporaryDirectory(prefix="kvmpc-virtio-bench-") as d:
        image = os.path.join(d, "disk.raw")
        with open(image, "wb") as f:
            for _ in range(IMAGE_MIB):
                f.write(os.urandom(1 << 20))
        for op, bs, qd in ROWS:
            common = ["-nodefaults", "-display", "none", "-serial", "stdio",
                      "-m", "256M",
                      "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
                      "-kernel", payload,
                      "-append", f"bench={op} bs={bs} qd={qd} secs={secs}",
                      "-object", "iothread,id=io0",
                      "-drive", f"file={image},format=raw,if=none,id=vd,"
                      "cache=writeback,aio=io_uring"] + DEVICES[dev]
            progs = {"kvmpc": [kvmpc] + common}
            if qemu:
                progs["qemu"] = [qemu, "-enable-kvm", "-machine", "pc"] + common
            rows = {name: [] for name in progs}
            for _ in range(runs):
                for name, cmd in progs.items():     # alternate every round
                    rows[name].append(guest_result(cmd))
            results[op] = rows
    print(f"{dev} from the guest, {secs} s per run, {runs} alternating "
          "runs, medians (256 MiB raw image in the page cache, io_uring, "
          "iothread)")
    print(f"{'row':<12}{'kvmpc':>14}{'qemu':>14}{'kvmpc/qemu':>12}")
    for op, bs, qd in ROWS:
        rows = results[op]
        idx = 1 if op == "seqread" else 0
        unit = "MB/s" if idx else "IOPS"
        med = {n: statistics.median(r[idx] for r in v)
               for n, v in rows.items()}
        q = med.get("qemu")
        print(f"{op:<12}{med['kvmpc']:>10.0f}{unit:>4}"
              f"{(f'{q:.0f}' + unit) if q else 'n/a':>14}"
              f"{(med['kvmpc'] / q) if q else float('nan'):>12.3f}")
        for n, v in rows.items():
            print(f"  {n}: " + " ".join(f"{r[idx]:.0f}" for r in v) +
                  f"  (host CPU {statistics.median(r[2] for r in v):.2f} "
                  f"us/request, {statistics.median(r[3] for r in v):.4f} "
                  "kicks/request)")


if __name__ == "__main__":
    main()

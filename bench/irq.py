#!/usr/bin/env python3
"""The cost of an interrupt the LAPIC delivers, under each irqchip mode,
kvmpc against Debian's QEMU 7.2 on the same payload.

tests/guest/bench-irq.c measures, from its TSC, the mean round trip of a
self-IPI (ICR with the "self" shorthand, then the wait for the handler)
and of a one-shot LAPIC timer interrupt (initial count 1), n=2000 each.
For every kernel_irqchip mode (on: everything in KVM; split: LAPIC in
KVM, PIC/IOAPIC in the emulator; off: the emulator's LAPIC, injected with
KVM_INTERRUPT) kvmpc and QEMU (-enable-kvm -machine pc,kernel_irqchip=)
alternate run by run; medians and kvmpc/QEMU ratios are printed (below
1.0: kvmpc is faster).

    bench/irq.py [BUILD_DIR] [RUNS]

Prints SKIP and exits 77 without /dev/kvm.
"""
import os
import re
import shutil
import statistics
import subprocess
import sys

MODES = ["on", "split", "off"]
LINE_RE = re.compile(rb"bench-irq: n=\d+ ipi_ns=(\d+) timer_ns=(\d+)")


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=300)
    m = LINE_RE.search(p.stdout)
    if not m or int(m.group(1)) == 0 or int(m.group(2)) == 0:
        raise RuntimeError("%s: %s" % (cmd[0],
                                       p.stdout.decode(errors="replace")[-400:]))
    return int(m.group(1)), int(m.group(2))


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("SKIP: irq: /dev/kvm not available")
        sys.exit(77)
    kvmpc = os.path.join(build, "kvmpc")
    payload = os.path.join(build, "tests", "guest", "bench-irq.elf")
    for f in (kvmpc, payload):
        if not os.path.exists(f):
            sys.exit("irq: %s missing; run `make` first" % f)
    qemu = shutil.which("qemu-system-x86_64")
    common = ["-nodefaults", "-display", "none", "-serial", "stdio",
              "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
              "-kernel", payload, "-append", "n=2000"]
    print("LAPIC-delivered interrupts from the guest (mean round trip, ns), "
          "%d alternating runs, medians" % runs)
    print("| mode | event | kvmpc | QEMU 7.2 | kvmpc/QEMU |")
    print("| --- | --- | --- | --- | --- |")
    for mode in MODES:
        args = common[:-1] + [common[-1] +
                              (" userspace_lapic=1" if mode == "off" else "")]
        progs = {"kvmpc": [kvmpc, "-machine", "pc,kernel_irqchip=" + mode]
                 + args}
        if qemu:
            progs["qemu"] = [qemu, "-enable-kvm", "-machine",
                             "pc,kernel_irqchip=" + mode] + args
        res = {name: [] for name in progs}
        for _ in range(runs):
            for name, cmd in progs.items():         # alternate
                res[name].append(run(cmd))
        for i, event in enumerate(("self-IPI", "LAPIC timer")):
            med = {n: statistics.median(r[i] for r in v)
                   for n, v in res.items()}
            q = med.get("qemu")
            print("| %s | %s | %d | %s | %s |" % (
                mode, event, med["kvmpc"], "%d" % q if q else "n/a",
                "%.2f" % (med["kvmpc"] / q) if q else "n/a"))
        for name, v in res.items():
            print("  %s %s: %s" % (mode, name,
                                   " ".join("%d/%d" % r for r in v)))


if __name__ == "__main__":
    main()

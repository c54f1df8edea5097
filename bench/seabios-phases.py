#!/usr/bin/env python3
"""Where a SeaBIOS boot spends its guest instructions, kvmpc against
Debian's qemu-system-x86_64 -enable-kvm: the number of instructions the
host kernel's emulator ran (tracepoint kvm:kvm_emulate_insn) and of port
I/O exits (kvm:kvm_pio) between the lines SeaBIOS logs on its debug port
0x402, from process start to "No bootable device.".

    bench/seabios-phases.py [BUILD_DIR]

A diagnostic, not part of `make bench`: it needs perf and the kernel's
tracepoints (root), and each program runs once under `perf record -c 1`
(hundreds of MB of samples in a temporary directory, about half a minute
per program).  On a PVM host, where firmware code runs in the host's
instruction emulator, the instruction count is what the boot time follows;
see bench/README.md for what it showed.  A "rep" string instruction counts
once however many iterations it runs.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
OPTIONS = ["-nodefaults", "-nographic", "-serial", "stdio"]
PIO_WRITE_402 = re.compile(r"pio_write at 0x402 size 1 count 1 val 0x([0-9a-f]+)")
# the phase a log line starts, in the order SeaBIOS prints them
PHASES = [
    ("banner, Xen probe", "SeaBIOS (version"),
    ("shadow BIOS copy (rep movs)", "No Xen hypervisor found"),
    ("init relocation, PCI, ACPI, SMBIOS", "Running on QEMU"),
    ("clear option ROM area (vgarom_setup)", "Scan for VGA option rom"),
    ("console, devices, option ROMs", "No VGA found"),
    ("clear UMB area (malloc_prepboot)", "Searching bootorder for: HALT"),
    ("e820, checksum, PAM lock, clear low memory", "Space available for UMB"),
    ("boot attempts", "enter handle_19"),
]


def trace(name, cmd, tmp):
    """[(instructions, pio exits, log line)] for one run of @cmd."""
    data = os.path.join(tmp, name + ".data")
    debug = os.path.join(tmp, name + ".log")
    run_once = [sys.executable, os.path.join(HERE, "seabios-boot.py"),
                "--run-once", "--"] + cmd + [
        "-chardev", f"file,id=dbg,path={debug}",
        "-device", "isa-debugcon,iobase=0x402,chardev=dbg"]
    subprocess.run(["perf", "record", "-q", "-o", data, "-c", "1",
                    "-e", "kvm:kvm_pio", "-e", "kvm:kvm_emulate_insn", "--"]
                   + run_once, check=True, stdout=subprocess.DEVNULL)
    script = subprocess.Popen(["perf", "script", "-i", data,
                               "-F", "event,trace"],
                              stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    insns = pios = 0
    line = ""
    lines = []
    for ev in script.stdout:
        if "kvm_emulate_insn" in ev:
            insns += 1
            continue
        m = PIO_WRITE_402.search(ev)
        if not m:
            pios += "kvm_pio" in ev
            continue
        ch = chr(int(m.group(1), 16))
        if ch == "\n":
            lines.append((insns, pios, line))
            line = ""
        else:
            line += ch
    script.wait()
    os.unlink(data)
    lines.append((insns, pios, "(end)"))
    return lines


def split_phases(lines):
    """{phase: (instructions, pio exits)}, phases as PHASES orders them."""
    marks = []
    want = 0
    for insns, pios, text in lines:
        if want < len(PHASES) and PHASES[want][1] in text:
            marks.append((PHASES[want][0], insns, pios))
            want += 1
    marks.append(("(end)", lines[-1][0], lines[-1][1]))
    out = {"before the first log line": (marks[0][1], marks[0][2])}
    for (name, i0, p0), (_, i1, p1) in zip(marks, marks[1:]):
        out[name] = (i1 - i0, p1 - p0)
    return out


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    if not shutil.which("perf"):
        sys.exit("seabios-phases: needs perf (linux-perf)")
    if not os.path.isdir("/sys/kernel/tracing/events/kvm"):
        sys.exit("seabios-phases: no kvm tracepoints in /sys/kernel/tracing "
                 "(mount tracefs, run as root)")
    progs = {"kvmpc": [os.path.join(build, "kvmpc")] + OPTIONS}
    qemu = shutil.which("qemu-system-x86_64")
    if qemu:
        progs["qemu"] = [qemu, "-enable-kvm"] + OPTIONS
    with tempfile.TemporaryDirectory(prefix="kvmpc-phases-") as tmp:
        res = {n: split_phases(trace(n, c, tmp)) for n, c in progs.items()}
    names = list(res["kvmpc"])
    print("Emulated guest instructions (k) and PIO exits per SeaBIOS phase")
    head = "".join(f"{n + ' insn':>13}{n + ' pio':>11}" for n in progs)
    print(f"{'phase':<46}{head}")
    for ph in names:
        row = "".join(f"{res[n].get(ph, (0, 0))[0] / 1000:13.1f}"
                      f"{res[n].get(ph, (0, 0))[1]:11d}" for n in progs)
        print(f"{ph:<46}{row}")
    tot = "".join(f"{sum(v[0] for v in res[n].values()) / 1000:13.1f}"
                  f"{sum(v[1] for v in res[n].values()):11d}" for n in progs)
    print(f"{'total':<46}{tot}")


if __name__ == "__main__":
    main()

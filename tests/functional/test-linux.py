#!/usr/bin/env python3
"""Boot Debian's own Linux kernel: its first console line, or (opt-in, on
real VT-x/AMD-V hosts) a busybox shell with no ACPI errors in dmesg.

    test-linux.py KVMPC MODE WORKDIR [TIMEOUT] [--shell]

MODE:
  pvh               the ELF vmlinux extracted from /boot/vmlinuz-* by
                    scripts/extract-vmlinux-pvh.py, entered through its PVH
                    note (direct boot, about a minute on PVM hosts)
  bzimage           /boot/vmlinuz-* as a bzImage, direct boot (its
                    decompressor runs for minutes on PVM hosts: opt-in)
  bzimage-firmware  the same through SeaBIOS and kvmpc's linuxboot option
                    ROM (-machine firmware-boot=on; opt-in)

Without --shell: passes when "Linux version" appears on ttyS0; the guest
is then stopped.  A full boot needs real VT-x/AMD-V: on PVM hosts the
kernel cannot finish (see ../shared/ARCHITECTURE.md), so the first console
line is the check there.

With --shell (suite 'linux-full', opt-in): boots with a busybox initramfs
built from Debian's busybox-static, waits for the shell, runs dmesg and
fails on ACPI errors or warnings.  On hosts without VT-x/AMD-V it prints
SKIP, since the kernel cannot get there.
"""
import glob
import gzip
import io
import os
import stat
import subprocess
import sys
import time

from consolelib import console_chunks

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def skip(reason):
    print(f"SKIP: {reason}")
    sys.exit(77)


def newest_kernel():
    kernels = sorted(glob.glob("/boot/vmlinuz-*"))
    if not kernels:
        skip("no /boot/vmlinuz-* (install linux-image-amd64)")
    return kernels[-1]


def pvh_vmlinux(workdir):
    src = newest_kernel()
    out = os.path.join(workdir, "vmlinux-" + os.path.basename(src)[8:])
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(src):
        os.makedirs(workdir, exist_ok=True)
        subprocess.run([sys.executable,
                        os.path.join(SRC, "scripts", "extract-vmlinux-pvh.py"),
                        src, out + ".tmp"], check=True)
        os.replace(out + ".tmp", out)
    return out


SHELL_MARK = b"KVMPC-SHELL-READY"
DMESG_MARK = b"KVMPC-DMESG-DONE"
INIT_SCRIPT = b"""#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
echo KVMPC-SHELL-READY
exec sh
"""


def cpio_entry(name, mode, data=b"", rdev=(0, 0)):
    """One "newc" cpio record (the format the kernel unpacks)."""
    namez = name.encode() + b"\0"
    hdr = "070701" + "".join(f"{v:08x}" for v in (
        0, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1],
        len(namez), 0))
    out = hdr.encode() + namez
    out += b"\0" * (-len(out) % 4) + data
    return out + b"\0" * (-len(out) % 4)


def busybox_initramfs(workdir):
    busybox = "/bin/busybox"
    if not os.path.exists(busybox):
        skip("busybox-static is not installed")
    with open(busybox, "rb") as f:
        bb = f.read()
    blob = b"".join([
        cpio_entry("bin", stat.S_IFDIR | 0o755),
        cpio_entry("dev", stat.S_IFDIR | 0o755),
        cpio_entry("dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1)),
        cpio_entry("proc", stat.S_IFDIR | 0o755),
        cpio_entry("sys", stat.S_IFDIR | 0o755),
        cpio_entry("bin/busybox", stat.S_IFREG | 0o755, bb),
        cpio_entry("init", stat.S_IFREG | 0o755, INIT_SCRIPT),
        cpio_entry("TRAILER!!!", 0),
    ])
    os.makedirs(workdir, exist_ok=True)
    path = os.path.join(workdir, "busybox-initramfs.cpio.gz")
    with gzip.open(path, "wb") as f:
        f.write(blob)
    return path


def has_hw_virt():
    with open("/proc/cpuinfo") as f:
        flags = f.read()
    return " vmx" in flags or " svm" in flags


def watch_console(args, timeout, on_output):
    """Run kvmpc, echo its console, and call on_output(proc, seen) after
    every chunk until it returns True, the guest exits, or @timeout passes.
    Returns (all output, seconds elapsed, kvmpc's exit status)."""
    proc = subprocess.Popen(args, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    seen = b""
    t0 = time.monotonic()
    try:
        for chunk in console_chunks(proc, timeout, poll=1.0):
            sys.stdout.write(chunk.decode(errors="replace"))
            sys.stdout.flush()
            seen += chunk
            if on_output(proc, seen):
                break
    finally:
        proc.kill()
        proc.wait()
    return seen, time.monotonic() - t0, proc.returncode


def run_shell_boot(args, timeout):
    """Wait for the shell, run dmesg, fail on ACPI errors/warnings."""
    sent = []

    def drive(proc, seen):
        if SHELL_MARK in seen and not sent:
            proc.stdin.write(b"dmesg | grep -iE 'acpi.*(error|warning)'"
                             b"; echo KVMPC-DMESG-DONE\n")
            proc.stdin.flush()
            sent.append(True)
        return bool(sent) and seen.count(DMESG_MARK) >= 2

    seen, elapsed, _ = watch_console(args, timeout, drive)
    if SHELL_MARK not in seen:
        print(f"\nFAIL: no shell within {elapsed:.0f}s")
        return 1
    tail = seen[seen.index(SHELL_MARK):]
    bad = [l for l in tail.decode(errors="replace").splitlines()
           if "ACPI" in l.upper() and ("ERROR" in l.upper() or
                                       "WARNING" in l.upper())
           and "grep" not in l]
    if bad:
        print("\nFAIL: ACPI errors in dmesg:\n" + "\n".join(bad))
        return 1
    print(f"\nPASS: busybox shell after {elapsed:.1f}s, "
          "no ACPI errors in dmesg")
    return 0


def main():
    shell = "--shell" in sys.argv
    argv = [a for a in sys.argv if a != "--shell"]
    kvmpc, mode, workdir = argv[1:4]
    timeout = float(argv[4]) if len(argv) > 4 else 300
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        skip("/dev/kvm not available")
    if not os.access(newest_kernel(), os.R_OK):
        skip(f"{newest_kernel()} is not readable")
    if shell and not has_hw_virt():
        skip("a full Linux boot needs VT-x/AMD-V; this host's KVM emulates "
             "guest kernel code and cannot finish it (ARCHITECTURE.md)")

    args = [kvmpc, "-nodefaults", "-display", "none", "-serial", "stdio",
            "-m", "512", "-smp", "2",
            "-append", "console=ttyS0 earlyprintk=serial" +
            (" rdinit=/init" if shell else "")]
    if shell:
        args += ["-initrd", busybox_initramfs(workdir)]
    if mode == "pvh":
        args += ["-kernel", pvh_vmlinux(workdir)]
    elif mode == "bzimage":
        args += ["-kernel", newest_kernel()]
    elif mode == "bzimage-firmware":
        args += ["-machine", "pc,firmware-boot=on", "-kernel", newest_kernel()]
    else:
        sys.exit(f"unknown mode {mode}")

    print("running:", " ".join(args), flush=True)
    if shell:
        return run_shell_boot(args, timeout)
    seen, elapsed, status = watch_console(
        args, timeout, lambda proc, seen: b"Linux version" in seen)
    found = b"Linux version" in seen
    if found:
        print(f"\nPASS: 'Linux version' on ttyS0 after {elapsed:.1f}s ({mode})")
        return 0
    print(f"\nFAIL: no 'Linux version' within {elapsed:.1f}s ({mode}); "
          f"kvmpc status {status}")
    return 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Boot Debian's own Linux kernel far enough to see its first console line.

    test-linux.py KVMPC MODE WORKDIR [TIMEOUT]

MODE:
  pvh               the ELF vmlinux extracted from /boot/vmlinuz-* by
                    scripts/extract-vmlinux-pvh.py, entered through its PVH
                    note (direct boot, about a minute on PVM hosts)
  bzimage           /boot/vmlinuz-* as a bzImage, direct boot (its
                    decompressor runs for minutes on PVM hosts: opt-in)
  bzimage-firmware  the same through SeaBIOS and kvmpc's linuxboot option
                    ROM (-machine firmware-boot=on; opt-in)

Passes when "Linux version" appears on ttyS0; the guest is then stopped.
A full boot needs real VT-x/AMD-V: on PVM hosts the kernel cannot finish
(see ../shared/ARCHITECTURE.md), so the first console line is the check.
"""
import glob
import os
import select
import subprocess
import sys
import time

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


def main():
    kvmpc, mode, workdir = sys.argv[1:4]
    timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 300
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        skip("/dev/kvm not available")
    if not os.access(newest_kernel(), os.R_OK):
        skip(f"{newest_kernel()} is not readable")

    args = [kvmpc, "-nodefaults", "-display", "none", "-serial", "stdio",
            "-m", "512", "-append", "console=ttyS0 earlyprintk=serial"]
    if mode == "pvh":
        args += ["-kernel", pvh_vmlinux(workdir)]
    elif mode == "bzimage":
        args += ["-kernel", newest_kernel()]
    elif mode == "bzimage-firmware":
        args += ["-machine", "pc,firmware-boot=on", "-kernel", newest_kernel()]
    else:
        sys.exit(f"unknown mode {mode}")

    print("running:", " ".join(args), flush=True)
    t0 = time.monotonic()
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    seen = b""
    found = False
    try:
        while time.monotonic() - t0 < timeout:
            ready, _, _ = select.select([proc.stdout], [], [], 1.0)
            if ready:
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                sys.stdout.write(chunk.decode(errors="replace"))
                sys.stdout.flush()
                seen += chunk
                if b"Linux version" in seen:
                    found = True
                    break
            elif proc.poll() is not None:
                break
    finally:
        proc.kill()
        proc.wait()
    elapsed = time.monotonic() - t0
    if found:
        print(f"\nPASS: 'Linux version' on ttyS0 after {elapsed:.1f}s ({mode})")
        return 0
    print(f"\nFAIL: no 'Linux version' within {elapsed:.1f}s ({mode}); "
          f"kvmpc status {proc.returncode}")
    return 1


if __name__ == "__main__":
    sys.exit(main())

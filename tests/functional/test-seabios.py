#!/usr/bin/env python3
"""SeaBIOS (Debian's bios-256k.bin) on kvmpc, seen on the serial console.

    test-seabios.py KVMPC [TIMEOUT]

Checks, each in its own kvmpc run:
  banner      `kvmpc -nodefaults -nographic -serial stdio` prints SeaBIOS's
              banner and, with nothing to boot, "No bootable device." on
              ttyS0, as Debian's qemu-system-x86_64 does (SeaBIOS's serial
              console turns on because fw_cfg says there are no graphics)
  boot-menu   `-boot menu=on,splash-time=500` shows "Press ESC for boot
              menu." before giving up the same way
  linuxboot-error
              kvmpc's linuxboot option ROM given with -option-rom but no
              -kernel: SeaBIOS boots it, the ROM reports "no usable kernel"
              and returns, and SeaBIOS goes on to "No bootable device."

Needs /dev/kvm and the whole platform (PCI/PAM, RTC/CMOS, PIT, ...); prints
SKIP and exits 77 when /dev/kvm or the BIOS image is missing.
"""
import os
import sys

from consolelib import run_until

BIOS = "/usr/share/seabios/bios-256k.bin"
BANNER = b"SeaBIOS (version"
NO_BOOT = b"No bootable device."


def skip(reason):
    print(f"SKIP: {reason}")
    sys.exit(77)


def check(name, args, patterns, timeout):
    missing, out, secs = run_until(args, patterns, timeout)
    ok = not missing
    text = out.decode(errors="replace").replace("\r", "")
    print(f"--- {name}: {' '.join(args)}")
    print(text.rstrip())
    if ok:
        print(f"PASS: {name} ({secs:.1f}s)")
        return True
    missing = [p.decode() for p in patterns if p not in out]
    print(f"FAIL: {name}: not seen within {timeout:.0f}s: {missing}")
    return False


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: test-seabios.py KVMPC [TIMEOUT]")
    kvmpc = sys.argv[1]
    timeout = float(sys.argv[2]) if len(sys.argv) > 2 else 60
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        skip("/dev/kvm not available")
    if not os.path.exists(BIOS):
        skip(f"{BIOS} missing (install the seabios package)")
    base = [kvmpc, "-nodefaults", "-nographic", "-serial", "stdio"]
    rom = os.path.join(os.path.dirname(os.path.abspath(kvmpc)), "pc-bios",
                       "optionrom", "linuxboot.bin")
    results = [
        check("banner", base, [BANNER, NO_BOOT], timeout),
        check("boot-menu", base + ["-boot", "menu=on,splash-time=500"],
              [BANNER, b"Press ESC for boot menu.", NO_BOOT], timeout),
    ]
    if os.path.exists(rom):
        results.append(check("linuxboot-error", base + ["-option-rom", rom],
                             [BANNER, b"linuxboot: no usable kernel",
                              NO_BOOT], timeout))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""q35: SeaBIOS boots GRUB from the ICH9 AHCI CD-ROM at 00:1f.2.

    test-q35-cdrom-boot.py KVMPC [TIMEOUT]

The ISO of test-ide-cdrom-boot.py (grub-mkrescue, GRUB on the serial
console, one menu entry) given as -cdrom to the q35 machine, which puts
it on port 2 of the chipset's AHCI function (index 2, as QEMU's q35):

    kvmpc -machine q35 -nodefaults -nographic -serial stdio -cdrom ISO
          -boot d

and waits for SeaBIOS's banner, "Booting from DVD/CD", GRUB's title and
the menu entry on ttyS0.  On the way SeaBIOS programs PCIEXBAR (ECAM at
0xb0000000), the ICH9 PMBASE and PIRQ routes, reads the q35 ACPI tables
through the table loader, and drives the AHCI port.  About 30 s on these
development hosts.

Exit 77 (SKIP) without /dev/kvm, SeaBIOS, grub-mkrescue or xorriso
(KVMPC_TEST_BOOT_ISO=PATH uses an ISO made elsewhere).
"""
import importlib.util
import os
import shutil
import sys
import tempfile

from consolelib import run_until

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    "ide_cdrom_boot", os.path.join(HERE, "test-ide-cdrom-boot.py"))
ide_boot = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ide_boot)


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: test-q35-cdrom-boot.py KVMPC [TIMEOUT]")
    kvmpc = sys.argv[1]
    timeout = float(sys.argv[2]) if len(sys.argv) > 2 else 150
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        ide_boot.skip("/dev/kvm not available")
    if not os.path.exists(ide_boot.BIOS):
        ide_boot.skip(f"{ide_boot.BIOS} missing (install the seabios "
                      "package)")
    given = os.environ.get("KVMPC_TEST_BOOT_ISO")
    for tool in ("grub-mkrescue", "xorriso"):
        if not given and not shutil.which(tool):
            ide_boot.skip(f"{tool} missing (scripts/install-deps.sh "
                          "installs grub-pc-bin and xorriso)")
    with tempfile.TemporaryDirectory(prefix="kvmpc-q35-boot-") as d:
        iso = given or ide_boot.make_iso(d)
        args = [kvmpc, "-machine", "q35", "-nodefaults", "-nographic",
                "-serial", "stdio", "-cdrom", iso, "-boot", "d"]
        patterns = [b"SeaBIOS (version", b"Booting from DVD/CD",
                    b"GNU GRUB", ide_boot.ENTRY.encode()]
        missing, out, secs = run_until(args, patterns, timeout)
    print(f"--- {' '.join(args)}")
    print(out.decode(errors="replace").replace("\r", "").rstrip())
    if missing:
        print(f"FAIL: not seen within {timeout:.0f}s: "
              f"{[m.decode() for m in missing]}")
        return 1
    print(f"PASS: GRUB's menu from the q35 AHCI CD-ROM ({secs:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

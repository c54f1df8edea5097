#!/usr/bin/env python3
"""A bootable ISO on an AHCI CD-ROM (pc machine), through SeaBIOS to GRUB.

    test-ahci-cdrom-boot.py KVMPC [TIMEOUT]

The ISO of test-ide-cdrom-boot.py (grub-mkrescue, GRUB on the serial
console, one menu entry), this time on port 2 of an ICH9 AHCI:

    kvmpc -nodefaults -nographic -serial stdio
          -drive if=none,id=cd,media=cdrom,file=ISO,format=raw
          -device ahci,id=ahci0 -device ide-cd,drive=cd,bus=ahci0.2,bootindex=0

and waits for SeaBIOS's banner, "Booting from DVD/CD" and GRUB's "Welcome
to GRUB!" on ttyS0 (about 8 s): by then SeaBIOS has loaded the whole El
Torito image through the HBA and GRUB runs.  The rest of the way to the
menu (about 20 s more of GRUB reading its modules through the same int
13h) is test-q35-cdrom-boot.py's, on q35's built-in AHCI, so the issue's
"AHCI CD-ROM to GRUB's menu" is checked once.  SeaBIOS finds the HBA by
its class (01.06.01),
starts the port, reads the signature and IDENTIFY PACKET DEVICE, and
reads the boot catalog and image with PACKET commands through command
tables and PRDs; bootindex reaches it as fw_cfg's bootorder entry
/pci@i0cf8/pci8086,2922@N/drive@2/disk@0.  GRUB then reads through SeaBIOS's
int 13h.

Exit 77 (SKIP) without /dev/kvm, SeaBIOS, grub-mkrescue or xorriso
(KVMPC_TEST_BOOT_ISO=PATH uses an ISO made elsewhere, see
test-ide-cdrom-boot.py --make-iso).
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
        sys.exit("usage: test-ahci-cdrom-boot.py KVMPC [TIMEOUT]")
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
    with tempfile.TemporaryDirectory(prefix="kvmpc-ahci-boot-") as d:
        iso = given or ide_boot.make_iso(d)
        args = [kvmpc, "-nodefaults", "-nographic", "-serial", "stdio",
                "-drive", f"if=none,id=cd,media=cdrom,format=raw,file={iso}",
                "-device", "ahci,id=ahci0",
                "-device", "ide-cd,drive=cd,bus=ahci0.2,bootindex=0"]
        patterns = [b"SeaBIOS (version", b"Booting from DVD/CD",
                    b"Welcome to GRUB"]
        missing, out, secs = run_until(args, patterns, timeout)
    print(f"--- {' '.join(args)}")
    print(out.decode(errors="replace").replace("\r", "").rstrip())
    if missing:
        print(f"FAIL: not seen within {timeout:.0f}s: "
              f"{[m.decode() for m in missing]}")
        return 1
    print(f"PASS: GRUB from the AHCI CD-ROM ({secs:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""GRUB from a virtio-scsi disk, through SeaBIOS.

    test-virtio-scsi-boot.py KVMPC [TIMEOUT]

The ISO of test-ide-cdrom-boot.py (grub-mkrescue, GRUB on the serial
console, one menu entry) is an isohybrid image: its MBR boots it as a
hard disk too.  It goes on a scsi-hd behind a virtio-scsi-pci:

    kvmpc -nodefaults -nographic -serial stdio
          -drive if=none,id=d0,format=raw,file=IMAGE
          -device virtio-scsi-pci,id=scsi0
          -device scsi-hd,drive=d0,bus=scsi0.0,scsi-id=0,lun=0,bootindex=0

and the test waits for SeaBIOS's banner, "Booting from Hard Disk", "GRUB
loading." and GRUB's "Welcome to GRUB!" on ttyS0: SeaBIOS booted the LUN
and GRUB's core, read through it, runs (about 10 s).  The rest of the way
to the menu is GRUB reading its modules through the same int 13h, which
ide-cdrom-grub and q35-cdrom-grub follow to the end; the CI spends those
20 s there only.  SeaBIOS's virtio-scsi driver finds
the adapter (1af4:1004), sets up its queues, scans the targets with
INQUIRY/REPORT LUNS, waits for TEST UNIT READY through the reset unit
attention, reads READ CAPACITY and boots the LUN fw_cfg's bootorder names
(/pci@i0cf8/scsi@N/channel@0/disk@0,0).

Exit 77 (SKIP) without /dev/kvm, SeaBIOS, grub-mkrescue or xorriso
(KVMPC_TEST_BOOT_ISO=PATH uses an image made elsewhere, see
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
        sys.exit("usage: test-virtio-scsi-boot.py KVMPC [TIMEOUT]")
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
    with tempfile.TemporaryDirectory(prefix="kvmpc-vscsi-boot-") as d:
        image = os.path.join(d, "disk.img")
        # a copy: the disk is writable, the given ISO must stay as it is
        shutil.copy(given or ide_boot.make_iso(d), image)
        args = [kvmpc, "-nodefaults", "-nographic", "-serial", "stdio",
                "-drive", f"if=none,id=d0,format=raw,file={image}",
                "-device", "virtio-scsi-pci,id=scsi0",
                "-device", "scsi-hd,drive=d0,bus=scsi0.0,scsi-id=0,lun=0,"
                           "bootindex=0"]
        patterns = [b"SeaBIOS (version", b"Booting from Hard Disk",
                    b"GRUB loading.", b"Welcome to GRUB"]
        missing, out, secs = run_until(args, patterns, timeout)
    print(f"--- {' '.join(args)}")
    print(out.decode(errors="replace").replace("\r", "").rstrip())
    if missing:
        print(f"FAIL: not seen within {timeout:.0f}s: "
              f"{[m.decode() for m in missing]}")
        return 1
    print(f"PASS: GRUB from the virtio-scsi disk ({secs:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

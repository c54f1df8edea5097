#!/usr/bin/env python3
"""GRUB from a virtio-blk disk, through SeaBIOS.

    test-virtio-blk-boot.py KVMPC [TIMEOUT]

Makes a GRUB image with grub-mkrescue (as test-ide-cdrom-boot.py does: an
El Torito image whose hybrid MBR also boots it as a hard disk, GRUB on the
serial console with one menu entry), puts it on a virtio-blk-pci disk
with bootindex=1 and nothing else to boot from:

    kvmpc -nodefaults -nographic -serial stdio \\
          -drive if=none,id=vd,file=IMG,format=raw \\
          -device virtio-blk-pci,drive=vd,bootindex=1

and waits for SeaBIOS's banner, its "Booting from Hard Disk", "GRUB
loading." and GRUB's "Welcome to GRUB!" on ttyS0: SeaBIOS booted the disk
and GRUB's core, read through it, runs (about 8 s; the way on to the menu
is GRUB reading modules through the same int 13h, which ide-cdrom-grub
and q35-cdrom-grub follow to the end).  SeaBIOS finds the disk by its PCI
scan (1af4:1001), drives it with its own virtio-blk driver (legacy or
modern interface, a split queue, reads through int 13h), and picks it
first because bootorder (fw_cfg) names /pci@i0cf8/scsi@N/disk@0,0.
Then the same disk as -drive if=virtio (no bootindex: the only disk), up
to GRUB's "GRUB loading." (SeaBIOS found the disk the alias made and ran
its boot sector, which reads GRUB's core through int 13h and virtio).

Exit 77 (SKIP) without /dev/kvm, SeaBIOS, grub-mkrescue or xorriso.
KVMPC_TEST_BOOT_ISO=PATH takes an image made elsewhere
(`test-ide-cdrom-boot.py --make-iso PATH`).
"""
import importlib.util
import os
import shutil
import sys
import tempfile

from consolelib import run_until

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    "cdrom_boot", os.path.join(HERE, "test-ide-cdrom-boot.py"))
cdrom_boot = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cdrom_boot)


def skip(reason):
    print(f"SKIP: {reason}")
    sys.exit(77)


def boot(kvmpc, disk_args, timeout, grub_runs=True):
    args = [kvmpc, "-nodefaults", "-nographic", "-serial", "stdio"] + disk_args
    patterns = [b"SeaBIOS (version", b"Booting from Hard Disk",
                b"GRUB loading."]
    if grub_runs:
        patterns += [b"Welcome to GRUB"]
    missing, out, secs = run_until(args, patterns, timeout)
    print(f"--- {' '.join(args)}")
    print(out.decode(errors="replace").replace("\r", "").rstrip())
    if missing:
        print(f"FAIL: not seen within {timeout:.0f}s: "
              f"{[m.decode() for m in missing]}")
        return False
    what = "GRUB" if grub_runs else "GRUB loading"
    print(f"PASS: {what} from the virtio-blk disk ({secs:.1f}s)")
    return True


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: test-virtio-blk-boot.py KVMPC [TIMEOUT]")
    kvmpc = sys.argv[1]
    timeout = float(sys.argv[2]) if len(sys.argv) > 2 else 150
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        skip("/dev/kvm not available")
    if not os.path.exists(cdrom_boot.BIOS):
        skip(f"{cdrom_boot.BIOS} missing (install the seabios package)")
    given = os.environ.get("KVMPC_TEST_BOOT_ISO")
    for tool in ("grub-mkrescue", "xorriso"):
        if not given and not shutil.which(tool):
            skip(f"{tool} missing (scripts/install-deps.sh installs "
                 "grub-pc-bin and xorriso)")
    with tempfile.TemporaryDirectory(prefix="kvmpc-vblk-boot-") as d:
        img = given or cdrom_boot.make_iso(d)
        ok = boot(kvmpc, ["-drive", f"if=none,id=vd,file={img},format=raw,"
                          "readonly=on",
                          "-device", "virtio-blk-pci,drive=vd,bootindex=1"],
                  timeout)
        ok = ok and boot(kvmpc, ["-drive", f"if=virtio,file={img},format=raw,"
                                 "readonly=on"], timeout, grub_runs=False)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""A bootable ISO on the IDE CD-ROM, through SeaBIOS to GRUB's menu.

    test-ide-cdrom-boot.py KVMPC [TIMEOUT]

Makes an ISO with grub-mkrescue (grub-pc-bin + xorriso; GRUB's i386-pc
El Torito image) whose grub.cfg puts GRUB on the serial console with one
menu entry, boots it with

    kvmpc -nodefaults -nographic -serial stdio -cdrom ISO -boot d

and waits for SeaBIOS's banner, "Booting from DVD/CD", GRUB's title and
the menu entry on ttyS0.  SeaBIOS reads the CD through the PIIX3 IDE's
ATAPI path (detection, IDENTIFY PACKET DEVICE, TEST UNIT READY, READ
CAPACITY, READ(10) of the boot catalog and image), GRUB through its own
ATAPI driver or SeaBIOS's int 13h.  On these development hosts GRUB's
menu takes about 30 s (CPL 0 code is emulated instruction by instruction).

Exit 77 (SKIP) without /dev/kvm, SeaBIOS, grub-mkrescue or xorriso.
KVMPC_TEST_BOOT_ISO=PATH uses an ISO made elsewhere by make_iso() (for a
KVM host that lacks the GRUB packages): `test-ide-cdrom-boot.py --make-iso
PATH` writes one.
"""
import os
import shutil
import subprocess
import sys
import tempfile

from consolelib import run_until

BIOS = "/usr/share/seabios/bios-256k.bin"
ENTRY = "kvmpc IDE CD-ROM boot test"
GRUB_CFG = """serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
set timeout=60
menuentry "%s" {
    echo "entry ran"
}
""" % ENTRY


def skip(reason):
    print(f"SKIP: {reason}")
    sys.exit(77)


def make_iso(workdir):
    root = os.path.join(workdir, "root")
    os.makedirs(os.path.join(root, "boot", "grub"))
    with open(os.path.join(root, "boot", "grub", "grub.cfg"), "w") as f:
        f.write(GRUB_CFG)
    iso = os.path.join(workdir, "boot.iso")
    p = subprocess.run(["grub-mkrescue", "-o", iso, root],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if p.returncode != 0 or not os.path.exists(iso):
        print(p.stdout.decode(errors="replace"))
        sys.exit("FAIL: grub-mkrescue could not make the ISO")
    return iso


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--make-iso":
        with tempfile.TemporaryDirectory(prefix="kvmpc-ide-iso-") as d:
            shutil.copy(make_iso(d), sys.argv[2])
        return 0
    if len(sys.argv) < 2:
        sys.exit("usage: test-ide-cdrom-boot.py KVMPC [TIMEOUT]")
    kvmpc = sys.argv[1]
    timeout = float(sys.argv[2]) if len(sys.argv) > 2 else 150
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        skip("/dev/kvm not available")
    if not os.path.exists(BIOS):
        skip(f"{BIOS} missing (install the seabios package)")
    given = os.environ.get("KVMPC_TEST_BOOT_ISO")
    for tool in ("grub-mkrescue", "xorriso"):
        if not given and not shutil.which(tool):
            skip(f"{tool} missing (scripts/install-deps.sh installs "
                 "grub-pc-bin and xorriso)")
    with tempfile.TemporaryDirectory(prefix="kvmpc-ide-boot-") as d:
        iso = given or make_iso(d)
        args = [kvmpc, "-nodefaults", "-nographic", "-serial", "stdio",
                "-cdrom", iso, "-boot", "d"]
        patterns = [b"SeaBIOS (version", b"Booting from DVD/CD",
                    b"GNU GRUB", ENTRY.encode()]
        missing, out, secs = run_until(args, patterns, timeout)
    print(f"--- {' '.join(args)}")
    print(out.decode(errors="replace").replace("\r", "").rstrip())
    if missing:
        print(f"FAIL: not seen within {timeout:.0f}s: "
              f"{[m.decode() for m in missing]}")
        return 1
    print(f"PASS: GRUB's menu from the IDE CD-ROM ({secs:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

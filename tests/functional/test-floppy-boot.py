#!/usr/bin/env python3
"""A 1.44 MB floppy image through SeaBIOS to its boot sector.

    test-floppy-boot.py KVMPC [TIMEOUT]

Writes a 1.44 MB image whose boot sector (hand-assembled 16-bit code,
below) prints a line on COM1 (0x3f8, polling the LSR) and halts, boots it
with

    kvmpc -nodefaults -nographic -serial stdio -fda IMG -boot a

and waits for SeaBIOS's banner, "Booting from Floppy" and the line on
ttyS0.  SeaBIOS finds drive A: in CMOS 10h/14h, resets the controller,
recalibrates, senses the medium with READ ID and reads the boot sector by
DMA on channel 2 (docs/floppy.md).  A second run boots the same image
attached with -device floppy,bootindex=1 (fw_cfg bootorder) without -boot.

Exit 77 (SKIP) without /dev/kvm or SeaBIOS.
"""
import os
import struct
import sys
import tempfile

from consolelib import run_until

BIOS = "/usr/share/seabios/bios-256k.bin"
MESSAGE = b"kvmpc floppy boot sector ran"
IMAGE_SIZE = 1474560
LOAD = 0x7c00


def boot_sector():
    """cld; ds = 0; for each byte of the message: wait for THRE in the
    LSR (0x3fd), write it to 0x3f8; then hlt forever."""
    code = bytearray()
    code += b"\xfc"                         # 00 cld
    code += b"\x31\xc0"                     # 01 xor ax, ax
    code += b"\x8e\xd8"                     # 03 mov ds, ax
    code += b"\xbe\x00\x00"                 # 05 mov si, msg (patched)
    code += b"\xac"                         # 08 .loop: lodsb
    code += b"\x84\xc0"                     # 09 test al, al
    code += b"\x74\x12"                     # 0b jz .done (0x1f)
    code += b"\x88\xc4"                     # 0d mov ah, al
    code += b"\xba\xfd\x03"                 # 0f .wait: mov dx, 0x3fd
    code += b"\xec"                         # 12 in al, dx
    code += b"\xa8\x20"                     # 13 test al, 0x20
    code += b"\x74\xf8"                     # 15 jz .wait
    code += b"\xba\xf8\x03"                 # 17 mov dx, 0x3f8
    code += b"\x88\xe0"                     # 1a mov al, ah
    code += b"\xee"                         # 1c out dx, al
    code += b"\xeb\xe9"                     # 1d jmp .loop
    code += b"\xf4"                         # 1f .done: hlt
    code += b"\xeb\xfd"                     # 20 jmp .done
    msg_at = len(code)
    code[6:8] = struct.pack("<H", LOAD + msg_at)
    code += MESSAGE + b"\r\n\x00"
    sector = bytes(code).ljust(510, b"\x00") + b"\x55\xaa"
    assert len(sector) == 512
    return sector


def skip(reason):
    print(f"SKIP: {reason}")
    sys.exit(77)


def boot(args, timeout):
    patterns = [b"SeaBIOS (version", b"Booting from Floppy", MESSAGE]
    missing, out, secs = run_until(args, patterns, timeout)
    print(f"--- {' '.join(args)}")
    print(out.decode(errors="replace").replace("\r", "").rstrip())
    if missing:
        print(f"FAIL: not seen within {timeout:.0f}s: "
              f"{[m.decode() for m in missing]}")
        return False
    print(f"PASS: the boot sector ran ({secs:.1f}s)")
    return True


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: test-floppy-boot.py KVMPC [TIMEOUT]")
    kvmpc = sys.argv[1]
    timeout = float(sys.argv[2]) if len(sys.argv) > 2 else 90
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        skip("/dev/kvm not available")
    if not os.path.exists(BIOS):
        skip(f"{BIOS} missing (install the seabios package)")
    with tempfile.TemporaryDirectory(prefix="kvmpc-floppy-boot-") as d:
        img = os.path.join(d, "boot.img")
        with open(img, "wb") as f:
            f.write(boot_sector().ljust(IMAGE_SIZE, b"\xf6"))
        base = [kvmpc, "-nodefaults", "-nographic", "-serial", "stdio"]
        ok = boot(base + ["-fda", img, "-boot", "a"], timeout)
        ok = ok and boot(base + [
            "-drive", f"if=none,id=fd,format=raw,file={img}",
            "-device", "floppy,drive=fd,bootindex=1"], timeout)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Extract the uncompressed ELF vmlinux from a bzImage (e.g. Debian's
/boot/vmlinuz-*) and check that it has a PVH entry note, so kvmpc can boot
it directly:

    scripts/extract-vmlinux-pvh.py /boot/vmlinuz-$(uname -r) /tmp/vmlinux
    build/kvmpc -nodefaults -display none -serial stdio -m 512 \\
        -kernel /tmp/vmlinux -append "console=ttyS0 earlyprintk=serial"

The compressed payload is found through the setup header's payload_offset
and payload_length (Linux Documentation/arch/x86/boot.rst, protocol 2.08+),
falling back to a search for the compressor's magic bytes.  gzip, xz, lzma
and bzip2 are decompressed in Python; zstd and lz4 through their command
line tools.  The PVH note is XEN_ELFNOTE_PHYS32_ENTRY (type 18, owner
"Xen") in a PT_NOTE segment.

Exit status: 0 on success, 1 with a one-line message otherwise.
"""

import bz2
import lzma
import struct
import subprocess
import sys
import zlib

XEN_ELFNOTE_PHYS32_ENTRY = 18

MAGICS = [
    (b"\x1f\x8b\x08", "gzip"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"BZh", "bzip2"),
    (b"\x5d\x00\x00", "lzma"),
    (b"\x02\x21\x4c\x18", "lz4"),
]


class ExtractError(Exception):
    pass


def payload_from_header(image):
    """The compressed payload named by the setup header, or None."""
    if len(image) < 0x250 or image[0x202:0x206] != b"HdrS":
        return None
    version = struct.unpack_from("<H", image, 0x206)[0]
    if version < 0x208:
        return None
    setup_sects = image[0x1F1] or 4
    start = (setup_sects + 1) * 512
    offset, length = struct.unpack_from("<II", image, 0x248)
    begin = start + offset
    if length == 0 or begin + length > len(image):
        return None
    return image[begin:begin + length]


def kind_of(data):
    for magic, kind in MAGICS:
        if data.startswith(magic):
            return kind
    return None


def decompress(data, kind):
    if kind == "gzip":
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data)
    if kind == "xz":
        return lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data)
    if kind == "lzma":
        return lzma.LZMADecompressor(format=lzma.FORMAT_ALONE).decompress(data)
    if kind == "bzip2":
        return bz2.BZ2Decompressor().decompress(data)
    tool = {"zstd": ["zstd", "-dcq"], "lz4": ["lz4", "-dcq"]}[kind]
    try:
        out = subprocess.run(tool, input=data, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, check=False)
    except FileNotFoundError as e:
        raise ExtractError(f"{tool[0]} is needed to decompress this "
                           "kernel") from e
    return out.stdout


def candidates(image):
    """(kind, data) pairs to try, the setup header's payload first."""
    payload = payload_from_header(image)
    if payload is not None and kind_of(payload):
        yield kind_of(payload), payload
    for magic, kind in MAGICS:
        pos = image.find(magic)
        while pos >= 0:
            yield kind, image[pos:]
            pos = image.find(magic, pos + 1)


def pvh_entry(elf):
    """The PVH entry address of an x86 ELF image, or None."""
    if elf[:4] != b"\x7fELF" or len(elf) < 64:
        return None
    is64 = elf[4] == 2
    if is64:
        phoff, = struct.unpack_from("<Q", elf, 32)
        phentsize, phnum = struct.unpack_from("<HH", elf, 54)
    else:
        phoff, = struct.unpack_from("<I", elf, 28)
        phentsize, phnum = struct.unpack_from("<HH", elf, 42)
    for i in range(phnum):
        ph = phoff + i * phentsize
        if ph + phentsize > len(elf):
            return None
        p_type, = struct.unpack_from("<I", elf, ph)
        if p_type != 4:     # PT_NOTE
            continue
        if is64:
            off, = struct.unpack_from("<Q", elf, ph + 8)
            size, = struct.unpack_from("<Q", elf, ph + 32)
        else:
            off, = struct.unpack_from("<I", elf, ph + 4)
            size, = struct.unpack_from("<I", elf, ph + 16)
        entry = scan_notes(elf[off:off + size])
        if entry is not None:
            return entry
    return None


def scan_notes(notes):
    pos = 0
    while pos + 12 <= len(notes):
        namesz, descsz, ntype = struct.unpack_from("<III", notes, pos)
        name_at = pos + 12
        desc_at = name_at + ((namesz + 3) & ~3)
        pos = desc_at + ((descsz + 3) & ~3)
        if pos > len(notes):
            return None
        if (notes[name_at:name_at + namesz] == b"Xen\x00"
                and ntype == XEN_ELFNOTE_PHYS32_ENTRY and descsz in (4, 8)):
            fmt = "<I" if descsz == 4 else "<Q"
            return struct.unpack_from(fmt, notes, desc_at)[0]
    return None


def extract(image):
    for kind, data in candidates(image):
        try:
            elf = decompress(data, kind)
        except (lzma.LZMAError, zlib.error, OSError, EOFError):
            continue
        if elf[:4] == b"\x7fELF":
            return elf
    raise ExtractError("no compressed ELF kernel found in the image")


def main(argv):
    if len(argv) != 3:
        print(f"usage: {argv[0]} BZIMAGE OUTPUT", file=sys.stderr)
        return 1
    try:
        with open(argv[1], "rb") as f:
            image = f.read()
        elf = image if image[:4] == b"\x7fELF" else extract(image)
        entry = pvh_entry(elf)
        if entry is None:
            raise ExtractError("the kernel has no PVH entry note "
                               "(CONFIG_PVH off?)")
        with open(argv[2], "wb") as f:
            f.write(elf)
    except (OSError, ExtractError) as e:
        print(f"extract-vmlinux-pvh: {argv[1]}: {e}", file=sys.stderr)
        return 1
    print(f"{argv[2]}: ELF vmlinux, {len(elf)} bytes, PVH entry 0x{entry:x}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

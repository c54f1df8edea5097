#!/usr/bin/env python3
"""The vmcoreinfo guest test, both sides.

    run-vmcoreinfo-test.py EMULATOR PAYLOAD

Boots PAYLOAD (vmcoreinfo.c) with -device vmcoreinfo and a nonce on its
command line.  The guest writes where its VMCOREINFO note is into the
fw_cfg file etc/vmcoreinfo by DMA, as Linux does: first only half of the
descriptor, then all of it.  At each "vmcoreinfo: ready for dump" line
the host runs dump-guest-memory (ELF) and reads the dump's PT_NOTE
segments: after the partial write there must be no VMCOREINFO note (QEMU
7.2 takes only a whole descriptor); after the whole one the dump must
carry the guest's note, name "VMCOREINFO", with the guest's text and
this run's nonce.  (QEMU 7.2 also writes CPU notes, "CORE" and "QEMU";
kvmpc does not, monitor/mgmt-cmds.c, so they are not looked for.)  The
payload and this runner pass against QEMU 7.2 too
(KVMPC_GUEST_EMULATOR=qemu-system-x86_64
KVMPC_GUEST_EMULATOR_ARGS=-enable-kvm).  The test fails if the device
ignores the write or the dump leaves the note out.  Exit 77 (skipped) without /dev/kvm.
"""
import os
import random
import struct
import sys

import guesthost
from guesthost import Failure

PT_NOTE = 4


def elf_notes(path):
    """(name, type, desc) of every note in the PT_NOTE segments of the
    ELF64 little-endian core dump at @path."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise Failure("the dump is not an ELF64 little-endian file")
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    notes = []
    for i in range(phnum):
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from(
            "<IIQQQQ", data, phoff + i * phentsize)
        if p_type != PT_NOTE:
            continue
        off, end = p_offset, p_offset + p_filesz
        while off + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", data, off)
            name_at = off + 12
            desc_at = name_at + ((namesz + 3) & ~3)
            name = data[name_at:name_at + namesz].rstrip(b"\0")
            notes.append((name, ntype, data[desc_at:desc_at + descsz]))
            off = desc_at + ((descsz + 3) & ~3)
    return notes


def dump_notes(host, name):
    path = os.path.join(host.tmp, name + ".core")
    host.qmp.ret("dump-guest-memory", {"paging": False,
                                       "protocol": "file:" + path})
    notes = elf_notes(path)
    os.unlink(path)
    return notes


def body(host, nonce):
    host.wait_line("vmcoreinfo: ready for dump (partial)")
    notes = dump_notes(host, "partial")
    if any(n == b"VMCOREINFO" for n, _, _ in notes):
        raise Failure("a VMCOREINFO note after a partial write")
    host.tell()
    host.wait_line("vmcoreinfo: ready for dump (note)")
    got = [(t, d) for n, t, d in dump_notes(host, "note")
           if n == b"VMCOREINFO"]
    want = ("OSRELEASE=kvmpc-guest-kit\nPAGESIZE=4096\n"
            "KVMPC_NONCE=%s\n" % nonce).encode()
    if got != [(0, want)]:
        raise Failure("the dump's VMCOREINFO notes: %r, want one with %r"
                      % (got, want))
    print("run-vmcoreinfo-test: the dump carries the guest's note "
          "(%d bytes of text)" % len(want), flush=True)
    host.tell()


def main():
    emulator, payload = sys.argv[1:3]
    nonce = "%d" % random.randrange(1 << 40)
    return guesthost.run(lambda host: body(host, nonce), emulator, payload,
                         ["-m", "32", "-device", "vmcoreinfo",
                          "-append", "nonce=" + nonce], "vmcoreinfo")


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Turn a flat option ROM image into a valid one.

Pads the image to a multiple of 512 bytes (keeping at least one spare byte
at the end for the checksum), writes the size in 512-byte blocks at offset
2, fixes the checksum of the PnP expansion header when the ROM has one
(pointer at offset 0x1a; Plug and Play BIOS Specification 1.0A, 3.3), and
sets the last byte so that all bytes of the ROM sum to 0 (IBM PC option ROM
rule, checked by the BIOS before running it).

usage: signrom.py INPUT OUTPUT
"""
import sys

BLOCK = 512
MAX_BLOCKS = 255
PNP_PTR = 0x1a
PNP_LEN_OFF = 5     # offset of the header length (16-byte units)
PNP_CSUM = 9


def fail(msg):
    sys.stderr.write('signrom.py: %s\n' % msg)
    sys.exit(1)


def checksum_fix(data, start, length, at):
    data[at] = 0
    data[at] = (-sum(data[start:start + length])) & 0xff


def main():
    if len(sys.argv) != 3:
        fail('usage: signrom.py INPUT OUTPUT')
    with open(sys.argv[1], 'rb') as f:
        data = bytearray(f.read())
    if len(data) < 3 or data[0] != 0x55 or data[1] != 0xaa:
        fail('%s: no 55 AA option ROM signature' % sys.argv[1])
    size = (len(data) + 1 + BLOCK - 1) // BLOCK * BLOCK
    if size // BLOCK > MAX_BLOCKS:
        fail('%s: %d bytes is too large for an option ROM' %
             (sys.argv[1], len(data)))
    data += bytes(size - len(data))
    data[2] = size // BLOCK
    pnp = data[PNP_PTR] | data[PNP_PTR + 1] << 8
    if pnp:
        if data[pnp:pnp + 4] != b'$PnP':
            fail('%s: offset 0x1a does not point at a $PnP header' %
                 sys.argv[1])
        checksum_fix(data, pnp, data[pnp + PNP_LEN_OFF] * 16, pnp + PNP_CSUM)
    checksum_fix(data, 0, size, size - 1)
    with open(sys.argv[2], 'wb') as f:
        f.write(data)


if __name__ == '__main__':
    main()

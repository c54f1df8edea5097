#!/usr/bin/env python3
"""Write SIZE bytes of the deterministic test stream to OUT.

The stream is xorshift32 (13, 17, 5) from seed 0x2545f491, one byte (bits
31:24) per step; testdata_next() in lib/include/guest.h produces the same
bytes, so a payload can check a module or initrd it was given.
"""
import sys

SEED = 0x2545f491


def stream(n):
    x = SEED
    out = bytearray(n)
    for i in range(n):
        x ^= (x << 13) & 0xffffffff
        x ^= x >> 17
        x ^= (x << 5) & 0xffffffff
        out[i] = x >> 24
    return out


if __name__ == '__main__':
    if len(sys.argv) != 3:
        sys.exit('usage: gen-testdata.py SIZE OUT')
    with open(sys.argv[2], 'wb') as f:
        f.write(stream(int(sys.argv[1], 0)))

#!/usr/bin/env python3
"""A minimal KVM loader for a bzImage's 64-bit entry point.

    kvm-bzboot.py [-m SIZE] -kernel BZIMAGE [-append CMDLINE] [-initrd FILE] [other args ignored]

It checks the guest test kit's bzImage payload (bzimage.c) through the
entry kvmpc's direct kernel boot uses, which QEMU never takes (QEMU runs the
real-mode setup code and enters at 32 bits).  It does what the Linux x86
boot protocol asks of a 64-bit loader and nothing more:

  - protected-mode part (from (setup_sects + 1) * 512 in the file) at
    0x100000; zero page at 0x7000 (setup header copied from the file at
    0x1f1 .. 0x202 + byte at 0x201, type_of_loader 0xff, cmd_line_ptr,
    ramdisk_image/size, e820 table); command line at 0x8000; initrd at the
    top of RAM, page aligned
  - long mode, identity map of the first 4 GiB (2 MiB pages), GDT with
    flat __BOOT_CS (0x10, 64-bit) and __BOOT_DS (0x18), interrupts off,
    RIP = 0x100200, RSI = zero page
  - no devices: COM1 output goes to stdout (LSR always ready), a write to
    port 0xf4 ends the run with exit status (code << 1) | 1, as QEMU's
    isa-debug-exit does; other port reads return 0xff, writes are dropped.

It accepts the command line run-guest-test.py gives an emulator, so

    run-guest-test.py --emulator tests/guest/kvm-bzboot.py X bzimage.bzImage -- \\
        -m 256M -append "..." -initrd initrd.bin

runs the bzimage test through it.  Not a general emulator: no interrupt
controller, no timer.
"""
import ctypes
import fcntl
import mmap
import os
import struct
import sys

libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]


def _io(nr):
    return (0xAE << 8) | nr


def _iow(nr, size):
    return (1 << 30) | (size << 16) | (0xAE << 8) | nr


def _ior(nr, size):
    return (2 << 30) | (size << 16) | (0xAE << 8) | nr


def _iowr(nr, size):
    return (3 << 30) | (size << 16) | (0xAE << 8) | nr


KVM_CREATE_VM = _io(0x01)
KVM_GET_VCPU_MMAP_SIZE = _io(0x04)
KVM_GET_SUPPORTED_CPUID = _iowr(0x05, 8)
KVM_CREATE_VCPU = _io(0x41)
KVM_SET_USER_MEMORY_REGION = _iow(0x46, 32)
KVM_RUN = _io(0x80)
KVM_SET_REGS = _iow(0x82, 144)
KVM_GET_SREGS = _ior(0x83, 312)
KVM_SET_SREGS = _iow(0x84, 312)
KVM_SET_CPUID2 = _iow(0x90, 8)

EXIT_IO, EXIT_HLT, EXIT_MMIO, EXIT_SHUTDOWN = 2, 5, 6, 8

ZERO_PAGE, CMDLINE, GDT, PML4 = 0x7000, 0x8000, 0x500, 0x1000
LOAD_ADDR = 0x100000


def parse_size(s):
    mult = {'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30}
    if s[-1].upper() in mult:
        return int(s[:-1]) * mult[s[-1].upper()]
    return int(s) << 20


def parse_args(argv):
    opts = {'m': 128 << 20, 'kernel': None, 'append': '', 'initrd': None}
    i = 0
    while i < len(argv):
        a = argv[i].lstrip('-')
        if a in ('m', 'kernel', 'append', 'initrd') and i + 1 < len(argv):
            opts[a] = parse_size(argv[i + 1]) if a == 'm' else argv[i + 1]
            i += 2
        else:
            i += 1      # everything else (-nodefaults, -serial stdio, ...) is ignored
    if not opts['kernel']:
        sys.exit('kvm-bzboot: -kernel is required')
    return opts


def segment(base, limit, sel, typ, s, dpl, present, db, l, g):
    return struct.pack('<QIHBBBBBBBBBB', base, limit, sel, typ, present, dpl, db, s, l, g, 0, 0, 0)


def main():
    o = parse_args(sys.argv[1:])
    ram = o['m']
    if ram > 3 << 30:
        sys.exit('kvm-bzboot: at most 3 GiB of RAM')
    image = open(o['kernel'], 'rb').read()
    if image[0x202:0x206] != b'HdrS' or struct.unpack_from('<H', image, 0x206)[0] < 0x20c:
        sys.exit('kvm-bzboot: not a bzImage of boot protocol 2.12 or later')
    if not struct.unpack_from('<H', image, 0x236)[0] & 1:
        sys.exit('kvm-bzboot: no 64-bit entry (XLF_KERNEL_64)')
    setup_sects = image[0x1f1] or 4
    kernel = image[(setup_sects + 1) * 512:]

    kvm = os.open('/dev/kvm', os.O_RDWR | os.O_CLOEXEC)
    vm = fcntl.ioctl(kvm, KVM_CREATE_VM, 0)
    addr = libc.mmap(None, ram, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
    if addr in (None, ctypes.c_void_p(-1).value):
        sys.exit('kvm-bzboot: cannot allocate guest memory')
    fcntl.ioctl(vm, KVM_SET_USER_MEMORY_REGION, struct.pack('<IIQQQ', 0, 0, 0, ram, addr))

    def put(gpa, data):
        ctypes.memmove(addr + gpa, data, len(data))

    # page tables: identity map of 4 GiB, 2 MiB pages
    put(PML4, struct.pack('<Q', (PML4 + 0x1000) | 3))
    put(PML4 + 0x1000, struct.pack('<4Q', *[(PML4 + 0x2000 + 0x1000 * i) | 3 for i in range(4)]))
    put(PML4 + 0x2000, struct.pack('<2048Q', *[(i << 21) | 0x83 for i in range(2048)]))
    # GDT: null, null, __BOOT_CS 0x10 (64-bit code), __BOOT_DS 0x18
    put(GDT, struct.pack('<4Q', 0, 0, 0x00af9a000000ffff, 0x00cf92000000ffff))

    put(LOAD_ADDR, kernel)
    cmdline = o['append'].encode() + b'\0'
    put(CMDLINE, cmdline)
    zp = bytearray(4096)
    hdr_end = 0x202 + image[0x201]
    zp[0x1f1:hdr_end] = image[0x1f1:hdr_end]
    zp[0x210] = 0xff                                    # type_of_loader: undefined
    struct.pack_into('<I', zp, 0x228, CMDLINE)          # cmd_line_ptr
    if o['initrd']:
        rd = open(o['initrd'], 'rb').read()
        rd_addr = (ram - len(rd)) & ~0xfff
        put(rd_addr, rd)
        struct.pack_into('<II', zp, 0x218, rd_addr, len(rd))
    e820 = [(0, 0x9fc00, 1), (0x9fc00, 0x400, 2), (0xf0000, 0x10000, 2), (0x100000, ram - 0x100000, 1)]
    zp[0x1e8] = len(e820)
    for i, (b, n, t) in enumerate(e820):
        struct.pack_into('<QQI', zp, 0x2d0 + 20 * i, b, n, t)
    put(ZERO_PAGE, bytes(zp))

    vcpu = fcntl.ioctl(vm, KVM_CREATE_VCPU, 0)
    nent = 128
    buf = bytearray(struct.pack('<II', nent, 0) + bytes(40 * nent))
    fcntl.ioctl(kvm, KVM_GET_SUPPORTED_CPUID, buf)
    fcntl.ioctl(vcpu, KVM_SET_CPUID2, buf)

    sregs = bytearray(312)
    fcntl.ioctl(vcpu, KVM_GET_SREGS, sregs)
    code = segment(0, 0xffffffff, 0x10, 11, 1, 0, 1, 0, 1, 1)
    data = segment(0, 0xffffffff, 0x18, 3, 1, 0, 1, 1, 0, 1)
    tr = segment(0, 0x67, 0, 11, 0, 0, 1, 0, 0, 0)
    sregs[0:24] = code                                  # cs
    for i in (1, 2, 3, 4, 5):                           # ds es fs gs ss
        sregs[24 * i:24 * i + 24] = data
    sregs[144:168] = tr
    struct.pack_into('<QH', sregs, 192, GDT, 31)        # gdt
    struct.pack_into('<QQQQQQ', sregs, 224, 0x80050033, 0, PML4, 0x20, 0, 0x500)   # cr0 cr2 cr3 cr4 cr8 efer
    fcntl.ioctl(vcpu, KVM_SET_SREGS, bytes(sregs))
    regs = [0] * 18                                     # rax rbx rcx rdx rsi rdi rsp rbp r8-r15 rip rflags
    regs[4] = ZERO_PAGE
    regs[6] = 0x7ff0
    regs[16] = LOAD_ADDR + 0x200
    regs[17] = 0x2
    fcntl.ioctl(vcpu, KVM_SET_REGS, struct.pack('<18Q', *regs))

    size = fcntl.ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0)
    run = mmap.mmap(vcpu, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    out = sys.stdout.buffer
    while True:
        fcntl.ioctl(vcpu, KVM_RUN, 0)
        reason = struct.unpack_from('<I', run, 8)[0]
        if reason == EXIT_IO:
            direction, sz, port, count, off = struct.unpack_from('<BBHIQ', run, 32)
            for k in range(count):
                p = off + k * sz
                if direction == 1:
                    val = int.from_bytes(run[p:p + sz], 'little')
                    if port == 0x3f8:
                        out.write(bytes([val & 0xff]))
                    elif port == 0xf4:
                        out.flush()
                        os._exit(((val << 1) | 1) & 0xff)
                else:
                    val = {0x3fd: 0x60, 0x3fa: 0xc1}.get(port, 0xffffffff)
                    run[p:p + sz] = (val & ((1 << (8 * sz)) - 1)).to_bytes(sz, 'little')
            if port == 0x3f8:
                out.flush()
        elif reason == EXIT_MMIO:
            phys, data, length, is_write = struct.unpack_from('<Q8sIB', run, 32)
            if not is_write:
                run[40:48] = b'\xff' * 8
        else:
            out.flush()
            names = {EXIT_HLT: 'hlt', EXIT_SHUTDOWN: 'shutdown (triple fault)'}
            print(f'kvm-bzboot: stopped on exit reason {reason} ({names.get(reason, "?")})', file=sys.stderr)
            return 2


if __name__ == '__main__':
    sys.exit(main())

#!/usr/bin/env python3
"""Wrap a guest payload into a bzImage (Linux x86 boot protocol 2.12).

    mkbzimage.py --setup bzsetup.elf --kernel payload.elf -o payload.bzImage

The kernel ELF is the payload linked at 0x100000 with lib/boot-bz.S first:
its 32-bit entry is at 0x100000 and its 64-bit entry at 0x100200.  The
setup ELF is lib/bzsetup.S linked at 0x1000 (real-mode code that BIOS-based
loaders run).

Layout of the output:
  0x000-0x1ff   boot sector: zeros, the setup header starts at 0x1f1
  0x1f1-0x267   setup header (boot protocol 2.12), jump at 0x200 -> 0x268
  0x268         near jump to 0x1000
  0x26b-0xfff   zeros: with the header, the loaded setup area doubles as
                the zero page (struct boot_params) for the real-mode path
  0x1000-       real-mode setup code, padded to a 512-byte sector
  (setup_sects + 1) * 512 -   the protected-mode part: the payload's
                loadable segments, flattened from 0x100000
"""
import argparse
import struct
import sys

LOAD_ADDR = 0x100000
SETUP_CODE_OFFSET = 0x1000
HEADER_END = 0x268          # end of the 2.12 setup header


def load_elf(path):
    """Return (segments, symbols): segments are (paddr, data, memsz) of
    PT_LOAD entries, symbols maps names to values."""
    with open(path, 'rb') as f:
        img = f.read()
    if img[:4] != b'\x7fELF':
        sys.exit(f'{path}: not an ELF file')
    is64 = img[4] == 2
    if is64:
        (e_phoff, e_shoff) = struct.unpack_from('<QQ', img, 0x20)
        (e_phentsize, e_phnum, e_shentsize, e_shnum) = struct.unpack_from('<HHHH', img, 0x36)
    else:
        (e_phoff, e_shoff) = struct.unpack_from('<II', img, 0x1c)
        (e_phentsize, e_phnum, e_shentsize, e_shnum) = struct.unpack_from('<HHHH', img, 0x2a)
    segs = []
    for i in range(e_phnum):
        off = e_phoff + i * e_phentsize
        if is64:
            p_type, _, p_offset, _, p_paddr, p_filesz, p_memsz = struct.unpack_from('<IIQQQQQ', img, off)
        else:
            p_type, p_offset, _, p_paddr, p_filesz, p_memsz = struct.unpack_from('<IIIIII', img, off)
        if p_type == 1 and p_memsz:
            segs.append((p_paddr, img[p_offset:p_offset + p_filesz], p_memsz))
    syms = {}
    sections = []
    for i in range(e_shnum):
        off = e_shoff + i * e_shentsize
        if is64:
            sh = struct.unpack_from('<IIQQQQIIQQ', img, off)
            sections.append((sh[1], sh[4], sh[5], sh[6], sh[9]))  # type, offset, size, link, entsize
        else:
            sh = struct.unpack_from('<IIIIIIIIII', img, off)
            sections.append((sh[1], sh[4], sh[5], sh[6], sh[9]))
    for (stype, soff, ssize, slink, sent) in sections:
        if stype != 2:      # SHT_SYMTAB
            continue
        stroff = sections[slink][1]
        for j in range(ssize // sent):
            e = soff + j * sent
            if is64:
                st_name, _, _, _, st_value, _ = struct.unpack_from('<IBBHQQ', img, e)
            else:
                st_name, st_value, _, _, _, _ = struct.unpack_from('<IIIBBH', img, e)
            name = img[stroff + st_name:img.index(b'\0', stroff + st_name)].decode()
            syms[name] = st_value
    return segs, syms


def flatten(segs, base):
    end = max(p + len(d) for p, d, _ in segs)
    memend = max(p + m for p, _, m in segs)
    if min(p for p, _, _ in segs) != base:
        sys.exit(f'lowest load address is {min(p for p, _, _ in segs):#x}, expected {base:#x}')
    out = bytearray(end - base)
    for p, d, _ in segs:
        out[p - base:p - base + len(d)] = d
    return out, memend - base


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--setup', required=True, help='real-mode setup ELF, linked at 0x1000')
    ap.add_argument('--kernel', required=True, help='payload ELF, linked at 0x100000')
    ap.add_argument('-o', '--output', required=True)
    args = ap.parse_args()

    ksegs, ksyms = load_elf(args.kernel)
    kernel, kmem = flatten(ksegs, LOAD_ADDR)
    if ksyms.get('startup_64') != LOAD_ADDR + 0x200:
        sys.exit(f'{args.kernel}: startup_64 is not at {LOAD_ADDR + 0x200:#x}')
    kernel += bytes(-len(kernel) % 16)
    init_size = (kmem + 0xfff) & ~0xfff

    ssegs, _ = load_elf(args.setup)
    setup_code, _ = flatten(ssegs, SETUP_CODE_OFFSET)
    setup = bytearray(SETUP_CODE_OFFSET) + setup_code
    setup += bytes(-len(setup) % 512)
    setup_sects = len(setup) // 512 - 1
    if setup_sects > 0x7f:
        sys.exit('setup code too large')

    def put(off, fmt, val):
        struct.pack_into('<' + fmt, setup, off, val)

    put(0x1f1, 'B', setup_sects)        # setup_sects
    put(0x1f2, 'H', 0)                  # root_flags
    put(0x1f4, 'I', len(kernel) // 16)  # syssize
    put(0x1f8, 'H', 0)                  # ram_size (obsolete)
    put(0x1fa, 'H', 0xffff)             # vid_mode: normal
    put(0x1fc, 'H', 0)                  # root_dev
    put(0x1fe, 'H', 0xaa55)             # boot_flag
    setup[0x200] = 0xeb                 # jmp short, to the end of the header
    setup[0x201] = HEADER_END - 0x202
    setup[0x202:0x206] = b'HdrS'        # header
    put(0x206, 'H', 0x020c)             # version 2.12
    put(0x208, 'I', 0)                  # realmode_swtch
    put(0x20c, 'H', 0x1000)             # start_sys_seg (obsolete)
    put(0x20e, 'H', 0)                  # kernel_version: none
    put(0x210, 'B', 0)                  # type_of_loader: the loader's
    put(0x211, 'B', 0x01)               # loadflags: LOADED_HIGH
    put(0x212, 'H', 0x8000)             # setup_move_size
    put(0x214, 'I', LOAD_ADDR)          # code32_start
    put(0x218, 'I', 0)                  # ramdisk_image: the loader's
    put(0x21c, 'I', 0)                  # ramdisk_size: the loader's
    put(0x220, 'I', 0)                  # bootsect_kludge
    put(0x224, 'H', 0)                  # heap_end_ptr: the loader's
    put(0x226, 'B', 0)                  # ext_loader_ver
    put(0x227, 'B', 0)                  # ext_loader_type
    put(0x228, 'I', 0)                  # cmd_line_ptr: the loader's
    put(0x22c, 'I', 0x7fffffff)         # initrd_addr_max
    put(0x230, 'I', 0x100000)           # kernel_alignment
    put(0x234, 'B', 0)                  # relocatable_kernel: no
    put(0x235, 'B', 12)                 # min_alignment
    put(0x236, 'H', 0x0001)             # xloadflags: XLF_KERNEL_64
    put(0x238, 'I', 2047)               # cmdline_size
    put(0x23c, 'I', 0)                  # hardware_subarch: PC
    put(0x240, 'Q', 0)                  # hardware_subarch_data
    put(0x248, 'I', 0)                  # payload_offset
    put(0x24c, 'I', 0)                  # payload_length
    put(0x250, 'Q', 0)                  # setup_data
    put(0x258, 'Q', LOAD_ADDR)          # pref_address
    put(0x260, 'I', init_size)          # init_size
    put(0x264, 'I', 0)                  # handover_offset: no EFI
    # setup code: near jump from the end of the header to 0x1000
    setup[HEADER_END] = 0xe9
    put(HEADER_END + 1, 'H', SETUP_CODE_OFFSET - (HEADER_END + 3))

    with open(args.output, 'wb') as f:
        f.write(setup)
        f.write(kernel)


if __name__ == '__main__':
    main()

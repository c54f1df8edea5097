/*
 * bzimage: direct boot of a bzImage through the Linux x86 boot protocol.
 * The payload is wrapped by mkbzimage.py and booted with
 *   -kernel bzimage.bzImage -append BZIMAGE_CMDLINE -initrd initrd.bin -m 256M
 * and checks, from the zero page (struct boot_params) it was handed:
 *
 *   - it came in through a Linux boot protocol entry (64-bit at +0x200 for
 *     kvmpc's direct boot, 32-bit at +0 after the real-mode setup code)
 *   - the setup header the loader copied: boot flag, "HdrS", version,
 *     LOADED_HIGH; the loader's own fields: type_of_loader, cmd_line_ptr,
 *     ramdisk_image / ramdisk_size; sentinel 0
 *   - the command line equals BZIMAGE_CMDLINE
 *   - the initrd holds exactly the generated test data, page aligned,
 *     in RAM, below initrd_addr_max, clear of the kernel
 *   - the e820 table: entries sorted, none overlapping, RAM at 0 below
 *     640 KiB, nothing usable in 0xa0000-0xfffff, RAM from 1 MiB up to the
 *     -m size (ram_mb= in the command line), the kernel inside RAM
 */
#include "guest.h"
#include "bootproto.h"

#ifndef BZIMAGE_CMDLINE
#error "BZIMAGE_CMDLINE (the -append string the test passes) must be defined"
#endif
#ifndef TEST_INITRD_SIZE
#error "TEST_INITRD_SIZE (the size of the generated initrd) must be defined"
#endif

#define MIB (1ull << 20)

static const uint8_t *bp;

static uint8_t u8(unsigned off) { return bp[off]; }
static uint16_t u16(unsigned off) { return *(const uint16_t *)(bp + off); }
static uint32_t u32(unsigned off) { return *(const uint32_t *)(bp + off); }

static bool in_ram(uint64_t start, uint64_t end)
{
    for (int i = 0; i < boot.nr_mem; i++)
        if (boot.mem[i].type == E820_RAM && boot.mem[i].base <= start &&
            boot.mem[i].base + boot.mem[i].len >= end)
            return true;
    return false;
}

static void check_header(void)
{
    report(u16(HDR_BOOT_FLAG) == 0xaa55, "boot_flag 0xaa55 (0x%04x)", u16(HDR_BOOT_FLAG));
    report(u32(HDR_HEADER) == HDR_MAGIC, "header magic HdrS (0x%08x)", u32(HDR_HEADER));
    report(u16(HDR_VERSION) == 0x020c, "protocol version 2.12 as built (0x%04x)", u16(HDR_VERSION));
    report(u8(HDR_TYPE_OF_LOADER) != 0, "type_of_loader set by the loader (0x%02x)", u8(HDR_TYPE_OF_LOADER));
    report(u8(HDR_LOADFLAGS) & LOADFLAG_LOADED_HIGH, "loadflags LOADED_HIGH (0x%02x)", u8(HDR_LOADFLAGS));
    report(u16(HDR_XLOADFLAGS) & XLF_KERNEL_64, "xloadflags XLF_KERNEL_64 (0x%04x)", u16(HDR_XLOADFLAGS));
    report(u32(HDR_CODE32_START) == PAYLOAD_LOAD_ADDR, "code32_start 0x%x", u32(HDR_CODE32_START));
    report(u8(BP_SENTINEL) == 0, "sentinel byte 0 (0x%02x)", u8(BP_SENTINEL));
}

static void check_cmdline(void)
{
    uint64_t ptr = u32(HDR_CMD_LINE_PTR) | (uint64_t)u32(BP_EXT_CMD_LINE_PTR) << 32;
    report(ptr != 0, "cmd_line_ptr set (0x%lx)", (unsigned long)ptr);
    if (!ptr)
        return;
    const char *s = (const char *)ptr;
    report(!strcmp(s, BZIMAGE_CMDLINE), "command line is \"%s\" (got \"%s\")", BZIMAGE_CMDLINE, s);
    report(ptr >= (uint64_t)_end || ptr + strlen(s) + 1 <= (uint64_t)__image_start,
           "command line clear of the kernel");
}

static void check_initrd(void)
{
    uint64_t img = u32(HDR_RAMDISK_IMAGE) | (uint64_t)u32(BP_EXT_RAMDISK_IMAGE) << 32;
    uint64_t size = u32(HDR_RAMDISK_SIZE) | (uint64_t)u32(BP_EXT_RAMDISK_SIZE) << 32;
    report(img != 0 && size == TEST_INITRD_SIZE, "ramdisk_image 0x%lx, ramdisk_size %lu (want %u)",
           (unsigned long)img, (unsigned long)size, TEST_INITRD_SIZE);
    if (!img || !size)
        return;
    report((img & 0xfff) == 0, "initrd page aligned");
    report(in_ram(img, img + size), "initrd inside a RAM range of the e820 table");
    report(img + size - 1 <= u32(HDR_INITRD_ADDR_MAX), "initrd below initrd_addr_max (0x%x)",
           u32(HDR_INITRD_ADDR_MAX));
    uint64_t kend = PAYLOAD_LOAD_ADDR + u32(HDR_INIT_SIZE);
    report(img >= kend || img + size <= PAYLOAD_LOAD_ADDR, "initrd clear of the kernel (0x%x-0x%lx)",
           PAYLOAD_LOAD_ADDR, (unsigned long)kend);
    size_t good = testdata_check((const void *)img, size);
    report(good == size, "initrd content matches the generated data (%zu of %lu bytes)", good, (unsigned long)size);
}

static void check_e820(void)
{
    unsigned n = u8(BP_E820_ENTRIES);
    report(n > 0 && n <= BP_E820_MAX, "e820_entries %u", n);
    const struct boot_e820_entry *e = (const void *)(bp + BP_E820_TABLE);
    bool sorted = true, overlap = false, hole_clean = true;
    uint64_t low_end = 0, mid_end = 0, total = 0;
    for (unsigned i = 0; i < n && i < BP_E820_MAX; i++) {
        printf("  e820 0x%012lx-0x%012lx type %u\n", (unsigned long)e[i].addr,
               (unsigned long)(e[i].addr + e[i].size), e[i].type);
        if (i && e[i].addr < e[i - 1].addr)
            sorted = false;
        if (i && e[i].addr < e[i - 1].addr + e[i - 1].size)
            overlap = true;
        if (e[i].type != E820_RAM)
            continue;
        uint64_t b = e[i].addr, end = b + e[i].size;
        total += e[i].size;
        if (b == 0)
            low_end = end;
        if (b == MIB)
            mid_end = end;
        if (b < 0x100000 && end > 0xa0000)
            hole_clean = false;
    }
    report(sorted, "e820 entries sorted by address");
    report(!overlap, "e820 entries do not overlap");
    report(low_end >= 512 * 1024 && low_end <= 0xa0000, "RAM from 0 up to 640 KiB at most (0x%lx)",
           (unsigned long)low_end);
    report(hole_clean, "nothing usable in 0xa0000-0xfffff");
    uint64_t ram = (uint64_t)cmdline_get_int("ram_mb", 0) * MIB;
    report(ram && mid_end > MIB && mid_end <= ram && mid_end + 16 * MIB >= ram,
           "RAM from 1 MiB to the -m size (0x%lx, -m %lu MiB)", (unsigned long)mid_end, (unsigned long)(ram / MIB));
    report(total <= ram && total + 16 * MIB >= ram, "usable RAM %lu KiB, -m %lu KiB",
           (unsigned long)(total >> 10), (unsigned long)(ram >> 10));
    report(in_ram(PAYLOAD_LOAD_ADDR, (uint64_t)_end), "kernel image 0x%x-0x%lx inside RAM",
           PAYLOAD_LOAD_ADDR, (unsigned long)_end);
}

int main(void)
{
    report_prefix("bzimage");
    bool linux_entry = boot.protocol == BOOT_LINUX32 || boot.protocol == BOOT_LINUX64;
    report(linux_entry, "entered through the Linux boot protocol (%s entry)", boot_protocol_name(boot.protocol));
    if (!linux_entry)
        report_summary();
    bp = (const uint8_t *)boot.raw;
    report(boot.raw && (boot.raw >= (uint64_t)_end || boot.raw + 4096 <= (uint64_t)__image_start),
           "zero page at 0x%lx, clear of the kernel", (unsigned long)boot.raw);
    check_header();
    check_cmdline();
    check_initrd();
    check_e820();
    report_summary();
}

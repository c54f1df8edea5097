/*
 * mbinfo: the Multiboot v1 loader itself.  Built twice, as an ELF and as
 * a flat binary with the a.out kludge (load addresses in the header), and
 * booted with
 *   -kernel mbinfo.elf|mbinfo-aout.bin -append MBINFO_CMDLINE -initrd initrd.bin
 * Checks: EAX magic, the info flags the runtime relies on (memory,
 * command line, memory map), the command line (the kernel path, then the
 * -append string), the module (-initrd): page aligned as the header asks,
 * its content, its string; and that the image was loaded where it was
 * linked, .data intact.
 */
#include "guest.h"
#include "bootproto.h"

#ifndef MBINFO_CMDLINE
#error "MBINFO_CMDLINE (the -append string the test passes) must be defined"
#endif
#ifndef TEST_INITRD_SIZE
#error "TEST_INITRD_SIZE (the size of the generated module) must be defined"
#endif

/* A .data pattern: the loader must have copied it from the file. */
static volatile uint32_t data_pattern[64] = {
#define P4(n) 0x9e3779b9u * (n), 0x9e3779b9u * (n + 1), 0x9e3779b9u * (n + 2), 0x9e3779b9u * (n + 3)
    P4(0), P4(4), P4(8), P4(12), P4(16), P4(20), P4(24), P4(28),
    P4(32), P4(36), P4(40), P4(44), P4(48), P4(52), P4(56), P4(60),
};

int main(void)
{
    report_prefix("multiboot");
    report(boot.protocol == BOOT_MULTIBOOT, "entered through the Multiboot entry");
    report(boot.mb_magic == MULTIBOOT_BOOTLOADER_MAGIC, "EAX holds 0x2badb002 (0x%08x)", boot.mb_magic);
    if (boot.protocol != BOOT_MULTIBOOT || !boot.raw)
        report_summary();

    const struct multiboot_info *mbi = (const void *)boot.raw;
    report_info("info at 0x%lx, flags 0x%x", (unsigned long)boot.raw, mbi->flags);
    report(mbi->flags & MBI_FLAG_MEM, "flags: mem_lower/mem_upper (%u KiB, %u KiB)", mbi->mem_lower, mbi->mem_upper);
    report(mbi->flags & MBI_FLAG_CMDLINE, "flags: command line");
    report(mbi->flags & MBI_FLAG_MMAP, "flags: memory map (%u bytes at 0x%x)", mbi->mmap_length, mbi->mmap_addr);
    if (mbi->flags & MBI_FLAG_LOADER)
        report_info("boot loader name \"%s\"", (const char *)(uint64_t)mbi->boot_loader_name);
    report(boot.raw >= (uint64_t)_end || boot.raw + sizeof(*mbi) <= (uint64_t)__image_start,
           "info structure clear of the image");

    /* "path/to/kernel ARGS": the -append string follows the first word */
    const char *sp = strchr(boot.cmdline, ' ');
    report(sp && !strcmp(sp + 1, MBINFO_CMDLINE), "command line ends with \"%s\" (\"%s\")",
           MBINFO_CMDLINE, boot.cmdline);

    report(mbi->flags & MBI_FLAG_MODS, "flags: modules");
    report(boot.nr_mods == 1, "one module (mods_count %u)", (mbi->flags & MBI_FLAG_MODS) ? mbi->mods_count : 0);
    if (boot.nr_mods >= 1) {
        const struct boot_module *m = &boot.mods[0];
        uint64_t size = m->end - m->start;
        report((m->start & 0xfff) == 0, "module page aligned (0x%lx)", (unsigned long)m->start);
        report(size == TEST_INITRD_SIZE, "module size %lu (want %u)", (unsigned long)size, TEST_INITRD_SIZE);
        size_t good = testdata_check((const void *)m->start, size);
        report(good == size, "module holds the generated data (%zu bytes match)", good);
        report(m->string[0] != 0, "module string \"%s\"", m->string);
        report(m->start >= (uint64_t)_end || m->end <= (uint64_t)__image_start, "module clear of the image");
    }

    report((uint64_t)__image_start == PAYLOAD_LOAD_ADDR, "image linked and loaded at 0x%lx",
           (unsigned long)__image_start);
    bool data_ok = true;
    for (unsigned i = 0; i < 64; i++)
        if (data_pattern[i] != 0x9e3779b9u * i)
            data_ok = false;
    report(data_ok, ".data loaded intact");
    report_summary();
}

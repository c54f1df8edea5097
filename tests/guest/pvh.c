/*
 * pvh: direct boot through the Xen PVH entry (ELF note
 * XEN_ELFNOTE_PHYS32_ENTRY).  Booted with
 *   -kernel pvh.elf -append PVH_CMDLINE -initrd initrd.bin -m 256M
 * and checks struct hvm_start_info (EBX at entry): magic, version, the
 * command line, the memory map (version >= 1) and the initrd module.
 */
#include "guest.h"
#include "bootproto.h"

#ifndef PVH_CMDLINE
#error "PVH_CMDLINE (the -append string the test passes) must be defined"
#endif
#ifndef TEST_INITRD_SIZE
#error "TEST_INITRD_SIZE (the size of the generated initrd) must be defined"
#endif

#define MIB (1ull << 20)

int main(void)
{
    report_prefix("pvh");
    report(boot.protocol == BOOT_PVH, "entered through the PVH entry (%s)", boot_protocol_name(boot.protocol));
    if (boot.protocol != BOOT_PVH)
        report_summary();
    const struct hvm_start_info *si = (const void *)boot.raw;
    report(boot.raw && (boot.raw >= (uint64_t)_end || boot.raw + sizeof(*si) <= (uint64_t)__image_start),
           "start info at 0x%lx, clear of the kernel", (unsigned long)boot.raw);
    report(si->magic == HVM_START_MAGIC, "magic 0x%08x", si->magic);
    report(si->version >= 1, "version %u (1 or later has the memory map)", si->version);
    if (si->magic != HVM_START_MAGIC)
        report_summary();

    const char *cmd = (const char *)si->cmdline_paddr;
    report(cmd && !strcmp(cmd, PVH_CMDLINE), "command line is \"%s\" (got \"%s\")", PVH_CMDLINE, cmd ? cmd : "(none)");
    if (si->rsdp_paddr)
        report_info("rsdp_paddr 0x%lx", (unsigned long)si->rsdp_paddr);

    report(si->nr_modules == 1, "one module, the initrd (nr_modules %u)", si->nr_modules);
    if (si->nr_modules >= 1 && si->modlist_paddr) {
        const struct hvm_modlist_entry *m = (const void *)si->modlist_paddr;
        report(m[0].size == TEST_INITRD_SIZE, "module size %lu (want %u)", (unsigned long)m[0].size, TEST_INITRD_SIZE);
        size_t good = testdata_check((const void *)m[0].paddr, m[0].size);
        report(good == m[0].size, "module at 0x%lx holds the generated data (%zu bytes match)",
               (unsigned long)m[0].paddr, good);
        report(m[0].paddr >= (uint64_t)_end || m[0].paddr + m[0].size <= (uint64_t)__image_start,
               "module clear of the kernel");
    }

    if (si->version >= 1) {
        const struct hvm_memmap_table_entry *e = (const void *)si->memmap_paddr;
        uint32_t n = si->memmap_entries;
        report(n > 0 && si->memmap_paddr, "memory map: %u entries at 0x%lx", n, (unsigned long)si->memmap_paddr);
        bool overlap = false, hole_clean = true;
        uint64_t low_end = 0, mid_end = 0, total = 0;
        for (uint32_t i = 0; i < n; i++) {
            printf("  0x%012lx-0x%012lx type %u\n", (unsigned long)e[i].addr,
                   (unsigned long)(e[i].addr + e[i].size), e[i].type);
            for (uint32_t j = 0; j < i; j++)
                if (e[i].addr < e[j].addr + e[j].size && e[j].addr < e[i].addr + e[i].size)
                    overlap = true;
            if (e[i].type != E820_RAM)
                continue;
            total += e[i].size;
            if (e[i].addr == 0)
                low_end = e[i].addr + e[i].size;
            if (e[i].addr == MIB)
                mid_end = e[i].addr + e[i].size;
            if (e[i].addr < 0x100000 && e[i].addr + e[i].size > 0xa0000)
                hole_clean = false;
        }
        uint64_t ram = (uint64_t)cmdline_get_int("ram_mb", 0) * MIB;
        report(!overlap, "memory map entries do not overlap");
        report(low_end >= 512 * 1024 && low_end <= 0xa0000, "RAM from 0 up to 640 KiB at most (0x%lx)",
               (unsigned long)low_end);
        report(hole_clean, "nothing usable in 0xa0000-0xfffff");
        report(ram && mid_end > MIB && mid_end <= ram && mid_end + 16 * MIB >= ram,
               "RAM from 1 MiB to the -m size (0x%lx)", (unsigned long)mid_end);
        report(total <= ram && total + 16 * MIB >= ram, "usable RAM %lu KiB, -m %lu KiB",
               (unsigned long)(total >> 10), (unsigned long)(ram >> 10));
    }
    report_summary();
}

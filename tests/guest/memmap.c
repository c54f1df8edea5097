/*
 * memmap: the memory map the loader reports, and the RAM behind it.
 * Run with -m SIZE and -append ram_mb=SIZE_IN_MIB (e.g. 256, or 3584 to
 * cross the PCI hole: RAM continues at 4 GiB).
 *
 *   - entries sorted or not, none overlap, none empty
 *   - RAM at 0 up to at most 640 KiB; nothing usable in 0xa0000-0xfffff;
 *     RAM from 1 MiB; RAM above 4 GiB exactly when the size needs it;
 *     total usable RAM a little under the -m size (firmware may reserve a
 *     few pages) and never above it
 *   - Multiboot mem_lower / mem_upper agree with the map
 *   - patterns written at the start, middle and end of every RAM range
 *     read back (all written before any is checked, so aliasing shows),
 *     plus 8 MiB blocks below and above 4 GiB
 */
#include "guest.h"
#include "bootproto.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)
#define SLACK (16 * MIB)            /* what firmware may keep for itself */

struct point {
    uint64_t addr;
    uint64_t saved[8];
};

static struct point points[3 * BOOT_MAX_MEM];
static int npoints;

static uint64_t pattern(uint64_t addr, int i)
{
    return (addr + 8 * (uint64_t)i) * 0x9e3779b97f4a7c15ull ^ 0x5a5aa5a5c3c33c3cull;
}

static void add_point(uint64_t a)
{
    a &= ~63ull;
    if (boot_range_in_use(a, a + 64))
        return;
    for (int i = 0; i < npoints; i++)
        if (points[i].addr == a)
            return;
    points[npoints++].addr = a;
}

static void sort_mem(struct mem_range *m, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && m[j].base < m[j - 1].base; j--) {
            struct mem_range t = m[j];
            m[j] = m[j - 1];
            m[j - 1] = t;
        }
}

static bool bulk(uint64_t start, uint64_t len)
{
    volatile uint64_t *p = (volatile uint64_t *)start;
    size_t n = len / 8;
    for (size_t i = 0; i < n; i++)
        p[i] = pattern(start, (int)i);
    for (size_t i = 0; i < n; i++)
        if (p[i] != pattern(start, (int)i)) {
            report_info("mismatch at 0x%lx", (unsigned long)(start + 8 * i));
            return false;
        }
    return true;
}

static bool range_free_ram(const struct mem_range *m, int n, uint64_t start, uint64_t len)
{
    if (boot_range_in_use(start, start + len))
        return false;
    for (int i = 0; i < n; i++)
        if (m[i].type == E820_RAM && m[i].base <= start && m[i].base + m[i].len >= start + len)
            return true;
    return false;
}

int main(void)
{
    report_prefix("memmap");
    uint64_t ram = (uint64_t)cmdline_get_int("ram_mb", 0) * MIB;
    if (!ram) {
        report(false, "command line gives the RAM size (ram_mb=N)");
        report_summary();
    }
    int n = boot.nr_mem;
    report(n > 0, "loader provides a memory map (%d entries)", n);
    if (!n)
        report_summary();

    static struct mem_range m[BOOT_MAX_MEM];
    memcpy(m, boot.mem, sizeof(m[0]) * (size_t)n);
    sort_mem(m, n);
    for (int i = 0; i < n; i++)
        printf("  0x%012lx-0x%012lx type %u\n", (unsigned long)m[i].base,
               (unsigned long)(m[i].base + m[i].len), m[i].type);

    bool overlap = false, empty = false;
    for (int i = 0; i < n; i++) {
        if (!m[i].len)
            empty = true;
        if (i && m[i].base < m[i - 1].base + m[i - 1].len)
            overlap = true;
    }
    report(!overlap, "no two entries overlap");
    report(!empty, "no empty entries");

    uint64_t low_end = 0, mid_end = 0, high_start = 0, high_end = 0, total = 0;
    bool hole_clean = true, below_4g_past_hole = false;
    for (int i = 0; i < n; i++) {
        if (m[i].type != E820_RAM)
            continue;
        uint64_t b = m[i].base, e = b + m[i].len;
        total += m[i].len;
        if (b == 0)
            low_end = e;
        if (b == MIB)
            mid_end = e;
        if (b < 0x100000 && e > 0xa0000)
            hole_clean = false;
        if (b >= 4 * GIB) {
            if (!high_start || b < high_start)
                high_start = b;
            if (e > high_end)
                high_end = e;
        }
        if (b > MIB && b < 4 * GIB)
            below_4g_past_hole = true;
    }
    report(low_end >= 512 * 1024 && low_end <= 0xa0000, "RAM from 0 up to 640 KiB at most (ends at 0x%lx)",
           (unsigned long)low_end);
    report(hole_clean, "nothing usable in 0xa0000-0xfffff");
    report(mid_end > MIB, "RAM from 1 MiB (to 0x%lx)", (unsigned long)mid_end);
    report(!below_4g_past_hole, "one RAM range from 1 MiB below 4 GiB");
    report(total <= ram && total + SLACK >= ram, "usable RAM %lu KiB: at most -m (%lu KiB), less by under %llu MiB",
           (unsigned long)(total >> 10), (unsigned long)(ram >> 10), SLACK / MIB);
    if (ram <= 2 * GIB) {
        report(!high_end, "no RAM above 4 GiB for -m %lu MiB", (unsigned long)(ram / MIB));
        report(mid_end + SLACK >= ram && mid_end <= ram, "RAM top 0x%lx matches -m", (unsigned long)mid_end);
    } else if (high_end) {
        uint64_t high = high_end - high_start;
        report(high_start == 4 * GIB, "RAM above the PCI hole starts at 4 GiB (0x%lx)", (unsigned long)high_start);
        report(mid_end + high <= ram && mid_end + high + SLACK >= ram,
               "RAM top 0x%lx: %lu MiB below 4 GiB + %lu MiB above = -m", (unsigned long)high_end,
               (unsigned long)(mid_end / MIB), (unsigned long)(high / MIB));
    } else {
        report(mid_end + SLACK >= ram && mid_end <= ram && mid_end <= 4 * GIB,
               "all %lu MiB below 4 GiB (RAM top 0x%lx)", (unsigned long)(ram / MIB), (unsigned long)mid_end);
    }

    if (boot.protocol == BOOT_MULTIBOOT) {
        const struct multiboot_info *mbi = (const void *)boot.raw;
        if (mbi->flags & MBI_FLAG_MEM) {
            uint64_t lower = (uint64_t)mbi->mem_lower << 10, upper_end = MIB + ((uint64_t)mbi->mem_upper << 10);
            report(lower <= low_end && lower + 1024 > low_end, "multiboot mem_lower %u KiB matches the map",
                   mbi->mem_lower);
            report(upper_end >= mid_end && upper_end <= mid_end + SLACK,
                   "multiboot mem_upper %u KiB matches the map (0x%lx)", mbi->mem_upper, (unsigned long)mid_end);
        } else {
            report(false, "multiboot info has mem_lower/mem_upper (flags 0x%x)", mbi->flags);
        }
    }

    /* Patterns: map everything, pick points, write all, check all, restore. */
    uint64_t top = high_end ? high_end : mid_end;
    report(paging_map_up_to(top), "RAM up to 0x%lx mapped", (unsigned long)top);
    for (int i = 0; i < n; i++) {
        if (m[i].type != E820_RAM || m[i].len < 4096 || m[i].base + m[i].len > top)
            continue;
        uint64_t b = (m[i].base + 63) & ~63ull, e = m[i].base + m[i].len;
        add_point(b);
        add_point(b + (e - b) / 2);
        add_point(e - 64);
    }
    for (int i = 0; i < npoints; i++) {
        volatile uint64_t *p = (volatile uint64_t *)points[i].addr;
        for (int j = 0; j < 8; j++) {
            points[i].saved[j] = p[j];
            p[j] = pattern(points[i].addr, j);
        }
    }
    int bad = 0;
    for (int i = 0; i < npoints; i++) {
        volatile uint64_t *p = (volatile uint64_t *)points[i].addr;
        for (int j = 0; j < 8; j++) {
            if (p[j] != pattern(points[i].addr, j)) {
                if (!bad)
                    report_info("pattern mismatch at 0x%lx", (unsigned long)(points[i].addr + 8 * j));
                bad++;
            }
            p[j] = points[i].saved[j];
        }
    }
    report(npoints > 0 && !bad, "patterns at %d points (start, middle, end of each RAM range) read back", npoints);

    uint64_t blk = 8 * MIB;
    uint64_t lo = 32 * MIB;
    if (range_free_ram(m, n, lo, blk))
        report(bulk(lo, blk), "8 MiB at 0x%lx written and read back", (unsigned long)lo);
    else
        report_skip("no free 8 MiB at 0x%lx", (unsigned long)lo);
    if (high_end) {
        uint64_t hi = high_end - blk;
        if (range_free_ram(m, n, hi, blk))
            report(bulk(hi, blk), "8 MiB at 0x%lx (above 4 GiB) written and read back", (unsigned long)hi);
        else
            report_skip("no free 8 MiB at 0x%lx", (unsigned long)hi);
    }
    report_summary();
}

/*
 * "x/FMT ADDR" (guest-virtual) and "xp/FMT ADDR" (guest-physical) memory
 * dumps, in QEMU's output format.
 *
 * FMT is [count][format][size]: format x (hex, default), d (signed), u
 * (unsigned), o (octal), c (char); size b/h/w/g (1/2/4/8 bytes).  Like
 * QEMU, the last format and size are remembered per monitor.  ADDR is a
 * number (0x hex, 0 octal, decimal) or a sum/difference of numbers.
 *
 * Virtual addresses are translated by walking the guest's page tables
 * (32-bit, PAE, 4- and 5-level) from the selected vCPU's CR0/CR3/CR4/
 * EFER; with paging off, virtual equals physical.
 */
#include "qemu/osdep.h"
#include "monitor/cpu-info.h"
#include "system/memory.h"
#include "hmp.h"

#define DUMP_MAX_BYTES (1 * MiB)    /* a typo must not flood the terminal */

#define CR0_PG   (1ULL << 31)
#define CR4_PSE  (1ULL << 4)
#define CR4_PAE  (1ULL << 5)
#define CR4_LA57 (1ULL << 12)
#define EFER_LMA (1ULL << 10)
#define PTE_P    (1ULL << 0)
#define PTE_PS   (1ULL << 7)
#define PTE_ADDR 0x000ffffffffff000ULL

typedef struct DumpFormat {
    int count;
    char format;
    int size;
} DumpFormat;

/* ---- parsing -------------------------------------------------------- */

static bool parse_format(Monitor *mon, const char **pp, DumpFormat *f)
{
    const char *p = *pp;
    int size = -1;
    char format = 0;

    f->count = 1;
    if (*p == '/') {
        p++;
        if (g_ascii_isdigit(*p)) {
            f->count = 0;
            while (g_ascii_isdigit(*p)) {
                int digit = *p++ - '0';
                f->count = MIN(f->count * 10 + digit, 1 << 24);
            }
        }
        for (;; p++) {
            switch (*p) {
            case 'o': case 'd': case 'u': case 'x': case 'c': case 'i':
                format = *p;
                continue;
            case 'b': size = 1; continue;
            case 'h': size = 2; continue;
            case 'w': size = 4; continue;
            case 'g': case 'L': size = 8; continue;
            }
            break;
        }
        if (*p && !g_ascii_isspace(*p)) {
            monitor_printf(mon, "invalid char in format: '%c'\n", *p);
            return false;
        }
    }
    f->format = format ? format : mon->last_format;
    f->size = size > 0 ? size : mon->last_size;
    if (f->format == 'i') {
        monitor_printf(mon, "format 'i' (disassembly) is not supported\n");
        return false;
    }
    mon->last_format = f->format;
    mon->last_size = f->size;
    *pp = p;
    return true;
}

static bool parse_number(const char **pp, uint64_t *out)
{
    char *end;

    errno = 0;
    *out = g_ascii_strtoull(*pp, &end, 0);
    if (end == *pp || errno) {
        return false;
    }
    *pp = end;
    return true;
}

static const char *skip_spaces(const char *p)
{
    while (g_ascii_isspace(*p)) {
        p++;
    }
    return p;
}

/* [-]number (('+'|'-') number)*, spaces allowed around the operators. */
static bool parse_address(Monitor *mon, const char *p, uint64_t *out)
{
    uint64_t total = 0, v;
    bool first = true;

    for (;;) {
        bool minus = false;

        p = skip_spaces(p);
        if (!first && !*p) {
            break;
        }
        if (*p == '-' || (*p == '+' && !first)) {
            minus = *p++ == '-';
            p = skip_spaces(p);
        } else if (!first) {
            monitor_printf(mon, "invalid char in expression: '%c'\n", *p);
            return false;
        }
        if (!*p) {
            monitor_printf(mon, "missing address\n");
            return false;
        }
        if (!parse_number(&p, &v)) {
            monitor_printf(mon, "invalid char in expression: '%c'\n", *p);
            return false;
        }
        total += minus ? -v : v;
        first = false;
    }
    *out = total;
    return true;
}

/* ---- guest memory --------------------------------------------------- */

static bool phys_read(uint64_t addr, void *buf, uint64_t len)
{
    return address_space_read(&address_space_memory, addr, buf, len) ==
           MEMTX_OK;
}

static bool read_pte(uint64_t addr, bool wide, uint64_t *out)
{
    uint8_t b[8];

    if (!phys_read(addr, b, wide ? 8 : 4)) {
        return false;
    }
    *out = wide ? ldq_le_p(b) : ldl_le_p(b);
    return (*out & PTE_P) != 0;
}

/* 4- or 5-level long-mode paging. */
static bool walk_long(const MonitorCpuPaging *c, uint64_t va, uint64_t *pa)
{
    int levels = (c->cr4 & CR4_LA57) ? 5 : 4;
    uint64_t table = c->cr3 & PTE_ADDR, e;

    for (int level = levels; level >= 1; level--) {
        int shift = 12 + 9 * (level - 1);
        if (!read_pte(table + ((va >> shift) & 511) * 8, true, &e)) {
            return false;
        }
        if ((level == 2 || level == 3) && (e & PTE_PS)) {
            uint64_t mask = (1ULL << shift) - 1;
            *pa = ((e & PTE_ADDR) & ~mask) | (va & mask);
            return true;
        }
        table = e & PTE_ADDR;
    }
    *pa = table | (va & 0xfff);
    return true;
}

static bool walk_pae(const MonitorCpuPaging *c, uint32_t va, uint64_t *pa)
{
    uint64_t e;

    if (!read_pte((c->cr3 & 0xffffffe0) + ((va >> 30) & 3) * 8, true, &e) ||
        !read_pte((e & PTE_ADDR) + ((va >> 21) & 511) * 8, true, &e)) {
        return false;
    }
    if (e & PTE_PS) {
        *pa = (e & PTE_ADDR & ~0x1fffffULL) | (va & 0x1fffff);
        return true;
    }
    if (!read_pte((e & PTE_ADDR) + ((va >> 12) & 511) * 8, true, &e)) {
        return false;
    }
    *pa = (e & PTE_ADDR) | (va & 0xfff);
    return true;
}

static bool walk_legacy(const MonitorCpuPaging *c, uint32_t va, uint64_t *pa)
{
    uint64_t e;

    if (!read_pte((c->cr3 & 0xfffff000) + (va >> 22) * 4, false, &e)) {
        return false;
    }
    if ((e & PTE_PS) && (c->cr4 & CR4_PSE)) {
        /* 4 MiB page; PSE-36 puts address bits 32-39 in bits 13-20. */
        *pa = (e & 0xffc00000) | ((e & 0x1fe000) << 19) | (va & 0x3fffff);
        return true;
    }
    if (!read_pte((e & 0xfffff000) + ((va >> 12) & 1023) * 4, false, &e)) {
        return false;
    }
    *pa = (e & 0xfffff000) | (va & 0xfff);
    return true;
}

static bool translate(const MonitorCpuPaging *c, uint64_t va, uint64_t *pa)
{
    if (!(c->cr0 & CR0_PG)) {
        *pa = va;
        return true;
    }
    if (c->efer & EFER_LMA) {
        return walk_long(c, va, pa);
    }
    return (c->cr4 & CR4_PAE) ? walk_pae(c, va, pa) : walk_legacy(c, va, pa);
}

/* Read guest memory, translating page by page when @paging is set. */
static bool guest_read(const MonitorCpuPaging *paging, uint64_t addr,
                       uint8_t *buf, int len)
{
    while (len > 0) {
        uint64_t pa = addr;
        int chunk = MIN(len, (int)(4096 - (addr & 4095)));

        if (paging && !translate(paging, addr, &pa)) {
            return false;
        }
        if (!phys_read(pa, buf, chunk)) {
            return false;
        }
        addr += chunk;
        buf += chunk;
        len -= chunk;
    }
    return true;
}

/* ---- output --------------------------------------------------------- */

static void print_char(Monitor *mon, unsigned c)
{
    switch (c) {
    case '\'': monitor_printf(mon, "'\\''"); break;
    case '\\': monitor_printf(mon, "'\\\\'"); break;
    case '\n': monitor_printf(mon, "'\\n'"); break;
    case '\r': monitor_printf(mon, "'\\r'"); break;
    default:
        if (c >= 32 && c <= 126) {
            monitor_printf(mon, "'%c'", c);
        } else {
            monitor_printf(mon, "'\\x%02x'", c);
        }
        break;
    }
}

static uint64_t load(const uint8_t *p, int size)
{
    switch (size) {
    case 1: return p[0];
    case 2: return lduw_le_p(p);
    case 4: return ldl_le_p(p);
    default: return ldq_le_p(p);
    }
}

static int64_t sign_extend(uint64_t v, int size)
{
    int bits = size * 8;
    return bits == 64 ? (int64_t)v : (int64_t)(v << (64 - bits)) >> (64 - bits);
}

static void print_value(Monitor *mon, const DumpFormat *f, uint64_t v)
{
    int bits = f->size * 8;

    monitor_printf(mon, " ");
    switch (f->format) {
    case 'o':
        monitor_printf(mon, "%#*" PRIo64, (bits + 2) / 3, v);
        break;
    case 'u':
        monitor_printf(mon, "%*" PRIu64, (bits * 10 + 32) / 33, v);
        break;
    case 'd':
        monitor_printf(mon, "%*" PRId64, (bits * 10 + 32) / 33,
                       sign_extend(v, f->size));
        break;
    case 'c':
        print_char(mon, v);
        break;
    default:
        monitor_printf(mon, "0x%0*" PRIx64, bits / 4, v);
        break;
    }
}

static void memory_dump(Monitor *mon, DumpFormat *f, uint64_t addr,
                        const MonitorCpuPaging *paging)
{
    int64_t len;
    int line_size;

    if (f->format == 'c') {
        f->size = 1;
    }
    len = MIN((int64_t)f->count * f->size, (int64_t)DUMP_MAX_BYTES);
    line_size = f->size == 1 ? 8 : 16;
    while (len > 0) {
        uint8_t buf[16];
        int l = MIN(len, (int64_t)line_size);

        monitor_printf(mon, "%016" PRIx64 ":", addr);
        if (!guest_read(paging, addr, buf, l)) {
            monitor_printf(mon, " Cannot access memory\n");
            return;
        }
        for (int i = 0; i + f->size <= l; i += f->size) {
            print_value(mon, f, load(buf + i, f->size));
        }
        monitor_printf(mon, "\n");
        addr += l;
        len -= l;
    }
}

static void hmp_dump(Monitor *mon, const char *args, bool physical)
{
    DumpFormat f;
    MonitorCpuPaging paging;
    GError *err = NULL;
    uint64_t addr;

    while (g_ascii_isspace(*args)) {
        args++;
    }
    if (!parse_format(mon, &args, &f) || !parse_address(mon, args, &addr)) {
        return;
    }
    if (physical) {
        memory_dump(mon, &f, addr, NULL);
        return;
    }
    if (!monitor_cpu_get_paging(mon->cpu_index, &paging, &err)) {
        monitor_printf(mon, "%s\n", err->message);
        g_error_free(err);
        return;
    }
    memory_dump(mon, &f, addr, &paging);
}

void hmp_x(Monitor *mon, const char *args)
{
    hmp_dump(mon, args, false);
}

void hmp_xp(Monitor *mon, const char *args)
{
    hmp_dump(mon, args, true);
}

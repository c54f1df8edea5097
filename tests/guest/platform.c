/*
 * platform: the pc machine as an OS first meets it.
 *
 *   - PCI: configuration mechanism #1 (ports 0xcf8/0xcfc; PCI Local Bus
 *     3.0, 3.2.2.3.2); bus 0 enumerated; the i440FX host bridge (00.0,
 *     8086:1237, class 06/00), the PIIX3 ISA bridge (01.0, 8086:7000,
 *     class 06/01, multifunction) and PIIX4 power management (01.3,
 *     8086:7113, class 06/80)
 *   - ACPI (ACPI 6.4, 5.2): the RSDP found by the IA-PC scan (5.2.5.1:
 *     the EBDA's first KiB, then 0xe0000-0xfffff) and, where the boot
 *     protocol carries it, through PVH start_info.rsdp_paddr or Linux
 *     boot_params.acpi_rsdp_addr; checksums of the RSDP and every table
 *     of the RSDT/XSDT, none of them in usable RAM; FADT (5.2.9) -> DSDT
 *     and FACS, its PM blocks where PIIX4 PMBA says, the PM timer runs;
 *     MADT (5.2.12): one enabled Local APIC per CPU (cpus=N), the BSP's
 *     among them, the I/O APIC at 0xfec00000 with its ID, the overrides
 *     IRQ 0 -> GSI 2 and IRQ 9 level/active-high; the HPET table (IA-PC
 *     HPET 1.0a, 3.2.4) against the HPET's capabilities register
 *   - CMOS clock (MC146818A): UIP, register B's BCD/binary and 12/24-hour
 *     formats, fields in range, the FADT's century register, and the time
 *     advancing across a one-second wait
 *   - HPET interrupts (IA-PC HPET 1.0a, 2.3.8-2.3.9): a timer routed to
 *     an I/O APIC input its INT_ROUTE_CAP allows, periodic (edge),
 *     one-shot (edge) and one-shot level-triggered (status bit, cleared
 *     by the handler); legacy replacement (timer 0 -> IRQ 0: I/O APIC
 *     input 2 and the 8259)
 *
 * Command line: cpus=N, the CPUs the MADT must list (default 1);
 * rsdp=boot to require the RSDP's address from the boot protocol;
 * reset=1 to wipe the ACPI tables (E820_ACPI ranges) and the EBDA, reset
 * the machine through port 0xcf9 and run the checks after the reboot, so
 * the tables must have been put back (a marker in low RAM, which a reset
 * keeps, tells the two boots apart).
 *
 * The PIT also drives IRQ 0 / I/O APIC input 2, where the HPET's timers
 * go on the pc machine (INT_ROUTE_CAP 0x4), so it is silenced first and
 * the input checked quiet before any HPET timer runs.  No check depends
 * on absolute time: interrupt counts have generous bounds, measured
 * against the HPET's own main counter.
 */
#include "guest.h"
#include "bootproto.h"

#define VEC_HPET        0x50
#define VEC_HPET_LEVEL  0x51
#define VEC_PIC_IRQ0    (PIC_VECTOR_BASE + 0)

#define WANT            20              /* periodic interrupts to wait for */
#define TIMEOUT_US      3000000

static volatile uint32_t count;

/* Physical memory through the identity map (laundered, so GCC does not
 * treat low constant addresses such as the BDA's as null-pointer UB). */
static const void *phys(uint64_t a)
{
    asm("" : "+r"(a));
    return (const void *)(uintptr_t)a;
}

/* ======================================================================
 * PCI configuration mechanism #1
 * ====================================================================== */

#define PCI_ADDR        0xcf8
#define PCI_DATA        0xcfc

struct pci_fn { uint8_t dev, fn; uint16_t vendor, device; uint32_t class_rev; uint8_t hdr; };

static struct pci_fn pci_fns[64];
static int nr_pci_fns;

static uint32_t pci_read32(unsigned dev, unsigned fn, unsigned off)
{
    outl(PCI_ADDR, 0x80000000u | dev << 11 | fn << 8 | (off & 0xfc));
    return inl(PCI_DATA);
}

static const struct pci_fn *pci_find(unsigned dev, unsigned fn)
{
    for (int i = 0; i < nr_pci_fns; i++)
        if (pci_fns[i].dev == dev && pci_fns[i].fn == fn)
            return &pci_fns[i];
    return NULL;
}

static bool pci_probe(unsigned dev, unsigned fn)
{
    uint32_t id = pci_read32(dev, fn, 0);
    if ((id & 0xffff) == 0xffff || nr_pci_fns == (int)ARRAY_SIZE(pci_fns))
        return false;
    struct pci_fn *f = &pci_fns[nr_pci_fns++];
    f->dev = dev;
    f->fn = fn;
    f->vendor = id & 0xffff;
    f->device = id >> 16;
    f->class_rev = pci_read32(dev, fn, 8);
    f->hdr = pci_read32(dev, fn, 0x0c) >> 16;
    report_info("pci 00:%02x.%u %04x:%04x class %06x rev %02x header 0x%02x", dev, fn, f->vendor,
                f->device, f->class_rev >> 8, f->class_rev & 0xff, f->hdr);
    return true;
}

static void pci_enumerate(void)
{
    for (unsigned dev = 0; dev < 32; dev++) {
        if (!pci_probe(dev, 0))
            continue;
        if (pci_fns[nr_pci_fns - 1].hdr & 0x80)
            for (unsigned fn = 1; fn < 8; fn++)
                pci_probe(dev, fn);
    }
}

static void check_pci_fn(unsigned dev, unsigned fn, uint16_t device, uint32_t class, const char *what)
{
    const struct pci_fn *f = pci_find(dev, fn);
    report(f && f->vendor == 0x8086 && f->device == device,
           "%s at 00:%02x.%u is 8086:%04x (%04x:%04x)", what, dev, fn, device,
           f ? f->vendor : 0xffff, f ? f->device : 0xffff);
    report(f && (f->class_rev >> 8) == class, "%s class code %06x (%06x)", what, class,
           f ? f->class_rev >> 8 : 0);
}

static void test_pci(void)
{
    report_prefix("platform: pci");
    outl(PCI_ADDR, 0x80000000u);
    uint32_t back = inl(PCI_ADDR);
    report(back == 0x80000000u, "configuration mechanism #1: CONFIG_ADDRESS reads back (0x%08x)", back);
    pci_enumerate();
    report(nr_pci_fns >= 3, "bus 0 has functions (%d)", nr_pci_fns);
    check_pci_fn(0, 0, 0x1237, 0x060000, "i440FX host bridge");
    check_pci_fn(1, 0, 0x7000, 0x060100, "PIIX3 ISA bridge");
    check_pci_fn(1, 3, 0x7113, 0x068000, "PIIX4 power management");
    const struct pci_fn *isa = pci_find(1, 0);
    report(isa && (isa->hdr & 0x80), "ISA bridge is multifunction (header type 0x%02x)", isa ? isa->hdr : 0);
    unsigned absent = 31;
    while (absent > 2 && pci_find(absent, 0))
        absent--;
    uint32_t id = pci_read32(absent, 0, 0);
    report(id == 0xffffffff, "absent device 00:%02x.0 reads all-ones (0x%08x)", absent, id);
}

/* ======================================================================
 * ACPI
 * ====================================================================== */

struct acpi_hdr {
    char sig[4];
    uint32_t len;
    uint8_t rev, cksum;
    char oem[6], table[8];
    uint32_t oem_rev, creator, creator_rev;
} __attribute__((packed));

#define ACPI_HDR_LEN    36
#define ACPI_TABLE_MAX  (1u << 20)      /* sanity bound before summing */
#define MAX_TABLES      32

static struct { uint64_t addr; const struct acpi_hdr *h; } tables[MAX_TABLES];
static int nr_tables;

static bool in_low4g(uint64_t addr, uint64_t len)
{
    return addr && addr < (4ull << 30) && len <= (4ull << 30) - addr;
}

/* ACPI 6.4 5.2.5.1: the first KiB of the EBDA, then the BIOS area. */
static uint64_t rsdp_scan(bool *in_ebda)
{
    uint64_t ebda = (uint64_t)*(const volatile uint16_t *)phys(0x40e) << 4;
    uint64_t a = 0;
    if (ebda >= 0x80000 && ebda < 0xa0000)
        a = rsdp_scan_range(ebda, ebda + 1024);
    *in_ebda = a != 0;
    return a ? a : rsdp_scan_range(0xe0000, 0x100000);
}

static uint64_t find_rsdp(void)
{
    char want[8];
    bool need_boot = cmdline_get("rsdp", want, sizeof(want)) && !strcmp(want, "boot");
    uint64_t from_boot = rsdp_from_boot();
    bool in_ebda;
    uint64_t scanned = rsdp_scan(&in_ebda);

    report_info("RSDP: %s 0x%lx, scan 0x%lx (%s)", boot_protocol_name(boot.protocol),
                (unsigned long)from_boot, (unsigned long)scanned, in_ebda ? "EBDA" : "BIOS area");
    if (need_boot)
        report(from_boot != 0, "the boot protocol passes the RSDP's address (0x%lx)",
               (unsigned long)from_boot);
    if (from_boot) {
        report(in_low4g(from_boot, 36) && rsdp_valid(from_boot), "RSDP from the boot protocol is valid");
        report(!scanned || scanned == from_boot, "the scan finds the same RSDP");
    }
    report(scanned != 0, "RSDP found by the IA-PC scan (EBDA, 0xe0000-0xfffff)");
    return from_boot ? from_boot : scanned;
}

/* A table header at addr, checked; NULL (and a FAIL) if it is not one. */
static const struct acpi_hdr *table_check(uint64_t addr, const char *via)
{
    if (!in_low4g(addr, ACPI_HDR_LEN)) {
        report(false, "%s: table address 0x%lx is below 4 GiB", via, (unsigned long)addr);
        return NULL;
    }
    const struct acpi_hdr *h = phys(addr);
    if (h->len < ACPI_HDR_LEN || h->len > ACPI_TABLE_MAX || !in_low4g(addr, h->len)) {
        report(false, "%s: table at 0x%lx has a sane length (%u)", via, (unsigned long)addr, h->len);
        return NULL;
    }
    report(!sum8(h, h->len), "%.4s at 0x%lx (%u bytes, revision %u): checksum", h->sig,
           (unsigned long)addr, h->len, h->rev);
    return h;
}

static void tables_add(uint64_t addr, const char *via)
{
    const struct acpi_hdr *h = table_check(addr, via);
    if (h && nr_tables < MAX_TABLES) {
        tables[nr_tables].addr = addr;
        tables[nr_tables].h = h;
        nr_tables++;
    }
}

static const struct acpi_hdr *table_find(const char *sig)
{
    for (int i = 0; i < nr_tables; i++)
        if (!memcmp(tables[i].h->sig, sig, 4))
            return tables[i].h;
    return NULL;
}

/* RSDT (32-bit entries) or XSDT (64-bit entries). */
static void walk_sdt(uint64_t addr, const char *sig, unsigned entry)
{
    const struct acpi_hdr *sdt = table_check(addr, sig);
    if (!sdt)
        return;
    report(!memcmp(sdt->sig, sig, 4), "%s signature (%.4s)", sig, sdt->sig);
    const uint8_t *e = (const uint8_t *)sdt + ACPI_HDR_LEN;
    unsigned n = (sdt->len - ACPI_HDR_LEN) / entry;
    for (unsigned i = 0; i < n; i++) {
        uint64_t a = entry == 8 ? *(const uint64_t *)(e + 8 * i) : *(const uint32_t *)(e + 4 * i);
        tables_add(a, sig);
    }
    report_info("%s at 0x%lx lists %u tables", sig, (unsigned long)addr, n);
}

/* No table may sit in RAM the memory map offers the OS. */
static void check_tables_reserved(uint64_t rsdp)
{
    int bad = 0;
    for (int i = 0; i <= nr_tables; i++) {
        uint64_t a = i < nr_tables ? tables[i].addr : rsdp;
        uint64_t end = a + (i < nr_tables ? tables[i].h->len : 20);
        for (int m = 0; m < boot.nr_mem; m++) {
            const struct mem_range *r = &boot.mem[m];
            if (r->type == E820_RAM && a < r->base + r->len && end > r->base) {
                report_info("0x%lx-0x%lx lies in RAM 0x%lx-0x%lx", (unsigned long)a, (unsigned long)end,
                            (unsigned long)r->base, (unsigned long)(r->base + r->len));
                bad++;
            }
        }
    }
    report(bad == 0, "RSDP and tables lie outside usable RAM in the memory map (%d overlaps)", bad);
}

/* ---- FADT ---- */

#define FADT_FACS       36
#define FADT_DSDT       40
#define FADT_SCI_INT    46
#define FADT_PM1A_EVT   56
#define FADT_PM_TMR     76
#define FADT_CENTURY    108
#define FADT_X_DSDT     140

static uint32_t fadt_u32(const struct acpi_hdr *f, unsigned off)
{
    return off + 4 <= f->len ? *(const uint32_t *)((const uint8_t *)f + off) : 0;
}

static uint8_t fadt_century;

static void check_pm_timer(uint16_t port)
{
    uint32_t t1 = inl(port) & 0xffffff;
    udelay(1000);
    uint32_t t2 = inl(port) & 0xffffff;
    report(t1 != t2, "ACPI PM timer at 0x%x runs (%u -> %u)", port, t1, t2);
}

static void check_fadt(void)
{
    const struct acpi_hdr *f = table_find("FACP");
    report(f != NULL, "FADT present");
    if (!f)
        return;
    uint64_t dsdt = fadt_u32(f, FADT_DSDT);
    if (f->len >= FADT_X_DSDT + 8 && *(const uint64_t *)((const uint8_t *)f + FADT_X_DSDT))
        dsdt = *(const uint64_t *)((const uint8_t *)f + FADT_X_DSDT);
    const struct acpi_hdr *d = table_check(dsdt, "FADT");
    report(d && !memcmp(d->sig, "DSDT", 4), "FADT points at the DSDT (0x%lx)", (unsigned long)dsdt);
    uint32_t facs = fadt_u32(f, FADT_FACS);
    const struct acpi_hdr *fs = in_low4g(facs, 64) ? phys(facs) : NULL;
    report(fs && !memcmp(fs->sig, "FACS", 4) && fs->len >= 64 && !(facs & 63),
           "FADT points at the FACS (0x%x, 64-byte aligned, %u bytes)", facs, fs ? fs->len : 0);
    uint16_t sci = *(const uint16_t *)((const uint8_t *)f + FADT_SCI_INT);
    report(sci == 9, "SCI on IRQ 9 (%u)", sci);
    uint32_t pmba = pci_read32(1, 3, 0x40);
    uint32_t evt = fadt_u32(f, FADT_PM1A_EVT);
    report((pmba & 1) && (pmba & 0xffc0) == evt, "PM1a event block 0x%x where PIIX4 PMBA says (0x%x)", evt,
           pmba);
    if (fadt_u32(f, FADT_PM_TMR))
        check_pm_timer(fadt_u32(f, FADT_PM_TMR));
    fadt_century = f->len > FADT_CENTURY ? ((const uint8_t *)f)[FADT_CENTURY] : 0;
}

/* ---- MADT ---- */

struct madt_info {
    int lapics;
    bool bsp_listed;
    uint32_t ioapic_addr, ioapic_id, ioapic_gsi;
    bool irq0_gsi2, irq9_level_high;
};

static void madt_entry(const uint8_t *e, struct madt_info *mi, unsigned bsp)
{
    uint16_t flags;
    switch (e[0]) {
    case 0:                                     /* Processor Local APIC */
        if (*(const uint32_t *)(e + 4) & 1) {
            mi->lapics++;
            mi->bsp_listed |= e[3] == bsp;
        }
        break;
    case 9:                                     /* Processor Local x2APIC */
        if (*(const uint32_t *)(e + 8) & 1) {
            mi->lapics++;
            mi->bsp_listed |= *(const uint32_t *)(e + 4) == bsp;
        }
        break;
    case 1:                                     /* I/O APIC */
        mi->ioapic_id = e[2];
        mi->ioapic_addr = *(const uint32_t *)(e + 4);
        mi->ioapic_gsi = *(const uint32_t *)(e + 8);
        break;
    case 2:                                     /* Interrupt Source Override */
        flags = *(const uint16_t *)(e + 8);
        if (e[2] == 0 && e[3] == 0 && *(const uint32_t *)(e + 4) == 2)
            mi->irq0_gsi2 = true;
        if (e[2] == 0 && e[3] == 9 && *(const uint32_t *)(e + 4) == 9 && (flags & 3) == 1 &&
            ((flags >> 2) & 3) == 3)
            mi->irq9_level_high = true;
        break;
    }
}

static void check_madt(void)
{
    const struct acpi_hdr *m = table_find("APIC");
    report(m != NULL, "MADT present");
    if (!m || m->len < 44)
        return;
    const uint8_t *b = (const uint8_t *)m;
    struct madt_info mi = { 0 };
    unsigned bsp = lapic_id();
    bool sane = true;
    for (uint32_t off = 44; off + 2 <= m->len; off += b[off + 1]) {
        if (b[off + 1] < 2 || off + b[off + 1] > m->len) {
            sane = false;
            break;
        }
        madt_entry(b + off, &mi, bsp);
    }
    long cpus = cmdline_get_int("cpus", 1);
    uint32_t lapic_base = *(const uint32_t *)(b + 36);
    uint64_t apic_msr = rdmsr(0x1b) & ~0xfffull;
    report(sane, "MADT entries fit the table");
    report(lapic_base == apic_msr, "Local APIC address 0x%x = IA32_APIC_BASE (0x%lx)", lapic_base,
           (unsigned long)apic_msr);
    report(mi.lapics == cpus, "one enabled Local APIC per CPU: %d (cpus=%ld)", mi.lapics, cpus);
    report(mi.bsp_listed, "the BSP's APIC ID %u is listed", bsp);
    report(mi.ioapic_addr == IOAPIC_BASE && mi.ioapic_gsi == 0, "I/O APIC at 0x%x, GSI base %u",
           mi.ioapic_addr, mi.ioapic_gsi);
    uint32_t id = ioapic_read(0) >> 24 & 0xf;
    report(mi.ioapic_id == id, "I/O APIC ID %u matches its ID register (%u)", mi.ioapic_id, id);
    report(mi.irq0_gsi2, "interrupt source override IRQ 0 -> GSI 2");
    report(mi.irq9_level_high, "interrupt source override IRQ 9 level, active high (the SCI)");
}

/* ---- HPET table ---- */

#define HPET_BASE       0xfed00000ul

static void check_hpet_table(void)
{
    const struct acpi_hdr *h = table_find("HPET");
    uint32_t cap = mmio_read32(HPET_BASE);
    if (!h) {
        report(cap == 0 || cap == 0xffffffff, "no HPET table, and no HPET (capabilities 0x%08x)", cap);
        return;
    }
    const uint8_t *b = (const uint8_t *)h;
    report(h->len >= 56, "HPET table length %u", h->len);
    if (h->len < 56)
        return;
    uint32_t block_id = *(const uint32_t *)(b + 36);
    uint64_t base = *(const uint64_t *)(b + 44);
    report(b[40] == 0 && base == HPET_BASE, "HPET base: system memory 0x%lx (space %u)", (unsigned long)base,
           b[40]);
    report(block_id == cap, "event timer block ID 0x%08x = capabilities register 0x%08x", block_id, cap);
}

static void test_acpi(void)
{
    report_prefix("platform: acpi");
    uint64_t rsdp_addr = find_rsdp();
    if (!rsdp_addr)
        return;
    const struct rsdp *r = phys(rsdp_addr);
    report_info("RSDP revision %u, OEM \"%.6s\"", r->rev, r->oem);
    if (r->rev >= 2 && r->xsdt)
        walk_sdt(r->xsdt, "XSDT", 8);
    else
        walk_sdt(r->rsdt, "RSDT", 4);
    check_tables_reserved(rsdp_addr);
    check_fadt();
    check_madt();
    check_hpet_table();
}

/* ======================================================================
 * CMOS clock
 * ====================================================================== */

struct rtc_time { unsigned sec, min, hour, day, mon, year, century; };

static uint8_t cmos_read(uint8_t reg)
{
    outb(0x70, reg);
    return inb(0x71);
}

static bool bcd_ok(uint8_t v) { return (v & 0xf) <= 9 && (v >> 4) <= 9; }
static unsigned bcd(uint8_t v) { return (v >> 4) * 10 + (v & 0xf); }

/* One consistent read: wait for UIP clear, read twice until equal. */
static bool rtc_read_raw(uint8_t raw[7])
{
    static const uint8_t regs[7] = { 0x00, 0x02, 0x04, 0x07, 0x08, 0x09, 0x32 };
    uint8_t again[7];
    for (int tries = 0; tries < 10; tries++) {
        if (!wait_until(!(cmos_read(0x0a) & 0x80), 1000000))
            return false;
        for (int i = 0; i < 7; i++)
            raw[i] = cmos_read(i == 6 && fadt_century ? fadt_century : regs[i]);
        for (int i = 0; i < 7; i++)
            again[i] = cmos_read(i == 6 && fadt_century ? fadt_century : regs[i]);
        if (!memcmp(raw, again, 7))
            return true;
    }
    return false;
}

static bool rtc_read(struct rtc_time *t, uint8_t regb, bool *digits_ok)
{
    uint8_t raw[7];
    if (!rtc_read_raw(raw))
        return false;
    bool binary = regb & 0x04, h24 = regb & 0x02;
    bool pm = !h24 && (raw[2] & 0x80);
    raw[2] &= h24 ? 0xff : 0x7f;
    *digits_ok = true;
    unsigned v[7];
    for (int i = 0; i < 7; i++) {
        *digits_ok &= binary || bcd_ok(raw[i]);
        v[i] = binary ? raw[i] : bcd(raw[i]);
    }
    *t = (struct rtc_time){ v[0], v[1], v[2], v[3], v[4], v[5], v[6] };
    if (!h24)
        t->hour = t->hour % 12 + (pm ? 12 : 0);
    return true;
}

static long rtc_seconds_of_day(const struct rtc_time *t)
{
    return (long)t->hour * 3600 + t->min * 60 + t->sec;
}

static void test_cmos(void)
{
    report_prefix("platform: cmos");
    uint8_t regb = cmos_read(0x0b);
    report_info("register A 0x%02x, B 0x%02x (%s, %s)", cmos_read(0x0a), regb,
                regb & 0x04 ? "binary" : "BCD", regb & 0x02 ? "24-hour" : "12-hour");
    struct rtc_time t1, t2;
    bool digits1, digits2;
    bool ok1 = rtc_read(&t1, regb, &digits1);
    report(ok1, "update-in-progress clears and two reads agree");
    if (!ok1)
        return;
    report_info("clock %02u%02u-%02u-%02u %02u:%02u:%02u", t1.century, t1.year, t1.mon, t1.day, t1.hour,
                t1.min, t1.sec);
    report(digits1, "fields are valid %s", regb & 0x04 ? "binary" : "BCD");
    report(t1.sec < 60 && t1.min < 60 && t1.hour < 24, "time of day in range");
    report(t1.day >= 1 && t1.day <= 31 && t1.mon >= 1 && t1.mon <= 12 && t1.year <= 99, "date in range");
    report(!fadt_century || (t1.century >= 19 && t1.century <= 30),
           "century register 0x%02x (from the FADT) holds %u", fadt_century, t1.century);
    udelay(1100000);
    bool ok2 = rtc_read(&t2, regb, &digits2);
    long d = (rtc_seconds_of_day(&t2) - rtc_seconds_of_day(&t1) + 86400) % 86400;
    report(ok2 && digits2 && d >= 1 && d <= 30, "the clock advances across a one-second wait (+%ld s)", d);
}

/* ======================================================================
 * HPET interrupts
 * ====================================================================== */

#define HPET_CAP        0x000
#define HPET_CFG        0x010
#define HPET_ISR        0x020
#define HPET_COUNTER    0x0f0
#define HPET_TN_CFG(n)  (0x100 + 0x20 * (n))
#define HPET_TN_CMP(n)  (0x108 + 0x20 * (n))

#define CFG_ENABLE      (1u << 0)
#define CFG_LEGACY      (1u << 1)
#define CAP_LEG_RT      (1u << 15)
#define TN_LEVEL        (1u << 1)
#define TN_ENB          (1u << 2)
#define TN_PERIODIC     (1u << 3)
#define TN_PER_CAP      (1u << 4)
#define TN_VAL_SET      (1u << 6)
#define TN_32MODE       (1u << 8)
#define TN_ROUTE_SHIFT  9
#define TN_ROUTE_MASK   (0x1fu << TN_ROUTE_SHIFT)
#define TN_FSB_EN       (1u << 14)

/* 32-bit accesses only, as Linux makes them. */
static uint32_t hpet_rd(unsigned reg) { return mmio_read32(HPET_BASE + reg); }
static void hpet_wr(unsigned reg, uint32_t v) { mmio_write32(HPET_BASE + reg, v); }

static uint64_t hpet_counter(void)
{
    uint32_t hi, lo;
    do {
        hi = hpet_rd(HPET_COUNTER + 4);
        lo = hpet_rd(HPET_COUNTER);
    } while (hi != hpet_rd(HPET_COUNTER + 4));
    return (uint64_t)hi << 32 | lo;
}

static uint64_t hpet_ticks_per_ms;
static volatile uint32_t level_isr;
static volatile unsigned level_timer;

static void h_edge(int vec) { count++; lapic_eoi(); }
static void h_pic0(int vec) { count++; pic_eoi(0); }
static void h_level(int vec)
{
    if (!count)
        level_isr = hpet_rd(HPET_ISR);
    hpet_wr(HPET_ISR, 1u << level_timer);       /* write 1 to clear: the line goes low */
    count++;
    lapic_eoi();
}

/* Counter halted at 0, every timer off, legacy routing off. */
static void hpet_reset(unsigned timers)
{
    hpet_wr(HPET_CFG, 0);
    for (unsigned n = 0; n < timers; n++)
        hpet_wr(HPET_TN_CFG(n), hpet_rd(HPET_TN_CFG(n)) &
                ~(TN_LEVEL | TN_ENB | TN_PERIODIC | TN_VAL_SET | TN_32MODE | TN_FSB_EN));
    hpet_wr(HPET_ISR, 0xffffffff);
    hpet_wr(HPET_COUNTER, 0);
    hpet_wr(HPET_COUNTER + 4, 0);
}

/* Program timer n (64-bit mode) and its first comparator value; with
 * TN_PERIODIC, the period too (VAL_SET, spec 2.3.9.2.2). */
static void hpet_timer_start(unsigned n, uint32_t flags, unsigned pin, uint64_t ticks)
{
    uint32_t cfg = (hpet_rd(HPET_TN_CFG(n)) & ~TN_ROUTE_MASK) | flags | TN_ENB | pin << TN_ROUTE_SHIFT;
    hpet_wr(HPET_TN_CFG(n), cfg | TN_VAL_SET);
    hpet_wr(HPET_TN_CMP(n) + 4, ticks >> 32);
    hpet_wr(HPET_TN_CFG(n), cfg | TN_VAL_SET);
    hpet_wr(HPET_TN_CMP(n), (uint32_t)ticks);
}

/* Interrupts on until count reaches want or timeout_us passes. */
static void tick_until(uint32_t want, uint64_t timeout_us)
{
    irq_enable();
    wait_until(count >= want, timeout_us);
    irq_disable();
}

/* After a source stopped: take what it sent while IF was 0 (it waits in
 * the LAPIC IRR and would otherwise land in the next test). */
static void drain(void)
{
    irq_enable();
    udelay(2000);
    irq_disable();
}

/*
 * The PIT drives IRQ 0, which arrives on I/O APIC input 2 like the HPET's
 * timers: let it raise IRQ 0 once more and then never again (mode 0,
 * count 1), and take that last interrupt, so input 2 then carries only
 * what the HPET sends.  Waiting for the interrupt rather than for a
 * fixed time matters: KVM's PIT injects from a kernel thread, which a
 * loaded host may run tens of milliseconds late.
 */
static void pit_silence(void)
{
    count = 0;
    irq_set_handler(VEC_HPET, h_edge);
    ioapic_route(2, VEC_HPET, lapic_id(), 0);
    outb(0x43, 0x30);                   /* ch 0, lo/hi, mode 0 */
    outb(0x40, 1);
    outb(0x40, 0);
    tick_until(1, TIMEOUT_US);
    ioapic_mask(2);
    report(count == 1, "PIT silenced: its last IRQ 0 arrived on I/O APIC input 2 (%u)", count);
}

static unsigned hpet_pick_pin(unsigned n)
{
    uint32_t cap = hpet_rd(HPET_TN_CFG(n) + 4);
    unsigned max = ioapic_max_pin();
    for (unsigned pin = 0; pin <= max && pin < 32; pin++)
        if (cap & (1u << pin))
            return pin;
    return 0xff;
}

static void hpet_check_quiet(unsigned pin)
{
    count = 0;
    irq_set_handler(VEC_HPET, h_edge);
    ioapic_route(pin, VEC_HPET, lapic_id(), 0);
    tick_until(0xffffffff, 50000);
    ioapic_mask(pin);
    report(count == 0, "I/O APIC input %u quiet with the PIT silenced and the HPET off (%u)", pin, count);
}

/* Timer 0 periodic at 1 kHz; in legacy replacement mode its route field
 * is ignored (spec 2.3.5: timer 0 drives IRQ 0). */
static void hpet_periodic(unsigned pin, const char *what, bool legacy)
{
    count = 0;
    hpet_reset(1);
    hpet_timer_start(0, TN_PERIODIC, pin, hpet_ticks_per_ms);
    hpet_wr(HPET_CFG, CFG_ENABLE | (legacy ? CFG_LEGACY : 0));
    tick_until(WANT, TIMEOUT_US);
    hpet_wr(HPET_CFG, 0);                       /* halt: the counter holds */
    uint64_t elapsed = hpet_counter();
    drain();
    uint32_t n = count;
    hpet_reset(1);
    uint64_t periods = elapsed / hpet_ticks_per_ms;
    /* The bound catches a storm (a line never lowered), not jitter: on a
     * loaded host (the ASan build in CI) the legacy route once counted 21
     * interrupts in 18 periods, cause not yet known (docs/guest-tests.md). */
    report(n >= WANT && n <= periods + periods / 4 + 2, "%s: %u interrupts in %lu periods of 1 ms",
           what, n, (unsigned long)periods);
    if (!n && !legacy && pin == 2)
        report_info("nothing on I/O APIC input 2: QEMU drives GSI 2 for it, which its KVM routing "
                    "connects to nothing (kvmpc drives GSI 0, which arrives there)");
}

static void hpet_oneshot(unsigned t, unsigned pin, bool level)
{
    count = 0;
    level_isr = 0;
    level_timer = t;
    hpet_reset(t + 1);
    irq_set_handler(level ? VEC_HPET_LEVEL : VEC_HPET, level ? h_level : h_edge);
    ioapic_route(pin, level ? VEC_HPET_LEVEL : VEC_HPET, lapic_id(), level ? IOAPIC_LEVEL : 0);
    hpet_timer_start(t, level ? TN_LEVEL : 0, pin, hpet_ticks_per_ms);
    hpet_wr(HPET_CFG, CFG_ENABLE);
    tick_until(1, TIMEOUT_US);
    tick_until(0xffffffff, 20000);              /* 20 more periods: nothing more */
    uint32_t isr_after = hpet_rd(HPET_ISR);
    hpet_reset(t + 1);
    drain();
    ioapic_mask(pin);
    if (!level) {
        report(count == 1, "timer %u one-shot, edge, I/O APIC input %u: exactly one interrupt (%u)", t, pin,
               count);
        return;
    }
    /* The development hosts' KVM delivers every assertion of a
     * level-triggered I/O APIC input twice (the vector is pending in the
     * LAPIC IRR again when the handler starts; the RTC on input 8 shows
     * the same, and so does QEMU), so allow one extra.  A line the
     * handler failed to lower would interrupt without end. */
    report(count >= 1 && count <= 2, "timer %u one-shot, level, I/O APIC input %u: one interrupt, "
           "no storm once the status bit is cleared (%u)", t, pin, count);
    report((level_isr & (1u << t)) && !(isr_after & (1u << t)),
           "timer %u status bit set while pending (0x%x), clear after the handler (0x%x)", t, level_isr,
           isr_after);
}

/* One-shot on timer t, routed where its INT_ROUTE_CAP allows. */
static void hpet_oneshot_test(unsigned t, bool level)
{
    unsigned pin = hpet_pick_pin(t);
    if (pin == 0xff) {
        report_skip("timer %u may route to no I/O APIC input", t);
        return;
    }
    hpet_oneshot(t, pin, level);
}

static void hpet_legacy(void)
{
    irq_set_handler(VEC_HPET, h_edge);
    ioapic_route(2, VEC_HPET, lapic_id(), 0);
    hpet_periodic(2, "legacy replacement: timer 0 -> IRQ 0 -> I/O APIC input 2", true);
    ioapic_mask(2);

    irq_set_handler(VEC_PIC_IRQ0, h_pic0);
    lapic_lint0_extint(true);
    pic_unmask(0);
    hpet_periodic(2, "legacy replacement: timer 0 -> IRQ 0 -> 8259", true);
    pic_mask(0);
    lapic_lint0_extint(false);
}

static void test_hpet(void)
{
    report_prefix("platform: hpet");
    uint32_t cap = hpet_rd(HPET_CAP), period_fs = hpet_rd(HPET_CAP + 4);
    if (cap == 0 || cap == 0xffffffff || period_fs == 0 || period_fs > 100000000) {
        report_skip("no HPET at 0x%lx (capabilities 0x%08x)", HPET_BASE, cap);
        return;
    }
    unsigned timers = ((cap >> 8) & 0x1f) + 1;
    hpet_ticks_per_ms = 1000000000000ull / period_fs;
    unsigned pin = hpet_pick_pin(0);
    report_info("%u timers, period %u fs, timer 0 INT_ROUTE_CAP 0x%08x", timers, period_fs,
                hpet_rd(HPET_TN_CFG(0) + 4));
    report(pin != 0xff, "timer 0 may route to an I/O APIC input (%u)", pin);
    if (pin == 0xff)
        return;
    pit_silence();
    hpet_check_quiet(pin);

    ioapic_route(pin, VEC_HPET, lapic_id(), 0);
    if (hpet_rd(HPET_TN_CFG(0)) & TN_PER_CAP)
        hpet_periodic(pin, "timer 0 periodic, edge", false);
    else
        report_skip("timer 0 has no periodic mode");
    ioapic_mask(pin);

    unsigned t1 = timers > 1 ? 1 : 0, t2 = timers > 2 ? 2 : t1;
    hpet_oneshot_test(t1, false);
    hpet_oneshot_test(t2, true);

    if (cap & CAP_LEG_RT)
        hpet_legacy();
    else
        report_skip("no legacy replacement route (LEG_RT_CAP clear)");
    hpet_reset(timers);
}

/* ======================================================================
 * reset=1: the tables must come back after a reset
 * ====================================================================== */

#define RESET_MARK_ADDR 0x8f000                 /* low RAM no loader uses */
#define RESET_MARK      0x5445534552544c50ull   /* "PLTRESET" */

static void wipe_acpi_and_reset(void)
{
    uint64_t ebda = (uint64_t)*(const volatile uint16_t *)phys(0x40e) << 4;
    for (int i = 0; i < boot.nr_mem; i++) {
        const struct mem_range *r = &boot.mem[i];
        if (r->type == E820_ACPI && in_low4g(r->base, r->len))
            memset((void *)phys(r->base), 0, r->len);
    }
    if (ebda >= 0x80000 && ebda < 0xa0000)
        memset((void *)phys(ebda), 0, 1024);
    *(volatile uint16_t *)phys(0x40e) = 0;
    bool in_ebda;
    report_info("reset test: first boot, ACPI tables wiped (scan finds 0x%lx), resetting through 0xcf9",
                (unsigned long)rsdp_scan(&in_ebda));
    *(volatile uint64_t *)phys(RESET_MARK_ADDR) = RESET_MARK;
    outb(0xcf9, 0x06);                          /* PIIX3 RCR: SRST | RCPU */
    udelay(2000000);
    report(false, "reset test: the machine reset through port 0xcf9");
    report_summary();
}

static void reset_test(void)
{
    volatile uint64_t *mark = (volatile uint64_t *)phys(RESET_MARK_ADDR);
    bool in_use = boot_range_in_use(RESET_MARK_ADDR, RESET_MARK_ADDR + 8);
    bool ram = false;
    for (int i = 0; i < boot.nr_mem; i++)
        ram |= boot.mem[i].type == E820_RAM && boot.mem[i].base <= RESET_MARK_ADDR &&
               boot.mem[i].base + boot.mem[i].len >= RESET_MARK_ADDR + 8;
    if (in_use || !ram) {
        report_skip("reset test: 0x%x is not free RAM here", RESET_MARK_ADDR);
        return;
    }
    if (*mark != RESET_MARK)
        wipe_acpi_and_reset();
    *mark = 0;
    report(true, "reset test: second boot, after the reset");
}

int main(void)
{
    lapic_enable();
    if (cmdline_get_int("reset", 0))
        reset_test();
    test_pci();
    test_acpi();
    test_cmos();
    test_hpet();
    report_summary();
}

/*
 * Finding the ACPI RSDP (ACPI 6.4, 5.2.5): its checksums, the scan of a
 * physical range on 16-byte boundaries, and the address a boot protocol
 * hands over (PVH's rsdp_paddr, the Linux zero page's acpi_rsdp_addr).
 */
#include "guest.h"
#include "bootproto.h"

/* Physical memory through the identity map (laundered, so GCC does not
 * treat low constant addresses as null-pointer UB). */
static const void *phys_ptr(uint64_t a)
{
    asm("" : "+r"(a));
    return (const void *)(uintptr_t)a;
}

uint8_t sum8(const void *p, uint32_t len)
{
    const uint8_t *b = p;
    uint8_t s = 0;
    while (len--)
        s += *b++;
    return s;
}

bool rsdp_valid(uint64_t a)
{
    const struct rsdp *r = phys_ptr(a);
    if (memcmp(r->sig, "RSD PTR ", 8) || sum8(r, 20))
        return false;
    return r->rev < 2 || (r->len >= sizeof(*r) && r->len < 4096 && !sum8(r, r->len));
}

uint64_t rsdp_scan_range(uint64_t start, uint64_t end)
{
    for (uint64_t a = start; a + 20 <= end; a += 16)
        if (rsdp_valid(a))
            return a;
    return 0;
}

uint64_t rsdp_from_boot(void)
{
    switch (boot.protocol) {
    case BOOT_PVH:
        return ((const struct hvm_start_info *)phys_ptr(boot.raw))->rsdp_paddr;
    case BOOT_LINUX32:
    case BOOT_LINUX64:
        return *(const uint64_t *)phys_ptr(boot.raw + BP_ACPI_RSDP_ADDR);
    default:
        return 0;                       /* Multiboot has no field */
    }
}

/* ACPI 6.4 5.2.5.1: the first KiB of the EBDA, then the BIOS area. */
static uint64_t rsdp_find(void)
{
    uint64_t a = rsdp_from_boot();
    uint64_t ebda = (uint64_t)*(const volatile uint16_t *)phys_ptr(0x40e) << 4;

    if (a && rsdp_valid(a))
        return a;
    if (ebda >= 0x80000 && ebda < 0xa0000 && (a = rsdp_scan_range(ebda, ebda + 1024)))
        return a;
    return rsdp_scan_range(0xe0000, 0x100000);
}

/* A table that an OS would trust: below 4 GiB (the identity map the
 * runtime starts with), a sane length, checksum 0. */
static bool table_ok(uint64_t a)
{
    uint32_t len;

    if (!a || a >= (4ull << 30) - 36)
        return false;
    len = *(const uint32_t *)phys_ptr(a + 4);
    return len >= 36 && len < (1u << 20) && !sum8(phys_ptr(a), len);
}

uint64_t acpi_find_table(const char *sig)
{
    return acpi_find_table_id(sig, NULL);
}

uint64_t acpi_find_table_id(const char *sig, const char *oem_table_id)
{
    uint64_t rsdp = rsdp_find(), rsdt;
    uint32_t len;

    if (!rsdp)
        return 0;
    rsdt = ((const struct rsdp *)phys_ptr(rsdp))->rsdt;
    if (!table_ok(rsdt))
        return 0;
    len = *(const uint32_t *)phys_ptr(rsdt + 4);
    for (uint32_t off = 36; off + 4 <= len; off += 4) {
        uint64_t t = *(const uint32_t *)phys_ptr(rsdt + off);

        if (table_ok(t) && !memcmp(phys_ptr(t), sig, 4) &&
            (!oem_table_id ||
             !strncmp((const char *)phys_ptr(t) + 16, oem_table_id, 8)))
            return t;
    }
    return 0;
}

uint16_t acpi_gpe0_block(void)
{
    uint64_t fadt = acpi_find_table("FACP");

    /* FADT GPE0_BLK (offset 80, 32-bit port) with GPE0_BLK_LEN (92). */
    if (!fadt || !*(const uint8_t *)phys_ptr(fadt + 92))
        return 0;
    return (uint16_t)*(const uint32_t *)phys_ptr(fadt + 80);
}

/* ---- the SCI as an OS takes it for general-purpose events ---------- */

volatile uint32_t acpi_gpe_seen;
static uint16_t sci_gpe0;

/* CPL 0: what _Lxx/_Exx dispatch starts with: read GPE0 status (the
 * first byte: bits 0-7), remember it, clear it (write 1s), so the level
 * SCI drops before the EOI. */
static void sci_handler(int vector)
{
    uint8_t sts = inb(sci_gpe0);

    __atomic_or_fetch(&acpi_gpe_seen, sts, __ATOMIC_SEQ_CST);
    outb(sci_gpe0, sts);
    lapic_eoi();
}

/* ACPI 6.4, 16.3.1: an OS that finds SCI_EN clear in PM1_CNT writes the
 * FADT's ACPI_ENABLE to SMI_CMD and waits for SCI_EN (ICH9 without
 * firmware starts in legacy mode; PIIX4 has SCI_EN from reset). */
static bool acpi_mode_enable(uint64_t fadt)
{
    uint16_t smi_cmd = (uint16_t)*(const uint32_t *)phys_ptr(fadt + 48);
    uint8_t enable = *(const uint8_t *)phys_ptr(fadt + 52);
    uint16_t pm1_cnt = (uint16_t)*(const uint32_t *)phys_ptr(fadt + 64);

    if (!pm1_cnt)
        return false;
    if (!(inw(pm1_cnt) & 1) && smi_cmd && enable)
        outb(smi_cmd, enable);
    return wait_until(inw(pm1_cnt) & 1, 1000000);
}

bool acpi_sci_enable(uint8_t gpe_bits, unsigned vector)
{
    uint64_t fadt = acpi_find_table("FACP");
    uint16_t sci;
    uint8_t len;

    if (!fadt)
        return false;
    sci = *(const uint16_t *)phys_ptr(fadt + 46);           /* SCI_INT */
    sci_gpe0 = (uint16_t)*(const uint32_t *)phys_ptr(fadt + 80);
    len = *(const uint8_t *)phys_ptr(fadt + 92);            /* GPE0_BLK_LEN */
    if (!sci_gpe0 || len < 2 || sci > ioapic_max_pin() || !acpi_mode_enable(fadt))
        return false;
    outb(sci_gpe0, 0xff);                                   /* stale events */
    irq_set_handler(vector, sci_handler);
    lapic_enable();
    /* The MADT's override for the SCI (IRQ 9): level, active high, as on
     * QEMU's pc and q35. */
    ioapic_route(sci, vector, lapic_id(), IOAPIC_LEVEL);
    outb(sci_gpe0 + len / 2, gpe_bits);                     /* GPE0_EN */
    irq_enable();
    return true;
}

bool acpi_wait_gpe(uint8_t bit, uint64_t timeout_us)
{
    bool seen = wait_until(acpi_gpe_seen & bit, timeout_us);

    __atomic_and_fetch(&acpi_gpe_seen, ~(uint32_t)bit, __ATOMIC_SEQ_CST);
    return seen;
}

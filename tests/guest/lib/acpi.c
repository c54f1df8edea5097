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

        if (table_ok(t) && !memcmp(phys_ptr(t), sig, 4))
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

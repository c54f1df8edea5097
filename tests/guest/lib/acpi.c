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

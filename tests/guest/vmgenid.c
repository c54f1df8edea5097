/*
 * vmgenid: the Virtual Machine Generation ID as a guest finds it
 * (Microsoft's "Virtual Machine Generation ID" spec; QEMU 7.2's layout,
 * docs/specs/vmgenid.txt there, and docs/vmgenid.md here).
 *
 * The SSDT whose OEM table id is "VMGENID" declares Name (VGIA, DWord),
 * which the BIOS linker patched with the address of the GUID blob; the
 * VGEN device's ADDR method returns VGIA + 40, where the 16-byte GUID
 * lies in Microsoft's byte order (the first three fields little-endian).
 * This payload reads VGIA out of the AML (NameOp 0x08, "VGIA",
 * DWordPrefix 0x0C, the value) as an OS's AML interpreter would, and
 * checks the 16 bytes at VGIA + 40 against guid=UUID from its command
 * line, the -device vmgenid,guid= kvmpc was given.  With direct kernel
 * boot kvmpc's own loader runs the linker (hw/i386/acpi-direct.c).
 *
 * Command line: guid=UUID in the 8-4-4-4-12 hex form, the same value as
 * -device vmgenid,guid= (tests/guest/meson.build passes both).
 */
#include "guest.h"

#define ACPI_HEADER_LEN 36
#define VMGENID_GUID_OFFSET 40

static const uint8_t *phys(uint64_t a)
{
    asm("" : "+r"(a));
    return (const uint8_t *)(uintptr_t)a;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The canonical text form into its 16 bytes, in text order. */
static bool parse_uuid(const char *s, uint8_t out[16])
{
    unsigned n = 0;

    for (; *s && n < 32; s++) {
        int v;

        if (*s == '-')
            continue;
        v = hexval(*s);
        if (v < 0)
            return false;
        out[n / 2] = n % 2 ? out[n / 2] | v : v << 4;
        n++;
    }
    return n == 32 && !*s;
}

/* Microsoft's order: the 32-bit and two 16-bit fields byte-swapped. */
static void to_ms_order(const uint8_t in[16], uint8_t out[16])
{
    static const uint8_t map[16] = { 3, 2, 1, 0, 5, 4, 7, 6,
                                     8, 9, 10, 11, 12, 13, 14, 15 };

    for (int i = 0; i < 16; i++)
        out[i] = in[map[i]];
}

/* VGIA's value in the SSDT's AML, or 0. */
static uint32_t find_vgia(uint64_t ssdt)
{
    uint32_t len = *(const uint32_t *)phys(ssdt + 4);
    const uint8_t *aml = phys(ssdt);

    for (uint32_t i = ACPI_HEADER_LEN; i + 10 <= len; i++) {
        if (aml[i] == 0x08 && !memcmp(aml + i + 1, "VGIA", 4) &&
            aml[i + 5] == 0x0c)
            return *(const uint32_t *)(aml + i + 6);
    }
    return 0;
}

int main(void)
{
    char text[40];
    uint8_t want[16], ms[16];
    uint64_t ssdt;
    uint32_t vgia;
    const uint8_t *got;

    if (!cmdline_get("guid", text, sizeof(text)) ||
        !parse_uuid(text, want)) {
        report(false, "guid=UUID on the command line");
        report_summary();
    }
    ssdt = acpi_find_table_id("SSDT", "VMGENID");
    report(ssdt != 0, "the VMGENID SSDT is listed in the RSDT");
    if (!ssdt)
        report_summary();
    vgia = find_vgia(ssdt);
    report(vgia != 0 && !(vgia & 0xfff),
           "VGIA was patched with a page-aligned address (0x%x)", vgia);
    if (!vgia)
        report_summary();
    got = phys((uint64_t)vgia + VMGENID_GUID_OFFSET);
    to_ms_order(want, ms);
    report(!memcmp(got, ms, 16), "the GUID at VGIA + 40 is guid=%s in "
           "Microsoft's byte order", text);
    report_info("VGIA + 40: %02x%02x%02x%02x %02x%02x %02x%02x ...", got[0],
                got[1], got[2], got[3], got[4], got[5], got[6], got[7]);
    report_summary();
}

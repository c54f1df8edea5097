/*
 * The F-segment ROM of a direct kernel boot and the real-mode interrupt
 * vector table (IVT) that points into it.
 *
 * PC firmware fills all 256 IVT entries (IBM PC/AT Technical Reference:
 * the IVT at 0000:0000, one far pointer, offset then segment, per vector)
 * before it boots anything, so a guest that returns to real mode, or runs
 * virtual-8086 code, and takes an interrupt lands on a handler.  kvmpc's
 * direct boot skips the firmware; it maps its own small ROM
 * (pc-bios/bios-stubs/bios-stubs.S, built into the binary) at 0xf0000
 * and points the IVT at its handlers, with the layout SeaBIOS leaves:
 *   vectors 08h-0fh (IRQ 0-7)   EOI to the master 8259, IRET
 *   vectors 70h-77h (IRQ 8-15)  EOI to the slave and the master, IRET
 *   vectors 60h-66h and 79h     0000:0000 (the "user" vectors a BIOS
 *                               leaves free, which programs look for)
 *   every other vector          IRET
 * The ROM also holds the F-segment copy of the ACPI RSDP: ACPI 6.4
 * 5.2.5.1 lets an OS look for it only in 0xe0000-0xfffff, which is where
 * firmware puts it.
 *
 * Mapped for direct boot only (SeaBIOS owns the BIOS area otherwise), in
 * the PCI space where PAM routes 0xf0000 after a reset, so the guest sees
 * read-only memory there, as with firmware.  The IVT is rewritten at
 * every reset.
 */
#include "qemu/osdep.h"
#include "hw/i386/bios-direct.h"
#include "hw/i386/x86-boot.h"

/* pc-bios/bios-stubs/bios-stubs-rom.c (generated) */
extern const uint8_t bios_stubs_rom[];
extern const size_t bios_stubs_rom_size;

/* The image's header (bios-stubs.S). */
#define STUBS_MAGIC             "KVMPCIVT"
#define STUBS_IRET              8
#define STUBS_EOI_MASTER        10
#define STUBS_EOI_SLAVE         12
#define STUBS_RSDP_SLOT         14
#define STUBS_RSDP_SLOT_SIZE    16
#define STUBS_HEADER_SIZE       18

typedef struct BiosStubs {
    uint16_t iret, eoi_master, eoi_slave;
    uint16_t rsdp_slot, rsdp_slot_size;
} BiosStubs;

static MemoryRegion bios_rom;
static BiosStubs stubs;

/* The image is ours, built with kvmpc: a bad header is a build bug. */
static void stubs_parse(BiosStubs *s)
{
    const uint8_t *h = bios_stubs_rom;

    g_assert(bios_stubs_rom_size >= STUBS_HEADER_SIZE &&
             bios_stubs_rom_size <= BIOS_ROM_SIZE &&
             !memcmp(h, STUBS_MAGIC, strlen(STUBS_MAGIC)));
    s->iret = lduw_le_p(h + STUBS_IRET);
    s->eoi_master = lduw_le_p(h + STUBS_EOI_MASTER);
    s->eoi_slave = lduw_le_p(h + STUBS_EOI_SLAVE);
    s->rsdp_slot = lduw_le_p(h + STUBS_RSDP_SLOT);
    s->rsdp_slot_size = lduw_le_p(h + STUBS_RSDP_SLOT_SIZE);
    g_assert(s->iret < bios_stubs_rom_size &&
             s->eoi_master < bios_stubs_rom_size &&
             s->eoi_slave < bios_stubs_rom_size &&
             !(s->rsdp_slot & 15) &&
             s->rsdp_slot + s->rsdp_slot_size <= bios_stubs_rom_size);
}

void bios_rom_init(MemoryRegion *rom_memory)
{
    stubs_parse(&stubs);
    memory_region_init_rom(&bios_rom, "pc.bios-stubs", BIOS_ROM_SIZE);
    memcpy(memory_region_get_ram_ptr(&bios_rom), bios_stubs_rom,
           bios_stubs_rom_size);
    memory_region_add_subregion_overlap(rom_memory, BIOS_ROM_BASE, &bios_rom,
                                        1);
}

static bool is_user_vector(unsigned v)
{
    return (v >= 0x60 && v <= 0x66) || v == 0x79;
}

/* ROM offset of the handler for vector @v; 0 for a vector left free. */
static uint16_t vector_handler(unsigned v)
{
    if (v >= BIOS_PIC_MASTER_BASE && v < BIOS_PIC_MASTER_BASE + 8) {
        return stubs.eoi_master;
    }
    if (v >= BIOS_PIC_SLAVE_BASE && v < BIOS_PIC_SLAVE_BASE + 8) {
        return stubs.eoi_slave;
    }
    return is_user_vector(v) ? 0 : stubs.iret;
}

static bool write_ivt(GError **errp)
{
    uint8_t ivt[BIOS_IVT_ENTRIES * 4];

    for (unsigned v = 0; v < BIOS_IVT_ENTRIES; v++) {
        uint16_t off = vector_handler(v);

        stw_le_p(ivt + 4 * v, off);
        stw_le_p(ivt + 4 * v + 2, off ? BIOS_ROM_SEGMENT : 0);
    }
    return x86_boot_write(BIOS_IVT_BASE, ivt, sizeof(ivt),
                          "the interrupt vector table", errp);
}

/* Copy the installed RSDP (its checksums hold wherever it sits: it holds
 * absolute addresses only) into the ROM's 16-byte aligned slot. */
static bool copy_rsdp(uint64_t rsdp_addr, uint64_t *fseg_rsdp, GError **errp)
{
    uint64_t slot = BIOS_ROM_BASE + stubs.rsdp_slot;
    uint8_t buf[64] = { 0 };
    uint32_t len = 20;              /* ACPI 1.0 RSDP */

    *fseg_rsdp = 0;
    if (!rsdp_addr) {
        return x86_boot_write(slot, buf, stubs.rsdp_slot_size, "the RSDP",
                              errp);
    }
    if (address_space_read(&address_space_memory, rsdp_addr, buf, 36) !=
        MEMTX_OK) {
        error_setg(errp, "cannot read the RSDP at 0x%" PRIx64, rsdp_addr);
        return false;
    }
    if (buf[15] >= 2) {             /* Revision: ACPI 2.0+ Length field */
        len = MAX(ldl_le_p(buf + 20), 20u);
    }
    if (len > stubs.rsdp_slot_size) {
        error_setg(errp, "the RSDP (%u bytes) does not fit the BIOS ROM's "
                   "slot (%u)", len, stubs.rsdp_slot_size);
        return false;
    }
    memset(buf + len, 0, sizeof(buf) - len);
    *fseg_rsdp = slot;
    return x86_boot_write(slot, buf, stubs.rsdp_slot_size, "the RSDP", errp);
}

bool bios_rom_install(uint64_t rsdp_addr, uint64_t *fseg_rsdp, GError **errp)
{
    return write_ivt(errp) && copy_rsdp(rsdp_addr, fseg_rsdp, errp);
}

/*
 * memhp: ACPI memory hotplug as a guest OS meets it (docs/hotplug.md,
 * "Memory hotplug"), run by run-memhp-test.py on pc or q35 with
 * -m 128M,slots=2,maxmem=1G and -append slots=2:
 *
 *   - the register block at 0x0a00 (QEMU's acpi_mem_hotplug.rst) shows
 *     every slot empty; "memhp: ready for plug"
 *   - the host object-adds a memory-backend-ram and device_adds a pc-dimm;
 *     an SCI reports GPE0 bit 3 (the FADT's GPE0 block); the guest does what the
 *     DSDT's MSCN does: selects each slot, finds the one with the insert
 *     event, reads its range (_CRS: MRBL/MRBH, MRLL/MRLH) and node, writes
 *     _OST (event 1, status 0: the host sees ACPI_DEVICE_OST) and clears
 *     the event
 *   - the range lies outside the boot memory map (ACPI is the only way to
 *     learn of it), is mapped by the kit's page tables, and takes a
 *     pattern: a word at both ends of every 4 KiB page and two whole
 *     64 KiB blocks, read back after everything was written;
 *     "memhp: used BASE SIZE" for the host's query-memory-devices check
 *   - device_del: the SCI with GPE0 bit 3, the remove event on the same slot; the guest
 *     clears it and ejects (_EJ0: MEJ); the slot reads empty and the host
 *     waits for DEVICE_DELETED.
 */
#include "guest.h"

#define MHP_BASE        0x0a00
#define MHP_ADDR_LO     (MHP_BASE + 0x00)   /* write: selector */
#define MHP_ADDR_HI     (MHP_BASE + 0x04)   /* write: _OST event */
#define MHP_SIZE_LO     (MHP_BASE + 0x08)   /* write: _OST status */
#define MHP_SIZE_HI     (MHP_BASE + 0x0c)
#define MHP_PROXIMITY   (MHP_BASE + 0x10)
#define MHP_STATUS      (MHP_BASE + 0x14)
#define MHP_ENABLED     0x01
#define MHP_INSERT      0x02
#define MHP_REMOVE      0x04
#define MHP_EJECT       0x08
#define GPE_MEMHP       0x08

#define WAIT_US         30000000
#define PAGE            4096u
#define BLOCK           65536u

#define SCI_VECTOR      0x41

static unsigned nr_slots;

static uint8_t slot_status(unsigned slot)
{
    outl(MHP_ADDR_LO, slot);
    return inb(MHP_STATUS);
}

/* MSCN: the first slot whose status has @event, or -1. */
static int find_event(uint8_t event)
{
    for (unsigned slot = 0; slot < nr_slots; slot++) {
        if (slot_status(slot) & event) {
            return slot;
        }
    }
    return -1;
}

static uint64_t read_pair(uint16_t lo, uint16_t hi)
{
    return inl(lo) | (uint64_t)inl(hi) << 32;
}

/* The value the pattern puts at @a: its address, scrambled, so a write
 * that lands on another page (or nowhere) is seen. */
static uint64_t pattern(uint64_t a)
{
    return a * 0x9e3779b97f4a7c15ull ^ 0x5a5aa5a5c3c33c3cull;
}

static void fill(uint64_t from, uint64_t len, uint64_t step)
{
    for (uint64_t a = from; a < from + len; a += step) {
        *(volatile uint64_t *)a = pattern(a);
    }
}

/* Number of words in [from, from + len) (every @step bytes) that do not
 * hold the pattern. */
static uint64_t check(uint64_t from, uint64_t len, uint64_t step)
{
    uint64_t bad = 0;

    for (uint64_t a = from; a < from + len; a += step) {
        bad += *(volatile uint64_t *)a != pattern(a);
    }
    return bad;
}

static bool in_boot_memory_map(uint64_t base, uint64_t size)
{
    for (int i = 0; i < boot.nr_mem; i++) {
        const struct mem_range *m = &boot.mem[i];

        if (m->base < base + size && base < m->base + m->len) {
            return true;
        }
    }
    return false;
}

static void use_memory(uint64_t base, uint64_t size)
{
    report(!in_boot_memory_map(base, size),
           "the DIMM is not in the boot memory map");
    if (!paging_map_up_to(base + size)) {
        report(false, "the kit maps up to %#lx", (unsigned long)(base + size));
        return;
    }
    fill(base, size, PAGE);
    fill(base + PAGE - 8, size, PAGE);
    fill(base, BLOCK, 8);
    fill(base + size - BLOCK, BLOCK, 8);
    report(check(base, size, PAGE) == 0 && check(base + PAGE - 8, size, PAGE) == 0,
           "both ends of each of its %lu pages hold the pattern",
           (unsigned long)(size / PAGE));
    report(check(base, BLOCK, 8) == 0 && check(base + size - BLOCK, BLOCK, 8) == 0,
           "its first and last 64 KiB hold the pattern word for word");
}

int main(void)
{
    report_prefix("memhp");
    nr_slots = cmdline_get_int("slots", 2);
    report(acpi_sci_enable(GPE_MEMHP, SCI_VECTOR),
           "the SCI routed, GPE0 bit 3 enabled (FADT GPE0 block %#x)",
           acpi_gpe0_block());
    for (unsigned slot = 0; slot < nr_slots; slot++) {
        report(slot_status(slot) == 0, "slot %u empty at boot", slot);
    }

    printf("memhp: ready for plug\n");
    report(acpi_wait_gpe(GPE_MEMHP, WAIT_US), "an SCI with GPE0 bit 3 after device_add");
    int slot = find_event(MHP_INSERT);
    report(slot >= 0, "insert event on slot %d", slot);
    if (slot < 0) {
        report_summary();
    }
    report(slot_status(slot) & MHP_ENABLED, "the slot is enabled");
    uint64_t base = read_pair(MHP_ADDR_LO, MHP_ADDR_HI);
    uint64_t size = read_pair(MHP_SIZE_LO, MHP_SIZE_HI);
    report(size && !(size % (2u << 20)) && !(base % (2u << 20)),
           "range %#lx + %#lx, 2 MiB aligned", (unsigned long)base,
           (unsigned long)size);
    report(base >= (4ull << 30), "above 4 GiB (the device-memory region)");
    report(inl(MHP_PROXIMITY) == 0, "node 0");
    outl(MHP_ADDR_HI, 0x01);                    /* _OST: device check */
    outl(MHP_SIZE_LO, 0);                       /* success */
    outb(MHP_STATUS, MHP_INSERT);
    report(slot_status(slot) == MHP_ENABLED, "insert event cleared");
    if (size) {
        use_memory(base, size);
    }
    printf("memhp: used %#lx %#lx slot %d\n", (unsigned long)base,
           (unsigned long)size, slot);

    report(acpi_wait_gpe(GPE_MEMHP, WAIT_US), "an SCI with GPE0 bit 3 after device_del");
    int gone = find_event(MHP_REMOVE);
    report(gone == slot, "remove event on slot %d", gone);
    if (gone == slot) {
        outl(MHP_ADDR_LO, slot);
        outb(MHP_STATUS, MHP_REMOVE);
        report(slot_status(slot) == MHP_ENABLED, "remove event cleared, still enabled");
        outb(MHP_STATUS, MHP_EJECT);            /* _EJ0: MEJ */
        report(slot_status(slot) == 0, "slot %d empty after the eject", slot);
        outl(MHP_ADDR_LO, slot);
        report(read_pair(MHP_SIZE_LO, MHP_SIZE_HI) == 0, "its size reads 0");
    }
    printf("memhp: ejected\n");
    /* The runner's byte on COM1: its QMP checks are done, exit now. */
    report(serial_getc(WAIT_US) >= 0, "the host checked the removal");
    report_summary();
}

/*
 * cpuhp: ACPI CPU hotplug as a guest OS meets it (docs/cpu.md, "CPU
 * hotplug").  Run by run-cpuhp-test.py with -smp 1,maxcpus=2 and
 * -append cpuhp=PORT (0xaf00 on pc, 0xcd8 on q35):
 *
 *   - "cpuhp: ready for plug"; the host device_adds the CPU of slot 1
 *   - the guest polls the register block as the DSDT's CSCN does:
 *     "get next CPU with event" finds slot 1 with the insert event and
 *     the enabled flag, command 3 gives its APIC ID; it clears the event
 *   - INIT-SIPI-SIPI to that APIC ID: the new CPU runs code (records its
 *     LAPIC ID at CPL 3), which must be the ID the interface gave
 *   - "cpuhp: ready for unplug"; the host device_dels it; the guest finds
 *     the remove event, writes _OST (0x103, 0) and ejects; the host
 *     waits for DEVICE_DELETED and checks query-cpus-fast.
 */
#include "guest.h"

#define R_SEL       0x00
#define R_DATA2     0x00
#define R_FLAGS     0x04
#define R_CMD       0x05
#define R_DATA      0x08
#define F_ENABLED   0x01
#define F_INSERT    0x02
#define F_REMOVE    0x04
#define F_EJECT     0x08

static uint16_t base;
static volatile uint32_t ap_lapic_id = 0xffffffff;

static void ap_main(int cpu)
{
    ap_lapic_id = lapic_id();
}

/* Command 0 from slot 0: the slot with a pending event whose flags have
 * @flag, or -1. */
static int find_event(uint8_t flag)
{
    outl(base + R_SEL, 0);
    outb(base + R_CMD, 0);
    uint32_t slot = inl(base + R_DATA);
    outl(base + R_SEL, slot);
    return (inb(base + R_FLAGS) & flag) ? (int)slot : -1;
}

int main(void)
{
    report_prefix("cpuhp");
    base = (uint16_t)cmdline_get_int("cpuhp", 0xaf00);

    outl(base + R_SEL, 0);
    report(inb(base + R_FLAGS) == F_ENABLED, "slot 0 (the BSP) enabled, no event");
    outl(base + R_SEL, 1);
    report(inb(base + R_FLAGS) == 0, "slot 1 empty before the plug");

    printf("cpuhp: ready for plug\n");
    int slot = -1;
    wait_until((slot = find_event(F_INSERT)) >= 0, 30000000);
    report(slot == 1, "insert event found on slot %d", slot);
    if (slot != 1)
        report_summary();
    report(inb(base + R_FLAGS) & F_ENABLED, "the new slot is enabled");
    outb(base + R_CMD, 3);
    uint32_t apic_id = inl(base + R_DATA);
    report(inl(base + R_DATA2) == 0, "APIC ID %u (high half 0)", apic_id);
    outb(base + R_FLAGS, F_INSERT);
    report(!(inb(base + R_FLAGS) & F_INSERT), "insert event cleared");

    bool ran = smp_start_ap(apic_id, ap_main, 10000000);
    report(ran, "the hot-added CPU ran code after INIT-SIPI-SIPI");
    report(ap_lapic_id == apic_id, "its LAPIC ID %u is the interface's %u", ap_lapic_id, apic_id);

    printf("cpuhp: ready for unplug\n");
    slot = -1;
    wait_until((slot = find_event(F_REMOVE)) >= 0, 30000000);
    report(slot == 1, "remove event found on slot %d", slot);
    if (slot == 1) {
        outb(base + R_CMD, 1);
        outl(base + R_DATA, 0x103);
        outb(base + R_CMD, 2);
        outl(base + R_DATA, 0);
        outb(base + R_FLAGS, F_REMOVE);
        outb(base + R_FLAGS, F_EJECT);
        outl(base + R_SEL, 1);
        report(inb(base + R_FLAGS) == 0, "slot 1 empty after the eject");
    }
    printf("cpuhp: done\n");
    /* The runner's byte on COM1: its QMP checks (query-cpus-fast after
     * DEVICE_DELETED) are done; exiting earlier would cut them off. */
    report(serial_getc(30000000) >= 0, "the host checked the removal");
    report_summary();
}

/*
 * pcihp: PCI hotplug as a guest OS meets it (docs/hotplug.md), run by
 * run-pcihp-test.py, which plays the operator over QMP.  Each round: the
 * guest prints "pcihp: ready for plug N", the host device_adds a
 * virtio-rng-pci; the guest sees it arrive, finds it in configuration
 * space, places its BAR in the window of the bus it sits on and reads
 * random bytes through a polled virtqueue ("pcihp: used N"); the host
 * device_dels it; the guest ejects it as an OS does ("pcihp: ejected
 * N") and the host waits for DEVICE_DELETED.
 *
 * mode=acpi (pc, -append "mode=acpi bridge=SLOT bsel=N"): a cold-plugged
 * pci-bridge at 00.SLOT, given bus 1 and a memory window by the guest (no
 * firmware ran).  The ACPI PCI hotplug block at 0xae00, as the DSDT's
 * PCNT and _EJ0 use it: GPE0 bit 1 (the FADT's GPE0 block) says something
 * changed, each bus selector's PCI_UP / PCI_DOWN name the slot, PCI_EJ
 * ejects it.  Round 0 is a slot of bus 0 (selector 0), round 1 a slot of
 * the bridge's bus, whose selector must be N.  Each ACPI round's device
 * comes with acpi-index=10+N, which PCI_AIDX must give once for its slot
 * (the DSDT's AIDX method, behind _DSM function 7).
 *
 * mode=acpi on q35 (-append "mode=acpi base=0xcc0 port=SLOT bsel=N"):
 * QEMU 7.2's default there, the ICH9's block at 0x0cc0 serving a
 * pcie-root-port's link; the one round is slot 0 of the port's bus
 * (selector N).  pcie.0 has no selector.  As QEMU 7.2, the port's slot
 * keeps its hot-plug capability bits but shows no presence (the DSDT's
 * _OSC withholds native hotplug from the OS).
 *
 * mode=pcie (q35, -append "mode=pcie port=SLOT"): a pcie-root-port at
 * 00.SLOT, native hotplug as Linux's pciehp drives it (PCIe Base 4.0,
 * 6.7): Presence Detect Changed with the presence and the link up, the
 * guest powers the slot on; removal is the attention button, which the
 * guest answers by blinking the power indicator and powering the slot
 * off.  Each event comes with the hot-plug interrupt (HPIE, the port's
 * MSI-X vector 0); the pc rounds take the SCI for GPE0 bit 1.
 */
#include "guest.h"

/* ACPI PCI hotplug registers (QEMU's block, include/hw/acpi/pcihp.h):
 * at 0xae00 on pc (PIIX4), at base= (0x0cc0) on q35 (ICH9). */
static uint16_t pcihp_base = 0xae00;
#define PCIHP_UP        (pcihp_base + 0x00)
#define PCIHP_DOWN      (pcihp_base + 0x04)
#define PCIHP_EJ        (pcihp_base + 0x08)
#define PCIHP_RMV       (pcihp_base + 0x0c)
#define PCIHP_SEL       (pcihp_base + 0x10)
#define PCIHP_AIDX      (pcihp_base + 0x14)
#define ACPI_INDEX_BASE 10          /* the host gives round N 10 + N */
#define GPE_PCIHP       0x02
#define MAX_SELECTORS   4           /* the selectors PCNT walks here */
#define SCI_VECTOR      0x41
#define ACPI_PCIHP_NO_SEL 256       /* past QEMU's selectors: reads 0 */

/* PCI-to-PCI bridge header (type 1) */
#define PCI_COMMAND     0x04
#define PCI_CLASS_REV   0x08
#define PCI_BUS_NUMBERS 0x18
#define PCI_IO_WINDOW   0x1c
#define PCI_MEM_WINDOW  0x20
#define PCI_PREF_WINDOW 0x24
#define PCI_CAP_PTR     0x34
#define CMD_IO_MEM_MASTER 0x7

/* PCI Express capability: Link Status and the slot registers */
#define PCI_CAP_ID_EXP  0x10
#define EXP_LNKSTA      0x12
#define EXP_SLTCAP      0x14
#define EXP_SLTCTL      0x18
#define EXP_SLTSTA      0x1a
#define LNKSTA_DLLLA    0x2000
#define SLTCAP_HPC      0x40
#define SLTCTL_ABPE     0x0001
#define SLTCTL_PDCE     0x0008
#define SLTCTL_HPIE     0x0020
#define SLTCTL_AIC_OFF  0x00c0
#define SLTCTL_PIC_ON   0x0100
#define SLTCTL_PIC_BLINK 0x0200
#define SLTCTL_PIC_OFF  0x0300
#define SLTCTL_PCC_OFF  0x0400
#define SLTCTL_DLLSCE   0x1000
#define SLTSTA_ABP      0x0001
#define SLTSTA_PDC      0x0008
#define SLTSTA_CC       0x0010
#define SLTSTA_PDS      0x0040
#define SLTSTA_DLLSC    0x0100
#define SLTSTA_EVENTS   0x011f

/* Where the hot-added functions' BAR 4 goes: bus 0's devices straight in
 * the PCI hole, a bridge's or port's devices inside its 1 MiB window. */
#define BUS0_BAR4       0xfd000000u
#define WINDOW_BASE     0xfe000000u
#define WINDOW_SIZE     0x00100000u
#define SECONDARY_BUS   1

#define WAIT_US         30000000    /* the host answers within seconds */

/* ---- a polled virtio-rng driver (modern transport, VIRTIO 1.2) ------ */

#define QSIZE           4
#define RNG_LEN         64

static struct vring_desc desc[QSIZE] __attribute__((aligned(16)));
static volatile uint16_t avail[2 + QSIZE + 1] __attribute__((aligned(2)));
static volatile uint32_t used[1 + 2 * QSIZE + 1] __attribute__((aligned(4)));
static uint8_t rng_buf[2][RNG_LEN] __attribute__((aligned(64)));

static bool virtio_rng_start(unsigned bdf, uintptr_t bar4,
                             struct virtio_pci_caps *c)
{
    virtio_pci_map(bdf, bar4, c);
    if (!c->common || !c->notify) {
        return false;
    }
    mmio_write8(c->common + C_STATUS, 0);               /* reset */
    mmio_write8(c->common + C_STATUS, 1 | 2);           /* ACK, DRIVER */
    mmio_write32(c->common + C_DFSELECT, 1);
    if (!(mmio_read32(c->common + C_DF) & 1)) {         /* VERSION_1 */
        return false;
    }
    mmio_write32(c->common + C_GFSELECT, 0);
    mmio_write32(c->common + C_GF, 0);
    mmio_write32(c->common + C_GFSELECT, 1);
    mmio_write32(c->common + C_GF, 1);
    mmio_write8(c->common + C_STATUS, 1 | 2 | 8);       /* FEATURES_OK */
    if (!(mmio_read8(c->common + C_STATUS) & 8)) {
        return false;
    }
    memset(desc, 0, sizeof(desc));
    memset((void *)avail, 0, sizeof(avail));
    memset((void *)used, 0, sizeof(used));
    mmio_write16(c->common + C_Q_SELECT, 0);
    mmio_write16(c->common + C_Q_SIZE, QSIZE);
    mmio_write64(c->common + C_Q_DESC, (uintptr_t)desc);
    mmio_write64(c->common + C_Q_AVAIL, (uintptr_t)avail);
    mmio_write64(c->common + C_Q_USED, (uintptr_t)used);
    mmio_write16(c->common + C_Q_MSIX, 0xffff);         /* polled */
    mmio_write16(c->common + C_Q_ENABLE, 1);
    mmio_write8(c->common + C_STATUS, 1 | 2 | 4 | 8);   /* DRIVER_OK */
    return mmio_read8(c->common + C_STATUS) == 0xf;
}

/* One request for RNG_LEN bytes into @buf, the used ring polled; true
 * when the device answered with the whole buffer, not all zero. */
static bool virtio_rng_request(const struct virtio_pci_caps *c,
                               uint16_t n, uint8_t *buf)
{
    uint16_t slot = n % QSIZE;
    uintptr_t doorbell;

    mmio_write16(c->common + C_Q_SELECT, 0);
    doorbell = c->notify + mmio_read16(c->common + C_Q_NOFF) * c->notify_mult;
    memset(buf, 0, RNG_LEN);
    desc[slot] = (struct vring_desc){ (uintptr_t)buf, RNG_LEN, 2, 0 };
    avail[2 + slot] = slot;
    barrier();
    avail[1] = n + 1;
    barrier();
    mmio_write16(doorbell, 0);
    if (!wait_until((uint16_t)(used[0] >> 16) == n + 1, 1000000)) {
        return false;
    }
    if (used[1 + 2 * slot] != slot || used[2 + 2 * slot] != RNG_LEN) {
        return false;
    }
    for (unsigned i = 0; i < RNG_LEN; i++) {
        if (buf[i]) {
            return true;
        }
    }
    return false;
}

/* The hot-added function at @bdf: a virtio-rng-pci (transitional or
 * modern ID), its BAR 4 at @bar4, two requests answered with different
 * bytes; then reset, as a driver leaves a device it lets go. */
static void use_rng(unsigned bdf, uintptr_t bar4)
{
    uint32_t id = pci_cfg_read32(bdf, 0);
    struct virtio_pci_caps c;

    report(id == 0x10051af4 || id == 0x10441af4,
           "%02x:%02x.%x is a virtio-rng (ID %08x)", bdf >> 8,
           (bdf >> 3) & 0x1f, bdf & 7, id);
    if (!virtio_rng_start(bdf, bar4, &c)) {
        report(false, "virtio-rng: FEATURES_OK and DRIVER_OK with BAR 4 at %#lx",
               (unsigned long)bar4);
        return;
    }
    report(pci_cfg_read32(bdf, 0x20) == (bar4 | 0xc) && !pci_cfg_read32(bdf, 0x24),
           "BAR 4 reads back %#lx, 64-bit prefetchable", (unsigned long)bar4);
    bool ok = virtio_rng_request(&c, 0, rng_buf[0]) &&
              virtio_rng_request(&c, 1, rng_buf[1]);
    report(ok, "two requests of %u random bytes answered", RNG_LEN);
    report(ok && memcmp(rng_buf[0], rng_buf[1], RNG_LEN),
           "the two buffers differ");
    mmio_write8(c.common + C_STATUS, 0);
}

/* "pcihp: WHAT" and wait for the runner's byte on COM1: it sends one when
 * its QMP checks of this step are done, so the guest neither runs ahead
 * of them nor exits under them. */
static void PRINTF_FMT(1, 2) wait_for_host(const char *fmt, ...)
{
    char what[64];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    printf("pcihp: %s\n", what);
    report(serial_getc(WAIT_US) >= 0, "the host checked '%s'", what);
}

/* ---- bridges and ports: what firmware would have done ---------------- */

/* Bus numbers 0 -> SECONDARY_BUS, the memory window at WINDOW_BASE, the
 * I/O and prefetchable windows closed (base above limit), forwarding on. */
static void bridge_open(unsigned bdf)
{
    uint32_t mem = WINDOW_BASE >> 16 | (WINDOW_BASE + WINDOW_SIZE - 1) >> 16 << 16;

    pci_cfg_write32(bdf, PCI_BUS_NUMBERS,
                    SECONDARY_BUS << 16 | SECONDARY_BUS << 8 | 0);
    pci_cfg_write32(bdf, PCI_IO_WINDOW, 0x00f0);
    pci_cfg_write32(bdf, PCI_MEM_WINDOW, mem & 0xfff0fff0u);
    pci_cfg_write32(bdf, PCI_PREF_WINDOW, 0x0000fff0);
    pci_cfg_write16(bdf, PCI_COMMAND, CMD_IO_MEM_MASTER);
}

static bool is_bridge(unsigned bdf, uint32_t want_id)
{
    return pci_cfg_read32(bdf, 0) == want_id &&
           pci_cfg_read32(bdf, PCI_CLASS_REV) >> 16 == 0x0604;
}

/* ---- mode=acpi: the PIIX4 hotplug block ------------------------------ */

static uint32_t sel_read(unsigned sel, uint16_t reg)
{
    outl(PCIHP_SEL, sel);
    return inl(reg);
}

/* PCNT over the selectors the guest knows: the first one whose register
 * @reg has a bit; *slots gets the bits. */
static int find_selector(uint16_t reg, uint32_t *slots)
{
    for (unsigned sel = 0; sel < MAX_SELECTORS; sel++) {
        uint32_t v = sel_read(sel, reg);

        if (v) {
            *slots = v;
            return sel;
        }
    }
    return -1;
}

/* AIDX (bus, slot): write the slot bit under the selector, read the
 * device's acpi-index once. */
static void check_acpi_index(unsigned sel, uint32_t slots, uint32_t want)
{
    outl(PCIHP_SEL, sel);
    outl(PCIHP_AIDX, slots);
    uint32_t got = inl(PCIHP_AIDX);
    report(got == want, "PCI_AIDX gives the slot's acpi-index %u (want %u)",
           got, want);
    report(inl(PCIHP_AIDX) == 0, "PCI_AIDX reads it once");
}

static void acpi_round(int round, unsigned want_sel, unsigned bus, uintptr_t bar4)
{
    uint32_t slots = 0;
    int sel;

    printf("pcihp: ready for plug %d\n", round);
    report(acpi_wait_gpe(GPE_PCIHP, WAIT_US),
           "round %d: an SCI with GPE0 bit 1 after device_add", round);
    sel = find_selector(PCIHP_UP, &slots);
    report(sel == (int)want_sel && !(slots & (slots - 1)),
           "PCI_UP names one slot (%#x) under selector %d (want %u)",
           slots, sel, want_sel);
    if (sel != (int)want_sel || !slots) {
        report_summary();
    }
    report(sel_read(sel, PCIHP_UP) == 0, "PCI_UP cleared by the read");
    unsigned slot = __builtin_ctz(slots);
    unsigned bdf = PCI_BDF(bus, slot, 0);
    report(sel_read(sel, PCIHP_RMV) & slots, "the new slot is removable");
    check_acpi_index(sel, slots, ACPI_INDEX_BASE + round);
    use_rng(bdf, bar4);
    printf("pcihp: used %d bus %u slot %u bar4 %#lx\n", round, bus, slot,
           (unsigned long)bar4);

    report(acpi_wait_gpe(GPE_PCIHP, WAIT_US),
           "round %d: an SCI with GPE0 bit 1 after device_del", round);
    uint32_t down = 0;
    int down_sel = find_selector(PCIHP_DOWN, &down);
    report(down_sel == sel && down == slots,
           "PCI_DOWN names slot %u (%#x) under selector %d (want %d)",
           slot, down, down_sel, sel);
    report(pci_cfg_read32(bdf, 0) != 0xffffffff,
           "the device stays until the guest ejects it");
    outl(PCIHP_SEL, sel);                       /* _EJ0: PCEJ (BSEL, _SUN) */
    outl(PCIHP_EJ, slots);
    report(pci_cfg_read32(bdf, 0) == 0xffffffff, "ejected: the slot reads all-ones");
    report(sel_read(sel, PCIHP_DOWN) == 0, "PCI_DOWN clear after the eject");
    wait_for_host("ejected %d", round);
}

static uint8_t find_cap(unsigned bdf, uint8_t id);

/* q35: a root port's link served by the ICH9's block, one round. */
static void acpi_q35_mode(unsigned bsel)
{
    unsigned port = PCI_BDF(0, cmdline_get_int("port", 5), 0);
    uint8_t exp;

    report(is_bridge(port, 0x000c1b36), "pcie-root-port (1b36:000c) at 00:%02x.0",
           port >> 3);
    bridge_open(port);
    exp = find_cap(port, PCI_CAP_ID_EXP);
    report(exp && (pci_cfg_read32(port, exp + EXP_SLTCAP) & SLTCAP_HPC),
           "the slot keeps its hot-plug capable bit (QEMU 7.2)");
    report(sel_read(bsel, PCIHP_RMV) == 0xffffffff,
           "selector %u: the port's link is removable", bsel);
    report(sel_read(ACPI_PCIHP_NO_SEL, PCIHP_UP) == 0,
           "a selector without a bus reads 0");
    acpi_round(0, bsel, SECONDARY_BUS, WINDOW_BASE);
    report(!(pci_cfg_read16(port, exp + EXP_SLTSTA) & SLTSTA_PDS),
           "ACPI hotplug: the port shows no presence (QEMU 7.2)");
}

static void acpi_mode(void)
{
    unsigned bridge = PCI_BDF(0, cmdline_get_int("bridge", 5), 0);
    unsigned bsel = cmdline_get_int("bsel", 1);

    pcihp_base = cmdline_get_int("base", 0xae00);
    report(acpi_sci_enable(GPE_PCIHP, SCI_VECTOR),
           "the SCI routed, GPE0 bit 1 enabled (FADT GPE0 block %#x)",
           acpi_gpe0_block());
    if (pcihp_base != 0xae00) {
        acpi_q35_mode(bsel);
        return;
    }
    report(is_bridge(bridge, 0x00011b36), "pci-bridge (1b36:0001) at 00:%02x.0",
           bridge >> 3);
    bridge_open(bridge);
    report(!(sel_read(0, PCIHP_RMV) >> (bridge >> 3) & 1),
           "selector 0: the cold-plugged bridge's slot is not removable");
    report(sel_read(bsel, PCIHP_RMV) == 0xffffffff,
           "selector %u: every slot of the bridge's bus is removable", bsel);
    acpi_round(0, 0, 0, BUS0_BAR4);
    acpi_round(1, bsel, SECONDARY_BUS, WINDOW_BASE);
}

/* ---- mode=pcie: a root port's slot ----------------------------------- */

static unsigned port;
static uint8_t exp_cap;

static uint8_t find_cap(unsigned bdf, uint8_t id)
{
    for (uint8_t cap = pci_cfg_read8(bdf, PCI_CAP_PTR); cap;
         cap = pci_cfg_read8(bdf, cap + 1)) {
        if (pci_cfg_read8(bdf, cap) == id) {
            return cap;
        }
    }
    return 0;
}

/* The port's hot-plug interrupt: its MSI-X vector 0, through BAR 0
 * (placed on bus 0, outside the port's window), to this CPU. */
#define PCI_CAP_ID_MSIX 0x11
#define PORT_BAR0       0xfd100000u
#define HP_VECTOR       0x42

static volatile uint32_t hp_irqs;

static void hotplug_irq(int vector)
{
    hp_irqs++;
    lapic_eoi();
}

static bool port_msix_enable(void)
{
    uint8_t cap = find_cap(port, PCI_CAP_ID_MSIX);
    uintptr_t entry;

    if (!cap || (pci_cfg_read32(port, cap + 4) & 7) != 0) {
        return false;                   /* the table is in BAR 0 */
    }
    pci_cfg_write32(port, 0x10, PORT_BAR0);
    entry = PORT_BAR0 + (pci_cfg_read32(port, cap + 4) & ~7u);
    mmio_write32(entry, 0xfee00000u | lapic_id() << 12);
    mmio_write32(entry + 4, 0);
    mmio_write32(entry + 8, HP_VECTOR);
    mmio_write32(entry + 12, 0);                        /* unmasked */
    irq_set_handler(HP_VECTOR, hotplug_irq);
    lapic_enable();
    irq_enable();
    pci_cfg_write32(port, cap, pci_cfg_read32(port, cap) | 0x80000000u);
    return true;
}

/* Wait for the hot-plug interrupt that follows @before interrupts. */
static bool wait_hotplug_irq(uint32_t before)
{
    return wait_until(hp_irqs != before, WAIT_US);
}

static uint16_t slot_sta(void) { return pci_cfg_read16(port, exp_cap + EXP_SLTSTA); }
static uint16_t slot_ctl(void) { return pci_cfg_read16(port, exp_cap + EXP_SLTCTL); }
static bool link_up(void) { return pci_cfg_read16(port, exp_cap + EXP_LNKSTA) & LNKSTA_DLLLA; }

static void slot_ack(uint16_t events)
{
    pci_cfg_write16(port, exp_cap + EXP_SLTSTA, events);
}

/* A Slot Control command; pciehp waits for Command Completed. */
static bool slot_command(uint16_t ctl)
{
    slot_ack(SLTSTA_CC);
    pci_cfg_write16(port, exp_cap + EXP_SLTCTL, ctl);
    bool done = wait_until(slot_sta() & SLTSTA_CC, 1000000);
    slot_ack(SLTSTA_CC);
    return done;
}

static void pcie_mode(void)
{
    const uint16_t events_on = SLTCTL_ABPE | SLTCTL_PDCE | SLTCTL_DLLSCE |
                               SLTCTL_HPIE;
    uint32_t irqs;
    unsigned bdf = PCI_BDF(SECONDARY_BUS, 0, 0);

    port = PCI_BDF(0, cmdline_get_int("port", 5), 0);
    report(is_bridge(port, 0x000c1b36), "pcie-root-port (1b36:000c) at 00:%02x.0",
           port >> 3);
    exp_cap = find_cap(port, PCI_CAP_ID_EXP);
    report(exp_cap && pci_cfg_read32(port, exp_cap + EXP_SLTCAP) & SLTCAP_HPC,
           "PCIe capability at %#x, slot hot-plug capable", exp_cap);
    if (!exp_cap) {
        report_summary();
    }
    bridge_open(port);
    report(port_msix_enable(), "the port's MSI-X vector 0 programmed");
    report(!(slot_sta() & SLTSTA_PDS) && !link_up(), "empty slot, link down");
    report((slot_ctl() & SLTCTL_PCC_OFF) && (slot_ctl() & 0x300) == SLTCTL_PIC_OFF,
           "an empty slot is powered off, power indicator off");
    slot_ack(SLTSTA_EVENTS);
    report(slot_command(SLTCTL_PCC_OFF | SLTCTL_PIC_OFF | SLTCTL_AIC_OFF | events_on),
           "Command Completed after enabling the events and HPIE");
    report(hp_irqs == 0, "no hot-plug interrupt while nothing happened");

    irqs = hp_irqs;
    printf("pcihp: ready for plug 0\n");
    report(wait_hotplug_irq(irqs), "a hot-plug interrupt after device_add");
    report(slot_sta() & SLTSTA_PDC,
           "Presence Detect Changed (status %#x)", slot_sta());
    report(slot_sta() & SLTSTA_PDS, "Presence Detect State set");
    report(link_up(), "Data Link Layer Link Active");
    slot_ack(slot_sta() & SLTSTA_EVENTS);
    report(!(slot_sta() & (SLTSTA_PDC | SLTSTA_ABP)), "events acknowledged");
    report(slot_command(SLTCTL_PIC_ON | SLTCTL_AIC_OFF | events_on),
           "slot powered on, power indicator on");
    use_rng(bdf, WINDOW_BASE);
    irqs = hp_irqs;                 /* before the host may device_del */
    printf("pcihp: used 0 bus %u slot 0 bar4 %#x\n", SECONDARY_BUS, WINDOW_BASE);

    /* device_del: the attention button; pciehp blinks the power
     * indicator (the 5 s abort window, cut short here) and powers off. */
    report(wait_hotplug_irq(irqs), "a hot-plug interrupt after device_del");
    report(slot_sta() & SLTSTA_ABP, "Attention Button Pressed");
    slot_ack(SLTSTA_ABP);
    report(slot_command(SLTCTL_PIC_BLINK | SLTCTL_AIC_OFF | events_on),
           "power indicator blinking");
    report(pci_cfg_read32(bdf, 0) != 0xffffffff,
           "the device stays until the guest powers the slot off");
    irqs = hp_irqs;
    report(slot_command(SLTCTL_PCC_OFF | SLTCTL_PIC_OFF | SLTCTL_AIC_OFF | events_on),
           "slot powered off");
    report(wait_hotplug_irq(irqs), "a hot-plug interrupt for the removal");
    report(!(slot_sta() & SLTSTA_PDS) && (slot_sta() & SLTSTA_PDC),
           "presence gone, Presence Detect Changed (status %#x)", slot_sta());
    report(!link_up(), "link down");
    report(pci_cfg_read32(bdf, 0) == 0xffffffff, "the link's bus reads all-ones");
    slot_ack(SLTSTA_EVENTS);
    wait_for_host("ejected %d", 0);
}

int main(void)
{
    char mode[8];

    report_prefix("pcihp");
    if (!cmdline_get("mode", mode, sizeof(mode))) {
        report(false, "-append mode=acpi|pcie");
    } else if (!strcmp(mode, "acpi")) {
        acpi_mode();
    } else if (!strcmp(mode, "pcie")) {
        pcie_mode();
    } else {
        report(false, "unknown mode '%s'", mode);
    }
    printf("pcihp: done\n");
    report_summary();
}

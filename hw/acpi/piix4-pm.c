/*
 * Intel 82371AB (PIIX4) function 3: power management (ACPI).
 *
 * Spec: Intel 82371AB PIIX4 datasheet, 3.4 (function 3 configuration:
 * PMBA 40h, DEVACTB 58h, PMREGMISC 80h) and 7.2 (PM I/O registers);
 * ACPI 2.0, 4.7.2.1 (PM timer), 4.7.3.1 (PM1 status/enable), 4.7.3.2
 * (PM1 control: SCI_EN, SLP_TYP, SLP_EN), 4.7.1.1 (SCI: level, active
 * high), 4.7.2.2 / 5.2.9 (SMI_CMD, ACPI_ENABLE/ACPI_DISABLE).
 *
 * What QEMU's piix4-pm does, and so what its ACPI tables describe:
 *   PM1 event/control and the PM timer at PMBA (firmware programs 0x600)
 *     once PMIOSE is set; the rest of the 64-byte block reads all-ones.
 *   GPE0 (2 status bytes, write-1-to-clear, then 2 enable bytes) fixed at
 *     0xafe0; APM control/status at 0xb2/0xb3.
 *   SCI on ISA IRQ 9, high while an enabled PM1 event (timer, power
 *     button, global lock, RTC) or an enabled GPE is pending.
 *   No SMM: DEVACTB.APMC_EN is set at reset so SeaBIOS skips its SMM set-
 *     up, SCI_EN is set at reset (ACPI-only hardware), and writes of
 *     ACPI_ENABLE/ACPI_DISABLE to 0xb2 set/clear SCI_EN directly.
 *   SLP_EN with SLP_TYP 0 (S5) or 2 (S4) is a guest shutdown; 1 (S3) is
 *     not supported (no suspend) and is ignored with a message, so the
 *     DSDT should not offer _S3.
 *   The timer status bit (TMR_STS) sets whenever bit 23 of the timer
 *     changes; the timer counts the virtual clock.
 *   The power button (QMP system_powerdown) sets PWRBTN_STS only while
 *     PWRBTN_EN is set, as QEMU: a press before the OS enabled it is lost.
 *   ACPI PCI hotplug (hw/acpi/pcihp.c): the register block at 0xae00 and
 *     GPE0 bit 1 for pci.0 (acpi-root-pci-hotplug) and for the buses
 *     behind cold-plugged pci-bridges (acpi-pci-hotplug-with-bridge-
 *     support); with both off there is no block, and a bus not served
 *     refuses device_add as QEMU's does ("Bus 'X' does not support
 *     hotplugging").
 * The SMBus controller (PIIX4 function 3 SMBBA 90h) is not modelled.
 */
#include "qemu/osdep.h"
#include "hw/acpi/piix4-pm.h"
#include "hw/acpi/pcihp.h"
#include "hw/acpi/memory_hotplug.h"
#include "hw/acpi/gpe-event.h"
#include "hw/boards.h"
#include "hw/acpi/cpu-hotplug.h"
#include "hw/pci/pci.h"
#include "hw/isa.h"
#include "hw/i386/pc-layout.h"
#include "system/runstate.h"
#include "system/timer.h"

#define PIIX4_PM_REVISION       0x03
#define PIIX4_DEVACTB_BYTE3     (PIIX4_DEVACTB + 3)
#define PIIX4_DEVRESD           0x5f    /* device resource D */
#define PIIX4_DEVRESA_HI        0x63
#define PIIX4_DEVRESB_HI        0x67
#define PIIX4_DEVRESD_DEFAULT   0x10    /* values QEMU reports */
#define PIIX4_DEVRESA_HI_DEFAULT 0x60
#define PIIX4_DEVRES_SERIAL_A   0x08    /* COM1 decoded */
#define PIIX4_DEVRES_SERIAL_B   0x90    /* COM2 decoded */
#define COM1_PORT               0x3f8
#define COM2_PORT               0x2f8
#define GPE0_STS                0
#define GPE0_EN                 2
#define GPE0_HALF               (PC_ACPI_GPE0_LEN / 2)
#define APM_CNT                 0
#define APM_STS                 1
#define APM_IO_SIZE             2
#define PM1_SCI_EVENTS          (ACPI_PM1_RTC | ACPI_PM1_PWRBTN | \
                                 ACPI_PM1_GBL | ACPI_PM1_TMR)
#define PM_TMR_OVERFLOW_BIT     0x800000LL

typedef struct PIIX4PMState {
    PCIDevice parent;

    uint32_t pm_io_base_preset;     /* x-pm-io-base */
    uint8_t disable_s3, disable_s4; /* QEMU's names; S3 cannot be offered */
    bool hotplug_with_bridges;      /* acpi-pci-hotplug-with-bridge-support */
    bool root_hotplug;              /* acpi-root-pci-hotplug */
    AcpiPciHpState pcihp;
    MemHotplugState memhp;          /* 0x0a00, GPE0 bit 3 (-m slots=) */
    AcpiCpuHpState cpuhp;       /* hw/acpi/cpu-hotplug.c, at 0xaf00 */

    uint16_t pm1_sts;
    uint16_t pm1_en;
    uint16_t pm1_cnt;
    int64_t tmr_overflow;           /* timer tick at which TMR_STS sets */
    uint8_t gpe_sts[GPE0_HALF];
    uint8_t gpe_en[GPE0_HALF];
    uint8_t apmc;
    uint8_t apms;

    QEMUTimer *tmr_timer;
    qemu_irq sci;
    MemoryRegion pm_io;
    MemoryRegion gpe_io;
    MemoryRegion apm_io;
    bool regions_ready;
} PIIX4PMState;

/* ---- PM timer (ACPI 4.7.2.1) ---------------------------------------- */

static int64_t pm_tmr_ticks(void)
{
    int64_t ns = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);

    return (int64_t)((__int128)ns * ACPI_PM_TIMER_FREQUENCY /
                     NANOSECONDS_PER_SECOND);
}

/* The first virtual-clock time at which the timer reads @ticks. */
static int64_t pm_tmr_ticks_to_ns(int64_t ticks)
{
    __int128 n = (__int128)ticks * NANOSECONDS_PER_SECOND;

    return (int64_t)((n + ACPI_PM_TIMER_FREQUENCY - 1) /
                     ACPI_PM_TIMER_FREQUENCY);
}

static void pm_tmr_calc_overflow(PIIX4PMState *s)
{
    s->tmr_overflow = (pm_tmr_ticks() + PM_TMR_OVERFLOW_BIT) &
                      ~(PM_TMR_OVERFLOW_BIT - 1);
}

/* PM1 status, with TMR_STS caught up to the clock. */
static uint16_t pm1_get_sts(PIIX4PMState *s)
{
    if (pm_tmr_ticks() >= s->tmr_overflow) {
        s->pm1_sts |= ACPI_PM1_TMR;
    }
    return s->pm1_sts;
}

static bool gpe_pending(const PIIX4PMState *s)
{
    for (unsigned i = 0; i < GPE0_HALF; i++) {
        if (s->gpe_sts[i] & s->gpe_en[i]) {
            return true;
        }
    }
    return false;
}

static void pm_update_sci(PIIX4PMState *s)
{
    uint16_t sts = pm1_get_sts(s);
    bool level = (sts & s->pm1_en & PM1_SCI_EVENTS) || gpe_pending(s);

    qemu_set_irq(s->sci, level);
    if ((s->pm1_en & ACPI_PM1_TMR) && !(sts & ACPI_PM1_TMR)) {
        timer_mod(s->tmr_timer, pm_tmr_ticks_to_ns(s->tmr_overflow));
    } else {
        timer_del(s->tmr_timer);
    }
}

static void pm_tmr_expired(void *opaque)
{
    pm_update_sci(opaque);
}

/* ---- PM1 registers -------------------------------------------------- */

static void pm1_write_sts(PIIX4PMState *s, uint16_t val)
{
    uint16_t sts = pm1_get_sts(s);

    if (sts & val & ACPI_PM1_TMR) {
        pm_tmr_calc_overflow(s);
    }
    s->pm1_sts &= ~val;
}

static void pm_sleep(PIIX4PMState *s, unsigned slp_typ)
{
    static bool warned_s3;

    switch (slp_typ) {
    case PIIX4_SLP_TYP_S5:
    case PIIX4_SLP_TYP_S4:
        qemu_system_shutdown_request(SHUTDOWN_CAUSE_GUEST_SHUTDOWN);
        break;
    case PIIX4_SLP_TYP_S3:
        if (!warned_s3) {
            warned_s3 = true;
            error_report("PIIX4_PM: the guest asked for S3 (suspend to RAM), "
                         "which is not supported; ignored");
        }
        break;
    default:
        break;
    }
}

static void pm1_write_cnt(PIIX4PMState *s, uint16_t val, uint16_t mask)
{
    uint16_t cnt = (s->pm1_cnt & ~mask) | (val & mask);

    s->pm1_cnt = cnt & ~ACPI_PM1_CNT_SLP_EN;
    if (cnt & ACPI_PM1_CNT_SLP_EN) {
        pm_sleep(s, (cnt & ACPI_PM1_CNT_SLP_TYP) >> ACPI_PM1_CNT_SLP_TYP_SHIFT);
    }
}

/* The 64-byte PM block as bytes (holes read all-ones). */
static void pm_io_snapshot(PIIX4PMState *s, uint8_t *regs)
{
    memset(regs, 0xff, PIIX4_PM_IO_SIZE);
    stw_le_p(regs + ACPI_PM1_STS, pm1_get_sts(s));
    stw_le_p(regs + ACPI_PM1_EN, s->pm1_en);
    stw_le_p(regs + ACPI_PM1_CNT, s->pm1_cnt);
    stl_le_p(regs + ACPI_PM_TMR, pm_tmr_ticks() & ACPI_PM_TIMER_MASK);
}

static uint64_t pm_io_read(void *opaque, uint64_t addr, unsigned size)
{
    uint8_t regs[PIIX4_PM_IO_SIZE];
    uint64_t val = 0;

    pm_io_snapshot(opaque, regs);
    for (unsigned i = 0; i < size; i++) {
        uint8_t b = addr + i < PIIX4_PM_IO_SIZE ? regs[addr + i] : 0xff;
        val |= (uint64_t)b << (i * 8);
    }
    return val;
}

/* The bytes of a 16-bit register at @reg that [addr, addr+size) writes. */
static uint16_t word_write_mask(uint64_t addr, unsigned size, unsigned reg,
                                uint64_t val, uint16_t *out)
{
    uint16_t mask = 0, v = 0;

    for (unsigned i = 0; i < 2; i++) {
        uint64_t a = reg + i;
        if (a >= addr && a < addr + size) {
            mask |= 0xff << (i * 8);
            v |= ((val >> ((a - addr) * 8)) & 0xff) << (i * 8);
        }
    }
    *out = v;
    return mask;
}

static void pm_io_write(void *opaque, uint64_t addr, uint64_t val,
                        unsigned size)
{
    PIIX4PMState *s = opaque;
    uint16_t v, mask;

    mask = word_write_mask(addr, size, ACPI_PM1_STS, val, &v);
    if (mask) {
        pm1_write_sts(s, v & mask);
    }
    mask = word_write_mask(addr, size, ACPI_PM1_EN, val, &v);
    if (mask) {
        s->pm1_en = (s->pm1_en & ~mask) | (v & mask);
    }
    mask = word_write_mask(addr, size, ACPI_PM1_CNT, val, &v);
    if (mask) {
        pm1_write_cnt(s, v, mask);
    }
    pm_update_sci(s);
}

static const MemoryRegionOps pm_io_ops = {
    .read = pm_io_read,
    .write = pm_io_write,
    .min_access_size = 1,
    .max_access_size = 4,
};

/* ---- GPE0 block ----------------------------------------------------- */

static uint64_t gpe_read(void *opaque, uint64_t addr, unsigned size)
{
    PIIX4PMState *s = opaque;
    uint64_t val = 0;

    for (unsigned i = 0; i < size; i++) {
        uint64_t a = addr + i;
        uint8_t b = 0xff;
        if (a < GPE0_EN) {
            b = s->gpe_sts[a - GPE0_STS];
        } else if (a < PC_ACPI_GPE0_LEN) {
            b = s->gpe_en[a - GPE0_EN];
        }
        val |= (uint64_t)b << (i * 8);
    }
    return val;
}

static void gpe_write(void *opaque, uint64_t addr, uint64_t val,
                      unsigned size)
{
    PIIX4PMState *s = opaque;

    for (unsigned i = 0; i < size; i++) {
        uint64_t a = addr + i;
        uint8_t b = val >> (i * 8);
        if (a < GPE0_EN) {
            s->gpe_sts[a - GPE0_STS] &= ~b;
        } else if (a < PC_ACPI_GPE0_LEN) {
            s->gpe_en[a - GPE0_EN] = b;
        }
    }
    pm_update_sci(s);
}

static const MemoryRegionOps gpe_ops = {
    .read = gpe_read,
    .write = gpe_write,
    .min_access_size = 1,
    .max_access_size = 4,
};

/* ---- APM control/status (0xb2/0xb3) --------------------------------- */

static uint64_t apm_read(void *opaque, uint64_t addr, unsigned size)
{
    PIIX4PMState *s = opaque;

    return addr == APM_CNT ? s->apmc : s->apms;
}

static void apm_write(void *opaque, uint64_t addr, uint64_t val,
                      unsigned size)
{
    PIIX4PMState *s = opaque;

    if (addr != APM_CNT) {
        s->apms = val;
        return;
    }
    s->apmc = val;
    /* With no SMM, the "SMI handler" is this: ACPI 4.7.2.5 / 5.2.9. */
    if (val == PC_ACPI_ENABLE) {
        s->pm1_cnt |= ACPI_PM1_CNT_SCI_EN;
    } else if (val == PC_ACPI_DISABLE) {
        s->pm1_cnt &= ~ACPI_PM1_CNT_SCI_EN;
    }
}

static const MemoryRegionOps apm_ops = {
    .read = apm_read,
    .write = apm_write,
    .min_access_size = 1,
    .max_access_size = 1,
};

/* ---- configuration space -------------------------------------------- */

static void pm_io_space_update(PIIX4PMState *s)
{
    const uint8_t *c = s->parent.config;
    uint16_t base = pci_get_long(c + PIIX4_PMBA) & PIIX4_PMBA_MASK;

    if (!s->regions_ready) {
        return;
    }
    memory_region_transaction_begin();
    memory_region_set_address(&s->pm_io, base);
    memory_region_set_enabled(&s->pm_io, c[PIIX4_PMREGMISC] & PIIX4_PMIOSE);
    memory_region_transaction_commit();
}

static void piix4_pm_config_write(PCIDevice *d, uint32_t addr, uint32_t val,
                                  unsigned len)
{
    pci_default_write_config(d, addr, val, len);
    if ((addr < PIIX4_PMBA + 4 && addr + len > PIIX4_PMBA) ||
        (addr <= PIIX4_PMREGMISC && addr + len > PIIX4_PMREGMISC)) {
        pm_io_space_update((PIIX4PMState *)d);
    }
}

/* Which legacy devices decode their ports (DEVRES registers, as QEMU). */
static uint8_t piix4_devres_serial(void)
{
    uint8_t v = 0;

    if (address_space_lookup(&address_space_io, COM1_PORT)) {
        v |= PIIX4_DEVRES_SERIAL_A;
    }
    if (address_space_lookup(&address_space_io, COM2_PORT)) {
        v |= PIIX4_DEVRES_SERIAL_B;
    }
    return v;
}

/* ---- power button ----------------------------------------------------- */

static void piix4_pm_powerdown(void *opaque)
{
    PIIX4PMState *s = opaque;

    if (s->pm1_en & ACPI_PM1_PWRBTN) {
        s->pm1_sts |= ACPI_PM1_PWRBTN;
        pm_update_sci(s);
    }
}

/* ---- PCI hotplug (hw/acpi/pcihp.c) ---------------------------------- */

static void piix4_pm_reset_hotplug(void *opaque);
static void piix4_pm_reset_cpuhp(void *opaque);

static void piix4_pm_send_gpe(void *opaque, unsigned mask)
{
    PIIX4PMState *s = opaque;

    s->gpe_sts[0] |= mask;
    pm_update_sci(s);
}

/* ---- life cycle ----------------------------------------------------- */

static bool piix4_pm_realize(DeviceState *dev, GError **errp)
{
    PIIX4PMState *s = (PIIX4PMState *)dev;
    uint8_t *wmask = s->parent.wmask;

    if (!s->disable_s3) {
        error_setg(errp, "PIIX4_PM: disable_s3=0: S3 (suspend to RAM) is "
                   "not supported by kvmpc");
        return false;
    }
    if (s->pm_io_base_preset & ~PIIX4_PMBA_MASK) {
        error_setg(errp, "PIIX4_PM: x-pm-io-base 0x%x is not a 64-byte "
                   "aligned port below 0x10000", s->pm_io_base_preset);
        return false;
    }
    pci_set_long(wmask + PIIX4_PMBA, PIIX4_PMBA_MASK);
    wmask[PIIX4_PMREGMISC] = PIIX4_PMIOSE;

    s->sci = isa_get_irq(PC_ACPI_SCI_IRQ);
    s->tmr_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, pm_tmr_expired, s);
    memory_region_init_io(&s->pm_io, &pm_io_ops, s, "piix4-pm",
                          PIIX4_PM_IO_SIZE);
    memory_region_init_io(&s->gpe_io, &gpe_ops, s, "acpi-gpe0",
                          PC_ACPI_GPE0_LEN);
    memory_region_init_io(&s->apm_io, &apm_ops, s, "apm-io", APM_IO_SIZE);
    memory_region_set_enabled(&s->pm_io, false);
    memory_region_transaction_begin();
    memory_region_add_subregion(get_system_io(), 0, &s->pm_io);
    memory_region_add_subregion(get_system_io(), PC_ACPI_GPE0_BASE,
                                &s->gpe_io);
    memory_region_add_subregion(get_system_io(), PC_ACPI_SMI_CMD, &s->apm_io);
    memory_region_transaction_commit();
    s->regions_ready = true;
    qemu_register_powerdown_handler(piix4_pm_powerdown, s);
    /* QEMU 7.2: the block exists when either kind of PCI hotplug is on;
     * a bus that is not served has no handler ("Bus 'pci.0' does not
     * support hotplugging" with acpi-root-pci-hotplug=off). */
    if (s->root_hotplug || s->hotplug_with_bridges) {
        acpi_pcihp_init(&s->pcihp, pci_get_bus(&s->parent), ACPI_PCIHP_ADDR,
                        s->root_hotplug, s->hotplug_with_bridges, false,
                        piix4_pm_send_gpe, s);
        qemu_register_reset(piix4_pm_reset_hotplug, s);
    }
    if (current_machine && current_machine->device_memory_size) {
        acpi_memory_hotplug_init(&s->memhp, current_machine->ram_slots,
                                 piix4_pm_send_gpe, s);
    }
    /* QEMU 7.2 starts piix4 in the legacy CPU hotplug mode and its DSDT
     * switches to this modern block at the same port; kvmpc has only the
     * modern one (docs/cpu.md). */
    acpi_cpuhp_init(&s->cpuhp, ACPI_CPUHP_PIIX4_BASE, piix4_pm_send_gpe, s);
    qemu_register_reset(piix4_pm_reset_cpuhp, s);
    acpi_gpe_register_sender(piix4_pm_send_gpe, s);
    return true;
}

static void piix4_pm_unrealize(DeviceState *dev)
{
    PIIX4PMState *s = (PIIX4PMState *)dev;

    if (!s->regions_ready) {
        return;
    }
    qemu_register_powerdown_handler(NULL, NULL);
    acpi_gpe_unregister_sender(s);
    qemu_unregister_reset(piix4_pm_reset_hotplug, s);
    qemu_unregister_reset(piix4_pm_reset_cpuhp, s);
    acpi_pcihp_uninit(&s->pcihp);
    acpi_memory_hotplug_uninit(&s->memhp);
    acpi_cpuhp_uninit(&s->cpuhp);
    qemu_set_irq(s->sci, 0);
    memory_region_transaction_begin();
    memory_region_destroy(&s->pm_io);
    memory_region_destroy(&s->gpe_io);
    memory_region_destroy(&s->apm_io);
    memory_region_transaction_commit();
    timer_free(s->tmr_timer);
    s->tmr_timer = NULL;
    s->regions_ready = false;
}

static void piix4_pm_reset_config(PIIX4PMState *s)
{
    uint8_t *c = s->parent.config;

    memset(c + PCI_CONFIG_HEADER_SIZE, 0,
           PCI_CONFIG_SPACE_SIZE - PCI_CONFIG_HEADER_SIZE);
    pci_set_long(c + PIIX4_PMBA, PIIX4_PMBA_IO);
    /* "SMM already set up": SeaBIOS must not wait for an SMI. */
    c[PIIX4_DEVACTB_BYTE3] = PIIX4_DEVACTB_APMC_EN >> 24;
    c[PIIX4_DEVRESD] = PIIX4_DEVRESD_DEFAULT;
    c[PIIX4_DEVRESA_HI] = PIIX4_DEVRESA_HI_DEFAULT;
    c[PIIX4_DEVRESB_HI] = piix4_devres_serial();
    if (s->pm_io_base_preset) {
        pci_set_long(c + PIIX4_PMBA, s->pm_io_base_preset | PIIX4_PMBA_IO);
        c[PIIX4_PMREGMISC] = PIIX4_PMIOSE;
    }
}

static void piix4_pm_reset(DeviceState *dev)
{
    PIIX4PMState *s = (PIIX4PMState *)dev;

    piix4_pm_reset_config(s);
    s->pm1_sts = 0;
    s->pm1_en = 0;
    s->pm1_cnt = ACPI_PM1_CNT_SCI_EN;
    memset(s->gpe_sts, 0, sizeof(s->gpe_sts));
    memset(s->gpe_en, 0, sizeof(s->gpe_en));
    s->apmc = 0;
    s->apms = 0;
    pm_tmr_calc_overflow(s);
    pm_io_space_update(s);
    pm_update_sci(s);
}

/* After every device's reset (a device_del the guest never answered is
 * completed, as QEMU's acpi_pcihp_reset): ejecting devices while the
 * device list is being walked would skip some. */
static void piix4_pm_reset_hotplug(void *opaque)
{
    PIIX4PMState *s = opaque;

    if (s->pcihp.ready) {
        acpi_pcihp_reset(&s->pcihp);
    }
}

static void piix4_pm_reset_cpuhp(void *opaque)
{
    PIIX4PMState *s = opaque;

    if (s->cpuhp.ready) {
        acpi_cpuhp_reset(&s->cpuhp);
    }
}

/* The SCI line is restored with the interrupt controllers' state. */
static int piix4_pm_post_load(void *opaque, int version_id)
{
    PIIX4PMState *s = opaque;

    s->pm1_cnt &= ~ACPI_PM1_CNT_SLP_EN;
    if (s->tmr_overflow < 0) {
        pm_tmr_calc_overflow(s);
    }
    pm_io_space_update(s);
    return 0;
}

/*
 * Version 4 adds the UP/DOWN of selectors 1-255 (the buses behind
 * pci-bridges); those of selector 0 are the version 2 fields.
 */
static const VMStateDescription vmstate_piix4_pm = {
    .name = "piix4_pm",
    .version_id = 4,
    .minimum_version_id = 1,
    .post_load = piix4_pm_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16(pm1_sts, PIIX4PMState),
        VMSTATE_UINT16(pm1_en, PIIX4PMState),
        VMSTATE_UINT16(pm1_cnt, PIIX4PMState),
        VMSTATE_INT64(tmr_overflow, PIIX4PMState),
        VMSTATE_UINT8_ARRAY(gpe_sts, PIIX4PMState, GPE0_HALF),
        VMSTATE_UINT8_ARRAY(gpe_en, PIIX4PMState, GPE0_HALF),
        VMSTATE_UINT8(apmc, PIIX4PMState),
        VMSTATE_UINT8(apms, PIIX4PMState),
        VMSTATE_TIMER_PTR(tmr_timer, PIIX4PMState),
        { .name = "pcihp.up", .type = VMS_U32, .size = 4,
          .offset = offsetof(PIIX4PMState, pcihp.status[0].up),
          .version_id = 2 },
        { .name = "pcihp.down", .type = VMS_U32, .size = 4,
          .offset = offsetof(PIIX4PMState, pcihp.status[0].down),
          .version_id = 2 },
        VMSTATE_UINT32_V(pcihp.hotplug_select, PIIX4PMState, 2),
        VMSTATE_UINT32_V(pcihp.acpi_index, PIIX4PMState, 2),
        { .name = "memhp", .type = VMS_STRUCT,
          .offset = offsetof(PIIX4PMState, memhp),
          .size = sizeof(MemHotplugState), .vmsd = &vmstate_memory_hotplug,
          .version_id = 3 },
        { .name = "cpuhp", .type = VMS_STRUCT,
          .offset = offsetof(PIIX4PMState, cpuhp),
          .size = sizeof(AcpiCpuHpState), .vmsd = &vmstate_acpi_cpuhp,
          .version_id = 3 },
        { .name = "pcihp.status", .type = VMS_STRUCT,
          .offset = offsetof(PIIX4PMState, pcihp.status[1]),
          .size = sizeof(AcpiPciHpStatus), .vmsd = &vmstate_acpi_pcihp_status,
          .count = ACPI_PCIHP_MAX_HOTPLUG_BUS - 1, .version_id = 4 },
        VMSTATE_END_OF_LIST()
    },
};

bool piix4_pm_s4_offered(void)
{
    PIIX4PMState *s = (PIIX4PMState *)device_find_by_type(TYPE_PIIX4_PM);

    return s && !s->disable_s4;
}

bool piix4_pm_pci_hotplug_enabled(void)
{
    PIIX4PMState *s = (PIIX4PMState *)device_find_by_type(TYPE_PIIX4_PM);

    return s && s->pcihp.ready;
}

static const Property piix4_pm_props[] = {
    /* QEMU offers S3 and S4 unless told not to; kvmpc cannot suspend to
     * RAM, so S3 stays off (0 is refused), and S4 (the guest hibernates,
     * then powers off) is offered only on request, as before. */
    DEFINE_PROP("disable_s3", PIIX4PMState, disable_s3, PROP_UINT8, "1",
                "1: no S3 in the DSDT (0 is not supported)"),
    DEFINE_PROP("disable_s4", PIIX4PMState, disable_s4, PROP_UINT8, "1",
                "0: offer S4 (hibernate) in the DSDT"),
    DEFINE_PROP("acpi-pci-hotplug-with-bridge-support", PIIX4PMState,
                hotplug_with_bridges, PROP_BOOL, "on",
                "ACPI hotplug behind cold-plugged pci-bridges"),
    DEFINE_PROP("acpi-root-pci-hotplug", PIIX4PMState, root_hotplug,
                PROP_BOOL, "on", "ACPI hotplug on pci.0"),
    DEFINE_PROP("x-pm-io-base", PIIX4PMState, pm_io_base_preset, PROP_UINT32,
                "0", "program PMBA and PMIOSE at reset as firmware would "
                "(0: leave it to the firmware)"),
    DEFINE_PROP_END_OF_LIST(),
};

static const PCIDeviceClass piix4_pm_class = {
    .vendor_id = PCI_VENDOR_ID_INTEL,
    .device_id = PCI_DEVICE_ID_INTEL_82371AB_3,
    .revision = PIIX4_PM_REVISION,
    .class_id = PCI_CLASS_BRIDGE_OTHER,
    .status = PCI_STATUS_FAST_BACK | PCI_STATUS_DEVSEL_MEDIUM,
    .interrupt_pin = 1,
    .config_write = piix4_pm_config_write,
};

static const DeviceType piix4_pm_type = {
    .name = TYPE_PIIX4_PM,
    .not_hotpluggable = true,
    .parent = TYPE_PCI_DEVICE,
    .desc = "PM",
    .instance_size = sizeof(PIIX4PMState),
    .category = DEVICE_CATEGORY_BRIDGE,
    .props = piix4_pm_props,
    .realize = piix4_pm_realize,
    .unrealize = piix4_pm_unrealize,
    .reset = piix4_pm_reset,
    .vmsd = &vmstate_piix4_pm,
    .class_data = &piix4_pm_class,
};

static void piix4_pm_register_types(void)
{
    device_type_register(&piix4_pm_type);
}
type_init(piix4_pm_register_types)

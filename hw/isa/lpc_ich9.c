/*
 * Intel ICH9 LPC interface bridge (8086:2918, 1f.0) with its ACPI power
 * management, TCO watchdog and chipset configuration registers: QEMU's
 * "ICH9-LPC".
 *
 * Spec: Intel I/O Controller Hub 9 (ICH9) Family datasheet:
 *   13.1.10 PMBASE (40h), 13.1.11 ACPI_CNTL (44h: ACPI_EN, SCI_IRQ_SEL)
 *   13.1.16 PIRQ[A-D]_ROUT (60h-63h), 13.1.20 PIRQ[E-H]_ROUT (68h-6Bh):
 *           bit 7 IRQEN (1 = not routed to the 8259), bits 3:0 the IRQ
 *   13.1.23 GEN_PMCON_1-3 (A0h-A4h), 13.1.35 RCBA (F0h)
 *   10.1.x  chipset configuration registers at RCBA: D31IR-D25IR (3140h-
 *           3150h, INTA-D of devices 31-25 to PIRQA-H), GCS (3410h, bit 5
 *           NR: no reboot)
 *   13.8.3  ACPI I/O at PMBASE: PM1_STS/EN (00h), PM1_CNT (04h), PM1_TMR
 *           (08h), GPE0_STS/EN (20h/28h, 8 bytes each), SMI_EN (30h),
 *           SMI_STS (34h); 13.9 TCO I/O at PMBASE + 60h
 *   ACPI 2.0 4.7 for the fixed PM1 and GPE semantics.
 *
 * Interrupts as QEMU's q35: a root-bus function's INTx goes to a PIRQ by
 * the D31IR-D25IR registers for devices 25-31 (device 30 always E-H) and
 * (slot + pin) mod 4 + 4 (PIRQE-H) below; PIRQ n always drives IOAPIC
 * input 16 + n, and additionally the 8259 IRQ its PIRQx_ROUT names while
 * IRQEN is clear.  The SCI goes to the GSI SCI_IRQ_SEL picks (IRQ 9 by
 * default).
 *
 * ACPI PCI hotplug (hw/acpi/pcihp.c), as QEMU 7.2's q35 (pc-q35-6.1 and
 * later) by default: the register block at 0x0cc0 serves the links of
 * cold-plugged PCIe root ports and the buses of cold-plugged pci-bridges
 * (never pcie.0), and raises GPE0 bit 1; -global ICH9-LPC.acpi-pci-
 * hotplug-with-bridge-support=off leaves the root ports their native
 * PCIe hotplug and maps no block.
 *
 * No SMM on this KVM: SMI_EN.APMC_EN is set and locked at reset, as QEMU
 * does with smm=off, so SeaBIOS skips its SMM set-up; writes of 02h/03h
 * to the APM port (B2h) set/clear SCI_EN directly and set SMI_STS.APM.
 *
 * TCO: the timer counts TCO_TMR ticks of 0.6 s after a TCO_RLD write
 * while TCO_TMR_HLT is clear; the first expiry sets TCO1_STS.TIMEOUT, the
 * second sets TCO2_STS.SECOND_TO and resets the machine unless GCS.NR is
 * set (-global ICH9-LPC.noreboot=on sets it at reset, as QEMU's pin strap).
 *
 * The ISA devices behind the bridge (RTC, PIT/PIC through KVM, i8042,
 * serial, HPET, DMA, port 92h, fw_cfg) are the pc machine's, created by
 * hw/i386/pc-isa.c.
 */
#include "qemu/osdep.h"
#include "hw/pci-host/q35.h"
#include "hw/pci/pci_host.h"
#include "hw/acpi/piix4-pm.h"
#include "hw/acpi/memory_hotplug.h"
#include "hw/acpi/gpe-event.h"
#include "hw/acpi/pcihp.h"
#include "hw/boards.h"
#include "hw/acpi/cpu-hotplug.h"
#include "hw/isa.h"
#include "hw/i386/pc-layout.h"
#include "system/runstate.h"
#include "system/timer.h"

#define LPC_PIC_PINS            16
#define LPC_GSI_PIRQ_BASE       16
#define LPC_RST_CNT_SYS_RST     0x02
#define LPC_RST_CNT_RST_CPU     0x04
#define GPE0_HALF               (ICH9_PMIO_GPE0_LEN / 2)
#define PM1_SCI_EVENTS          (ACPI_PM1_RTC | ACPI_PM1_PWRBTN | \
                                 ACPI_PM1_GBL | ACPI_PM1_TMR)
#define PM_TMR_OVERFLOW_BIT     0x800000LL
#define APM_IO_SIZE             2
#define TCO_TMR_MASK            0x03ff
#define SMI_EN_WMASK            0xffffffdfu     /* all but APMC_EN */

typedef struct ICH9LPCState {
    PCIDevice parent;

    bool noreboot;                  /* GCS.NR at reset */
    uint8_t disable_s3, disable_s4; /* QEMU's names (libvirt sets both) */
    uint32_t pm_io_base_preset;     /* x-pm-io-base */
    bool pcihp_bridges;             /* acpi-pci-hotplug-with-bridge-support */

    uint8_t cc[ICH9_CC_SIZE];       /* chipset configuration (RCBA) */
    uint8_t rst_cnt;

    /* ACPI PM */
    uint16_t pm1_sts, pm1_en, pm1_cnt;
    int64_t tmr_overflow;
    uint8_t gpe_sts[GPE0_HALF], gpe_en[GPE0_HALF];
    uint32_t smi_en, smi_sts;
    uint8_t apmc, apms;
    bool sci_level;
    int sci_gsi;

    /* TCO */
    uint16_t tco_rld, tco1_sts, tco2_sts, tco1_cnt, tco2_cnt, tco_tmr;
    uint8_t tco_dat_in, tco_dat_out, tco_msg1, tco_msg2, tco_wdcnt;
    uint8_t tco_sw_irq_gen;
    int64_t tco_expire_ns;          /* -1: stopped */

    QEMUTimer *tmr_timer, *tco_timer;
    MemHotplugState memhp;          /* 0x0a00, GPE0 bit 3 (-m slots=) */
    MemoryRegion pm_io, apm_io, rcrb;
    bool regions_ready, irqs_claimed;
    uint8_t pirq_levels;            /* bit n: PIRQ n asserted */
    AcpiCpuHpState cpuhp;           /* hw/acpi/cpu-hotplug.c, at 0x0cd8 */
    AcpiPciHpState pcihp;           /* hw/acpi/pcihp.c, at 0x0cc0 */
} ICH9LPCState;

static ICH9LPCState *lpc_instance;


/* ---- INTx routing --------------------------------------------------- */

unsigned ich9_lpc_pirq_reg(unsigned n)
{
    return n < 4 ? ICH9_LPC_PIRQA_ROUT + n : ICH9_LPC_PIRQE_ROUT + n - 4;
}

static int lpc_route_of(const ICH9LPCState *s, unsigned slot, unsigned pin)
{
    static const uint16_t dir_reg[] = {
        [25] = ICH9_CC_D25IR, [26] = ICH9_CC_D26IR, [27] = ICH9_CC_D27IR,
        [28] = ICH9_CC_D28IR, [29] = ICH9_CC_D29IR, [31] = ICH9_CC_D31IR,
    };

    pin &= 3;
    if (slot < 25) {
        return (slot + pin) % 4 + 4;
    }
    if (slot == 30 || slot > 31 || !s) {
        return pin + 4;
    }
    return (lduw_le_p(s->cc + dir_reg[slot]) >> (pin * 4)) & 7;
}

int ich9_lpc_route(unsigned slot, unsigned pin)
{
    return lpc_route_of(lpc_instance, slot, pin);
}

static int lpc_map_irq(PCIDevice *dev, int pin)
{
    return lpc_route_of(lpc_instance, PCI_SLOT(dev->devfn), pin);
}

static int lpc_pic_irq(const ICH9LPCState *s, unsigned pirq)
{
    uint8_t r = s->parent.config[ich9_lpc_pirq_reg(pirq)];

    return (r & ICH9_LPC_PIRQ_ROUT_IRQEN) ? -1 : (r & ICH9_LPC_PIRQ_ROUT_MASK);
}

static qemu_irq lpc_gsi(int gsi)
{
    return current_machine && gsi >= 0 && gsi < GSI_NUM_PINS
           ? current_machine->gsi[gsi] : NULL;
}

/* An 8259 IRQ: the OR of the PIRQs routed to it (and the SCI). */
static void lpc_update_pic(ICH9LPCState *s, int irq)
{
    bool level = s->sci_level && s->sci_gsi == irq;

    if (irq < 0 || irq >= LPC_PIC_PINS) {
        return;
    }
    for (unsigned n = 0; n < ICH9_LPC_NB_PIRQS; n++) {
        if (lpc_pic_irq(s, n) == irq && (s->pirq_levels & (1u << n))) {
            level = true;
        }
    }
    qemu_set_irq(lpc_gsi(irq), level);
}

static void lpc_update_apic(ICH9LPCState *s, unsigned pirq)
{
    int gsi = LPC_GSI_PIRQ_BASE + pirq;
    bool level = (s->pirq_levels & (1u << pirq)) ||
                 (s->sci_level && s->sci_gsi == gsi);

    qemu_set_irq(lpc_gsi(gsi), level);
}

static void lpc_set_irq(void *opaque, int pirq, int level)
{
    ICH9LPCState *s = opaque;

    if (pirq < 0 || pirq >= ICH9_LPC_NB_PIRQS) {
        return;
    }
    s->pirq_levels = level ? s->pirq_levels | (1u << pirq)
                           : s->pirq_levels & ~(1u << pirq);
    lpc_update_apic(s, pirq);
    lpc_update_pic(s, lpc_pic_irq(s, pirq));
}

static void lpc_update_all_irqs(ICH9LPCState *s)
{
    for (int irq = 0; irq < LPC_PIC_PINS; irq++) {
        if (irq != 2) {
            lpc_update_pic(s, irq);
        }
    }
    for (unsigned n = 0; n < ICH9_LPC_NB_PIRQS; n++) {
        lpc_update_apic(s, n);
    }
}

/* ---- SCI and the PM1/GPE0 registers ----------------------------------- */

static int lpc_sci_gsi(const ICH9LPCState *s)
{
    static const int sel_to_gsi[8] = { 9, 10, 11, -1, 20, 21, 22, 23 };

    return sel_to_gsi[s->parent.config[ICH9_LPC_ACPI_CTRL] &
                      ICH9_LPC_ACPI_CTRL_SCI_IRQ_SEL];
}

static int64_t pm_tmr_ticks(void)
{
    int64_t ns = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);

    return (int64_t)((__int128)ns * ACPI_PM_TIMER_FREQUENCY /
                     NANOSECONDS_PER_SECOND);
}

static int64_t pm_tmr_ticks_to_ns(int64_t ticks)
{
    __int128 n = (__int128)ticks * NANOSECONDS_PER_SECOND;

    return (int64_t)((n + ACPI_PM_TIMER_FREQUENCY - 1) /
                     ACPI_PM_TIMER_FREQUENCY);
}

static void pm_tmr_calc_overflow(ICH9LPCState *s)
{
    s->tmr_overflow = (pm_tmr_ticks() + PM_TMR_OVERFLOW_BIT) &
                      ~(PM_TMR_OVERFLOW_BIT - 1);
}

static uint16_t pm1_get_sts(ICH9LPCState *s)
{
    if (pm_tmr_ticks() >= s->tmr_overflow) {
        s->pm1_sts |= ACPI_PM1_TMR;
    }
    return s->pm1_sts;
}

static bool gpe_pending(const ICH9LPCState *s)
{
    for (unsigned i = 0; i < GPE0_HALF; i++) {
        if (s->gpe_sts[i] & s->gpe_en[i]) {
            return true;
        }
    }
    return false;
}

static void lpc_set_sci(ICH9LPCState *s, bool level)
{
    int old_gsi = s->sci_gsi;

    s->sci_level = level;
    s->sci_gsi = lpc_sci_gsi(s);
    for (int pass = 0; pass < 2; pass++) {
        int gsi = pass ? s->sci_gsi : old_gsi;
        if (gsi >= LPC_GSI_PIRQ_BASE) {
            lpc_update_apic(s, gsi - LPC_GSI_PIRQ_BASE);
        } else if (gsi >= 0) {
            lpc_update_pic(s, gsi);
        }
    }
}

static void pm_update_sci(ICH9LPCState *s)
{
    uint16_t sts = pm1_get_sts(s);
    bool level = (sts & s->pm1_en & PM1_SCI_EVENTS) || gpe_pending(s);

    lpc_set_sci(s, level && (s->pm1_cnt & ACPI_PM1_CNT_SCI_EN));
    if ((s->pm1_en & ACPI_PM1_TMR) && !(sts & ACPI_PM1_TMR)) {
        timer_mod(s->tmr_timer, pm_tmr_ticks_to_ns(s->tmr_overflow));
    } else {
        timer_del(s->tmr_timer);
    }
}

/* ACPI PCI (GPE0 bit 1), memory (bit 3) and CPU (bit 2) hotplug, as
 * QEMU. */
static void lpc_send_gpe(void *opaque, unsigned mask)
{
    ICH9LPCState *s = opaque;

    s->gpe_sts[0] |= mask;
    pm_update_sci(s);
}

static void pm_tmr_expired(void *opaque)
{
    pm_update_sci(opaque);
}

static void pm_sleep(unsigned slp_typ)
{
    static bool warned_s3;

    if (slp_typ == PIIX4_SLP_TYP_S5 || slp_typ == PIIX4_SLP_TYP_S4) {
        qemu_system_shutdown_request(SHUTDOWN_CAUSE_GUEST_SHUTDOWN);
    } else if (slp_typ == PIIX4_SLP_TYP_S3 && !warned_s3) {
        warned_s3 = true;
        error_report("ICH9-LPC: the guest asked for S3 (suspend to RAM), "
                     "which is not supported; ignored");
    }
}

/* ---- TCO watchdog ----------------------------------------------------- */

static void tco_arm(ICH9LPCState *s)
{
    if (s->tco1_cnt & TCO1_CNT_TMR_HLT) {
        timer_del(s->tco_timer);
        s->tco_expire_ns = -1;
        return;
    }
    s->tco_rld = s->tco_tmr & TCO_TMR_MASK;
    s->tco_expire_ns = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) +
                       (int64_t)(s->tco_rld ? s->tco_rld : 1) * TCO_TICK_NSEC;
    timer_mod(s->tco_timer, s->tco_expire_ns);
}

static void tco_expired(void *opaque)
{
    ICH9LPCState *s = opaque;

    if (s->tco1_sts & TCO1_STS_TIMEOUT) {
        s->tco2_sts |= TCO2_STS_SECOND_TO;
        if (!(ldl_le_p(s->cc + ICH9_CC_GCS) & ICH9_CC_GCS_NO_REBOOT)) {
            qemu_system_reset_request(SHUTDOWN_CAUSE_GUEST_RESET);
            return;
        }
    }
    s->tco1_sts |= TCO1_STS_TIMEOUT;
    tco_arm(s);
}

/* Current TCO_RLD: ticks left. */
static uint16_t tco_rld_now(ICH9LPCState *s)
{
    int64_t left;

    if (s->tco_expire_ns < 0) {
        return s->tco_rld;
    }
    left = s->tco_expire_ns - qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    return left <= 0 ? 0 : (uint16_t)((left + TCO_TICK_NSEC - 1) /
                                      TCO_TICK_NSEC);
}

static void tco_snapshot(ICH9LPCState *s, uint8_t *r)
{
    memset(r, 0, ICH9_PMIO_TCO_SIZE);
    stw_le_p(r + TCO_RLD, tco_rld_now(s));
    r[TCO_DAT_IN] = s->tco_dat_in;
    r[TCO_DAT_OUT] = s->tco_dat_out;
    stw_le_p(r + TCO1_STS, s->tco1_sts);
    stw_le_p(r + TCO2_STS, s->tco2_sts);
    stw_le_p(r + TCO1_CNT, s->tco1_cnt);
    stw_le_p(r + TCO2_CNT, s->tco2_cnt);
    r[TCO_MESSAGE1] = s->tco_msg1;
    r[TCO_MESSAGE2] = s->tco_msg2;
    r[TCO_WDCNT] = s->tco_wdcnt;
    r[SW_IRQ_GEN] = s->tco_sw_irq_gen;
    stw_le_p(r + TCO_TMR, s->tco_tmr);
}

static void tco_write_byte(ICH9LPCState *s, unsigned reg, uint8_t b,
                           bool *reload, bool *rearm)
{
    switch (reg) {
    case TCO_RLD: case TCO_RLD + 1:
        *reload = true;                 /* any write reloads */
        break;
    case TCO_DAT_IN: s->tco_dat_in = b; break;
    case TCO_DAT_OUT: s->tco_dat_out = b; break;
    case TCO1_STS: s->tco1_sts &= ~b; break;
    case TCO1_STS + 1: s->tco1_sts &= ~((uint16_t)b << 8); break;
    case TCO2_STS: s->tco2_sts &= ~(b & (TCO2_STS_SECOND_TO |
                                         TCO2_STS_BOOT)); break;
    case TCO1_CNT: s->tco1_cnt = (s->tco1_cnt & 0xff00) | b; break;
    case TCO1_CNT + 1:
        s->tco1_cnt = (s->tco1_cnt & 0xff) | (uint16_t)b << 8;
        *rearm = true;
        break;
    case TCO2_CNT: s->tco2_cnt = (s->tco2_cnt & 0xff00) | b; break;
    case TCO2_CNT + 1: s->tco2_cnt = (s->tco2_cnt & 0xff) | b << 8; break;
    case TCO_MESSAGE1: s->tco_msg1 = b; break;
    case TCO_MESSAGE2: s->tco_msg2 = b; break;
    case TCO_WDCNT: s->tco_wdcnt = b; break;
    case SW_IRQ_GEN: s->tco_sw_irq_gen = b & 3; break;
    case TCO_TMR: s->tco_tmr = (s->tco_tmr & 0xff00) | b; break;
    case TCO_TMR + 1:
        s->tco_tmr = ((s->tco_tmr & 0xff) | (uint16_t)b << 8) & TCO_TMR_MASK;
        break;
    default:
        break;
    }
}

/* ---- the PM I/O block ------------------------------------------------- */

static void pm_io_snapshot(ICH9LPCState *s, uint8_t *r)
{
    memset(r, 0, ICH9_PMIO_SIZE);
    stw_le_p(r + ICH9_PMIO_PM1_STS, pm1_get_sts(s));
    stw_le_p(r + ICH9_PMIO_PM1_EN, s->pm1_en);
    stw_le_p(r + ICH9_PMIO_PM1_CNT, s->pm1_cnt);
    stl_le_p(r + ICH9_PMIO_PM1_TMR, pm_tmr_ticks() & ACPI_PM_TIMER_MASK);
    memcpy(r + ICH9_PMIO_GPE0_STS, s->gpe_sts, GPE0_HALF);
    memcpy(r + ICH9_PMIO_GPE0_STS + GPE0_HALF, s->gpe_en, GPE0_HALF);
    stl_le_p(r + ICH9_PMIO_SMI_EN, s->smi_en);
    stl_le_p(r + ICH9_PMIO_SMI_STS, s->smi_sts);
    tco_snapshot(s, r + ICH9_PMIO_TCO_BASE);
}

static uint64_t pm_io_read(void *opaque, uint64_t addr, unsigned size)
{
    uint8_t regs[ICH9_PMIO_SIZE];
    uint64_t val = 0;

    pm_io_snapshot(opaque, regs);
    for (unsigned i = 0; i < size; i++) {
        uint8_t b = addr + i < ICH9_PMIO_SIZE ? regs[addr + i] : 0;
        val |= (uint64_t)b << (i * 8);
    }
    return val;
}

static void pm_io_write(void *opaque, uint64_t addr, uint64_t val,
                        unsigned size)
{
    ICH9LPCState *s = opaque;
    bool reload = false, rearm = false;
    uint16_t cnt = s->pm1_cnt;
    bool cnt_written = false;

    for (unsigned i = 0; i < size; i++) {
        uint64_t a = addr + i;
        uint8_t b = val >> (i * 8);
        if (a < ICH9_PMIO_PM1_EN) {
            uint16_t bits = (uint16_t)b << ((a & 1) * 8);
            if (pm1_get_sts(s) & bits & ACPI_PM1_TMR) {
                pm_tmr_calc_overflow(s);
            }
            s->pm1_sts &= ~bits;
        } else if (a < ICH9_PMIO_PM1_CNT) {
            unsigned sh = (a & 1) * 8;
            s->pm1_en = (s->pm1_en & ~(0xff << sh)) | (uint16_t)b << sh;
        } else if (a < ICH9_PMIO_PM1_CNT + 2) {
            unsigned sh = (a & 1) * 8;
            cnt = (cnt & ~(0xff << sh)) | (uint16_t)b << sh;
            cnt_written = true;
        } else if (a >= ICH9_PMIO_GPE0_STS &&
                   a < ICH9_PMIO_GPE0_STS + GPE0_HALF) {
            s->gpe_sts[a - ICH9_PMIO_GPE0_STS] &= ~b;
        } else if (a >= ICH9_PMIO_GPE0_STS + GPE0_HALF &&
                   a < ICH9_PMIO_GPE0_STS + ICH9_PMIO_GPE0_LEN) {
            s->gpe_en[a - ICH9_PMIO_GPE0_STS - GPE0_HALF] = b;
        } else if (a >= ICH9_PMIO_SMI_EN && a < ICH9_PMIO_SMI_EN + 4) {
            unsigned sh = (a - ICH9_PMIO_SMI_EN) * 8;
            uint32_t m = (0xffu << sh) & SMI_EN_WMASK;
            s->smi_en = (s->smi_en & ~m) | (((uint32_t)b << sh) & m);
        } else if (a >= ICH9_PMIO_SMI_STS && a < ICH9_PMIO_SMI_STS + 4) {
            s->smi_sts &= ~((uint32_t)b << ((a - ICH9_PMIO_SMI_STS) * 8));
        } else if (a >= ICH9_PMIO_TCO_BASE &&
                   a < ICH9_PMIO_TCO_BASE + ICH9_PMIO_TCO_SIZE) {
            tco_write_byte(s, a - ICH9_PMIO_TCO_BASE, b, &reload, &rearm);
        }
    }
    if (cnt_written) {
        s->pm1_cnt = cnt & ~ACPI_PM1_CNT_SLP_EN;
        if (cnt & ACPI_PM1_CNT_SLP_EN) {
            pm_sleep((cnt & ACPI_PM1_CNT_SLP_TYP) >>
                     ACPI_PM1_CNT_SLP_TYP_SHIFT);
        }
    }
    if (reload || rearm) {
        tco_arm(s);
    }
    pm_update_sci(s);
}

static const MemoryRegionOps pm_io_ops = {
    .read = pm_io_read,
    .write = pm_io_write,
    .min_access_size = 1,
    .max_access_size = 4,
};

/* ---- APM (B2h/B3h) ---------------------------------------------------- */

static uint64_t apm_read(void *opaque, uint64_t addr, unsigned size)
{
    ICH9LPCState *s = opaque;

    return addr == 0 ? s->apmc : s->apms;
}

static void apm_write(void *opaque, uint64_t addr, uint64_t val,
                      unsigned size)
{
    ICH9LPCState *s = opaque;

    if (addr != 0) {
        s->apms = val;
        return;
    }
    s->apmc = val;
    if (val == ICH9_APM_ACPI_ENABLE) {
        s->pm1_cnt |= ACPI_PM1_CNT_SCI_EN;
    } else if (val == ICH9_APM_ACPI_DISABLE) {
        s->pm1_cnt &= ~ACPI_PM1_CNT_SCI_EN;
    }
    if (s->smi_en & ICH9_PMIO_SMI_EN_APMC_EN) {
        s->smi_sts |= ICH9_PMIO_SMI_STS_APM;    /* the SMI that has no SMM */
    }
    pm_update_sci(s);
}

static const MemoryRegionOps apm_ops = {
    .read = apm_read,
    .write = apm_write,
    .min_access_size = 1,
    .max_access_size = 1,
};

/* ---- chipset configuration registers (RCBA) ------------------------ */

static uint64_t rcrb_read(void *opaque, uint64_t addr, unsigned size)
{
    ICH9LPCState *s = opaque;
    uint64_t val = 0;

    for (unsigned i = 0; i < size && addr + i < ICH9_CC_SIZE; i++) {
        val |= (uint64_t)s->cc[addr + i] << (i * 8);
    }
    return val;
}

static void rcrb_write(void *opaque, uint64_t addr, uint64_t val,
                       unsigned size)
{
    ICH9LPCState *s = opaque;

    for (unsigned i = 0; i < size && addr + i < ICH9_CC_SIZE; i++) {
        uint64_t a = addr + i;
        if (a == ICH9_CC_D30IR || a == ICH9_CC_D30IR + 1) {
            continue;                   /* read-only 0 */
        }
        s->cc[a] = val >> (i * 8);
    }
    /* The device routing may have changed: recompute the pin levels. */
    pci_bus_irqs(pci_get_bus(&s->parent), lpc_set_irq, lpc_map_irq, s,
                 ICH9_LPC_NB_PIRQS);
    s->pirq_levels = 0;
    for (unsigned n = 0; n < ICH9_LPC_NB_PIRQS; n++) {
        if (pci_bus_get_irq_level(pci_get_bus(&s->parent), n)) {
            s->pirq_levels |= 1u << n;
        }
    }
    lpc_update_all_irqs(s);
}

static const MemoryRegionOps rcrb_ops = {
    .read = rcrb_read,
    .write = rcrb_write,
    .min_access_size = 1,
    .max_access_size = 4,
};

/* ---- configuration space -------------------------------------------- */

static void lpc_update_regions(ICH9LPCState *s)
{
    const uint8_t *c = s->parent.config;
    uint32_t rcba = pci_get_long(c + ICH9_LPC_RCBA);

    if (!s->regions_ready) {
        return;
    }
    memory_region_transaction_begin();
    memory_region_set_address(&s->pm_io, pci_get_long(c + ICH9_LPC_PMBASE) &
                              ICH9_LPC_PMBASE_MASK);
    memory_region_set_enabled(&s->pm_io,
                              c[ICH9_LPC_ACPI_CTRL] &
                              ICH9_LPC_ACPI_CTRL_ACPI_EN);
    memory_region_set_address(&s->rcrb, rcba & ICH9_LPC_RCBA_BA_MASK);
    memory_region_set_enabled(&s->rcrb, rcba & ICH9_LPC_RCBA_EN);
    memory_region_transaction_commit();
}

static bool overlaps(uint32_t addr, uint32_t len, uint32_t reg, uint32_t n)
{
    return addr < reg + n && reg < addr + len;
}

static void lpc_config_write(PCIDevice *d, uint32_t addr, uint32_t val,
                             unsigned len)
{
    ICH9LPCState *s = (ICH9LPCState *)d;
    uint8_t old_pirq[ICH9_LPC_NB_PIRQS];

    for (unsigned n = 0; n < ICH9_LPC_NB_PIRQS; n++) {
        old_pirq[n] = d->config[ich9_lpc_pirq_reg(n)];
    }
    pci_default_write_config(d, addr, val, len);
    if (overlaps(addr, len, ICH9_LPC_PMBASE, 4) ||
        overlaps(addr, len, ICH9_LPC_ACPI_CTRL, 1) ||
        overlaps(addr, len, ICH9_LPC_RCBA, 4)) {
        lpc_update_regions(s);
    }
    if (overlaps(addr, len, ICH9_LPC_ACPI_CTRL, 1)) {
        pm_update_sci(s);
    }
    for (unsigned n = 0; n < ICH9_LPC_NB_PIRQS; n++) {
        uint8_t now = d->config[ich9_lpc_pirq_reg(n)];
        if (now != old_pirq[n]) {
            /* Drop the level from the old IRQ, raise it on the new. */
            int old_irq = (old_pirq[n] & ICH9_LPC_PIRQ_ROUT_IRQEN)
                          ? -1 : old_pirq[n] & ICH9_LPC_PIRQ_ROUT_MASK;
            lpc_update_pic(s, old_irq);
            lpc_update_pic(s, lpc_pic_irq(s, n));
        }
    }
}

/* ---- reset control (CF9h) -------------------------------------------- */

static uint8_t lpc_rst_cnt_read(void *opaque)
{
    ICH9LPCState *s = opaque;

    return s->rst_cnt;
}

static void lpc_rst_cnt_write(void *opaque, uint8_t val)
{
    ICH9LPCState *s = opaque;

    if (val & LPC_RST_CNT_RST_CPU) {
        qemu_system_reset_request(SHUTDOWN_CAUSE_GUEST_RESET);
        return;
    }
    s->rst_cnt = val & LPC_RST_CNT_SYS_RST;
}

static void lpc_powerdown(void *opaque)
{
    ICH9LPCState *s = opaque;

    if (s->pm1_en & ACPI_PM1_PWRBTN) {
        s->pm1_sts |= ACPI_PM1_PWRBTN;
        pm_update_sci(s);
    }
}

/* ---- life cycle ----------------------------------------------------- */

bool ich9_lpc_s4_offered(void)
{
    return lpc_instance && !lpc_instance->disable_s4;
}

/* ---- CPU hotplug (hw/acpi/cpu-hotplug.c): GPE0 bit 2 ----------------- */

/* After every device's reset: an unanswered CPU or PCI removal
 * completes; the first one also gives the PCI bus selectors, once every
 * cold-plugged bridge exists (QEMU's acpi_set_pci_info). */
static void lpc_reset_hotplug(void *opaque)
{
    ICH9LPCState *s = opaque;

    if (s->cpuhp.ready) {
        acpi_cpuhp_reset(&s->cpuhp);
    }
    if (s->pcihp.ready) {
        acpi_pcihp_reset(&s->pcihp);
    }
}

static bool lpc_realize(DeviceState *dev, GError **errp)
{
    ICH9LPCState *s = (ICH9LPCState *)dev;
    PCIBus *bus = pci_get_bus(&s->parent);
    PCIHostState *host = pci_bus_get_host(bus);
    uint8_t *w = s->parent.wmask;

    if (!s->disable_s3) {
        error_setg(errp, "ICH9-LPC: disable_s3=0: S3 (suspend to RAM) is "
                   "not supported by kvmpc");
        return false;
    }
    if (pci_bus_irqs_claimed(bus)) {
        error_setg(errp, "ICH9-LPC: another ISA bridge routes the PCI "
                   "interrupts already");
        return false;
    }
    if (s->pm_io_base_preset & ~ICH9_LPC_PMBASE_MASK) {
        error_setg(errp, "ICH9-LPC: x-pm-io-base 0x%x is not a 128-byte "
                   "aligned port below 0x10000", s->pm_io_base_preset);
        return false;
    }
    pci_set_long(w + ICH9_LPC_PMBASE, ICH9_LPC_PMBASE_MASK);
    w[ICH9_LPC_ACPI_CTRL] = ICH9_LPC_ACPI_CTRL_ACPI_EN |
                            ICH9_LPC_ACPI_CTRL_SCI_IRQ_SEL;
    for (unsigned n = 0; n < ICH9_LPC_NB_PIRQS; n++) {
        w[ich9_lpc_pirq_reg(n)] = ICH9_LPC_PIRQ_ROUT_IRQEN |
                                  ICH9_LPC_PIRQ_ROUT_MASK;
    }
    pci_set_long(w + ICH9_LPC_RCBA, ICH9_LPC_RCBA_BA_MASK | ICH9_LPC_RCBA_EN);

    s->tmr_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, pm_tmr_expired, s);
    s->tco_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, tco_expired, s);
    memory_region_init_io(&s->pm_io, &pm_io_ops, s, "ich9-pm",
                          ICH9_PMIO_SIZE);
    memory_region_init_io(&s->apm_io, &apm_ops, s, "apm-io", APM_IO_SIZE);
    memory_region_init_io(&s->rcrb, &rcrb_ops, s, "lpc-rcrb-mmio",
                          ICH9_CC_SIZE);
    memory_region_set_enabled(&s->pm_io, false);
    memory_region_set_enabled(&s->rcrb, false);
    memory_region_transaction_begin();
    memory_region_add_subregion(get_system_io(), 0, &s->pm_io);
    memory_region_add_subregion(get_system_io(), PC_ACPI_SMI_CMD, &s->apm_io);
    memory_region_add_subregion_overlap(get_system_memory(), 0, &s->rcrb, 1);
    memory_region_transaction_commit();
    s->regions_ready = true;

    lpc_instance = s;
    pci_bus_irqs(bus, lpc_set_irq, lpc_map_irq, s, ICH9_LPC_NB_PIRQS);
    s->irqs_claimed = true;
    if (host) {
        pci_host_set_cf9_handler(host, lpc_rst_cnt_read, lpc_rst_cnt_write,
                                 s);
    }
    qemu_register_powerdown_handler(lpc_powerdown, s);
    if (current_machine && current_machine->device_memory_size) {
        acpi_memory_hotplug_init(&s->memhp, current_machine->ram_slots,
                                 lpc_send_gpe, s);
    }
    acpi_cpuhp_init(&s->cpuhp, ACPI_CPUHP_ICH9_BASE, lpc_send_gpe, s);
    /* pcie.0 takes no hotplug on q35 (QEMU: no acpi-root-pci-hotplug on
     * ICH9); root ports' links and pci-bridges' buses do. */
    if (s->pcihp_bridges) {
        acpi_pcihp_init(&s->pcihp, bus, ACPI_PCIHP_ADDR_ICH9, false, true,
                        true, lpc_send_gpe, s);
    }
    qemu_register_reset(lpc_reset_hotplug, s);
    acpi_gpe_register_sender(lpc_send_gpe, s);
    return true;
}

static void lpc_unrealize(DeviceState *dev)
{
    ICH9LPCState *s = (ICH9LPCState *)dev;
    PCIBus *bus = pci_get_bus(&s->parent);
    PCIHostState *host = pci_bus_get_host(bus);

    if (host && host->cf9_opaque == s) {
        pci_host_set_cf9_handler(host, NULL, NULL, NULL);
    }
    if (bus && s->irqs_claimed) {
        pci_bus_irqs(bus, NULL, NULL, NULL, 0);
    }
    s->irqs_claimed = false;
    acpi_gpe_unregister_sender(s);
    acpi_memory_hotplug_uninit(&s->memhp);
    qemu_unregister_reset(lpc_reset_hotplug, s);
    acpi_cpuhp_uninit(&s->cpuhp);
    acpi_pcihp_uninit(&s->pcihp);
    if (s->regions_ready) {
        qemu_register_powerdown_handler(NULL, NULL);
        memory_region_transaction_begin();
        memory_region_destroy(&s->pm_io);
        memory_region_destroy(&s->apm_io);
        memory_region_destroy(&s->rcrb);
        memory_region_transaction_commit();
        timer_free(s->tmr_timer);
        timer_free(s->tco_timer);
        s->tmr_timer = s->tco_timer = NULL;
        s->regions_ready = false;
    }
    if (lpc_instance == s) {
        lpc_instance = NULL;
    }
}

static void lpc_reset(DeviceState *dev)
{
    ICH9LPCState *s = (ICH9LPCState *)dev;
    uint8_t *c = s->parent.config;
    static const uint16_t dir[] = {
        ICH9_CC_D31IR, ICH9_CC_D29IR, ICH9_CC_D28IR, ICH9_CC_D27IR,
        ICH9_CC_D26IR, ICH9_CC_D25IR,
    };

    memset(c + PCI_CONFIG_HEADER_SIZE, 0,
           PCI_CONFIG_SPACE_SIZE - PCI_CONFIG_HEADER_SIZE);
    pci_set_long(c + ICH9_LPC_PMBASE, ICH9_LPC_PMBASE_RTE);
    for (unsigned n = 0; n < ICH9_LPC_NB_PIRQS; n++) {
        c[ich9_lpc_pirq_reg(n)] = ICH9_LPC_PIRQ_ROUT_DEFAULT;
    }
    if (s->pm_io_base_preset) {
        pci_set_long(c + ICH9_LPC_PMBASE,
                     s->pm_io_base_preset | ICH9_LPC_PMBASE_RTE);
        c[ICH9_LPC_ACPI_CTRL] = ICH9_LPC_ACPI_CTRL_ACPI_EN;
    }
    memset(s->cc, 0, sizeof(s->cc));
    for (unsigned i = 0; i < ARRAY_SIZE(dir); i++) {
        stw_le_p(s->cc + dir[i], ICH9_CC_DIR_DEFAULT);
    }
    stl_le_p(s->cc + ICH9_CC_GCS, s->noreboot ? ICH9_CC_GCS_NO_REBOOT : 0);
    s->rst_cnt = 0;

    s->pm1_sts = 0;
    s->pm1_en = 0;
    s->pm1_cnt = 0;
    memset(s->gpe_sts, 0, sizeof(s->gpe_sts));
    memset(s->gpe_en, 0, sizeof(s->gpe_en));
    /* smm=off as QEMU: "SMM already set up", locked. */
    s->smi_en = ICH9_PMIO_SMI_EN_APMC_EN;
    s->smi_sts = 0;
    s->apmc = s->apms = 0;

    s->tco_rld = 0;
    s->tco1_sts = 0;
    s->tco2_sts = 0;
    s->tco1_cnt = TCO1_CNT_TMR_HLT;     /* halted until the OS starts it */
    s->tco2_cnt = 0x0008;
    s->tco_tmr = TCO_TMR_DEFAULT;
    s->tco_dat_in = s->tco_dat_out = s->tco_msg1 = s->tco_msg2 = 0;
    s->tco_wdcnt = 0;
    s->tco_sw_irq_gen = 0x03;
    s->tco_expire_ns = -1;
    timer_del(s->tco_timer);

    pm_tmr_calc_overflow(s);
    lpc_update_regions(s);
    s->sci_gsi = lpc_sci_gsi(s);
    pm_update_sci(s);
    lpc_update_all_irqs(s);
}

static int lpc_post_load(void *opaque, int version_id)
{
    ICH9LPCState *s = opaque;

    s->pm1_cnt &= ~ACPI_PM1_CNT_SLP_EN;
    s->rst_cnt &= LPC_RST_CNT_SYS_RST;
    s->pirq_levels = 0;
    for (unsigned n = 0; n < ICH9_LPC_NB_PIRQS; n++) {
        if (pci_bus_get_irq_level(pci_get_bus(&s->parent), n)) {
            s->pirq_levels |= 1u << n;
        }
    }
    s->sci_gsi = lpc_sci_gsi(s);
    if (s->tmr_overflow < 0) {
        pm_tmr_calc_overflow(s);
    }
    s->tco_tmr &= TCO_TMR_MASK;
    lpc_update_regions(s);
    return 0;
}

static const VMStateDescription vmstate_lpc = {
    .name = "ICH9LPC",
    .version_id = 3,
    .minimum_version_id = 1,
    .post_load = lpc_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8_ARRAY(cc, ICH9LPCState, ICH9_CC_SIZE),
        VMSTATE_UINT8(rst_cnt, ICH9LPCState),
        VMSTATE_UINT16(pm1_sts, ICH9LPCState),
        VMSTATE_UINT16(pm1_en, ICH9LPCState),
        VMSTATE_UINT16(pm1_cnt, ICH9LPCState),
        VMSTATE_INT64(tmr_overflow, ICH9LPCState),
        VMSTATE_UINT8_ARRAY(gpe_sts, ICH9LPCState, GPE0_HALF),
        VMSTATE_UINT8_ARRAY(gpe_en, ICH9LPCState, GPE0_HALF),
        VMSTATE_UINT32(smi_en, ICH9LPCState),
        VMSTATE_UINT32(smi_sts, ICH9LPCState),
        VMSTATE_UINT8(apmc, ICH9LPCState),
        VMSTATE_UINT8(apms, ICH9LPCState),
        VMSTATE_UINT16(tco_rld, ICH9LPCState),
        VMSTATE_UINT16(tco1_sts, ICH9LPCState),
        VMSTATE_UINT16(tco2_sts, ICH9LPCState),
        VMSTATE_UINT16(tco1_cnt, ICH9LPCState),
        VMSTATE_UINT16(tco2_cnt, ICH9LPCState),
        VMSTATE_UINT16(tco_tmr, ICH9LPCState),
        VMSTATE_INT64(tco_expire_ns, ICH9LPCState),
        VMSTATE_TIMER_PTR(tmr_timer, ICH9LPCState),
        VMSTATE_TIMER_PTR(tco_timer, ICH9LPCState),
        { .name = "memhp", .type = VMS_STRUCT,
          .offset = offsetof(ICH9LPCState, memhp),
          .size = sizeof(MemHotplugState), .vmsd = &vmstate_memory_hotplug,
          .version_id = 2 },
        { .name = "cpuhp", .type = VMS_STRUCT,
          .offset = offsetof(ICH9LPCState, cpuhp),
          .size = sizeof(AcpiCpuHpState), .vmsd = &vmstate_acpi_cpuhp,
          .version_id = 2 },
        /* ACPI PCI hotplug: every selector's UP/DOWN, the selector */
        { .name = "pcihp.status", .type = VMS_STRUCT,
          .offset = offsetof(ICH9LPCState, pcihp.status),
          .size = sizeof(AcpiPciHpStatus), .vmsd = &vmstate_acpi_pcihp_status,
          .count = ACPI_PCIHP_MAX_HOTPLUG_BUS, .version_id = 3 },
        VMSTATE_UINT32_V(pcihp.hotplug_select, ICH9LPCState, 3),
        VMSTATE_UINT32_V(pcihp.acpi_index, ICH9LPCState, 3),
        VMSTATE_END_OF_LIST()
    },
};

static const Property lpc_props[] = {
    DEFINE_PROP("noreboot", ICH9LPCState, noreboot, PROP_BOOL, "off",
                "on: GCS.NR at reset, the TCO watchdog does not reboot"),
    /* As PIIX4_PM: no S3 (0 refused); S4 offered only on request. */
    DEFINE_PROP("disable_s3", ICH9LPCState, disable_s3, PROP_UINT8, "1",
                "1: no S3 in the DSDT (0 is not supported)"),
    DEFINE_PROP("disable_s4", ICH9LPCState, disable_s4, PROP_UINT8, "1",
                "0: offer S4 (hibernate) in the DSDT"),
    /* QEMU 7.2's default for pc-q35-6.1 and later (kvmpc has pc-q35-7.2
     * only). */
    DEFINE_PROP("acpi-pci-hotplug-with-bridge-support", ICH9LPCState,
                pcihp_bridges, PROP_BOOL, "on",
                "ACPI PCI hotplug on root ports and cold-plugged "
                "pci-bridges (off: native PCIe hotplug)"),
    DEFINE_PROP("x-pm-io-base", ICH9LPCState, pm_io_base_preset, PROP_UINT32,
                "0", "program PMBASE and ACPI_EN at reset as firmware would "
                "(0: leave it to the firmware)"),
    DEFINE_PROP_END_OF_LIST(),
};

static const PCIDeviceClass lpc_class = {
    .vendor_id = PCI_VENDOR_ID_INTEL,
    .device_id = PCI_DEVICE_ID_INTEL_ICH9_8,
    .revision = ICH9_LPC_REVISION,
    .class_id = PCI_CLASS_BRIDGE_ISA,
    .config_write = lpc_config_write,
};

static const DeviceType lpc_type = {
    .name = TYPE_ICH9_LPC_DEVICE,
    .not_hotpluggable = true,
    .parent = TYPE_PCI_DEVICE,
    .desc = "ICH9 LPC bridge",
    .instance_size = sizeof(ICH9LPCState),
    .category = DEVICE_CATEGORY_BRIDGE,
    .props = lpc_props,
    .realize = lpc_realize,
    .unrealize = lpc_unrealize,
    .reset = lpc_reset,
    .vmsd = &vmstate_lpc,
    .class_data = &lpc_class,
};

static void lpc_register_types(void)
{
    device_type_register(&lpc_type);
}
type_init(lpc_register_types)

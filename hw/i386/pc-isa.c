/*
 * The pc machine's legacy ISA devices and the CMOS bytes firmware reads.
 *
 * Devices, as QEMU's i440FX machine has them: the HPET (unless -no-hpet),
 * the MC146818 RTC at 0x70 (its IRQ 8 through the HPET's legacy gate),
 * the i8042 keyboard controller at 0x60/0x64, system control port A at
 * 0x92, the two 8237 DMA controllers (0x00/0xc0, page registers
 * 0x81-0x8f), the floppy controller (0x3f0, IRQ 6, DMA 2; present even
 * with -nodefaults, as QEMU's; hw/block/fdc.c keeps CMOS 10h and the
 * floppy bits of 14h), the 0xed delay port and the VMware backdoor port
 * 0x5658 (unless -machine vmport=off; hw/i386/vmport.c) with the vmmouse
 * behind it when there is an i8042 too (hw/input/vmmouse.c), as QEMU's.
 *
 * CMOS contents (IBM PC/AT layout, as QEMU's pc_cmos_init fills them; the
 * values SeaBIOS reads):
 *   0x10 floppy types (0: no floppy controller), 0x12 hard disk types (0),
 *   0x14 equipment byte (FPU, PS/2 mouse),
 *   0x15/0x16 base memory in KiB (640), 0x17/0x18 and 0x30/0x31 memory
 *   from 1 MiB in KiB (capped 0xffff), 0x34/0x35 memory from 16 MiB to
 *   the PCI hole in 64 KiB units (capped 0xffff), 0x5b-0x5d memory above
 *   4 GiB in 64 KiB units, 0x5f CPU count - 1,
 *   0x3d/0x38 boot order: QEMU's nibbles (a/b floppy 1, c disk 2, d
 *   CD-ROM 3, n network 4), 0x3d low nibble first device, high second,
 *   0x38 bits 7:4 third, 0x38 bit 0 "no floppy boot signature check" (0:
 *   QEMU checks by default),
 *   0x2e/0x2f the AT checksum of 0x10-0x2d (high byte first), kept by
 *   mc146818rtc_set_cmos_data.
 * -boot once=X boots X first and the normal order after the next reset.
 *
 * -rtc: base= and clock= become the RTC's properties; clock= defaults to
 * host (QEMU's default), but to vm under -accel qtest (see pc_parse_rtc).
 */
#include "qemu/osdep.h"
#include "qemu/keyval.h"
#include "hw/i386/pc.h"
#include "hw/rtc/mc146818rtc.h"
#include "hw/timer/hpet.h"
#include "hw/timer/i8254.h"
#include "accel/kvm.h"
#include "hw/input/i8042.h"
#include "hw/dma/i8257.h"
#include "hw/block/fdc.h"
#include "system/runstate.h"

#define PC_DELAY_PORT           0xed
#define PC_MAX_BOOT_DEVICES     3
#define PC_DEFAULT_BOOT_ORDER   "cad"
#define BOOT_NIBBLE_FLOPPY      0x1
#define BOOT_NIBBLE_DISK        0x2
#define BOOT_NIBBLE_CDROM       0x3
#define BOOT_NIBBLE_NETWORK     0x4
#define CMOS_BOOT_NO_FD_CHECK   0x01

#define CMOS_EQUIP_FPU          0x02
#define CMOS_EQUIP_PS2_MOUSE    0x04
#define CMOS_BASE_MEM_KIB       640
#define CMOS_MAX_WORD           0xffff
#define CMOS_MAX_3BYTES         0xffffff
#define CMOS_MAX_CPU_COUNT      0xff

typedef struct PropSetting {
    const char *name;
    const char *value;
} PropSetting;

static DeviceState *pc_isa_new(const char *type, const PropSetting *props,
                               unsigned nprops, GError **errp)
{
    DeviceState *dev = device_new(type, errp);

    if (!dev) {
        return NULL;
    }
    for (unsigned i = 0; i < nprops; i++) {
        if (!device_set_prop(dev, props[i].name, props[i].value, errp)) {
            device_destroy(dev);
            return NULL;
        }
    }
    if (!device_realize(dev, errp)) {
        device_destroy(dev);
        return NULL;
    }
    return dev;
}

/* ---- -rtc ---- */

static bool rtc_option(const char *key, const char *value, char **base,
                       char **clock, const char **policy, GError **errp)
{
    if (!strcmp(key, "base")) {
        g_free(*base);
        *base = g_strdup(value);
    } else if (!strcmp(key, "clock")) {
        g_free(*clock);
        *clock = g_strdup(value);
    } else if (!strcmp(key, "driftfix")) {
        if (strcmp(value, "none") && strcmp(value, "slew")) {
            error_setg(errp, "invalid -rtc driftfix=%s (expected none or "
                       "slew)", value);
            return false;
        }
        /* QEMU: the RTC's lost_tick_policy, discard unless slew */
        *policy = !strcmp(value, "slew") ? "slew" : "discard";
    } else {
        error_setg(errp, "-rtc: invalid parameter '%s'", key);
        return false;
    }
    return true;
}

/*
 * "-rtc base=...,clock=...,driftfix=..." (or a bare base value).  The
 * clock defaults to the host's wall time, as in QEMU, except under
 * -accel qtest, where nothing but clock_step should move the machine's
 * time: there it defaults to the virtual clock.
 */
static bool pc_parse_rtc(const MachineState *ms, char **base, char **clock,
                         const char **policy, GError **errp)
{
    const char *opt = ms->rtc_base;
    bool qtest = ms->accel && !strcmp(ms->accel, "qtest");
    g_autoptr(GPtrArray) kv = NULL;

    *base = g_strdup("utc");
    *clock = g_strdup(qtest ? "vm" : "host");
    if (!opt) {
        return true;
    }
    kv = keyval_parse_list(opt, "base", errp);
    if (!kv) {
        return false;
    }
    for (unsigned i = 0; i < kv->len; i++) {
        KeyValPair *p = g_ptr_array_index(kv, i);
        if (!rtc_option(p->key, p->value, base, clock, policy, errp)) {
            return false;
        }
    }
    return true;
}

static DeviceState *pc_create_rtc(MachineState *ms, GError **errp)
{
    g_autofree char *base = NULL;
    g_autofree char *clock = NULL;
    const char *policy = NULL;      /* without driftfix=: -global's */

    if (!pc_parse_rtc(ms, &base, &clock, &policy, errp)) {
        return NULL;
    }
    PropSetting props[] = { { "base", base }, { "clock", clock },
                            { "lost_tick_policy", policy } };
    return pc_isa_new(TYPE_MC146818_RTC, props,
                      ARRAY_SIZE(props) - (policy ? 0 : 1), errp);
}

/* ---- CMOS ---- */

static void cmos_set_word(DeviceState *rtc, unsigned lo, uint64_t val)
{
    val = MIN(val, CMOS_MAX_WORD);
    mc146818rtc_set_cmos_data(rtc, lo, val & 0xff);
    mc146818rtc_set_cmos_data(rtc, lo + 1, val >> 8);
}

static void pc_cmos_memory(DeviceState *rtc, const MachineState *ms)
{
    uint64_t below = ms->below_4g_mem_size;
    uint64_t ext = below > 1 * MiB ? (below - 1 * MiB) / KiB : 0;
    uint64_t mem16 = below > 16 * MiB ? (below - 16 * MiB) / (64 * KiB) : 0;
    uint64_t high = MIN(ms->above_4g_mem_size / (64 * KiB), CMOS_MAX_3BYTES);

    cmos_set_word(rtc, CMOS_BASE_MEM_LO, MIN(below / KiB, CMOS_BASE_MEM_KIB));
    cmos_set_word(rtc, CMOS_EXT_MEM_LO, ext);
    cmos_set_word(rtc, CMOS_EXT_MEM2_LO, ext);
    cmos_set_word(rtc, CMOS_MEM_16M_LO, mem16);
    mc146818rtc_set_cmos_data(rtc, CMOS_MEM_4G_0, high & 0xff);
    mc146818rtc_set_cmos_data(rtc, CMOS_MEM_4G_1, (high >> 8) & 0xff);
    mc146818rtc_set_cmos_data(rtc, CMOS_MEM_4G_2, high >> 16);
}

static uint8_t boot_device_nibble(char c)
{
    switch (c) {
    case 'a':
    case 'b':
        return BOOT_NIBBLE_FLOPPY;
    case 'c':
        return BOOT_NIBBLE_DISK;
    case 'd':
        return BOOT_NIBBLE_CDROM;
    case 'n':
        return BOOT_NIBBLE_NETWORK;
    default:
        return 0;
    }
}

static bool pc_check_boot_order(const char *order, GError **errp)
{
    size_t n = strlen(order);

    if (n > PC_MAX_BOOT_DEVICES) {
        error_setg(errp, "Too many boot devices for PC");
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!boot_device_nibble(order[i])) {
            error_setg(errp, "Invalid boot device for PC: '%c'", order[i]);
            return false;
        }
        if (strchr(order + i + 1, order[i])) {
            error_setg(errp, "Boot device '%c' was given twice", order[i]);
            return false;
        }
    }
    return true;
}

/* @order was checked by pc_check_boot_order. */
static void pc_cmos_boot_order(DeviceState *rtc, const char *order)
{
    uint8_t nib[PC_MAX_BOOT_DEVICES] = { 0 };

    for (size_t i = 0; order[i] && i < PC_MAX_BOOT_DEVICES; i++) {
        nib[i] = boot_device_nibble(order[i]);
    }
    mc146818rtc_set_cmos_data(rtc, CMOS_BOOT_ORDER_12, nib[1] << 4 | nib[0]);
    mc146818rtc_set_cmos_data(rtc, CMOS_BOOT_ORDER_3, nib[2] << 4);
}

typedef struct BootOnce {
    DeviceState *rtc;
    char *order;
    bool first_reset_seen;
} BootOnce;

/* The reset at start-up boots "once"; the next one restores the order. */
static void pc_boot_once_reset(void *opaque)
{
    BootOnce *b = opaque;

    if (!b->first_reset_seen) {
        b->first_reset_seen = true;
        return;
    }
    if (b->order) {
        pc_cmos_boot_order(b->rtc, b->order);
        g_free(b->order);
        b->order = NULL;
    }
}

static bool pc_cmos_boot(DeviceState *rtc, const MachineState *ms,
                         GError **errp)
{
    g_autoptr(GHashTable) kv = NULL;
    const char *order = PC_DEFAULT_BOOT_ORDER;
    const char *once = NULL;

    if (ms->boot_order) {
        kv = keyval_parse(ms->boot_order, "order", errp);
        if (!kv) {
            return false;
        }
        order = g_hash_table_lookup(kv, "order") ?: order;
        once = g_hash_table_lookup(kv, "once");
    }
    if (!pc_check_boot_order(order, errp) ||
        (once && !pc_check_boot_order(once, errp))) {
        return false;
    }
    pc_cmos_boot_order(rtc, once ? once : order);
    if (once) {
        BootOnce *b = g_new0(BootOnce, 1);
        b->rtc = rtc;
        b->order = g_strdup(order);
        qemu_register_reset(pc_boot_once_reset, b);
    }
    return true;
}

static bool pc_cmos_init(DeviceState *rtc, const MachineState *ms,
                         GError **errp)
{
    unsigned cpus = ms->smp.cpus;

    pc_cmos_memory(rtc, ms);
    mc146818rtc_set_cmos_data(rtc, CMOS_FLOPPY_TYPES, 0);
    mc146818rtc_set_cmos_data(rtc, CMOS_DISK_TYPES, 0);
    mc146818rtc_set_cmos_data(rtc, CMOS_EQUIPMENT,
                              CMOS_EQUIP_FPU | CMOS_EQUIP_PS2_MOUSE);
    mc146818rtc_set_cmos_data(rtc, CMOS_CPU_COUNT_M1,
                              cpus > CMOS_MAX_CPU_COUNT || !cpus ? 0
                                                                 : cpus - 1);
    return pc_cmos_boot(rtc, ms, errp);
}

/* ---- devices ---- */

static bool pc_create_dma(GError **errp)
{
    static const PropSetting dma2[] = {
        { "base", G_STRINGIFY(I8257_DMA2_BASE) },
        { "page-base", G_STRINGIFY(I8257_DMA2_PAGE_BASE) },
        { "dshift", G_STRINGIFY(I8257_DMA2_DSHIFT) },
    };
    static const PropSetting dma1[] = {
        { "base", G_STRINGIFY(I8257_DMA1_BASE) },
        { "page-base", G_STRINGIFY(I8257_DMA1_PAGE_BASE) },
    };

    return pc_isa_new(TYPE_I8257, dma1, ARRAY_SIZE(dma1), errp) &&
           pc_isa_new(TYPE_I8257, dma2, ARRAY_SIZE(dma2), errp);
}

bool pc_isa_devices_init(MachineState *ms, GError **errp)
{
    static const PropSetting delay_port[] = {
        { "iobase", G_STRINGIFY(PC_DELAY_PORT) },
    };
    DeviceState *hpet = NULL;
    DeviceState *rtc;

    /* The PIT is KVM's with kernel_irqchip=on, kvmpc's otherwise. */
    if (machine_userspace_ioapic(ms)) {
        if (!pc_isa_new(TYPE_I8254, NULL, 0, errp)) {
            return false;
        }
        hpet_pit_legacy_hook = i8254_set_hpet_legacy;
    } else if (kvm_enabled()) {
        hpet_pit_legacy_hook = kvm_pit_set_hpet_legacy;
    }
    if (g_hash_table_lookup(ms->props, "pcspk-audiodev")) {
        /* the PC speaker's sound (hw/audio/pcspk.c, docs/audio.md) */
        PropSetting spk[] = {
            { "audiodev", g_hash_table_lookup(ms->props, "pcspk-audiodev") },
        };
        if (!pc_isa_new("isa-pcspk", spk, ARRAY_SIZE(spk), errp)) {
            return false;
        }
    }
    if (ms->vmport && !pc_isa_new("vmport", NULL, 0, errp)) {
        return false;           /* hw/i386/vmport.c */
    }
    if (ms->enable_hpet) {
        hpet = pc_isa_new(TYPE_HPET, NULL, 0, errp);
        if (!hpet) {
            return false;
        }
    }
    rtc = pc_create_rtc(ms, errp);
    if (!rtc) {
        return false;
    }
    if (hpet) {
        mc146818rtc_set_irq_output(rtc, hpet_rtc_irq_input(hpet));
    }
    if ((ms->i8042 && !pc_isa_new(TYPE_I8042, NULL, 0, errp)) ||
        /* the vmmouse wakes its driver through the PS/2 mouse */
        (ms->i8042 && ms->vmport && !pc_isa_new("vmmouse", NULL, 0, errp)) ||
        !pc_isa_new("port92", NULL, 0, errp) ||
        !pc_create_dma(errp) || !pc_fdc_init(errp) ||
        !pc_isa_new("ioport80", delay_port, ARRAY_SIZE(delay_port), errp)) {
        return false;
    }
    return pc_cmos_init(rtc, ms, errp);
}

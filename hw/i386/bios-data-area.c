/*
 * The BIOS data area (BDA, segment 0x40) and the header of the extended
 * BIOS data area (EBDA) of a direct kernel boot, filled as PC firmware
 * fills them during POST (IBM PC/AT Technical Reference, "BIOS Data
 * Area"; the values are those SeaBIOS leaves on the pc machine,
 * docs/firmware.md):
 *   0x400  COM1-COM4 base I/O ports: the ISA serial ports present, in the
 *          order a BIOS probes them (0x3f8, 0x2f8, 0x3e8, 0x2e8)
 *   0x408  LPT1-LPT3 base I/O ports (kvmpc models no parallel port: 0)
 *   0x40e  EBDA segment
 *   0x410  equipment word: bit 1 math coprocessor (every CPU kvmpc
 *          offers has an x87), bit 2 pointing device (the i8042's PS/2
 *          mouse port), bits 9-11 serial ports, bits 14-15 parallel ports
 *   0x413  base memory in KiB: everything below the EBDA
 *   0x41a/0x41c keyboard buffer head/tail, 0x480/0x482 its start/end
 *          (offsets in segment 0x40: the 32-byte buffer at 0x41e)
 *   0x47c  COM1-COM4 timeouts, one byte per port present
 *   0x496  keyboard mode: bit 4, 101/102-key keyboard (with the i8042)
 * EBDA byte 0: its size in KiB.
 * The rest of the BDA is zero, as after POST with no disks or video.
 * Rewritten at every reset: the guest owns this RAM once it runs.
 */
#include "qemu/osdep.h"
#include "hw/i386/bios-direct.h"
#include "hw/i386/acpi-build.h"
#include "hw/i386/acpi-direct.h"
#include "hw/i386/x86-boot.h"

#define BDA_BASE                0x400ULL
#define BDA_SIZE                0x100
/* offsets in the BDA */
#define BDA_COM_PORTS           0x00
#define BDA_LPT_PORTS           0x08
#define BDA_EBDA_SEGMENT        0x0e
#define BDA_EQUIPMENT           0x10
#define BDA_BASE_MEMORY_KIB     0x13
#define BDA_KBD_HEAD            0x1a
#define BDA_KBD_TAIL            0x1c
#define BDA_KBD_BUFFER          0x1e
#define BDA_KBD_BUFFER_END      0x3e
#define BDA_COM_TIMEOUTS        0x7c
#define BDA_KBD_START           0x80
#define BDA_KBD_END             0x82
#define BDA_KBD_MODE            0x96

#define EQUIP_FPU               0x0002
#define EQUIP_MOUSE             0x0004
#define EQUIP_SERIAL_SHIFT      9
#define EQUIP_PARALLEL_SHIFT    14
#define COM_TIMEOUT             0x0a    /* SeaBIOS's default, in ticks */
#define KBD_MODE_101_KEYS       0x10
#define MAX_COM_PORTS           4

static const uint16_t com_probe_order[MAX_COM_PORTS] = {
    0x3f8, 0x2f8, 0x3e8, 0x2e8
};

static bool has_serial_at(const AcpiPcConfig *cfg, uint16_t iobase)
{
    for (unsigned i = 0; i < cfg->nr_serials; i++) {
        if (cfg->serials[i].iobase == iobase) {
            return true;
        }
    }
    return false;
}

/* The COM port list and timeouts; returns how many ports it listed. */
static unsigned fill_com_ports(uint8_t *bda, const AcpiPcConfig *cfg)
{
    unsigned n = 0;

    for (unsigned i = 0; i < MAX_COM_PORTS; i++) {
        if (has_serial_at(cfg, com_probe_order[i])) {
            stw_le_p(bda + BDA_COM_PORTS + 2 * n, com_probe_order[i]);
            bda[BDA_COM_TIMEOUTS + n] = COM_TIMEOUT;
            n++;
        }
    }
    return n;
}

static void fill_keyboard(uint8_t *bda, bool has_i8042)
{
    stw_le_p(bda + BDA_KBD_HEAD, BDA_KBD_BUFFER);
    stw_le_p(bda + BDA_KBD_TAIL, BDA_KBD_BUFFER);
    stw_le_p(bda + BDA_KBD_START, BDA_KBD_BUFFER);
    stw_le_p(bda + BDA_KBD_END, BDA_KBD_BUFFER_END);
    if (has_i8042) {
        bda[BDA_KBD_MODE] = KBD_MODE_101_KEYS;
    }
}

static void fill_bda(uint8_t *bda, const AcpiPcConfig *cfg)
{
    unsigned ncom = fill_com_ports(bda, cfg);
    uint16_t equipment = EQUIP_FPU | ncom << EQUIP_SERIAL_SHIFT;

    if (cfg->i8042) {
        equipment |= EQUIP_MOUSE;
    }
    /* no parallel ports: LPT list and count stay 0 */
    stw_le_p(bda + BDA_EQUIPMENT, equipment);
    stw_le_p(bda + BDA_EBDA_SEGMENT, ACPI_DIRECT_EBDA_BASE >> 4);
    stw_le_p(bda + BDA_BASE_MEMORY_KIB, ACPI_DIRECT_EBDA_BASE / KiB);
    fill_keyboard(bda, cfg->i8042);
}

bool bios_data_area_install(MachineState *ms, GError **errp)
{
    uint8_t bda[BDA_SIZE] = { 0 };
    uint8_t ebda_size_kib = ACPI_DIRECT_EBDA_SIZE / KiB;
    AcpiPcConfig cfg;

    acpi_pc_config(ms, &cfg);
    fill_bda(bda, &cfg);
    acpi_pc_config_cleanup(&cfg);
    return x86_boot_write(BDA_BASE, bda, sizeof(bda), "the BIOS data area",
                          errp) &&
           x86_boot_write(ACPI_DIRECT_EBDA_BASE, &ebda_size_kib, 1,
                          "the EBDA", errp);
}

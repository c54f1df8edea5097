/*
 * Intel ICH9 SMBus controller (8086:2930, 1f.3): QEMU's "ICH9-SMB", the
 * host controller with the eight blank SPD EEPROMs QEMU's q35 puts at
 * addresses 50h-57h.
 *
 * Spec: Intel ICH9 datasheet 17.1 (PCI: SMB_BASE at 20h (BAR4, 32 bytes
 * of I/O), HOSTC 40h bit 0 HST_EN) and 17.2 (host I/O registers: HST_STS
 * 00h, HST_CNT 02h with SMB_CMD 4:2 and START 6, HST_CMD 03h, XMIT_SLVA
 * 04h (bit 0: read), HST_D0/D1 05h/06h, HOST_BLOCK_DB 07h, AUX_CTL 0Dh);
 * SMBus 2.0 5.5 for the protocols.
 *
 * A START runs the command at once: quick, send/receive byte, read/write
 * byte data and word data reach an EEPROM (256 bytes each, with the
 * current-address pointer receive byte uses); any other address sets
 * DEV_ERR; block and process-call commands set DEV_ERR too (not
 * modelled).  Completion sets INTR; with INTREN the function asserts INTA#
 * while INTR or an error bit is set.  With HST_EN clear the registers read
 * all-ones and ignore writes.
 */
#include "qemu/osdep.h"
#include "hw/pci-host/q35.h"

#define SMB_HST_STS             0x00
#define SMB_HST_CNT             0x02
#define SMB_HST_CMD             0x03
#define SMB_XMIT_SLVA           0x04
#define SMB_HST_D0              0x05
#define SMB_HST_D1              0x06
#define SMB_BLOCK_DB            0x07
#define SMB_AUX_STS             0x0c
#define SMB_AUX_CTL             0x0d
#define STS_HOST_BUSY           0x01
#define STS_INTR                0x02
#define STS_DEV_ERR             0x04
#define STS_BUS_ERR             0x08
#define STS_FAILED              0x10
#define STS_W1C                 0xfe
#define STS_IRQ_BITS            (STS_INTR | STS_DEV_ERR | STS_BUS_ERR | \
                                 STS_FAILED)
#define CNT_INTREN              0x01
#define CNT_KILL                0x02
#define CNT_CMD_SHIFT           2
#define CNT_CMD_MASK            0x07
#define CNT_START               0x40
#define CMD_QUICK               0
#define CMD_BYTE                1
#define CMD_BYTE_DATA           2
#define CMD_WORD_DATA           3
#define SPD_FIRST               0x50
#define SPD_COUNT               8
#define SPD_SIZE                256

typedef struct ICH9SMBState {
    PCIDevice parent;
    MemoryRegion io;
    uint8_t sts, cnt, cmd, slva, d0, d1, block, aux_ctl;
    uint8_t spd[SPD_COUNT][SPD_SIZE];
    uint8_t spd_ptr[SPD_COUNT];
} ICH9SMBState;

static bool smb_enabled(ICH9SMBState *s)
{
    return s->parent.config[ICH9_SMB_HOSTC] & ICH9_SMB_HOSTC_HST_EN;
}

static void smb_update_irq(ICH9SMBState *s)
{
    pci_set_irq(&s->parent, (s->cnt & CNT_INTREN) &&
                            (s->sts & STS_IRQ_BITS));
}

/* Run the command in HST_CNT; false: no device answered. */
static bool smb_transaction(ICH9SMBState *s)
{
    unsigned addr = s->slva >> 1;
    bool read = s->slva & 1;
    unsigned cmd = (s->cnt >> CNT_CMD_SHIFT) & CNT_CMD_MASK;
    unsigned n;
    uint8_t *rom;

    if (addr < SPD_FIRST || addr >= SPD_FIRST + SPD_COUNT) {
        return false;
    }
    n = addr - SPD_FIRST;
    rom = s->spd[n];
    switch (cmd) {
    case CMD_QUICK:
        return true;
    case CMD_BYTE:
        if (read) {
            s->d0 = rom[s->spd_ptr[n]++];
        } else {
            s->spd_ptr[n] = s->cmd;
        }
        return true;
    case CMD_BYTE_DATA:
        if (read) {
            s->d0 = rom[s->cmd];
        } else {
            rom[s->cmd] = s->d0;
        }
        s->spd_ptr[n] = s->cmd + 1;
        return true;
    case CMD_WORD_DATA:
        if (read) {
            s->d0 = rom[s->cmd];
            s->d1 = rom[(uint8_t)(s->cmd + 1)];
        } else {
            rom[s->cmd] = s->d0;
            rom[(uint8_t)(s->cmd + 1)] = s->d1;
        }
        s->spd_ptr[n] = s->cmd + 2;
        return true;
    default:
        return false;
    }
}

static uint64_t smb_read(void *opaque, uint64_t addr, unsigned size)
{
    ICH9SMBState *s = opaque;

    if (!smb_enabled(s)) {
        return 0xff;
    }
    switch (addr) {
    case SMB_HST_STS: return s->sts;
    case SMB_HST_CNT: return s->cnt & ~CNT_START;
    case SMB_HST_CMD: return s->cmd;
    case SMB_XMIT_SLVA: return s->slva;
    case SMB_HST_D0: return s->d0;
    case SMB_HST_D1: return s->d1;
    case SMB_BLOCK_DB: return s->block;
    case SMB_AUX_CTL: return s->aux_ctl;
    default: return 0;
    }
}

static void smb_write(void *opaque, uint64_t addr, uint64_t val,
                      unsigned size)
{
    ICH9SMBState *s = opaque;

    if (!smb_enabled(s)) {
        return;
    }
    switch (addr) {
    case SMB_HST_STS:
        s->sts &= ~(val & STS_W1C);
        break;
    case SMB_HST_CNT:
        s->cnt = val & ~CNT_START;
        if (val & CNT_KILL) {
            s->sts |= STS_FAILED;
            s->sts &= ~STS_HOST_BUSY;
        } else if ((val & CNT_START) && !(s->sts & STS_IRQ_BITS)) {
            s->sts |= smb_transaction(s) ? STS_INTR : STS_DEV_ERR;
        }
        break;
    case SMB_HST_CMD: s->cmd = val; break;
    case SMB_XMIT_SLVA: s->slva = val; break;
    case SMB_HST_D0: s->d0 = val; break;
    case SMB_HST_D1: s->d1 = val; break;
    case SMB_BLOCK_DB: s->block = val; break;
    case SMB_AUX_CTL: s->aux_ctl = val & 0x03; break;
    default: break;
    }
    smb_update_irq(s);
}

static const MemoryRegionOps smb_ops = {
    .read = smb_read,
    .write = smb_write,
    .min_access_size = 1,
    .max_access_size = 1,
};

static void smb_config_write(PCIDevice *d, uint32_t addr, uint32_t val,
                             unsigned len)
{
    pci_default_write_config(d, addr, val, len);
}

static bool smb_realize(DeviceState *dev, GError **errp)
{
    ICH9SMBState *s = (ICH9SMBState *)dev;
    uint8_t *w = s->parent.wmask;

    memset(w + PCI_CONFIG_HEADER_SIZE, 0,
           PCI_CONFIG_SPACE_SIZE - PCI_CONFIG_HEADER_SIZE);
    w[ICH9_SMB_HOSTC] = 0x1f;           /* HST_EN, SMB_SMI_EN, I2C_EN... */
    memory_region_init_io(&s->io, &smb_ops, s, "ich9-smbus",
                          ICH9_SMB_IO_SIZE);
    pci_register_bar(&s->parent, ICH9_SMB_BASE_BAR, PCI_BASE_ADDRESS_SPACE_IO,
                     &s->io);
    return true;
}

static void smb_unrealize(DeviceState *dev)
{
    ICH9SMBState *s = (ICH9SMBState *)dev;

    memory_region_destroy(&s->io);
}

static void smb_reset(DeviceState *dev)
{
    ICH9SMBState *s = (ICH9SMBState *)dev;

    s->parent.config[ICH9_SMB_HOSTC] = 0;
    s->sts = s->cnt = s->cmd = s->slva = s->d0 = s->d1 = s->block = 0;
    s->aux_ctl = 0;
    memset(s->spd_ptr, 0, sizeof(s->spd_ptr));
    smb_update_irq(s);
}

static const VMStateDescription vmstate_smb = {
    .name = "ich9_smb",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8(sts, ICH9SMBState),
        VMSTATE_UINT8(cnt, ICH9SMBState),
        VMSTATE_UINT8(cmd, ICH9SMBState),
        VMSTATE_UINT8(slva, ICH9SMBState),
        VMSTATE_UINT8(d0, ICH9SMBState),
        VMSTATE_UINT8(d1, ICH9SMBState),
        VMSTATE_UINT8(block, ICH9SMBState),
        VMSTATE_UINT8(aux_ctl, ICH9SMBState),
        VMSTATE_BUFFER(spd, ICH9SMBState),
        VMSTATE_UINT8_ARRAY(spd_ptr, ICH9SMBState, SPD_COUNT),
        VMSTATE_END_OF_LIST()
    },
};

static const PCIDeviceClass smb_class = {
    .vendor_id = PCI_VENDOR_ID_INTEL,
    .device_id = PCI_DEVICE_ID_INTEL_ICH9_6,
    .revision = ICH9_SMB_REVISION,
    .class_id = PCI_CLASS_SERIAL_SMBUS,
    .interrupt_pin = 1,
    .config_write = smb_config_write,
};

static const DeviceType smb_type = {
    .name = TYPE_ICH9_SMB_DEVICE,
    .not_hotpluggable = true,
    .parent = TYPE_PCI_DEVICE,
    .desc = "ICH9 SMBus controller",
    .instance_size = sizeof(ICH9SMBState),
    .category = DEVICE_CATEGORY_BRIDGE,
    .realize = smb_realize,
    .unrealize = smb_unrealize,
    .reset = smb_reset,
    .vmsd = &vmstate_smb,
    .class_data = &smb_class,
};

static void smb_register_types(void)
{
    device_type_register(&smb_type);
}
type_init(smb_register_types)

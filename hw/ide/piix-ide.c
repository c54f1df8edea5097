/*
 * Intel 82371SB (PIIX3) function 1: the IDE controller (8086:7010).
 *
 * Specs: Intel 82371FB/82371SB datasheet, 2.3 (IDE configuration space:
 * IDETIM 40h-43h, SIDETIM 44h, BMIBA 20h) and 2.7 (bus master registers);
 * SFF-8038i rev 1.0 "Bus Master Programming Interface for IDE ATA
 * Controllers" (BMICx command, BMISx status, BMIDTPx PRD table pointer,
 * the PRD format).
 *
 * As on QEMU's pc, both channels decode their legacy ports at all times
 * (primary 1F0h-1F7h/3F6h on IRQ 14, secondary 170h-177h/376h on IRQ 15)
 * and the function has no PCI interrupt pin.  The bus master is BAR4, 16
 * I/O ports, eight per channel.
 *
 * PRD walk: entries are 8 bytes (32-bit address, 16-bit count with 0
 * meaning 64 KiB, bit 31 of the second dword EOT).  The table is read
 * only through pci_dma_read and never past 8192 entries (64 KiB of
 * table, the most SFF-8038i allows: a table may not cross a 64 KiB
 * boundary), so a table without EOT cannot run forever; every data
 * access is a pci_dma_read/write, so an address outside RAM is a master
 * abort: the status register's error bit and the drive's ABRT.
 */
#include "qemu/osdep.h"
#include "hw/ide/ide.h"
#include "hw/isa.h"
#include "hw/pci/pci.h"

#define BM_CMD          0
#define BM_STATUS       2
#define BM_PRD          4
#define BM_CHANNEL_SIZE 8

#define BM_CMD_START    0x01
#define BM_CMD_READ     0x08        /* 1: the bus master writes memory */
#define BM_ST_ACTIVE    0x01
#define BM_ST_ERROR     0x02
#define BM_ST_INTR      0x04
#define BM_ST_DMA_CAP   0x60        /* drive 0/1 DMA capable (software) */

#define PRD_EOT         0x80000000u
#define PRD_MAX_ENTRIES 8192

#define PIIX_IDETIM     0x40        /* 40h-43h, IDE timing, per channel */
#define PIIX_SIDETIM    0x44

typedef struct BMChannel {
    struct PIIXIDEState *ctrl;
    int index;
    uint8_t cmd, status;
    uint32_t prd_addr;
    /* the PRD walk of the transfer in progress */
    uint32_t cur_addr;          /* next data byte */
    uint32_t cur_left;          /* bytes left in the current entry */
    uint32_t prd_index;         /* entries consumed */
    bool cur_eot;               /* the current entry is the last */
    IDEBus bus;
    MemoryRegion cmd_io, ctl_io;
} BMChannel;

typedef struct PIIXIDEState {
    PCIDevice parent;
    BMChannel ch[IDE_NUM_BUSES];
    MemoryRegion bmdma;
} PIIXIDEState;

static PIIXIDEState *piix_ide;

static const uint16_t legacy_cmd_base[IDE_NUM_BUSES] = { 0x1f0, 0x170 };
static const uint16_t legacy_ctl_port[IDE_NUM_BUSES] = { 0x3f6, 0x376 };
static const unsigned legacy_irq[IDE_NUM_BUSES] = { 14, 15 };

IDEBus *piix_ide_get_bus(int n)
{
    return piix_ide && n >= 0 && n < IDE_NUM_BUSES ? &piix_ide->ch[n].bus
                                                   : NULL;
}

/* ---- the channel's side (IDEBusOps) ------------------------------------ */

static void bm_set_irq(void *opaque, bool level)
{
    BMChannel *c = opaque;

    /* SFF-8038i: the interrupt bit follows the drive's INTRQ rising. */
    if (level) {
        c->status |= BM_ST_INTR;
    }
    qemu_set_irq(isa_get_irq(legacy_irq[c->index]), level);
}

static bool bm_dma_active(void *opaque)
{
    BMChannel *c = opaque;

    return c->cmd & BM_CMD_START;
}

/* Load the next PRD entry; false at the end of the table or on a bad one. */
static bool bm_next_prd(BMChannel *c, IDEDMAResult *res)
{
    uint8_t e[8];
    uint32_t len;

    if (c->cur_eot) {
        *res = IDE_DMA_SHORT;
        return false;
    }
    if (c->prd_index >= PRD_MAX_ENTRIES) {
        *res = IDE_DMA_ERROR;           /* a table that never ends */
        return false;
    }
    if (pci_dma_read(&c->ctrl->parent,
                     (uint64_t)c->prd_addr + 8ull * c->prd_index,
                     e, sizeof(e)) != MEMTX_OK) {
        *res = IDE_DMA_ERROR;
        return false;
    }
    c->prd_index++;
    c->cur_addr = ldl_le_p(e) & ~1u;    /* word aligned */
    len = ldl_le_p(e + 4);
    c->cur_eot = len & PRD_EOT;
    len &= 0xfffe;
    c->cur_left = len ? len : 0x10000;
    return true;
}

static IDEDMAResult bm_dma_rw(void *opaque, uint8_t *buf, uint32_t len,
                              bool to_memory)
{
    BMChannel *c = opaque;
    IDEDMAResult res = IDE_DMA_OK;

    if (!(c->cmd & BM_CMD_START)) {
        return IDE_DMA_ERROR;
    }
    /* The direction bit says what the engine does, whatever the drive
     * wants; a mismatch moves nothing useful, as on hardware. */
    to_memory = c->cmd & BM_CMD_READ;
    while (len) {
        uint32_t n;
        MemTxResult r;
        if (!c->cur_left && !bm_next_prd(c, &res)) {
            return res;
        }
        n = MIN(len, c->cur_left);
        r = to_memory ? pci_dma_write(&c->ctrl->parent, c->cur_addr, buf, n)
                      : pci_dma_read(&c->ctrl->parent, c->cur_addr, buf, n);
        if (r != MEMTX_OK) {
            return IDE_DMA_ERROR;
        }
        c->cur_addr += n;
        c->cur_left -= n;
        buf += n;
        len -= n;
    }
    return IDE_DMA_OK;
}

/*
 * SFF-8038i 3.1 "Interrupt/Active bit" table: the drive done and the PRD
 * table exhausted leaves ACTIVE clear; a table longer than the transfer
 * leaves ACTIVE set; errors clear it and set ERROR.
 */
static void bm_dma_end(void *opaque, IDEDMAResult res)
{
    BMChannel *c = opaque;

    switch (res) {
    case IDE_DMA_OK:
        if (c->cur_eot && !c->cur_left) {
            c->status &= ~BM_ST_ACTIVE;
        }
        break;
    case IDE_DMA_SHORT:
        c->status &= ~BM_ST_ACTIVE;
        break;
    case IDE_DMA_ERROR:
        c->status &= ~BM_ST_ACTIVE;
        c->status |= BM_ST_ERROR;
        break;
    }
}

static const IDEBusOps bm_bus_ops = {
    .set_irq = bm_set_irq,
    .dma_active = bm_dma_active,
    .dma_rw = bm_dma_rw,
    .dma_end = bm_dma_end,
};

/* ---- bus master registers (BAR4) ----------------------------------------- */

static void bm_cmd_write(BMChannel *c, uint8_t val)
{
    bool was_started = c->cmd & BM_CMD_START;

    /* The direction bit is writable only while the engine is stopped. */
    if (was_started) {
        val = (val & BM_CMD_START) | (c->cmd & BM_CMD_READ);
    }
    c->cmd = val & (BM_CMD_START | BM_CMD_READ);
    if (!was_started && (val & BM_CMD_START)) {
        c->status |= BM_ST_ACTIVE;
        c->prd_index = 0;
        c->cur_left = 0;
        c->cur_eot = false;
        ide_bus_dma_kick(&c->bus);
    } else if (was_started && !(val & BM_CMD_START)) {
        /* Stopping the engine aborts what is in flight. */
        c->status &= ~BM_ST_ACTIVE;
    }
}

static void bm_status_write(BMChannel *c, uint8_t val)
{
    c->status = (c->status & ~BM_ST_DMA_CAP) | (val & BM_ST_DMA_CAP);
    c->status &= ~(val & (BM_ST_ERROR | BM_ST_INTR));   /* write 1 to clear */
}

static uint64_t bm_read(void *opaque, uint64_t addr, unsigned size)
{
    PIIXIDEState *d = opaque;
    BMChannel *c = &d->ch[addr / BM_CHANNEL_SIZE];
    unsigned reg = addr % BM_CHANNEL_SIZE;
    uint64_t val = 0;

    for (unsigned i = 0; i < size; i++, reg++) {
        uint8_t b = 0;
        if (reg == BM_CMD) {
            b = c->cmd;
        } else if (reg == BM_STATUS) {
            b = c->status;
        } else if (reg >= BM_PRD && reg < BM_PRD + 4) {
            b = c->prd_addr >> ((reg - BM_PRD) * 8);
        }
        val |= (uint64_t)b << (i * 8);
    }
    return val;
}

static void bm_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    PIIXIDEState *d = opaque;
    BMChannel *c = &d->ch[addr / BM_CHANNEL_SIZE];
    unsigned reg = addr % BM_CHANNEL_SIZE;

    for (unsigned i = 0; i < size; i++, reg++, val >>= 8) {
        if (reg == BM_CMD) {
            bm_cmd_write(c, val);
        } else if (reg == BM_STATUS) {
            bm_status_write(c, val);
        } else if (reg >= BM_PRD && reg < BM_PRD + 4) {
            unsigned sh = (reg - BM_PRD) * 8;
            c->prd_addr = (c->prd_addr & ~(0xffu << sh)) |
                          (uint32_t)(val & 0xff) << sh;
            c->prd_addr &= ~3u;     /* dword aligned (BMIDTP bits 1:0) */
        }
    }
}

static const MemoryRegionOps bm_ops = {
    .read = bm_read,
    .write = bm_write,
    .min_access_size = 1,
    .max_access_size = 4,
};

/* ---- legacy ports ------------------------------------------------------- */

static uint64_t ide_cmd_read(void *opaque, uint64_t addr, unsigned size)
{
    BMChannel *c = opaque;

    return ide_ioport_read(&c->bus, addr, size);
}

static void ide_cmd_write(void *opaque, uint64_t addr, uint64_t val,
                          unsigned size)
{
    BMChannel *c = opaque;

    ide_ioport_write(&c->bus, addr, val, size);
}

static uint64_t ide_ctl_read(void *opaque, uint64_t addr, unsigned size)
{
    BMChannel *c = opaque;

    return ide_status_read(&c->bus);
}

static void ide_ctl_port_write(void *opaque, uint64_t addr, uint64_t val,
                               unsigned size)
{
    BMChannel *c = opaque;

    ide_ctl_write(&c->bus, val);
}

/* Only the data register (offset 0) is wider than a byte; a wider access
 * at another offset is taken as a byte access to that register. */
static const MemoryRegionOps ide_cmd_ops = {
    .read = ide_cmd_read,
    .write = ide_cmd_write,
    .min_access_size = 1,
    .max_access_size = 4,
};

static const MemoryRegionOps ide_ctl_ops = {
    .read = ide_ctl_read,
    .write = ide_ctl_port_write,
    .min_access_size = 1,
    .max_access_size = 1,
};

/* ---- life cycle --------------------------------------------------------- */

static bool piix_ide_realize(DeviceState *dev, GError **errp)
{
    PIIXIDEState *d = (PIIXIDEState *)dev;

    if (piix_ide) {
        error_setg(errp, "piix3-ide: the machine has one already");
        return false;
    }
    for (unsigned i = PIIX_IDETIM; i < PIIX_SIDETIM + 1; i++) {
        d->parent.wmask[i] = 0xff;
    }
    memory_region_init_io(&d->bmdma, &bm_ops, d, "piix-bmdma",
                          IDE_NUM_BUSES * BM_CHANNEL_SIZE);
    pci_register_bar(&d->parent, 4, PCI_BASE_ADDRESS_SPACE_IO, &d->bmdma);
    for (int i = 0; i < IDE_NUM_BUSES; i++) {
        BMChannel *c = &d->ch[i];
        c->ctrl = d;
        c->index = i;
        ide_bus_init(&c->bus, ide_bus_count(), &bm_bus_ops, c);
        c->bus.name = g_strdup_printf("ide.%d", i);
        c->bus.owner = d;               /* every region's owner */
        /* The path SeaBIOS matches for a PIIX drive: channel, then unit. */
        c->bus.fw_path = g_strdup_printf("/pci@i0cf8/ide@%x,%x/drive@%x",
                                         PCI_SLOT(d->parent.devfn),
                                         PCI_FUNC(d->parent.devfn), i);
        ide_bus_register(&c->bus);
        memory_region_init_io(&c->cmd_io, &ide_cmd_ops, c, "ide", 8);
        memory_region_set_owner(&c->cmd_io, d);
        memory_region_add_subregion(get_system_io(), legacy_cmd_base[i],
                                    &c->cmd_io);
        memory_region_init_io(&c->ctl_io, &ide_ctl_ops, c, "ide-ctl", 1);
        memory_region_set_owner(&c->ctl_io, d);
        memory_region_add_subregion(get_system_io(), legacy_ctl_port[i],
                                    &c->ctl_io);
    }
    piix_ide = d;
    return true;
}

static void piix_ide_unrealize(DeviceState *dev)
{
    PIIXIDEState *d = (PIIXIDEState *)dev;

    for (int i = 0; i < IDE_NUM_BUSES; i++) {
        ide_bus_quiesce(&d->ch[i].bus);     /* nothing may complete later */
        memory_region_destroy(&d->ch[i].cmd_io);
        memory_region_destroy(&d->ch[i].ctl_io);
        ide_bus_unregister(&d->ch[i].bus);
    }
    memory_region_destroy(&d->bmdma);
    if (piix_ide == d) {
        piix_ide = NULL;
    }
}

static void piix_ide_reset(DeviceState *dev)
{
    PIIXIDEState *d = (PIIXIDEState *)dev;

    memset(d->parent.config + PIIX_IDETIM, 0, PIIX_SIDETIM + 1 - PIIX_IDETIM);
    for (int i = 0; i < IDE_NUM_BUSES; i++) {
        BMChannel *c = &d->ch[i];
        c->cmd = c->status = 0;
        c->prd_addr = 0;
        c->cur_addr = c->cur_left = c->prd_index = 0;
        c->cur_eot = false;
        ide_bus_reset(&c->bus);
    }
}

static int piix_ide_post_load(void *opaque, int version_id)
{
    PIIXIDEState *d = opaque;

    for (int i = 0; i < IDE_NUM_BUSES; i++) {
        BMChannel *c = &d->ch[i];
        c->cmd &= BM_CMD_START | BM_CMD_READ;
        c->status &= BM_ST_ACTIVE | BM_ST_ERROR | BM_ST_INTR | BM_ST_DMA_CAP;
        c->prd_addr &= ~3u;
        if (c->prd_index > PRD_MAX_ENTRIES) {
            c->prd_index = PRD_MAX_ENTRIES;
        }
        ide_bus_post_load(&c->bus);
    }
    return 0;
}

static const VMStateDescription vmstate_bm_channel = {
    .name = "ide-bmdma",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8(cmd, BMChannel),
        VMSTATE_UINT8(status, BMChannel),
        VMSTATE_UINT32(prd_addr, BMChannel),
        VMSTATE_UINT32(cur_addr, BMChannel),
        VMSTATE_UINT32(cur_left, BMChannel),
        VMSTATE_UINT32(prd_index, BMChannel),
        VMSTATE_BOOL(cur_eot, BMChannel),
        VMSTATE_STRUCT(bus, BMChannel, vmstate_ide_bus, IDEBus),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_piix_ide = {
    .name = "piix3-ide",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = piix_ide_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT_ARRAY(ch, PIIXIDEState, IDE_NUM_BUSES,
                             vmstate_bm_channel, BMChannel),
        VMSTATE_END_OF_LIST()
    },
};

static const PCIDeviceClass piix_ide_class = {
    .vendor_id = PCI_VENDOR_ID_INTEL,
    .device_id = PCI_DEVICE_ID_INTEL_82371SB_1,
    .class_id = 0x0101,                 /* mass storage, IDE */
    .prog_if = 0x80,                    /* bus master, legacy modes */
    .status = PCI_STATUS_DEVSEL_MEDIUM | PCI_STATUS_FAST_BACK,
};

static const DeviceType piix_ide_type = {
    .name = TYPE_PIIX3_IDE,
    .not_hotpluggable = true,
    .parent = TYPE_PCI_DEVICE,
    .desc = "PIIX3 IDE controller",
    .instance_size = sizeof(PIIXIDEState),
    .category = DEVICE_CATEGORY_STORAGE,
    .realize = piix_ide_realize,
    .unrealize = piix_ide_unrealize,
    .reset = piix_ide_reset,
    .vmsd = &vmstate_piix_ide,
    .class_data = &piix_ide_class,
};

static void piix_ide_register_types(void)
{
    device_type_register(&piix_ide_type);
}
type_init(piix_ide_register_types)

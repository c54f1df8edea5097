/*
 * pci-testdev: QEMU's PCI test device (1b36:0005), for kvm-unit-tests'
 * pci test and for kvmpc's own qtests of the PCI framework.
 *
 * Spec: QEMU docs/specs/pci-testdev.txt (the protocol), PCI Local Bus
 * Specification 3.0 for everything PCI.
 *
 * BAR0 is 4 KiB of memory, BAR1 256 I/O ports, optional BAR2 a 64-bit
 * prefetchable memory BAR of "membar" bytes (no decoding).  Each I/O BAR
 * holds a header:
 *   +0  test   (u8, write: select test N of this BAR's kind: 0 no-eventfd,
 *               1 wildcard-eventfd, 2 datamatch-eventfd; resets count)
 *   +1  width  (u8, 1)       +4  offset (u32)     +8  data (u8, 0xfa)
 *   +12 count  (u32)         +16 name   (NUL-terminated)
 * and a write of @width bytes at @offset (with @data, except for the
 * wildcard test) increments @count.  Without ioeventfds every test just
 * counts in userspace.
 *
 * kvmpc extensions for framework tests (not in QEMU), in both BARs at
 * 0xf0 (I/O) / 0xff0 (memory), outside QEMU's protocol area:
 *   +0 INTX   write: drive the INTx pin ("intx-pin" property, default none)
 *   +4 MSI    write: signal that MSI vector ("msi-vectors" > 0)
 *   +8 MSIX   write: signal that MSI-X vector ("msix-vectors" > 0; the
 *             table is BAR4 at 0, the PBA at 0x800)
 *   +12 SCRATCH  read/write echo register
 * and a DMA engine 16 bytes below that (0xe0 I/O, 0xfe0 memory), for tests
 * of bus-master DMA aimed anywhere, the device's own registers included:
 *   +0 DMA_SRC  +4 DMA_DST (u32 guest-physical addresses)
 *   +8 DMA_LEN  (u32, at most 4096)
 *   +12 DMA_GO  write: copy DMA_LEN bytes from DMA_SRC to DMA_DST as the
 *               bus master (nothing while Bus Master Enable is clear)
 */
#include "qemu/osdep.h"
#include "hw/pci/pci.h"
#include "hw/pci/msi.h"

#define TYPE_PCI_TESTDEV        "pci-testdev"

#define IOTEST_DATAMATCH        0xfa
#define IOTEST_IOSIZE           128
#define IOTEST_MEMSIZE          2048
#define IOTEST_ACCESS_WIDTH     1
#define IOTEST_MAX_TEST         3       /* tests per BAR kind */
#define IOTEST_TYPE_MEM         0
#define IOTEST_TYPE_PIO         1
#define IOTEST_MAX              (IOTEST_MAX_TEST * 2)
#define IOTEST_TEST_WILDCARD    1

#define HDR_TEST                0
#define HDR_WIDTH               1
#define HDR_OFFSET              4
#define HDR_DATA                8
#define HDR_COUNT               12
#define HDR_NAME                16
#define HDR_NAME_MAX            32
#define HDR_SIZE                (HDR_NAME + HDR_NAME_MAX)

#define EXT_IO_BASE             0xf0
#define EXT_MEM_BASE            0xff0
#define EXT_INTX                0
#define EXT_MSI                 4
#define EXT_MSIX                8
#define EXT_SCRATCH             12
#define EXT_SIZE                16

#define DMA_BLOCK_SIZE          16      /* just below the EXT block */
#define DMA_SRC                 0
#define DMA_DST                 4
#define DMA_LEN                 8
#define DMA_GO                  12
#define DMA_MAX_LEN             4096
#define DMA_CHUNK               256

#define TESTDEV_MSIX_BAR        4

static const char *const iotest_test[IOTEST_MAX_TEST] = {
    "no-eventfd", "wildcard-eventfd", "datamatch-eventfd",
};
static const char *const iotest_type[2] = { "mmio", "portio" };

typedef struct PCITestDevState {
    PCIDevice parent;

    /* properties */
    uint64_t membar_size;
    uint8_t intx_pin;
    uint32_t msi_vectors;
    uint32_t msix_vectors;
    char *migration_blocker;

    int32_t current;                /* selected test, -1 none */
    uint32_t count[IOTEST_MAX];
    uint32_t scratch;
    uint32_t dma_src, dma_dst, dma_len;

    MemoryRegion mmio;
    MemoryRegion portio;
    MemoryRegion membar;
} PCITestDevState;

static unsigned iotest_size(unsigned t)
{
    return t / IOTEST_MAX_TEST == IOTEST_TYPE_MEM ? IOTEST_MEMSIZE
                                                   : IOTEST_IOSIZE;
}

static uint32_t iotest_offset(unsigned t)
{
    return iotest_size(t) + t * IOTEST_ACCESS_WIDTH;
}

/* The header of test @t as the guest reads it. */
static unsigned iotest_header(const PCITestDevState *d, unsigned t,
                              uint8_t *hdr)
{
    int n;

    memset(hdr, 0, HDR_SIZE);
    hdr[HDR_TEST] = t % IOTEST_MAX_TEST;
    hdr[HDR_WIDTH] = IOTEST_ACCESS_WIDTH;
    stl_le_p(hdr + HDR_OFFSET, iotest_offset(t));
    hdr[HDR_DATA] = IOTEST_DATAMATCH;
    stl_le_p(hdr + HDR_COUNT, d->count[t]);
    n = snprintf((char *)hdr + HDR_NAME, HDR_NAME_MAX, "%s-%s",
                 iotest_type[t / IOTEST_MAX_TEST],
                 iotest_test[t % IOTEST_MAX_TEST]);
    return HDR_NAME + n + 1;
}

/* ---- kvmpc extension registers -------------------------------------- */

static uint64_t ext_read(PCITestDevState *d, uint64_t off)
{
    return off == EXT_SCRATCH ? d->scratch : 0;
}

static void ext_write(PCITestDevState *d, uint64_t off, uint64_t val)
{
    switch (off) {
    case EXT_INTX:
        pci_set_irq(&d->parent, val & 1);
        break;
    case EXT_MSI:
        msi_notify(&d->parent, val);
        break;
    case EXT_MSIX:
        msix_notify(&d->parent, val);
        break;
    case EXT_SCRATCH:
        d->scratch = val;
        break;
    }
}

/*
 * A copy through a small bounce buffer, chunk by chunk, as a bus master
 * would: each chunk is read, then written, so a destination inside the
 * device itself sees the accesses the memory map lets through.
 */
static void dma_copy(PCITestDevState *d)
{
    uint32_t len = MIN(d->dma_len, DMA_MAX_LEN);
    uint8_t chunk[DMA_CHUNK];

    for (uint32_t done = 0; done < len; done += DMA_CHUNK) {
        uint32_t n = MIN(DMA_CHUNK, len - done);

        if (pci_dma_read(&d->parent, (uint64_t)d->dma_src + done, chunk, n) ||
            pci_dma_write(&d->parent, (uint64_t)d->dma_dst + done, chunk, n)) {
            return;     /* master abort: stop, as the engine would */
        }
    }
}

static uint64_t dma_reg_read(PCITestDevState *d, uint64_t off)
{
    switch (off) {
    case DMA_SRC:
        return d->dma_src;
    case DMA_DST:
        return d->dma_dst;
    case DMA_LEN:
        return d->dma_len;
    }
    return 0;
}

static void dma_reg_write(PCITestDevState *d, uint64_t off, uint64_t val)
{
    switch (off) {
    case DMA_SRC:
        d->dma_src = val;
        break;
    case DMA_DST:
        d->dma_dst = val;
        break;
    case DMA_LEN:
        d->dma_len = val;
        break;
    case DMA_GO:
        dma_copy(d);
        break;
    }
}

static bool in_dma_block(uint64_t addr, uint64_t ext_base)
{
    return addr >= ext_base - DMA_BLOCK_SIZE && addr < ext_base;
}

/* ---- QEMU's protocol ------------------------------------------------- */

static uint64_t testdev_read(PCITestDevState *d, uint64_t addr, unsigned size,
                             uint64_t ext_base)
{
    uint8_t hdr[HDR_SIZE];
    unsigned len;
    uint64_t val = 0;

    if (addr >= ext_base && addr < ext_base + EXT_SIZE) {
        return ext_read(d, addr - ext_base);
    }
    if (in_dma_block(addr, ext_base)) {
        return dma_reg_read(d, addr - (ext_base - DMA_BLOCK_SIZE));
    }
    if (d->current < 0 || d->current >= IOTEST_MAX) {
        return 0;
    }
    len = iotest_header(d, d->current, hdr);
    if (addr + size >= len) {
        return 0;
    }
    for (unsigned i = 0; i < size; i++) {
        val |= (uint64_t)hdr[addr + i] << (i * 8);
    }
    return val;
}

static void testdev_write(PCITestDevState *d, uint64_t addr, uint64_t val,
                          unsigned size, unsigned type, uint64_t ext_base)
{
    unsigned t;

    if (addr >= ext_base && addr < ext_base + EXT_SIZE) {
        ext_write(d, addr - ext_base, val);
        return;
    }
    if (in_dma_block(addr, ext_base)) {
        dma_reg_write(d, addr - (ext_base - DMA_BLOCK_SIZE), val);
        return;
    }
    if (addr == HDR_TEST) {
        d->current = -1;
        if (val < IOTEST_MAX_TEST) {
            d->current = type * IOTEST_MAX_TEST + val;
            d->count[d->current] = 0;
        }
        return;
    }
    if (d->current < 0 || d->current >= IOTEST_MAX ||
        d->current / IOTEST_MAX_TEST != (int)type) {
        return;
    }
    t = d->current;
    if (addr != iotest_offset(t)) {
        return;
    }
    if (t % IOTEST_MAX_TEST != IOTEST_TEST_WILDCARD &&
        (size != IOTEST_ACCESS_WIDTH || val != IOTEST_DATAMATCH)) {
        return;
    }
    d->count[t]++;
}

static uint64_t testdev_mmio_read(void *opaque, uint64_t addr, unsigned size)
{
    return testdev_read(opaque, addr, size, EXT_MEM_BASE);
}

static void testdev_mmio_write(void *opaque, uint64_t addr, uint64_t val,
                               unsigned size)
{
    testdev_write(opaque, addr, val, size, IOTEST_TYPE_MEM, EXT_MEM_BASE);
}

static uint64_t testdev_pio_read(void *opaque, uint64_t addr, unsigned size)
{
    return testdev_read(opaque, addr, size, EXT_IO_BASE);
}

static void testdev_pio_write(void *opaque, uint64_t addr, uint64_t val,
                              unsigned size)
{
    testdev_write(opaque, addr, val, size, IOTEST_TYPE_PIO, EXT_IO_BASE);
}

static const MemoryRegionOps testdev_mmio_ops = {
    .read = testdev_mmio_read,
    .write = testdev_mmio_write,
    .min_access_size = 1,
    .max_access_size = 4,
};

static const MemoryRegionOps testdev_pio_ops = {
    .read = testdev_pio_read,
    .write = testdev_pio_write,
    .min_access_size = 1,
    .max_access_size = 4,
};

/* ---- life cycle ----------------------------------------------------- */

static bool testdev_check_props(PCITestDevState *d, GError **errp)
{
    if (d->intx_pin > PCI_NUM_PINS) {
        error_setg(errp, "pci-testdev: intx-pin must be 0 (none) to 4 (D)");
        return false;
    }
    if (d->membar_size &&
        (d->membar_size < 16 || (d->membar_size & (d->membar_size - 1)))) {
        error_setg(errp, "pci-testdev: membar must be a power of two of at "
                   "least 16 bytes");
        return false;
    }
    return true;
}

static bool testdev_realize(DeviceState *dev, GError **errp)
{
    PCITestDevState *d = (PCITestDevState *)dev;

    if (!testdev_check_props(d, errp)) {
        return false;
    }
    d->parent.config[PCI_INTERRUPT_PIN] = d->intx_pin;
    memory_region_init_io(&d->mmio, &testdev_mmio_ops, d, "pci-testdev-mmio",
                          IOTEST_MEMSIZE * 2);
    memory_region_init_io(&d->portio, &testdev_pio_ops, d,
                          "pci-testdev-portio", IOTEST_IOSIZE * 2);
    pci_register_bar(&d->parent, 0, PCI_BASE_ADDRESS_SPACE_MEMORY, &d->mmio);
    pci_register_bar(&d->parent, 1, PCI_BASE_ADDRESS_SPACE_IO, &d->portio);
    if (d->membar_size) {
        memory_region_init_container(&d->membar, "pci-testdev-membar",
                                     d->membar_size);
        pci_register_bar(&d->parent, 2, PCI_BASE_ADDRESS_SPACE_MEMORY |
                         PCI_BASE_ADDRESS_MEM_PREFETCH |
                         PCI_BASE_ADDRESS_MEM_TYPE_64, &d->membar);
    }
    if (d->msi_vectors &&
        !msi_init(&d->parent, 0, d->msi_vectors, true, true, errp)) {
        goto fail;
    }
    if (d->msix_vectors &&
        !msix_init_exclusive_bar(&d->parent, d->msix_vectors,
                                 TESTDEV_MSIX_BAR, errp)) {
        goto fail;
    }
    if (d->migration_blocker && *d->migration_blocker) {
        /* what a device that cannot migrate does: migrate refuses */
        dev->migration_blocker = g_strdup(d->migration_blocker);
    }
    return true;
fail:
    memory_region_destroy(&d->mmio);
    memory_region_destroy(&d->portio);
    if (d->membar_size) {
        memory_region_destroy(&d->membar);
    }
    return false;
}

static void testdev_unrealize(DeviceState *dev)
{
    PCITestDevState *d = (PCITestDevState *)dev;

    msix_uninit(&d->parent);
    memory_region_destroy(&d->mmio);
    memory_region_destroy(&d->portio);
    if (d->membar_size) {
        memory_region_destroy(&d->membar);
    }
}

static void testdev_reset(DeviceState *dev)
{
    PCITestDevState *d = (PCITestDevState *)dev;

    d->current = -1;
    memset(d->count, 0, sizeof(d->count));
    d->scratch = 0;
    d->dma_src = d->dma_dst = d->dma_len = 0;
}

static int testdev_post_load(void *opaque, int version_id)
{
    PCITestDevState *d = opaque;

    if (d->current < -1 || d->current >= IOTEST_MAX) {
        return -1;
    }
    return 0;
}

static const VMStateDescription vmstate_pci_testdev = {
    .name = "pci-testdev",
    .version_id = 2,
    .minimum_version_id = 1,
    .post_load = testdev_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_INT32(current, PCITestDevState),
        VMSTATE_UINT32_ARRAY(count, PCITestDevState, IOTEST_MAX),
        VMSTATE_UINT32(scratch, PCITestDevState),
        VMSTATE_UINT32_V(dma_src, PCITestDevState, 2),
        VMSTATE_UINT32_V(dma_dst, PCITestDevState, 2),
        VMSTATE_UINT32_V(dma_len, PCITestDevState, 2),
        VMSTATE_END_OF_LIST()
    },
};

static const Property testdev_props[] = {
    DEFINE_PROP("membar", PCITestDevState, membar_size, PROP_SIZE, "0",
                "size of an extra 64-bit prefetchable memory BAR (BAR2)"),
    DEFINE_PROP("intx-pin", PCITestDevState, intx_pin, PROP_UINT8, "0",
                "kvmpc test extension: INTx pin 1-4 (0: none, as QEMU)"),
    DEFINE_PROP("msi-vectors", PCITestDevState, msi_vectors, PROP_UINT32, "0",
                "kvmpc test extension: MSI capability with this many vectors"),
    DEFINE_PROP("msix-vectors", PCITestDevState, msix_vectors, PROP_UINT32,
                "0", "kvmpc test extension: MSI-X vectors (table in BAR4)"),
    DEFINE_PROP("x-migration-blocker", PCITestDevState, migration_blocker,
                PROP_STRING, NULL, "kvmpc test extension: the device "
                "blocks migration with this reason (docs/migration.md)"),
    DEFINE_PROP_END_OF_LIST(),
};

static const PCIDeviceClass testdev_class = {
    .vendor_id = PCI_VENDOR_ID_REDHAT,
    .device_id = PCI_DEVICE_ID_REDHAT_TEST,
    .class_id = PCI_CLASS_OTHERS,
};

static const DeviceType pci_testdev_type = {
    .name = TYPE_PCI_TESTDEV,
    .parent = TYPE_PCI_DEVICE,
    .desc = "PCI Test Device",
    .instance_size = sizeof(PCITestDevState),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_MISC,
    .props = testdev_props,
    .realize = testdev_realize,
    .unrealize = testdev_unrealize,
    .reset = testdev_reset,
    .vmsd = &vmstate_pci_testdev,
    .class_data = &testdev_class,
};

static void pci_testdev_register(void)
{
    device_type_register(&pci_testdev_type);
}
type_init(pci_testdev_register)

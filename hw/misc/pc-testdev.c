/*
 * pc-testdev: the test device kvm-unit-tests style payloads use.
 *   0xe0  (4 bytes)  a data register readable and writable at any width
 *   0xe4  (4 bytes)  flush page: write a guest-physical address; its host
 *                    mapping is re-protected so the accelerator refaults it
 *   0xe8  (4 bytes)  byte-wide view of the same data register
 *   0x2000 (24)      IRQ lines: writing V to 0x2000+N sets GSI N to V
 *   0xff000000 (64K) memory-mapped scratch buffer
 */
#include "qemu/osdep.h"
#include "hw/isa.h"
#include "hw/boards.h"
#include <sys/mman.h>

#define TESTDEV_IOMEM_BASE 0xff000000ULL
#define TESTDEV_IOMEM_LEN  0x10000

typedef struct PCTestdevState {
    ISADevice parent;
    uint32_t ioport_data;
    uint8_t iomem[TESTDEV_IOMEM_LEN];
    MemoryRegion ioport, ioport_byte, flush, irq, iomem_mr;
} PCTestdevState;

static uint64_t data_read(void *opaque, uint64_t addr, unsigned size)
{
    PCTestdevState *s = opaque;
    return s->ioport_data >> (addr * 8);
}

static void data_write(void *opaque, uint64_t addr, uint64_t val,
                       unsigned size)
{
    PCTestdevState *s = opaque;
    unsigned shift = addr * 8;
    uint32_t mask = (size >= 4 ? 0xffffffffu : ((1u << (size * 8)) - 1))
                    << shift;

    s->ioport_data = (s->ioport_data & ~mask) | ((uint32_t)(val << shift) & mask);
}

static const MemoryRegionOps data_ops = {
    .read = data_read, .write = data_write,
    .min_access_size = 1, .max_access_size = 4,
};

static const MemoryRegionOps data_byte_ops = {
    .read = data_read, .write = data_write,
    .min_access_size = 1, .max_access_size = 1,
};

static uint64_t flush_read(void *opaque, uint64_t addr, unsigned size)
{
    return 0;
}

static void flush_write(void *opaque, uint64_t addr, uint64_t val,
                        unsigned size)
{
    uint64_t page = ALIGN_DOWN(val, 4096);
    const FlatRange *r = address_space_lookup(&address_space_memory, page);
    uint8_t *host;

    if (!r || r->mr->type == MR_IO || page - r->start + 4096 > r->size) {
        return;
    }
    host = r->mr->ram + r->offset + (page - r->start);
    mprotect(host, 4096, PROT_NONE);
    mprotect(host, 4096, PROT_READ | PROT_WRITE);
}

static const MemoryRegionOps flush_ops = {
    .read = flush_read, .write = flush_write,
    .min_access_size = 4, .max_access_size = 4,
};

static uint64_t irq_read(void *opaque, uint64_t addr, unsigned size)
{
    return 0;
}

static void irq_write(void *opaque, uint64_t addr, uint64_t val,
                      unsigned size)
{
    if (current_machine && addr < GSI_NUM_PINS) {
        qemu_set_irq(current_machine->gsi[addr], val != 0);
    }
}

static const MemoryRegionOps irq_ops = {
    .read = irq_read, .write = irq_write,
    .min_access_size = 1, .max_access_size = 1,
};

static uint64_t iomem_read(void *opaque, uint64_t addr, unsigned size)
{
    PCTestdevState *s = opaque;
    uint8_t buf[8] = { 0 };

    memcpy(buf, s->iomem + addr, MIN(size, TESTDEV_IOMEM_LEN - addr));
    return ldq_le_p(buf);
}

static void iomem_write(void *opaque, uint64_t addr, uint64_t val,
                        unsigned size)
{
    PCTestdevState *s = opaque;
    uint8_t buf[8];

    stq_le_p(buf, val);
    memcpy(s->iomem + addr, buf, MIN(size, TESTDEV_IOMEM_LEN - addr));
}

static const MemoryRegionOps iomem_ops = {
    .read = iomem_read, .write = iomem_write,
    .min_access_size = 1, .max_access_size = 8,
};

static bool testdev_realize(DeviceState *dev, GError **errp)
{
    PCTestdevState *s = (PCTestdevState *)dev;

    memory_region_init_io(&s->ioport, &data_ops, s, "pc-testdev-ioport", 4);
    memory_region_init_io(&s->flush, &flush_ops, s, "pc-testdev-flush-page",
                          4);
    memory_region_init_io(&s->ioport_byte, &data_byte_ops, s,
                          "pc-testdev-ioport-byte", 4);
    memory_region_init_io(&s->irq, &irq_ops, s, "pc-testdev-irq-line",
                          GSI_NUM_PINS);
    memory_region_init_io(&s->iomem_mr, &iomem_ops, s, "pc-testdev-iomem",
                          TESTDEV_IOMEM_LEN);
    memory_region_transaction_begin();
    isa_register_ioport(&s->parent, &s->ioport, 0xe0);
    isa_register_ioport(&s->parent, &s->flush, 0xe4);
    isa_register_ioport(&s->parent, &s->ioport_byte, 0xe8);
    isa_register_ioport(&s->parent, &s->irq, 0x2000);
    memory_region_add_subregion(get_system_memory(), TESTDEV_IOMEM_BASE,
                                &s->iomem_mr);
    memory_region_transaction_commit();
    return true;
}

static void testdev_unrealize(DeviceState *dev)
{
    PCTestdevState *s = (PCTestdevState *)dev;

    memory_region_transaction_begin();
    memory_region_destroy(&s->ioport);
    memory_region_destroy(&s->flush);
    memory_region_destroy(&s->ioport_byte);
    memory_region_destroy(&s->irq);
    memory_region_destroy(&s->iomem_mr);
    memory_region_transaction_commit();
}

static const VMStateDescription vmstate_testdev = {
    .name = "pc-testdev",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(ioport_data, PCTestdevState),
        VMSTATE_BUFFER(iomem, PCTestdevState),
        VMSTATE_END_OF_LIST()
    },
};

static const DeviceType testdev_type = {
    .name = "pc-testdev",
    .parent = TYPE_ISA_DEVICE,
    .desc = "PC test device (kvm-unit-tests)",
    .instance_size = sizeof(PCTestdevState),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_MISC,
    .realize = testdev_realize,
    .unrealize = testdev_unrealize,
    .vmsd = &vmstate_testdev,
};

static void testdev_register(void)
{
    device_type_register(&testdev_type);
}
type_init(testdev_register)

/*
 * Memory map: flattening (overlap, priority, aliasing, removal, enable),
 * dispatch (access splitting/widening, unassigned), listeners.
 */
#include "qemu/osdep.h"
#include "system/memory.h"

typedef struct IoLog {
    uint64_t last_addr, last_val;
    unsigned last_size, reads, writes;
    uint8_t regs[16];
} IoLog;

static uint64_t log_read(void *opaque, uint64_t addr, unsigned size)
{
    IoLog *l = opaque;
    uint64_t v = 0;

    l->reads++;
    l->last_addr = addr;
    l->last_size = size;
    for (unsigned i = 0; i < size; i++) {
        v |= (uint64_t)l->regs[(addr + i) % 16] << (8 * i);
    }
    return v;
}

static void log_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    IoLog *l = opaque;

    l->writes++;
    l->last_addr = addr;
    l->last_val = val;
    l->last_size = size;
    for (unsigned i = 0; i < size; i++) {
        l->regs[(addr + i) % 16] = val >> (8 * i);
    }
}

static const MemoryRegionOps log_ops_any = { log_read, log_write, 1, 8 };
static const MemoryRegionOps log_ops_dword = { log_read, log_write, 4, 4 };

/* A private root so tests don't disturb one another. */
static MemoryRegion *new_root(void)
{
    MemoryRegion *root = g_new0(MemoryRegion, 1);

    memory_init();
    memory_region_init_container(root, "test-root", 1ULL << 40);
    memory_region_add_subregion(get_system_memory(), 1ULL << 44, root);
    return root;
}

static uint64_t base(void)
{
    return 1ULL << 44;
}

static void free_root(MemoryRegion *root)
{
    memory_region_destroy(root);
    g_free(root);
}

static uint64_t rd(uint64_t addr, unsigned size)
{
    uint64_t v;
    address_space_read_val(&address_space_memory, base() + addr, &v, size);
    return v;
}

static void wr(uint64_t addr, uint64_t val, unsigned size)
{
    address_space_write_val(&address_space_memory, base() + addr, val, size);
}

static void test_ram_basic(void)
{
    MemoryRegion *root = new_root();
    MemoryRegion ram;

    memory_region_init_ram(&ram, "ram", 0x10000);
    memory_region_add_subregion(root, 0x1000, &ram);
    wr(0x1000, 0x1122334455667788ULL, 8);
    g_assert_cmphex(rd(0x1000, 8), ==, 0x1122334455667788ULL);
    g_assert_cmphex(rd(0x1002, 2), ==, 0x5566);
    g_assert_cmphex(((uint8_t *)ram.ram)[0], ==, 0x88);
    /* Below and above: unassigned reads are all-ones. */
    g_assert_cmphex(rd(0xfff, 1), ==, 0xff);
    g_assert_cmphex(rd(0x11000, 4), ==, 0xffffffff);
    g_assert(address_space_write_val(&address_space_memory, base() + 0x11000,
                                     1, 4) == MEMTX_DECODE_ERROR);
    memory_region_destroy(&ram);
    free_root(root);
}

static void test_priority_overlap(void)
{
    MemoryRegion *root = new_root();
    MemoryRegion low, high, same;
    IoLog log = { 0 };

    memory_region_init_ram(&low, "low", 0x4000);
    memory_region_init_io(&high, &log_ops_any, &log, "high", 0x1000);
    memory_region_add_subregion(root, 0, &low);
    memory_region_add_subregion_overlap(root, 0x1000, &high, 1);
    wr(0x1000, 0xab, 1);
    g_assert_cmpuint(log.writes, ==, 1);
    g_assert_cmphex(low.ram[0x1000], ==, 0);   /* shadowed */
    wr(0x2000, 0xcd, 1);
    g_assert_cmphex(low.ram[0x2000], ==, 0xcd);

    /* Disabling the overlay uncovers the RAM below it. */
    memory_region_set_enabled(&high, false);
    wr(0x1000, 0xef, 1);
    g_assert_cmphex(low.ram[0x1000], ==, 0xef);
    g_assert_cmpuint(log.writes, ==, 1);
    memory_region_set_enabled(&high, true);

    /* Equal priority: the newer region wins. */
    memory_region_init_ram(&same, "same", 0x1000);
    memory_region_add_subregion(root, 0x3000, &same);
    wr(0x3000, 0x77, 1);
    g_assert_cmphex(same.ram[0], ==, 0x77);
    g_assert_cmphex(low.ram[0x3000], ==, 0);

    /* Removal uncovers again. */
    memory_region_del_subregion(root, &same);
    wr(0x3000, 0x66, 1);
    g_assert_cmphex(low.ram[0x3000], ==, 0x66);

    memory_region_destroy(&same);
    memory_region_destroy(&high);
    memory_region_destroy(&low);
    free_root(root);
}

static void test_alias(void)
{
    MemoryRegion *root = new_root();
    MemoryRegion ram, alias, alias_neg;

    memory_region_init_ram(&ram, "ram", 0x10000);
    memory_region_init_alias(&alias, "alias", &ram, 0x8000, 0x1000);
    memory_region_add_subregion(root, 0x20000, &ram);
    memory_region_add_subregion(root, 0x100, &alias);
    ram.ram[0x8010] = 0x42;
    g_assert_cmphex(rd(0x110, 1), ==, 0x42);
    wr(0x120, 0x99, 1);
    g_assert_cmphex(ram.ram[0x8020], ==, 0x99);
    /* Past the alias window: unassigned. */
    g_assert_cmphex(rd(0x1100, 1), ==, 0xff);

    /* An alias whose offset is larger than its address. */
    memory_region_init_alias(&alias_neg, "alias-neg", &ram, 0x9000, 0x10);
    memory_region_add_subregion(get_system_memory(), 0x10, &alias_neg);
    ram.ram[0x9004] = 0x5a;
    uint64_t v;
    address_space_read_val(&address_space_memory, 0x14, &v, 1);
    g_assert_cmphex(v, ==, 0x5a);

    /* Moving the alias offset re-targets the window. */
    memory_region_set_alias_offset(&alias, 0x8100);
    ram.ram[0x8110] = 0x24;
    g_assert_cmphex(rd(0x110, 1), ==, 0x24);

    memory_region_destroy(&alias_neg);
    memory_region_destroy(&alias);
    memory_region_destroy(&ram);
    free_root(root);
}

static void test_readonly_and_rom(void)
{
    MemoryRegion *root = new_root();
    MemoryRegion rom, ram;
    uint8_t data[4] = { 1, 2, 3, 4 };

    memory_region_init_rom(&rom, "rom", 0x1000);
    memory_region_init_ram(&ram, "ram", 0x1000);
    memory_region_add_subregion(root, 0, &rom);
    memory_region_add_subregion(root, 0x1000, &ram);
    wr(0x10, 0xaa, 1);
    g_assert_cmphex(rom.ram[0x10], ==, 0);           /* ROM ignores writes */
    address_space_write_rom(&address_space_memory, base() + 0x10, data, 4);
    g_assert_cmphex(rd(0x10, 4), ==, 0x04030201);    /* loaders can write */

    memory_region_set_readonly(&ram, true);
    wr(0x1000, 0xbb, 1);
    g_assert_cmphex(ram.ram[0], ==, 0);
    memory_region_set_readonly(&ram, false);
    wr(0x1000, 0xbb, 1);
    g_assert_cmphex(ram.ram[0], ==, 0xbb);

    memory_region_destroy(&ram);
    memory_region_destroy(&rom);
    free_root(root);
}

static void test_access_sizes(void)
{
    MemoryRegion *root = new_root();
    MemoryRegion io;
    IoLog log = { 0 };

    memory_region_init_io(&io, &log_ops_dword, &log, "dword", 16);
    memory_region_add_subregion(root, 0, &io);
    /* A byte write to a dword-only register is widened (RMW). */
    log.regs[0] = 0x11; log.regs[1] = 0x22; log.regs[2] = 0x33;
    log.regs[3] = 0x44;
    wr(1, 0xee, 1);
    g_assert_cmpuint(log.last_size, ==, 4);
    g_assert_cmphex(log.last_val, ==, 0x4433ee11);
    g_assert_cmphex(rd(2, 1), ==, 0x33);
    /* A qword access is split into two dwords. */
    log.writes = 0;
    wr(8, 0x8877665544332211ULL, 8);
    g_assert_cmpuint(log.writes, ==, 2);
    g_assert_cmphex(rd(8, 8), ==, 0x8877665544332211ULL);
    memory_region_destroy(&io);
    free_root(root);
}

static void test_cross_boundary(void)
{
    MemoryRegion *root = new_root();
    MemoryRegion a, b;

    memory_region_init_ram(&a, "a", 0x1000);
    memory_region_init_ram(&b, "b", 0x1000);
    memory_region_add_subregion(root, 0, &a);
    memory_region_add_subregion(root, 0x1000, &b);
    wr(0xffe, 0x44332211, 4);
    g_assert_cmphex(a.ram[0xffe], ==, 0x11);
    g_assert_cmphex(b.ram[1], ==, 0x44);
    g_assert_cmphex(rd(0xffe, 4), ==, 0x44332211);

    /* Buffer DMA across both, and into a hole. */
    uint8_t buf[0x20];
    memset(buf, 0x5c, sizeof(buf));
    address_space_write(&address_space_memory, base() + 0xff0, buf,
                        sizeof(buf));
    g_assert_cmphex(b.ram[0xf], ==, 0x5c);
    uint8_t out[8];
    g_assert(address_space_read(&address_space_memory, base() + 0x1ffc, out,
                                8) != MEMTX_OK);
    g_assert_cmphex(out[7], ==, 0xff);
    memory_region_destroy(&b);
    memory_region_destroy(&a);
    free_root(root);
}

static void test_nested_containers_and_move(void)
{
    MemoryRegion *root = new_root();
    MemoryRegion box, ram;

    memory_region_init_container(&box, "box", 0x10000);
    memory_region_init_ram(&ram, "ram", 0x100);
    memory_region_add_subregion(&box, 0x200, &ram);
    memory_region_add_subregion(root, 0x5000, &box);
    wr(0x5200, 0x12, 1);
    g_assert_cmphex(ram.ram[0], ==, 0x12);
    memory_region_set_address(&box, 0x9000);
    g_assert_cmphex(rd(0x9200, 1), ==, 0x12);
    g_assert_cmphex(rd(0x5200, 1), ==, 0xff);
    /* A container clips its children. */
    memory_region_set_size(&box, 0x280);
    g_assert_cmphex(rd(0x9280, 1), ==, 0xff);
    g_assert_cmphex(rd(0x927f, 1), ==, 0);
    memory_region_destroy(&ram);
    memory_region_destroy(&box);
    free_root(root);
}

typedef struct CountingListener {
    MemoryListener l;
    unsigned commits;
    unsigned last_ram_ranges;
} CountingListener;

static void counting_commit(MemoryListener *l, AddressSpace *as,
                            const FlatView *old, const FlatView *new)
{
    CountingListener *c = (CountingListener *)l;

    c->commits++;
    c->last_ram_ranges = 0;
    for (unsigned i = 0; new && i < new->nr; i++) {
        if (new->ranges[i].mr->type == MR_RAM) {
            c->last_ram_ranges++;
        }
    }
}

static void test_transaction_and_listener(void)
{
    MemoryRegion *root = new_root();
    CountingListener c = { .l.commit = counting_commit };
    MemoryRegion r1, r2;
    unsigned before;

    memory_listener_register(&c.l, &address_space_memory);
    before = c.commits;
    memory_region_init_ram(&r1, "r1", 0x1000);
    memory_region_init_ram(&r2, "r2", 0x1000);
    memory_region_transaction_begin();
    memory_region_add_subregion(root, 0, &r1);
    memory_region_add_subregion(root, 0x2000, &r2);
    memory_region_transaction_commit();
    g_assert_cmpuint(c.commits, ==, before + 1);
    g_assert_cmpuint(c.last_ram_ranges, >=, 2);
    memory_listener_unregister(&c.l, &address_space_memory);
    memory_region_destroy(&r2);
    memory_region_destroy(&r1);
    free_root(root);
}

static void test_io_space_and_mtree(void)
{
    MemoryRegion io;
    IoLog log = { 0 };
    uint64_t v;

    memory_init();
    memory_region_init_io(&io, &log_ops_any, &log, "test-port", 4);
    memory_region_add_subregion(get_system_io(), 0x1230, &io);
    address_space_write_val(&address_space_io, 0x1231, 0x5a, 1);
    g_assert_cmpuint(log.last_addr, ==, 1);
    address_space_read_val(&address_space_io, 0x1231, &v, 1);
    g_assert_cmphex(v, ==, 0x5a);
    address_space_read_val(&address_space_io, 0x1240, &v, 2);
    g_assert_cmphex(v, ==, 0xffff);
    g_autofree char *tree = memory_mtree_to_string();
    g_assert(strstr(tree, "test-port"));
    memory_region_destroy(&io);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/memory/ram-basic", test_ram_basic);
    g_test_add_func("/memory/priority-overlap", test_priority_overlap);
    g_test_add_func("/memory/alias", test_alias);
    g_test_add_func("/memory/readonly-rom", test_readonly_and_rom);
    g_test_add_func("/memory/access-sizes", test_access_sizes);
    g_test_add_func("/memory/cross-boundary", test_cross_boundary);
    g_test_add_func("/memory/nested-move", test_nested_containers_and_move);
    g_test_add_func("/memory/transaction-listener",
                    test_transaction_and_listener);
    g_test_add_func("/memory/io-space-mtree", test_io_space_and_mtree);
    return g_test_run();
}

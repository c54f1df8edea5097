/*
 * Memory hotplug (docs/hotplug.md): -m slots=/maxmem=, pc-dimm cold- and
 * hot-plugged over QMP, the ACPI memory hotplug block at 0x0a00 driven as
 * the guest's AML (\_SB.MHPC: MSCN, MRST, MCRS, MOST, MEJ0) drives it,
 * GPE0 bit 3 with the SCI, the DIMM's memory at its address, eject and
 * DEVICE_DELETED, ACPI_DEVICE_OST, query-memory-devices and QEMU 7.2's
 * errors; on pc and on q35.
 */
#include <unistd.h>
#include "libqvirtio.h"
#include "chipset/pci-helpers.h"

#define MHP             0x0a00
#define MHP_ADDR_LO     (MHP + 0x00)    /* write: selector */
#define MHP_ADDR_HI     (MHP + 0x04)    /* write: _OST event */
#define MHP_SIZE_LO     (MHP + 0x08)    /* write: _OST status */
#define MHP_SIZE_HI     (MHP + 0x0c)
#define MHP_PXM         (MHP + 0x10)
#define MHP_STATUS      (MHP + 0x14)
#define ST_ENABLED      0x01
#define ST_INSERT       0x02
#define ST_REMOVE       0x04
#define ST_EJECT        0x08
#define PC_GPE0_STS     0xafe0
#define PC_GPE0_EN      0xafe2
#define Q35_PM_IO       0x600
#define Q35_GPE0_STS    (Q35_PM_IO + 0x20)
#define Q35_GPE0_EN     (Q35_PM_IO + 0x28)
#define GPE_MEMHP       0x08
#define SCI_GSI         9
#define DEVMEM_BASE     0x100000000ULL  /* -m 1G: no RAM above 4 GiB */
#ifndef MiB
#define MiB             (1ULL << 20)
#define GiB             (1ULL << 30)
#endif

typedef struct Env {
    QTestState *qts;
    QMPConn *qmp;
    char *dir;
    bool q35;
    uint16_t gpe_sts;
} Env;

static void env_start(Env *e, bool q35, const char *extra)
{
    g_autofree char *sock = NULL, *args = NULL;

    e->q35 = q35;
    e->dir = g_dir_make_tmp("kvmpc-memhp-XXXXXX", NULL);
    sock = g_build_filename(e->dir, "qmp.sock", NULL);
    args = g_strdup_printf("-machine %s -nodefaults %s "
                           "-qmp unix:%s,server=on,wait=off",
                           q35 ? "q35" : "pc", extra, sock);
    e->qts = qtest_init(args);
    e->qmp = qmp_connect(sock);
    unlink(sock);
    qtest_irq_intercept_in(e->qts, "ioapic");
    if (q35) {
        /* What SeaBIOS does: PMBASE, ACPI_EN; then the OS sets SCI_EN. */
        cfg_writel(e->qts, DEVFN(0x1f, 0), 0x40, Q35_PM_IO | 1);
        cfg_writeb(e->qts, DEVFN(0x1f, 0), 0x44, 0x80);
        qtest_outw(e->qts, Q35_PM_IO + 4, 1);
        qtest_outb(e->qts, Q35_GPE0_EN, GPE_MEMHP);
        e->gpe_sts = Q35_GPE0_STS;
    } else {
        qtest_outb(e->qts, PC_GPE0_EN, GPE_MEMHP);
        e->gpe_sts = PC_GPE0_STS;
    }
}

static void env_end(Env *e)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", e->dir);

    qmp_close(e->qmp);
    g_assert_cmpint(qtest_quit(e->qts), ==, 0);
    g_assert_cmpint(system(cmd), ==, 0);
    g_free(e->dir);
}

static char *qmp_ok(Env *e, const char *json)
{
    char *r = qmp_cmd(e->qmp, json);

    if (!strstr(r, "\"return\"")) {
        g_error("%s -> %s", json, r);
    }
    return r;
}

static void dimm_add(Env *e, const char *id, const char *memdev,
                     const char *more)
{
    g_autofree char *j = g_strdup_printf(
        "{\"execute\": \"device_add\", \"arguments\": {\"driver\": "
        "\"pc-dimm\", \"id\": \"%s\", \"memdev\": \"%s\"%s}}", id, memdev,
        more ? more : "");
    g_free(qmp_ok(e, j));
}

static void dimm_add_fails(Env *e, const char *memdev, const char *more,
                           const char *desc)
{
    g_autofree char *j = g_strdup_printf(
        "{\"execute\": \"device_add\", \"arguments\": {\"driver\": "
        "\"pc-dimm\", \"id\": \"bad\", \"memdev\": \"%s\"%s}}", memdev,
        more ? more : "");

    qmp_assert_error(e->qmp, j, desc);
}

static void backend_add(Env *e, const char *id, const char *size)
{
    g_autofree char *j = g_strdup_printf(
        "{\"execute\": \"object-add\", \"arguments\": {\"qom-type\": "
        "\"memory-backend-ram\", \"id\": \"%s\", \"size\": %s}}", id, size);
    g_free(qmp_ok(e, j));
}

/* What MRST/MCRS read for a slot: select it, then the fields. */
static uint64_t slot_addr(Env *e, unsigned slot)
{
    qtest_outl(e->qts, MHP_ADDR_LO, slot);
    return qtest_inl(e->qts, MHP_ADDR_LO) |
           (uint64_t)qtest_inl(e->qts, MHP_ADDR_HI) << 32;
}

static uint64_t slot_size(Env *e, unsigned slot)
{
    qtest_outl(e->qts, MHP_ADDR_LO, slot);
    return qtest_inl(e->qts, MHP_SIZE_LO) |
           (uint64_t)qtest_inl(e->qts, MHP_SIZE_HI) << 32;
}

static uint8_t slot_status(Env *e, unsigned slot)
{
    qtest_outl(e->qts, MHP_ADDR_LO, slot);
    return qtest_inb(e->qts, MHP_STATUS);
}

/* The guest's \_GPE._E03: status bit 3 (and, with SCI_EN, the SCI),
 * then clear it. */
static void assert_gpe_and_ack(Env *e)
{
    g_assert_cmphex(qtest_inb(e->qts, e->gpe_sts) & GPE_MEMHP, ==,
                    GPE_MEMHP);
    g_assert_true(qtest_get_irq(e->qts, SCI_GSI));
    qtest_outb(e->qts, e->gpe_sts, GPE_MEMHP);
    g_assert_false(qtest_get_irq(e->qts, SCI_GSI));
}

static void assert_no_gpe(Env *e)
{
    g_assert_cmphex(qtest_inb(e->qts, e->gpe_sts) & GPE_MEMHP, ==, 0);
}

static void fill(Env *e, uint64_t addr, uint8_t seed, size_t len)
{
    g_autofree uint8_t *buf = g_malloc(len);

    for (size_t i = 0; i < len; i++) {
        buf[i] = seed + i * 13;
    }
    qtest_memwrite(e->qts, addr, buf, len);
}

static bool holds(Env *e, uint64_t addr, uint8_t seed, size_t len)
{
    g_autofree uint8_t *buf = g_malloc(len);

    qtest_memread(e->qts, addr, buf, len);
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != (uint8_t)(seed + i * 13)) {
            return false;
        }
    }
    return true;
}

/* A cold-plugged DIMM: mapped, enabled, no event; registers of an empty
 * slot and of selectors past the last slot read 0. */
static void run_cold(bool q35)
{
    Env e;
    g_autofree char *r = NULL;

    env_start(&e, q35, "-m 1G,slots=4,maxmem=8G "
              "-object memory-backend-ram,id=m1,size=1G "
              "-device pc-dimm,id=d1,memdev=m1");
    r = qmp_ok(&e, "{\"execute\": \"query-memory-devices\"}");
    g_assert_nonnull(strstr(r, "\"type\": \"dimm\""));
    g_assert_nonnull(strstr(r, "\"id\": \"d1\", \"addr\": 4294967296, "
                               "\"size\": 1073741824, \"slot\": 0, "
                               "\"node\": 0, \"memdev\": \"/objects/m1\", "
                               "\"hotplugged\": false, "
                               "\"hotpluggable\": true"));
    g_free(r);
    r = qmp_ok(&e, "{\"execute\": \"query-memory-size-summary\"}");
    g_assert_nonnull(strstr(r, "\"base-memory\": 1073741824, "
                               "\"plugged-memory\": 1073741824"));

    /* The DIMM's memory is guest memory at its address (first and last
     * page). */
    fill(&e, DEVMEM_BASE, 7, 4096);
    fill(&e, DEVMEM_BASE + GiB - 4096, 9, 4096);
    g_assert_true(holds(&e, DEVMEM_BASE, 7, 4096));
    g_assert_true(holds(&e, DEVMEM_BASE + GiB - 4096, 9, 4096));

    g_assert_cmphex(slot_addr(&e, 0), ==, DEVMEM_BASE);
    g_assert_cmphex(slot_size(&e, 0), ==, GiB);
    g_assert_cmphex(qtest_inl(e.qts, MHP_PXM), ==, 0);
    g_assert_cmphex(slot_status(&e, 0), ==, ST_ENABLED);
    g_assert_cmphex(slot_status(&e, 1), ==, 0);
    g_assert_cmphex(slot_addr(&e, 1), ==, 0);
    g_assert_cmphex(slot_size(&e, 3), ==, 0);
    /* Past the last slot: nothing, and writes are ignored. */
    qtest_outl(e.qts, MHP_ADDR_LO, 4);
    g_assert_cmphex(qtest_inl(e.qts, MHP_ADDR_LO), ==, 0);
    qtest_outb(e.qts, MHP_STATUS, ST_EJECT);
    qtest_outl(e.qts, MHP_ADDR_LO, 0xffffffff);
    g_assert_cmphex(qtest_inb(e.qts, MHP_STATUS), ==, 0);
    g_assert_cmphex(slot_status(&e, 0), ==, ST_ENABLED);
    assert_no_gpe(&e);
    env_end(&e);
}

static void test_cold_pc(void)
{
    run_cold(false);
}

static void test_cold_q35(void)
{
    run_cold(true);
}

/* device_add, the guest's scan and _OST, device_del, _EJ0. */
static void run_hotplug(bool q35)
{
    Env e;
    char *ev, *r;

    env_start(&e, q35, "-m 1G,slots=3,maxmem=4G "
              "-object memory-backend-ram,id=m1,size=512M "
              "-device pc-dimm,id=d1,memdev=m1");
    backend_add(&e, "m2", "268435456");
    dimm_add(&e, "d2", "m2", NULL);
    assert_gpe_and_ack(&e);
    /* MSCN: slot 1 has the insert event; MTFY; clear it. */
    g_assert_cmphex(slot_status(&e, 0), ==, ST_ENABLED);
    g_assert_cmphex(slot_status(&e, 1), ==, ST_ENABLED | ST_INSERT);
    qtest_outb(e.qts, MHP_STATUS, ST_INSERT);
    g_assert_cmphex(slot_status(&e, 1), ==, ST_ENABLED);
    /* MCRS: right after d1 (512 MiB, 2 MiB aligned). */
    g_assert_cmphex(slot_addr(&e, 1), ==, DEVMEM_BASE + 512 * MiB);
    g_assert_cmphex(slot_size(&e, 1), ==, 256 * MiB);
    /* The OS onlines it: _OST (0x01 insert, success). */
    qtest_outl(e.qts, MHP_ADDR_LO, 1);
    qtest_outl(e.qts, MHP_ADDR_HI, 1);
    qtest_outl(e.qts, MHP_SIZE_LO, 0);
    ev = qmp_events_now(e.qmp);
    g_assert_nonnull(strstr(ev, "\"event\": \"ACPI_DEVICE_OST\", \"data\": "
                                "{\"info\": {\"device\": \"d2\", "
                                "\"slot\": \"1\", \"slot-type\": \"DIMM\", "
                                "\"source\": 1, \"status\": 0}}"));
    g_free(ev);
    r = qmp_ok(&e, "{\"execute\": \"query-acpi-ospm-status\"}");
    g_assert_nonnull(strstr(r, "{\"device\": \"d2\", \"slot\": \"1\", "
                               "\"slot-type\": \"DIMM\", \"source\": 1, "
                               "\"status\": 0}"));
    g_assert_nonnull(strstr(r, "{\"slot\": \"2\", \"slot-type\": \"DIMM\", "
                               "\"source\": 0, \"status\": 0}"));
    g_free(r);
    fill(&e, DEVMEM_BASE + 512 * MiB + 8192, 3, 8192);
    g_assert_true(holds(&e, DEVMEM_BASE + 512 * MiB + 8192, 3, 8192));
    r = qmp_ok(&e, "{\"execute\": \"query-memory-devices\"}");
    g_assert_nonnull(strstr(r, "\"id\": \"d2\", \"addr\": 4831838208, "
                               "\"size\": 268435456, \"slot\": 1, "
                               "\"node\": 0, \"memdev\": \"/objects/m2\", "
                               "\"hotplugged\": true"));
    g_free(r);

    /* device_del: remove event, the DIMM stays until the eject. */
    g_free(qmp_ok(&e, "{\"execute\": \"device_del\", \"arguments\": "
                      "{\"id\": \"d2\"}}"));
    assert_gpe_and_ack(&e);
    qmp_assert_error(e.qmp, "{\"execute\": \"device_del\", \"arguments\": "
                  "{\"id\": \"d2\"}}", "already in the process of unplug");
    g_assert_cmphex(slot_status(&e, 1), ==, ST_ENABLED | ST_REMOVE);
    qtest_outb(e.qts, MHP_STATUS, ST_REMOVE);
    g_assert_cmphex(slot_status(&e, 1), ==, ST_ENABLED);
    g_assert_true(holds(&e, DEVMEM_BASE + 512 * MiB + 8192, 3, 8192));
    ev = qmp_events_now(e.qmp);
    g_assert_null(strstr(ev, "DEVICE_DELETED"));
    g_free(ev);
    /* The backend is busy while the DIMM lives. */
    qmp_assert_error(e.qmp, "{\"execute\": \"object-del\", \"arguments\": "
                  "{\"id\": \"m2\"}}", "object 'm2' is in use, can not be "
                  "deleted");
    /* _OST (0x03 eject, in progress), then _EJ0 (MEJ0). */
    qtest_outl(e.qts, MHP_ADDR_HI, 3);
    qtest_outl(e.qts, MHP_SIZE_LO, 0x80);
    qtest_outb(e.qts, MHP_STATUS, ST_EJECT);
    ev = qmp_events_now(e.qmp);
    g_assert_nonnull(strstr(ev, "\"source\": 3, \"status\": 128"));
    g_assert_nonnull(strstr(ev, "\"event\": \"DEVICE_DELETED\", \"data\": "
                                "{\"device\": \"d2\""));
    g_free(ev);
    g_assert_cmphex(slot_status(&e, 1), ==, 0);
    g_assert_cmphex(slot_addr(&e, 1), ==, 0);
    /* Unmapped: the range no longer holds the data. */
    g_assert_false(holds(&e, DEVMEM_BASE + 512 * MiB + 8192, 3, 8192));
    r = qmp_ok(&e, "{\"execute\": \"query-memory-devices\"}");
    g_assert_null(strstr(r, "d2"));
    g_free(r);
    r = qmp_ok(&e, "{\"execute\": \"query-memory-size-summary\"}");
    g_assert_nonnull(strstr(r, "\"plugged-memory\": 536870912"));
    g_free(r);
    /* Its backend is free again: deleted (its memory unmapped). */
    g_free(qmp_ok(&e, "{\"execute\": \"object-del\", \"arguments\": "
                      "{\"id\": \"m2\"}}"));
    qmp_assert_error(e.qmp, "{\"execute\": \"object-del\", \"arguments\": "
                  "{\"id\": \"m2\"}}", "object 'm2' not found");

    /* A cold-plugged DIMM can be ejected too (as QEMU); the next one
     * takes the lowest free slot and address. */
    backend_add(&e, "m3", "1073741824");
    dimm_add(&e, "d3", "m3", NULL);
    assert_gpe_and_ack(&e);
    g_assert_cmphex(slot_addr(&e, 1), ==, DEVMEM_BASE + 512 * MiB);
    g_free(qmp_ok(&e, "{\"execute\": \"device_del\", \"arguments\": "
                      "{\"id\": \"d1\"}}"));
    assert_gpe_and_ack(&e);
    g_assert_cmphex(slot_status(&e, 0), ==, ST_ENABLED | ST_REMOVE);
    qtest_outb(e.qts, MHP_STATUS, ST_EJECT);
    g_assert_cmphex(slot_status(&e, 0), ==, 0);
    ev = qmp_events_now(e.qmp);
    g_assert_nonnull(strstr(ev, "\"device\": \"d1\""));
    g_free(ev);
    backend_add(&e, "m4", "268435456");
    dimm_add(&e, "d4", "m4", NULL);
    g_assert_cmphex(slot_addr(&e, 0), ==, DEVMEM_BASE);
    env_end(&e);
}

static void test_hotplug_pc(void)
{
    run_hotplug(false);
}

static void test_hotplug_q35(void)
{
    run_hotplug(true);
}

/* QEMU 7.2's refusals. */
static void test_errors(void)
{
    Env e;

    env_start(&e, false, "-m 1G,slots=2,maxmem=3G "
              "-object memory-backend-ram,id=m1,size=1G "
              "-object memory-backend-ram,id=odd,size=3M "
              "-object memory-backend-ram,id=small,size=2M "
              "-object memory-backend-ram,id=big,size=2G "
              "-device pc-dimm,id=d1,memdev=m1,slot=1");
    dimm_add_fails(&e, "nosuch", NULL,
                   "Property 'pc-dimm.memdev' can't find value 'nosuch'");
    dimm_add_fails(&e, "m1", NULL, "can't use already busy memdev: m1");
    dimm_add_fails(&e, "small", ", \"slot\": 1", "slot 1 is busy");
    dimm_add_fails(&e, "small", ", \"slot\": 2",
                   "invalid slot number 2, valid range is [0-1]");
    dimm_add_fails(&e, "odd", NULL,
                   "backend memory size must be multiple of 0x200000");
    dimm_add_fails(&e, "small", ", \"addr\": 4296015872",
                   "address must be aligned to 0x200000 bytes");
    dimm_add_fails(&e, "small", ", \"addr\": 4294967296",
                   "address range conflicts with memory device id='d1'");
    dimm_add_fails(&e, "small", ", \"addr\": 1073741824",
                   "can't add memory device [0x40000000:0x200000], usable "
                   "range for memory devices [0x100000000:0x100000000]");
    dimm_add_fails(&e, "big", NULL, "not enough space, currently "
                   "0x40000000 in use of total space for memory devices "
                   "0x80000000");
    dimm_add_fails(&e, "small", ", \"node\": 1",
                   "'DIMM property node has value 1' which exceeds the "
                   "number of numa nodes: 1");
    qmp_assert_error(e.qmp, "{\"execute\": \"device_add\", \"arguments\": "
                  "{\"driver\": \"pc-dimm\", \"id\": \"x\"}}",
                  "'memdev' property must be set");
    /* A refused DIMM left nothing behind. */
    dimm_add(&e, "d2", "small", NULL);
    g_assert_cmphex(slot_status(&e, 0), ==, ST_ENABLED | ST_INSERT);
    g_assert_cmphex(slot_addr(&e, 0), ==, DEVMEM_BASE + GiB);
    dimm_add_fails(&e, "odd", NULL, "no free slots available");
    env_end(&e);

    /* No slots: no block at 0x0a00, and pc-dimm is refused. */
    env_start(&e, false, "-m 1G -object memory-backend-ram,id=m1,size=1G");
    dimm_add_fails(&e, "m1", NULL, "no slots where allocated, please "
                   "specify the 'slots' option");
    g_assert_cmphex(qtest_inl(e.qts, MHP_SIZE_LO), ==, 0xffffffff);
    env_end(&e);
    env_start(&e, false, "-m 1G,maxmem=2G "
              "-object memory-backend-ram,id=m1,size=1G");
    dimm_add_fails(&e, "m1", NULL, "no slots where allocated");
    env_end(&e);
    /* ACPI off: no memory hotplug. */
    env_start(&e, false, "-machine acpi=off -m 1G,slots=1,maxmem=2G "
              "-object memory-backend-ram,id=m1,size=1G");
    dimm_add_fails(&e, "m1", NULL, "memory hotplug is not enabled: missing "
                   "acpi device or acpi disabled");
    env_end(&e);
}

/* Guest input is hostile: every width and offset, any selector. */
static void test_register_sweep(void)
{
    Env e;

    env_start(&e, false, "-m 1G,slots=2,maxmem=2G "
              "-object memory-backend-ram,id=m1,size=256M "
              "-device pc-dimm,id=d1,memdev=m1");
    for (uint32_t sel = 0; sel < 4; sel++) {
        for (unsigned off = 0; off < 0x18; off++) {
            qtest_outl(e.qts, MHP_ADDR_LO, sel ? sel * 0x40000001u : 0);
            qtest_inb(e.qts, MHP + off);
            qtest_inw(e.qts, MHP + (off & ~1u));
            qtest_outb(e.qts, MHP + off, 0xf6);   /* never the eject bit */
            qtest_outw(e.qts, MHP + (off & ~1u), 0xfff6);
        }
    }
    g_assert_cmphex(slot_status(&e, 0), ==, ST_ENABLED);
    g_assert_cmphex(slot_size(&e, 0), ==, 256 * MiB);
    env_end(&e);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/memhp/cold/pc", test_cold_pc);
    g_test_add_func("/memhp/cold/q35", test_cold_q35);
    g_test_add_func("/memhp/hotplug/pc", test_hotplug_pc);
    g_test_add_func("/memhp/hotplug/q35", test_hotplug_q35);
    g_test_add_func("/memhp/errors", test_errors);
    g_test_add_func("/memhp/register-sweep", test_register_sweep);
    return g_test_run();
}

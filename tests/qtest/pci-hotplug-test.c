/*
 * ACPI PCI hotplug on pc (docs/hotplug.md): device_add / device_del over
 * QMP, the PIIX4 hotplug registers at 0xae00 and GPE0 bit 1 with the SCI,
 * as the guest's ACPI code (_E01, PCNT, _EJ0 -> PCEJ) uses them.  The test
 * plays that guest: it reads PCIU/PCID, looks at the new slot's config
 * space, and writes B0EJ to eject; DEVICE_DELETED follows, and the drive
 * the device used can be deleted afterwards.  Plus QEMU 7.2's errors.
 * Behind cold-plugged pci-bridges the guest first selects the bus (BNUM,
 * the bridge's BSEL) and the same registers speak of that bus.  The
 * selectors, register values and errors of the bridge tests were checked
 * against QEMU 7.2 (qemu-system-x86_64 under TCG, the same QMP commands
 * and port accesses).
 */
#include <fcntl.h>
#include <unistd.h>
#include "libqvirtio.h"
#include "chipset/pci-helpers.h"

#define PCIHP_UP        0xae00
#define PCIHP_DOWN      0xae04
#define PCIHP_EJ        0xae08
#define PCIHP_RMV       0xae0c
#define PCIHP_SEL       0xae10
#define GPE0_STS        0xafe0
#define GPE0_EN         0xafe2
#define GPE_PCIHP       0x02
#define SCI_GSI         9

typedef struct Env {
    QTestState *qts;
    QMPConn *qmp;
    char *dir;
} Env;

static void env_start(Env *e, const char *extra)
{
    g_autofree char *sock = NULL, *img = NULL, *args = NULL;
    int fd;

    e->dir = g_dir_make_tmp("kvmpc-pcihp-XXXXXX", NULL);
    img = g_build_filename(e->dir, "disk.raw", NULL);
    fd = open(img, O_CREAT | O_RDWR | O_TRUNC, 0644);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, 1 << 20), ==, 0);
    close(fd);
    sock = g_build_filename(e->dir, "qmp.sock", NULL);
    args = g_strdup_printf("-machine pc -nodefaults "
                           "-blockdev driver=file,filename=%s,"
                           "node-name=disk0 "
                           "-netdev hubport,id=n0,hubid=0 %s "
                           "-qmp unix:%s,server=on,wait=off",
                           img, extra ? extra : "", sock);
    e->qts = qtest_init(args);
    e->qmp = qmp_connect(sock);
    unlink(sock);
    qtest_irq_intercept_in(e->qts, "ioapic");
    /* The OS enables the hotplug GPE (FADT GPE0 block). */
    qtest_outb(e->qts, GPE0_EN, GPE_PCIHP);
}

static void env_end(Env *e)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", e->dir);

    qmp_close(e->qmp);
    g_assert_cmpint(qtest_quit(e->qts), ==, 0);
    g_assert_cmpint(system(cmd), ==, 0);
    g_free(e->dir);
}

/* The guest's _E01: GPE status bit 1 with the SCI, then clear it. */
static void assert_gpe_and_ack(Env *e)
{
    g_assert_cmphex(qtest_inb(e->qts, GPE0_STS) & GPE_PCIHP, ==, GPE_PCIHP);
    g_assert_true(qtest_get_irq(e->qts, SCI_GSI));
    qtest_outb(e->qts, GPE0_STS, GPE_PCIHP);
    g_assert_false(qtest_get_irq(e->qts, SCI_GSI));
}

static void test_add_eject(void)
{
    Env e;
    g_autofree char *ev = NULL;

    env_start(&e, NULL);
    /* Built-ins on slots 0 (i440FX) and 1 (PIIX3) cannot be removed. */
    g_assert_cmphex(qtest_inl(e.qts, PCIHP_RMV), ==, 0xfffffffc);
    g_assert_cmphex(qtest_inl(e.qts, PCIHP_SEL), ==, 0);
    /* A selector without a bus (kvmpc serves pci.0 only), and one past
     * QEMU's 256: nothing to report, ejects ignored. */
    qtest_outl(e.qts, PCIHP_SEL, 5);
    g_assert_cmphex(qtest_inl(e.qts, PCIHP_SEL), ==, 5);
    g_assert_cmphex(qtest_inl(e.qts, PCIHP_RMV), ==, 0xffffffff);
    g_assert_cmphex(qtest_inl(e.qts, PCIHP_UP), ==, 0);
    qtest_outl(e.qts, PCIHP_EJ, 1u << 1);
    qtest_outl(e.qts, PCIHP_SEL, 300);
    g_assert_cmphex(qtest_inl(e.qts, PCIHP_SEL), ==, 0);
    qtest_outl(e.qts, PCIHP_SEL, 0);
    g_assert_cmphex(cfg_readl(e.qts, DEVFN(5, 0), 0), ==, 0xffffffff);
    g_assert_false(qtest_get_irq(e.qts, SCI_GSI));

    qmp_assert_ok(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
               "\"driver\": \"virtio-net-pci\", \"id\": \"nic1\","
               "\"netdev\": \"n0\", \"addr\": \"5\"}}");
    assert_gpe_and_ack(&e);
    /* Byte and word accesses are not the registers' (QEMU 7.2 accepts
     * dwords only): 0, and PCIU stays. */
    g_assert_cmphex(qtest_inb(e.qts, PCIHP_UP), ==, 0);
    g_assert_cmphex(qtest_inw(e.qts, PCIHP_UP), ==, 0);
    qtest_outb(e.qts, PCIHP_SEL, 1);
    g_assert_cmphex(qtest_inl(e.qts, PCIHP_SEL), ==, 0);
    /* PCIU names slot 5 once (cleared by the read, as QEMU 7.2). */
    g_assert_cmphex(qtest_inl(e.qts, PCIHP_UP), ==, 1u << 5);
    g_assert_cmphex(qtest_inl(e.qts, PCIHP_UP), ==, 0);
    g_assert_cmphex(qtest_inl(e.qts, PCIHP_DOWN), ==, 0);
    /* The new function answers: virtio-net, transitional ID. */
    g_assert_cmphex(cfg_readl(e.qts, DEVFN(5, 0), 0), ==, 0x10001af4);
    /* Its BARs work like a cold-plugged device's. */
    cfg_writel(e.qts, DEVFN(5, 0), 0x10, 0xc000);
    cfg_writew(e.qts, DEVFN(5, 0), 0x04, 0x1);
    g_assert_cmphex(cfg_readl(e.qts, DEVFN(5, 0), 0x10), ==, 0xc001);

    /* virtio-blk on the first free slot (2). */
    qmp_assert_ok(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
               "\"driver\": \"virtio-blk-pci\", \"id\": \"blk1\","
               "\"drive\": \"disk0\"}}");
    assert_gpe_and_ack(&e);
    g_assert_cmphex(qtest_inl(e.qts, PCIHP_UP), ==, 1u << 2);
    g_assert_cmphex(cfg_readl(e.qts, DEVFN(2, 0), 0), ==, 0x10011af4);
    /* The node is in use until the device goes. */
    qmp_assert_error(e.qmp, "{\"execute\": \"blockdev-del\", \"arguments\": "
                  "{\"node-name\": \"disk0\"}}", "is in use");

    /* device_del: PCID names the slot, the device stays for now. */
    qmp_assert_ok(e.qmp, "{\"execute\": \"device_del\", \"arguments\": "
               "{\"id\": \"blk1\"}}");
    assert_gpe_and_ack(&e);
    g_assert_cmphex(qtest_inl(e.qts, PCIHP_DOWN), ==, 1u << 2);
    g_assert_cmphex(cfg_readl(e.qts, DEVFN(2, 0), 0), ==, 0x10011af4);
    ev = qmp_events_now(e.qmp);
    g_assert_null(strstr(ev, "DEVICE_DELETED"));
    g_clear_pointer(&ev, g_free);
    qmp_assert_error(e.qmp, "{\"execute\": \"device_del\", \"arguments\": "
                  "{\"id\": \"blk1\"}}",
              "Device blk1 is already in the process of unplug");

    /* _EJ0: PCEJ (BSEL 0, _SUN 2). */
    qtest_outl(e.qts, PCIHP_SEL, 0);
    qtest_outl(e.qts, PCIHP_EJ, 1u << 2);
    g_assert_cmphex(qtest_inl(e.qts, PCIHP_DOWN), ==, 0);
    g_assert_cmphex(cfg_readl(e.qts, DEVFN(2, 0), 0), ==, 0xffffffff);
    ev = qmp_events_now(e.qmp);
    g_assert_nonnull(strstr(ev, "\"DEVICE_DELETED\""));
    g_assert_nonnull(strstr(ev, "\"device\": \"blk1\""));
    g_assert_nonnull(strstr(ev, "\"path\": \"/machine/peripheral/blk1\""));
    g_clear_pointer(&ev, g_free);
    /* The drive is free again; the id too. */
    qmp_assert_ok(e.qmp, "{\"execute\": \"blockdev-del\", \"arguments\": "
               "{\"node-name\": \"disk0\"}}");
    qmp_assert_error(e.qmp, "{\"execute\": \"device_del\", \"arguments\": "
                  "{\"id\": \"blk1\"}}", "Device 'blk1' not found");

    /* Ejecting a slot the host never asked about is the guest's call
     * (QEMU lets it); a built-in slot stays. */
    qtest_outl(e.qts, PCIHP_EJ, 1u << 1);
    g_assert_cmphex(cfg_readl(e.qts, DEVFN(1, 0), 0), ==, 0x70008086);
    env_end(&e);
}

static void test_errors(void)
{
    Env e;

    env_start(&e, NULL);
    qmp_assert_ok(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
               "\"driver\": \"virtio-net-pci\", \"id\": \"nic1\","
               "\"netdev\": \"n0\", \"addr\": \"5\"}}");
    assert_gpe_and_ack(&e);
    qmp_assert_error(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
                  "\"driver\": \"virtio-rng-pci\", \"id\": \"nic1\"}}",
              "Duplicate device ID 'nic1'");
    qmp_assert_error(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
                  "\"driver\": \"virtio-rng-pci\", \"bus\": \"nope\"}}",
              "Bus 'nope' not found");
    qmp_assert_error(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
                  "\"driver\": \"virtio-rng-pci\", \"addr\": \"5\"}}",
              "PCI: slot 5 function 0 not available for virtio-rng-pci, "
              "in use by virtio-net-pci,id=nic1");
    qmp_assert_error(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
                  "\"driver\": \"isa-serial\"}}",
              "Bus 'isa.0' does not support hotplugging");
    qmp_assert_error(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
                  "\"driver\": \"no-such-device\"}}",
              "'no-such-device' is not a valid device model name");
    qmp_assert_error(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {}}",
              "Parameter 'driver' is missing");
    qmp_assert_error(e.qmp, "{\"execute\": \"device_del\", \"arguments\": "
                  "{\"id\": \"nope\"}}", "DeviceNotFound");
    /* A chipset function: not hotpluggable (by its QOM path). */
    {
        g_autofree char *r = qmp_cmd(e.qmp, "{\"execute\": \"qom-list\", "
                                     "\"arguments\": {\"path\": "
                                     "\"/machine/unattached\"}}");
        g_assert_nonnull(strstr(r, "device["));
    }
    /* Nothing of the failed adds is left, and the failures raised no
     * event for the guest. */
    g_assert_cmphex(qtest_inb(e.qts, GPE0_STS) & GPE_PCIHP, ==, 0);
    g_assert_cmphex(qtest_inl(e.qts, PCIHP_UP), ==, 1u << 5);
    g_assert_cmphex(qtest_inl(e.qts, PCIHP_UP), ==, 0);
    g_assert_cmphex(cfg_readl(e.qts, DEVFN(2, 0), 0), ==, 0xffffffff);
    env_end(&e);
}

/* A chipset function (PIIX4 PM at 01.3) refuses device_del. */
static void test_builtin_not_hotpluggable(void)
{
    Env e;
    g_autofree char *r = NULL;
    char *p, *q;
    g_autofree char *path = NULL, *cmd = NULL;

    env_start(&e, NULL);
    /* Find PIIX4_PM's path in qom-list /machine/unattached. */
    r = qmp_cmd(e.qmp, "{\"execute\": \"qom-list\", \"arguments\": "
                "{\"path\": \"/machine/unattached\"}}");
    for (p = r; (p = strstr(p, "\"name\": \"device[")); p++) {
        g_autofree char *tcmd = NULL, *tr = NULL;
        q = strchr(p + 9, '"');
        g_free(path);
        path = g_strdup_printf("/machine/unattached/%.*s",
                               (int)(q - (p + 9)), p + 9);
        tcmd = g_strdup_printf("{\"execute\": \"qom-get\", \"arguments\": "
                               "{\"path\": \"%s\", \"property\": "
                               "\"type\"}}", path);
        tr = qmp_cmd(e.qmp, tcmd);
        if (strstr(tr, "PIIX4_PM")) {
            break;
        }
    }
    g_assert_nonnull(p);
    cmd = g_strdup_printf("{\"execute\": \"device_del\", \"arguments\": "
                          "{\"id\": \"%s\"}}", path);
    qmp_assert_error(e.qmp, cmd, "Device 'PIIX4_PM' does not support hotplugging");
    env_end(&e);
}

/* A reset completes a removal the guest never answered (QEMU). */
static void test_reset_completes_unplug(void)
{
    Env e;
    g_autofree char *ev = NULL;

    env_start(&e, NULL);
    qmp_assert_ok(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
               "\"driver\": \"virtio-net-pci\", \"id\": \"nic1\","
               "\"netdev\": \"n0\", \"addr\": \"6\"}}");
    qmp_assert_ok(e.qmp, "{\"execute\": \"device_del\", \"arguments\": "
               "{\"id\": \"nic1\"}}");
    qmp_assert_ok(e.qmp, "{\"execute\": \"system_reset\"}");
    ev = qmp_events_now(e.qmp);
    g_assert_nonnull(strstr(ev, "\"device\": \"nic1\""));
    g_assert_cmphex(cfg_readl(e.qts, DEVFN(6, 0), 0), ==, 0xffffffff);
    /* The netdev is free: a new NIC takes it. */
    qmp_assert_ok(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
               "\"driver\": \"e1000\", \"id\": \"nic2\","
               "\"netdev\": \"n0\", \"addr\": \"6\"}}");
    g_assert_cmphex(cfg_readl(e.qts, DEVFN(6, 0), 0), ==, 0x100e8086);
    /* query-pci and qom follow. */
    {
        g_autofree char *r = qmp_cmd(e.qmp,
                                     "{\"execute\": \"query-pci\"}");
        g_assert_nonnull(strstr(r, "\"qdev_id\": \"nic2\""));
        g_free(r);
        r = qmp_cmd(e.qmp, "{\"execute\": \"qom-list\", \"arguments\": "
                    "{\"path\": \"/machine/peripheral\"}}");
        g_assert_nonnull(strstr(r, "\"nic2\""));
        g_assert_null(strstr(r, "\"nic1\""));
    }
    env_end(&e);
}

/* acpi-root-pci-hotplug=off: pci.0 has no hotplug handler (QEMU 7.2
 * takes its handler away at the first reset); with bridge support off as
 * well there is no register block. */
static void test_root_hotplug_off(void)
{
    Env e;

    env_start(&e, "-global PIIX4_PM.acpi-root-pci-hotplug=off "
                  "-global PIIX4_PM.acpi-pci-hotplug-with-bridge-support=off "
                  "-device pci-bridge,id=br1,chassis_nr=1,addr=5");
    qmp_assert_error(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
                  "\"driver\": \"virtio-rng-pci\"}}",
              "Bus 'pci.0' does not support hotplugging");
    qmp_assert_error(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
                  "\"driver\": \"virtio-rng-pci\", \"bus\": \"br1\"}}",
              "Bus 'br1' does not support hotplugging");
    /* No register block then. */
    g_assert_cmphex(qtest_inl(e.qts, PCIHP_RMV), ==, 0xffffffff);
    env_end(&e);
}

/* ---- behind pci-bridge (BSEL > 0) ------------------------------------- */

/* Secondary bus numbers, as firmware gives them, so config cycles reach
 * the buses behind the bridges. */
static void number_bridge(Env *e, unsigned devfn, unsigned bus)
{
    cfg_writel(e->qts, devfn, 0x18, bus << 16 | bus << 8);
}

/* BNUM, then a register of that bus. */
static uint32_t sel_inl(Env *e, uint32_t bsel, uint16_t reg)
{
    qtest_outl(e->qts, PCIHP_SEL, bsel);
    return qtest_inl(e->qts, reg);
}

/* _EJ0 -> PCEJ (BSEL, _SUN). */
static void pcej(Env *e, uint32_t bsel, unsigned slot)
{
    qtest_outl(e->qts, PCIHP_SEL, bsel);
    qtest_outl(e->qts, PCIHP_EJ, 1u << slot);
}

/*
 * Two cold-plugged bridges: br1 (05.0) and br2 (06.0, created later, so
 * BSEL 1: QEMU numbers a bus's bridges the most recently created first);
 * br1 is BSEL 2.  device_add onto br1 shows in PCIU of BSEL 2 only,
 * device_del in its PCID, and an eject with the wrong selector does
 * nothing; the right one removes the device, DEVICE_DELETED follows.
 */
static void test_bridge_add_eject(void)
{
    Env e;
    g_autofree char *ev = NULL;

    env_start(&e, "-device pci-bridge,id=br1,chassis_nr=1,addr=5 "
                  "-device pci-bridge,id=br2,chassis_nr=2,addr=6 "
                  "-netdev hubport,id=n1,hubid=0 "
                  "-device e1000,id=cold,bus=br2,addr=7,netdev=n1");
    number_bridge(&e, DEVFN(5, 0), 1);
    number_bridge(&e, DEVFN(6, 0), 2);
    /* The cold-plugged bridges' slots are not removable on bus 0; every
     * slot of a bridge's bus is. */
    g_assert_cmphex(sel_inl(&e, 0, PCIHP_RMV), ==, 0xffffff9c);
    g_assert_cmphex(sel_inl(&e, 1, PCIHP_RMV), ==, 0xffffffff);
    g_assert_cmphex(sel_inl(&e, 2, PCIHP_RMV), ==, 0xffffffff);
    g_assert_cmphex(sel_inl(&e, 2, PCIHP_SEL), ==, 2);

    qmp_assert_ok(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
               "\"driver\": \"virtio-net-pci\", \"id\": \"nic1\","
               "\"netdev\": \"n0\", \"bus\": \"br1\", \"addr\": \"3\"}}");
    assert_gpe_and_ack(&e);
    /* PCNT walks the buses: only BSEL 2 has news, once. */
    g_assert_cmphex(sel_inl(&e, 0, PCIHP_UP), ==, 0);
    g_assert_cmphex(sel_inl(&e, 1, PCIHP_UP), ==, 0);
    g_assert_cmphex(sel_inl(&e, 2, PCIHP_UP), ==, 1u << 3);
    g_assert_cmphex(sel_inl(&e, 2, PCIHP_UP), ==, 0);
    g_assert_cmphex(sel_inl(&e, 2, PCIHP_DOWN), ==, 0);
    g_assert_cmphex(bcfg_readl(e.qts, 1, DEVFN(3, 0), 0), ==, 0x10001af4);

    /* Slot 0 of a bridge's bus takes hotplug too (S00 in the DSDT). */
    qmp_assert_ok(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
               "\"driver\": \"pci-testdev\", \"id\": \"t0\","
               "\"bus\": \"br1\", \"addr\": \"0\"}}");
    assert_gpe_and_ack(&e);
    g_assert_cmphex(sel_inl(&e, 2, PCIHP_UP), ==, 1u << 0);
    g_assert_cmphex(bcfg_readl(e.qts, 1, DEVFN(0, 0), 0), ==, 0x00051b36);

    qmp_assert_ok(e.qmp, "{\"execute\": \"device_del\", \"arguments\": "
               "{\"id\": \"nic1\"}}");
    assert_gpe_and_ack(&e);
    g_assert_cmphex(sel_inl(&e, 0, PCIHP_DOWN), ==, 0);
    g_assert_cmphex(sel_inl(&e, 1, PCIHP_DOWN), ==, 0);
    g_assert_cmphex(sel_inl(&e, 2, PCIHP_DOWN), ==, 1u << 3);
    ev = qmp_events_now(e.qmp);
    g_assert_null(strstr(ev, "DEVICE_DELETED"));
    g_clear_pointer(&ev, g_free);
    qmp_assert_error(e.qmp, "{\"execute\": \"device_del\", \"arguments\": "
                  "{\"id\": \"nic1\"}}",
              "Device nic1 is already in the process of unplug");

    /* Slot 3 under the wrong selectors: bus 0's slot 3 is empty, br2's
     * too; nothing goes. */
    pcej(&e, 0, 3);
    pcej(&e, 1, 3);
    g_assert_cmphex(sel_inl(&e, 2, PCIHP_DOWN), ==, 1u << 3);
    g_assert_cmphex(bcfg_readl(e.qts, 1, DEVFN(3, 0), 0), ==, 0x10001af4);
    ev = qmp_events_now(e.qmp);
    g_assert_null(strstr(ev, "DEVICE_DELETED"));
    g_clear_pointer(&ev, g_free);

    /* PCEJ (2, 3): gone, PCID clear, DEVICE_DELETED. */
    pcej(&e, 2, 3);
    g_assert_cmphex(sel_inl(&e, 2, PCIHP_DOWN), ==, 0);
    g_assert_cmphex(bcfg_readl(e.qts, 1, DEVFN(3, 0), 0), ==, 0xffffffff);
    ev = qmp_events_now(e.qmp);
    g_assert_nonnull(strstr(ev, "\"device\": \"nic1\""));
    g_assert_nonnull(strstr(ev, "\"path\": \"/machine/peripheral/nic1\""));
    g_clear_pointer(&ev, g_free);
    /* The netdev is free for the next NIC behind the bridge. */
    qmp_assert_ok(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
               "\"driver\": \"rtl8139\", \"id\": \"nic2\","
               "\"netdev\": \"n0\", \"bus\": \"br1\", \"addr\": \"3\"}}");
    assert_gpe_and_ack(&e);
    g_assert_cmphex(sel_inl(&e, 2, PCIHP_UP), ==, 1u << 3);

    /* A guest's "safely remove" of a cold-plugged device behind br2. */
    pcej(&e, 1, 7);
    ev = qmp_events_now(e.qmp);
    g_assert_nonnull(strstr(ev, "\"device\": \"cold\""));
    g_clear_pointer(&ev, g_free);
    g_assert_cmphex(bcfg_readl(e.qts, 2, DEVFN(7, 0), 0), ==, 0xffffffff);
    /* Bus 0's slots of the bridges: the bridges stay, with their
     * devices. */
    pcej(&e, 0, 5);
    pcej(&e, 0, 6);
    g_assert_cmphex(cfg_readl(e.qts, DEVFN(5, 0), 0), ==, 0x00011b36);
    g_assert_cmphex(bcfg_readl(e.qts, 1, DEVFN(0, 0), 0), ==, 0x00051b36);
    ev = qmp_events_now(e.qmp);
    g_assert_null(strstr(ev, "DEVICE_DELETED"));
    env_end(&e);
}

/* What QEMU 7.2 refuses behind a bridge, with its words; a bridge
 * hot-plugged behind one is removable but takes no hotplug itself. */
static void test_bridge_errors(void)
{
    Env e;
    g_autofree char *ev = NULL;

    env_start(&e, "-device pci-bridge,id=br1,chassis_nr=1,addr=5 "
                  "-device pci-testdev,id=t3,bus=br1,addr=3");
    number_bridge(&e, DEVFN(5, 0), 1);
    qmp_assert_error(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
                  "\"driver\": \"virtio-rng-pci\", \"bus\": \"br1\", "
                  "\"addr\": \"3\"}}",
              "PCI: slot 3 function 0 not available for virtio-rng-pci, "
              "in use by pci-testdev,id=t3");
    qmp_assert_error(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
                  "\"driver\": \"virtio-rng-pci\", \"bus\": \"br1\", "
                  "\"addr\": \"3.1\"}}",
              "PCI: slot 3 function 0 already occupied by pci-testdev, "
              "new func virtio-rng-pci cannot be exposed to guest.");
    qmp_assert_error(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
                  "\"driver\": \"piix3-ide\", \"bus\": \"br1\"}}",
              "Parameter 'driver' expects a pluggable device type");
    /* A hot-plugged bridge (onto br1, BSEL 1) has no hotplug behind it:
     * QEMU's hot-plugged bridges are not described in ACPI. */
    qmp_assert_ok(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
               "\"driver\": \"pci-bridge\", \"id\": \"hb\", "
               "\"chassis_nr\": 9, \"bus\": \"br1\", \"addr\": \"9\"}}");
    assert_gpe_and_ack(&e);
    g_assert_cmphex(sel_inl(&e, 1, PCIHP_UP), ==, 1u << 9);
    qmp_assert_error(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
                  "\"driver\": \"virtio-rng-pci\", \"bus\": \"hb\"}}",
              "Bus 'hb' does not support hotplugging");
    /* Nothing of the failed adds raised an event. */
    g_assert_cmphex(qtest_inb(e.qts, GPE0_STS) & GPE_PCIHP, ==, 0);
    g_assert_cmphex(sel_inl(&e, 1, PCIHP_UP), ==, 0);
    /* It may be removed again: it is a hot-plugged function on br1. */
    qmp_assert_ok(e.qmp, "{\"execute\": \"device_del\", \"arguments\": "
               "{\"id\": \"hb\"}}");
    g_assert_cmphex(sel_inl(&e, 1, PCIHP_DOWN), ==, 1u << 9);
    pcej(&e, 1, 9);
    ev = qmp_events_now(e.qmp);
    g_assert_nonnull(strstr(ev, "\"device\": \"hb\""));
    g_assert_cmphex(bcfg_readl(e.qts, 1, DEVFN(9, 0), 0), ==, 0xffffffff);
    env_end(&e);
}

/* A reset completes a removal behind a bridge the guest never answered. */
static void test_bridge_reset(void)
{
    Env e;
    g_autofree char *ev = NULL;

    env_start(&e, "-device pci-bridge,id=br1,chassis_nr=1,addr=5");
    qmp_assert_ok(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
               "\"driver\": \"virtio-blk-pci\", \"id\": \"blk1\","
               "\"drive\": \"disk0\", \"bus\": \"br1\", \"addr\": \"2\"}}");
    qmp_assert_ok(e.qmp, "{\"execute\": \"device_del\", \"arguments\": "
               "{\"id\": \"blk1\"}}");
    qmp_assert_ok(e.qmp, "{\"execute\": \"system_reset\"}");
    ev = qmp_events_now(e.qmp);
    g_assert_nonnull(strstr(ev, "\"device\": \"blk1\""));
    g_assert_cmphex(sel_inl(&e, 1, PCIHP_DOWN), ==, 0);
    qmp_assert_ok(e.qmp, "{\"execute\": \"blockdev-del\", \"arguments\": "
               "{\"node-name\": \"disk0\"}}");
    /* The selectors stay what they were. */
    g_assert_cmphex(sel_inl(&e, 0, PCIHP_RMV), ==, 0xffffffdc);
    env_end(&e);
}

/* A bridge behind a bridge: depth first, each bus's bridges the most
 * recently created first: br2 1, br1 2, the inner bridge (behind br1) 3. */
static void test_bridge_nested(void)
{
    Env e;

    env_start(&e, "-device pci-bridge,id=br1,chassis_nr=1,addr=5 "
                  "-device pci-bridge,id=inner,chassis_nr=3,bus=br1,addr=4 "
                  "-device pci-bridge,id=br2,chassis_nr=2,addr=6");
    cfg_writel(e.qts, DEVFN(5, 0), 0x18, 0x00020100);    /* buses 1-2 */
    bcfg_writel(e.qts, 1, DEVFN(4, 0), 0x18, 0x00020201);
    /* The inner bridge's slot is not removable on br1's bus. */
    g_assert_cmphex(sel_inl(&e, 2, PCIHP_RMV), ==, 0xffffffef);
    qmp_assert_ok(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
               "\"driver\": \"pci-testdev\", \"id\": \"t\","
               "\"bus\": \"inner\", \"addr\": \"8\"}}");
    assert_gpe_and_ack(&e);
    g_assert_cmphex(sel_inl(&e, 1, PCIHP_UP), ==, 0);
    g_assert_cmphex(sel_inl(&e, 2, PCIHP_UP), ==, 0);
    g_assert_cmphex(sel_inl(&e, 3, PCIHP_UP), ==, 1u << 8);
    g_assert_cmphex(bcfg_readl(e.qts, 2, DEVFN(8, 0), 0), ==, 0x00051b36);
    qmp_assert_ok(e.qmp, "{\"execute\": \"device_del\", \"arguments\": "
               "{\"id\": \"t\"}}");
    g_assert_cmphex(sel_inl(&e, 3, PCIHP_DOWN), ==, 1u << 8);
    pcej(&e, 3, 8);
    g_assert_cmphex(bcfg_readl(e.qts, 2, DEVFN(8, 0), 0), ==, 0xffffffff);
    /* The inner bridge itself cannot be ejected from br1's bus. */
    pcej(&e, 2, 4);
    g_assert_cmphex(bcfg_readl(e.qts, 1, DEVFN(4, 0), 0), ==, 0x00011b36);
    env_end(&e);
}

/* acpi-pci-hotplug-with-bridge-support=off: no hotplug behind bridges, and
 * the block is QEMU's "legacy PIIX" one (bus 0 only: PCI_SEL stays 0,
 * PCI_UP keeps its bits when read). */
static void test_bridge_support_off(void)
{
    Env e;

    env_start(&e, "-global PIIX4_PM.acpi-pci-hotplug-with-bridge-support=off "
                  "-device pci-bridge,id=br1,chassis_nr=1,addr=5");
    qmp_assert_error(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
                  "\"driver\": \"virtio-rng-pci\", \"bus\": \"br1\"}}",
              "Bus 'br1' does not support hotplugging");
    qtest_outl(e.qts, PCIHP_SEL, 1);
    g_assert_cmphex(qtest_inl(e.qts, PCIHP_SEL), ==, 0);
    qmp_assert_ok(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
               "\"driver\": \"virtio-rng-pci\", \"id\": \"r\", "
               "\"addr\": \"7\"}}");
    assert_gpe_and_ack(&e);
    g_assert_cmphex(qtest_inl(e.qts, PCIHP_UP), ==, 1u << 7);
    g_assert_cmphex(qtest_inl(e.qts, PCIHP_UP), ==, 1u << 7);
    env_end(&e);
}

/* acpi-root-pci-hotplug=off with bridge support: pci.0 refuses, the
 * bridges are served from BSEL 0. */
static void test_root_off_bridge_on(void)
{
    Env e;
    g_autofree char *ev = NULL;

    env_start(&e, "-global PIIX4_PM.acpi-root-pci-hotplug=off "
                  "-device pci-bridge,id=br1,chassis_nr=1,addr=5");
    qmp_assert_error(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
                  "\"driver\": \"virtio-rng-pci\"}}",
              "Bus 'pci.0' does not support hotplugging");
    qmp_assert_ok(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
               "\"driver\": \"virtio-rng-pci\", \"id\": \"r\", "
               "\"bus\": \"br1\", \"addr\": \"3\"}}");
    assert_gpe_and_ack(&e);
    g_assert_cmphex(sel_inl(&e, 0, PCIHP_UP), ==, 1u << 3);
    g_assert_cmphex(sel_inl(&e, 1, PCIHP_UP), ==, 0);
    qmp_assert_ok(e.qmp, "{\"execute\": \"device_del\", \"arguments\": "
               "{\"id\": \"r\"}}");
    pcej(&e, 0, 3);
    ev = qmp_events_now(e.qmp);
    g_assert_nonnull(strstr(ev, "\"device\": \"r\""));
    env_end(&e);
}

/*
 * A hostile guest ejects every slot of a busy machine (QEMU lets _EJ0 take
 * any hotpluggable function): every device model must let go cleanly,
 * and the machine must keep working (reset, monitor queries).
 */
static void test_eject_everything(void)
{
    Env e;
    g_autofree char *ev = NULL, *r = NULL;

    env_start(&e, "-vga std -device e1000 -device virtio-net-pci,netdev=n0 "
                  "-device virtio-blk-pci,drive=disk0 "
                  "-device piix3-usb-uhci,id=u -device usb-tablet,bus=u.0 "
                  "-device intel-hda -device hda-duplex -device ich9-ahci "
                  "-device virtio-scsi-pci -device virtio-serial-pci "
                  "-device virtconsole -device virtio-rng-pci "
                  "-device virtio-balloon-pci -device rtl8139 "
                  "-device pci-testdev -device virtio-gpu-pci "
                  "-device virtio-keyboard-pci -device qemu-xhci "
                  "-device AC97 -device pci-bridge,chassis_nr=1,id=br");
    for (unsigned slot = 0; slot < 32; slot++) {
        qtest_outl(e.qts, PCIHP_EJ, 1u << slot);
    }
    /* Chipset and the cold-plugged bridge stay; the rest is gone. */
    g_assert_cmphex(cfg_readl(e.qts, DEVFN(0, 0), 0), ==, 0x12378086);
    g_assert_cmphex(cfg_readl(e.qts, DEVFN(1, 0), 0), ==, 0x70008086);
    g_assert_cmphex(cfg_readl(e.qts, DEVFN(2, 0), 0), ==, 0xffffffff);
    ev = qmp_events_now(e.qmp);
    g_assert_nonnull(strstr(ev, "DEVICE_DELETED"));
    qmp_assert_ok(e.qmp, "{\"execute\": \"system_reset\"}");
    qtest_clock_step(e.qts, 100 * 1000 * 1000);
    r = qmp_cmd(e.qmp, "{\"execute\": \"query-pci\"}");
    g_assert_nonnull(strstr(r, "\"return\""));
    g_clear_pointer(&r, g_free);
    r = qmp_cmd(e.qmp, "{\"execute\": \"human-monitor-command\", "
                "\"arguments\": {\"command-line\": \"info qtree\"}}");
    g_assert_nonnull(strstr(r, "\"return\""));
    g_clear_pointer(&r, g_free);
    r = qmp_cmd(e.qmp, "{\"execute\": \"query-block\"}");
    g_assert_nonnull(strstr(r, "\"return\""));
    /* The machine still takes new devices. */
    qmp_assert_ok(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
               "\"driver\": \"virtio-blk-pci\", \"drive\": \"disk0\", "
               "\"addr\": \"4\"}}");
    g_assert_cmphex(cfg_readl(e.qts, DEVFN(4, 0), 0), ==, 0x10011af4);
    env_end(&e);
}

/* A hotplugged bridge with a device behind it: ejecting the bridge's slot
 * takes the device first (two DEVICE_DELETED events). */
static void test_eject_bridge_tree(void)
{
    Env e;
    g_autofree char *ev = NULL;

    env_start(&e, NULL);
    qmp_assert_ok(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
               "\"driver\": \"pcie-root-port\", \"id\": \"rp\", "
               "\"addr\": \"9\", \"chassis\": 1}}");
    qmp_assert_ok(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
               "\"driver\": \"virtio-rng-pci\", \"id\": \"rng\", "
               "\"bus\": \"rp\"}}");
    /* A hotplugged bridge may be removed again (RMV keeps slot 9). */
    g_assert_cmphex(qtest_inl(e.qts, PCIHP_RMV) & (1u << 9), ==, 1u << 9);
    qtest_outl(e.qts, PCIHP_EJ, 1u << 9);
    ev = qmp_events_now(e.qmp);
    g_assert_nonnull(strstr(ev, "\"device\": \"rng\""));
    g_assert_nonnull(strstr(ev, "\"device\": \"rp\""));
    g_assert_true(strstr(ev, "\"device\": \"rng\"") <
                  strstr(ev, "\"device\": \"rp\""));
    g_assert_cmphex(cfg_readl(e.qts, DEVFN(9, 0), 0), ==, 0xffffffff);
    qmp_assert_error(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
                  "\"driver\": \"virtio-rng-pci\", \"bus\": \"rp\"}}",
              "Bus 'rp' not found");
    env_end(&e);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/pcihp/add-eject", test_add_eject);
    g_test_add_func("/pcihp/errors", test_errors);
    g_test_add_func("/pcihp/builtin", test_builtin_not_hotpluggable);
    g_test_add_func("/pcihp/reset", test_reset_completes_unplug);
    g_test_add_func("/pcihp/root-off", test_root_hotplug_off);
    g_test_add_func("/pcihp/eject-everything", test_eject_everything);
    g_test_add_func("/pcihp/eject-bridge-tree", test_eject_bridge_tree);
    g_test_add_func("/pcihp/bridge/add-eject", test_bridge_add_eject);
    g_test_add_func("/pcihp/bridge/errors", test_bridge_errors);
    g_test_add_func("/pcihp/bridge/reset", test_bridge_reset);
    g_test_add_func("/pcihp/bridge/nested", test_bridge_nested);
    g_test_add_func("/pcihp/bridge/support-off", test_bridge_support_off);
    g_test_add_func("/pcihp/bridge/root-off", test_root_off_bridge_on);
    return g_test_run();
}

/*
 * ACPI PCI hotplug on pc (docs/hotplug.md): device_add / device_del over
 * QMP, the PIIX4 hotplug registers at 0xae00 and GPE0 bit 1 with the SCI,
 * as the guest's ACPI code (_E01, PCNT, _EJ0 -> PCEJ) uses them.  The test
 * plays that guest: it reads PCIU/PCID, looks at the new slot's config
 * space, and writes B0EJ to eject; DEVICE_DELETED follows, and the drive
 * the device used can be deleted afterwards.  Plus QEMU 7.2's errors.
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

static void qmp_ok(Env *e, const char *json)
{
    g_autofree char *r = qmp_cmd(e->qmp, json);

    if (!strstr(r, "\"return\"")) {
        g_error("%s -> %s", json, r);
    }
}

static void qmp_fails(Env *e, const char *json, const char *desc)
{
    g_autofree char *r = qmp_cmd(e->qmp, json);

    if (!strstr(r, "\"error\"") || !strstr(r, desc)) {
        g_error("%s -> %s (expected \"%s\")", json, r, desc);
    }
}

static char *events(Env *e)
{
    g_free(qmp_cmd(e->qmp, "{\"execute\": \"query-status\"}"));

    return qmp_take_events(e->qmp);
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

    qmp_ok(&e, "{\"execute\": \"device_add\", \"arguments\": {"
               "\"driver\": \"virtio-net-pci\", \"id\": \"nic1\","
               "\"netdev\": \"n0\", \"addr\": \"5\"}}");
    assert_gpe_and_ack(&e);
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
    qmp_ok(&e, "{\"execute\": \"device_add\", \"arguments\": {"
               "\"driver\": \"virtio-blk-pci\", \"id\": \"blk1\","
               "\"drive\": \"disk0\"}}");
    assert_gpe_and_ack(&e);
    g_assert_cmphex(qtest_inl(e.qts, PCIHP_UP), ==, 1u << 2);
    g_assert_cmphex(cfg_readl(e.qts, DEVFN(2, 0), 0), ==, 0x10011af4);
    /* The node is in use until the device goes. */
    qmp_fails(&e, "{\"execute\": \"blockdev-del\", \"arguments\": "
                  "{\"node-name\": \"disk0\"}}", "is in use");

    /* device_del: PCID names the slot, the device stays for now. */
    qmp_ok(&e, "{\"execute\": \"device_del\", \"arguments\": "
               "{\"id\": \"blk1\"}}");
    assert_gpe_and_ack(&e);
    g_assert_cmphex(qtest_inl(e.qts, PCIHP_DOWN), ==, 1u << 2);
    g_assert_cmphex(cfg_readl(e.qts, DEVFN(2, 0), 0), ==, 0x10011af4);
    ev = events(&e);
    g_assert_null(strstr(ev, "DEVICE_DELETED"));
    g_clear_pointer(&ev, g_free);
    qmp_fails(&e, "{\"execute\": \"device_del\", \"arguments\": "
                  "{\"id\": \"blk1\"}}",
              "Device blk1 is already in the process of unplug");

    /* _EJ0: PCEJ (BSEL 0, _SUN 2). */
    qtest_outl(e.qts, PCIHP_SEL, 0);
    qtest_outl(e.qts, PCIHP_EJ, 1u << 2);
    g_assert_cmphex(qtest_inl(e.qts, PCIHP_DOWN), ==, 0);
    g_assert_cmphex(cfg_readl(e.qts, DEVFN(2, 0), 0), ==, 0xffffffff);
    ev = events(&e);
    g_assert_nonnull(strstr(ev, "\"DEVICE_DELETED\""));
    g_assert_nonnull(strstr(ev, "\"device\": \"blk1\""));
    g_assert_nonnull(strstr(ev, "\"path\": \"/machine/peripheral/blk1\""));
    g_clear_pointer(&ev, g_free);
    /* The drive is free again; the id too. */
    qmp_ok(&e, "{\"execute\": \"blockdev-del\", \"arguments\": "
               "{\"node-name\": \"disk0\"}}");
    qmp_fails(&e, "{\"execute\": \"device_del\", \"arguments\": "
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
    qmp_ok(&e, "{\"execute\": \"device_add\", \"arguments\": {"
               "\"driver\": \"virtio-net-pci\", \"id\": \"nic1\","
               "\"netdev\": \"n0\", \"addr\": \"5\"}}");
    assert_gpe_and_ack(&e);
    qmp_fails(&e, "{\"execute\": \"device_add\", \"arguments\": {"
                  "\"driver\": \"virtio-rng-pci\", \"id\": \"nic1\"}}",
              "Duplicate device ID 'nic1'");
    qmp_fails(&e, "{\"execute\": \"device_add\", \"arguments\": {"
                  "\"driver\": \"virtio-rng-pci\", \"bus\": \"nope\"}}",
              "Bus 'nope' not found");
    qmp_fails(&e, "{\"execute\": \"device_add\", \"arguments\": {"
                  "\"driver\": \"virtio-rng-pci\", \"addr\": \"5\"}}",
              "PCI: slot 5 function 0 not available for virtio-rng-pci, "
              "in use by virtio-net-pci,id=nic1");
    qmp_fails(&e, "{\"execute\": \"device_add\", \"arguments\": {"
                  "\"driver\": \"isa-serial\"}}",
              "Bus 'isa.0' does not support hotplugging");
    qmp_fails(&e, "{\"execute\": \"device_add\", \"arguments\": {"
                  "\"driver\": \"no-such-device\"}}",
              "'no-such-device' is not a valid device model name");
    qmp_fails(&e, "{\"execute\": \"device_add\", \"arguments\": {}}",
              "Parameter 'driver' is missing");
    qmp_fails(&e, "{\"execute\": \"device_del\", \"arguments\": "
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
    qmp_fails(&e, cmd, "Device 'PIIX4_PM' does not support hotplugging");
    env_end(&e);
}

/* A reset completes a removal the guest never answered (QEMU). */
static void test_reset_completes_unplug(void)
{
    Env e;
    g_autofree char *ev = NULL;

    env_start(&e, NULL);
    qmp_ok(&e, "{\"execute\": \"device_add\", \"arguments\": {"
               "\"driver\": \"virtio-net-pci\", \"id\": \"nic1\","
               "\"netdev\": \"n0\", \"addr\": \"6\"}}");
    qmp_ok(&e, "{\"execute\": \"device_del\", \"arguments\": "
               "{\"id\": \"nic1\"}}");
    qmp_ok(&e, "{\"execute\": \"system_reset\"}");
    ev = events(&e);
    g_assert_nonnull(strstr(ev, "\"device\": \"nic1\""));
    g_assert_cmphex(cfg_readl(e.qts, DEVFN(6, 0), 0), ==, 0xffffffff);
    /* The netdev is free: a new NIC takes it. */
    qmp_ok(&e, "{\"execute\": \"device_add\", \"arguments\": {"
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

/* acpi-root-pci-hotplug=off: pci.0 refuses, as QEMU's bus without BSEL. */
static void test_root_hotplug_off(void)
{
    Env e;

    env_start(&e, "-global PIIX4_PM.acpi-root-pci-hotplug=off "
                  "-global PIIX4_PM.acpi-pci-hotplug-with-bridge-support=off");
    qmp_fails(&e, "{\"execute\": \"device_add\", \"arguments\": {"
                  "\"driver\": \"virtio-rng-pci\"}}",
              "Unsupported bus. Bus doesn't have property 'acpi-pcihp-bsel' "
              "set");
    /* No register block then. */
    g_assert_cmphex(qtest_inl(e.qts, PCIHP_RMV), ==, 0xffffffff);
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
    ev = events(&e);
    g_assert_nonnull(strstr(ev, "DEVICE_DELETED"));
    qmp_ok(&e, "{\"execute\": \"system_reset\"}");
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
    qmp_ok(&e, "{\"execute\": \"device_add\", \"arguments\": {"
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
    qmp_ok(&e, "{\"execute\": \"device_add\", \"arguments\": {"
               "\"driver\": \"pcie-root-port\", \"id\": \"rp\", "
               "\"addr\": \"9\", \"chassis\": 1}}");
    qmp_ok(&e, "{\"execute\": \"device_add\", \"arguments\": {"
               "\"driver\": \"virtio-rng-pci\", \"id\": \"rng\", "
               "\"bus\": \"rp\"}}");
    /* A hotplugged bridge may be removed again (RMV keeps slot 9). */
    g_assert_cmphex(qtest_inl(e.qts, PCIHP_RMV) & (1u << 9), ==, 1u << 9);
    qtest_outl(e.qts, PCIHP_EJ, 1u << 9);
    ev = events(&e);
    g_assert_nonnull(strstr(ev, "\"device\": \"rng\""));
    g_assert_nonnull(strstr(ev, "\"device\": \"rp\""));
    g_assert_true(strstr(ev, "\"device\": \"rng\"") <
                  strstr(ev, "\"device\": \"rp\""));
    g_assert_cmphex(cfg_readl(e.qts, DEVFN(9, 0), 0), ==, 0xffffffff);
    qmp_fails(&e, "{\"execute\": \"device_add\", \"arguments\": {"
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
    return g_test_run();
}

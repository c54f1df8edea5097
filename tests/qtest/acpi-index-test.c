/*
 * acpi-index (docs/hotplug.md, "acpi-index"): QEMU 6.0+'s PCI device
 * property that libvirt sets for <acpi index='N'/> and that a guest reads
 * through the DSDT's _DSM function 7 (PCI Firmware spec 3.3, 4.6.7), which
 * asks the ACPI PCI hotplug block's PCI_AIDX register (AIDX method).
 *
 * Each test runs a script of QMP commands and port accesses and writes
 * down what came back, one line per step: the script's expectations are
 * QEMU 7.2's, and when qemu-system-x86_64 is installed the same script
 * runs under it (TCG, stopped) and the two transcripts must be equal.
 * Checked: the property's range and uniqueness errors (their order against
 * a slot conflict), qom-get/qom-set, the index held until the guest's
 * eject, PCI_AIDX (a write latches the lowest slot's index on the selected
 * bus, the read returns it once, other writes clear it, the newest
 * function of a slot wins), on pc at 0xae00 and q35 at 0x0cc0.
 */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include "libqvirtio.h"

/* One target: kvmpc, or QEMU 7.2 as the reference peer. */
typedef struct Env {
    QTestState *qts;
    QMPConn *qmp;
    char *dir;
    bool qemu;
} Env;

static void env_start(Env *e, const char *args, const char *qemu)
{
    g_autofree char *sock = NULL, *full = NULL;

    e->qemu = qemu != NULL;
    e->dir = g_dir_make_tmp(NULL, NULL);
    sock = g_build_filename(e->dir, "qmp.sock", NULL);
    full = g_strdup_printf("-nodefaults %s -qmp unix:%s,server=on,wait=off",
                           args, sock);
    e->qts = qemu ? qtest_init_qemu(qemu, full) : qtest_init(full);
    e->qmp = qmp_connect(sock);
    unlink(sock);
}

static void env_end(Env *e)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", e->dir);

    int status;

    qmp_close(e->qmp);
    status = qtest_quit(e->qts);
    if (!e->qemu) {
        g_assert_cmpint(status, ==, 0);
    }
    g_assert_cmpint(system(cmd), ==, 0);
    g_free(e->dir);
}

/* A QMP reply as one comparable line: "ok", "= VALUE" or "error: DESC". */
static char *reply_summary(const char *reply)
{
    const char *desc = strstr(reply, "\"desc\"");
    const char *ret = strstr(reply, "\"return\"");

    if (desc) {
        const char *start = strchr(desc + 6, '"') + 1;
        const char *end = strchr(start, '"');
        return g_strdup_printf("error: %.*s", (int)(end - start), start);
    }
    g_assert_nonnull(ret);
    ret = strchr(ret, ':') + 1;
    while (*ret == ' ') {
        ret++;
    }
    if (g_str_has_prefix(ret, "{}")) {
        return g_strdup("ok");
    }
    return g_strdup_printf("= %.*s", (int)strcspn(ret, "}"), ret);
}

/* One step: "qmp JSON", "outl PORT VALUE" or "inl PORT"; returns what it
 * gave ("" for a write).  Events are not compared: QEMU sends
 * DEVICE_DELETED after the eject's port write has returned. */
static char *run_step(Env *e, const char *step)
{
    if (g_str_has_prefix(step, "qmp ")) {
        g_autofree char *reply = qmp_cmd(e->qmp, step + 4);
        return reply_summary(reply);
    }
    if (g_str_has_prefix(step, "outl ")) {
        unsigned port, val;
        g_assert_cmpint(sscanf(step, "outl %x %x", &port, &val), ==, 2);
        qtest_outl(e->qts, port, val);
        return g_strdup("");
    }
    if (g_str_has_prefix(step, "inl ")) {
        unsigned port;
        g_assert_cmpint(sscanf(step, "inl %x", &port), ==, 1);
        return g_strdup_printf("0x%x", qtest_inl(e->qts, port));
    }
    /* narrower accesses, which the hotplug registers do not take */
    if (g_str_has_prefix(step, "inb ") || g_str_has_prefix(step, "inw ")) {
        unsigned port;
        g_assert_cmpint(sscanf(step + 4, "%x", &port), ==, 1);
        return g_strdup_printf("0x%x", step[2] == 'b'
                               ? qtest_inb(e->qts, port)
                               : qtest_inw(e->qts, port));
    }
    if (g_str_has_prefix(step, "outb ")) {
        unsigned port, val;
        g_assert_cmpint(sscanf(step, "outb %x %x", &port, &val), ==, 2);
        qtest_outb(e->qts, port, val);
        return g_strdup("");
    }
    g_error("bad step %s", step);
}

typedef struct Step {
    const char *op;
    const char *want;       /* QEMU 7.2's answer */
} Step;

/* The transcript of @steps on kvmpc (checked against each want) or on
 * QEMU (@qemu). */
static char *run_script(const char *args, const Step *steps, size_t n,
                        const char *qemu)
{
    GString *out = g_string_new(NULL);
    Env e;

    env_start(&e, args, qemu);
    for (size_t i = 0; i < n; i++) {
        g_autofree char *got = run_step(&e, steps[i].op);
        if (!qemu && strcmp(got, steps[i].want)) {
            g_error("%s\n  got  \"%s\"\n  want \"%s\"", steps[i].op, got,
                    steps[i].want);
        }
        g_string_append_printf(out, "%s -> %s\n", steps[i].op, got);
    }
    env_end(&e);
    return g_string_free(out, false);
}

/* Run @steps on kvmpc, then on QEMU 7.2 when it is installed: the same
 * transcript. */
static void check_script(const char *args, const Step *steps, size_t n)
{
    g_autofree char *qemu = g_find_program_in_path("qemu-system-x86_64");
    g_autofree char *ours = run_script(args, steps, n, NULL);
    g_autofree char *theirs = NULL;

    if (!qemu) {
        g_test_message("qemu-system-x86_64 not installed: not compared");
        return;
    }
    theirs = run_script(args, steps, n, qemu);
    if (strcmp(ours, theirs)) {
        g_error("transcript differs from QEMU 7.2's (%s):\n--- kvmpc\n%s"
                "--- QEMU\n%s", args, ours, theirs);
    }
}

#define ADD(drv, id, where, idx) \
    "qmp {\"execute\": \"device_add\", \"arguments\": {\"driver\": \"" drv \
    "\", \"id\": \"" id "\", " where ", \"acpi-index\": " idx "}}"
#define DUP(n)  "error: a PCI device with acpi-index = " n " already exist"
#define RANGE   "error: acpi-index should be less or equal to 16383"

/* pc: the property's rules through device_add, the index held until the
 * guest ejects the device (PCEJ: select bus 0, write the slot to B0EJ). */
static void test_rules_pc(void)
{
    static const Step steps[] = {
        { ADD("virtio-net-pci", "n1", "\"addr\": \"3\"", "5"), "ok" },
        { ADD("virtio-rng-pci", "r1", "\"addr\": \"4\"", "5"), DUP("5") },
        /* uniqueness and range come before the slot */
        { ADD("virtio-rng-pci", "r1", "\"addr\": \"3\"", "5"), DUP("5") },
        { ADD("virtio-rng-pci", "r1", "\"addr\": \"3\"", "16384"), RANGE },
        { ADD("virtio-rng-pci", "r1", "\"addr\": \"3\"", "6"),
          "error: PCI: slot 3 function 0 not available for virtio-rng-pci, "
          "in use by virtio-net-pci,id=n1" },
        { ADD("virtio-rng-pci", "r1", "\"addr\": \"4\"", "16383"), "ok" },
        { ADD("virtio-rng-pci", "r2", "\"bus\": \"br1\", \"addr\": \"2\"",
              "9"), "ok" },
        { ADD("virtio-rng-pci", "r3", "\"addr\": \"6\"", "0"), "ok" },
        { ADD("virtio-rng-pci", "r4", "\"addr\": \"7\"", "0"), "ok" },
        { "qmp {\"execute\": \"qom-get\", \"arguments\": {\"path\": \"r2\", "
          "\"property\": \"acpi-index\"}}", "= 9" },
        { "qmp {\"execute\": \"qom-get\", \"arguments\": {\"path\": \"r3\", "
          "\"property\": \"acpi-index\"}}", "= 0" },
        { "qmp {\"execute\": \"qom-set\", \"arguments\": {\"path\": \"r2\", "
          "\"property\": \"acpi-index\", \"value\": 11}}",
          "error: Attempt to set property 'acpi-index' on device 'r2' "
          "(type 'virtio-rng-pci') after it was realized" },
        /* device_del: n1 keeps 5 until the guest's eject */
        { "qmp {\"execute\": \"device_del\", \"arguments\": {\"id\": "
          "\"n1\"}}", "ok" },
        { ADD("virtio-rng-pci", "r5", "\"addr\": \"8\"", "5"), DUP("5") },
        { "outl ae10 0", "" },
        { "outl ae08 8", "" },
        { ADD("virtio-rng-pci", "r5", "\"addr\": \"8\"", "5"), "ok" },
    };

    check_script("-machine pc -device pci-bridge,id=br1,chassis_nr=1,"
                 "addr=5,shpc=off", steps, G_N_ELEMENTS(steps));
}

/* PCI_AIDX on pc: cold-plugged devices on pci.0 (a multifunction slot:
 * the function created last answers) and behind a bridge (BSEL 1), a
 * hot-plugged one. */
static void test_aidx_pc(void)
{
    static const Step steps[] = {
        { "outl ae10 0", "" },
        { "outl ae14 8", "" },      /* slot 3 */
        { "inl ae14", "0x5" },
        { "inl ae14", "0x0" },      /* the read clears it */
        { "outl ae14 18", "" },     /* slots 3 and 4: the lowest */
        { "inl ae14", "0x5" },
        { "outl ae14 10", "" },     /* slot 4: no index */
        { "inl ae14", "0x0" },
        { "outl ae14 40", "" },     /* slot 6: 6.1 (11) then 6.0 (10) */
        { "inl ae14", "0xa" },
        { "outl ae14 80", "" },     /* slot 7: 7.0 (12) then 7.1 (13) */
        { "inl ae14", "0xd" },
        { "outl ae14 0", "" },      /* no slot */
        { "inl ae14", "0x0" },
        { "outl ae14 8", "" },
        { "outl ae10 0", "" },      /* any other write clears it */
        { "inl ae14", "0x0" },
        { "outl ae14 8", "" },
        { "inl ae10", "0x0" },      /* a read does not */
        { "inl ae14", "0x5" },
        { "outl ae14 80000000", "" }, /* an empty slot */
        { "inl ae14", "0x0" },
        { "outl ae10 1", "" },      /* br1's bus */
        { "outl ae14 4", "" },
        { "inl ae14", "0x9" },
        { "outl ae14 8", "" },
        { "inl ae14", "0x0" },
        { "outl ae10 7", "" },      /* a selector without a bus */
        { "outl ae14 4", "" },
        { "inl ae14", "0x0" },
        { "outl ae10 12c", "" },    /* past the selectors */
        { "outl ae14 4", "" },
        { "inl ae14", "0x0" },
        { ADD("virtio-rng-pci", "h1", "\"bus\": \"br1\", \"addr\": \"9\"",
              "77"), "ok" },
        { "outl ae10 1", "" },
        { "outl ae14 200", "" },
        { "inl ae14", "0x4d" },
        /* byte and word accesses: 0, nothing cleared, writes dropped */
        { "outl ae10 0", "" },
        { "outl ae14 8", "" },
        { "inb ae14", "0x0" },
        { "inw ae14", "0x0" },
        { "inl ae14", "0x5" },
        { "outb ae10 1", "" },
        { "inl ae10", "0x0" },
    };

    check_script("-machine pc "
                 "-device virtio-net-pci,addr=3,acpi-index=5 "
                 "-device virtio-rng-pci,addr=4 "
                 "-device pci-bridge,id=br1,chassis_nr=1,addr=5,shpc=off "
                 "-device virtio-rng-pci,bus=br1,addr=2,acpi-index=9 "
                 "-device virtio-rng-pci,addr=6.1,acpi-index=11 "
                 "-device virtio-rng-pci,addr=6.0,multifunction=on,"
                 "acpi-index=10 "
                 "-device virtio-rng-pci,addr=7.0,multifunction=on,"
                 "acpi-index=12 "
                 "-device virtio-rng-pci,addr=7.1,acpi-index=13",
                 steps, G_N_ELEMENTS(steps));
}

/* With acpi-pci-hotplug-with-bridge-support=off (QEMU's legacy PIIX
 * block) the selector stays 0: pci.0 answers whatever was selected. */
static void test_aidx_pc_legacy(void)
{
    static const Step steps[] = {
        { "outl ae10 1", "" },
        { "outl ae14 8", "" },
        { "inl ae14", "0x5" },
    };

    check_script("-machine pc "
                 "-global PIIX4_PM.acpi-pci-hotplug-with-bridge-support=off "
                 "-device virtio-net-pci,addr=3,acpi-index=5",
                 steps, G_N_ELEMENTS(steps));
}

/* q35: the ICH9 block at 0x0cc0; root ports' links (slot 0) and a
 * bridge's bus; pcie.0 has no selector.  Cold plug takes an index on any
 * bus, as QEMU 7.2 (pcie.0 here: the guest has no _DSM for it). */
static void test_aidx_q35(void)
{
    static const Step steps[] = {
        { "outl cd0 0", "" },       /* rp2, the newest port */
        { "outl cd4 1", "" },
        { "inl cd4", "0x4" },
        { "outl cd0 2", "" },       /* rp1 */
        { "outl cd4 1", "" },
        { "inl cd4", "0x3" },
        { ADD("virtio-rng-pci", "h1", "\"bus\": \"br1\", \"addr\": \"3\"",
              "6"), "ok" },
        { ADD("virtio-rng-pci", "h2", "\"bus\": \"br1\", \"addr\": \"4\"",
              "7"), DUP("7") },
        { "outl cd0 1", "" },       /* br1 */
        { "outl cd4 8", "" },
        { "inl cd4", "0x6" },
    };

    check_script("-machine q35 "
                 "-device pcie-root-port,id=rp1,chassis=1,addr=4 "
                 "-device pci-bridge,id=br1,addr=5,chassis_nr=2,shpc=off "
                 "-device pcie-root-port,id=rp2,chassis=3,addr=6 "
                 "-device virtio-rng-pci,bus=rp1,acpi-index=3 "
                 "-device virtio-rng-pci,bus=rp2,acpi-index=4 "
                 "-device virtio-rng-pci,addr=7,acpi-index=7",
                 steps, G_N_ELEMENTS(steps));
}

/* The command line: kvmpc fails with QEMU 7.2's words (after its own
 * "kvmpc: -device: " prefix), and accepts an index on buses without ACPI
 * PCI hotplug, as QEMU does. */
static void assert_cmdline_fails(const char *args, const char *msg)
{
    g_autofree char *cmd = g_strdup_printf(
        "%s -accel qtest -nodefaults "
        "-display none -S %s", qtest_kvmpc_binary(), args);
    g_autofree char *out = NULL, *err = NULL;
    int status;

    g_assert_true(g_spawn_command_line_sync(cmd, &out, &err, &status,
                                            NULL));
    g_assert_cmpint(status, !=, 0);
    if (!strstr(err, msg)) {
        g_error("%s: stderr lacks \"%s\":\n%s", args, msg, err);
    }
}

static void test_cmdline(void)
{
    static const char *const accepted[] = {
        "-machine q35 -device virtio-rng-pci,acpi-index=5",
        "-machine q35 -global ICH9-LPC.acpi-pci-hotplug-with-bridge-"
        "support=off -device pcie-root-port,id=rp1,chassis=1 "
        "-device virtio-rng-pci,bus=rp1,acpi-index=5",
        "-machine pc -global PIIX4_PM.acpi-root-pci-hotplug=off "
        "-device virtio-rng-pci,acpi-index=16383",
        "-machine pc -device virtio-rng-pci,acpi-index=0x10",
    };

    assert_cmdline_fails("-machine pc -device virtio-rng-pci,"
                         "acpi-index=16384",
                         "acpi-index should be less or equal to 16383");
    assert_cmdline_fails("-machine pc -device virtio-rng-pci,acpi-index=5 "
                         "-device virtio-net-pci,acpi-index=5",
                         "a PCI device with acpi-index = 5 already exist");
    assert_cmdline_fails("-machine q35 -global virtio-rng-pci.acpi-index=2 "
                         "-device virtio-rng-pci -device virtio-rng-pci",
                         "a PCI device with acpi-index = 2 already exist");
    for (size_t i = 0; i < G_N_ELEMENTS(accepted); i++) {
        QTestState *s = qtest_init(accepted[i]);
        g_assert_cmpint(qtest_quit(s), ==, 0);
    }
}

/*
 * A device whose realize fails does not keep its index: QEMU 7.2 does
 * (its list of used indexes is filled before the device's own realize and
 * not emptied when that fails, so a second device_add with the index is
 * refused); kvmpc's record is the list of realized devices.  Not compared.
 */
static void test_failed_realize_frees(void)
{
    Env e;

    env_start(&e, "-machine pc", NULL);
    qmp_assert_error(e.qmp, ADD("virtio-blk-pci", "b1", "\"addr\": \"6\"",
                                "7") + 4, "drive");
    qmp_assert_ok(e.qmp, ADD("virtio-rng-pci", "r1", "\"addr\": \"6\"",
                             "7") + 4);
    env_end(&e);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/acpi-index/rules-pc", test_rules_pc);
    g_test_add_func("/acpi-index/aidx-pc", test_aidx_pc);
    g_test_add_func("/acpi-index/aidx-pc-legacy", test_aidx_pc_legacy);
    g_test_add_func("/acpi-index/aidx-q35", test_aidx_q35);
    g_test_add_func("/acpi-index/cmdline", test_cmdline);
    g_test_add_func("/acpi-index/failed-realize-frees",
                    test_failed_realize_frees);
    return g_test_run();
}

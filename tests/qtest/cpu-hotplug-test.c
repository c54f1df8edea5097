/*
 * ACPI CPU hotplug (docs/cpu.md, "CPU hotplug"): device_add/device_del of
 * CPUs over QMP and the modern register block (hw/acpi/cpu-hotplug.c) at
 * 0xaf00 (pc) and 0x0cd8 (q35), with GPE0 bit 2 and the SCI.  The test
 * plays the guest's AML (\_SB.CPUS.CSCN, CSTA, COST, CEJ0): select a
 * slot, read its flags, "get next CPU with event", read the APIC ID,
 * clear events, write _OST, eject.  Plus QEMU 7.2's errors and the query
 * outputs.  Under qtest no vCPU runs: the CPU device and its slot exist.
 */
#include "libqvirtio.h"

#define PC_CPUHP        0xaf00
#define Q35_CPUHP       0x0cd8
#define CPUHP_SEL       0x00
#define CPUHP_DATA2     0x00
#define CPUHP_FLAGS     0x04
#define CPUHP_CMD       0x05
#define CPUHP_DATA      0x08
#define F_ENABLED       0x01
#define F_INSERT        0x02
#define F_REMOVE        0x04
#define F_EJECT         0x08
#define CMD_GET_NEXT    0
#define CMD_OST_EVENT   1
#define CMD_OST_STATUS  2
#define CMD_GET_ID      3
#define GPE_CPUHP       0x04
#define SCI_GSI         9

typedef struct Env {
    QTestState *qts;
    QMPConn *qmp;
    char *dir;
    uint16_t base, gpe_sts, gpe_en;
} Env;

static void env_start(Env *e, bool q35, const char *extra)
{
    g_autofree char *sock = NULL, *args = NULL;

    e->dir = g_dir_make_tmp("kvmpc-cpuhp-XXXXXX", NULL);
    sock = g_build_filename(e->dir, "qmp.sock", NULL);
    args = g_strdup_printf("-machine %s -nodefaults -cpu qemu64 %s "
                           "-qmp unix:%s,server=on,wait=off",
                           q35 ? "q35" : "pc", extra, sock);
    e->qts = qtest_init(args);
    e->qmp = qmp_connect(sock);
    unlink(sock);
    e->base = q35 ? Q35_CPUHP : PC_CPUHP;
    /* GPE0: PIIX4 at 0xafe0; ICH9 in the PM block (0x600 + 0x20). */
    e->gpe_sts = q35 ? 0x620 : 0xafe0;
    e->gpe_en = q35 ? 0x628 : 0xafe2;
    qtest_irq_intercept_in(e->qts, "ioapic");
    if (q35) {
        /* ICH9: firmware programs PMBASE and ACPI_CNTL (ACPI_EN). */
        qtest_outl(e->qts, 0xcf8, 0x8000f840);
        qtest_outl(e->qts, 0xcfc, 0x601);
        qtest_outl(e->qts, 0xcf8, 0x8000f844);
        qtest_outb(e->qts, 0xcfc, 0x80);
        qtest_outb(e->qts, 0xb2, 0x02);     /* ACPI enable: SCI_EN */
    }
    qtest_outb(e->qts, e->gpe_en, GPE_CPUHP);
}

static void env_end(Env *e)
{
    qmp_close(e->qmp);
    g_assert_cmpint(qtest_quit(e->qts), ==, 0);
    g_assert_cmpint(rmdir(e->dir), ==, 0);
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

static void add_cpu(Env *e, const char *model, const char *id,
                    const char *topo)
{
    g_autofree char *cmd = g_strdup_printf(
        "{\"execute\": \"device_add\", \"arguments\": {\"driver\": "
        "\"%s-x86_64-cpu\", \"id\": \"%s\", %s}}", model, id, topo);
    g_free(qmp_ok(e, cmd));
}

static uint8_t flags_of(Env *e, uint32_t slot)
{
    qtest_outl(e->qts, e->base + CPUHP_SEL, slot);
    return qtest_inb(e->qts, e->base + CPUHP_FLAGS);
}

static uint64_t apic_id_of(Env *e, uint32_t slot)
{
    qtest_outl(e->qts, e->base + CPUHP_SEL, slot);
    qtest_outb(e->qts, e->base + CPUHP_CMD, CMD_GET_ID);
    return qtest_inl(e->qts, e->base + CPUHP_DATA) |
           (uint64_t)qtest_inl(e->qts, e->base + CPUHP_DATA2) << 32;
}

/* Command 0 from the current selector: the slot it selected. */
static uint32_t next_event(Env *e)
{
    qtest_outb(e->qts, e->base + CPUHP_CMD, CMD_GET_NEXT);
    return qtest_inl(e->qts, e->base + CPUHP_DATA);
}

/* The guest's _E02: GPE status bit 2 with the SCI, then clear it. */
static void assert_gpe_and_ack(Env *e)
{
    g_assert_cmphex(qtest_inb(e->qts, e->gpe_sts) & GPE_CPUHP, ==,
                    GPE_CPUHP);
    g_assert_true(qtest_get_irq(e->qts, SCI_GSI));
    qtest_outb(e->qts, e->gpe_sts, GPE_CPUHP);
    g_assert_false(qtest_get_irq(e->qts, SCI_GSI));
}

/* pc, -smp 1,maxcpus=4 (1 socket of 4 cores, as QEMU 7.2 fills cores
 * first): add core 2, find it through the
 * event, clear it, _OST, unplug, eject. */
static void test_pc_plug_unplug(void)
{
    Env e;
    char *ev, *r;

    env_start(&e, false, "-smp 1,maxcpus=4");
    g_assert_cmphex(flags_of(&e, 0), ==, F_ENABLED);
    g_assert_cmphex(flags_of(&e, 2), ==, 0);
    g_assert_cmphex(apic_id_of(&e, 2), ==, 2);
    g_assert_cmphex(apic_id_of(&e, 3), ==, 3);
    g_assert_false(qtest_get_irq(e.qts, SCI_GSI));

    add_cpu(&e, "qemu64", "cpu2",
            "\"socket-id\": 0, \"core-id\": 2, \"thread-id\": 0");
    assert_gpe_and_ack(&e);
    /* CSCN: from selector 0 the next event is slot 2's insert. */
    qtest_outl(e.qts, e.base + CPUHP_SEL, 0);
    g_assert_cmpuint(next_event(&e), ==, 2);
    g_assert_cmphex(qtest_inb(e.qts, e.base + CPUHP_FLAGS), ==,
                    F_ENABLED | F_INSERT);
    qtest_outb(e.qts, e.base + CPUHP_FLAGS, F_INSERT);
    g_assert_cmphex(qtest_inb(e.qts, e.base + CPUHP_FLAGS), ==, F_ENABLED);
    /* No event left: the selector stays. */
    qtest_outl(e.qts, e.base + CPUHP_SEL, 1);
    g_assert_cmpuint(next_event(&e), ==, 1);

    r = qmp_ok(&e, "{\"execute\": \"query-hotpluggable-cpus\"}");
    g_assert_nonnull(strstr(r, "\"qom-path\": \"/machine/peripheral/cpu2\""));
    g_assert_nonnull(strstr(r, "\"type\": \"qemu64-x86_64-cpu\""));
    g_free(r);
    r = qmp_ok(&e, "{\"execute\": \"human-monitor-command\", \"arguments\":"
               " {\"command-line\": \"info hotpluggable-cpus\"}}");
    g_assert_nonnull(strstr(r, "Hotpluggable CPUs:"));
    g_assert_nonnull(strstr(r, "qom_path: \\\"/machine/peripheral/cpu2\\\""));
    g_assert_nonnull(strstr(r, "core-id: \\\"3\\\""));
    g_free(r);
    r = qmp_ok(&e, "{\"execute\": \"qom-list\", \"arguments\": "
               "{\"path\": \"/machine/peripheral\"}}");
    g_assert_nonnull(strstr(r, "\"name\": \"cpu2\""));
    g_free(r);
    g_free(qmp_events_now(e.qmp));

    /* device_del: a remove event; the CPU stays until the eject. */
    g_free(qmp_ok(&e, "{\"execute\": \"device_del\", \"arguments\": "
                  "{\"id\": \"cpu2\"}}"));
    assert_gpe_and_ack(&e);
    qtest_outl(e.qts, e.base + CPUHP_SEL, 3);
    g_assert_cmpuint(next_event(&e), ==, 2);
    g_assert_cmphex(qtest_inb(e.qts, e.base + CPUHP_FLAGS), ==,
                    F_ENABLED | F_REMOVE);
    qmp_assert_error(e.qmp, "{\"execute\": \"device_del\", \"arguments\": "
              "{\"id\": \"cpu2\"}}", "already in the process of unplug");
    ev = qmp_events_now(e.qmp);
    g_assert_null(strstr(ev, "DEVICE_DELETED"));
    g_free(ev);
    /* _OST(0x103 eject request, 0x80 "in progress") -> ACPI_DEVICE_OST */
    qtest_outb(e.qts, e.base + CPUHP_CMD, CMD_OST_EVENT);
    qtest_outl(e.qts, e.base + CPUHP_DATA, 0x103);
    qtest_outb(e.qts, e.base + CPUHP_CMD, CMD_OST_STATUS);
    qtest_outl(e.qts, e.base + CPUHP_DATA, 0x80);
    ev = qmp_events_now(e.qmp);
    g_assert_nonnull(strstr(ev, "\"ACPI_DEVICE_OST\""));
    g_assert_nonnull(strstr(ev, "\"slot\": \"2\""));
    g_assert_nonnull(strstr(ev, "\"slot-type\": \"CPU\""));
    g_assert_nonnull(strstr(ev, "\"source\": 259"));
    g_assert_nonnull(strstr(ev, "\"status\": 128"));
    g_assert_nonnull(strstr(ev, "\"device\": \"cpu2\""));
    g_free(ev);
    /* CEJ0 */
    qtest_outb(e.qts, e.base + CPUHP_FLAGS, F_REMOVE);
    qtest_outb(e.qts, e.base + CPUHP_FLAGS, F_EJECT);
    ev = qmp_events_now(e.qmp);
    g_assert_nonnull(strstr(ev, "\"DEVICE_DELETED\""));
    g_assert_nonnull(strstr(ev, "/machine/peripheral/cpu2"));
    g_free(ev);
    g_assert_cmphex(flags_of(&e, 2), ==, 0);
    r = qmp_ok(&e, "{\"execute\": \"query-hotpluggable-cpus\"}");
    g_assert_null(strstr(r, "peripheral/cpu2"));
    g_free(r);
    /* The slot is free again: the same id and slot plug again. */
    add_cpu(&e, "qemu64", "cpu2",
            "\"socket-id\": 0, \"core-id\": 2, \"thread-id\": 0");
    g_assert_cmphex(flags_of(&e, 2), ==, F_ENABLED | F_INSERT);
    env_end(&e);
}

/* QEMU 7.2's refusals. */
static void test_errors(void)
{
    Env e;
    static const char add[] = "{\"execute\": \"device_add\", \"arguments\": "
                              "{\"driver\": \"%s\", \"id\": \"c\"%s}}";
    struct { const char *driver, *props, *msg; } cases[] = {
        { "qemu64-x86_64-cpu", ", \"socket-id\": 0, \"core-id\": 0, "
          "\"thread-id\": 0", "CPU[0] with APIC ID 0 exists" },
        { "kvm64-x86_64-cpu", ", \"socket-id\": 1, \"core-id\": 0, "
          "\"thread-id\": 0",
          "Invalid CPU type, expected cpu type: 'qemu64-x86_64-cpu'" },
        { "qemu64-x86_64-cpu", ", \"socket-id\": 2, \"core-id\": 0, "
          "\"thread-id\": 0", "Invalid CPU socket-id: 2 must be in range "
          "0:1" },
        { "qemu64-x86_64-cpu", ", \"socket-id\": 1, \"core-id\": 2, "
          "\"thread-id\": 0", "Invalid CPU core-id: 2 must be in range 0:1" },
        { "qemu64-x86_64-cpu", ", \"socket-id\": 1, \"core-id\": 0",
          "CPU thread-id is not set" },
        { "qemu64-x86_64-cpu", ", \"core-id\": 0, \"thread-id\": 0",
          "CPU socket-id is not set" },
        { "qemu64-x86_64-cpu", ", \"socket-id\": -5, \"core-id\": 0, "
          "\"thread-id\": 0", "CPU socket-id is not set" },
        { "qemu64-x86_64-cpu", ", \"socket-id\": 1, \"core-id\": 0, "
          "\"thread-id\": 0, \"die-id\": 1",
          "Invalid CPU die-id: 1 must be in range 0:0" },
        { "x86_64-cpu", "", "is not a valid device model name" },
    };

    /* 2 sockets x 2 cores: slots 0-3, CPUs 0 and 1 at boot. */
    env_start(&e, false, "-smp 2,sockets=2,cores=2,maxcpus=4");
    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *cmd = g_strdup_printf(add, cases[i].driver,
                                               cases[i].props);
        qmp_assert_error(e.qmp, cmd, cases[i].msg);
    }
    g_assert_false(qtest_get_irq(e.qts, SCI_GSI));
    add_cpu(&e, "qemu64", "c3",
            "\"socket-id\": 1, \"core-id\": 1, \"thread-id\": 0");
    /* slot 3 has APIC ID 3 (socket 1 core 1) */
    g_assert_cmphex(apic_id_of(&e, 3), ==, 3);
    qmp_assert_error(e.qmp, "{\"execute\": \"device_add\", \"arguments\": "
              "{\"driver\": \"qemu64-x86_64-cpu\", \"id\": \"c4\", "
              "\"socket-id\": 1, \"core-id\": 1, \"thread-id\": 0}}",
              "CPU[3] with APIC ID 3 exists");
    /* A selector past the slots reads 0 and ejects nothing. */
    qtest_outl(e.qts, e.base + CPUHP_SEL, 0x10000);
    g_assert_cmphex(qtest_inb(e.qts, e.base + CPUHP_FLAGS), ==, 0);
    g_assert_cmphex(qtest_inl(e.qts, e.base + CPUHP_DATA), ==, 0);
    qtest_outb(e.qts, e.base + CPUHP_FLAGS, F_EJECT | F_INSERT);
    g_assert_cmphex(flags_of(&e, 3), ==, F_ENABLED | F_INSERT);
    /* The eject of a boot CPU (no device) leaves it. */
    qtest_outl(e.qts, e.base + CPUHP_SEL, 1);
    qtest_outb(e.qts, e.base + CPUHP_FLAGS, F_EJECT);
    g_assert_cmphex(flags_of(&e, 1), ==, F_ENABLED);
    env_end(&e);
}

/* q35 at 0x0cd8, a cold-plugged -device CPU, and a removal the guest
 * never acknowledged completing at reset. */
static void test_q35_coldplug_reset(void)
{
    Env e;
    char *ev, *r;

    env_start(&e, true, "-smp 1,maxcpus=3 -device qemu64-x86_64-cpu,"
              "id=cold,socket-id=0,core-id=2,thread-id=0");
    g_assert_cmphex(flags_of(&e, 0), ==, F_ENABLED);
    g_assert_cmphex(flags_of(&e, 1), ==, 0);
    /* cold-plugged: present, no event */
    g_assert_cmphex(flags_of(&e, 2), ==, F_ENABLED);
    g_assert_cmphex(apic_id_of(&e, 2), ==, 2);
    r = qmp_ok(&e, "{\"execute\": \"query-hotpluggable-cpus\"}");
    g_assert_nonnull(strstr(r, "/machine/peripheral/cold"));
    g_free(r);
    add_cpu(&e, "qemu64", "hot",
            "\"socket-id\": 0, \"core-id\": 1, \"thread-id\": 0");
    assert_gpe_and_ack(&e);
    g_assert_cmphex(flags_of(&e, 1), ==, F_ENABLED | F_INSERT);
    g_free(qmp_events_now(e.qmp));
    g_free(qmp_ok(&e, "{\"execute\": \"device_del\", \"arguments\": "
                  "{\"id\": \"cold\"}}"));
    assert_gpe_and_ack(&e);
    g_assert_cmphex(flags_of(&e, 2), ==, F_ENABLED | F_REMOVE);
    g_free(qmp_ok(&e, "{\"execute\": \"system_reset\"}"));
    ev = qmp_events_now(e.qmp);
    g_assert_nonnull(strstr(ev, "/machine/peripheral/cold"));
    g_free(ev);
    g_assert_cmphex(flags_of(&e, 2), ==, 0);
    /* events clear at reset, the hot-added CPU stays */
    g_assert_cmphex(flags_of(&e, 1), ==, F_ENABLED);
    env_end(&e);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/cpuhp/pc-plug-unplug", test_pc_plug_unplug);
    g_test_add_func("/cpuhp/errors", test_errors);
    g_test_add_func("/cpuhp/q35-coldplug-reset", test_q35_coldplug_reset);
    return g_test_run();
}

/*
 * What a guest sees under a versioned machine type must not change once
 * the version is released: for pc-i440fx-7.2 and pc-q35-7.2 (default
 * devices, -smp 2, -m 512, -vga std) this test records the PCI
 * configuration space of every function on bus 0 (as after reset) and the
 * fw_cfg files the firmware builds the guest's tables from (the ACPI
 * tables, RSDP and table-loader script, e820, system states) in a golden
 * file under tests/data/machine-abi/, and fails on any difference, naming
 * the first line that moved.
 *
 * An intended change to a version that is not released yet: rerun with
 * KVMPC_ABI_UPDATE=1 to rewrite the file, and review its diff.  A change
 * to a released version needs a new machine version instead.
 * SMBIOS and CPUID carry host facts (the host CPU's signature) and are
 * left out, and the CPU model is pinned to qemu64: kvmpc's default is
 * `host`, whose vendor decides whether e820 reserves AMD's HyperTransport
 * window (the golden files were once written on an AMD host and failed
 * on an Intel one).
 */
#include "fw-cfg-util.h"
#include "chipset/pci-helpers.h"

#define ROW_BYTES   32

typedef struct MachineABI {
    const char *machine;
    const char *args;
} MachineABI;

static const MachineABI machines[] = {
    { "pc-i440fx-7.2", "-machine pc-i440fx-7.2 -vga std -smp 2 -m 512 -cpu qemu64" },
    { "pc-q35-7.2", "-machine pc-q35-7.2 -vga std -smp 2 -m 512 -cpu qemu64" },
};

static const char *const fw_cfg_files[] = {
    "etc/acpi/tables", "etc/acpi/rsdp", "etc/table-loader", "etc/e820",
    "etc/system-states",
};

static void append_hex(GString *out, const char *what, const uint8_t *data,
                       size_t len)
{
    g_string_append_printf(out, "%s size %zu\n", what, len);
    for (size_t off = 0; off < len; off += ROW_BYTES) {
        g_string_append_printf(out, "%s +%04zx:", what, off);
        for (size_t i = off; i < len && i < off + ROW_BYTES; i++) {
            g_string_append_printf(out, " %02x", data[i]);
        }
        g_string_append_c(out, '\n');
    }
}

static char *describe(const MachineABI *m)
{
    QTestState *s = qtest_init(m->args);
    GString *out = g_string_new(NULL);

    g_string_append_printf(out, "# guest ABI of %s (%s)\n# written by "
                           "tests/qtest/firmware/machine-abi-test.c, "
                           "KVMPC_ABI_UPDATE=1 rewrites it\n",
                           m->machine, m->args);
    for (unsigned devfn = 0; devfn < 256; devfn++) {
        uint8_t cfg[256];
        g_autofree char *what = NULL;

        if (cfg_readl(s, devfn, 0) == 0xffffffff) {
            continue;
        }
        for (unsigned reg = 0; reg < 256; reg += 4) {
            stl_le(cfg + reg, cfg_readl(s, devfn, reg));
        }
        what = g_strdup_printf("pci 00:%02x.%x", devfn >> 3, devfn & 7);
        append_hex(out, what, cfg, sizeof(cfg));
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(fw_cfg_files); i++) {
        size_t len = 0;
        g_autofree uint8_t *data = fw_cfg_get_file(s, fw_cfg_files[i], &len);
        g_autofree char *what = g_strdup_printf("fw_cfg %s", fw_cfg_files[i]);

        g_assert_nonnull(data);
        append_hex(out, what, data, len);
    }
    qtest_quit(s);
    return g_string_free(out, false);
}

static void report_first_difference(const char *want, const char *got)
{
    g_auto(GStrv) a = g_strsplit(want, "\n", -1);
    g_auto(GStrv) b = g_strsplit(got, "\n", -1);

    for (unsigned i = 0; a[i] || b[i]; i++) {
        if (!a[i] || !b[i] || strcmp(a[i], b[i])) {
            g_error("guest ABI changed at line %u:\n  golden: %s\n  now:    %s"
                    "\n(KVMPC_ABI_UPDATE=1 rewrites the golden file if the "
                    "version is not released yet)", i + 1,
                    a[i] ? a[i] : "(end)", b[i] ? b[i] : "(end)");
        }
    }
}

static void test_machine(gconstpointer opaque)
{
    const MachineABI *m = opaque;
    g_autofree char *path = g_strdup_printf("%s/%s.txt", MACHINE_ABI_DIR,
                                            m->machine);
    g_autofree char *now = describe(m);
    g_autofree char *golden = NULL;
    g_autofree char *again = NULL;

    if (getenv("KVMPC_ABI_UPDATE")) {
        g_assert(g_file_set_contents(path, now, -1, NULL));
        g_test_message("wrote %s", path);
        return;
    }
    if (!g_file_get_contents(path, &golden, NULL, NULL)) {
        g_error("%s is missing (KVMPC_ABI_UPDATE=1 writes it)", path);
    }
    report_first_difference(golden, now);
    /* And it is deterministic: a second start gives the same. */
    again = describe(m);
    report_first_difference(now, again);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (unsigned i = 0; i < G_N_ELEMENTS(machines); i++) {
        g_autofree char *name = g_strdup_printf("/machine-abi/%s",
                                                machines[i].machine);
        g_test_add_data_func(name, &machines[i], test_machine);
    }
    return g_test_run();
}

/*
 * -machine properties: the table of every key a machine type takes, as
 * QEMU 7.2 names them ("qemu-system-x86_64 -machine pc,help"), checked
 * and applied once the machine type is known.
 *
 * Each key is one of:
 *   - applied here (acpi, hpet, i8042, vmport, mem-merge, kernel/initrd/append/
 *     firmware) or by the code that reads it from ms->props (graphics,
 *     smbios-entry-point-type, pcspk-audiodev), after its value is checked
 *     here;
 *   - handled by system/main.c while parsing (type, accel, kernel-irqchip,
 *     memory-backend, dump-guest-core, usb, firmware-boot): listed here for
 *     "help" and so that the unknown-key check knows them;
 *   - something kvmpc does not model (SMM, max-ram-below-4g, ...):
 *     its default value is accepted, since management tools pass defaults
 *     explicitly, and any other value is refused naming what is missing.
 * Any other key gets QEMU's "Property 'TYPE-machine.KEY' not found".
 * The generic keys exist on every machine (none too); the x86 ones only on
 * the pc-* machines.  docs/options.md lists them.
 */
#include "qemu/osdep.h"
#include "hw/boards.h"

typedef enum {
    MP_BOOL,
    MP_ONOFFAUTO,
    MP_STRING,
    MP_SIZE,
} MachinePropKind;

typedef struct MachineProp MachineProp;
struct MachineProp {
    const char *name;
    const char *type;           /* as "help" shows it: bool, OnOffAuto... */
    const char *desc;
    MachinePropKind kind;
    bool x86;                   /* only on the pc-* machines */
    /* Applies a checked value; NULL: someone else reads or parsed it. */
    bool (*apply)(MachineState *ms, const MachineProp *p, const char *v,
                  GError **errp);
    /* For a key kvmpc does not model: the one value it accepts, and why
     * nothing else is. */
    const char *only_value;
    const char *why_not;
};

static bool on_off_auto(const char *v, const char *key, int *out,
                        GError **errp)
{
    bool b;

    if (!strcmp(v, "auto")) {
        *out = -1;
        return true;
    }
    if (!parse_bool(v, &b, NULL)) {
        error_setg(errp, "Parameter '%s' does not accept value '%s'", key, v);
        return false;
    }
    *out = b;
    return true;
}

static bool check_value(const MachineProp *p, const char *v, GError **errp)
{
    uint64_t size;
    bool b;
    int t;

    switch (p->kind) {
    case MP_BOOL:
        if (!parse_bool(v, &b, NULL)) {
            error_setg(errp, "Parameter '%s' expects 'on' or 'off'", p->name);
            return false;
        }
        return true;
    case MP_ONOFFAUTO:
        return on_off_auto(v, p->name, &t, errp);
    case MP_SIZE:
        if (!parse_size(v, 1, &size, NULL)) {
            error_setg(errp, "Parameter '%s' expects a size", p->name);
            return false;
        }
        return true;
    case MP_STRING:
        return true;
    }
    return true;
}

/* "on", "yes", "true"... all mean the same: compare meanings. */
static bool same_value(const MachineProp *p, const char *a, const char *b)
{
    bool x, y;
    uint64_t s, t;

    switch (p->kind) {
    case MP_BOOL:
        return parse_bool(a, &x, NULL) && parse_bool(b, &y, NULL) && x == y;
    case MP_ONOFFAUTO:
        if (!strcmp(a, "auto") || !strcmp(b, "auto")) {
            return !strcmp(a, b);
        }
        return parse_bool(a, &x, NULL) && parse_bool(b, &y, NULL) && x == y;
    case MP_SIZE:
        return parse_size(a, 1, &s, NULL) && parse_size(b, 1, &t, NULL) &&
               s == t;
    case MP_STRING:
        return !strcmp(a, b);
    }
    return false;
}

static bool apply_acpi(MachineState *ms, const MachineProp *p, const char *v,
                       GError **errp)
{
    int t;

    if (!on_off_auto(v, p->name, &t, errp)) {
        return false;
    }
    ms->acpi = t != 0;              /* auto: on, as QEMU on x86 */
    return true;
}

static bool apply_bool_field(bool *field, const char *v)
{
    return parse_bool(v, field, NULL);
}

static bool apply_hpet(MachineState *ms, const MachineProp *p, const char *v,
                       GError **errp)
{
    (void)p; (void)errp;
    return apply_bool_field(&ms->enable_hpet, v);
}

static bool apply_i8042(MachineState *ms, const MachineProp *p, const char *v,
                        GError **errp)
{
    (void)p; (void)errp;
    return apply_bool_field(&ms->i8042, v);
}

static bool apply_vmport(MachineState *ms, const MachineProp *p,
                         const char *v, GError **errp)
{
    int t;

    if (!on_off_auto(v, p->name, &t, errp)) {
        return false;
    }
    ms->vmport = t != 0;            /* auto: on, as QEMU away from Xen */
    return true;
}

static bool apply_mem_merge(MachineState *ms, const MachineProp *p,
                            const char *v, GError **errp)
{
    (void)p; (void)errp;
    return apply_bool_field(&ms->mem_merge, v);
}

/* kernel=, initrd=, append=, firmware=: the same as -kernel, -initrd,
 * -append and -bios (the machine property wins, as in QEMU the last
 * setting does). */
static bool apply_string_field(MachineState *ms, const MachineProp *p,
                               const char *v, GError **errp)
{
    char **field = !strcmp(p->name, "kernel") ? &ms->kernel_filename :
                   !strcmp(p->name, "initrd") ? &ms->initrd_filename :
                   !strcmp(p->name, "append") ? &ms->kernel_cmdline :
                   &ms->firmware;

    (void)errp;
    g_free(*field);
    *field = g_strdup(v);
    return true;
}

#define BUILT_IN(n, t, d, k, x) { .name = n, .type = t, .desc = d, \
                                  .kind = k, .x86 = x }
#define APPLIED(n, t, d, k, x, fn) { .name = n, .type = t, .desc = d, \
                                     .kind = k, .x86 = x, .apply = fn }
#define NOT_MODELLED(n, t, d, k, x, only, why) \
    { .name = n, .type = t, .desc = d, .kind = k, .x86 = x, \
      .only_value = only, .why_not = why }

static const MachineProp machine_props[] = {
    /* parsed by system/main.c */
    BUILT_IN("accel", "string", "Accelerator list (kvmpc: kvm, qtest)",
             MP_STRING, false),
    BUILT_IN("dump-guest-core", "bool", "Include guest memory in a core dump",
             MP_BOOL, false),
    BUILT_IN("firmware-boot", "bool",
             "kvmpc: boot -kernel through the firmware", MP_BOOL, false),
    BUILT_IN("kernel-irqchip", "OnOffSplit",
             "Configure KVM in-kernel irqchip", MP_STRING, false),
    BUILT_IN("kernel_irqchip", "OnOffSplit",
             "Configure KVM in-kernel irqchip", MP_STRING, false),
    BUILT_IN("memory-backend", "link<memory-backend>",
             "Set RAM backendValid value is ID of hostmem based backend",
             MP_STRING, false),
    BUILT_IN("type", "string", "Machine type", MP_STRING, false),
    BUILT_IN("usb", "bool", "Set on/off to enable/disable usb", MP_BOOL,
             false),
    /* read where they are used, checked here */
    BUILT_IN("graphics", "bool",
             "Set on/off to enable/disable graphics emulation", MP_BOOL,
             false),
    BUILT_IN("pcspk-audiodev", "str", "Audiodev to use for default machine "
             "devices", MP_STRING, true),
    BUILT_IN("smbios-entry-point-type", "str", "SMBIOS Entry Point type "
             "[32, 64]", MP_STRING, true),
    /* applied here */
    APPLIED("acpi", "OnOffAuto", "Enable ACPI", MP_ONOFFAUTO, true,
            apply_acpi),
    APPLIED("append", "string", "Linux kernel command line", MP_STRING,
            false, apply_string_field),
    APPLIED("firmware", "string", "Firmware image", MP_STRING, false,
            apply_string_field),
    APPLIED("hpet", "bool", "Enable/disable high precision event timer "
            "emulation", MP_BOOL, true, apply_hpet),
    APPLIED("i8042", "bool", "Enable/disable the i8042 keyboard "
            "controller", MP_BOOL, true, apply_i8042),
    APPLIED("vmport", "OnOffAuto", "Enable vmport (pc & q35)",
            MP_ONOFFAUTO, true, apply_vmport),
    APPLIED("initrd", "string", "Linux initial ramdisk file", MP_STRING,
            false, apply_string_field),
    APPLIED("kernel", "string", "Linux kernel image file", MP_STRING, false,
            apply_string_field),
    APPLIED("mem-merge", "bool", "Enable/disable memory merge support",
            MP_BOOL, false, apply_mem_merge),
    /* not modelled: the default only */
    NOT_MODELLED("suppress-vmdesc", "bool", "Set on to disable "
                 "self-describing migration", MP_BOOL, false, NULL, NULL),
    NOT_MODELLED("default-bus-bypass-iommu", "bool", "", MP_BOOL, false,
                 "off", "kvmpc has no IOMMU"),
    NOT_MODELLED("confidential-guest-support", "link<confidential-guest-"
                 "support>", "Set confidential guest scheme to support",
                 MP_STRING, false, "", "kvmpc has no SEV or TDX support"),
    NOT_MODELLED("memory-encryption", "string", "Set memory encryption "
                 "object to use", MP_STRING, false, "",
                 "kvmpc has no SEV or TDX support"),
    NOT_MODELLED("max-ram-below-4g", "size", "Maximum ram below the 4G "
                 "boundary (32bit boundary)", MP_SIZE, true, "0",
                 "kvmpc's RAM layout below 4 GiB is fixed"),
    NOT_MODELLED("pic", "OnOffAuto", "Enable i8259 PIC", MP_ONOFFAUTO, true,
                 "auto", "the 8259 PICs are always there in kvmpc"),
    NOT_MODELLED("pit", "OnOffAuto", "Enable i8254 PIT", MP_ONOFFAUTO, true,
                 "auto", "the 8254 PIT is always there in kvmpc"),
    NOT_MODELLED("sata", "bool", "Enable/disable Serial ATA bus", MP_BOOL,
                 true, "on", "q35's AHCI is always there in kvmpc"),
    NOT_MODELLED("smbus", "bool", "Enable/disable system management bus",
                 MP_BOOL, true, "on",
                 "the chipset's SMBus is always there in kvmpc"),
    NOT_MODELLED("smm", "OnOffAuto", "Enable SMM", MP_ONOFFAUTO, true,
                 "off", "kvmpc does not emulate System Management Mode"),
    NOT_MODELLED("x-oem-id", "string", "Override the default value of field "
                 "OEMID in ACPI table header", MP_STRING, true, "BOCHS ",
                 "kvmpc's ACPI OEM ID is fixed"),
    NOT_MODELLED("x-oem-table-id", "string", "Override the default value of "
                 "field OEM Table ID in ACPI table header", MP_STRING, true,
                 "BXPC    ", "kvmpc's ACPI OEM table ID is fixed"),
};

static bool machine_is_x86(const MachineType *t)
{
    return machine_type_name_is_x86(t->name);
}

bool machine_type_name_is_x86(const char *name)
{
    return g_str_has_prefix(name, "pc") || g_str_has_prefix(name, "x86") ||
           g_str_has_prefix(name, "q35");
}

void machine_props_foreach(bool x86, MachinePropFn fn, void *opaque)
{
    for (size_t i = 0; i < G_N_ELEMENTS(machine_props); i++) {
        const MachineProp *p = &machine_props[i];
        if (!p->x86 || x86) {
            fn(p->name, p->type, p->desc, !p->why_not, opaque);
        }
    }
}

static const MachineProp *machine_prop_find(const MachineType *t,
                                            const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(machine_props); i++) {
        const MachineProp *p = &machine_props[i];
        if (!strcmp(p->name, name) && (!p->x86 || machine_is_x86(t))) {
            return p;
        }
    }
    return NULL;
}

/* smm also takes "auto", which is what kvmpc does: off. */
static bool accepts_not_modelled(const MachineProp *p, const char *v)
{
    if (!p->only_value) {
        return true;                 /* any value: nothing to model */
    }
    if (p->kind == MP_ONOFFAUTO && !strcmp(v, "auto")) {
        return true;
    }
    return same_value(p, v, p->only_value);
}

static bool machine_prop_apply(MachineState *ms, const char *key,
                               const char *v, GError **errp)
{
    const MachineProp *p = machine_prop_find(ms->type, key);

    if (!p) {
        error_setg(errp, "Property '%s-machine.%s' not found",
                   ms->type->name, key);
        return false;
    }
    if (!check_value(p, v, errp)) {
        return false;
    }
    if (p->why_not && !accepts_not_modelled(p, v)) {
        error_setg(errp, "-machine %s=%s: %s (only %s=%s is supported)",
                   key, v, p->why_not, key, p->only_value);
        return false;
    }
    return !p->apply || p->apply(ms, p, v, errp);
}

static gint compare_lines(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

bool machine_props_apply(MachineState *ms, GError **errp)
{
    GHashTableIter it;
    gpointer key, value;

    g_hash_table_iter_init(&it, ms->props);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        if (!machine_prop_apply(ms, key, value, errp)) {
            return false;
        }
    }
    return true;
}

char *machine_props_help(const MachineType *t)
{
    GString *s = g_string_new(NULL);
    g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);

    g_string_append_printf(s, "%s-machine options:\n", t->name);
    for (size_t i = 0; i < G_N_ELEMENTS(machine_props); i++) {
        const MachineProp *p = &machine_props[i];
        g_autofree char *lhs = NULL;

        if (p->x86 && !machine_is_x86(t)) {
            continue;
        }
        lhs = g_strdup_printf("%s=<%s>", p->name, p->type);
        g_ptr_array_add(lines, *p->desc ?
                        g_strdup_printf("  %-22s - %s\n", lhs, p->desc) :
                        g_strdup_printf("  %s\n", lhs));
    }
    g_ptr_array_sort(lines, compare_lines);
    for (unsigned i = 0; i < lines->len; i++) {
        g_string_append(s, g_ptr_array_index(lines, i));
    }
    return g_string_free(s, false);
}

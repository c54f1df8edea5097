/*
 * The QOM type table (include/qom/object-type.h).
 */
#include "qemu/osdep.h"
#include "qom/object-type.h"

static GPtrArray *types;            /* QomTypeInfo *, in order */
static GHashTable *by_name;         /* name -> QomTypeInfo * */

static void ensure_table(void)
{
    if (!types) {
        types = g_ptr_array_new();
        by_name = g_hash_table_new(g_str_hash, g_str_equal);
    }
}

void object_type_register(const QomTypeInfo *info)
{
    ensure_table();
    if (g_hash_table_contains(by_name, info->name)) {
        return;
    }
    g_ptr_array_add(types, (gpointer)info);
    g_hash_table_insert(by_name, (gpointer)info->name, (gpointer)info);
}

void object_type_register_copy(const char *name, const char *parent,
                               bool abstract, const char *const *interfaces)
{
    QomTypeInfo *info;

    ensure_table();
    if (g_hash_table_contains(by_name, name)) {
        return;
    }
    info = g_new0(QomTypeInfo, 1);
    info->name = g_strdup(name);
    info->parent = g_strdup(parent);
    info->abstract = abstract;
    info->interfaces = interfaces ?
        (const char *const *)g_strdupv((char **)interfaces) : NULL;
    object_type_register(info);
}

const QomTypeInfo *object_type_find(const char *name)
{
    ensure_table();
    return g_hash_table_lookup(by_name, name);
}

bool object_type_is_a(const char *name, const char *ancestor)
{
    /* Parent chains are short; a bound keeps a bad registration from
     * looping. */
    for (unsigned depth = 0; name && depth < 32; depth++) {
        const QomTypeInfo *t = object_type_find(name);

        if (!strcmp(name, ancestor)) {
            return true;
        }
        if (!t) {
            return false;
        }
        for (unsigned i = 0; t->interfaces && t->interfaces[i]; i++) {
            if (object_type_is_a(t->interfaces[i], ancestor)) {
                return true;
            }
        }
        name = t->parent;
    }
    return false;
}

GPtrArray *object_type_list(void)
{
    ensure_table();
    return types;
}

/* QEMU's abstract roots and the interfaces kvmpc's types declare. */
static const QomTypeInfo base_types[] = {
    { .name = TYPE_OBJECT, .abstract = true },
    { .name = TYPE_INTERFACE, .parent = TYPE_OBJECT, .abstract = true },
    { .name = TYPE_USER_CREATABLE, .parent = TYPE_INTERFACE,
      .abstract = true },
    { .name = "hotplug-handler", .parent = TYPE_INTERFACE, .abstract = true },
    { .name = "conventional-pci-device", .parent = TYPE_INTERFACE,
      .abstract = true },
    { .name = "isa-dma", .parent = TYPE_INTERFACE, .abstract = true },
    { .name = "machine", .parent = TYPE_OBJECT, .abstract = true },
    { .name = "x86-machine", .parent = "machine", .abstract = true },
    { .name = "generic-pc-machine", .parent = "x86-machine",
      .abstract = true },
    { .name = "accel", .parent = TYPE_OBJECT, .abstract = true },
    { .name = "chardev", .parent = TYPE_OBJECT, .abstract = true },
    { .name = "rng-backend", .parent = TYPE_OBJECT, .abstract = true },
    { .name = "authz", .parent = TYPE_OBJECT, .abstract = true },
    { .name = "memory-backend", .parent = TYPE_OBJECT, .abstract = true },
    { .name = "cpu", .parent = "device", .abstract = true },
    { .name = "x86_64-cpu", .parent = "cpu", .abstract = true },
};

static void __attribute__((constructor(101))) object_type_base_register(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(base_types); i++) {
        object_type_register(&base_types[i]);
    }
}

/*
 * Device type registry, properties, and device life cycle.
 */
#include "qemu/osdep.h"
#include "qemu/keyval.h"
#include "hw/qdev.h"
#include "qom/object-type.h"
#include "chardev/char.h"
#include "qapi/qapi-events.h"
#include "system/timer.h"

static GHashTable *types;          /* name -> const DeviceType * */
static GHashTable *type_aliases;   /* alias -> type name (QEMU's qdev aliases) */
static GPtrArray *devices;         /* realized DeviceState *, creation order */
static unsigned unattached_count;

static const DeviceType device_root_type = {
    .name = TYPE_DEVICE,
    .desc = "base of all devices",
    .instance_size = sizeof(DeviceState),
    .abstract = true,
    .props = (const Property[]) { DEFINE_PROP_END_OF_LIST() },
};

static void types_init(void)
{
    if (!types) {
        types = g_hash_table_new(g_str_hash, g_str_equal);
        g_hash_table_insert(types, (gpointer)device_root_type.name,
                            (gpointer)&device_root_type);
        object_type_register_copy(device_root_type.name, TYPE_OBJECT, true,
                                  NULL);
    }
}

void device_type_register(const DeviceType *type)
{
    types_init();
    g_assert(!g_hash_table_contains(types, type->name));
    g_hash_table_insert(types, (gpointer)type->name, (gpointer)type);
    object_type_register_copy(type->name, type->parent ?: TYPE_DEVICE,
                              type->abstract, type->interfaces);
}

void device_type_register_alias(const char *alias, const char *type_name)
{
    if (!type_aliases) {
        type_aliases = g_hash_table_new(g_str_hash, g_str_equal);
    }
    g_hash_table_insert(type_aliases, (gpointer)alias, (gpointer)type_name);
}

const DeviceType *device_type_find(const char *name)
{
    const DeviceType *t;

    types_init();
    if (!name) {
        return NULL;
    }
    t = g_hash_table_lookup(types, name);
    if (!t && type_aliases) {
        const char *target = g_hash_table_lookup(type_aliases, name);
        t = target ? g_hash_table_lookup(types, target) : NULL;
    }
    return t;
}

static const DeviceType *device_type_parent(const DeviceType *type)
{
    return type->parent ? device_type_find(type->parent) : NULL;
}

bool device_type_is_a(const DeviceType *type, const char *ancestor)
{
    for (; type; type = device_type_parent(type)) {
        if (!strcmp(type->name, ancestor)) {
            return true;
        }
    }
    return false;
}

static gint compare_type_names(gconstpointer a, gconstpointer b)
{
    const DeviceType *ta = *(const DeviceType *const *)a;
    const DeviceType *tb = *(const DeviceType *const *)b;
    return strcmp(ta->name, tb->name);
}

const DeviceType **device_type_list(void)
{
    GHashTableIter it;
    gpointer value;
    GPtrArray *arr = g_ptr_array_new();

    types_init();
    g_hash_table_iter_init(&it, types);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        g_ptr_array_add(arr, value);
    }
    g_ptr_array_sort(arr, compare_type_names);
    g_ptr_array_add(arr, NULL);
    return (const DeviceType **)g_ptr_array_free(arr, FALSE);
}

/* The chain root first: realize and reset walk it in this order. */
static GPtrArray *type_chain(const DeviceType *type)
{
    GPtrArray *chain = g_ptr_array_new();

    for (; type; type = device_type_parent(type)) {
        g_ptr_array_insert(chain, 0, (gpointer)type);
    }
    return chain;
}

const Property *device_type_find_prop(const DeviceType *type,
                                      const char *name)
{
    for (; type; type = device_type_parent(type)) {
        for (const Property *p = type->props; p && p->name; p++) {
            if (!strcmp(p->name, name)) {
                return p;
            }
        }
    }
    return NULL;
}

const char *property_type_name(PropertyType t)
{
    switch (t) {
    case PROP_BOOL: return "bool";
    case PROP_UINT8: return "uint8";
    case PROP_UINT16: return "uint16";
    case PROP_UINT32: return "uint32";
    case PROP_UINT64: return "uint64";
    case PROP_INT32: return "int32";
    case PROP_SIZE: return "size";
    case PROP_STRING: return "str";
    case PROP_CHARDEV: return "str";
    case PROP_PCI_DEVFN: return "int32";
    }
    return "unknown";
}

char *device_type_help(const DeviceType *type)
{
    GString *s = g_string_new(NULL);
    GPtrArray *chain = type_chain(type);

    g_string_append_printf(s, "%s options:\n", type->name);
    for (unsigned i = 0; i < chain->len; i++) {
        const DeviceType *t = g_ptr_array_index(chain, i);
        for (const Property *p = t->props; p && p->name; p++) {
            g_string_append_printf(s, "  %s=<%s>", p->name,
                                   p->type == PROP_CHARDEV ? "chardev"
                                   : property_type_name(p->type));
            if (p->help || p->defval) {
                g_string_append_printf(s, "%*s- %s%s%s%s",
                    (int)MAX(1, 24 - (int)strlen(p->name)), "",
                    p->help ? p->help : "",
                    p->defval ? " (default: " : "",
                    p->defval ? p->defval : "", p->defval ? ")" : "");
            }
            g_string_append_c(s, '\n');
        }
    }
    g_ptr_array_unref(chain);
    return g_string_free(s, FALSE);
}

static const char *const category_names[] = {
    [DEVICE_CATEGORY_MISC] = "Misc devices",
    [DEVICE_CATEGORY_BRIDGE] = "Controller/Bridge/Hub devices",
    [DEVICE_CATEGORY_STORAGE] = "Storage devices",
    [DEVICE_CATEGORY_NETWORK] = "Network devices",
    [DEVICE_CATEGORY_INPUT] = "Input devices",
    [DEVICE_CATEGORY_DISPLAY] = "Display devices",
    [DEVICE_CATEGORY_SOUND] = "Sound devices",
    [DEVICE_CATEGORY_USB] = "USB devices",
};

char *device_help_all(void)
{
    GString *s = g_string_new(NULL);
    const DeviceType **list = device_type_list();

    for (unsigned c = 0; c < ARRAY_SIZE(category_names); c++) {
        bool header = false;
        for (const DeviceType **t = list; *t; t++) {
            if ((*t)->abstract || !(*t)->user_creatable ||
                (*t)->category != c) {
                continue;
            }
            if (!header) {
                g_string_append_printf(s, "%s%s:\n", s->len ? "\n" : "",
                                       category_names[c]);
                header = true;
            }
            g_string_append_printf(s, "name \"%s\"", (*t)->name);
            if ((*t)->desc) {
                g_string_append_printf(s, ", desc \"%s\"", (*t)->desc);
            }
            g_string_append_c(s, '\n');
        }
    }
    g_free(list);
    return g_string_free(s, FALSE);
}

/* ---- properties ----------------------------------------------------- */

static bool parse_int_range(const char *name, const char *value,
                            uint64_t max, uint64_t *out, GError **errp)
{
    GError *err = NULL;

    if (!parse_uint(value, out, &err) || *out > max) {
        error_setg(errp, "Property '%s' doesn't take value '%s'%s%s", name,
                   value, err ? ": " : " (out of range)",
                   err ? err->message : "");
        g_clear_error(&err);
        return false;
    }
    return true;
}

static bool parse_devfn(const char *value, int32_t *out, GError **errp)
{
    unsigned slot, fn = 0;
    char *end;

    if (!strcmp(value, "-1")) {
        *out = -1;
        return true;
    }
    slot = strtoul(value, &end, 16);
    if (end == value || (*end && *end != '.') || slot > 31) {
        goto bad;
    }
    if (*end == '.') {
        const char *f = end + 1;
        fn = strtoul(f, &end, 16);   /* QEMU: base 16 too (libvirt: 0x2.0x1) */
        if (end == f || *end || fn > 7) {
            goto bad;
        }
    }
    *out = (int32_t)(slot << 3 | fn);
    return true;
bad:
    error_setg(errp, "Property 'addr' doesn't take value '%s' "
               "(expected slot[.function], e.g. 3 or 1f.2)", value);
    return false;
}

static bool property_set(DeviceState *dev, const Property *p,
                         const char *value, GError **errp)
{
    void *field = (char *)dev + p->offset;
    uint64_t v;

    switch (p->type) {
    case PROP_BOOL:
        if (!parse_bool(value, field, NULL)) {
            error_setg(errp, "Property '%s' doesn't take value '%s' "
                       "(use on or off)", p->name, value);
            return false;
        }
        return true;
    case PROP_UINT8:
        if (!parse_int_range(p->name, value, UINT8_MAX, &v, errp)) {
            return false;
        }
        *(uint8_t *)field = v;
        return true;
    case PROP_UINT16:
        if (!parse_int_range(p->name, value, UINT16_MAX, &v, errp)) {
            return false;
        }
        *(uint16_t *)field = v;
        return true;
    case PROP_UINT32:
        if (!parse_int_range(p->name, value, UINT32_MAX, &v, errp)) {
            return false;
        }
        *(uint32_t *)field = v;
        return true;
    case PROP_UINT64:
        if (!parse_int_range(p->name, value, UINT64_MAX, &v, errp)) {
            return false;
        }
        *(uint64_t *)field = v;
        return true;
    case PROP_INT32: {
        char *end;
        long long l;
        errno = 0;
        l = strtoll(value, &end, 0);
        if (errno || end == value || *end || l < INT32_MIN || l > INT32_MAX) {
            error_setg(errp, "Property '%s' doesn't take value '%s'",
                       p->name, value);
            return false;
        }
        *(int32_t *)field = (int32_t)l;
        return true;
    }
    case PROP_SIZE: {
        GError *err = NULL;
        if (!parse_size(value, 1, field, &err)) {
            error_setg(errp, "Property '%s' doesn't take value '%s': %s",
                       p->name, value, err->message);
            g_error_free(err);
            return false;
        }
        return true;
    }
    case PROP_STRING:
        g_free(*(char **)field);
        *(char **)field = g_strdup(value);
        return true;
    case PROP_CHARDEV: {
        Chardev *chr = qemu_chr_find(value);
        if (!chr) {
            error_setg(errp, "Property '%s' can't find value '%s'",
                       p->name, value);
            return false;
        }
        *(Chardev **)field = chr;
        return true;
    }
    case PROP_PCI_DEVFN:
        return parse_devfn(value, field, errp);
    }
    return false;
}

char *device_get_prop_str(DeviceState *dev, const Property *p)
{
    void *field = (char *)dev + p->offset;

    switch (p->type) {
    case PROP_BOOL: return g_strdup(*(bool *)field ? "on" : "off");
    case PROP_UINT8: return g_strdup_printf("%u", *(uint8_t *)field);
    case PROP_UINT16: return g_strdup_printf("%u", *(uint16_t *)field);
    case PROP_UINT32: return g_strdup_printf("%u", *(uint32_t *)field);
    case PROP_UINT64:
    case PROP_SIZE:
        return g_strdup_printf("%" PRIu64, *(uint64_t *)field);
    case PROP_INT32: return g_strdup_printf("%d", *(int32_t *)field);
    case PROP_STRING:
        return g_strdup(*(char **)field ? *(char **)field : "");
    case PROP_CHARDEV: {
        Chardev *chr = *(Chardev **)field;
        return g_strdup(chr ? chr->id : "");
    }
    case PROP_PCI_DEVFN: {
        int32_t devfn = *(int32_t *)field;
        if (devfn < 0) {
            return g_strdup("-1");
        }
        return g_strdup_printf("%02x.%x", devfn >> 3, devfn & 7);
    }
    }
    return g_strdup("");
}

/* ---- life cycle ----------------------------------------------------- */

static void apply_defaults(DeviceState *dev)
{
    GPtrArray *chain = type_chain(dev->type);

    for (unsigned i = 0; i < chain->len; i++) {
        const DeviceType *t = g_ptr_array_index(chain, i);
        for (const Property *p = t->props; p && p->name; p++) {
            if (p->defval) {
                GError *err = NULL;
                if (!property_set(dev, p, p->defval, &err)) {
                    g_error("bad default for %s.%s: %s", t->name, p->name,
                            err->message);
                }
            }
        }
    }
    g_ptr_array_unref(chain);
}

typedef struct DeviceGlobal {
    char *driver, *prop, *value;
} DeviceGlobal;

static GPtrArray *device_globals;

bool device_add_global(const char *spec, GError **errp)
{
    const char *dot = strchr(spec, '.');
    const char *eq = dot ? strchr(dot, '=') : NULL;
    g_autofree char *driver = NULL;
    g_autofree char *prop = NULL;
    const DeviceType *type;
    DeviceGlobal *g;

    if (!dot || !eq || dot == spec || eq == dot + 1) {
        error_setg(errp, "'%s': expected driver.property=value", spec);
        return false;
    }
    driver = g_strndup(spec, dot - spec);
    prop = g_strndup(dot + 1, eq - dot - 1);
    type = device_type_find(driver);
    if (!type) {
        error_setg(errp, "'%s' is not a valid device model name", driver);
        return false;
    }
    if (!device_type_find_prop(type, prop)) {
        error_setg(errp, "Property '%s.%s' not found", driver, prop);
        return false;
    }
    if (!device_globals) {
        device_globals = g_ptr_array_new();
    }
    g = g_new0(DeviceGlobal, 1);
    g->driver = g_steal_pointer(&driver);
    g->prop = g_steal_pointer(&prop);
    g->value = g_strdup(eq + 1);
    g_ptr_array_add(device_globals, g);
    return true;
}

static bool apply_globals(DeviceState *dev, GError **errp)
{
    for (unsigned i = 0; device_globals && i < device_globals->len; i++) {
        DeviceGlobal *g = g_ptr_array_index(device_globals, i);
        if (device_type_is_a(dev->type, g->driver) &&
            !device_set_prop(dev, g->prop, g->value, errp)) {
            g_prefix_error(errp, "-global %s.%s=%s: ", g->driver, g->prop,
                           g->value);
            return false;
        }
    }
    return true;
}

DeviceState *device_new(const char *type_name, GError **errp)
{
    const DeviceType *type = device_type_find(type_name);
    DeviceState *dev;

    if (!type) {
        error_setg(errp, "'%s' is not a valid device model name", type_name);
        return NULL;
    }
    if (type->abstract) {
        error_setg(errp, "'%s' is an abstract device type", type_name);
        return NULL;
    }
    g_assert(type->instance_size >= sizeof(DeviceState));
    dev = g_malloc0(type->instance_size);
    dev->type = type;
    apply_defaults(dev);
    if (!apply_globals(dev, errp)) {
        device_destroy(dev);
        return NULL;
    }
    return dev;
}

bool device_set_prop(DeviceState *dev, const char *name, const char *value,
                     GError **errp)
{
    const Property *p;

    if (!strcmp(name, "id")) {
        g_free(dev->id);
        dev->id = g_strdup(value);
        return true;
    }
    p = device_type_find_prop(dev->type, name);
    if (!p) {
        error_setg(errp, "Property '%s.%s' not found", dev->type->name,
                   name);
        return false;
    }
    if (dev->realized) {
        error_setg(errp, "Property '%s' cannot be set on a realized device",
                   name);
        return false;
    }
    return property_set(dev, p, value, errp);
}

static void free_string_props(DeviceState *dev)
{
    for (const DeviceType *t = dev->type; t; t = device_type_parent(t)) {
        for (const Property *p = t->props; p && p->name; p++) {
            if (p->type == PROP_STRING) {
                char **field = (char **)((char *)dev + p->offset);
                g_free(*field);
                *field = NULL;
            }
        }
    }
}

static void device_free(DeviceState *dev)
{
    free_string_props(dev);
    g_free(dev->id);
    g_free(dev->path);
    g_free(dev->migration_blocker);
    g_free(dev);
}

static bool id_is_valid(const char *id)
{
    if (!g_ascii_isalpha(id[0])) {
        return false;
    }
    for (const char *p = id; *p; p++) {
        if (!g_ascii_isalnum(*p) && !strchr("-._", *p)) {
            return false;
        }
    }
    return true;
}

bool device_realize(DeviceState *dev, GError **errp)
{
    GPtrArray *chain;
    bool ok = true;

    if (dev->id && !id_is_valid(dev->id)) {
        error_setg(errp, "Parameter 'id' expects an identifier "
                   "(letters, digits, '-', '.', '_', starting with a letter)");
        return false;
    }
    if (dev->id && device_find_by_id(dev->id)) {
        error_setg(errp, "Duplicate device ID '%s'", dev->id);
        return false;
    }
    /* Named before realize, as QEMU's (the composition tree): what
     * realize reports may name the device by its path (a permission
     * conflict on its drive). */
    if (dev->id) {
        dev->path = g_strdup_printf("/machine/peripheral/%s", dev->id);
    } else {
        dev->path = g_strdup_printf("/machine/unattached/device[%u]",
                                    unattached_count++);
    }
    chain = type_chain(dev->type);
    for (unsigned i = 0; i < chain->len && ok; i++) {
        const DeviceType *t = g_ptr_array_index(chain, i);
        if (t->realize) {
            ok = t->realize(dev, errp);
            if (!ok) {
                /* Undo what the ancestors did, leaf-most first. */
                for (unsigned j = i; j-- > 0;) {
                    const DeviceType *u = g_ptr_array_index(chain, j);
                    if (u->unrealize) {
                        u->unrealize(dev);
                    }
                }
            }
        }
    }
    g_ptr_array_unref(chain);
    if (!ok) {
        g_clear_pointer(&dev->path, g_free);
        return false;
    }
    dev->realized = true;
    if (!devices) {
        devices = g_ptr_array_new();
    }
    g_ptr_array_add(devices, dev);
    device_reset(dev);
    return true;
}

void device_destroy(DeviceState *dev)
{
    if (dev->realized) {
        for (const DeviceType *t = dev->type; t; t = device_type_parent(t)) {
            if (t->unrealize) {
                t->unrealize(dev);
            }
        }
        g_ptr_array_remove(devices, dev);
    }
    device_free(dev);
}

void device_reset(DeviceState *dev)
{
    GPtrArray *chain = type_chain(dev->type);

    for (unsigned i = 0; i < chain->len; i++) {
        const DeviceType *t = g_ptr_array_index(chain, i);
        if (t->reset) {
            t->reset(dev);
        }
    }
    g_ptr_array_unref(chain);
}

void devices_reset_all(void)
{
    for (unsigned i = 0; devices && i < devices->len; i++) {
        device_reset(g_ptr_array_index(devices, i));
    }
}

GPtrArray *device_list(void)
{
    if (!devices) {
        devices = g_ptr_array_new();
    }
    return devices;
}

DeviceState *device_find_by_id(const char *id)
{
    for (unsigned i = 0; devices && i < devices->len; i++) {
        DeviceState *d = g_ptr_array_index(devices, i);
        if (d->id && !strcmp(d->id, id)) {
            return d;
        }
    }
    return NULL;
}

DeviceState *device_find_by_type(const char *type_name)
{
    for (unsigned i = 0; devices && i < devices->len; i++) {
        DeviceState *d = g_ptr_array_index(devices, i);
        if (!strcmp(d->type->name, type_name)) {
            return d;
        }
    }
    return NULL;
}

DeviceState *device_find_by_path(const char *path)
{
    for (unsigned i = 0; devices && i < devices->len; i++) {
        DeviceState *d = g_ptr_array_index(devices, i);
        if (!strcmp(d->path, path)) {
            return d;
        }
    }
    return NULL;
}

static bool type_chain_not_hotpluggable(const DeviceType *type);

static DeviceState *device_create_common(const char *opts, bool hotplug,
                                         GError **errp)
{
    GPtrArray *kv = keyval_parse_list(opts, "driver", errp);
    const char *driver = NULL;
    const DeviceType *type;
    DeviceState *dev = NULL;

    if (!kv) {
        return NULL;
    }
    for (unsigned i = 0; i < kv->len; i++) {
        KeyValPair *p = g_ptr_array_index(kv, i);
        if (!strcmp(p->key, "driver")) {
            driver = p->value;
        }
    }
    if (!driver) {
        error_setg(errp, "Parameter 'driver' is missing");
        goto out;
    }
    type = device_type_find(driver);
    if (!type || type->abstract) {
        error_setg(errp, "'%s' is not a valid device model name", driver);
        goto out;
    }
    if (!type->user_creatable) {
        error_setg(errp, "Parameter 'driver' expects a pluggable device type "
                   "('%s' is not)", driver);
        goto out;
    }
    /* QEMU refuses such a type before it realizes anything, with the
     * words of its qdev_get_device_class() (device_del of one says
     * "does not support hotplugging"). */
    if (hotplug && type_chain_not_hotpluggable(type)) {
        error_setg(errp, "Parameter 'driver' expects a pluggable device "
                   "type");
        goto out;
    }
    dev = device_new(driver, errp);
    if (dev) {
        dev->hotplugged = hotplug;
    }
    for (unsigned i = 0; dev && i < kv->len; i++) {
        KeyValPair *p = g_ptr_array_index(kv, i);
        if (!strcmp(p->key, "driver")) {
            continue;
        }
        if (!device_set_prop(dev, p->key, p->value, errp)) {
            device_free(dev);
            dev = NULL;
        }
    }
    if (dev && !device_realize(dev, errp)) {
        device_free(dev);
        dev = NULL;
    }
out:
    g_ptr_array_unref(kv);
    return dev;
}

DeviceState *device_create_from_opts(const char *opts, GError **errp)
{
    return device_create_common(opts, false, errp);
}

/* ---- hotplug (docs/hotplug.md) ------------------------------------- */

static bool machine_creation_done;

void qdev_machine_creation_done(void)
{
    machine_creation_done = true;
}

bool qdev_hotplug_allowed(void)
{
    return machine_creation_done;
}

/* The bus's handler and name, from the first hook along the chain. */
static bool device_find_hotplug_handler(DeviceState *dev, HotplugHandler **h,
                                        const char **bus_name)
{
    for (const DeviceType *t = dev->type; t; t = device_type_parent(t)) {
        if (t->get_hotplug_handler) {
            *bus_name = NULL;
            *h = t->get_hotplug_handler(dev, bus_name);
            return true;
        }
    }
    return false;
}

/* QEMU's QERR_BUS_NO_HOTPLUG / QERR_DEVICE_NO_HOTPLUG checks. */
static HotplugHandler *device_hotplug_check(DeviceState *dev, GError **errp)
{
    HotplugHandler *h = NULL;
    const char *bus_name = NULL;

    if (!device_find_hotplug_handler(dev, &h, &bus_name)) {
        error_setg(errp, "Device '%s' does not support hotplugging",
                   dev->type->name);
        return NULL;
    }
    if (!h) {
        error_setg(errp, "Bus '%s' does not support hotplugging",
                   bus_name ? bus_name : "main-system-bus");
        return NULL;
    }
    if (dev->type->not_hotpluggable) {
        error_setg(errp, "Device '%s' does not support hotplugging",
                   dev->type->name);
        return NULL;
    }
    return h;
}

static bool type_chain_not_hotpluggable(const DeviceType *type)
{
    for (; type; type = device_type_parent(type)) {
        if (type->not_hotpluggable) {
            return true;
        }
    }
    return false;
}

DeviceState *device_hotplug_add(const char *opts, GError **errp)
{
    DeviceState *dev;
    HotplugHandler *h;

    dev = device_create_common(opts, true, errp);
    if (!dev) {
        return NULL;
    }
    h = device_hotplug_check(dev, errp);
    if (!h || (h->plug && !h->plug(h, dev, errp))) {
        device_destroy(dev);
        return NULL;
    }
    return dev;
}

/* By id (/machine/peripheral/ID) or by QOM path. */
static DeviceState *device_find_for_del(const char *id, GError **errp)
{
    DeviceState *dev = device_find_by_id(id);

    if (!dev && id[0] == '/') {
        dev = device_find_by_path(id);
    }
    if (!dev) {
        g_set_error(errp, KVMPC_ERROR, KVMPC_ERROR_DEVICE_NOT_FOUND,
                    "Device '%s' not found", id);
    }
    return dev;
}

bool device_hotplug_del(const char *id, GError **errp)
{
    DeviceState *dev = device_find_for_del(id, errp);
    HotplugHandler *h = NULL;
    const char *bus_name = NULL;

    if (!dev) {
        return false;
    }
    if (dev->pending_deletion_event &&
        (dev->pending_deletion_expires_ms == 0 ||
         dev->pending_deletion_expires_ms >
         qemu_clock_get_ms(QEMU_CLOCK_VIRTUAL))) {
        error_setg(errp, "Device %s is already in the process of unplug",
                   id);
        return false;
    }
    if (!device_find_hotplug_handler(dev, &h, &bus_name) ||
        type_chain_not_hotpluggable(dev->type)) {
        error_setg(errp, "Device '%s' does not support hotplugging",
                   dev->type->name);
        return false;
    }
    if (!h) {
        error_setg(errp, "Bus '%s' does not support hotplugging",
                   bus_name ? bus_name : "main-system-bus");
        return false;
    }
    if (h->unplug_request) {
        return h->unplug_request(h, dev, errp);
    }
    device_unplug_complete(dev);
    return true;
}

static bool unplug_blocked;

void qdev_set_unplug_blocked(bool blocked)
{
    unplug_blocked = blocked;
}

void device_unplug_complete(DeviceState *dev)
{
    HotplugHandler *h = NULL;
    const char *bus_name = NULL;
    g_autofree char *id = g_strdup(dev->id);
    g_autofree char *path = g_strdup(dev->path);

    if (unplug_blocked) {
        dev->pending_deletion_event = false;
        return;
    }
    if (device_find_hotplug_handler(dev, &h, &bus_name) && h && h->unplug) {
        h->unplug(h, dev);
    }
    device_destroy(dev);
    qapi_event_send_device_deleted(id, path);
}

/* ---- state ---------------------------------------------------------- */

GPtrArray *device_state_tables(const DeviceState *dev)
{
    GPtrArray *chain = type_chain(dev->type);
    GPtrArray *tables = g_ptr_array_new();

    for (unsigned i = 0; i < chain->len; i++) {
        const DeviceType *t = g_ptr_array_index(chain, i);
        if (t->vmsd) {
            g_ptr_array_add(tables, (gpointer)t->vmsd);
        }
    }
    g_ptr_array_unref(chain);
    return tables;
}

bool device_save_state(DeviceState *dev, GByteArray *out, GError **errp)
{
    GPtrArray *chain = type_chain(dev->type);
    bool ok = true;

    for (unsigned i = 0; i < chain->len && ok; i++) {
        const DeviceType *t = g_ptr_array_index(chain, i);
        if (t->vmsd) {
            ok = vmstate_save(t->vmsd, dev, out, errp);
        }
    }
    g_ptr_array_unref(chain);
    return ok;
}

bool device_load_state(DeviceState *dev, const uint8_t *buf, size_t len,
                       GError **errp)
{
    GPtrArray *chain = type_chain(dev->type);
    size_t pos = 0;
    bool ok = true;

    for (unsigned i = 0; i < chain->len && ok; i++) {
        const DeviceType *t = g_ptr_array_index(chain, i);
        size_t used = 0;
        if (t->vmsd) {
            ok = vmstate_load(t->vmsd, dev, buf + pos, len - pos, &used, errp);
            pos += used;
        }
    }
    g_ptr_array_unref(chain);
    if (ok && pos != len) {
        error_setg(errp, "%s: %zu unexpected trailing bytes in state",
                   dev->type->name, len - pos);
        ok = false;
    }
    if (!ok) {
        /* Part of the state may have landed: never leave it half-loaded. */
        device_reset(dev);
    }
    return ok;
}

/*
 * qom-list, qom-get and device-list-properties over the object tree
 * kvmpc exposes, which has QEMU's shape where it matters to clients:
 *
 *   /                          container
 *   /machine                   the machine ("<name>-machine")
 *   /machine/peripheral/ID     devices created with an id
 *   /machine/peripheral-anon   (empty: anonymous devices are unattached)
 *   /machine/unattached/device[N]  devices without an id
 *   /machine/cpu[N]            vCPUs (query-cpus-fast's qom-path)
 *   /chardevs/ID               character devices
 *
 * Every node has a "type" property; devices also have "realized" and
 * their qdev properties; containers list their children as child<TYPE>
 * properties whose value (qom-get) is the child's path.  A path without
 * a leading '/' is resolved as a unique path suffix, as QEMU does.
 */
#include "qemu/osdep.h"
#include "accel/kvm.h"
#include "chardev/char.h"
#include "hw/boards.h"
#include "hw/qdev.h"
#include "qapi/qapi-commands.h"
#include "qobject/qbool.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"
#include "qobject/qnum.h"
#include "qobject/qstring.h"
#include "monitor-internal.h"
#include "qom/object-type.h"
#include "system/object.h"
#include "target/i386/cpu.h"
#include "hw/i386/x86-cpu-hotplug.h"

#define LIST_APPEND(tail, obj) do {                         \
        *(tail) = g_new0(__typeof__(**(tail)), 1);          \
        (*(tail))->value = (obj);                           \
        (tail) = &(*(tail))->next;                          \
    } while (0)

typedef enum QomKind {
    QOM_CONTAINER, QOM_MACHINE, QOM_DEVICE, QOM_CPU, QOM_CHARDEV,
    QOM_USER_OBJECT,        /* -object / object-add, under /objects */
} QomKind;

typedef struct QomNode {
    char *path;
    char *type;             /* QOM type name */
    QomKind kind;
    DeviceState *dev;       /* QOM_DEVICE */
    int cpu_index;          /* a vCPU (QOM_CPU, or a CPU device), else -1 */
} QomNode;

static void qom_node_free(gpointer p)
{
    QomNode *n = p;

    g_free(n->path);
    g_free(n->type);
    g_free(n);
}

static void add_node(GPtrArray *nodes, char *path, char *type, QomKind kind,
                     DeviceState *dev)
{
    QomNode *n = g_new0(QomNode, 1);

    n->path = path;
    n->type = type;
    n->kind = kind;
    n->dev = dev;
    n->cpu_index = -1;
    for (unsigned i = 0; dev && i < kvm_vcpu_count(); i++) {
        if (x86_cpu_hotplug_slot_device(i) == dev) {
            n->cpu_index = i;       /* a -device / device_add CPU */
        }
    }
    g_ptr_array_add(nodes, n);
}

static char *cpu_type_name(void)
{
    const char *model = current_machine && current_machine->cpu_model
                        ? current_machine->cpu_model : "host";
    g_autofree char *base = g_strndup(model, strcspn(model, ","));

    return g_strdup_printf("%s-x86_64-cpu", base);
}

static void add_user_object(const char *id, const char *type_name,
                            void *opaque)
{
    add_node(opaque, g_strdup_printf("/objects/%s", id), g_strdup(type_name),
             QOM_USER_OBJECT, NULL);
}

/* The whole tree, built on demand: it is small and always current. */
static GPtrArray *qom_tree(void)
{
    GPtrArray *nodes = g_ptr_array_new_with_free_func(qom_node_free);
    GPtrArray *devs = device_list(), *chrs = qemu_chr_list();
    const char *mname = current_machine && current_machine->type
                        ? current_machine->type->name : "none";

    add_node(nodes, g_strdup("/"), g_strdup("container"), QOM_CONTAINER,
             NULL);
    add_node(nodes, g_strdup("/machine"),
             g_strdup_printf("%s-machine", mname), QOM_MACHINE, NULL);
    for (const char *const *c = (const char *const[]){ "peripheral",
             "peripheral-anon", "unattached", NULL }; *c; c++) {
        add_node(nodes, g_strdup_printf("/machine/%s", *c),
                 g_strdup("container"), QOM_CONTAINER, NULL);
    }
    add_node(nodes, g_strdup("/chardevs"), g_strdup("container"),
             QOM_CONTAINER, NULL);
    add_node(nodes, g_strdup("/objects"), g_strdup("container"),
             QOM_CONTAINER, NULL);
    user_object_foreach(add_user_object, nodes);
    for (guint i = 0; i < devs->len; i++) {
        DeviceState *dev = g_ptr_array_index(devs, i);
        if (dev->path) {
            add_node(nodes, g_strdup(dev->path), g_strdup(dev->type->name),
                     QOM_DEVICE, dev);
        }
    }
    for (unsigned i = 0; i < kvm_vcpu_count(); i++) {
        KvmVcpuInfo vi;

        if (!kvm_vcpu_info(i, &vi) || x86_cpu_hotplug_slot_device(i)) {
            continue;   /* empty slot, or a CPU device (listed above) */
        }
        add_node(nodes, monitor_cpu_qom_path(i), cpu_type_name(), QOM_CPU,
                 NULL);
        ((QomNode *)g_ptr_array_index(nodes, nodes->len - 1))->cpu_index = i;
    }
    for (guint i = 0; i < chrs->len; i++) {
        Chardev *chr = g_ptr_array_index(chrs, i);
        add_node(nodes, g_strdup_printf("/chardevs/%s", chr->id),
                 g_strdup_printf("chardev-%s", chr->driver->name),
                 QOM_CHARDEV, NULL);
    }
    return nodes;
}

/* Is @child directly below @parent? */
static bool is_child(const char *parent, const char *child)
{
    size_t plen = strlen(parent);
    const char *rest;

    if (!strcmp(parent, "/")) {
        plen = 0;
    } else if (strncmp(child, parent, plen)) {
        return false;
    }
    rest = child + plen;
    return rest[0] == '/' && rest[1] && !strchr(rest + 1, '/');
}

static const QomNode *qom_resolve(GPtrArray *nodes, const char *path,
                                  GError **errp)
{
    const QomNode *found = NULL;

    for (guint i = 0; i < nodes->len; i++) {
        const QomNode *n = g_ptr_array_index(nodes, i);
        bool match;

        if (path[0] == '/') {
            match = !strcmp(n->path, path);
        } else {
            size_t nl = strlen(n->path), pl = strlen(path);
            match = *path && nl > pl && n->path[nl - pl - 1] == '/' &&
                    !strcmp(n->path + nl - pl, path);
        }
        if (!match) {
            continue;
        }
        if (found) {
            error_setg(errp, "Path '%s' is ambiguous", path);
            return NULL;
        }
        found = n;
    }
    if (!found) {
        g_set_error(errp, KVMPC_ERROR, KVMPC_ERROR_DEVICE_NOT_FOUND,
                    "Device '%s' not found", path);
    }
    return found;
}

/* ---- property values ------------------------------------------------ */

/* A qdev property value (text form) as the JSON QEMU sends for it. */
static QObject *prop_value(const Property *p, const char *text)
{
    uint64_t u;
    bool b;

    switch (p->type) {
    case PROP_BOOL:
        return QOBJECT(qbool_from_bool(parse_bool(text, &b, NULL) && b));
    case PROP_UINT8:
    case PROP_UINT16:
    case PROP_UINT32:
    case PROP_UINT64:
        return QOBJECT(qnum_from_uint(parse_uint(text, &u, NULL) ? u : 0));
    case PROP_SIZE:
        return QOBJECT(qnum_from_uint(parse_size(text, 1, &u, NULL) ? u : 0));
    case PROP_INT32:
        return QOBJECT(qnum_from_int(g_ascii_strtoll(text, NULL, 0)));
    case PROP_PCI_DEVFN: {
        /* "SS.F" text, QEMU's value is the devfn number (-1: auto). */
        unsigned slot, fn = 0;
        if (sscanf(text, "%x.%x", &slot, &fn) >= 1 && text[0] != '-') {
            return QOBJECT(qnum_from_int((slot << 3) | (fn & 7)));
        }
        return QOBJECT(qnum_from_int(-1));
    }
    case PROP_STRING:
    case PROP_CHARDEV:
    default:
        return QOBJECT(qstring_from_str(text));
    }
}

static const char *prop_type_name(const Property *p)
{
    return property_type_name(p->type);
}

/* Calls @fn on every property of @type, root type first. */
static void for_each_prop(const DeviceType *type,
                          void (*fn)(const Property *p, void *opaque),
                          void *opaque)
{
    if (type->parent) {
        const DeviceType *parent = device_type_find(type->parent);
        if (parent) {
            for_each_prop(parent, fn, opaque);
        }
    }
    for (const Property *p = type->props; p && p->name; p++) {
        fn(p, opaque);
    }
}

/* ---- qom-list ------------------------------------------------------- */

static ObjectPropertyInfo *prop_info(const char *name, const char *type)
{
    ObjectPropertyInfo *info = g_new0(ObjectPropertyInfo, 1);

    info->name = g_strdup(name);
    info->type = g_strdup(type);
    return info;
}

/* ---- a vCPU's properties (QEMU's X86CPU: target/i386/cpu.c there) ---- */

/* QEMU's X86CPUFeatureWordInfo list of @bits, CPUID words only, in
 * QEMU's order (the reverse of its feature word table). */
static QObject *feature_words_value(const uint32_t bits[FEATURE_WORDS])
{
    QList *list = qlist_new();

    for (int w = FEATURE_WORDS - 1; w >= 0; w--) {
        uint32_t function, index;
        bool has_index;
        const char *reg;
        QDict *d;

        if (!x86_feature_word_cpuid(w, &function, &index, &has_index,
                                    &reg)) {
            continue;
        }
        d = qdict_new();
        qdict_put_str(d, "cpuid-register", reg);
        if (has_index) {
            qdict_put_int(d, "cpuid-input-ecx", index);
        }
        qdict_put_int(d, "cpuid-input-eax", function);
        qdict_put_int(d, "features", bits[w]);
        qlist_append_obj(list, QOBJECT(d));
    }
    return QOBJECT(list);
}

/* QEMU's unavailable-features: the names of the filtered flags. */
static QObject *feature_names_value(const uint32_t bits[FEATURE_WORDS])
{
    QList *list = qlist_new();

    for (unsigned w = 0; w < FEATURE_WORDS; w++) {
        for (unsigned b = 0; b < 32; b++) {
            const char *name = x86_feature_word_bit_name(w, b);
            if (name && (bits[w] & (1u << b))) {
                qlist_append_str(list, name);
            }
        }
    }
    return QOBJECT(list);
}

static void list_vcpu_props(ObjectPropertyInfoList ***tail)
{
    g_autoptr(GPtrArray) names = x86_cpu_feature_names();

    LIST_APPEND(*tail, prop_info("feature-words", "X86CPUFeatureWordInfo"));
    LIST_APPEND(*tail, prop_info("filtered-features",
                                 "X86CPUFeatureWordInfo"));
    LIST_APPEND(*tail, prop_info("unavailable-features", "strList"));
    LIST_APPEND(*tail, prop_info("family", "int"));
    LIST_APPEND(*tail, prop_info("model", "int"));
    LIST_APPEND(*tail, prop_info("stepping", "int"));
    LIST_APPEND(*tail, prop_info("vendor", "string"));
    LIST_APPEND(*tail, prop_info("model-id", "string"));
    for (guint i = 0; i < names->len; i++) {
        LIST_APPEND(*tail, prop_info(g_ptr_array_index(names, i), "bool"));
    }
}

/* A vCPU property's value; NULL (no error) when @property is not one. */
static QObject *vcpu_prop_get(int cpu_index, const char *property,
                              GError **errp)
{
    X86CPUView v;
    FeatureWord w;
    uint32_t mask;

    if (!x86_cpu_view_of(cpu_index, &v, errp)) {
        return NULL;
    }
    if (!strcmp(property, "feature-words")) {
        return feature_words_value(v.have);
    }
    if (!strcmp(property, "filtered-features")) {
        return feature_words_value(v.filtered);
    }
    if (!strcmp(property, "unavailable-features")) {
        return feature_names_value(v.filtered);
    }
    if (!strcmp(property, "family")) {
        return QOBJECT(qnum_from_int(v.family));
    }
    if (!strcmp(property, "model")) {
        return QOBJECT(qnum_from_int(v.model));
    }
    if (!strcmp(property, "stepping")) {
        return QOBJECT(qnum_from_int(v.stepping));
    }
    if (!strcmp(property, "vendor")) {
        return QOBJECT(qstring_from_str(v.vendor));
    }
    if (!strcmp(property, "model-id")) {
        return QOBJECT(qstring_from_str(v.model_id));
    }
    if (x86_cpu_feature_lookup(property, &w, &mask)) {
        return QOBJECT(qbool_from_bool(v.have[w] & mask));
    }
    return NULL;
}

static void list_device_prop(const Property *p, void *opaque)
{
    ObjectPropertyInfoList ***tail = opaque;

    LIST_APPEND(*tail, prop_info(p->name, prop_type_name(p)));
}

/* An -object type's property table (system/object.h). */
static void list_user_object_props(const UserObjectType *t,
                                   ObjectPropertyInfoList ***tail)
{
    for (const UserObjectProp *p = t ? t->props : NULL; p && p->name; p++) {
        LIST_APPEND(*tail, prop_info(p->name, p->type));
    }
}

/* The id of the object at /objects/ID. */
static const char *user_object_id(const QomNode *node)
{
    return node->path + strlen("/objects/");
}

ObjectPropertyInfoList *qmp_qom_list(const char *path, GError **errp)
{
    g_autoptr(GPtrArray) nodes = qom_tree();
    const QomNode *node = qom_resolve(nodes, path, errp);
    ObjectPropertyInfoList *list = NULL, **tail = &list;

    if (!node) {
        return NULL;
    }
    LIST_APPEND(tail, prop_info("type", "string"));
    for (guint i = 0; i < nodes->len; i++) {
        const QomNode *c = g_ptr_array_index(nodes, i);
        if (is_child(node->path, c->path)) {
            g_autofree char *type = g_strdup_printf("child<%s>", c->type);
            LIST_APPEND(tail, prop_info(strrchr(c->path, '/') + 1, type));
        }
    }
    if (node->kind == QOM_DEVICE) {
        LIST_APPEND(tail, prop_info("realized", "bool"));
        for_each_prop(node->dev->type, list_device_prop, &tail);
    }
    if (node->cpu_index >= 0) {
        list_vcpu_props(&tail);
    }
    if (node->kind == QOM_USER_OBJECT) {
        list_user_object_props(user_object_type_find(node->type), &tail);
    }
    return list;
}

/* ---- qom-get -------------------------------------------------------- */

static QObject *child_path(GPtrArray *nodes, const QomNode *node,
                           const char *name)
{
    for (guint i = 0; i < nodes->len; i++) {
        const QomNode *c = g_ptr_array_index(nodes, i);
        if (is_child(node->path, c->path) &&
            !strcmp(strrchr(c->path, '/') + 1, name)) {
            return QOBJECT(qstring_from_str(c->path));
        }
    }
    return NULL;
}

QObject *qmp_qom_get(const char *path, const char *property, GError **errp)
{
    g_autoptr(GPtrArray) nodes = qom_tree();
    const QomNode *node = qom_resolve(nodes, path, errp);
    QObject *child;

    if (!node) {
        return NULL;
    }
    if (!strcmp(property, "type")) {
        return QOBJECT(qstring_from_str(node->type));
    }
    child = child_path(nodes, node, property);
    if (child) {
        return child;
    }
    if (node->cpu_index >= 0) {
        QObject *v = vcpu_prop_get(node->cpu_index, property, errp);
        if (v || (errp && *errp)) {
            return v;
        }
    }
    if (node->kind == QOM_DEVICE) {
        const Property *p = device_type_find_prop(node->dev->type, property);
        if (!strcmp(property, "realized")) {
            return QOBJECT(qbool_from_bool(node->dev->realized));
        }
        if (p) {
            g_autofree char *text = device_get_prop_str(node->dev, p);
            return prop_value(p, text ? text : "");
        }
        for (const DeviceType *t = node->dev->type; t;
             t = t->parent ? device_type_find(t->parent) : NULL) {
            GError *err = NULL;
            QObject *v = t->qom_get ? t->qom_get(node->dev, property, &err)
                                    : NULL;
            if (v || err) {
                if (err) {
                    g_propagate_error(errp, err);
                }
                return v;
            }
        }
    }
    if (node->kind == QOM_USER_OBJECT) {
        return user_object_prop_get(user_object_id(node), property, errp);
    }
    error_setg(errp, "Property '%s.%s' not found", node->type, property);
    return NULL;
}

/* ---- qom-set -------------------------------------------------------- */

void qmp_qom_set(const char *path, const char *property, QObject *value,
                 GError **errp)
{
    g_autoptr(GPtrArray) nodes = qom_tree();
    const QomNode *node = qom_resolve(nodes, path, errp);

    if (!node) {
        return;
    }
    if (node->kind == QOM_DEVICE) {
        for (const DeviceType *t = node->dev->type; t;
             t = t->parent ? device_type_find(t->parent) : NULL) {
            if (t->qom_set && t->qom_set(node->dev, property, value, errp)) {
                return;
            }
        }
        if (!strcmp(property, "realized") ||
            device_type_find_prop(node->dev->type, property)) {
            error_setg(errp, "Attempt to set property '%s' on device '%s' "
                       "(type '%s') after it was realized", property,
                       node->dev->id ? node->dev->id : node->path,
                       node->dev->type->name);
            return;
        }
    }
    if (!strcmp(property, "type")) {
        error_setg(errp, "Property '%s.type' is not writable", node->type);
        return;
    }
    if (node->kind == QOM_USER_OBJECT) {
        user_object_prop_set(user_object_id(node), property, value, errp);
        return;
    }
    error_setg(errp, "Property '%s.%s' not found", node->type, property);
}

/* ---- device-list-properties ----------------------------------------- */

static void describe_prop(const Property *p, void *opaque)
{
    ObjectPropertyInfoList ***tail = opaque;
    ObjectPropertyInfo *info = prop_info(p->name, prop_type_name(p));

    info->description = g_strdup(p->help);
    if (p->defval) {
        info->default_value = prop_value(p, p->defval);
    }
    LIST_APPEND(*tail, info);
}

ObjectPropertyInfoList *qmp_device_list_properties(const char *typename,
                                                   GError **errp)
{
    const DeviceType *type = device_type_find(typename);
    ObjectPropertyInfoList *list = NULL, **tail = &list;

    if (!type) {
        g_set_error(errp, KVMPC_ERROR, KVMPC_ERROR_DEVICE_NOT_FOUND,
                    "Device '%s' not found", typename);
        return NULL;
    }
    if (type->abstract) {
        error_setg(errp, "Parameter 'typename' expects a non-abstract "
                   "device type");
        return NULL;
    }
    for_each_prop(type, describe_prop, &tail);
    return list;
}

/* ---- qom-list-types, qom-list-properties ----------------------------- */

ObjectTypeInfoList *qmp_qom_list_types(const char *implements,
                                       bool has_abstract, bool abstract,
                                       GError **errp)
{
    GPtrArray *types = object_type_list();
    ObjectTypeInfoList *list = NULL, **tail = &list;

    for (guint i = 0; i < types->len; i++) {
        const QomTypeInfo *t = g_ptr_array_index(types, i);
        ObjectTypeInfo *info;

        if (t->abstract && !(has_abstract && abstract)) {
            continue;
        }
        if (implements && !object_type_is_a(t->name, implements)) {
            continue;
        }
        info = g_new0(ObjectTypeInfo, 1);
        info->name = g_strdup(t->name);
        info->has_abstract = t->abstract;
        info->abstract = t->abstract;
        info->parent = g_strdup(t->parent);
        LIST_APPEND(tail, info);
    }
    return list;
}

/* -machine properties: the table of hw/core/machine-props.c. */
static void add_machine_prop(const char *name, const char *type,
                             const char *desc, bool modelled, void *opaque)
{
    ObjectPropertyInfoList ***tail = opaque;
    ObjectPropertyInfo *info = prop_info(name, type);

    (void)modelled;             /* QEMU lists them all: so does kvmpc */
    if (*desc) {
        info->description = g_strdup(desc);
    }
    LIST_APPEND(*tail, info);
}

static void list_machine_props(const char *typename,
                               ObjectPropertyInfoList ***tail)
{
    machine_props_foreach(machine_type_name_is_x86(typename),
                          add_machine_prop, tail);
}

/* An x86 CPU has one bool property per CPUID feature it knows, as QEMU's
 * (libvirt learns the feature names kvmpc understands from these), and
 * "migratable" (libvirt's <cpu mode='host-passthrough' migratable=...>
 * needs to find it). */
static void list_cpu_props(ObjectPropertyInfoList ***tail)
{
    g_autoptr(GPtrArray) names = x86_cpu_feature_names();

    LIST_APPEND(*tail, prop_info("type", "string"));
    LIST_APPEND(*tail, prop_info("migratable", "bool"));
    /* what a vCPU object answers (qom-get on query-cpus-fast's path) */
    LIST_APPEND(*tail, prop_info("feature-words", "X86CPUFeatureWordInfo"));
    LIST_APPEND(*tail, prop_info("filtered-features",
                                 "X86CPUFeatureWordInfo"));
    LIST_APPEND(*tail, prop_info("unavailable-features", "strList"));
    LIST_APPEND(*tail, prop_info("pmu", "bool"));
    LIST_APPEND(*tail, prop_info("phys-bits", "uint32"));
    LIST_APPEND(*tail, prop_info("host-phys-bits", "bool"));
    LIST_APPEND(*tail, prop_info("host-phys-bits-limit", "uint8"));
    LIST_APPEND(*tail, prop_info("l3-cache", "bool"));
    LIST_APPEND(*tail, prop_info("host-cache-info", "bool"));
    LIST_APPEND(*tail, prop_info("legacy-cache", "bool"));
    LIST_APPEND(*tail, prop_info("tsc-frequency", "int"));
    LIST_APPEND(*tail, prop_info("vmware-cpuid-freq", "bool"));
    for (guint i = 0; i < names->len; i++) {
        LIST_APPEND(*tail, prop_info(g_ptr_array_index(names, i), "bool"));
    }
}

/* The -accel kvm,... options kvmpc takes, as QEMU 7.2 lists them (libvirt
 * looks for dirty-ring-size here before it asks for a dirty ring). */
static void list_kvm_accel_props(ObjectPropertyInfoList ***tail)
{
    ObjectPropertyInfo *info;

    LIST_APPEND(*tail, prop_info("type", "string"));
    info = prop_info("kernel-irqchip", "on|off|split");
    info->description = g_strdup("Configure KVM in-kernel irqchip");
    LIST_APPEND(*tail, info);
    info = prop_info("dirty-ring-size", "uint32");
    info->description = g_strdup("Size of KVM dirty page ring buffer "
                                 "(default: 0, i.e. use bitmap)");
    LIST_APPEND(*tail, info);
}

ObjectPropertyInfoList *qmp_qom_list_properties(const char *typename,
                                                GError **errp)
{
    ObjectPropertyInfoList *list = NULL, **tail = &list;
    const DeviceType *dev = device_type_find(typename);

    if (!object_type_find(typename) && !dev) {
        error_setg(errp, "Class '%s' not found", typename);
        return NULL;
    }
    if (object_type_is_a(typename, "x86_64-cpu")) {
        list_cpu_props(&tail);
    } else if (dev) {
        LIST_APPEND(tail, prop_info("type", "string"));
        LIST_APPEND(tail, prop_info("realized", "bool"));
        for_each_prop(dev, describe_prop, &tail);
    } else if (object_type_is_a(typename, "machine")) {
        list_machine_props(typename, &tail);
    } else if (!strcmp(typename, "kvm-accel")) {
        list_kvm_accel_props(&tail);
    } else if (user_object_type_find(typename)) {
        LIST_APPEND(tail, prop_info("type", "string"));
        list_user_object_props(user_object_type_find(typename), &tail);
    } else {
        LIST_APPEND(tail, prop_info("type", "string"));
    }
    return list;
}

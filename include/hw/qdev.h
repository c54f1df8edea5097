/*
 * The device model.  A device type is a static description registered once
 * (from a constructor, see type_init); -device, machine construction and QMP
 * device_add all create devices from the same registry.
 *
 * Types form a shallow chain through @parent ("device" <- "isa-device" <-
 * "isa-serial").  Instance structs embed their parent's struct as the first
 * member.  realize/reset run from the root type down to the leaf; unrealize
 * runs leaf first.  Properties are looked up along the whole chain.
 */
#ifndef HW_QDEV_H
#define HW_QDEV_H
#include "qemu/osdep.h"
#include "hw/irq.h"
#include "migration/vmstate.h"

typedef struct DeviceState DeviceState;
typedef struct DeviceType DeviceType;
typedef struct Chardev Chardev;
typedef struct HotplugHandler HotplugHandler;

typedef enum PropertyType {
    PROP_BOOL,      /* bool */
    PROP_UINT8,     /* uint8_t */
    PROP_UINT16,    /* uint16_t */
    PROP_UINT32,    /* uint32_t */
    PROP_UINT64,    /* uint64_t */
    PROP_INT32,     /* int32_t */
    PROP_SIZE,      /* uint64_t, accepts suffixes K/M/G/T */
    PROP_STRING,    /* char * (g_strdup'd, freed with the device) */
    PROP_CHARDEV,   /* Chardev *, looked up by id */
    PROP_PCI_DEVFN, /* int32_t devfn from "slot" or "slot.fn"; -1 = auto */
} PropertyType;

typedef struct Property {
    const char *name;
    PropertyType type;
    size_t offset;
    const char *defval;     /* in string form, parsed at creation; NULL = 0 */
    const char *help;
} Property;

#define DEFINE_PROP(n, st, f, t, def, h) \
    { .name = (n), .type = (t), .offset = offsetof(st, f), \
      .defval = (def), .help = (h) }
#define DEFINE_PROP_END_OF_LIST() { .name = NULL }

typedef enum DeviceCategory {
    DEVICE_CATEGORY_MISC,
    DEVICE_CATEGORY_BRIDGE,
    DEVICE_CATEGORY_STORAGE,
    DEVICE_CATEGORY_NETWORK,
    DEVICE_CATEGORY_INPUT,
    DEVICE_CATEGORY_DISPLAY,
    DEVICE_CATEGORY_SOUND,
    DEVICE_CATEGORY_USB,
} DeviceCategory;

struct DeviceType {
    const char *name;
    const char *parent;         /* NULL only for the root type "device" */
    const char *desc;
    size_t instance_size;
    bool abstract;              /* cannot be created itself */
    bool user_creatable;        /* may be named in -device / device_add */
    DeviceCategory category;
    const Property *props;      /* this type's own, END_OF_LIST terminated */
    bool (*realize)(DeviceState *dev, GError **errp);
    void (*unrealize)(DeviceState *dev);
    void (*reset)(DeviceState *dev);
    const VMStateDescription *vmsd;  /* NULL: nothing guest-visible */
    /*
     * Object properties that are not qdev properties (QEMU's dynamic QOM
     * properties, e.g. virtio-balloon's "guest-stats"), for qom-get:
     * return the value, or NULL without touching @errp when @name is not
     * one of them.  NULL hook: none.
     */
    struct QObject *(*qom_get)(DeviceState *dev, const char *name,
                               GError **errp);
    /*
     * Writable dynamic properties, for qom-set: when @name is one of them,
     * set it (or fail with @errp) and return true; otherwise return false
     * without touching @errp.  NULL hook: none.
     */
    bool (*qom_set)(DeviceState *dev, const char *name,
                    struct QObject *value, GError **errp);
    const void *class_data;     /* per-type data for the parent type's code */
    /* QOM interfaces the type implements (inherited by derived types),
     * NULL-terminated; NULL: none.  Only qom-list-types reads them. */
    const char *const *interfaces;
    /*
     * Hotplug (QEMU's bus hotplug handler): the bus this realized device
     * sits on, by name (*bus_name: "pci.0", a root port's id, "usb-bus.0"),
     * and that bus's handler, NULL when the bus takes no hotplug.  The
     * first hook along the chain, leaf first, answers; a chain without one
     * sits on no bus that hotplug could use ("Device '%s' does not support
     * hotplugging").
     */
    HotplugHandler *(*get_hotplug_handler)(DeviceState *dev,
                                           const char **bus_name);
    /* QEMU's DeviceClass.hotpluggable = false (chipset functions). */
    bool not_hotpluggable;
};

/*
 * The side of a bus that takes devices at run time (QEMU's HotplugHandler
 * interface), e.g. the PIIX4 ACPI PCI hotplug controller for pci.0 or a
 * PCIe root port for its link.  All hooks run with the big lock held.
 */
struct HotplugHandler {
    void *opaque;
    /* A device was realized by device_add: tell the guest (the slot's
     * status bits, an interrupt).  Failing unrealizes the device again. */
    bool (*plug)(HotplugHandler *h, DeviceState *dev, GError **errp);
    /*
     * device_del: ask the guest to let the device go.  The handler later
     * calls device_unplug_complete() (the guest ejected it, powered its
     * slot off).  NULL: the unplug is synchronous (USB).
     */
    bool (*unplug_request)(HotplugHandler *h, DeviceState *dev,
                           GError **errp);
    /* The last word before the device is unrealized (synchronous unplug,
     * or from device_unplug_complete): drop the slot's state.  May be
     * NULL. */
    void (*unplug)(HotplugHandler *h, DeviceState *dev);
};

struct DeviceState {
    const DeviceType *type;
    char *id;                   /* user id or NULL */
    char *path;                 /* QOM-style path, e.g. /machine/unattached/device[3] */
    bool realized;
    char *migration_blocker;    /* reason this device cannot migrate, or NULL */
    bool hotplugged;            /* realized by device_add, not at start-up */
    bool pending_deletion_event; /* device_del asked, the guest has not
                                    ejected it yet */
    int64_t pending_deletion_expires_ms; /* virtual-clock ms after which a
                                    second device_del may ask again (0:
                                    never; a PCIe button press) */
};

#define TYPE_DEVICE "device"

/* Register a type (called from constructors). */
void device_type_register(const DeviceType *type);
#define type_init(fn) \
    static void __attribute__((constructor)) fn##_ctor(void) { fn(); }

/* Also resolves aliases ("virtio-rng" -> "virtio-rng-pci" on pc). */
const DeviceType *device_type_find(const char *name);
/* A second name for a type, as QEMU's qdev alias table; not listed. */
void device_type_register_alias(const char *alias, const char *type_name);
/* True if @type is @ancestor or derives from it. */
bool device_type_is_a(const DeviceType *type, const char *ancestor);
/* A NULL-terminated, name-sorted array of all types (free with g_free). */
const DeviceType **device_type_list(void);
/* Walks the chain (own properties first); NULL if absent. */
const Property *device_type_find_prop(const DeviceType *type,
                                      const char *name);
/* "TYPE,help": the property list; "help": all user-creatable types. */
char *device_type_help(const DeviceType *type);
char *device_help_all(void);
const char *property_type_name(PropertyType t);

/*
 * -global DRIVER.PROP=VALUE: a default for PROP of DRIVER (and the types
 * derived from it), applied by device_new after the table's defaults.
 * The type and property must exist.
 */
bool device_add_global(const char *spec, GError **errp);
/* Allocate an instance with property defaults (and -global values)
 * applied (not realized). */
DeviceState *device_new(const char *type_name, GError **errp);
bool device_set_prop(DeviceState *dev, const char *name, const char *value,
                     GError **errp);
/* Property value as text (for -device X,help, qom-get, info qtree). */
char *device_get_prop_str(DeviceState *dev, const Property *prop);
/* Realize, and on success add to the machine's device list. */
bool device_realize(DeviceState *dev, GError **errp);
/* Unrealize, remove from the list and free. */
void device_destroy(DeviceState *dev);
/* Device-type reset chain for one device. */
void device_reset(DeviceState *dev);
/* Reset every realized device, in creation order. */
void devices_reset_all(void);
/* Realized devices in creation order (do not modify). */
GPtrArray *device_list(void);
DeviceState *device_find_by_id(const char *id);
DeviceState *device_find_by_path(const char *path);
/* The first realized device of exactly this type (the machine's RTC...). */
DeviceState *device_find_by_type(const char *type_name);

/*
 * "-device TYPE,prop=val,...": create, set properties (id= included) and
 * realize.  "help" and "TYPE,help" are handled by the caller.
 */
DeviceState *device_create_from_opts(const char *opts, GError **errp);

/*
 * Hotplug (docs/hotplug.md).  qdev_machine_creation_done() marks the end
 * of start-up: devices realized after it are "hotplugged" and need their
 * bus's hotplug handler.
 */
void qdev_machine_creation_done(void);
bool qdev_hotplug_allowed(void);
/* device_add: -device's option string (QMP passes its arguments as one,
 * values as text), realize, then the bus's handler plugs it. */
DeviceState *device_hotplug_add(const char *opts, GError **errp);
/* device_del by id or QOM path, with QEMU's errors. */
bool device_hotplug_del(const char *id, GError **errp);
/*
 * The handler's last step: unrealize the device (releasing its drive=,
 * netdev=, chardev= backends), emit DEVICE_DELETED, free it.
 */
void device_unplug_complete(DeviceState *dev);
/*
 * For the fuzz targets only: their machine must outlive every input, so
 * a guest's eject (ACPI _EJ0, a PCIe slot powered off) updates the slot
 * registers but leaves the device in place.  docs/fuzzing.md.
 */
void qdev_set_unplug_blocked(bool blocked);

/*
 * The state tables device_save_state writes for @dev, root type first
 * (const VMStateDescription *; unref the array).  Migration lists them,
 * with their versions, in the stream's configuration.
 */
GPtrArray *device_state_tables(const DeviceState *dev);
/* Save/restore every property-less guest state of one device. */
bool device_save_state(DeviceState *dev, GByteArray *out, GError **errp);
bool device_load_state(DeviceState *dev, const uint8_t *buf, size_t len,
                       GError **errp);

#define DEVICE(obj) ((DeviceState *)(obj))

#endif

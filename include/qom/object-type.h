/*
 * QOM type names: one table of every type kvmpc has, with its parent and
 * interfaces, in QEMU's naming, for qom-list-types, qom-list-properties and
 * the type checks management tools make (libvirt probes the emulator by
 * the type names it finds).
 *
 * The registries that own the real types feed it, each in one place:
 * device types (hw/core/qdev.c), machine types ("<name>-machine",
 * hw/core/machine.c), accelerators ("<name>-accel", system/accel.c),
 * user-creatable objects (-object types, system/object.c), chardev
 * backends ("chardev-<name>"), x86 CPU models ("<model>-x86_64-cpu").
 * The abstract roots QEMU has above them ("object", "device",
 * "interface", "machine", "accel", "cpu", ...) are registered here.
 */
#ifndef QOM_OBJECT_TYPE_H
#define QOM_OBJECT_TYPE_H
#include "qemu/osdep.h"

#define TYPE_OBJECT "object"
#define TYPE_INTERFACE "interface"
#define TYPE_USER_CREATABLE "user-creatable"

typedef struct QomTypeInfo {
    const char *name;
    const char *parent;             /* NULL only for "object" */
    bool abstract;
    const char *const *interfaces;  /* NULL-terminated, or NULL */
} QomTypeInfo;

/* Register @info (kept by pointer: static or never freed).  A second
 * registration of the same name is ignored. */
void object_type_register(const QomTypeInfo *info);
/* The same, copying the strings: for names built at run time. */
void object_type_register_copy(const char *name, const char *parent,
                               bool abstract, const char *const *interfaces);
const QomTypeInfo *object_type_find(const char *name);
/* @name is @ancestor, derives from it or implements it (interfaces are
 * inherited). */
bool object_type_is_a(const char *name, const char *ancestor);
/* Every registered type, in registration order (do not modify). */
GPtrArray *object_type_list(void);

#endif

/*
 * User-creatable objects: "-object TYPE,id=ID,prop=value,..." (QEMU's
 * syntax) for things that are not devices but that devices refer to by
 * id: rng backends (rng-random, rng-builtin) and I/O threads (iothread).
 *
 * A type registers a create function that takes the option table (keys
 * other than qom-type and id), removes the keys it understands, and
 * returns its object; a key left over is an error, as in QEMU.  Objects
 * live until exit.  Big lock held.
 */
#ifndef SYSTEM_OBJECT_H
#define SYSTEM_OBJECT_H
#include "qemu/osdep.h"

typedef struct QObject QObject;

/*
 * A property an object type takes, with QEMU's name and QOM type name:
 * qom-list-properties lists the table, qom-list lists it for each object
 * (/objects/ID), qom-get reads a property through @get and qom-set
 * changes one on a live object through @set.  A table with only names
 * and types (the older form) still lists; qom-get then refuses.
 */
typedef struct UserObjectProp {
    const char *name, *type;
    /* The current value as QEMU's JSON (a new reference). */
    QObject *(*get)(void *obj);
    /* qom-set: apply @value now, or refuse with QEMU's text.  NULL: the
     * property is read-only once the object exists ("is not writable"). */
    bool (*set)(void *obj, QObject *value, GError **errp);
} UserObjectProp;

typedef struct UserObjectType {
    const char *name;
    const UserObjectProp *props;    /* NULL-name terminated, or NULL */
    const char *parent;         /* QOM parent type; NULL: "object" */
    /* NULL with @errp set on failure. */
    void *(*create)(const char *id, GHashTable *props, GError **errp);
    /* object-del: free @obj, or refuse (in use) with @errp set.  NULL:
     * objects of this type are never deleted. */
    bool (*destroy)(void *obj, GError **errp);
} UserObjectType;

void user_object_type_register(const UserObjectType *type);
/* "-object" argument. */
bool user_object_create_from_opts(const char *opts, GError **errp);
/* object-del (QEMU 7.2's errors). */
bool user_object_del(const char *id, GError **errp);
/* The object with @id, if its type is @type_name (NULL: any type). */
void *user_object_find(const char *id, const char *type_name);
/* The registered type called @name, or NULL. */
const UserObjectType *user_object_type_find(const char *name);
/* Type name of the object @id, or NULL. */
const char *user_object_type_name(const char *id);
/* Every object, in id order: QOM's /objects container. */
void user_object_foreach(void (*fn)(const char *id, const char *type_name,
                                    void *opaque), void *opaque);

/* qom-get / qom-set of property @name of object @id (QEMU 7.2's errors). */
QObject *user_object_prop_get(const char *id, const char *name,
                              GError **errp);
bool user_object_prop_set(const char *id, const char *name, QObject *value,
                          GError **errp);
/* For @set hooks: @value as an int64 or a bool, with QEMU's type errors
 * naming property @name. */
bool user_object_value_int(QObject *value, const char *name, int64_t *out,
                           GError **errp);
bool user_object_value_bool(QObject *value, const char *name, bool *out,
                            GError **errp);

/* Helpers for create functions: take (and remove) a property. */
char *user_object_take_str(GHashTable *props, const char *key);
bool user_object_take_uint(GHashTable *props, const char *key,
                           uint64_t *out, GError **errp);

#endif

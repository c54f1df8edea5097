/*
 * Run-time support shared by all QAPI generated types: enum lookup tables.
 * Generated headers include this; see docs/qapi.md.
 */
#ifndef QAPI_UTIL_H
#define QAPI_UTIL_H

#include "qemu/osdep.h"
#include "qobject/qobject.h"
#include "qobject/qnull.h"

/* Every generated enum Foo has Foo_lookup: its value names, by value. */
typedef struct QEnumLookup {
    const char *const *array;
    int size;
} QEnumLookup;

/* The name of @val (which must be valid: 0 <= val < size). */
const char *qapi_enum_lookup(const QEnumLookup *lookup, int val);

/*
 * The value named @name.  When there is none: returns @def, and sets
 * @errp unless it is NULL (a NULL @name also gives @def, without error).
 */
int qapi_enum_parse(const QEnumLookup *lookup, const char *name, int def,
                    GError **errp);

#endif

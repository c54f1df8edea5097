/*
 * QEMU-style option strings: "value,key=value,key2=value2".
 * An optional implied key takes a leading bare value ("isa-serial,id=x" with
 * implied key "driver").  ",," escapes a comma inside a value.
 *
 * A string that starts with '{' is QEMU's JSON form instead
 * ('{"driver":"virtio-blk-pci","bootindex":1}', what libvirt passes to
 * -device and -object): the same pairs, booleans as on/off, nested objects
 * as dotted keys, list elements as "key.N".
 */
#ifndef QEMU_KEYVAL_H
#define QEMU_KEYVAL_H
#include "qemu/osdep.h"

/*
 * Returns a hash table of key -> value (both g_strdup'd; free with
 * g_hash_table_unref), or NULL with @errp set.  A key without "=" gets the
 * value "on" (QEMU's flag form), except the leading bare value, which goes to
 * @implied_key when that is not NULL.  Duplicate keys: the last one wins.
 */
GHashTable *keyval_parse(const char *str, const char *implied_key,
                         GError **errp);

/*
 * Ordered variant: the same parse, keeping order and duplicates.  Each
 * element of the returned array is a KeyValPair.
 */
typedef struct KeyValPair {
    char *key;
    char *value;
} KeyValPair;
GPtrArray *keyval_parse_list(const char *str, const char *implied_key,
                             GError **errp);
#endif

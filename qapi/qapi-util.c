/* Enum lookup tables of generated QAPI enums. */
#include "qemu/osdep.h"
#include "qapi/util.h"

const char *qapi_enum_lookup(const QEnumLookup *lookup, int val)
{
    g_assert(val >= 0 && val < lookup->size);
    return lookup->array[val];
}

int qapi_enum_parse(const QEnumLookup *lookup, const char *name, int def,
                    GError **errp)
{
    if (!name) {
        return def;
    }
    for (int i = 0; i < lookup->size; i++) {
        if (!strcmp(lookup->array[i], name)) {
            return i;
        }
    }
    g_set_error(errp, KVMPC_ERROR, KVMPC_ERROR_GENERIC,
                "invalid parameter value: %s", name);
    return def;
}

/*
 * Accelerator registry.
 */
#include "qemu/osdep.h"
#include "system/accel.h"
#include "qom/object-type.h"

const AccelOps *current_accel;
static GPtrArray *accels;

void accel_register(const AccelOps *ops)
{
    if (!accels) {
        accels = g_ptr_array_new();
    }
    g_ptr_array_add(accels, (gpointer)ops);
    g_autofree char *qom = g_strdup_printf("%s-accel", ops->name);
    object_type_register_copy(qom, "accel", false, NULL);
}

const AccelOps *accel_find(const char *name)
{
    for (unsigned i = 0; accels && i < accels->len; i++) {
        const AccelOps *ops = g_ptr_array_index(accels, i);
        if (!strcmp(ops->name, name)) {
            return ops;
        }
    }
    return NULL;
}

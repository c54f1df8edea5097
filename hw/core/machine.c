/*
 * Machine type registry.
 */
#include "qemu/osdep.h"
#include "hw/boards.h"

MachineState *current_machine;
static GPtrArray *machine_types;

void machine_type_register(const MachineType *mt)
{
    if (!machine_types) {
        machine_types = g_ptr_array_new();
    }
    g_ptr_array_add(machine_types, (gpointer)mt);
}

GPtrArray *machine_type_list(void)
{
    if (!machine_types) {
        machine_types = g_ptr_array_new();
    }
    return machine_types;
}

const MachineType *machine_type_find(const char *name)
{
    GPtrArray *list = machine_type_list();

    for (unsigned i = 0; i < list->len; i++) {
        const MachineType *mt = g_ptr_array_index(list, i);
        if (!strcmp(mt->name, name) || (mt->alias && !strcmp(mt->alias, name))) {
            return mt;
        }
    }
    return NULL;
}

const MachineType *machine_type_default(void)
{
    GPtrArray *list = machine_type_list();

    for (unsigned i = 0; i < list->len; i++) {
        const MachineType *mt = g_ptr_array_index(list, i);
        if (mt->is_default) {
            return mt;
        }
    }
    return NULL;
}

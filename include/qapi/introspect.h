/*
 * Run-time half of the generated introspection data (query-qmp-schema);
 * see scripts/qapi/gen_introspect.py for the encoding.
 */
#ifndef QAPI_INTROSPECT_H
#define QAPI_INTROSPECT_H

#include "qemu/osdep.h"
#include "qobject/qobject.h"

/*
 * Parses @json and resolves its conditional parts: a list element
 * {"__if": N, "__v": X} becomes X when @conds[N] is true and disappears
 * otherwise.  Aborts on malformed data (a generator bug).
 */
QObject *qapi_introspect_load(const char *json, const bool *conds,
                              size_t nconds);

#endif

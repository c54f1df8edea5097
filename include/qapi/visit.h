/*
 * Run-time support for the generated QObject <-> C conversions
 * (qapi-visit.[ch]).
 *
 * For every type T the generator emits
 *     bool qapi_input_T(QObject *src, const QapiPath *path, T *out, GError **);
 *     QObject *qapi_output_T(T value);
 * where T is the C type of a member of that type (Foo * for objects, lists
 * and alternates, the enum itself for enums).  This header provides the
 * same pair for the builtin types (str, int, int8 ... uint64, size,
 * number, bool, null, any) and the helpers the generated code uses.
 *
 * Input is strict, with QEMU's error messages:
 *   Invalid parameter type for 'a.b', expected: integer
 *   Parameter 'a.b' is missing
 *   Parameter 'a.b' is unexpected
 *   Parameter 'a.b' expects uint8_t          (integer out of range)
 *   Parameter 'a.b' does not accept value 'x' (unknown enum value)
 * Input never takes over a reference to @src: strings are copied, 'any'
 * values get a new reference.  On failure *out is left alone and whatever
 * was built is freed.
 *
 * Output returns a new object.  A NULL string is output as "", a NULL
 * object or list as {} or [] (so a forgotten mandatory member gives odd
 * output rather than a crash).
 */
#ifndef QAPI_VISIT_H
#define QAPI_VISIT_H

#include "qemu/osdep.h"
#include "qapi/util.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"

/*
 * Where a value sits in the input, for error messages: a chain from the
 * value up to the root, built on the stack as conversion descends (so
 * nothing is allocated unless an error is reported).  A node with a name is
 * an object member, one without is list element @index.  A NULL path is
 * the root (e.g. the "arguments" object of a command).
 */
typedef struct QapiPath {
    const struct QapiPath *parent;
    const char *name;
    size_t index;
} QapiPath;

/* "a.b[2].c"; g_free the result. */
char *qapi_path_str(const QapiPath *path);

void qapi_error_type(GError **errp, const QapiPath *path,
                     const char *expected);
void qapi_error_missing(GError **errp, const QapiPath *path);
void qapi_error_unexpected(GError **errp, const QapiPath *parent,
                           const char *key);

/*
 * Objects: begin checks that @src is a dict and returns a shallow copy;
 * members are taken out of the copy as they are converted, and end
 * reports the first one left over as unexpected.
 */
QDict *qapi_input_begin_object(QObject *src, const QapiPath *path,
                               GError **errp);
bool qapi_input_end_object(QDict *rest, const QapiPath *path, GError **errp);
/* Removes @key from @rest and returns its value (caller's reference). */
QObject *qapi_dict_take(QDict *rest, const char *key);

/* Lists: checks that @src is a list; returns it borrowed. */
QList *qapi_input_begin_list(QObject *src, const QapiPath *path,
                             GError **errp);

bool qapi_input_enum(QObject *src, const QapiPath *path,
                     const QEnumLookup *lookup, int *out, GError **errp);
QObject *qapi_output_enum(const QEnumLookup *lookup, int value);

/* Builtin types. */
bool qapi_input_str(QObject *src, const QapiPath *path, char **out,
                    GError **errp);
bool qapi_input_number(QObject *src, const QapiPath *path, double *out,
                       GError **errp);
bool qapi_input_int(QObject *src, const QapiPath *path, int64_t *out,
                    GError **errp);
bool qapi_input_int8(QObject *src, const QapiPath *path, int8_t *out,
                     GError **errp);
bool qapi_input_int16(QObject *src, const QapiPath *path, int16_t *out,
                      GError **errp);
bool qapi_input_int32(QObject *src, const QapiPath *path, int32_t *out,
                      GError **errp);
bool qapi_input_int64(QObject *src, const QapiPath *path, int64_t *out,
                      GError **errp);
bool qapi_input_uint8(QObject *src, const QapiPath *path, uint8_t *out,
                      GError **errp);
bool qapi_input_uint16(QObject *src, const QapiPath *path, uint16_t *out,
                       GError **errp);
bool qapi_input_uint32(QObject *src, const QapiPath *path, uint32_t *out,
                       GError **errp);
bool qapi_input_uint64(QObject *src, const QapiPath *path, uint64_t *out,
                       GError **errp);
bool qapi_input_size(QObject *src, const QapiPath *path, uint64_t *out,
                     GError **errp);
bool qapi_input_bool(QObject *src, const QapiPath *path, bool *out,
                     GError **errp);
bool qapi_input_null(QObject *src, const QapiPath *path, QNull **out,
                     GError **errp);
bool qapi_input_any(QObject *src, const QapiPath *path, QObject **out,
                    GError **errp);

QObject *qapi_output_str(const char *value);
QObject *qapi_output_number(double value);
QObject *qapi_output_int(int64_t value);
QObject *qapi_output_int8(int8_t value);
QObject *qapi_output_int16(int16_t value);
QObject *qapi_output_int32(int32_t value);
QObject *qapi_output_int64(int64_t value);
QObject *qapi_output_uint8(uint8_t value);
QObject *qapi_output_uint16(uint16_t value);
QObject *qapi_output_uint32(uint32_t value);
QObject *qapi_output_uint64(uint64_t value);
QObject *qapi_output_size(uint64_t value);
QObject *qapi_output_bool(bool value);
QObject *qapi_output_null(const QNull *value);
QObject *qapi_output_any(QObject *value);      /* new reference; NULL: null */

#endif

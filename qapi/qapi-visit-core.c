/*
 * Run-time half of the generated QObject <-> C conversions: paths and
 * error messages, objects and lists, enums and the builtin types.
 * See include/qapi/visit.h.
 */
#include "qemu/osdep.h"
#include "qapi/visit.h"
#include "qobject/qbool.h"
#include "qobject/qnum.h"
#include "qobject/qstring.h"

/* ---- paths and errors ---- */

static void path_append(GString *out, const QapiPath *path)
{
    if (!path) {
        return;
    }
    path_append(out, path->parent);
    if (path->name) {
        if (out->len) {
            g_string_append_c(out, '.');
        }
        g_string_append(out, path->name);
    } else {
        g_string_append_printf(out, "[%zu]", path->index);
    }
}

char *qapi_path_str(const QapiPath *path)
{
    GString *out = g_string_new(NULL);

    path_append(out, path);
    if (!out->len) {
        g_string_append(out, "(top level)");
    }
    return g_string_free(out, false);
}

void qapi_error_type(GError **errp, const QapiPath *path,
                     const char *expected)
{
    char *name = qapi_path_str(path);

    error_setg(errp, "Invalid parameter type for '%s', expected: %s",
               name, expected);
    g_free(name);
}

void qapi_error_missing(GError **errp, const QapiPath *path)
{
    char *name = qapi_path_str(path);

    error_setg(errp, "Parameter '%s' is missing", name);
    g_free(name);
}

void qapi_error_unexpected(GError **errp, const QapiPath *parent,
                           const char *key)
{
    QapiPath p = { .parent = parent, .name = key };
    char *name = qapi_path_str(&p);

    error_setg(errp, "Parameter '%s' is unexpected", name);
    g_free(name);
}

static void error_range(GError **errp, const QapiPath *path,
                        const char *c_type)
{
    char *name = qapi_path_str(path);

    error_setg(errp, "Parameter '%s' expects %s", name, c_type);
    g_free(name);
}

/* ---- objects, lists, enums ---- */

QDict *qapi_input_begin_object(QObject *src, const QapiPath *path,
                               GError **errp)
{
    QDict *dict = qobject_to(QDict, src);

    if (!dict) {
        qapi_error_type(errp, path, "object");
        return NULL;
    }
    return qdict_clone_shallow(dict);
}

bool qapi_input_end_object(QDict *rest, const QapiPath *path, GError **errp)
{
    const QDictEntry *e = qdict_first(rest);

    if (e) {
        qapi_error_unexpected(errp, path, qdict_entry_key(e));
        return false;
    }
    return true;
}

QObject *qapi_dict_take(QDict *rest, const char *key)
{
    QObject *value = qobject_ref(qdict_get(rest, key));

    if (value) {
        qdict_del(rest, key);
    }
    return value;
}

QList *qapi_input_begin_list(QObject *src, const QapiPath *path,
                             GError **errp)
{
    QList *list = qobject_to(QList, src);

    if (!list) {
        qapi_error_type(errp, path, "array");
    }
    return list;
}

bool qapi_input_enum(QObject *src, const QapiPath *path,
                     const QEnumLookup *lookup, int *out, GError **errp)
{
    QString *qs = qobject_to(QString, src);
    int value;

    if (!qs) {
        qapi_error_type(errp, path, "string");
        return false;
    }
    value = qapi_enum_parse(lookup, qstring_get_str(qs), -1, NULL);
    if (value < 0) {
        char *name = qapi_path_str(path);

        error_setg(errp, "Parameter '%s' does not accept value '%s'",
                   name, qstring_get_str(qs));
        g_free(name);
        return false;
    }
    *out = value;
    return true;
}

QObject *qapi_output_enum(const QEnumLookup *lookup, int value)
{
    return QOBJECT(qstring_from_str(qapi_enum_lookup(lookup, value)));
}

/* ---- builtin scalars ---- */

bool qapi_input_str(QObject *src, const QapiPath *path, char **out,
                    GError **errp)
{
    QString *qs = qobject_to(QString, src);

    if (!qs) {
        qapi_error_type(errp, path, "string");
        return false;
    }
    *out = g_strdup(qstring_get_str(qs));
    return true;
}

bool qapi_input_number(QObject *src, const QapiPath *path, double *out,
                       GError **errp)
{
    QNum *qn = qobject_to(QNum, src);

    if (!qn) {
        qapi_error_type(errp, path, "number");
        return false;
    }
    *out = qnum_get_double(qn);
    return true;
}

/* Any integer in [@min, @max]; @c_type names the range in errors. */
static bool input_signed(QObject *src, const QapiPath *path, int64_t min,
                         int64_t max, const char *c_type, int64_t *out,
                         GError **errp)
{
    QNum *qn = qobject_to(QNum, src);
    uint64_t big;
    int64_t v;

    if (!qn || (!qnum_get_try_int(qn, &v) && !qnum_get_try_uint(qn, &big))) {
        qapi_error_type(errp, path, "integer");
        return false;
    }
    if (!qnum_get_try_int(qn, &v) || v < min || v > max) {
        error_range(errp, path, c_type);
        return false;
    }
    *out = v;
    return true;
}

static bool input_unsigned(QObject *src, const QapiPath *path, uint64_t max,
                           const char *c_type, uint64_t *out, GError **errp)
{
    QNum *qn = qobject_to(QNum, src);
    uint64_t v;
    int64_t neg;

    if (!qn || (!qnum_get_try_uint(qn, &v) && !qnum_get_try_int(qn, &neg))) {
        qapi_error_type(errp, path, "integer");
        return false;
    }
    /* Unlike QEMU, negative numbers are not wrapped around. */
    if (!qnum_get_try_uint(qn, &v) || v > max) {
        error_range(errp, path, c_type);
        return false;
    }
    *out = v;
    return true;
}

#define DEFINE_INPUT_SIGNED(name, type, min, max)                        \
bool qapi_input_##name(QObject *src, const QapiPath *path, type *out,    \
                       GError **errp)                                    \
{                                                                        \
    int64_t v;                                                           \
                                                                         \
    if (!input_signed(src, path, min, max, #type, &v, errp)) {           \
        return false;                                                    \
    }                                                                    \
    *out = (type)v;                                                      \
    return true;                                                         \
}                                                                        \
QObject *qapi_output_##name(type value)                                  \
{                                                                        \
    return QOBJECT(qnum_from_int(value));                                \
}

#define DEFINE_INPUT_UNSIGNED(name, type, max)                           \
bool qapi_input_##name(QObject *src, const QapiPath *path, type *out,    \
                       GError **errp)                                    \
{                                                                        \
    uint64_t v;                                                          \
                                                                         \
    if (!input_unsigned(src, path, max, #type, &v, errp)) {              \
        return false;                                                    \
    }                                                                    \
    *out = (type)v;                                                      \
    return true;                                                         \
}                                                                        \
QObject *qapi_output_##name(type value)                                  \
{                                                                        \
    return QOBJECT(qnum_from_uint(value));                               \
}

DEFINE_INPUT_SIGNED(int, int64_t, INT64_MIN, INT64_MAX)
DEFINE_INPUT_SIGNED(int8, int8_t, INT8_MIN, INT8_MAX)
DEFINE_INPUT_SIGNED(int16, int16_t, INT16_MIN, INT16_MAX)
DEFINE_INPUT_SIGNED(int32, int32_t, INT32_MIN, INT32_MAX)
DEFINE_INPUT_SIGNED(int64, int64_t, INT64_MIN, INT64_MAX)
DEFINE_INPUT_UNSIGNED(uint8, uint8_t, UINT8_MAX)
DEFINE_INPUT_UNSIGNED(uint16, uint16_t, UINT16_MAX)
DEFINE_INPUT_UNSIGNED(uint32, uint32_t, UINT32_MAX)
DEFINE_INPUT_UNSIGNED(uint64, uint64_t, UINT64_MAX)
DEFINE_INPUT_UNSIGNED(size, uint64_t, UINT64_MAX)

bool qapi_input_bool(QObject *src, const QapiPath *path, bool *out,
                     GError **errp)
{
    QBool *qb = qobject_to(QBool, src);

    if (!qb) {
        qapi_error_type(errp, path, "boolean");
        return false;
    }
    *out = qbool_get_bool(qb);
    return true;
}

bool qapi_input_null(QObject *src, const QapiPath *path, QNull **out,
                     GError **errp)
{
    QNull *qn = qobject_to(QNull, src);

    if (!qn) {
        qapi_error_type(errp, path, "null");
        return false;
    }
    *out = qobject_ref(qn);
    return true;
}

bool qapi_input_any(QObject *src, const QapiPath *path, QObject **out,
                    GError **errp)
{
    *out = qobject_ref(src);
    return true;
}

QObject *qapi_output_str(const char *value)
{
    return QOBJECT(qstring_from_str(value ? value : ""));
}

QObject *qapi_output_number(double value)
{
    return QOBJECT(qnum_from_double(value));
}

QObject *qapi_output_bool(bool value)
{
    return QOBJECT(qbool_from_bool(value));
}

QObject *qapi_output_null(const QNull *value)
{
    return QOBJECT(qnull());
}

QObject *qapi_output_any(QObject *value)
{
    return value ? qobject_ref(value) : QOBJECT(qnull());
}

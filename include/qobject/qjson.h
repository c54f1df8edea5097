/*
 * JSON text <-> QObject.
 *
 * Writer: compact output uses QEMU's separators (", " and ": "), so
 * {"return": {}} looks the same as QEMU's replies; pretty output indents by
 * four spaces.  Strings are escaped as JSON requires (\" \\ \b \f \n \r \t,
 * other control characters and DEL as \u00XX); valid UTF-8 is passed
 * through unchanged; bytes that are not valid UTF-8 are written as \uFFFD so
 * the output is always valid JSON.  Doubles are written with the fewest
 * digits that read back to the same value and always carry a '.' or an
 * exponent so they stay doubles; infinities and NaN (not representable in
 * JSON) are written as null.
 *
 * Reader: see json-parser.h for the grammar and limits.
 */
#ifndef QOBJECT_QJSON_H
#define QOBJECT_QJSON_H

#include "qobject/qobject.h"

/* One JSON text, e.g. for QMP replies.  The caller frees the GString. */
GString *qobject_to_json(const QObject *obj);
GString *qobject_to_json_pretty(const QObject *obj, bool pretty);
/* Appends the JSON text of @obj to @out. */
void qobject_to_json_append(GString *out, const QObject *obj, bool pretty);

/*
 * Parses exactly one JSON value from @str (NUL-terminated).  Returns a new
 * object, or NULL with @errp set when the text is not one valid value
 * (errors are in the QOBJECT_JSON_ERROR domain, see json-parser.h).
 */
QObject *qobject_from_json(const char *str, GError **errp);
/* The same for a buffer that need not be NUL-terminated. */
QObject *qobject_from_json_len(const char *buf, size_t len, GError **errp);

/* Convenience for tests and tools: parse, requiring a JSON object. */
QDict *qdict_from_json(const char *str, GError **errp);

#endif

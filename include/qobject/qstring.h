/*
 * QString: a JSON string, held as a NUL-terminated UTF-8 C string.  The
 * JSON parser rejects "\u0000", so a parsed string never has an embedded
 * NUL and plain C string functions see all of it.
 */
#ifndef QOBJECT_QSTRING_H
#define QOBJECT_QSTRING_H

#include "qobject/qobject.h"

struct QString {
    QObjectBase_ base;
    char *str;
    size_t len;
};

QString *qstring_new(void);                     /* "" */
QString *qstring_from_str(const char *str);     /* copies @str */
QString *qstring_from_substr(const char *str, size_t start, size_t end);
/* Takes ownership of @str (allocated with g_malloc). */
QString *qstring_adopt(char *str);
/* Takes ownership of @gstr's buffer and frees the GString. */
QString *qstring_from_gstring(GString *gstr);

const char *qstring_get_str(const QString *qs);
size_t qstring_get_length(const QString *qs);

#endif

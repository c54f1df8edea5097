#include "qemu/osdep.h"
#include "qobject/qstring.h"
#include "qobject-internal.h"

QString *qstring_adopt(char *str)
{
    QString *qs = g_new(QString, 1);

    qobject_init(QOBJECT(qs), QTYPE_QSTRING);
    qs->str = str;
    qs->len = strlen(str);
    return qs;
}

QString *qstring_new(void)
{
    return qstring_adopt(g_strdup(""));
}

QString *qstring_from_str(const char *str)
{
    return qstring_adopt(g_strdup(str));
}

QString *qstring_from_substr(const char *str, size_t start, size_t end)
{
    g_assert(start <= end);
    return qstring_adopt(g_strndup(str + start, end - start));
}

QString *qstring_from_gstring(GString *gstr)
{
    return qstring_adopt(g_string_free(gstr, false));
}

const char *qstring_get_str(const QString *qs)
{
    return qs->str;
}

size_t qstring_get_length(const QString *qs)
{
    return qs->len;
}

void qstring_destroy_obj(QObject *obj)
{
    QString *qs = qobject_to(QString, obj);

    g_free(qs->str);
    g_free(qs);
}

/*
 * QObject -> JSON text.  See include/qobject/qjson.h for the output rules.
 */
#include "qemu/osdep.h"
#include "qobject/qjson.h"
#include "qobject/qbool.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"
#include "qobject/qnum.h"
#include "qobject/qstring.h"

static void append_indent(GString *out, bool pretty, int level)
{
    if (pretty) {
        g_string_append_c(out, '\n');
        for (int i = 0; i < level; i++) {
            g_string_append(out, "    ");
        }
    }
}

/* Length of the valid UTF-8 sequence at @s (< @end), or 0 if invalid. */
static size_t utf8_valid_len(const unsigned char *s, const unsigned char *end)
{
    const char *next;
    gunichar ch = g_utf8_get_char_validated((const char *)s, end - s);

    if (ch == (gunichar)-1 || ch == (gunichar)-2) {
        return 0;
    }
    next = g_utf8_next_char((const char *)s);
    return (const unsigned char *)next - s;
}

static void append_string(GString *out, const char *str, size_t len)
{
    const unsigned char *p = (const unsigned char *)str;
    const unsigned char *end = p + len;

    g_string_append_c(out, '"');
    while (p < end) {
        unsigned char c = *p;
        size_t n;

        switch (c) {
        case '"':
            g_string_append(out, "\\\"");
            break;
        case '\\':
            g_string_append(out, "\\\\");
            break;
        case '\b':
            g_string_append(out, "\\b");
            break;
        case '\f':
            g_string_append(out, "\\f");
            break;
        case '\n':
            g_string_append(out, "\\n");
            break;
        case '\r':
            g_string_append(out, "\\r");
            break;
        case '\t':
            g_string_append(out, "\\t");
            break;
        default:
            if (c < 0x20 || c == 0x7f) {
                g_string_append_printf(out, "\\u%04X", c);
            } else if (c < 0x80) {
                g_string_append_c(out, c);
            } else if ((n = utf8_valid_len(p, end)) != 0) {
                g_string_append_len(out, (const char *)p, n);
                p += n;
                continue;
            } else {
                /* Not UTF-8: keep the output valid JSON. */
                g_string_append(out, "\\uFFFD");
            }
        }
        p++;
    }
    g_string_append_c(out, '"');
}

static void append_value(GString *out, const QObject *obj, bool pretty,
                         int level);

static void append_dict(GString *out, const QDict *dict, bool pretty,
                        int level)
{
    const QDictEntry *e;

    g_string_append_c(out, '{');
    for (e = qdict_first(dict); e; e = qdict_next(dict, e)) {
        if (e != qdict_first(dict)) {
            g_string_append(out, pretty ? "," : ", ");
        }
        append_indent(out, pretty, level + 1);
        append_string(out, e->key, strlen(e->key));
        g_string_append(out, ": ");
        append_value(out, e->value, pretty, level + 1);
    }
    if (qdict_size(dict)) {
        append_indent(out, pretty, level);
    }
    g_string_append_c(out, '}');
}

static void append_list(GString *out, const QList *list, bool pretty,
                        int level)
{
    const QListEntry *e;

    g_string_append_c(out, '[');
    QLIST_FOREACH_ENTRY(list, e) {
        if (e != qlist_first(list)) {
            g_string_append(out, pretty ? "," : ", ");
        }
        append_indent(out, pretty, level + 1);
        append_value(out, e->value, pretty, level + 1);
    }
    if (!qlist_empty(list)) {
        append_indent(out, pretty, level);
    }
    g_string_append_c(out, ']');
}

static void append_value(GString *out, const QObject *obj, bool pretty,
                         int level)
{
    switch (qobject_type(obj)) {
    case QTYPE_NONE:        /* no value: the closest JSON has */
    case QTYPE_QNULL:
        g_string_append(out, "null");
        break;
    case QTYPE_QBOOL:
        g_string_append(out, qbool_get_bool(qobject_to(QBool, obj)) ?
                        "true" : "false");
        break;
    case QTYPE_QNUM: {
        char *s = qnum_to_string(qobject_to(QNum, obj));
        g_string_append(out, s);
        g_free(s);
        break;
    }
    case QTYPE_QSTRING: {
        const QString *qs = qobject_to(QString, obj);
        append_string(out, qs->str, qs->len);
        break;
    }
    case QTYPE_QDICT:
        append_dict(out, qobject_to(QDict, obj), pretty, level);
        break;
    case QTYPE_QLIST:
        append_list(out, qobject_to(QList, obj), pretty, level);
        break;
    default:
        g_assert_not_reached();
    }
}

void qobject_to_json_append(GString *out, const QObject *obj, bool pretty)
{
    append_value(out, obj, pretty, 0);
}

GString *qobject_to_json_pretty(const QObject *obj, bool pretty)
{
    GString *out = g_string_new(NULL);

    append_value(out, obj, pretty, 0);
    return out;
}

GString *qobject_to_json(const QObject *obj)
{
    return qobject_to_json_pretty(obj, false);
}

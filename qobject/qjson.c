/* One-shot JSON parsing on top of the streaming parser. */
#include "qemu/osdep.h"
#include "qobject/qjson.h"
#include "qobject/json-parser.h"
#include "qobject/qdict.h"

typedef struct OneShot {
    QObject *value;     /* the first value */
    GError *err;        /* the first error */
    unsigned count;     /* values and errors seen */
} OneShot;

static void one_shot_emit(void *opaque, QObject *value, GError *err)
{
    OneShot *s = opaque;

    if (s->count++ == 0) {
        s->value = value;
        s->err = err;
        return;
    }
    /* Keep the first error; a second value is an error of its own. */
    if (!s->err) {
        s->err = err ? err : g_error_new(QOBJECT_JSON_ERROR,
                                         QOBJECT_JSON_ERROR_SYNTAX,
                                         "Expecting at most one JSON value");
    } else if (err) {
        g_error_free(err);
    }
    qobject_unref(value);
}

QObject *qobject_from_json_len(const char *buf, size_t len, GError **errp)
{
    OneShot s = { 0 };
    JsonStreamParser *parser = json_stream_parser_new(one_shot_emit, &s);

    json_stream_parser_feed(parser, buf, len);
    json_stream_parser_flush(parser);
    json_stream_parser_free(parser);

    if (!s.err && !s.value) {
        s.err = g_error_new(QOBJECT_JSON_ERROR, QOBJECT_JSON_ERROR_INCOMPLETE,
                            "Expecting a JSON value");
    }
    if (s.err) {
        qobject_unref(s.value);
        g_propagate_error(errp, s.err);
        return NULL;
    }
    return s.value;
}

QObject *qobject_from_json(const char *str, GError **errp)
{
    return qobject_from_json_len(str, strlen(str), errp);
}

QDict *qdict_from_json(const char *str, GError **errp)
{
    QObject *obj = qobject_from_json(str, errp);
    QDict *dict = qobject_to(QDict, obj);

    if (obj && !dict) {
        qobject_unref(obj);
        g_set_error(errp, QOBJECT_JSON_ERROR, QOBJECT_JSON_ERROR_SYNTAX,
                    "Expecting a JSON object");
    }
    return dict;
}

/* Unit tests of the JSON writer and the streaming parser (qobject/). */
#include "qemu/osdep.h"
#include <math.h>
#include "qobject/json-parser.h"
#include "qobject/qjson.h"
#include "qobject/qbool.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"
#include "qobject/qnull.h"
#include "qobject/qnum.h"
#include "qobject/qstring.h"

/* ---- helpers ---- */

static char *to_json(const QObject *obj)
{
    return g_string_free(qobject_to_json(obj), false);
}

/* Parses @in, which must succeed, and returns its compact re-serialisation. */
static char *reformat(const char *in)
{
    GError *err = NULL;
    QObject *obj = qobject_from_json(in, &err);
    char *out;

    g_assert_no_error(err);
    out = to_json(obj);
    qobject_unref(obj);
    return out;
}

static void assert_reformat(const char *in, const char *expected)
{
    char *out = reformat(in);

    g_assert_cmpstr(out, ==, expected);
    g_free(out);
}

static void assert_parse_error(const char *in, const char *msg_part)
{
    GError *err = NULL;
    QObject *obj = qobject_from_json(in, &err);

    if (obj) {
        char *s = to_json(obj);
        g_error("'%s' parsed as %s", in, s);
    }
    g_assert_nonnull(err);
    g_assert_true(err->domain == QOBJECT_JSON_ERROR);
    if (msg_part && !strstr(err->message, msg_part)) {
        g_error("'%s': error '%s' lacks '%s'", in, err->message, msg_part);
    }
    g_error_free(err);
}

/* Collects what a stream parser emits: one line per value or error. */
typedef struct Sink {
    GString *log;
    int values;
    int errors;
    int last_code;
    bool free_on_emit;
    JsonStreamParser *parser;
} Sink;

static void sink_emit(void *opaque, QObject *value, GError *err)
{
    Sink *s = opaque;

    g_assert_true((value == NULL) != (err == NULL));
    if (value) {
        char *text = to_json(value);

        g_string_append_printf(s->log, "%s\n", text);
        g_free(text);
        qobject_unref(value);
        s->values++;
    } else {
        g_string_append_printf(s->log, "E%d\n", err->code);
        s->last_code = err->code;
        g_error_free(err);
        s->errors++;
    }
    if (s->free_on_emit) {
        json_stream_parser_free(s->parser);
    }
}

static void sink_init(Sink *s)
{
    memset(s, 0, sizeof(*s));
    s->log = g_string_new(NULL);
    s->parser = json_stream_parser_new(sink_emit, s);
}

static void sink_destroy(Sink *s)
{
    if (s->parser) {
        json_stream_parser_free(s->parser);
    }
    g_string_free(s->log, true);
}

static void feed_str(Sink *s, const char *text)
{
    json_stream_parser_feed(s->parser, text, strlen(text));
}

/* Feeds @in (with @len bytes) in chunks of @chunk, flushes, returns log. */
static char *stream(const char *in, size_t len, size_t chunk)
{
    Sink s;
    char *out;

    sink_init(&s);
    for (size_t i = 0; i < len; i += chunk) {
        json_stream_parser_feed(s.parser, in + i, MIN(chunk, len - i));
    }
    json_stream_parser_flush(s.parser);
    out = g_strdup(s.log->str);
    sink_destroy(&s);
    return out;
}

static void assert_stream(const char *in, const char *expected)
{
    size_t len = strlen(in);

    /* Whatever the chunking, the result must be the same. */
    for (size_t chunk = 1; chunk <= len + 1; chunk = chunk < 8 ? chunk + 1
                                                            : chunk * 3) {
        char *out = stream(in, len, chunk);

        if (strcmp(out, expected)) {
            g_error("stream '%s' (chunk %zu):\n%s\nexpected:\n%s", in,
                    chunk, out, expected);
        }
        g_free(out);
    }
}

/* ---- writer ---- */

static void test_write_escapes(void)
{
    QString *s = qstring_from_str("q\" b\\ /\b\f\n\r\t \x01\x1f\x7f end");
    char *out = to_json(QOBJECT(s));

    g_assert_cmpstr(out, ==,
                    "\"q\\\" b\\\\ /\\b\\f\\n\\r\\t \\u0001\\u001F\\u007F end\"");
    g_free(out);
    qobject_unref(s);

    /* Valid UTF-8 passes through; invalid bytes become U+FFFD. */
    s = qstring_from_str("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|\xff|\xc3|"
                         "\xed\xa0\x80|\xc0\xaf");
    out = to_json(QOBJECT(s));
    g_assert_cmpstr(out, ==, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|\\uFFFD|"
                    "\\uFFFD|\\uFFFD\\uFFFD\\uFFFD|\\uFFFD\\uFFFD\"");
    g_free(out);
    qobject_unref(s);
}

static void test_write_numbers(void)
{
    static const struct {
        double d;
        const char *text;
    } doubles[] = {
        { 0.1, "0.1" }, { 1.0, "1.0" }, { -2.5, "-2.5" }, { 1e300, "1e+300" },
        { 123456789.0, "123456789.0" }, { 1.0 / 3, "0.3333333333333333" },
        { 5e-324, "4.94065645841247e-324" },
    };
    QList *l = qlist_new();
    char *out;

    qlist_append_int(l, INT64_MIN);
    qlist_append_int(l, INT64_MAX);
    qlist_append_uint(l, UINT64_MAX);
    qlist_append_double(l, INFINITY);
    qlist_append_double(l, NAN);
    out = to_json(QOBJECT(l));
    g_assert_cmpstr(out, ==, "[-9223372036854775808, 9223372036854775807, "
                    "18446744073709551615, null, null]");
    g_free(out);
    qobject_unref(l);

    for (size_t i = 0; i < G_N_ELEMENTS(doubles); i++) {
        QNum *n = qnum_from_double(doubles[i].d);
        QObject *back;

        out = to_json(QOBJECT(n));
        g_assert_cmpstr(out, ==, doubles[i].text);
        /* And it reads back as the same double. */
        back = qobject_from_json(out, NULL);
        g_assert_cmpint(qobject_to(QNum, back)->kind, ==, QNUM_DOUBLE);
        g_assert_cmpfloat(qnum_get_double(qobject_to(QNum, back)), ==,
                          doubles[i].d);
        qobject_unref(back);
        g_free(out);
        qobject_unref(n);
    }
}

static void test_write_pretty(void)
{
    QDict *d = qdict_from_json("{'a': 1, 'b': [true, null, {}], 'c': {},"
                               " 'd': [], 'e': {'f': 'g'}}", NULL);
    GString *s = qobject_to_json_pretty(QOBJECT(d), true);

    g_assert_cmpstr(s->str, ==,
                    "{\n"
                    "    \"a\": 1,\n"
                    "    \"b\": [\n"
                    "        true,\n"
                    "        null,\n"
                    "        {}\n"
                    "    ],\n"
                    "    \"c\": {},\n"
                    "    \"d\": [],\n"
                    "    \"e\": {\n"
                    "        \"f\": \"g\"\n"
                    "    }\n"
                    "}");
    g_string_free(s, true);
    s = qobject_to_json(QOBJECT(d));
    g_assert_cmpstr(s->str, ==, "{\"a\": 1, \"b\": [true, null, {}], "
                    "\"c\": {}, \"d\": [], \"e\": {\"f\": \"g\"}}");
    g_string_free(s, true);
    qobject_unref(d);
}

/* ---- parser: values ---- */

static void test_parse_literals(void)
{
    assert_reformat("true", "true");
    assert_reformat(" false ", "false");
    assert_reformat("null", "null");
    assert_reformat("\"\"", "\"\"");
    assert_reformat("[]", "[]");
    assert_reformat("{}", "{}");
    assert_reformat(" { \"a\" : [ 1 , { } , [ ] ] , \"b\" : null } ",
                    "{\"a\": [1, {}, []], \"b\": null}");
    assert_parse_error("tru", "invalid keyword");
    assert_parse_error("True", "invalid keyword");
    assert_parse_error("nul1", "invalid keyword");
    assert_parse_error("", "Expecting a JSON value");
    assert_parse_error("   \n ", "Expecting a JSON value");
    assert_parse_error("1 2", "at most one");
    assert_parse_error("{} x", "invalid keyword");
}

static void assert_number(const char *text, QNumKind kind, const char *out)
{
    GError *err = NULL;
    QObject *obj = qobject_from_json(text, &err);
    QNum *n = qobject_to(QNum, obj);
    char *s;

    g_assert_no_error(err);
    g_assert_nonnull(n);
    g_assert_cmpint(n->kind, ==, kind);
    s = to_json(obj);
    g_assert_cmpstr(s, ==, out);
    g_free(s);
    qobject_unref(obj);
}

static void test_parse_numbers(void)
{
    assert_number("0", QNUM_I64, "0");
    assert_number("-0", QNUM_I64, "0");
    assert_number("42", QNUM_I64, "42");
    assert_number("-9223372036854775808", QNUM_I64, "-9223372036854775808");
    assert_number("9223372036854775807", QNUM_I64, "9223372036854775807");
    assert_number("9223372036854775808", QNUM_U64, "9223372036854775808");
    assert_number("18446744073709551615", QNUM_U64, "18446744073709551615");
    assert_number("18446744073709551616", QNUM_DOUBLE,
                  "1.8446744073709552e+19");
    assert_number("-9223372036854775809", QNUM_DOUBLE,
                  "-9.223372036854776e+18");
    assert_number("1.5", QNUM_DOUBLE, "1.5");
    assert_number("-0.25", QNUM_DOUBLE, "-0.25");
    assert_number("1e3", QNUM_DOUBLE, "1000.0");
    assert_number("1E+3", QNUM_DOUBLE, "1000.0");
    assert_number("2.5e-3", QNUM_DOUBLE, "0.0025");
    assert_number("0.1", QNUM_DOUBLE, "0.1");
    assert_number("1e-400", QNUM_DOUBLE, "0.0");

    assert_parse_error("01", NULL);
    assert_parse_error("1.", "invalid number");
    assert_parse_error(".5", "stray '.'");
    assert_parse_error("-", "invalid number");
    assert_parse_error("--1", "invalid number");
    assert_parse_error("1e", "invalid number");
    assert_parse_error("1e+", "invalid number");
    assert_parse_error("+1", "stray '+'");
    assert_parse_error("0x10", NULL);
    assert_parse_error("1.2.3", "invalid number");
    assert_parse_error("1e999", "out of range");
    assert_parse_error("-1e999", "out of range");
}

static void test_parse_strings(void)
{
    assert_reformat("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"",
                    "\"\\\" \\\\ / \\b \\f \\n \\r \\t\"");
    assert_reformat("\"\\u00e9\\u20AC\\uD83D\\uDE00\"",
                    "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
    assert_reformat("\"\\u0001\\u007f\"", "\"\\u0001\\u007F\"");
    /* QEMU's extensions: single quotes, and \' in both kinds. */
    assert_reformat("'it\\'s'", "\"it's\"");
    assert_reformat("'say \"hi\"'", "\"say \\\"hi\\\"\"");
    assert_reformat("\"a'b\\'c\"", "\"a'b'c\"");
    assert_reformat("{'k': 'v'}", "{\"k\": \"v\"}");
    /* Raw UTF-8. */
    assert_reformat("\"\xc3\xa9\xf0\x9f\x98\x80\"",
                    "\"\xc3\xa9\xf0\x9f\x98\x80\"");

    assert_parse_error("\"\\u0000\"", "\\u0000");
    assert_parse_error("\"\\uD800\"", "surrogate");
    assert_parse_error("\"\\uD800x\"", "surrogate");
    assert_parse_error("\"\\uD800\\u0041\"", "surrogate");
    assert_parse_error("\"\\uDC00\"", "surrogate");
    assert_parse_error("\"\\u12\"", "four hex digits");
    assert_parse_error("\"\\x41\"", "invalid escape");
    assert_parse_error("\"a\nb\"", "control character");
    assert_parse_error("\"a\tb\"", "control character");
    assert_parse_error("\"abc", "end of input");
    assert_parse_error("'abc\"", "end of input");
}

static void test_parse_utf8(void)
{
    static const char *const bad[] = {
        "\"\xc3\x28\"",             /* bad continuation */
        "\"\xc3\"",                 /* truncated */
        "\"\xc0\xaf\"",             /* overlong */
        "\"\xe0\x80\xaf\"",         /* overlong */
        "\"\xed\xa0\x80\"",         /* UTF-16 surrogate */
        "\"\xf4\x90\x80\x80\"",     /* above U+10FFFF */
        "\"\xf8\x88\x80\x80\x80\"", /* 5-byte form */
        "\"\x80\"",                 /* lone continuation */
        "\"\xfe\"",
        "\"\xff\"",
    };

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        assert_parse_error(bad[i], NULL);
    }
}

static void test_parse_structure_errors(void)
{
    assert_parse_error("{\"a\" 1}", "expecting ':'");
    assert_parse_error("{\"a\": 1,}", "expecting string key");
    assert_parse_error("{1: 2}", "key is not a string");
    assert_parse_error("{\"a\": 1 \"b\": 2}", "expecting ',' or '}'");
    assert_parse_error("[1,]", "expecting value");
    assert_parse_error("[1 2]", "expecting ',' or ']'");
    assert_parse_error("[1}", "expecting ',' or ']'");
    assert_parse_error("{\"a\": 1]", "expecting ',' or '}'");
    assert_parse_error("}", "expecting value");
    assert_parse_error(":", "expecting value");
    assert_parse_error("{\"a\": 1, \"a\": 2}", "duplicate key 'a'");
    assert_parse_error("[", "end of input");
    assert_parse_error("{\"a\":", "end of input");
    assert_parse_error("@", "stray '@'");
}

static void test_round_trip(void)
{
    static const char *const texts[] = {
        "{\"execute\": \"qmp_capabilities\", \"arguments\": "
        "{\"enable\": [\"oob\"]}, \"id\": 1}",
        "[0, -1, 18446744073709551615, -9223372036854775808, 0.5, "
        "1e+300, true, false, null, \"\", \"\\u0001\", [], {}, [[[]]]]",
        "{\"z\": 1, \"a\": {\"y\": [1, {\"b\": null}], \"c\": \"d\"}}",
    };

    for (size_t i = 0; i < G_N_ELEMENTS(texts); i++) {
        QObject *a = qobject_from_json(texts[i], NULL);
        char *s = to_json(a);
        QObject *b = qobject_from_json(s, NULL);

        g_assert_cmpstr(s, ==, texts[i]);
        g_assert_true(qobject_is_equal(a, b));
        g_free(s);
        qobject_unref(a);
        qobject_unref(b);
    }
}

/* ---- streaming and recovery ---- */

static void test_stream_values(void)
{
    assert_stream("{\"execute\": \"a\"}{\"execute\": \"b\"}\r\n[1, 2] 3 "
                  "\"s\" true null 'q'  4",
                  "{\"execute\": \"a\"}\n{\"execute\": \"b\"}\n[1, 2]\n3\n"
                  "\"s\"\ntrue\nnull\n\"q\"\n4\n");
    assert_stream("{\"a\": \"\\uD83D\\uDE00\xc3\xa9\", \"b\": -1.5e2}",
                  "{\"a\": \"\xf0\x9f\x98\x80\xc3\xa9\", \"b\": -150.0}\n");
    assert_stream("", "");
    assert_stream(" \n\t\r ", "");
}

static void test_stream_recovery(void)
{
    /* Garbage, then a valid object: an error, then the object. */
    assert_stream("garbage{\"a\": 1}", "E0\n{\"a\": 1}\n");
    assert_stream("@#!\n{\"a\": 1}", "E0\n{\"a\": 1}\n");
    /* A bad byte inside a value: resync at the next '{'. */
    assert_stream("{\"a\": @, \"b\": 1}\n{\"c\": 2}", "E0\n{\"c\": 2}\n");
    /* A grammar error skips the rest of the value, brackets balanced. */
    assert_stream("{\"a\" 1, \"b\": {\"c\": [1, {}]}}{\"d\": 3}",
                  "E0\n{\"d\": 3}\n");
    assert_stream("[1,,[2]] [3]", "E0\n[3]\n");
    /* Stray closers are reported one by one. */
    assert_stream("]]}{\"a\": 1}", "E0\nE0\nE0\n{\"a\": 1}\n");
    /* A raw newline in a string. */
    assert_stream("{\"a\": \"x\ny\"}\n{\"b\": 1}", "E0\n{\"b\": 1}\n");
    /* 0xFF resets the parser anywhere, even inside a string. */
    assert_stream("{\"a\": [1, 2\xff{\"b\": 1}", "E0\n{\"b\": 1}\n");
    assert_stream("{\"a\": \"xy\xff{\"b\": 1}", "E0\n{\"b\": 1}\n");
    assert_stream("\xff{\"b\": 1}", "E0\n{\"b\": 1}\n");
    /* Invalid UTF-8 inside a string is an error for that value only. */
    assert_stream("{\"a\": \"\xc3\x28\"}{\"b\": 1}", "E0\n{\"b\": 1}\n");
    /* A bad literal in a value. */
    assert_stream("{\"a\": tru}{\"b\": 1}", "E0\n{\"b\": 1}\n");
    assert_stream("{\"a\": 1.2.3}{\"b\": 1}", "E0\n{\"b\": 1}\n");
    /* Incomplete at the end. */
    assert_stream("{\"a\": [1", "E3\n");
    assert_stream("\"abc", "E3\n");
    assert_stream("{\"a\" 1", "E0\n");     /* already reported */
}

static void test_stream_depth(void)
{
    GString *in = g_string_new(NULL);
    GString *want = g_string_new(NULL);
    Sink s;

    /* Exactly the limit is fine. */
    for (int i = 0; i < JSON_PARSER_DEFAULT_MAX_DEPTH; i++) {
        g_string_append_c(in, '[');
    }
    for (int i = 0; i < JSON_PARSER_DEFAULT_MAX_DEPTH; i++) {
        g_string_append_c(in, ']');
    }
    g_string_append_printf(want, "%s\n", in->str);
    assert_stream(in->str, want->str);

    /* One more is an error; the value is skipped and parsing goes on. */
    g_string_prepend_c(in, '[');
    g_string_append(in, "]{\"ok\": 1}");
    sink_init(&s);
    feed_str(&s, in->str);
    g_assert_cmpint(s.errors, ==, 1);
    g_assert_cmpint(s.last_code, ==, QOBJECT_JSON_ERROR_DEPTH);
    g_assert_cmpstr(s.log->str, ==, "E1\n{\"ok\": 1}\n");
    sink_destroy(&s);

    /* Very deep input: no stack overflow, bounded memory. */
    sink_init(&s);
    for (int i = 0; i < 200000; i++) {
        feed_str(&s, "{\"a\":[");
    }
    for (int i = 0; i < 200000; i++) {
        feed_str(&s, "]}");
    }
    feed_str(&s, "[7]");
    g_assert_cmpstr(s.log->str, ==, "E1\n[7]\n");
    sink_destroy(&s);

    /* A smaller configured limit. */
    sink_init(&s);
    json_stream_parser_set_max_depth(s.parser, 2);
    feed_str(&s, "[[1]] [[[1]]] {\"a\": {\"b\": {}}} [1]");
    g_assert_cmpstr(s.log->str, ==, "[[1]]\nE1\nE1\n[1]\n");
    sink_destroy(&s);

    g_string_free(in, true);
    g_string_free(want, true);
}

static void test_stream_size_limit(void)
{
    Sink s;
    char *big;

    /* One huge string token. */
    sink_init(&s);
    json_stream_parser_set_max_size(s.parser, 1000);
    big = g_strnfill(5000, 'x');
    feed_str(&s, "{\"execute\": \"");
    feed_str(&s, big);
    feed_str(&s, "\"}\n{\"execute\": \"ok\"}");
    g_assert_cmpint(s.errors, ==, 1);
    g_assert_cmpint(s.last_code, ==, QOBJECT_JSON_ERROR_TOO_LARGE);
    g_assert_cmpstr(s.log->str, ==, "E2\n{\"execute\": \"ok\"}\n");
    sink_destroy(&s);

    /* Many small tokens. */
    sink_init(&s);
    json_stream_parser_set_max_tokens(s.parser, 100);
    feed_str(&s, "[");
    for (int i = 0; i < 200; i++) {
        feed_str(&s, "1,");
    }
    feed_str(&s, "1]\n[2]");
    g_assert_cmpstr(s.log->str, ==, "E2\n[2]\n");
    sink_destroy(&s);

    /* Just under the limit is fine. */
    sink_init(&s);
    json_stream_parser_set_max_size(s.parser, 1000);
    feed_str(&s, "\"");
    feed_str(&s, big + 4100);
    feed_str(&s, "\"");
    g_assert_cmpint(s.values, ==, 1);
    sink_destroy(&s);
    g_free(big);
}

/* The default limit rejects a value over 64 MiB (a QMP line of 100 MiB). */
static void test_stream_default_size_limit(void)
{
    const size_t chunk = MiB;
    char *buf = g_malloc(chunk);
    Sink s;

    memset(buf, 'a', chunk);
    sink_init(&s);
    feed_str(&s, "{\"execute\": \"");
    for (size_t n = 0; n < 100 * MiB && !s.errors; n += chunk) {
        json_stream_parser_feed(s.parser, buf, chunk);
    }
    g_assert_cmpint(s.errors, ==, 1);
    g_assert_cmpint(s.last_code, ==, QOBJECT_JSON_ERROR_TOO_LARGE);
    g_assert_cmpint(s.values, ==, 0);
    sink_destroy(&s);
    g_free(buf);
}

static void test_stream_flush(void)
{
    Sink s;

    sink_init(&s);
    feed_str(&s, "123");
    g_assert_cmpint(s.values, ==, 0);       /* might go on: "1234" */
    json_stream_parser_flush(s.parser);
    feed_str(&s, "nul");
    json_stream_parser_flush(s.parser);
    feed_str(&s, "{\"a\": 1");
    json_stream_parser_flush(s.parser);
    feed_str(&s, "[1]");                    /* reset after flush */
    g_assert_cmpstr(s.log->str, ==, "123\nE0\nE3\n[1]\n");
    sink_destroy(&s);
}

static void test_stream_free_in_callback(void)
{
    Sink s;

    sink_init(&s);
    s.free_on_emit = true;
    feed_str(&s, "[1] [2] [3]");            /* the parser is gone after [1] */
    g_assert_cmpint(s.values, ==, 1);
    s.parser = NULL;
    sink_destroy(&s);

    sink_init(&s);
    s.free_on_emit = true;
    feed_str(&s, "[1");
    json_stream_parser_flush(s.parser);     /* frees on the error */
    g_assert_cmpint(s.errors, ==, 1);
    s.parser = NULL;
    sink_destroy(&s);
}

static void test_stream_reset(void)
{
    Sink s;

    sink_init(&s);
    feed_str(&s, "{\"a\": [1, \"x");
    json_stream_parser_reset(s.parser);
    feed_str(&s, "{\"b\": 2}");
    g_assert_cmpstr(s.log->str, ==, "{\"b\": 2}\n");
    sink_destroy(&s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/json/write/escapes", test_write_escapes);
    g_test_add_func("/json/write/numbers", test_write_numbers);
    g_test_add_func("/json/write/pretty", test_write_pretty);
    g_test_add_func("/json/parse/literals", test_parse_literals);
    g_test_add_func("/json/parse/numbers", test_parse_numbers);
    g_test_add_func("/json/parse/strings", test_parse_strings);
    g_test_add_func("/json/parse/utf8", test_parse_utf8);
    g_test_add_func("/json/parse/structure-errors",
                    test_parse_structure_errors);
    g_test_add_func("/json/round-trip", test_round_trip);
    g_test_add_func("/json/stream/values", test_stream_values);
    g_test_add_func("/json/stream/recovery", test_stream_recovery);
    g_test_add_func("/json/stream/depth", test_stream_depth);
    g_test_add_func("/json/stream/size-limit", test_stream_size_limit);
    g_test_add_func("/json/stream/default-size-limit",
                    test_stream_default_size_limit);
    g_test_add_func("/json/stream/flush", test_stream_flush);
    g_test_add_func("/json/stream/free-in-callback",
                    test_stream_free_in_callback);
    g_test_add_func("/json/stream/reset", test_stream_reset);
    return g_test_run();
}

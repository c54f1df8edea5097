/*
 * libFuzzer target: QMP input handling.
 *
 * The input is fed to the streaming JSON parser (split into chunks whose
 * sizes come from the input itself) and every complete value is dispatched
 * to the test schema's commands (tests/unit/qapi/test-schema.json), as the
 * monitor does with real ones.  Oracles besides the sanitizers:
 *   - feeding the same bytes in one chunk gives the same replies;
 *   - a value that parses re-serialises (compact and pretty) to text that
 *     parses back to an equal value.
 */
#include "qemu/osdep.h"
#include "qobject/json-parser.h"
#include "qobject/qjson.h"
#include "qapi/qmp-dispatch.h"
#include "test-qapi-commands.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static QmpCommandList commands;

typedef struct Run {
    GString *replies;       /* every reply, one per line */
    bool allow_oob;
} Run;

static void check_round_trip(QObject *value, bool pretty)
{
    GString *text = qobject_to_json_pretty(value, pretty);
    GError *err = NULL;
    QObject *back = qobject_from_json_len(text->str, text->len, &err);

    if (!back || !qobject_is_equal(value, back)) {
        fprintf(stderr, "round trip failed: %s (%s)\n", text->str,
                err ? err->message : "not equal");
        abort();
    }
    qobject_unref(back);
    g_string_free(text, true);
}

static void emit(void *opaque, QObject *value, GError *err)
{
    Run *run = opaque;
    QDict *rsp;

    if (err) {
        rsp = qmp_error_response(err);
    } else {
        check_round_trip(value, false);
        check_round_trip(value, true);
        rsp = qmp_dispatch(&commands, value, run->allow_oob);
        qobject_unref(value);
    }
    if (rsp) {
        qobject_to_json_append(run->replies, QOBJECT(rsp), false);
        qobject_unref(rsp);
    }
    g_string_append_c(run->replies, '\n');
}

/* Feeds @data in chunks of 1..16 bytes (taken from @data) or all at once. */
static char *run_parser(const uint8_t *data, size_t size, bool chunked)
{
    Run run = { .replies = g_string_new(NULL), .allow_oob = size & 1 };
    JsonStreamParser *p = json_stream_parser_new(emit, &run);
    size_t i = 0;

    /* Small limits so the fuzzer reaches them. */
    json_stream_parser_set_max_size(p, 4096);
    json_stream_parser_set_max_depth(p, 64);
    json_stream_parser_set_max_tokens(p, 512);
    while (i < size) {
        size_t n = chunked ? (size_t)(data[i] & 15) + 1 : size;

        n = MIN(n, size - i);
        json_stream_parser_feed(p, (const char *)data + i, n);
        i += n;
    }
    json_stream_parser_flush(p);
    json_stream_parser_free(p);
    return g_string_free(run.replies, false);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *whole, *chunked;

    if (!commands.by_name) {
        test_qmp_init_marshal(&commands);
    }
    whole = run_parser(data, size, false);
    chunked = run_parser(data, size, true);
    if (strcmp(whole, chunked)) {
        fprintf(stderr, "chunking changed the result:\n%s\n---\n%s\n", whole,
                chunked);
        abort();
    }
    g_free(whole);
    g_free(chunked);
    return 0;
}

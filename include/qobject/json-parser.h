/*
 * Streaming JSON parser, as QMP needs it: bytes arrive in arbitrary
 * chunks; every complete top-level value is handed to a callback as soon
 * as its last byte arrives; bad input produces an error for that value and
 * the parser carries on with what follows.
 *
 * Accepted syntax: RFC 8259 JSON plus two QEMU extensions that QMP
 * clients rely on: strings may be single-quoted ('it\'s'), and "\'" is a
 * valid escape in both kinds of string.  Numbers become QNum: an integer
 * literal that fits int64 is signed, one that fits only uint64 is
 * unsigned, anything else (fraction, exponent, larger) is a double.
 * Strings must be valid UTF-8 (raw or via \u escapes, surrogate pairs
 * combined); "\u0000", lone surrogates, raw control characters and
 * duplicate keys in one object are errors.
 *
 * Error recovery:
 *   - A syntax error inside a value (",}" or a missing ':' ...) reports one
 *     error and skips the rest of that value, tracking brackets, so the
 *     next value is parsed normally.
 *   - A byte that cannot appear where it is (e.g. '@', a raw control
 *     character inside a string, any 0xFE/0xFF byte) reports an error and
 *     drops everything up to the next '{', '[', control character (such as
 *     a newline) or 0xFE/0xFF byte.  A client can always send 0xFF to bring
 *     the parser back into a known state, as with QEMU.
 *   - Nesting deeper than max_depth: QOBJECT_JSON_ERROR_DEPTH, then the
 *     value is skipped like a syntax error.  Parsing never recurses, so no
 *     input can exhaust the stack.
 *   - A value longer than max_size bytes or with more than max_tokens
 *     tokens: QOBJECT_JSON_ERROR_TOO_LARGE, the partial value is dropped
 *     and the parser resynchronises as after a bad byte.  Memory use stays
 *     bounded by the limits.  A server should treat this code as fatal for
 *     the connection.
 */
#ifndef QOBJECT_JSON_PARSER_H
#define QOBJECT_JSON_PARSER_H

#include "qobject/qobject.h"

#define QOBJECT_JSON_ERROR qobject_json_error_quark()
GQuark qobject_json_error_quark(void);

typedef enum QObjectJsonError {
    QOBJECT_JSON_ERROR_SYNTAX,      /* malformed JSON */
    QOBJECT_JSON_ERROR_DEPTH,       /* nesting deeper than max_depth */
    QOBJECT_JSON_ERROR_TOO_LARGE,   /* value over max_size / max_tokens */
    QOBJECT_JSON_ERROR_INCOMPLETE,  /* input ended inside a value */
} QObjectJsonError;

#define JSON_PARSER_DEFAULT_MAX_DEPTH   1024
#define JSON_PARSER_DEFAULT_MAX_SIZE    (64 * MiB)
#define JSON_PARSER_DEFAULT_MAX_TOKENS  (2 * 1024 * 1024)

/*
 * Called once per complete top-level value: exactly one of @value and
 * @err is non-NULL, and the callee owns it.  The callback may call
 * json_stream_parser_free() on the parser that called it (the parser then
 * stops after the callback returns and ignores the rest of the chunk) but
 * must not feed it.
 */
typedef void JsonEmitFunc(void *opaque, QObject *value, GError *err);

typedef struct JsonStreamParser JsonStreamParser;

JsonStreamParser *json_stream_parser_new(JsonEmitFunc *emit, void *opaque);
void json_stream_parser_free(JsonStreamParser *parser);

/* Limits; 0 restores the default.  Change them between values only. */
void json_stream_parser_set_max_depth(JsonStreamParser *parser, size_t depth);
void json_stream_parser_set_max_size(JsonStreamParser *parser, size_t size);
void json_stream_parser_set_max_tokens(JsonStreamParser *parser,
                                       size_t tokens);

/* Feeds @len bytes; values completed by them are emitted before return. */
void json_stream_parser_feed(JsonStreamParser *parser, const char *buf,
                             size_t len);

/*
 * End of input: completes a pending top-level number or keyword (which
 * needs a following byte to end), reports an unfinished value as
 * QOBJECT_JSON_ERROR_INCOMPLETE, and resets the parser.
 */
void json_stream_parser_flush(JsonStreamParser *parser);

/* Drops any partial value without reporting it. */
void json_stream_parser_reset(JsonStreamParser *parser);

#endif

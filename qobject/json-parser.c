/*
 * Streaming JSON parser.  See include/qobject/json-parser.h for what it
 * accepts and how it recovers from errors.
 *
 * Structure: a byte-at-a-time lexer (a small state machine, so input may
 * be split anywhere, even inside a \u escape) turns bytes into tokens; a
 * push parser with an explicit stack of open containers turns tokens into
 * QObjects.  Nothing recurses on input nesting, and a partially built value
 * is always reachable from stack[0] so an error can drop it with a single
 * unref.
 */
#include "qemu/osdep.h"
#include <math.h>
#include "qobject/json-parser.h"
#include "qobject/qbool.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"
#include "qobject/qnull.h"
#include "qobject/qnum.h"
#include "qobject/qstring.h"

G_DEFINE_QUARK(qobject-json-error-quark, qobject_json_error)

typedef enum LexState {
    LEX_START,          /* between tokens */
    LEX_STRING,         /* inside quotes */
    LEX_STRING_ESC,     /* after a backslash */
    LEX_STRING_HEX,     /* inside the four digits of \uXXXX */
    LEX_NUMBER,
    LEX_KEYWORD,
    LEX_RECOVERY,       /* dropping bytes after a bad one */
} LexState;

typedef enum TokenType {
    TOK_LBRACE,
    TOK_RBRACE,
    TOK_LSQUARE,
    TOK_RSQUARE,
    TOK_COLON,
    TOK_COMMA,
    TOK_SCALAR,         /* string, number or keyword; carries a QObject */
} TokenType;

/* What an open container expects next. */
typedef enum FrameState {
    DICT_KEY_OR_END,    /* just after '{' */
    DICT_KEY,           /* after ',' */
    DICT_COLON,
    DICT_VALUE,
    DICT_COMMA_OR_END,
    LIST_VALUE_OR_END,  /* just after '[' */
    LIST_VALUE,         /* after ',' */
    LIST_COMMA_OR_END,
} FrameState;

typedef struct Frame {
    /*
     * The open dict or list.  stack[0] owns the top-level value; deeper
     * containers are already stored in their parent and are borrowed.
     */
    QObject *container;
    char *key;          /* member name awaiting its value (dicts) */
    FrameState state;
} Frame;

struct JsonStreamParser {
    JsonEmitFunc *emit;
    void *opaque;

    size_t max_depth;
    size_t max_size;
    size_t max_tokens;

    LexState lex;
    char quote;                 /* '"' or '\'' while in a string */
    int hex_left;               /* digits still due in \uXXXX */
    GString *tok;               /* text of the token being lexed */

    GArray *stack;              /* of Frame: the open containers */
    size_t skip_depth;          /* > 0: skipping a broken value's rest */
    size_t value_bytes;         /* bytes of the current value so far */
    size_t value_tokens;        /* tokens of the current value so far */

    bool in_feed;               /* feed() or flush() is running */
    bool free_pending;          /* freed from inside the callback */
};

/* A token buffer that grew past this is released rather than reused. */
#define TOK_KEEP_ALLOC (64 * KiB)

#define PARSE_ERROR_PREFIX "JSON parse error, "

/* ---- output and state resets ---- */

static void emit_value(JsonStreamParser *p, QObject *value)
{
    p->emit(p->opaque, value, NULL);
}

static void G_GNUC_PRINTF(3, 4)
emit_error(JsonStreamParser *p, QObjectJsonError code, const char *fmt, ...)
{
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    p->emit(p->opaque, NULL,
            g_error_new(QOBJECT_JSON_ERROR, code, PARSE_ERROR_PREFIX "%s",
                        msg));
    g_free(msg);
}

static void tok_reset(JsonStreamParser *p)
{
    if (p->tok->allocated_len > TOK_KEEP_ALLOC) {
        g_string_free(p->tok, true);
        p->tok = g_string_new(NULL);
    } else {
        g_string_truncate(p->tok, 0);
    }
}

/* Drops the partially built value, if any. */
static void discard_stack(JsonStreamParser *p)
{
    for (guint i = 0; i < p->stack->len; i++) {
        g_free(g_array_index(p->stack, Frame, i).key);
    }
    if (p->stack->len) {
        qobject_unref(g_array_index(p->stack, Frame, 0).container);
    }
    g_array_set_size(p->stack, 0);
}

/* The current top-level value is over (emitted, reported or dropped). */
static void value_done(JsonStreamParser *p)
{
    p->value_bytes = 0;
    p->value_tokens = 0;
}

static bool in_value(const JsonStreamParser *p)
{
    return p->stack->len || p->skip_depth ||
           (p->lex != LEX_START && p->lex != LEX_RECOVERY);
}

/*
 * A byte that cannot be where it is.  The lexer has lost track of the
 * token structure, so drop bytes until a point where a value is likely to
 * start (see LEX_RECOVERY).
 */
static void G_GNUC_PRINTF(2, 3)
lex_error(JsonStreamParser *p, const char *fmt, ...)
{
    bool report = !p->skip_depth;   /* a skipped value was reported */
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    discard_stack(p);
    p->skip_depth = 0;
    p->lex = LEX_RECOVERY;
    tok_reset(p);
    value_done(p);
    if (report) {
        emit_error(p, QOBJECT_JSON_ERROR_SYNTAX, "%s", msg);
    }
    g_free(msg);
}

static void too_large(JsonStreamParser *p, const char *what, size_t limit)
{
    discard_stack(p);
    p->skip_depth = 0;
    p->lex = LEX_RECOVERY;
    tok_reset(p);
    value_done(p);
    emit_error(p, QOBJECT_JSON_ERROR_TOO_LARGE, "value exceeds %zu %s",
               limit, what);
}

/*
 * A well-formed token in the wrong place (or a malformed literal).  The
 * lexer is still in step, so skip the rest of the value by counting
 * brackets; @type is the offending token, which may itself open or close
 * one.
 */
static void G_GNUC_PRINTF(4, 5)
parse_error(JsonStreamParser *p, TokenType type, QObjectJsonError code,
            const char *fmt, ...)
{
    size_t depth = p->stack->len;
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    discard_stack(p);
    if (depth) {
        if (type == TOK_LBRACE || type == TOK_LSQUARE) {
            depth++;
        } else if (type == TOK_RBRACE || type == TOK_RSQUARE) {
            depth--;
        }
    }
    p->skip_depth = depth;
    if (!depth) {
        value_done(p);
    }
    emit_error(p, code, "%s", msg);
    g_free(msg);
}

/* ---- the push parser: tokens -> QObjects ---- */

static Frame *top_frame(JsonStreamParser *p)
{
    return p->stack->len ?
        &g_array_index(p->stack, Frame, p->stack->len - 1) : NULL;
}

/* Stores a finished value in the open container, or emits it. */
static void add_value(JsonStreamParser *p, QObject *value)
{
    Frame *f = top_frame(p);

    if (!f) {
        value_done(p);
        emit_value(p, value);
        return;
    }
    if (f->state == DICT_VALUE) {
        qdict_put_obj(qobject_to(QDict, f->container), f->key, value);
        g_free(f->key);
        f->key = NULL;
        f->state = DICT_COMMA_OR_END;
    } else {
        qlist_append_obj(qobject_to(QList, f->container), value);
        f->state = LIST_COMMA_OR_END;
    }
}

static void open_container(JsonStreamParser *p, TokenType type)
{
    Frame f = { .key = NULL };

    if (p->stack->len >= p->max_depth) {
        parse_error(p, type, QOBJECT_JSON_ERROR_DEPTH,
                    "nesting deeper than %zu", p->max_depth);
        return;
    }
    if (type == TOK_LBRACE) {
        f.container = QOBJECT(qdict_new());
        f.state = DICT_KEY_OR_END;
    } else {
        f.container = QOBJECT(qlist_new());
        f.state = LIST_VALUE_OR_END;
    }
    if (p->stack->len) {
        /* The parent holds the only reference from now on. */
        add_value(p, f.container);
    }
    g_array_append_val(p->stack, f);
}

static void close_container(JsonStreamParser *p)
{
    QObject *done = top_frame(p)->container;

    g_array_set_size(p->stack, p->stack->len - 1);
    if (!p->stack->len) {
        value_done(p);
        emit_value(p, done);
    }
}

static bool starts_value(TokenType type)
{
    return type == TOK_SCALAR || type == TOK_LBRACE || type == TOK_LSQUARE;
}

/* A value token where one is expected: @value is the scalar's QObject. */
static void take_value(JsonStreamParser *p, TokenType type, QObject *value)
{
    if (type == TOK_SCALAR) {
        add_value(p, value);
    } else {
        open_container(p, type);
    }
}

static void take_key(JsonStreamParser *p, Frame *f, QObject *value)
{
    QString *qs = qobject_to(QString, value);
    QDict *dict = qobject_to(QDict, f->container);

    if (!qs) {
        qobject_unref(value);
        parse_error(p, TOK_SCALAR, QOBJECT_JSON_ERROR_SYNTAX,
                    "object key is not a string");
        return;
    }
    if (qdict_haskey(dict, qstring_get_str(qs))) {
        char *key = g_strdup(qstring_get_str(qs));

        qobject_unref(value);
        parse_error(p, TOK_SCALAR, QOBJECT_JSON_ERROR_SYNTAX,
                    "duplicate key '%s'", key);
        g_free(key);
        return;
    }
    f->key = g_strdup(qstring_get_str(qs));
    f->state = DICT_COLON;
    qobject_unref(value);
}

static void skip_token(JsonStreamParser *p, TokenType type)
{
    if (type == TOK_LBRACE || type == TOK_LSQUARE) {
        p->skip_depth++;
    } else if (type == TOK_RBRACE || type == TOK_RSQUARE) {
        if (--p->skip_depth == 0) {
            value_done(p);
        }
    }
}

/* Consumes one token; @value is the QObject of a TOK_SCALAR (owned). */
static void handle_token(JsonStreamParser *p, TokenType type, QObject *value)
{
    Frame *f;

    if (++p->value_tokens > p->max_tokens) {
        qobject_unref(value);
        too_large(p, "tokens", p->max_tokens);
        return;
    }
    if (p->skip_depth) {
        qobject_unref(value);
        skip_token(p, type);
        return;
    }
    f = top_frame(p);
    if (!f) {
        if (starts_value(type)) {
            take_value(p, type, value);
        } else {
            parse_error(p, type, QOBJECT_JSON_ERROR_SYNTAX,
                        "expecting value");
        }
        return;
    }

    switch (f->state) {
    case DICT_KEY_OR_END:
    case DICT_KEY:
        if (type == TOK_SCALAR) {
            take_key(p, f, value);
            return;
        }
        if (type == TOK_RBRACE && f->state == DICT_KEY_OR_END) {
            close_container(p);
            return;
        }
        break;
    case DICT_COLON:
        if (type == TOK_COLON) {
            f->state = DICT_VALUE;
            return;
        }
        break;
    case DICT_VALUE:
    case LIST_VALUE:
    case LIST_VALUE_OR_END:
        if (starts_value(type)) {
            take_value(p, type, value);
            return;
        }
        if (type == TOK_RSQUARE && f->state == LIST_VALUE_OR_END) {
            close_container(p);
            return;
        }
        break;
    case DICT_COMMA_OR_END:
    case LIST_COMMA_OR_END:
        if (type == TOK_COMMA) {
            f->state = f->state == DICT_COMMA_OR_END ? DICT_KEY : LIST_VALUE;
            return;
        }
        if ((type == TOK_RBRACE && f->state == DICT_COMMA_OR_END) ||
            (type == TOK_RSQUARE && f->state == LIST_COMMA_OR_END)) {
            close_container(p);
            return;
        }
        break;
    }

    qobject_unref(value);
    switch (f->state) {
    case DICT_KEY_OR_END:
        parse_error(p, type, QOBJECT_JSON_ERROR_SYNTAX,
                    "expecting string key or '}'");
        break;
    case DICT_KEY:
        parse_error(p, type, QOBJECT_JSON_ERROR_SYNTAX,
                    "expecting string key");
        break;
    case DICT_COLON:
        parse_error(p, type, QOBJECT_JSON_ERROR_SYNTAX, "expecting ':'");
        break;
    case DICT_COMMA_OR_END:
        parse_error(p, type, QOBJECT_JSON_ERROR_SYNTAX,
                    "expecting ',' or '}'");
        break;
    case LIST_COMMA_OR_END:
        parse_error(p, type, QOBJECT_JSON_ERROR_SYNTAX,
                    "expecting ',' or ']'");
        break;
    default:
        parse_error(p, type, QOBJECT_JSON_ERROR_SYNTAX, "expecting value");
        break;
    }
}

/* ---- scalar tokens: text -> QObject ---- */

static unsigned hex4(const char *s)
{
    unsigned v = 0;

    for (int i = 0; i < 4; i++) {
        v = (v << 4) | g_ascii_xdigit_value(s[i]);
    }
    return v;
}

/*
 * Decodes the raw text between the quotes.  The lexer already checked that
 * every backslash starts a complete, valid escape.
 */
static QString *decode_string(const char *s, size_t len, char **errmsg)
{
    GString *out = g_string_sized_new(len);
    size_t i = 0;

    while (i < len) {
        unsigned cp;

        if (s[i] != '\\') {
            g_string_append_c(out, s[i++]);
            continue;
        }
        i += 2;
        switch (s[i - 1]) {
        case 'b':
            g_string_append_c(out, '\b');
            continue;
        case 'f':
            g_string_append_c(out, '\f');
            continue;
        case 'n':
            g_string_append_c(out, '\n');
            continue;
        case 'r':
            g_string_append_c(out, '\r');
            continue;
        case 't':
            g_string_append_c(out, '\t');
            continue;
        case 'u':
            break;
        default:                        /* " ' \ / stand for themselves */
            g_string_append_c(out, s[i - 1]);
            continue;
        }
        cp = hex4(s + i);
        i += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            unsigned lo;

            if (i + 6 > len || s[i] != '\\' || s[i + 1] != 'u' ||
                (lo = hex4(s + i + 2)) < 0xDC00 || lo > 0xDFFF) {
                *errmsg = g_strdup("\\u escape is a lone high surrogate");
                goto fail;
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            *errmsg = g_strdup("\\u escape is a lone low surrogate");
            goto fail;
        } else if (cp == 0) {
            *errmsg = g_strdup("\\u0000 is not supported");
            goto fail;
        }
        g_string_append_unichar(out, cp);
    }
    if (!g_utf8_validate(out->str, out->len, NULL)) {
        *errmsg = g_strdup("string is not valid UTF-8");
        goto fail;
    }
    return qstring_from_gstring(out);

fail:
    g_string_free(out, true);
    return NULL;
}

/* Strict JSON number syntax: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool number_syntax_ok(const char *s, bool *is_integer)
{
    *is_integer = true;
    if (*s == '-') {
        s++;
    }
    if (*s == '0') {
        s++;
    } else if (g_ascii_isdigit(*s)) {
        while (g_ascii_isdigit(*s)) {
            s++;
        }
    } else {
        return false;
    }
    if (*s == '.') {
        *is_integer = false;
        s++;
        if (!g_ascii_isdigit(*s)) {
            return false;
        }
        while (g_ascii_isdigit(*s)) {
            s++;
        }
    }
    if (*s == 'e' || *s == 'E') {
        *is_integer = false;
        s++;
        if (*s == '+' || *s == '-') {
            s++;
        }
        if (!g_ascii_isdigit(*s)) {
            return false;
        }
        while (g_ascii_isdigit(*s)) {
            s++;
        }
    }
    return *s == '\0';
}

static QObject *parse_number(const char *s, char **errmsg)
{
    bool is_integer;
    double d;

    if (!number_syntax_ok(s, &is_integer)) {
        *errmsg = g_strdup_printf("invalid number '%.32s'", s);
        return NULL;
    }
    if (is_integer) {
        gint64 i;
        guint64 u;

        errno = 0;
        i = g_ascii_strtoll(s, NULL, 10);
        if (!errno) {
            return QOBJECT(qnum_from_int(i));
        }
        if (*s != '-') {
            errno = 0;
            u = g_ascii_strtoull(s, NULL, 10);
            if (!errno) {
                return QOBJECT(qnum_from_uint(u));
            }
        }
        /* Too big for any integer type: a double, as QEMU does. */
    }
    d = g_ascii_strtod(s, NULL);
    if (!isfinite(d)) {
        *errmsg = g_strdup_printf("number '%.32s' is out of range", s);
        return NULL;
    }
    return QOBJECT(qnum_from_double(d));
}

static QObject *parse_keyword(const char *s, char **errmsg)
{
    if (!strcmp(s, "true")) {
        return QOBJECT(qbool_from_bool(true));
    }
    if (!strcmp(s, "false")) {
        return QOBJECT(qbool_from_bool(false));
    }
    if (!strcmp(s, "null")) {
        return QOBJECT(qnull());
    }
    *errmsg = g_strdup_printf("invalid keyword '%.32s'", s);
    return NULL;
}

/* The lexer finished a string, number or keyword in p->tok. */
static void scalar_token(JsonStreamParser *p, LexState kind)
{
    char *errmsg = NULL;
    QObject *value;

    if (kind == LEX_STRING) {
        value = QOBJECT(decode_string(p->tok->str, p->tok->len, &errmsg));
    } else if (kind == LEX_NUMBER) {
        value = parse_number(p->tok->str, &errmsg);
    } else {
        value = parse_keyword(p->tok->str, &errmsg);
    }
    tok_reset(p);
    p->lex = LEX_START;
    if (value) {
        handle_token(p, TOK_SCALAR, value);
        return;
    }
    /* A bad literal is still one whole token: the lexer is in step. */
    if (p->skip_depth) {
        handle_token(p, TOK_SCALAR, NULL);
    } else {
        parse_error(p, TOK_SCALAR, QOBJECT_JSON_ERROR_SYNTAX, "%s", errmsg);
    }
    g_free(errmsg);
}

/* ---- the lexer: bytes -> tokens ---- */

static void lex_start(JsonStreamParser *p, unsigned char c)
{
    switch (c) {
    case ' ':
    case '\t':
    case '\n':
    case '\r':
        return;
    case '{':
        handle_token(p, TOK_LBRACE, NULL);
        return;
    case '}':
        handle_token(p, TOK_RBRACE, NULL);
        return;
    case '[':
        handle_token(p, TOK_LSQUARE, NULL);
        return;
    case ']':
        handle_token(p, TOK_RSQUARE, NULL);
        return;
    case ':':
        handle_token(p, TOK_COLON, NULL);
        return;
    case ',':
        handle_token(p, TOK_COMMA, NULL);
        return;
    case '"':
    case '\'':
        p->quote = c;
        p->lex = LEX_STRING;
        return;
    }
    if (c == '-' || g_ascii_isdigit(c)) {
        g_string_append_c(p->tok, c);
        p->lex = LEX_NUMBER;
    } else if (g_ascii_isalpha(c)) {
        g_string_append_c(p->tok, c);
        p->lex = LEX_KEYWORD;
    } else if (c >= 0x21 && c <= 0x7e) {
        lex_error(p, "stray '%c'", c);
    } else {
        lex_error(p, "stray byte 0x%02x", c);
    }
}

static void lex_string(JsonStreamParser *p, unsigned char c)
{
    if (c == (unsigned char)p->quote) {
        scalar_token(p, LEX_STRING);
    } else if (c == '\\') {
        g_string_append_c(p->tok, c);
        p->lex = LEX_STRING_ESC;
    } else if (c < 0x20) {
        lex_error(p, "control character 0x%02x in string", c);
    } else if (c >= 0xfe) {
        /* Never part of UTF-8: the client's "reset the parser" byte. */
        lex_error(p, "invalid UTF-8 byte 0x%02x in string", c);
    } else {
        g_string_append_c(p->tok, c);
    }
}

static void lex_string_escape(JsonStreamParser *p, unsigned char c)
{
    if (c == 'u') {
        g_string_append_c(p->tok, c);
        p->hex_left = 4;
        p->lex = LEX_STRING_HEX;
    } else if (c && strchr("\"'\\/bfnrt", c)) {
        g_string_append_c(p->tok, c);
        p->lex = LEX_STRING;
    } else if (c >= 0x21 && c <= 0x7e) {
        lex_error(p, "invalid escape '\\%c' in string", c);
    } else {
        lex_error(p, "invalid escape (byte 0x%02x) in string", c);
    }
}

static void lex_string_hex(JsonStreamParser *p, unsigned char c)
{
    if (!g_ascii_isxdigit(c)) {
        lex_error(p, "\\u must be followed by four hex digits");
        return;
    }
    g_string_append_c(p->tok, c);
    if (--p->hex_left == 0) {
        p->lex = LEX_STRING;
    }
}

/*
 * Numbers and keywords end at the first byte that cannot continue them;
 * that byte then starts the next token.  Returns true when @c was used.
 */
static bool lex_word(JsonStreamParser *p, unsigned char c)
{
    bool more = p->lex == LEX_NUMBER ?
        (g_ascii_isdigit(c) || c == '.' || c == 'e' || c == 'E' ||
         c == '+' || c == '-') :
        (g_ascii_isalnum(c) || c == '_');

    if (more) {
        g_string_append_c(p->tok, c);
        return true;
    }
    scalar_token(p, p->lex);
    return false;
}

/* Runs @c through the lexer state machine. */
static void lex_byte(JsonStreamParser *p, unsigned char c)
{
    switch (p->lex) {
    case LEX_RECOVERY:
        /*
         * Resume at bytes likely to start a value ('{', '[') or to end a
         * line (control characters), and at 0xFE/0xFF, which clients send
         * precisely to resynchronise.
         */
        if (c >= 0xfe) {
            p->lex = LEX_START;
        } else if (c == '{' || c == '[' || (c < 0x20 && c != '\t')) {
            p->lex = LEX_START;
            lex_start(p, c);
        }
        return;
    case LEX_START:
        lex_start(p, c);
        break;
    case LEX_STRING:
        lex_string(p, c);
        break;
    case LEX_STRING_ESC:
        lex_string_escape(p, c);
        break;
    case LEX_STRING_HEX:
        lex_string_hex(p, c);
        break;
    case LEX_NUMBER:
    case LEX_KEYWORD:
        if (!lex_word(p, c) && !p->free_pending) {
            /* @c ended the word and belongs to whatever comes next. */
            lex_byte(p, c);
        }
        return;
    }
    if (c >= 0xfe && p->lex == LEX_RECOVERY) {
        p->lex = LEX_START;     /* the reset byte itself is the resync */
    }
}

static void feed_byte(JsonStreamParser *p, unsigned char c)
{
    if (in_value(p) && ++p->value_bytes > p->max_size) {
        too_large(p, "bytes", p->max_size);
        if (p->free_pending) {
            return;
        }
    }
    lex_byte(p, c);
}

/* ---- public interface ---- */

JsonStreamParser *json_stream_parser_new(JsonEmitFunc *emit, void *opaque)
{
    JsonStreamParser *p = g_new0(JsonStreamParser, 1);

    p->emit = emit;
    p->opaque = opaque;
    p->max_depth = JSON_PARSER_DEFAULT_MAX_DEPTH;
    p->max_size = JSON_PARSER_DEFAULT_MAX_SIZE;
    p->max_tokens = JSON_PARSER_DEFAULT_MAX_TOKENS;
    p->lex = LEX_START;
    p->tok = g_string_new(NULL);
    p->stack = g_array_new(false, false, sizeof(Frame));
    return p;
}

static void parser_destroy(JsonStreamParser *p)
{
    discard_stack(p);
    g_array_free(p->stack, true);
    g_string_free(p->tok, true);
    g_free(p);
}

void json_stream_parser_free(JsonStreamParser *p)
{
    if (!p) {
        return;
    }
    if (p->in_feed) {
        p->free_pending = true;     /* freed when feed()/flush() returns */
        return;
    }
    parser_destroy(p);
}

void json_stream_parser_set_max_depth(JsonStreamParser *p, size_t depth)
{
    p->max_depth = depth ? depth : JSON_PARSER_DEFAULT_MAX_DEPTH;
}

void json_stream_parser_set_max_size(JsonStreamParser *p, size_t size)
{
    p->max_size = size ? size : JSON_PARSER_DEFAULT_MAX_SIZE;
}

void json_stream_parser_set_max_tokens(JsonStreamParser *p, size_t tokens)
{
    p->max_tokens = tokens ? tokens : JSON_PARSER_DEFAULT_MAX_TOKENS;
}

void json_stream_parser_reset(JsonStreamParser *p)
{
    discard_stack(p);
    p->skip_depth = 0;
    p->lex = LEX_START;
    tok_reset(p);
    value_done(p);
}

void json_stream_parser_feed(JsonStreamParser *p, const char *buf, size_t len)
{
    g_assert(!p->in_feed);          /* no feeding from the callback */
    p->in_feed = true;
    for (size_t i = 0; i < len && !p->free_pending; i++) {
        feed_byte(p, (unsigned char)buf[i]);
    }
    p->in_feed = false;
    if (p->free_pending) {
        parser_destroy(p);
    }
}

void json_stream_parser_flush(JsonStreamParser *p)
{
    bool report;

    g_assert(!p->in_feed);
    p->in_feed = true;
    if (p->lex == LEX_NUMBER || p->lex == LEX_KEYWORD) {
        scalar_token(p, p->lex);
    }
    if (!p->free_pending) {
        report = !p->skip_depth &&
            (p->stack->len || p->lex == LEX_STRING ||
             p->lex == LEX_STRING_ESC || p->lex == LEX_STRING_HEX);
        json_stream_parser_reset(p);
        if (report) {
            emit_error(p, QOBJECT_JSON_ERROR_INCOMPLETE,
                       "unexpected end of input");
        }
    }
    p->in_feed = false;
    if (p->free_pending) {
        parser_destroy(p);
    }
}

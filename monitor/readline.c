/*
 * Line editor for the human monitor (see include/monitor/readline.h).
 *
 * Display strategy: typing at the end of the line just echoes; any other
 * change redraws the line ("\r", prompt, text, clear to end of line) and
 * moves the cursor back.  That works on every terminal we care about and
 * keeps the state machine small.
 */
#include "qemu/osdep.h"
#include "monitor/readline.h"

typedef enum ReadLineEsc {
    RL_NORM,
    RL_ESC,         /* got ESC */
    RL_CSI,         /* got ESC [ (digits may follow) */
    RL_SS3,         /* got ESC O */
} ReadLineEsc;

struct ReadLineState {
    ReadLineWriteFunc *write;
    ReadLineFunc *done;
    ReadLineCompletionFunc *complete;
    void *opaque;
    char *prompt;

    char buf[READLINE_MAX_LINE];
    int len, pos;               /* line length and cursor */
    ReadLineEsc esc;
    int esc_param;
    bool last_was_cr;           /* swallow the \n of a \r\n pair */

    char *history[READLINE_MAX_HISTORY];
    int hist_len;
    int hist_pos;               /* == hist_len: editing a new line */
    char *saved_line;           /* the new line while browsing history */
};

static void rl_puts(ReadLineState *rs, const char *s)
{
    rs->write(rs->opaque, s);
}

ReadLineState *readline_new(ReadLineWriteFunc *write, ReadLineFunc *done,
                            ReadLineCompletionFunc *complete, void *opaque)
{
    ReadLineState *rs = g_new0(ReadLineState, 1);

    rs->write = write;
    rs->done = done;
    rs->complete = complete;
    rs->opaque = opaque;
    rs->prompt = g_strdup("");
    return rs;
}

void readline_free(ReadLineState *rs)
{
    if (!rs) {
        return;
    }
    for (int i = 0; i < rs->hist_len; i++) {
        g_free(rs->history[i]);
    }
    g_free(rs->saved_line);
    g_free(rs->prompt);
    g_free(rs);
}

void readline_set_prompt(ReadLineState *rs, const char *prompt)
{
    g_free(rs->prompt);
    rs->prompt = g_strdup(prompt);
}

void readline_show_prompt(ReadLineState *rs)
{
    rl_puts(rs, rs->prompt);
    if (rs->len) {
        rs->buf[rs->len] = 0;
        rl_puts(rs, rs->buf);
        if (rs->pos < rs->len) {
            g_autofree char *back = g_strdup_printf("\033[%dD",
                                                    rs->len - rs->pos);
            rl_puts(rs, back);
        }
    }
}

void readline_restart(ReadLineState *rs)
{
    rs->len = rs->pos = 0;
    rs->esc = RL_NORM;
    rs->hist_pos = rs->hist_len;
}

/* Redraw the whole line with the cursor at rs->pos. */
static void rl_redraw(ReadLineState *rs)
{
    rl_puts(rs, "\r");
    rl_puts(rs, rs->prompt);
    rs->buf[rs->len] = 0;
    rl_puts(rs, rs->buf);
    rl_puts(rs, "\033[K");
    if (rs->pos < rs->len) {
        g_autofree char *back = g_strdup_printf("\033[%dD",
                                                rs->len - rs->pos);
        rl_puts(rs, back);
    }
}

static void rl_set_line(ReadLineState *rs, const char *text)
{
    rs->len = MIN(strlen(text), (size_t)READLINE_MAX_LINE - 1);
    memcpy(rs->buf, text, rs->len);
    rs->pos = rs->len;
    rl_redraw(rs);
}

static void rl_insert(ReadLineState *rs, char c)
{
    if (rs->len >= READLINE_MAX_LINE - 1) {
        return;     /* full: drop, like a terminal's bell */
    }
    memmove(rs->buf + rs->pos + 1, rs->buf + rs->pos, rs->len - rs->pos);
    rs->buf[rs->pos++] = c;
    rs->len++;
    if (rs->pos == rs->len) {
        char echo[2] = { c, 0 };
        rl_puts(rs, echo);
    } else {
        rl_redraw(rs);
    }
}

/* Delete @n characters starting at @from. */
static void rl_delete(ReadLineState *rs, int from, int n)
{
    if (n <= 0 || from < 0 || from + n > rs->len) {
        return;
    }
    memmove(rs->buf + from, rs->buf + from + n, rs->len - from - n);
    rs->len -= n;
    if (rs->pos > from) {
        rs->pos = MAX(from, rs->pos - n);
    }
    rl_redraw(rs);
}

static void rl_move(ReadLineState *rs, int pos)
{
    pos = CLAMP(pos, 0, rs->len);
    if (pos != rs->pos) {
        rs->pos = pos;
        rl_redraw(rs);
    }
}

static void rl_word_backward(ReadLineState *rs)
{
    int start = rs->pos;

    while (start > 0 && rs->buf[start - 1] == ' ') {
        start--;
    }
    while (start > 0 && rs->buf[start - 1] != ' ') {
        start--;
    }
    rl_delete(rs, start, rs->pos - start);
}

static void rl_history_add(ReadLineState *rs, const char *line)
{
    if (!*line) {
        return;
    }
    if (rs->hist_len && !strcmp(rs->history[rs->hist_len - 1], line)) {
        return;     /* no consecutive duplicates */
    }
    if (rs->hist_len == READLINE_MAX_HISTORY) {
        g_free(rs->history[0]);
        memmove(rs->history, rs->history + 1,
                (READLINE_MAX_HISTORY - 1) * sizeof(char *));
        rs->hist_len--;
    }
    rs->history[rs->hist_len++] = g_strdup(line);
}

static void rl_history_step(ReadLineState *rs, int dir)
{
    int to = rs->hist_pos + dir;

    if (to < 0 || to > rs->hist_len) {
        return;
    }
    if (rs->hist_pos == rs->hist_len) {
        rs->buf[rs->len] = 0;
        g_free(rs->saved_line);
        rs->saved_line = g_strdup(rs->buf);
    }
    rs->hist_pos = to;
    if (to < rs->hist_len) {
        rl_set_line(rs, rs->history[to]);
    } else {
        rl_set_line(rs, rs->saved_line ? rs->saved_line : "");
    }
}

static void rl_accept(ReadLineState *rs)
{
    g_autofree char *line = NULL;

    rs->buf[rs->len] = 0;
    line = g_strdup(rs->buf);
    rl_history_add(rs, line);
    rl_puts(rs, "\r\n");
    rs->len = rs->pos = 0;
    rs->hist_pos = rs->hist_len;
    rs->done(rs->opaque, line);
}

static size_t common_prefix_len(GPtrArray *words)
{
    const char *first = g_ptr_array_index(words, 0);
    size_t n = strlen(first);

    for (guint i = 1; i < words->len; i++) {
        const char *w = g_ptr_array_index(words, i);
        size_t j = 0;
        while (j < n && w[j] == first[j]) {
            j++;
        }
        n = j;
    }
    return n;
}

/* Complete the word under the cursor; list choices when ambiguous. */
static void rl_complete(ReadLineState *rs)
{
    g_autoptr(GPtrArray) words = g_ptr_array_new_with_free_func(g_free);
    int start = rs->pos;
    size_t common;

    if (!rs->complete) {
        return;
    }
    rs->buf[rs->pos] = 0;
    while (start > 0 && rs->buf[start - 1] != ' ') {
        start--;
    }
    rs->complete(rs->opaque, rs->buf, words);
    if (!words->len) {
        return;
    }
    common = common_prefix_len(words);
    const char *first = g_ptr_array_index(words, 0);
    for (size_t i = rs->pos - start; i < common; i++) {
        rl_insert(rs, first[i]);
    }
    if (words->len == 1) {
        rl_insert(rs, ' ');
    } else if (common == (size_t)(rs->pos - start)) {
        rl_puts(rs, "\r\n");
        for (guint i = 0; i < words->len; i++) {
            rl_puts(rs, g_ptr_array_index(words, i));
            rl_puts(rs, "\r\n");
        }
        readline_show_prompt(rs);
    }
}

/* ESC [ n ~ and ESC [ x / ESC O x. */
static void rl_handle_escape(ReadLineState *rs, uint8_t ch)
{
    switch (ch) {
    case 'A': rl_history_step(rs, -1); break;
    case 'B': rl_history_step(rs, 1); break;
    case 'C': rl_move(rs, rs->pos + 1); break;
    case 'D': rl_move(rs, rs->pos - 1); break;
    case 'H': rl_move(rs, 0); break;
    case 'F': rl_move(rs, rs->len); break;
    case '~':
        switch (rs->esc_param) {
        case 1: case 7: rl_move(rs, 0); break;
        case 4: case 8: rl_move(rs, rs->len); break;
        case 3: rl_delete(rs, rs->pos, 1); break;
        }
        break;
    }
}

static void rl_handle_control(ReadLineState *rs, uint8_t ch)
{
    switch (ch) {
    case 1: rl_move(rs, 0); break;                          /* C-a */
    case 2: rl_move(rs, rs->pos - 1); break;                /* C-b */
    case 4: rl_delete(rs, rs->pos, 1); break;               /* C-d */
    case 5: rl_move(rs, rs->len); break;                    /* C-e */
    case 6: rl_move(rs, rs->pos + 1); break;                /* C-f */
    case 8: case 127: rl_delete(rs, rs->pos - 1, 1); break; /* backspace */
    case 9: rl_complete(rs); break;                         /* tab */
    case 11: rl_delete(rs, rs->pos, rs->len - rs->pos); break; /* C-k */
    case 12: rl_redraw(rs); break;                          /* C-l */
    case 14: rl_history_step(rs, 1); break;                 /* C-n */
    case 16: rl_history_step(rs, -1); break;                /* C-p */
    case 21: rl_delete(rs, 0, rs->pos); break;              /* C-u */
    case 23: rl_word_backward(rs); break;                   /* C-w */
    case 27: rs->esc = RL_ESC; break;
    default: break;
    }
}

void readline_handle_byte(ReadLineState *rs, uint8_t ch)
{
    bool after_cr = rs->last_was_cr;

    rs->last_was_cr = ch == '\r';
    switch (rs->esc) {
    case RL_ESC:
        rs->esc = ch == '[' ? RL_CSI : ch == 'O' ? RL_SS3 : RL_NORM;
        rs->esc_param = 0;
        return;
    case RL_CSI:
        if (ch >= '0' && ch <= '9') {
            rs->esc_param = MIN(rs->esc_param * 10 + (ch - '0'), 1000);
            return;
        }
        if (ch == ';') {
            return;     /* modifiers (ESC [ 1 ; 5 C): ignore */
        }
        rs->esc = RL_NORM;
        rl_handle_escape(rs, ch);
        return;
    case RL_SS3:
        rs->esc = RL_NORM;
        rl_handle_escape(rs, ch);
        return;
    case RL_NORM:
        break;
    }
    if (ch == '\r' || ch == '\n') {
        if (ch == '\n' && after_cr) {
            return;     /* the \n of \r\n: the line is already done */
        }
        rl_accept(rs);
    } else if (ch < 32 || ch == 127) {
        rl_handle_control(rs, ch);
    } else {
        rl_insert(rs, ch);
    }
}

unsigned readline_history_len(const ReadLineState *rs)
{
    return rs->hist_len;
}

const char *readline_history_get(const ReadLineState *rs, unsigned idx)
{
    return idx < (unsigned)rs->hist_len ? rs->history[idx] : NULL;
}

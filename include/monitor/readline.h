/*
 * Line editing for the human monitor on a terminal: left/right, home/end
 * (also C-a/C-e), backspace/delete, C-k / C-u / C-w kills, history with
 * up/down (C-p/C-n), and tab completion.  Understands the escape
 * sequences of VT100/xterm/linux consoles (ESC [ x, ESC O x, ESC [ n ~).
 *
 * It echoes what it is sent, as QEMU's monitor does, so scripts talking
 * to a monitor socket see the same text as with QEMU.
 */
#ifndef MONITOR_READLINE_H
#define MONITOR_READLINE_H
#include "qemu/osdep.h"

#define READLINE_MAX_LINE 4096
#define READLINE_MAX_HISTORY 64

typedef struct ReadLineState ReadLineState;

/* Output to the terminal. */
typedef void ReadLineWriteFunc(void *opaque, const char *text);
/* A finished line (without the newline). */
typedef void ReadLineFunc(void *opaque, const char *line);
/* Possible completions of @line (add g_strdup'd full words to @out). */
typedef void ReadLineCompletionFunc(void *opaque, const char *line,
                                    GPtrArray *out);

ReadLineState *readline_new(ReadLineWriteFunc *write, ReadLineFunc *done,
                            ReadLineCompletionFunc *complete, void *opaque);
void readline_free(ReadLineState *rs);

/* Set the prompt, e.g. "(qemu) ". */
void readline_set_prompt(ReadLineState *rs, const char *prompt);
/* Print the prompt and the line being edited. */
void readline_show_prompt(ReadLineState *rs);
/* Drop the line being edited. */
void readline_restart(ReadLineState *rs);
/* Feed one input byte. */
void readline_handle_byte(ReadLineState *rs, uint8_t ch);

/* History, oldest first (for "info history"); borrowed strings. */
unsigned readline_history_len(const ReadLineState *rs);
const char *readline_history_get(const ReadLineState *rs, unsigned idx);

#endif

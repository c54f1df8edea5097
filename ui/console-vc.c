/*
 * The "vc" chardev: a text console (-serial vc, -monitor vc,
 * -chardev vc,id=ID[,cols=C,rows=R][,width=W,height=H]).
 *
 * Output written to the chardev is interpreted as a VT100-ish terminal, as
 * far as QEMU's vc goes (ECMA-48 control functions): CR, LF, BS, TAB,
 * ESC [ n A/B/C/D (cursor up/down/forward/back), G (column), d (row),
 * H/f (position), J (erase in display 0/1/2), K (erase in line 0/1/2),
 * m (SGR: 0 reset, 1 bold, 7 reverse, 27, 30-37/39 foreground, 40-47/49
 * background), s/u (save/restore the cursor), 6n (report the cursor
 * position into the input).  The screen scrolls up when the cursor goes
 * past the last row; the lines that leave the top are kept (the last
 * VC_BACKSCROLL of them, as QEMU's 512) and Shift-PageUp / PageDown
 * (Ctrl-PageUp / PageDown and Ctrl-Up / Down as QEMU's text console)
 * scroll the view through them; output or a typed key goes back to the
 * bottom.  The cursor is not drawn while the view is scrolled back.
 *
 * The cells are drawn into the console's surface with an 8x16 VGA font,
 * the one the VGA BIOS (SeaBIOS's vgabios-stdvga.bin) carries, found in
 * the ROM file by its glyphs; only the cells that changed since the last
 * refresh are drawn and reported.  Keys typed while a front end shows the
 * console arrive as keysyms (text_key) and go to the chardev's frontend
 * as bytes (UTF-8 for characters, VT100 sequences for cursor keys).
 */
#include "qemu/osdep.h"
#include "chardev/char.h"
#include "ui/console.h"

#define FONT_W          8
#define FONT_H          16
#define VC_MAX_DIM      512
#define VC_MAX_PARAMS   8
#define VC_BACKSCROLL   512     /* lines of history, as QEMU */

typedef struct VcCell {
    uint8_t ch;
    uint8_t attr;               /* VGA style: bg << 4 | fg */
} VcCell;

typedef struct VcState {
    Chardev *chr;
    QemuConsole *con;
    int cols, rows;
    VcCell *cells;
    uint8_t *dirty;             /* per cell */
    bool any_dirty;
    int x, y;                   /* cursor */
    int saved_x, saved_y;
    int cursor_drawn_x, cursor_drawn_y;
    uint8_t fg, bg;
    bool bold, reverse;
    /* escape parser */
    enum { VC_NORMAL, VC_ESC, VC_CSI } state;
    int params[VC_MAX_PARAMS];
    int nparams;
    /* scrollback: a ring of VC_BACKSCROLL lines of cols cells */
    VcCell *hist;
    int hist_start, hist_count;
    int view;                   /* lines scrolled back (0: the screen) */
} VcState;

/* VGA's 16 colours (the default palette of mode 3) */
static const uint32_t vc_palette[16] = {
    0x000000, 0x0000aa, 0x00aa00, 0x00aaaa, 0xaa0000, 0xaa00aa, 0xaa5500,
    0xaaaaaa, 0x555555, 0x5555ff, 0x55ff55, 0x55ffff, 0xff5555, 0xff55ff,
    0xffff55, 0xffffff,
};
/* ANSI colour n (red=1, green=2, blue=4) -> VGA index (blue=1, red=4) */
static const uint8_t ansi_to_vga[8] = { 0, 4, 2, 6, 1, 5, 3, 7 };

#define VC_DEFAULT_FG   7
#define VC_DEFAULT_BG   0

static uint8_t vc_font[256 * FONT_H];
static bool vc_font_loaded;

/*
 * Find the 8x16 font in a VGA BIOS image: glyph 0 is blank and glyph 1 is
 * the IBM smiley face (the same bytes in every VGA font of that size).
 */
static bool font_from_rom(const char *path)
{
    static const uint8_t smiley[FONT_H] = {
        0x00, 0x00, 0x7e, 0x81, 0xa5, 0x81, 0x81, 0xbd,
        0x99, 0x81, 0x81, 0x7e, 0x00, 0x00, 0x00, 0x00,
    };
    g_autofree uint8_t *rom = NULL;
    gsize len;

    if (!g_file_get_contents(path, (gchar **)&rom, &len, NULL)) {
        return false;
    }
    for (gsize off = FONT_H; off + 255 * FONT_H <= len; off++) {
        if (!memcmp(rom + off, smiley, FONT_H)) {
            static const uint8_t zero[FONT_H];
            if (memcmp(rom + off - FONT_H, zero, FONT_H)) {
                continue;
            }
            memcpy(vc_font, rom + off - FONT_H, sizeof(vc_font));
            return true;
        }
    }
    return false;
}

static void vc_load_font(void)
{
    static const char *const roms[] = {
        "/usr/share/seabios/vgabios-stdvga.bin",
        "/usr/share/seabios/vgabios.bin",
        "/usr/share/qemu/vgabios-stdvga.bin",
    };

    if (vc_font_loaded) {
        return;
    }
    vc_font_loaded = true;
    for (unsigned i = 0; i < ARRAY_SIZE(roms); i++) {
        if (font_from_rom(roms[i])) {
            return;
        }
    }
    /* without a font every glyph is drawn as a box: text stays visible */
    g_printerr("kvmpc: vc: no VGA font found (install seabios); "
               "text consoles draw boxes\n");
    for (unsigned c = 33; c < 256; c++) {
        for (unsigned l = 3; l < 13; l++) {
            vc_font[c * FONT_H + l] = (l == 3 || l == 12) ? 0x7e : 0x42;
        }
    }
}

/* ---- drawing ------------------------------------------------------------- */

static void cell_dirty(VcState *s, int x, int y)
{
    s->dirty[y * s->cols + x] = 1;
    s->any_dirty = true;
}

/* The cell shown at (@cx, @cy): from the history while scrolled back. */
static const VcCell *view_cell(VcState *s, int cx, int cy)
{
    int line = s->hist_count - s->view + cy;  /* 0: the oldest line kept */

    if (line < s->hist_count) {
        int ring = (s->hist_start + line) % VC_BACKSCROLL;
        return &s->hist[(size_t)ring * s->cols + cx];
    }
    return &s->cells[(line - s->hist_count) * s->cols + cx];
}

static void draw_cell(VcState *s, pixman_image_t *img, int cx, int cy,
                      bool cursor)
{
    const VcCell *c = view_cell(s, cx, cy);
    uint32_t fg = vc_palette[c->attr & 0xf], bg = vc_palette[c->attr >> 4];
    uint8_t *bits = (uint8_t *)pixman_image_get_data(img);
    int stride = pixman_image_get_stride(img);

    if (cursor) {
        uint32_t t = fg;
        fg = bg;
        bg = t;
    }
    for (int l = 0; l < FONT_H; l++) {
        uint8_t row = vc_font[c->ch * FONT_H + l];
        uint32_t *dst = (uint32_t *)(bits + (size_t)(cy * FONT_H + l) *
                                     stride) + cx * FONT_W;
        for (int b = 0; b < FONT_W; b++) {
            dst[b] = (row & (0x80 >> b)) ? fg : bg;
        }
    }
}

static void vc_gfx_update(void *opaque)
{
    VcState *s = opaque;
    pixman_image_t *img = qemu_console_surface(s->con);
    int x0 = s->cols, y0 = s->rows, x1 = -1, y1 = -1;

    /* the cursor moved: both its old and new cells change */
    if (s->cursor_drawn_x != s->x || s->cursor_drawn_y != s->y) {
        if (s->cursor_drawn_x < s->cols && s->cursor_drawn_y < s->rows) {
            cell_dirty(s, s->cursor_drawn_x, s->cursor_drawn_y);
        }
        if (s->x < s->cols) {
            cell_dirty(s, s->x, s->y);
        }
    }
    if (!s->any_dirty) {
        return;
    }
    for (int y = 0; y < s->rows; y++) {
        for (int x = 0; x < s->cols; x++) {
            if (!s->dirty[y * s->cols + x]) {
                continue;
            }
            s->dirty[y * s->cols + x] = 0;
            draw_cell(s, img, x, y, !s->view && x == s->x && y == s->y);
            x0 = MIN(x0, x);
            y0 = MIN(y0, y);
            x1 = MAX(x1, x);
            y1 = MAX(y1, y);
        }
    }
    s->any_dirty = false;
    s->cursor_drawn_x = s->x;
    s->cursor_drawn_y = s->y;
    if (x1 >= 0) {
        dpy_gfx_update(s->con, x0 * FONT_W, y0 * FONT_H,
                       (x1 - x0 + 1) * FONT_W, (y1 - y0 + 1) * FONT_H);
    }
}

static void vc_invalidate(void *opaque)
{
    VcState *s = opaque;

    memset(s->dirty, 1, (size_t)s->cols * s->rows);
    s->any_dirty = true;
}

/* ---- the terminal -------------------------------------------------------- */

static uint8_t current_attr(VcState *s)
{
    uint8_t fg = s->fg | (s->bold ? 8 : 0), bg = s->bg;

    return s->reverse ? (fg << 4 | bg) & 0xff : (bg << 4 | fg);
}

static void clear_cells(VcState *s, int from, int to)
{
    VcCell blank = { ' ', current_attr(s) };

    from = CLAMP(from, 0, s->cols * s->rows);
    to = CLAMP(to, from, s->cols * s->rows);
    for (int i = from; i < to; i++) {
        s->cells[i] = blank;
        s->dirty[i] = 1;
    }
    s->any_dirty = true;
}

/* Keep the top line in the history before it scrolls away. */
static void history_push(VcState *s)
{
    int ring;

    if (s->hist_count < VC_BACKSCROLL) {
        ring = (s->hist_start + s->hist_count++) % VC_BACKSCROLL;
    } else {
        ring = s->hist_start;
        s->hist_start = (s->hist_start + 1) % VC_BACKSCROLL;
    }
    memcpy(&s->hist[(size_t)ring * s->cols], s->cells,
           sizeof(VcCell) * s->cols);
}

/* Show the view @lines back (clamped to the history kept). */
static void vc_set_view(VcState *s, int lines)
{
    lines = CLAMP(lines, 0, s->hist_count);
    if (lines != s->view) {
        s->view = lines;
        vc_invalidate(s);
    }
}

static void scroll_up(VcState *s)
{
    history_push(s);
    memmove(s->cells, s->cells + s->cols,
            sizeof(VcCell) * s->cols * (s->rows - 1));
    clear_cells(s, s->cols * (s->rows - 1), s->cols * s->rows);
    vc_invalidate(s);
}

static void line_feed(VcState *s)
{
    if (++s->y >= s->rows) {
        s->y = s->rows - 1;
        scroll_up(s);
    }
}

static void put_glyph(VcState *s, uint8_t ch)
{
    if (s->x >= s->cols) {          /* deferred wrap, as a VT100 */
        s->x = 0;
        line_feed(s);
    }
    s->cells[s->y * s->cols + s->x] = (VcCell){ ch, current_attr(s) };
    cell_dirty(s, s->x, s->y);
    s->x++;
}

static int param(VcState *s, int i, int dflt)
{
    return i < s->nparams && s->params[i] > 0 ? s->params[i] : dflt;
}

static void reply(VcState *s, const char *str)
{
    qemu_chr_be_write(s->chr, (const uint8_t *)str, strlen(str));
}

static void sgr(VcState *s)
{
    for (int i = 0; i < MAX(s->nparams, 1); i++) {
        int p = i < s->nparams ? s->params[i] : 0;
        if (p == 0) {
            s->fg = VC_DEFAULT_FG;
            s->bg = VC_DEFAULT_BG;
            s->bold = s->reverse = false;
        } else if (p == 1) {
            s->bold = true;
        } else if (p == 22) {
            s->bold = false;
        } else if (p == 7) {
            s->reverse = true;
        } else if (p == 27) {
            s->reverse = false;
        } else if (p >= 30 && p <= 37) {
            s->fg = ansi_to_vga[p - 30];
        } else if (p == 39) {
            s->fg = VC_DEFAULT_FG;
        } else if (p >= 40 && p <= 47) {
            s->bg = ansi_to_vga[p - 40];
        } else if (p == 49) {
            s->bg = VC_DEFAULT_BG;
        }
    }
}

static void csi(VcState *s, uint8_t final)
{
    int cur = s->y * s->cols + MIN(s->x, s->cols - 1);
    char buf[32];

    switch (final) {
    case 'A':
        s->y = MAX(s->y - param(s, 0, 1), 0);
        break;
    case 'B':
        s->y = MIN(s->y + param(s, 0, 1), s->rows - 1);
        break;
    case 'C':
        s->x = MIN(s->x + param(s, 0, 1), s->cols - 1);
        break;
    case 'D':
        s->x = MAX(MIN(s->x, s->cols - 1) - param(s, 0, 1), 0);
        break;
    case 'G':
        s->x = CLAMP(param(s, 0, 1) - 1, 0, s->cols - 1);
        break;
    case 'd':
        s->y = CLAMP(param(s, 0, 1) - 1, 0, s->rows - 1);
        break;
    case 'H':
    case 'f':
        s->y = CLAMP(param(s, 0, 1) - 1, 0, s->rows - 1);
        s->x = CLAMP(param(s, 1, 1) - 1, 0, s->cols - 1);
        break;
    case 'J':
        switch (s->nparams ? s->params[0] : 0) {
        case 0:
            clear_cells(s, cur, s->cols * s->rows);
            break;
        case 1:
            clear_cells(s, 0, cur + 1);
            break;
        case 2:
            clear_cells(s, 0, s->cols * s->rows);
            break;
        }
        break;
    case 'K':
        switch (s->nparams ? s->params[0] : 0) {
        case 0:
            clear_cells(s, cur, (s->y + 1) * s->cols);
            break;
        case 1:
            clear_cells(s, s->y * s->cols, cur + 1);
            break;
        case 2:
            clear_cells(s, s->y * s->cols, (s->y + 1) * s->cols);
            break;
        }
        break;
    case 'm':
        sgr(s);
        break;
    case 's':
        s->saved_x = s->x;
        s->saved_y = s->y;
        break;
    case 'u':
        s->x = s->saved_x;
        s->y = s->saved_y;
        break;
    case 'n':
        if (param(s, 0, 0) == 6) {
            snprintf(buf, sizeof(buf), "\033[%d;%dR", s->y + 1,
                     MIN(s->x, s->cols - 1) + 1);
            reply(s, buf);
        } else if (param(s, 0, 0) == 5) {
            reply(s, "\033[0n");
        }
        break;
    }
}

static void vc_putchar(VcState *s, uint8_t ch)
{
    switch (s->state) {
    case VC_NORMAL:
        switch (ch) {
        case '\r':
            s->x = 0;
            break;
        case '\n':
            line_feed(s);
            break;
        case '\b':
            s->x = MAX(MIN(s->x, s->cols - 1) - 1, 0);
            break;
        case '\t':
            s->x = MIN((s->x + 8) & ~7, s->cols - 1);
            break;
        case '\a':
        case 0x0e:
        case 0x0f:
            break;
        case 0x1b:
            s->state = VC_ESC;
            break;
        default:
            put_glyph(s, ch);
            break;
        }
        break;
    case VC_ESC:
        if (ch == '[') {
            s->state = VC_CSI;
            s->nparams = 0;
            memset(s->params, 0, sizeof(s->params));
        } else {
            s->state = VC_NORMAL;
        }
        break;
    case VC_CSI:
        if (ch >= '0' && ch <= '9') {
            if (!s->nparams) {
                s->nparams = 1;
            }
            int *p = &s->params[s->nparams - 1];
            *p = MIN(*p * 10 + (ch - '0'), 9999);
        } else if (ch == ';') {
            if (!s->nparams) {
                s->nparams = 1;
            }
            if (s->nparams < VC_MAX_PARAMS) {
                s->nparams++;
            }
        } else if (ch == '?' || ch == ' ') {
            /* private / intermediate: ignored */
        } else {
            s->state = VC_NORMAL;
            csi(s, ch);
        }
        break;
    }
}

static int vc_chr_write(Chardev *chr, const uint8_t *buf, int len)
{
    VcState *s = chr->state;

    vc_set_view(s, 0);          /* new output: back to the bottom */
    for (int i = 0; i < len; i++) {
        vc_putchar(s, buf[i]);
    }
    return len;
}

/* ---- keys ----------------------------------------------------------------- */

static void vc_text_key(void *opaque, uint32_t keysym)
{
    VcState *s = opaque;
    static const struct { uint32_t keysym; const char *seq; } special[] = {
        { 0xff0d, "\r" }, { 0xff8d, "\r" }, { 0xff08, "\x7f" },
        { 0xff09, "\t" }, { 0xff1b, "\033" },
        { 0xff52, "\033[A" }, { 0xff54, "\033[B" }, { 0xff53, "\033[C" },
        { 0xff51, "\033[D" }, { 0xff50, "\033[1~" }, { 0xff57, "\033[4~" },
        { 0xff63, "\033[2~" }, { 0xffff, "\033[3~" }, { 0xff55, "\033[5~" },
        { 0xff56, "\033[6~" },
    };
    uint32_t mods = keysym & (TEXT_KEY_MOD_SHIFT | TEXT_KEY_MOD_CTRL);
    char utf8[8];
    gunichar u;
    int n;

    keysym &= ~mods;
    if (mods && (keysym == 0xff55 || keysym == 0xff56)) {
        /* Shift/Ctrl-PageUp/Down: half a screen, at least one line */
        int step = MAX(s->rows / 2, 1);
        vc_set_view(s, s->view + (keysym == 0xff55 ? step : -step));
        return;
    }
    if ((mods & TEXT_KEY_MOD_CTRL) && (keysym == 0xff52 || keysym == 0xff54)) {
        vc_set_view(s, s->view + (keysym == 0xff52 ? 1 : -1));
        return;
    }
    for (unsigned i = 0; i < ARRAY_SIZE(special); i++) {
        if (special[i].keysym == keysym) {
            vc_set_view(s, 0);      /* typing shows the bottom again */
            reply(s, special[i].seq);
            return;
        }
    }
    if (keysym < 0x20 || keysym == 0x7f) {
        utf8[0] = keysym;           /* a control character */
        vc_set_view(s, 0);
        qemu_chr_be_write(s->chr, (uint8_t *)utf8, 1);
        return;
    }
    if (keysym < 0x100) {
        u = keysym;                 /* Latin-1 keysyms are code points */
    } else if ((keysym & 0xff000000) == 0x01000000) {
        u = keysym & 0xffffff;
    } else if (keysym == 0x20ac) {
        u = 0x20ac;                 /* EuroSign */
    } else {
        return;                     /* a modifier or function key */
    }
    n = g_unichar_to_utf8(u, utf8);
    vc_set_view(s, 0);
    qemu_chr_be_write(s->chr, (uint8_t *)utf8, n);
}

/* ---- the chardev ---------------------------------------------------------- */

static const GraphicHwOps vc_ops = {
    .gfx_update = vc_gfx_update,
    .invalidate = vc_invalidate,
    .text_key = vc_text_key,
};

static bool dim_opt(GHashTable *opts, const char *key, int unit, int *out,
                    GError **errp)
{
    const char *v = g_hash_table_lookup(opts, key);
    uint64_t n;

    if (!v) {
        return true;
    }
    if (!parse_uint(v, &n, NULL) || n / unit < 1 || n / unit > VC_MAX_DIM) {
        error_setg(errp, "vc: '%s' must be between %d and %d", key, unit,
                   VC_MAX_DIM * unit);
        return false;
    }
    *out = n / unit;
    return true;
}

static bool vc_open(Chardev *chr, GHashTable *opts, GError **errp)
{
    VcState *s = chr->state;
    int cols = 80, rows = 30;       /* QEMU's 640x480 */

    if (!dim_opt(opts, "width", FONT_W, &cols, errp) ||
        !dim_opt(opts, "height", FONT_H, &rows, errp) ||
        !dim_opt(opts, "cols", 1, &cols, errp) ||
        !dim_opt(opts, "rows", 1, &rows, errp)) {
        return false;
    }
    vc_load_font();
    s->chr = chr;
    s->cols = cols;
    s->rows = rows;
    s->cells = g_new(VcCell, cols * rows);
    s->dirty = g_new0(uint8_t, cols * rows);
    s->hist = g_new(VcCell, (size_t)VC_BACKSCROLL * cols);
    s->fg = VC_DEFAULT_FG;
    s->bg = VC_DEFAULT_BG;
    clear_cells(s, 0, cols * rows);
    s->con = text_console_init(chr->id, &vc_ops, s);
    dpy_gfx_resize(s->con, cols * FONT_W, rows * FONT_H);
    vc_invalidate(s);
    chr->be_open = true;
    return true;
}

static void vc_close(Chardev *chr)
{
    VcState *s = chr->state;

    /* front ends that showed it go back to console 0 */
    graphic_console_close(s->con);
    s->con = NULL;
    g_free(s->cells);
    g_free(s->dirty);
    g_free(s->hist);
    s->hist = NULL;
    s->cells = NULL;
}

static const char *const vc_opts[] = {
    "width", "height", "cols", "rows", NULL,
};

static const ChardevDriver vc_driver = {
    .name = "vc",
    .opts = vc_opts,
    .open = vc_open,
    .write = vc_chr_write,
    .close = vc_close,
    .state_size = sizeof(VcState),
};

static void vc_register(void)
{
    chardev_driver_register(&vc_driver);
}
chardev_init(vc_register)

/*
 * vsnprintf and friends.  Conversions: d i u x X o c s p %; flags - 0 + space #;
 * field width and precision (also *); length modifiers hh h l ll z j t.
 */
#include "guest.h"

struct out {
    char *buf;
    size_t size, len;
};

static void put(struct out *o, char c)
{
    if (o->len + 1 < o->size)
        o->buf[o->len] = c;
    o->len++;
}

static void put_padded(struct out *o, const char *s, size_t n, int width, bool left, char pad)
{
    int fill = width > (int)n ? width - (int)n : 0;
    if (!left)
        while (fill-- > 0)
            put(o, pad);
    for (size_t i = 0; i < n; i++)
        put(o, s[i]);
    if (left)
        while (fill-- > 0)
            put(o, ' ');
}

static void put_number(struct out *o, uint64_t v, bool neg, unsigned base, bool upper,
                       int width, int prec, bool left, bool zero, char sign, const char *prefix)
{
    char digits[24];
    const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    int nd = 0;
    while (v) {
        digits[nd++] = set[v % base];
        v /= base;
    }
    if (prec < 0 && nd == 0)
        digits[nd++] = '0';
    int zeros = prec > nd ? prec - nd : 0;
    char signch = neg ? '-' : sign;
    int plen = (int)strlen(prefix);
    int total = nd + zeros + (signch ? 1 : 0) + plen;
    if (zero && !left && prec < 0 && width > total) {
        zeros += width - total;
        total = width;
    }
    if (!left)
        for (int i = total; i < width; i++)
            put(o, ' ');
    if (signch)
        put(o, signch);
    for (int i = 0; i < plen; i++)
        put(o, prefix[i]);
    while (zeros-- > 0)
        put(o, '0');
    while (nd > 0)
        put(o, digits[--nd]);
    if (left)
        for (int i = total; i < width; i++)
            put(o, ' ');
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct out o = { buf, size, 0 };

    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            put(&o, *fmt);
            continue;
        }
        fmt++;
        bool left = false, zero = false, alt = false;
        char sign = 0;
        for (;; fmt++) {
            if (*fmt == '-') left = true;
            else if (*fmt == '0') zero = true;
            else if (*fmt == '+') sign = '+';
            else if (*fmt == ' ') { if (!sign) sign = ' '; }
            else if (*fmt == '#') alt = true;
            else break;
        }
        int width = 0;
        if (*fmt == '*') {
            width = va_arg(ap, int);
            if (width < 0) {
                left = true;
                width = -width;
            }
            fmt++;
        } else {
            while (*fmt >= '0' && *fmt <= '9')
                width = width * 10 + (*fmt++ - '0');
        }
        int prec = -1;
        if (*fmt == '.') {
            fmt++;
            prec = 0;
            if (*fmt == '*') {
                prec = va_arg(ap, int);
                fmt++;
            } else {
                while (*fmt >= '0' && *fmt <= '9')
                    prec = prec * 10 + (*fmt++ - '0');
            }
        }
        int lng = 0;            /* -2 hh, -1 h, 0 int, 1 long, 2 long long */
        for (;; fmt++) {
            if (*fmt == 'h') lng--;
            else if (*fmt == 'l') lng++;
            else if (*fmt == 'z' || *fmt == 'j' || *fmt == 't') lng = 2;
            else break;
        }
        char c = *fmt;
        if (!c)
            break;
        switch (c) {
        case 'd':
        case 'i': {
            int64_t v;
            if (lng >= 1) v = lng == 1 ? va_arg(ap, long) : va_arg(ap, long long);
            else v = va_arg(ap, int);
            if (lng == -1) v = (short)v;
            if (lng <= -2) v = (signed char)v;
            bool neg = v < 0;
            uint64_t u = neg ? -(uint64_t)v : (uint64_t)v;
            put_number(&o, u, neg, 10, false, width, prec, left, zero, sign, "");
            break;
        }
        case 'u':
        case 'x':
        case 'X':
        case 'o':
        case 'p': {
            uint64_t v;
            unsigned base = c == 'u' ? 10 : c == 'o' ? 8 : 16;
            const char *prefix = "";
            if (c == 'p') {
                v = (uint64_t)va_arg(ap, void *);
                prefix = "0x";
            } else {
                if (lng >= 1) v = lng == 1 ? va_arg(ap, unsigned long) : va_arg(ap, unsigned long long);
                else v = va_arg(ap, unsigned int);
                if (lng == -1) v = (uint16_t)v;
                if (lng <= -2) v = (uint8_t)v;
                if (alt && v) prefix = c == 'o' ? "0" : c == 'X' ? "0X" : c == 'x' ? "0x" : "";
            }
            put_number(&o, v, false, base, c == 'X', width, prec, left, zero, 0, prefix);
            break;
        }
        case 'c': {
            char ch = (char)va_arg(ap, int);
            put_padded(&o, &ch, 1, width, left, ' ');
            break;
        }
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            size_t n = prec >= 0 ? strnlen(s, (size_t)prec) : strlen(s);
            put_padded(&o, s, n, width, left, ' ');
            break;
        }
        case '%':
            put(&o, '%');
            break;
        default:
            put(&o, '%');
            put(&o, c);
            break;
        }
    }
    if (o.size)
        o.buf[o.len < o.size ? o.len : o.size - 1] = 0;
    return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

int vprintf(const char *fmt, va_list ap)
{
    char buf[512];
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap2);
    va_end(ap2);
    console_write(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
    return n;
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}

int puts(const char *s)
{
    size_t n = strlen(s);
    console_write(s, n);
    console_write("\n", 1);
    return (int)n + 1;
}

/*
 * Number, size and boolean parsing with QEMU's spellings.
 */
#include "qemu/osdep.h"

bool parse_uint(const char *str, uint64_t *out, GError **errp)
{
    char *end;
    guint64 v;

    if (!str || !*str || *str == '-' || g_ascii_isspace(*str)) {
        error_setg(errp, "'%s' is not a valid number", str ? str : "");
        return false;
    }
    errno = 0;
    v = g_ascii_strtoull(str, &end, 0);
    if (errno == ERANGE) {
        error_setg(errp, "'%s' is too large", str);
        return false;
    }
    if (*end) {
        error_setg(errp, "'%s' is not a valid number", str);
        return false;
    }
    *out = v;
    return true;
}

static int size_suffix_shift(char c)
{
    switch (g_ascii_toupper(c)) {
    case 'B': return 0;
    case 'K': return 10;
    case 'M': return 20;
    case 'G': return 30;
    case 'T': return 40;
    case 'P': return 50;
    case 'E': return 60;
    default:  return -1;
    }
}

bool parse_size(const char *str, uint64_t default_unit, uint64_t *out,
                GError **errp)
{
    char *end;
    double d;
    uint64_t unit = default_unit;
    int shift;

    if (!str || !*str || *str == '-' || g_ascii_isspace(*str)) {
        error_setg(errp, "invalid size '%s'", str ? str : "");
        return false;
    }
    errno = 0;
    if (g_str_has_prefix(str, "0x") || g_str_has_prefix(str, "0X")) {
        uint64_t v;
        if (!parse_uint(str, &v, NULL)) {
            error_setg(errp, "invalid size '%s'", str);
            return false;
        }
        *out = v;
        return true;
    }
    d = g_ascii_strtod(str, &end);
    if (errno || end == str || d < 0) {
        error_setg(errp, "invalid size '%s'", str);
        return false;
    }
    if (*end) {
        shift = size_suffix_shift(*end);
        if (shift < 0 || end[1]) {
            error_setg(errp, "invalid size '%s': unknown suffix", str);
            return false;
        }
        unit = 1ULL << shift;
    }
    if (d * unit >= 18446744073709551616.0) {
        error_setg(errp, "size '%s' is too large", str);
        return false;
    }
    if (d != (double)(uint64_t)d && unit == 1) {
        error_setg(errp, "invalid size '%s': fractional bytes", str);
        return false;
    }
    *out = (uint64_t)(d * unit);
    return true;
}

bool parse_bool(const char *str, bool *out, GError **errp)
{
    static const char *const yes[] = { "on", "yes", "true", "y", NULL };
    static const char *const no[] = { "off", "no", "false", "n", NULL };

    for (int i = 0; yes[i]; i++) {
        if (str && !strcmp(str, yes[i])) {
            *out = true;
            return true;
        }
        if (str && !strcmp(str, no[i])) {
            *out = false;
            return true;
        }
    }
    error_setg(errp, "'%s' is not a valid boolean (use on or off)",
               str ? str : "");
    return false;
}

/* -name debug-threads=on: threads carry names ("CPU 0/KVM", "IO iothread0",
 * "worker") that ps, top and gdb show, as QEMU's do. */
bool thread_naming_enabled;

void qemu_thread_name_self(const char *fmt, ...)
{
    char name[16];      /* the kernel keeps 15 characters */
    va_list ap;

    if (!thread_naming_enabled) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(name, sizeof(name), fmt, ap);
    va_end(ap);
    pthread_setname_np(pthread_self(), name);
}

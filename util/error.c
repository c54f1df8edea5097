/*
 * Error reporting helpers on top of GError.
 */
#include "qemu/osdep.h"

G_DEFINE_QUARK(kvmpc-error-quark, kvmpc_error)

void error_report(const char *fmt, ...)
{
    va_list ap;

    fputs("kvmpc: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void error_report_err(GError *err)
{
    error_report("%s", err->message);
    g_error_free(err);
}

void fatal_error(GError *err)
{
    error_report_err(err);
    exit(1);
}

/*
 * Error reporting helpers on top of GError.
 */
#include "qemu/osdep.h"

G_DEFINE_QUARK(kvmpc-error-quark, kvmpc_error)

bool message_with_timestamp;     /* -msg timestamp=on */
const char *message_guest_name;  /* -msg guest-name=on: the -name guest */

/* QEMU's -msg prefix: "2026-12-05T07:40:00.123456Z guest=NAME kvmpc: ...",
 * which libvirt's log readers expect when they ask for it. */
static void print_message_prefix(void)
{
    if (message_with_timestamp) {
        g_autoptr(GDateTime) now = g_date_time_new_now_utc();
        g_autofree char *ts = g_date_time_format(now, "%Y-%m-%dT%H:%M:%S");

        fprintf(stderr, "%s.%06dZ ", ts, g_date_time_get_microsecond(now));
    }
    if (message_guest_name && *message_guest_name) {
        fprintf(stderr, "%s ", message_guest_name);
    }
    fputs("kvmpc: ", stderr);
}

void error_vreport(const char *fmt, va_list ap)
{
    print_message_prefix();
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void error_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_vreport(fmt, ap);
    va_end(ap);
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

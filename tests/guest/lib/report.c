/*
 * Test reporting.  Output lines:
 *   PASS: <prefix: >message
 *   FAIL: <prefix: >message
 *   SKIP: <prefix: >message
 *   INFO: <prefix: >message
 *   SUMMARY: N tests, M failures[, K skipped]
 * run-guest-test.py passes a payload whose last SUMMARY line reports 0
 * failures and which exited through isa-debug-exit with code 0.
 */
#include "guest.h"

static int tests, failures, skipped;
static const char *prefix;

void report_prefix(const char *p)
{
    prefix = p;
}

static void line(const char *tag, const char *fmt, va_list ap)
{
    char buf[400];
    int n = snprintf(buf, sizeof(buf), "%s: %s%s", tag, prefix ? prefix : "", prefix ? ": " : "");
    if (n < (int)sizeof(buf) - 2)
        n += vsnprintf(buf + n, sizeof(buf) - 2 - (size_t)n, fmt, ap);
    if (n > (int)sizeof(buf) - 2)
        n = (int)sizeof(buf) - 2;
    buf[n++] = '\n';
    buf[n] = 0;
    console_write(buf, (size_t)n);
}

void report(bool pass, const char *fmt, ...)
{
    va_list ap;
    __atomic_fetch_add(&tests, 1, __ATOMIC_RELAXED);
    if (!pass)
        __atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED);
    va_start(ap, fmt);
    line(pass ? "PASS" : "FAIL", fmt, ap);
    va_end(ap);
}

void report_skip(const char *fmt, ...)
{
    va_list ap;
    __atomic_fetch_add(&skipped, 1, __ATOMIC_RELAXED);
    va_start(ap, fmt);
    line("SKIP", fmt, ap);
    va_end(ap);
}

void report_info(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    line("INFO", fmt, ap);
    va_end(ap);
}

int report_failures(void)
{
    return failures;
}

noreturn void report_summary(void)
{
    console_release();
    prefix = NULL;
    if (irq_spurious_count)
        report_info("%u spurious interrupts", irq_spurious_count);
    if (irq_unexpected_count)
        report(false, "no unexpected interrupts (got %u, last vector 0x%x)",
               irq_unexpected_count, irq_unexpected_last);
    if (skipped)
        printf("SUMMARY: %d tests, %d failures, %d skipped\n", tests, failures, skipped);
    else
        printf("SUMMARY: %d tests, %d failures\n", tests, failures);
    exit(failures ? 1 : 0);
}

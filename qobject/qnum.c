#include "qemu/osdep.h"
#include <math.h>
#include "qobject/qnum.h"
#include "qobject-internal.h"

static QNum *qnum_alloc(QNumKind kind)
{
    QNum *qn = g_new(QNum, 1);

    qobject_init(QOBJECT(qn), QTYPE_QNUM);
    qn->kind = kind;
    return qn;
}

QNum *qnum_from_int(int64_t value)
{
    QNum *qn = qnum_alloc(QNUM_I64);

    qn->u.i64 = value;
    return qn;
}

QNum *qnum_from_uint(uint64_t value)
{
    QNum *qn = qnum_alloc(QNUM_U64);

    qn->u.u64 = value;
    return qn;
}

QNum *qnum_from_double(double value)
{
    QNum *qn = qnum_alloc(QNUM_DOUBLE);

    qn->u.dbl = value;
    return qn;
}

bool qnum_get_try_int(const QNum *qn, int64_t *val)
{
    switch (qn->kind) {
    case QNUM_I64:
        *val = qn->u.i64;
        return true;
    case QNUM_U64:
        if (qn->u.u64 > INT64_MAX) {
            return false;
        }
        *val = (int64_t)qn->u.u64;
        return true;
    case QNUM_DOUBLE:
        return false;
    }
    g_assert_not_reached();
}

bool qnum_get_try_uint(const QNum *qn, uint64_t *val)
{
    switch (qn->kind) {
    case QNUM_I64:
        if (qn->u.i64 < 0) {
            return false;
        }
        *val = (uint64_t)qn->u.i64;
        return true;
    case QNUM_U64:
        *val = qn->u.u64;
        return true;
    case QNUM_DOUBLE:
        return false;
    }
    g_assert_not_reached();
}

int64_t qnum_get_int(const QNum *qn)
{
    int64_t val;
    bool ok = qnum_get_try_int(qn, &val);

    g_assert(ok);
    return val;
}

uint64_t qnum_get_uint(const QNum *qn)
{
    uint64_t val;
    bool ok = qnum_get_try_uint(qn, &val);

    g_assert(ok);
    return val;
}

double qnum_get_double(const QNum *qn)
{
    switch (qn->kind) {
    case QNUM_I64:
        return (double)qn->u.i64;
    case QNUM_U64:
        return (double)qn->u.u64;
    case QNUM_DOUBLE:
        return qn->u.dbl;
    }
    g_assert_not_reached();
}

/*
 * Shortest "%.Ng" that reads back to the same double, so 0.1 prints as
 * "0.1" rather than "0.10000000000000001".  g_ascii_* keeps the decimal
 * point a '.' whatever the locale.
 */
static char *double_to_string(double d)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];

    if (!isfinite(d)) {
        return g_strdup("null");
    }
    for (int prec = 15; prec <= 17; prec++) {
        char fmt[8];

        snprintf(fmt, sizeof(fmt), "%%.%dg", prec);
        g_ascii_formatd(buf, sizeof(buf), fmt, d);
        if (prec == 17 || g_ascii_strtod(buf, NULL) == d) {
            break;
        }
    }
    /* Keep it a double on the way back in: "1" would parse as an int. */
    if (!strpbrk(buf, ".eE")) {
        return g_strconcat(buf, ".0", NULL);
    }
    return g_strdup(buf);
}

char *qnum_to_string(const QNum *qn)
{
    switch (qn->kind) {
    case QNUM_I64:
        return g_strdup_printf("%" PRId64, qn->u.i64);
    case QNUM_U64:
        return g_strdup_printf("%" PRIu64, qn->u.u64);
    case QNUM_DOUBLE:
        return double_to_string(qn->u.dbl);
    }
    g_assert_not_reached();
}

bool qnum_is_equal(const QObject *a, const QObject *b)
{
    const QNum *na = qobject_to(QNum, a);
    const QNum *nb = qobject_to(QNum, b);
    bool da = na->kind == QNUM_DOUBLE, db = nb->kind == QNUM_DOUBLE;
    int64_t ia, ib;
    uint64_t ua, ub;

    if (da || db) {
        return da && db && na->u.dbl == nb->u.dbl;
    }
    if (qnum_get_try_int(na, &ia)) {
        return qnum_get_try_int(nb, &ib) && ia == ib;
    }
    /* @na is above INT64_MAX. */
    return qnum_get_try_uint(na, &ua) && qnum_get_try_uint(nb, &ub) &&
           ua == ub;
}

void qnum_destroy_obj(QObject *obj)
{
    g_free(qobject_to(QNum, obj));
}

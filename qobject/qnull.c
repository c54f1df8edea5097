/* The null singleton: static, its count never reaches zero in correct use. */
#include "qemu/osdep.h"
#include "qobject/qnull.h"

static QNull qnull_singleton = {
    .base = { .type = QTYPE_QNULL, .refcnt = 1 },
};

QNull *qnull(void)
{
    return qobject_ref(&qnull_singleton);
}

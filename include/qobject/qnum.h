/*
 * QNum: a JSON number.  It remembers whether it was made (or parsed) as a
 * signed 64-bit integer, an unsigned 64-bit integer or a double, because
 * the wire form differs ("1" versus "1.0") and because uint64 values above
 * INT64_MAX must survive a round trip.
 */
#ifndef QOBJECT_QNUM_H
#define QOBJECT_QNUM_H

#include "qobject/qobject.h"

typedef enum QNumKind {
    QNUM_I64,
    QNUM_U64,
    QNUM_DOUBLE,
} QNumKind;

struct QNum {
    QObjectBase_ base;
    QNumKind kind;
    union {
        int64_t i64;
        uint64_t u64;
        double dbl;
    } u;
};

QNum *qnum_from_int(int64_t value);
QNum *qnum_from_uint(uint64_t value);
QNum *qnum_from_double(double value);

/*
 * Integer getters succeed when the value is an integer (of either kind)
 * that fits the requested type; doubles never convert to integers.
 */
bool qnum_get_try_int(const QNum *qn, int64_t *val);
bool qnum_get_try_uint(const QNum *qn, uint64_t *val);
/* As above, but abort when the value does not fit: for trusted data. */
int64_t qnum_get_int(const QNum *qn);
uint64_t qnum_get_uint(const QNum *qn);
/* Any number as a double (large integers may lose precision). */
double qnum_get_double(const QNum *qn);

/* The JSON text of the number (g_free it).  See qobject/json-writer.c. */
char *qnum_to_string(const QNum *qn);

#endif

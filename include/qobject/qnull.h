/* QNull: the JSON null value.  There is one shared instance. */
#ifndef QOBJECT_QNULL_H
#define QOBJECT_QNULL_H

#include "qobject/qobject.h"

struct QNull {
    QObjectBase_ base;
};

/* A new reference to the null singleton. */
QNull *qnull(void);

#endif

/*
 * How generated qapi_event_send_NAME() functions reach the monitor.
 *
 * Each of them builds the event's "data" object and calls
 * qapi_event_emit(NAME, data), which passes both to the function in
 * qapi_event_emit_fn.  The monitor sets that pointer at start-up to a
 * function that adds "timestamp" and "event" and sends the event to its
 * clients.  While it is NULL (unit tests, early start-up) events are
 * dropped.
 *
 * @data is NULL for an event without data members (QEMU then sends no
 * "data" key); otherwise it is borrowed: take a reference to keep it.
 * Events may be sent from any thread (a vCPU thread for a guest-triggered
 * RESET, say); the emitter must cope with that.
 */
#ifndef QAPI_QMP_EVENT_H
#define QAPI_QMP_EVENT_H

#include "qemu/osdep.h"
#include "qobject/qdict.h"

typedef void QapiEventEmitFunc(const char *event, QDict *data);

/* Set it with qapi_event_set_emitter(), which is atomic. */
extern QapiEventEmitFunc *qapi_event_emit_fn;

void qapi_event_set_emitter(QapiEventEmitFunc *fn);
void qapi_event_emit(const char *event, QDict *data);

#endif

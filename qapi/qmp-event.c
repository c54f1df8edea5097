/* The event hook between generated event senders and the monitor. */
#include "qemu/osdep.h"
#include "qapi/qmp-event.h"

QapiEventEmitFunc *qapi_event_emit_fn;

void qapi_event_set_emitter(QapiEventEmitFunc *fn)
{
    g_atomic_pointer_set(&qapi_event_emit_fn, fn);
}

void qapi_event_emit(const char *event, QDict *data)
{
    QapiEventEmitFunc *fn = g_atomic_pointer_get(&qapi_event_emit_fn);

    if (fn) {
        fn(event, data);
    }
}

/*
 * I/O threads (include/system/iothread.h).
 */
#include "qemu/osdep.h"
#include <sys/syscall.h>
#include "system/iothread.h"
#include "system/object.h"
#include "qobject/qnum.h"

#define POLL_START_NS       4000
#define POLL_DEFAULT_MAX_NS 32768

struct IOThread {
    char *id;
    GMainContext *ctx;
    GThread *thread;
    int tid;
    /* As the user set them (qom-set may change them while the thread
     * runs: written and read with relaxed atomics, each on its own). */
    int64_t poll_max_ns;
    int64_t poll_grow;          /* 0: the default, 2 */
    int64_t poll_shrink;        /* 0: reset to 0 */
    int64_t aio_max_batch;
    int64_t poll_ns;            /* current spin budget (thread only) */
    GPtrArray *pollers;         /* IOThreadPoller *, thread only */
    bool polling;               /* between poll_begin and poll_end */
    GMutex lock;                /* start-up handshake */
    GCond cond;
    bool started;
};

static GPtrArray *iothreads;
static __thread IOThread *current_iothread;

IOThread *iothread_find(const char *id)
{
    return user_object_find(id, TYPE_IOTHREAD);
}

IOThread *iothread_of_context(GMainContext *ctx)
{
    for (guint i = 0; ctx && iothreads && i < iothreads->len; i++) {
        IOThread *t = g_ptr_array_index(iothreads, i);

        if (t->ctx == ctx) {
            return t;
        }
    }
    return NULL;
}

GMainContext *iothread_get_context(IOThread *t)
{
    return t->ctx;
}

const char *iothread_get_id(IOThread *t)
{
    return t->id;
}

bool iothread_is_current(IOThread *t)
{
    return current_iothread == t;
}

void context_attach_source(GSource *src, GMainContext *ctx)
{
    if (ctx && ctx != g_main_context_default()) {
        g_source_set_can_recurse(src, TRUE);
    }
    g_source_attach(src, ctx ? ctx : g_main_context_default());
}

int64_t iothread_poll_ns(IOThread *t)
{
    return __atomic_load_n(&t->poll_ns, __ATOMIC_RELAXED);
}

void iothread_add_poller(IOThread *t, IOThreadPoller *p)
{
    g_ptr_array_add(t->pollers, p);
    if (t->polling && p->poll_begin) {
        p->poll_begin(p->opaque);
    }
}

void iothread_remove_poller(IOThread *t, IOThreadPoller *p)
{
    if (g_ptr_array_remove(t->pollers, p) && t->polling && p->poll_end) {
        p->poll_end(p->opaque);
    }
}

static void begin_polling(IOThread *t)
{
    if (t->polling) {
        return;
    }
    t->polling = true;
    for (guint i = 0; i < t->pollers->len; i++) {
        IOThreadPoller *p = g_ptr_array_index(t->pollers, i);
        if (p->poll_begin) {
            p->poll_begin(p->opaque);
        }
    }
}

/* Notifications back on; true if work came in while they were off. */
static bool run_ready_pollers(IOThread *t);
static bool end_polling(IOThread *t)
{
    if (!t->polling) {
        return false;
    }
    t->polling = false;
    for (guint i = 0; i < t->pollers->len; i++) {
        IOThreadPoller *p = g_ptr_array_index(t->pollers, i);
        if (p->poll_end) {
            p->poll_end(p->opaque);
        }
    }
    return run_ready_pollers(t);
}

void iothread_end_polling(IOThread *t)
{
    end_polling(t);
}

static void count_pollers(void *opaque)
{
    void **args = opaque;
    IOThread *t = args[0];

    *(guint *)args[1] = t->pollers->len;
}

guint iothread_poller_count(IOThread *t)
{
    guint n = 0;
    void *args[2] = { t, &n };

    iothread_run_sync(t, count_pollers, args);
    return n;
}

/* One pass over the pollers: run whatever has work. */
static bool run_ready_pollers(IOThread *t)
{
    bool any = false;

    for (guint i = 0; i < t->pollers->len; i++) {
        IOThreadPoller *p = g_ptr_array_index(t->pollers, i);
        if (p->ready(p->opaque)) {
            p->run(p->opaque);
            any = true;
        }
    }
    return any;
}

static int64_t load_param(const int64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

int64_t iothread_aio_max_batch(IOThread *t)
{
    return load_param(&t->aio_max_batch);
}

static void adapt_poll_time(IOThread *t, int64_t slept_ns, int64_t max_ns)
{
    int64_t ns = t->poll_ns;
    int64_t grow = load_param(&t->poll_grow);
    int64_t shrink = load_param(&t->poll_shrink);

    if (slept_ns <= ns && ns <= max_ns) {
        return;                     /* polling would have caught it */
    }
    if (slept_ns > max_ns || ns > max_ns) {
        /* (a lowered poll-max-ns also shrinks a budget above it) */
        ns = shrink ? ns / shrink : 0;
        ns = MIN(ns, max_ns);
    } else if (ns < max_ns) {
        grow = grow ? grow : 2;
        /* no overflow: the product is capped at max_ns */
        ns = !ns ? POLL_START_NS
             : ns > max_ns / grow ? max_ns : ns * grow;
        ns = MIN(ns, max_ns);
    }
    __atomic_store_n(&t->poll_ns, ns, __ATOMIC_RELAXED);
}

/*
 * The context's poll function: spin on the pollers for poll_ns, then
 * sleep in poll() as usual.  While it spins (and between spells that
 * found work) the pollers' notifications stay off; they come back on
 * only before the thread sleeps.
 */
static gint iothread_poll(GPollFD *fds, guint nfds, gint timeout)
{
    IOThread *t = current_iothread;
    int64_t start, slept, max_ns;
    gint ret;

    if (timeout != 0 && t->poll_ns && t->pollers->len) {
        int64_t now = g_get_monotonic_time() * 1000;
        /* poll-max-ns may be as large as INT64_MAX: saturate */
        int64_t deadline = t->poll_ns > INT64_MAX - now ? INT64_MAX
                                                         : now + t->poll_ns;

        begin_polling(t);
        do {
            ret = g_poll(fds, nfds, 0);
            if (ret) {
                return ret;
            }
            if (run_ready_pollers(t)) {
                return 0;   /* handled without a kick: iterate again */
            }
        } while (g_get_monotonic_time() * 1000 < deadline);
    }
    if (timeout != 0 && end_polling(t)) {
        return 0;           /* it came while notifications were off */
    }
    start = g_get_monotonic_time();
    ret = g_poll(fds, nfds, timeout);
    slept = (g_get_monotonic_time() - start) * 1000;
    max_ns = load_param(&t->poll_max_ns);
    if (timeout != 0 && (max_ns || t->poll_ns)) {
        adapt_poll_time(t, slept, max_ns);
    }
    return ret;
}

static gpointer iothread_main(gpointer opaque)
{
    IOThread *t = opaque;

    current_iothread = t;
    qemu_thread_name_self("IO %s", iothread_get_id(t));
    g_main_context_push_thread_default(t->ctx);
    g_mutex_lock(&t->lock);
    t->tid = (int)syscall(SYS_gettid);
    t->started = true;
    g_cond_signal(&t->cond);
    g_mutex_unlock(&t->lock);
    for (;;) {
        g_main_context_iteration(t->ctx, TRUE);
    }
    return NULL;
}

typedef struct SyncCall {
    void (*fn)(void *opaque);
    void *opaque;
    GMutex lock;
    GCond cond;
    bool done;
} SyncCall;

static gboolean sync_call_dispatch(gpointer data)
{
    SyncCall *c = data;

    c->fn(c->opaque);
    g_mutex_lock(&c->lock);
    c->done = true;
    g_cond_signal(&c->cond);
    g_mutex_unlock(&c->lock);
    return G_SOURCE_REMOVE;
}

void iothread_run_sync(IOThread *t, void (*fn)(void *opaque), void *opaque)
{
    SyncCall c = { .fn = fn, .opaque = opaque };
    GSource *src;

    if (iothread_is_current(t)) {
        fn(opaque);
        return;
    }
    g_mutex_init(&c.lock);
    g_cond_init(&c.cond);
    src = g_idle_source_new();
    g_source_set_priority(src, G_PRIORITY_HIGH);
    g_source_set_callback(src, sync_call_dispatch, &c, NULL);
    g_source_attach(src, t->ctx);
    g_source_unref(src);
    g_main_context_wakeup(t->ctx);
    g_mutex_lock(&c.lock);
    while (!c.done) {
        g_cond_wait(&c.cond, &c.lock);
    }
    g_mutex_unlock(&c.lock);
    g_mutex_clear(&c.lock);
    g_cond_clear(&c.cond);
}

void iothread_for_each(void (*fn)(const IOThreadDesc *info, void *opaque),
                       void *opaque)
{
    for (guint i = 0; iothreads && i < iothreads->len; i++) {
        IOThread *t = g_ptr_array_index(iothreads, i);
        IOThreadDesc info = {
            .id = t->id, .thread_id = t->tid,
            .poll_max_ns = load_param(&t->poll_max_ns),
            .poll_grow = load_param(&t->poll_grow),
            .poll_shrink = load_param(&t->poll_shrink),
            .aio_max_batch = load_param(&t->aio_max_batch),
        };
        fn(&info, opaque);
    }
}

static void *iothread_create(const char *id, GHashTable *props, GError **errp)
{
    uint64_t max_ns = POLL_DEFAULT_MAX_NS, grow = 0, shrink = 0;
    uint64_t batch = 0;
    IOThread *t;

    if (!user_object_take_uint(props, "poll-max-ns", &max_ns, errp) ||
        !user_object_take_uint(props, "poll-grow", &grow, errp) ||
        !user_object_take_uint(props, "poll-shrink", &shrink, errp) ||
        !user_object_take_uint(props, "aio-max-batch", &batch, errp)) {
        return NULL;
    }
    if (max_ns > INT64_MAX || grow > INT64_MAX || shrink > INT64_MAX ||
        batch > INT64_MAX) {
        error_setg(errp, "iothread: poll parameters must fit in int64");
        return NULL;
    }
    t = g_new0(IOThread, 1);
    t->id = g_strdup(id);
    t->poll_max_ns = max_ns;
    t->poll_grow = grow;
    t->poll_shrink = shrink;
    t->aio_max_batch = batch;
    t->pollers = g_ptr_array_new();
    t->ctx = g_main_context_new();
    g_main_context_set_poll_func(t->ctx, iothread_poll);
    g_mutex_init(&t->lock);
    g_cond_init(&t->cond);
    t->thread = g_thread_new("iothread", iothread_main, t);
    g_mutex_lock(&t->lock);
    while (!t->started) {
        g_cond_wait(&t->cond, &t->lock);
    }
    g_mutex_unlock(&t->lock);
    if (!iothreads) {
        iothreads = g_ptr_array_new();
    }
    g_ptr_array_add(iothreads, t);
    return t;
}

/*
 * Live tuning (libvirt's "virsh iothreadset"): a new value is stored at
 * once and the thread picks it up at its next poll, with no lock on its
 * path.  QEMU 7.2's range check and texts.
 */
#define IOTHREAD_PARAM(field, prop)                                         \
    static QObject *get_##field(void *obj)                                  \
    {                                                                       \
        return QOBJECT(qnum_from_int(load_param(&((IOThread *)obj)->field)));\
    }                                                                       \
    static bool set_##field(void *obj, QObject *value, GError **errp)       \
    {                                                                       \
        return set_param(&((IOThread *)obj)->field, prop, value, errp);     \
    }

static bool set_param(int64_t *field, const char *name, QObject *value,
                      GError **errp)
{
    int64_t v;

    if (!user_object_value_int(value, name, &v, errp)) {
        return false;
    }
    if (v < 0) {
        error_setg(errp, "%s value must be in range [0, %" PRId64 "]", name,
                   INT64_MAX);
        return false;
    }
    __atomic_store_n(field, v, __ATOMIC_RELAXED);
    return true;
}

IOTHREAD_PARAM(poll_max_ns, "poll-max-ns")
IOTHREAD_PARAM(poll_grow, "poll-grow")
IOTHREAD_PARAM(poll_shrink, "poll-shrink")
IOTHREAD_PARAM(aio_max_batch, "aio-max-batch")

static const UserObjectProp iothread_props[] = {
    { "aio-max-batch", "int", get_aio_max_batch, set_aio_max_batch },
    { "poll-max-ns", "int", get_poll_max_ns, set_poll_max_ns },
    { "poll-grow", "int", get_poll_grow, set_poll_grow },
    { "poll-shrink", "int", get_poll_shrink, set_poll_shrink },
    { NULL }
};

static const UserObjectType iothread_type = {
    .name = TYPE_IOTHREAD,
    .props = iothread_props,
    .create = iothread_create,
};

static void iothread_register(void)
{
    user_object_type_register(&iothread_type);
}

static void __attribute__((constructor)) iothread_register_ctor(void)
{
    iothread_register();
}

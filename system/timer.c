/*
 * Clocks and timers.  Timers live in per-clock lists sorted by expiry and
 * run on the main thread; the main loop sleeps until the earliest one.
 */
#include "qemu/osdep.h"
#include "system/timer.h"
#include "system/main-loop.h"

struct QEMUTimer {
    QEMUClockType type;
    QEMUTimerCB *cb;
    void *opaque;
    int64_t expire;         /* -1 when not armed */
    unsigned ran_in_pass;   /* run_due pass that last ran it */
};

static GList *timer_lists[QEMU_CLOCK_MAX];   /* armed timers by expiry */
static unsigned timer_pass;  /* run_due passes so far (0: none yet) */
static GMutex timer_lock;    /* lists may be touched from vCPU threads */

/* Virtual clock: frozen at @virtual_frozen while stopped. */
static bool virtual_enabled;
static bool virtual_manual;
static int64_t virtual_offset;    /* virtual = monotonic - offset */
static int64_t virtual_frozen;

static int64_t monotonic_ns(void)
{
    return g_get_monotonic_time() * 1000;
}

int64_t qemu_clock_get_ns(QEMUClockType type)
{
    switch (type) {
    case QEMU_CLOCK_REALTIME:
        return monotonic_ns();
    case QEMU_CLOCK_HOST:
        return g_get_real_time() * 1000;
    case QEMU_CLOCK_VIRTUAL:
    default:
        if (virtual_manual || !virtual_enabled) {
            return virtual_frozen;
        }
        return monotonic_ns() - virtual_offset;
    }
}

void qemu_clock_virtual_enable(bool enabled)
{
    if (virtual_manual || enabled == virtual_enabled) {
        return;
    }
    if (enabled) {
        virtual_offset = monotonic_ns() - virtual_frozen;
    } else {
        virtual_frozen = monotonic_ns() - virtual_offset;
    }
    virtual_enabled = enabled;
    main_loop_wakeup();
}

void qemu_clock_virtual_set_manual(void)
{
    virtual_manual = true;
    virtual_frozen = 0;
}

void qemu_clock_virtual_set_stopped(int64_t ns)
{
    /* Only a stopped (or manual) clock may jump: timers see one value. */
    g_assert(virtual_manual || !virtual_enabled);
    virtual_frozen = ns;
    main_loop_wakeup();
}

bool qemu_clock_virtual_is_manual(void)
{
    return virtual_manual;
}

QEMUTimer *timer_new_ns(QEMUClockType type, QEMUTimerCB *cb, void *opaque)
{
    QEMUTimer *t = g_new0(QEMUTimer, 1);

    t->type = type;
    t->cb = cb;
    t->opaque = opaque;
    t->expire = -1;
    return t;
}

static gint compare_expiry(gconstpointer a, gconstpointer b)
{
    const QEMUTimer *ta = a, *tb = b;
    return ta->expire < tb->expire ? -1 : ta->expire > tb->expire;
}

static void timer_unlink(QEMUTimer *t)
{
    if (t->expire >= 0) {
        timer_lists[t->type] = g_list_remove(timer_lists[t->type], t);
        t->expire = -1;
    }
}

void timer_del(QEMUTimer *t)
{
    g_mutex_lock(&timer_lock);
    timer_unlink(t);
    g_mutex_unlock(&timer_lock);
}

void timer_free(QEMUTimer *t)
{
    if (t) {
        timer_del(t);
        g_free(t);
    }
}

void timer_mod(QEMUTimer *t, int64_t expire_ns)
{
    g_mutex_lock(&timer_lock);
    timer_unlink(t);
    t->expire = MAX(expire_ns, 0);
    timer_lists[t->type] = g_list_insert_sorted(timer_lists[t->type], t,
                                                compare_expiry);
    g_mutex_unlock(&timer_lock);
    /*
     * The main loop reads the earliest deadline just before it sleeps, so
     * its own thread (a timer re-arming itself, a device under the lock)
     * needs no wake-up: writing the eventfd there would only make the next
     * poll return at once and cost two system calls a re-arm.
     */
    if (!main_loop_is_current_thread()) {
        main_loop_wakeup();
    }
}

bool timer_pending(const QEMUTimer *t)
{
    return t->expire >= 0;
}

int64_t timer_expire_time_ns(const QEMUTimer *t)
{
    return t->expire;
}

/*
 * Pop the first timer of @type due at @now that has not run in pass @pass
 * yet, or NULL.  Timers that ran already are passed over, not waited
 * behind, so one cannot hold up the others.
 */
static QEMUTimer *pop_due(QEMUClockType type, int64_t now, unsigned pass)
{
    QEMUTimer *t = NULL;

    g_mutex_lock(&timer_lock);
    for (GList *l = timer_lists[type]; l; l = l->next) {
        QEMUTimer *cand = l->data;

        if (cand->expire > now) {
            break;
        }
        if (cand->ran_in_pass != pass) {
            timer_unlink(cand);
            t = cand;
            break;
        }
    }
    g_mutex_unlock(&timer_lock);
    return t;
}

static int64_t first_expiry(QEMUClockType type)
{
    int64_t e;

    g_mutex_lock(&timer_lock);
    e = timer_lists[type] ? ((QEMUTimer *)timer_lists[type]->data)->expire
                          : -1;
    g_mutex_unlock(&timer_lock);
    return e;
}

/*
 * Runs each timer of @type that is due at the start of the pass, once.  A
 * timer that re-arms itself in the past (a guest-programmed period shorter
 * than a pass, or a device bug) runs again in the next pass, after the main
 * loop has polled its file descriptors: a guest's timer storm slows the
 * guest's own timers, never the monitor or the other sources.
 */
static void run_due(QEMUClockType type)
{
    unsigned pass = ++timer_pass;
    int64_t now = qemu_clock_get_ns(type);
    QEMUTimer *t;

    while ((t = pop_due(type, now, pass))) {
        t->ran_in_pass = pass;
        t->cb(t->opaque);
    }
}

int64_t timers_next_deadline_ns(void)
{
    int64_t next = -1;

    for (QEMUClockType c = 0; c < QEMU_CLOCK_MAX; c++) {
        int64_t e, delta;

        if (c == QEMU_CLOCK_VIRTUAL && (virtual_manual || !virtual_enabled)) {
            continue;       /* qtest steps it; a stopped clock has no due */
        }
        e = first_expiry(c);
        if (e < 0) {
            continue;
        }
        delta = MAX(0, e - qemu_clock_get_ns(c));
        next = next < 0 ? delta : MIN(next, delta);
    }
    return next;
}

int64_t timers_run_due(void)
{
    for (QEMUClockType c = 0; c < QEMU_CLOCK_MAX; c++) {
        if (c == QEMU_CLOCK_VIRTUAL && !virtual_manual && !virtual_enabled) {
            continue;
        }
        /* A manual clock's timers due at the frozen time run too. */
        run_due(c);
    }
    return timers_next_deadline_ns();
}

int64_t qemu_clock_virtual_next_deadline(void)
{
    return first_expiry(QEMU_CLOCK_VIRTUAL);
}

void qemu_clock_virtual_advance_to(int64_t ns)
{
    QEMUTimer *t;

    unsigned budget = 1000000;   /* a timer re-arming itself in the past */

    g_assert(virtual_manual);
    while (budget--) {
        int64_t e = first_expiry(QEMU_CLOCK_VIRTUAL);
        unsigned pass = ++timer_pass;
        if (e < 0 || e > ns) {
            break;
        }
        virtual_frozen = MAX(virtual_frozen, e);
        while (budget &&
               (t = pop_due(QEMU_CLOCK_VIRTUAL, virtual_frozen, pass))) {
            t->ran_in_pass = pass;
            t->cb(t->opaque);
            budget--;
        }
    }
    virtual_frozen = MAX(virtual_frozen, ns);
}

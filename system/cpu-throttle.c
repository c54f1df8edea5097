/*
 * vCPU throttling for auto-converge: include/system/cpu-throttle.h.
 */
#include "qemu/osdep.h"
#include "system/cpu-throttle.h"

static int throttle_pct;            /* atomic */
static guint kick_timer;            /* main loop source while throttling */
static void (*kick_all_fn)(void);

int64_t cpu_throttle_sleep_ns(int pct)
{
    if (pct <= 0) {
        return 0;
    }
    pct = MIN(pct, CPU_THROTTLE_PCT_MAX);
    return CPU_THROTTLE_TIMESLICE_NS * pct / (100 - pct);
}

static gboolean kick_tick(gpointer opaque)
{
    if (kick_all_fn) {
        kick_all_fn();
    }
    return G_SOURCE_CONTINUE;
}

static void update_timer(void *opaque)
{
    bool on = __atomic_load_n(&throttle_pct, __ATOMIC_RELAXED) > 0;

    if (on && !kick_timer && kick_all_fn) {
        kick_timer = g_timeout_add(CPU_THROTTLE_TIMESLICE_NS / 1000000,
                                   kick_tick, NULL);
    } else if (!on && kick_timer) {
        g_source_remove(kick_timer);
        kick_timer = 0;
    }
}

static gboolean update_timer_idle(gpointer opaque)
{
    update_timer(opaque);
    return G_SOURCE_REMOVE;
}

void cpu_throttle_set(int pct)
{
    pct = pct <= 0 ? 0 : MAX(CPU_THROTTLE_PCT_MIN,
                             MIN(pct, CPU_THROTTLE_PCT_MAX));
    __atomic_store_n(&throttle_pct, pct, __ATOMIC_RELAXED);
    /* the timer belongs to the main context: set it up from there */
    g_idle_add(update_timer_idle, NULL);
}

void cpu_throttle_stop(void)
{
    cpu_throttle_set(0);
}

bool cpu_throttle_active(void)
{
    return cpu_throttle_get_percentage() > 0;
}

int cpu_throttle_get_percentage(void)
{
    return __atomic_load_n(&throttle_pct, __ATOMIC_RELAXED);
}

void cpu_throttle_vcpu_check(int64_t *last_ns)
{
    int pct = cpu_throttle_get_percentage();
    int64_t now = g_get_monotonic_time() * 1000;

    if (!pct) {
        *last_ns = now;
        return;
    }
    if (now - *last_ns < CPU_THROTTLE_TIMESLICE_NS) {
        return;
    }
    g_usleep(cpu_throttle_sleep_ns(pct) / 1000);
    *last_ns = g_get_monotonic_time() * 1000;
}

void cpu_throttle_set_kick(void (*kick_all)(void))
{
    kick_all_fn = kick_all;
}

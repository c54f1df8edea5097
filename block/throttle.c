/*
 * I/O limits: the leaky buckets (include/block/throttle.h).
 */
#include "qemu/osdep.h"
#include "block/throttle.h"

#define NS_PER_SEC 1000000000.0

static const char *const bucket_names[THROTTLE_BUCKETS] = {
    [THROTTLE_BPS_TOTAL] = "bps", [THROTTLE_BPS_READ] = "bps_rd",
    [THROTTLE_BPS_WRITE] = "bps_wr", [THROTTLE_OPS_TOTAL] = "iops",
    [THROTTLE_OPS_READ] = "iops_rd", [THROTTLE_OPS_WRITE] = "iops_wr",
};

void throttle_config_init(ThrottleConfig *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    for (unsigned i = 0; i < THROTTLE_BUCKETS; i++) {
        cfg->b[i].burst_length = 1;
    }
}

bool throttle_enabled(const ThrottleConfig *cfg)
{
    for (unsigned i = 0; i < THROTTLE_BUCKETS; i++) {
        if (cfg->b[i].avg) {
            return true;
        }
    }
    return false;
}

/* A total limit and a read or write one of the same kind exclude each
 * other. */
static bool check_exclusive(const ThrottleConfig *cfg, unsigned total,
                            GError **errp)
{
    if (cfg->b[total].avg &&
        (cfg->b[total + 1].avg || cfg->b[total + 2].avg)) {
        error_setg(errp, "%s and %s/%s cannot be used at the same time",
                   bucket_names[total], bucket_names[total + 1],
                   bucket_names[total + 2]);
        return false;
    }
    return true;
}

/* QEMU's checks and words (they do not name the bucket). */
static bool check_bucket(const ThrottleBucketConfig *b, GError **errp)
{
    if (b->avg > THROTTLE_VALUE_MAX || b->max > THROTTLE_VALUE_MAX) {
        error_setg(errp, "bps/iops/max values must be within [0, %llu]",
                   THROTTLE_VALUE_MAX);
        return false;
    }
    if (!b->burst_length) {
        error_setg(errp, "the burst length cannot be 0");
        return false;
    }
    if (b->burst_length > 1 && !b->max) {
        error_setg(errp, "burst length set without burst rate");
        return false;
    }
    if (b->max && b->burst_length > THROTTLE_VALUE_MAX / b->max) {
        error_setg(errp, "burst length too high for this burst rate");
        return false;
    }
    if (b->max && !b->avg) {
        error_setg(errp, "bps_max/iops_max require corresponding "
                   "bps/iops values");
        return false;
    }
    if (b->max && b->max < b->avg) {
        error_setg(errp, "bps_max/iops_max cannot be lower than bps/iops "
                   "values");
        return false;
    }
    return true;
}

bool throttle_config_check(const ThrottleConfig *cfg, GError **errp)
{
    if (!check_exclusive(cfg, THROTTLE_BPS_TOTAL, errp) ||
        !check_exclusive(cfg, THROTTLE_OPS_TOTAL, errp)) {
        return false;
    }
    for (unsigned i = 0; i < THROTTLE_BUCKETS; i++) {
        if (!check_bucket(&cfg->b[i], errp)) {
            return false;
        }
    }
    if (cfg->op_size > THROTTLE_VALUE_MAX) {
        error_setg(errp, "iops_size must be within [0, %llu]",
                   THROTTLE_VALUE_MAX);
        return false;
    }
    return true;
}

void throttle_state_init(ThrottleState *st, int64_t now_ns)
{
    memset(st, 0, sizeof(*st));
    st->last_ns = now_ns;
}

void throttle_leak(ThrottleState *st, const ThrottleConfig *cfg,
                   int64_t now_ns)
{
    double secs = (now_ns - st->last_ns) / NS_PER_SEC;

    if (secs <= 0) {
        return;
    }
    st->last_ns = now_ns;
    for (unsigned i = 0; i < THROTTLE_BUCKETS; i++) {
        const ThrottleBucketConfig *b = &cfg->b[i];

        st->level[i] = MAX(st->level[i] - b->avg * secs, 0.0);
        if (b->burst_length > 1) {
            st->burst_level[i] = MAX(st->burst_level[i] - b->max * secs, 0.0);
        }
    }
}

/* The time @extra units take to flow out at @rate per second. */
static int64_t drain_ns(double extra, uint64_t rate)
{
    return (int64_t)(extra / rate * NS_PER_SEC) + 1;
}

static int64_t bucket_wait_ns(const ThrottleState *st,
                              const ThrottleBucketConfig *b, unsigned i)
{
    double capacity, burst_capacity = 0, extra;

    if (!b->avg) {
        return 0;
    }
    if (!b->max) {
        capacity = b->avg / 10.0;           /* 100 ms worth */
    } else {
        capacity = (double)b->max * b->burst_length;
        burst_capacity = b->max / 10.0;
    }
    extra = st->level[i] - capacity;
    if (extra > 0) {
        return drain_ns(extra, b->avg);
    }
    if (b->burst_length > 1) {
        extra = st->burst_level[i] - burst_capacity;
        if (extra > 0) {
            return drain_ns(extra, b->max);
        }
    }
    return 0;
}

/* The buckets a read or a write is charged to. */
static bool bucket_applies(unsigned i, bool write)
{
    switch (i) {
    case THROTTLE_BPS_READ:
    case THROTTLE_OPS_READ:
        return !write;
    case THROTTLE_BPS_WRITE:
    case THROTTLE_OPS_WRITE:
        return write;
    default:
        return true;
    }
}

int64_t throttle_wait_ns(const ThrottleState *st, const ThrottleConfig *cfg,
                         bool write)
{
    int64_t wait = 0;

    for (unsigned i = 0; i < THROTTLE_BUCKETS; i++) {
        if (bucket_applies(i, write)) {
            wait = MAX(wait, bucket_wait_ns(st, &cfg->b[i], i));
        }
    }
    return wait;
}

void throttle_account(ThrottleState *st, const ThrottleConfig *cfg,
                      bool write, uint64_t bytes)
{
    double ops = 1.0;

    if (cfg->op_size && bytes > cfg->op_size) {
        ops = (double)bytes / cfg->op_size;
    }
    for (unsigned i = 0; i < THROTTLE_BUCKETS; i++) {
        double units = i < THROTTLE_OPS_TOTAL ? (double)bytes : ops;

        if (!bucket_applies(i, write) || !cfg->b[i].avg) {
            continue;
        }
        st->level[i] += units;
        if (cfg->b[i].burst_length > 1) {
            st->burst_level[i] += units;
        }
    }
}

/*
 * I/O limits of a block backend (QMP block_set_io_throttle, -drive
 * throttling.*): leaky buckets, as QEMU 7.2's throttling behaves.
 *
 * Six buckets: bytes per second (total, read, write) and requests per
 * second (total, read, write).  A bucket with a rate (avg) fills with what
 * each admitted request costs (its bytes, or one request; a request larger
 * than iops_size costs bytes / iops_size requests) and leaks at that rate.
 * A request waits while any of its buckets (total, and read or write) is
 * fuller than its capacity: a tenth of a second's worth of avg, or with a
 * burst rate (max), max * burst_length, while a second level leaking at
 * max keeps the burst itself to max per second.
 *
 * Pure arithmetic on times the caller gives (nanoseconds of a monotonic
 * clock), so tests can run it on a made-up clock; block/block-backend.c
 * queues and releases the requests.
 */
#ifndef BLOCK_THROTTLE_H
#define BLOCK_THROTTLE_H

#include "qemu/osdep.h"

typedef enum ThrottleBucketType {
    THROTTLE_BPS_TOTAL,
    THROTTLE_BPS_READ,
    THROTTLE_BPS_WRITE,
    THROTTLE_OPS_TOTAL,
    THROTTLE_OPS_READ,
    THROTTLE_OPS_WRITE,
    THROTTLE_BUCKETS,
} ThrottleBucketType;

/* QEMU's THROTTLE_VALUE_MAX: the largest rate or burst accepted. */
#define THROTTLE_VALUE_MAX 1000000000000000ULL

typedef struct ThrottleBucketConfig {
    uint64_t avg;               /* units per second, 0: no limit */
    uint64_t max;               /* burst rate, 0: none */
    uint64_t burst_length;      /* seconds the burst may last (>= 1) */
} ThrottleBucketConfig;

typedef struct ThrottleConfig {
    ThrottleBucketConfig b[THROTTLE_BUCKETS];
    uint64_t op_size;           /* iops_size: bytes one request costs */
} ThrottleConfig;

typedef struct ThrottleState {
    double level[THROTTLE_BUCKETS];
    double burst_level[THROTTLE_BUCKETS];
    int64_t last_ns;            /* when the buckets last leaked */
} ThrottleState;

/* No limits: every bucket's burst_length 1, the rest 0. */
void throttle_config_init(ThrottleConfig *cfg);
/* Does any bucket limit anything? */
bool throttle_enabled(const ThrottleConfig *cfg);
/* QEMU's rules for a configuration (false with the reason in @errp). */
bool throttle_config_check(const ThrottleConfig *cfg, GError **errp);
/* Empty buckets, as of @now_ns. */
void throttle_state_init(ThrottleState *st, int64_t now_ns);
/* Leak what flowed out since the last call. */
void throttle_leak(ThrottleState *st, const ThrottleConfig *cfg,
                   int64_t now_ns);
/* How long a read or write must wait (0: it may go now). */
int64_t throttle_wait_ns(const ThrottleState *st, const ThrottleConfig *cfg,
                         bool write);
/* Charge an admitted request of @bytes to its buckets. */
void throttle_account(ThrottleState *st, const ThrottleConfig *cfg,
                      bool write, uint64_t bytes);

#endif

/*
 * announce-self (QEMU 7.2's net/announce.c behaviour): rounds of
 * gratuitous RARP frames from each NIC's MAC so switches learn where the
 * guest is (after a migration, or when a management tool asks).  The
 * first round goes at once; round n + 1 follows after
 * min(initial + n * step, max) ms of the realtime clock.  A NIC that can
 * ask its driver to announce (virtio-net with GUEST_ANNOUNCE) does that
 * instead of the RARP.  Timers are named by the command's id; a new
 * command with the same id replaces the running one.  An incoming
 * migration that completes announces with the migration parameters
 * (announce-initial/max/rounds/step), as QEMU's destination does; HMP
 * announce_self uses them too.  See docs/net.md.
 */
#include "qemu/osdep.h"
#include "net/net.h"
#include "qapi/qapi-commands.h"
#include "system/timer.h"

#define ETH_P_RARP              0x8035
#define ARP_OP_REQUEST_REV      3
#define RARP_FRAME_LEN          60

typedef struct Announcer {
    char *id;
    QEMUTimer *timer;
    int64_t initial, max, step, rounds;
    int64_t round;              /* rounds still to send */
    char **interfaces;          /* NULL: every NIC */
} Announcer;

static GHashTable *announcers;  /* id -> Announcer */

/* The RARP "reverse request" QEMU sends: broadcast, from and about @mac. */
static size_t make_rarp(uint8_t *buf, const uint8_t *mac)
{
    memset(buf, 0, RARP_FRAME_LEN);
    memset(buf, 0xff, 6);
    memcpy(buf + 6, mac, 6);
    buf[12] = ETH_P_RARP >> 8;
    buf[13] = ETH_P_RARP & 0xff;
    buf[15] = 1;                        /* hardware: Ethernet */
    buf[16] = 0x08;                     /* protocol: IPv4 */
    buf[18] = 6;
    buf[19] = 4;
    buf[21] = ARP_OP_REQUEST_REV;
    memcpy(buf + 22, mac, 6);           /* sender hardware address */
    memcpy(buf + 32, mac, 6);           /* target hardware address */
    return RARP_FRAME_LEN;
}

static bool wanted(Announcer *a, NetClientState *nc)
{
    if (!a->interfaces) {
        return true;
    }
    for (char **p = a->interfaces; *p; p++) {
        if (!strcmp(*p, nc->name)) {
            return true;
        }
    }
    return false;
}

static void announce_round(Announcer *a)
{
    for (NetClientState *nc = net_client_first(); nc; nc = nc->next) {
        uint8_t buf[RARP_FRAME_LEN];
        NICState *nic;

        if (nc->info->type != NET_CLIENT_DRIVER_NIC || nc->queue_index ||
            !wanted(a, nc)) {
            continue;
        }
        if (nc->info->announce && nc->info->announce(nc)) {
            continue;                   /* the guest announces itself */
        }
        nic = qemu_get_nic(nc);
        qemu_send_packet(nc, buf, make_rarp(buf, nic->conf->macaddr.a));
    }
}

static void announcer_free(gpointer p)
{
    Announcer *a = p;

    timer_free(a->timer);
    g_strfreev(a->interfaces);
    g_free(a->id);
    g_free(a);
}

static void announce_next(void *opaque)
{
    Announcer *a = opaque;
    int64_t delay;

    announce_round(a);
    if (--a->round <= 0) {
        g_hash_table_remove(announcers, a->id);
        return;
    }
    delay = a->initial + (a->rounds - a->round - 1) * a->step;
    if (delay < 0 || delay > a->max) {
        delay = a->max;
    }
    timer_mod(a->timer, qemu_clock_get_ns(QEMU_CLOCK_REALTIME) +
              delay * 1000000);
}

void qmp_announce_self(AnnounceParameters *arg, GError **errp)
{
    Announcer *a;
    unsigned n = 0;

    if (arg->initial < 0 || arg->max < 0 || arg->step < 0 ||
        arg->rounds < 0) {
        error_setg(errp, "Parameter 'initial', 'max', 'step' and 'rounds' "
                   "must not be negative");
        return;
    }
    if (!announcers) {
        announcers = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
                                           announcer_free);
    }
    g_hash_table_remove(announcers, arg->id ? arg->id : "");
    if (arg->rounds == 0) {
        return;
    }
    a = g_new0(Announcer, 1);
    a->id = g_strdup(arg->id ? arg->id : "");
    a->initial = arg->initial;
    a->max = arg->max;
    a->step = arg->step;
    a->rounds = a->round = arg->rounds;
    if (arg->interfaces) {
        for (strList *l = arg->interfaces; l; l = l->next) {
            n++;
        }
        a->interfaces = g_new0(char *, n + 1);
        n = 0;
        for (strList *l = arg->interfaces; l; l = l->next) {
            a->interfaces[n++] = g_strdup(l->value);
        }
    }
    a->timer = timer_new_ns(QEMU_CLOCK_REALTIME, announce_next, a);
    g_hash_table_insert(announcers, a->id, a);
    announce_next(a);
}

/* The announcer an incoming migration starts (QEMU's announce_timer). */
#define MIGRATION_ANNOUNCER_ID  "#migration"

void net_announce_after_migration(int64_t initial, int64_t max,
                                  int64_t rounds, int64_t step)
{
    AnnounceParameters p = {
        .initial = initial, .max = max, .rounds = rounds, .step = step,
        .id = (char *)MIGRATION_ANNOUNCER_ID,
    };
    GError *err = NULL;

    qmp_announce_self(&p, &err);
    if (err) {
        g_error_free(err);              /* negative values: nothing sent */
    }
}

/*
 * QMP query-stats and query-stats-schemas (qapi/stats.json), as QEMU 7.2
 * answers them: KVM's binary statistics (accel/kvm/kvm-stats.c) for the
 * VM and for each vCPU, named by the QOM path query-cpus-fast gives.
 * QEMU builds its lists by prepending, so statistics and vCPUs come in
 * the reverse of KVM's order; kvmpc keeps that order too.
 */
#include "qemu/osdep.h"
#include "qapi/qapi-commands.h"
#include "accel/kvm.h"
#include "monitor-internal.h"
#include <linux/kvm.h>

/* Put @obj first in the generated list *@head (QEMU's order) */
#define QAPI_LIST_PREPEND(head, obj) do {                       \
        typeof(head) node_ = g_new0(typeof(*(head)), 1);       \
        node_->value = (obj);                                   \
        node_->next = (head);                                   \
        (head) = node_;                                         \
    } while (0)

#define STATS_TYPE_COUNT    (STATS_TYPE_LOG2_HISTOGRAM + 1)

static StatsType stat_type(const KvmStat *st)
{
    unsigned t = st->type >> KVM_STATS_TYPE_SHIFT;

    /* KVM's order is QAPI's; a type newer than both reads as instant */
    return t < STATS_TYPE_COUNT ? (StatsType)t : STATS_TYPE_INSTANT;
}

static bool stat_unit(const KvmStat *st, StatsUnit *unit)
{
    switch (st->unit) {
    case KVM_STATS_UNIT_BYTES:   *unit = STATS_UNIT_BYTES;   return true;
    case KVM_STATS_UNIT_SECONDS: *unit = STATS_UNIT_SECONDS; return true;
    case KVM_STATS_UNIT_CYCLES:  *unit = STATS_UNIT_CYCLES;  return true;
    case KVM_STATS_UNIT_BOOLEAN: *unit = STATS_UNIT_BOOLEAN; return true;
    default:                     return false;   /* a count */
    }
}

/* ---- query-stats ---- */

/* A filter list of names: absent (has false) wants every name; present
 * and empty (has true, list NULL) wants none, as in QEMU 7.2. */
typedef struct NameFilter {
    bool has;
    strList *list;
} NameFilter;

typedef struct ValuesCtx {
    NameFilter names;
    StatsList *stats;
} ValuesCtx;

static bool name_wanted(NameFilter names, const char *name)
{
    if (!names.has && !names.list) {
        return true;
    }
    for (strList *n = names.list; n; n = n->next) {
        if (!strcmp(n->value, name)) {
            return true;
        }
    }
    return false;
}

static StatsValue *stat_value(const KvmStat *st)
{
    StatsValue *v = g_new0(StatsValue, 1);
    StatsType type = stat_type(st);

    if (type == STATS_TYPE_LINEAR_HISTOGRAM ||
        type == STATS_TYPE_LOG2_HISTOGRAM || st->size > 1) {
        uint64List *list = NULL;

        v->type = QTYPE_QLIST;
        for (int i = st->size - 1; i >= 0; i--) {
            QAPI_LIST_PREPEND(list, st->values[i]);
        }
        v->u.list = list;
    } else if (st->unit == KVM_STATS_UNIT_BOOLEAN) {
        v->type = QTYPE_QBOOL;
        v->u.boolean = st->size && st->values[0];
    } else {
        v->type = QTYPE_QNUM;
        v->u.scalar = st->size ? st->values[0] : 0;
    }
    return v;
}

static void add_value(const KvmStat *st, void *opaque)
{
    ValuesCtx *c = opaque;
    Stats *s;

    if (!name_wanted(c->names, st->name)) {
        return;
    }
    s = g_new0(Stats, 1);
    s->name = g_strdup(st->name);
    s->value = stat_value(st);
    QAPI_LIST_PREPEND(c->stats, s);
}

/* The KVM request of @filter: true with its names when KVM is asked for
 * (no providers member: every provider, every name; an empty one: none). */
static bool kvm_requested(StatsFilter *filter, NameFilter *names)
{
    *names = (NameFilter){ false, NULL };
    if (!filter->has_providers && !filter->providers) {
        return true;
    }
    for (StatsRequestList *p = filter->providers; p; p = p->next) {
        if (p->value->provider == STATS_PROVIDER_KVM) {
            *names = (NameFilter){ p->value->has_names, p->value->names };
            return true;
        }
    }
    return false;
}

/* Prepend a result for one set of statistics, if any was wanted. */
static void add_result(StatsResultList **out, ValuesCtx *c, char *qom_path)
{
    StatsResult *r;

    if (!c->stats) {
        g_free(qom_path);
        return;
    }
    r = g_new0(StatsResult, 1);
    r->provider = STATS_PROVIDER_KVM;
    r->qom_path = qom_path;
    r->stats = c->stats;
    QAPI_LIST_PREPEND(*out, r);
}

StatsResultList *qmp_query_stats(StatsFilter *filter, GError **errp)
{
    StatsResultList *out = NULL;
    NameFilter names, vcpus;

    if (!kvm_requested(filter, &names)) {
        return NULL;
    }
    if (filter->target == STATS_TARGET_VM) {
        ValuesCtx c = { names, NULL };
        if (!kvm_stats_vm(true, add_value, &c, errp)) {
            qapi_free_StatsList(c.stats);
            return NULL;
        }
        add_result(&out, &c, NULL);
        return out;
    }
    vcpus = (NameFilter){ filter->u.vcpu.has_vcpus, filter->u.vcpu.vcpus };
    for (unsigned i = 0; kvm_enabled() && i < kvm_vcpu_count(); i++) {
        g_autofree char *path = monitor_cpu_qom_path(i);
        ValuesCtx c = { names, NULL };
        KvmVcpuInfo vi;

        if (!kvm_vcpu_info(i, &vi) ||
            !name_wanted(vcpus, path)) {
            continue;
        }
        if (!kvm_stats_vcpu(i, true, add_value, &c, errp) && *errp) {
            qapi_free_StatsList(c.stats);
            qapi_free_StatsResultList(out);
            return NULL;
        }
        add_result(&out, &c, g_steal_pointer(&path));
    }
    return out;
}

/* ---- query-stats-schemas ---- */

static void add_schema_value(const KvmStat *st, void *opaque)
{
    StatsSchemaValueList **list = opaque;
    StatsSchemaValue *v = g_new0(StatsSchemaValue, 1);

    v->name = g_strdup(st->name);
    v->type = stat_type(st);
    v->has_unit = stat_unit(st, &v->unit);
    v->exponent = st->exponent;
    if (st->exponent) {
        v->has_base = true;
        v->base = st->base == KVM_STATS_BASE_POW2 ? 2 : 10;
    }
    if (v->type == STATS_TYPE_LINEAR_HISTOGRAM) {
        v->has_bucket_size = true;
        v->bucket_size = st->bucket_size;
    }
    QAPI_LIST_PREPEND(*list, v);
}

static void add_schema(StatsSchemaList **out, StatsTarget target,
                       StatsSchemaValueList *stats)
{
    StatsSchema *s;

    if (!stats) {
        return;
    }
    s = g_new0(StatsSchema, 1);
    s->provider = STATS_PROVIDER_KVM;
    s->target = target;
    s->stats = stats;
    QAPI_LIST_PREPEND(*out, s);
}

StatsSchemaList *qmp_query_stats_schemas(bool has_provider,
                                         StatsProvider provider,
                                         GError **errp)
{
    StatsSchemaList *out = NULL;
    StatsSchemaValueList *vm = NULL, *vcpu = NULL;

    if (has_provider && provider != STATS_PROVIDER_KVM) {
        return NULL;
    }
    if (!kvm_stats_vm(false, add_schema_value, &vm, errp)) {
        return NULL;
    }
    add_schema(&out, STATS_TARGET_VM, vm);
    for (unsigned i = 0; kvm_enabled() && i < kvm_vcpu_count(); i++) {
        if (kvm_stats_vcpu(i, false, add_schema_value, &vcpu, errp)) {
            break;              /* every vCPU has the same ones */
        }
        if (*errp) {
            qapi_free_StatsSchemaList(out);
            return NULL;
        }
    }
    add_schema(&out, STATS_TARGET_VCPU, vcpu);
    return out;
}

/*
 * Human monitor commands for migration, with QEMU 7.2's names and output
 * (hmp-commands.hx, migration/migration-hmp-cmds.c there).
 */
#include "qemu/osdep.h"
#include "qapi/qapi-commands.h"
#include "qapi/util.h"
#include "hmp.h"

#define PROGRESS_INTERVAL_MS 100

static void report(Monitor *mon, GError *err)
{
    monitor_printf(mon, "Error: %s\n", err->message);
    g_error_free(err);
}

static bool status_active(MigrationStatus s)
{
    return s == MIGRATION_STATUS_SETUP || s == MIGRATION_STATUS_ACTIVE ||
           s == MIGRATION_STATUS_CANCELLING ||
           s == MIGRATION_STATUS_PRE_SWITCHOVER ||
           s == MIGRATION_STATUS_DEVICE ||
           /* not postcopy-paused: the monitor comes back for "-r" */
           s == MIGRATION_STATUS_POSTCOPY_ACTIVE ||
           s == MIGRATION_STATUS_POSTCOPY_RECOVER;
}

/*
 * "migrate URI" (no -d) holds the monitor until the migration ends and
 * shows a progress line meanwhile, rewritten in place.
 */
static gboolean progress_tick(gpointer opaque)
{
    Monitor *mon = opaque;
    g_autoptr(MigrationInfo) info = qmp_query_migrate(NULL);

    if (info && info->has_status && status_active(info->status) &&
        info->status != MIGRATION_STATUS_PRE_SWITCHOVER) {
        if (info->ram) {
            monitor_printf(mon, "\rtransferred ram: %" PRId64 " kbytes, "
                           "remaining ram: %" PRId64 " kbytes, "
                           "total ram: %" PRId64 " kbytes",
                           info->ram->transferred >> 10,
                           info->ram->remaining >> 10,
                           info->ram->total >> 10);
        }
        return G_SOURCE_CONTINUE;
    }
    if (info && info->ram) {
        monitor_printf(mon, "\rtransferred ram: %" PRId64 " kbytes, "
                       "remaining ram: %" PRId64 " kbytes, total ram: %"
                       PRId64 " kbytes\n", info->ram->transferred >> 10,
                       info->ram->remaining >> 10, info->ram->total >> 10);
    }
    if (info && info->has_status && info->status == MIGRATION_STATUS_FAILED) {
        monitor_printf(mon, "migration failed: %s\n",
                       info->error_desc ? info->error_desc : "unknown");
    }
    monitor_resume(mon);
    return G_SOURCE_REMOVE;
}

void hmp_migrate(Monitor *mon, const char *args)
{
    g_auto(GStrv) argv = g_strsplit_set(g_strstrip(g_strdup(args ? args
                                                                 : "")),
                                        " ", -1);
    const char *uri = NULL;
    bool detach = false, blk = false, inc = false, resume = false;
    GError *err = NULL;

    for (unsigned i = 0; argv[i]; i++) {
        if (!*argv[i]) {
            continue;
        } else if (!strcmp(argv[i], "-d")) {
            detach = true;
        } else if (!strcmp(argv[i], "-b")) {
            blk = true;
        } else if (!strcmp(argv[i], "-i")) {
            inc = true;
        } else if (!strcmp(argv[i], "-r")) {
            resume = true;
        } else if (!uri) {
            uri = argv[i];
        } else {
            monitor_printf(mon, "migrate: too many arguments\n");
            return;
        }
    }
    if (!uri) {
        monitor_printf(mon, "migrate: missing URI\n");
        return;
    }
    qmp_migrate(uri, true, blk, true, inc, true, detach, true, resume, &err);
    if (err) {
        report(mon, err);
        return;
    }
    if (!detach && monitor_suspend(mon)) {
        g_timeout_add(PROGRESS_INTERVAL_MS, progress_tick, mon);
    }
}

void hmp_migrate_cancel(Monitor *mon, const char *args)
{
    GError *err = NULL;

    qmp_migrate_cancel(&err);
    if (err) {
        report(mon, err);
    }
}

void hmp_migrate_start_postcopy(Monitor *mon, const char *args)
{
    GError *err = NULL;

    qmp_migrate_start_postcopy(&err);
    if (err) {
        report(mon, err);
    }
}

void hmp_migrate_pause(Monitor *mon, const char *args)
{
    GError *err = NULL;

    qmp_migrate_pause(&err);
    if (err) {
        report(mon, err);
    }
}

void hmp_migrate_recover(Monitor *mon, const char *args)
{
    g_autofree char *arg = g_strstrip(g_strdup(args ? args : ""));
    GError *err = NULL;

    qmp_migrate_recover(arg, &err);
    if (err) {
        report(mon, err);
    }
}

void hmp_migrate_continue(Monitor *mon, const char *args)
{
    g_autofree char *arg = g_strstrip(g_strdup(args ? args : ""));
    GError *err = NULL;
    int state = qapi_enum_parse(&MigrationStatus_lookup, arg, -1, &err);

    if (state < 0) {
        report(mon, err);
        return;
    }
    qmp_migrate_continue(state, &err);
    if (err) {
        report(mon, err);
    }
}

void hmp_migrate_incoming(Monitor *mon, const char *args)
{
    g_autofree char *arg = g_strstrip(g_strdup(args ? args : ""));
    GError *err = NULL;

    qmp_migrate_incoming(arg, &err);
    if (err) {
        report(mon, err);
    }
}

static bool split2(const char *args, char **a, char **b)
{
    g_autofree char *s = g_strstrip(g_strdup(args ? args : ""));
    g_auto(GStrv) v = g_strsplit_set(s, " ", 2);

    if (!v[0] || !*v[0] || !v[1]) {
        return false;
    }
    *a = g_strdup(v[0]);
    *b = g_strstrip(g_strdup(v[1]));
    return **b != 0;
}

void hmp_migrate_set_capability(Monitor *mon, const char *args)
{
    g_autofree char *name = NULL, *value = NULL;
    MigrationCapabilityStatusList list = { 0 };
    MigrationCapabilityStatus st;
    GError *err = NULL;
    int cap;

    if (!split2(args, &name, &value)) {
        monitor_printf(mon, "migrate_set_capability: expects a capability "
                       "and on|off\n");
        return;
    }
    cap = qapi_enum_parse(&MigrationCapability_lookup, name, -1, &err);
    if (cap < 0 || !parse_bool(value, &st.state, err ? NULL : &err)) {
        report(mon, err);
        return;
    }
    st.capability = cap;
    list.value = &st;
    qmp_migrate_set_capabilities(&list, &err);
    if (err) {
        report(mon, err);
    }
}

static bool parse_u64_arg(const char *v, bool is_size, uint64_t *out,
                          GError **errp)
{
    return is_size ? parse_size(v, 1, out, errp) : parse_uint(v, out, errp);
}

/* A string parameter, quoted as HMP takes strings ("" clears it). */
static bool set_str_param(MigrateSetParameters *p, const char *name,
                          const char *value, GError **errp)
{
    StrOrNull *v = g_new0(StrOrNull, 1);
    char *s = value[0] == '"' || value[0] == '\''
              ? g_shell_unquote(value, errp) : g_strdup(value);

    if (!s) {
        g_free(v);
        return false;
    }
    v->type = QTYPE_QSTRING;
    v->u.s = s;
    if (!strcmp(name, "tls-creds")) {
        p->tls_creds = v;
    } else if (!strcmp(name, "tls-hostname")) {
        p->tls_hostname = v;
    } else {
        p->tls_authz = v;
    }
    return true;
}

void hmp_migrate_set_parameter(Monitor *mon, const char *args)
{
    g_autofree char *name = NULL, *value = NULL;
    MigrateSetParameters p = { 0 };
    GError *err = NULL;
    uint64_t v = 0;
    bool b = false;

    if (!split2(args, &name, &value)) {
        monitor_printf(mon, "migrate_set_parameter: expects a parameter "
                       "and a value\n");
        return;
    }
#define U(str, field, is_size) \
    } else if (!strcmp(name, str)) { \
        if (!parse_u64_arg(value, is_size, &v, &err)) { goto fail; } \
        p.has_##field = true; p.field = v;
#define B(str, field) \
    } else if (!strcmp(name, str)) { \
        if (!parse_bool(value, &b, &err)) { goto fail; } \
        p.has_##field = true; p.field = b;
    if (0) {
    U("announce-initial", announce_initial, false)
    U("announce-max", announce_max, false)
    U("announce-rounds", announce_rounds, false)
    U("announce-step", announce_step, false)
    U("throttle-trigger-threshold", throttle_trigger_threshold, false)
    U("cpu-throttle-initial", cpu_throttle_initial, false)
    U("cpu-throttle-increment", cpu_throttle_increment, false)
    B("cpu-throttle-tailslow", cpu_throttle_tailslow)
    U("max-bandwidth", max_bandwidth, true)
    U("downtime-limit", downtime_limit, false)
    U("x-checkpoint-delay", x_checkpoint_delay, false)
    B("block-incremental", block_incremental)
    U("multifd-channels", multifd_channels, false)
    U("xbzrle-cache-size", xbzrle_cache_size, true)
    U("max-postcopy-bandwidth", max_postcopy_bandwidth, true)
    U("max-cpu-throttle", max_cpu_throttle, false)
    U("multifd-zlib-level", multifd_zlib_level, false)
    U("multifd-zstd-level", multifd_zstd_level, false)
    } else if (!strcmp(name, "tls-creds") || !strcmp(name, "tls-hostname") ||
               !strcmp(name, "tls-authz")) {
        if (!set_str_param(&p, name, value, &err)) {
            goto fail;
        }
    } else if (!strcmp(name, "multifd-compression")) {
        int c = qapi_enum_parse(&MultiFDCompression_lookup, value, -1, &err);
        if (c < 0) {
            goto fail;
        }
        p.has_multifd_compression = true;
        p.multifd_compression = c;
    } else {
        monitor_printf(mon, "Error: Invalid parameter '%s'\n", name);
        return;
    }
#undef U
#undef B
    if (v > UINT32_MAX && !p.has_max_bandwidth && !p.has_xbzrle_cache_size &&
        !p.has_max_postcopy_bandwidth && !p.has_downtime_limit &&
        !p.has_announce_initial && !p.has_announce_max &&
        !p.has_announce_rounds && !p.has_announce_step) {
        monitor_printf(mon, "Error: Parameter '%s' is out of range\n", name);
        return;
    }
    if ((p.has_throttle_trigger_threshold || p.has_cpu_throttle_initial ||
         p.has_cpu_throttle_increment || p.has_max_cpu_throttle ||
         p.has_multifd_channels || p.has_multifd_zlib_level ||
         p.has_multifd_zstd_level) && v > UINT8_MAX) {
        monitor_printf(mon, "Error: Parameter '%s' is out of range\n", name);
        return;
    }
    qmp_migrate_set_parameters(&p, &err);
fail:
    qapi_free_StrOrNull(p.tls_creds);
    qapi_free_StrOrNull(p.tls_hostname);
    qapi_free_StrOrNull(p.tls_authz);
    if (err) {
        report(mon, err);
    }
}

void hmp_info_migrate(Monitor *mon, const char *args)
{
    g_autoptr(MigrationInfo) info = qmp_query_migrate(NULL);

    if (!info) {
        return;
    }
    if (info->blocked_reasons) {
        monitor_printf(mon, "Outgoing migration blocked:\n");
        for (strList *l = info->blocked_reasons; l; l = l->next) {
            monitor_printf(mon, "  %s\n", l->value);
        }
    }
    if (info->has_status) {
        monitor_printf(mon, "Migration status: %s",
                       MigrationStatus_str[info->status]);
        if (info->status == MIGRATION_STATUS_FAILED && info->error_desc) {
            monitor_printf(mon, " (%s)\n", info->error_desc);
        } else {
            monitor_printf(mon, "\n");
        }
        if (info->has_total_time) {
            monitor_printf(mon, "total time: %" PRId64 " ms\n",
                           info->total_time);
        }
        if (info->has_expected_downtime) {
            monitor_printf(mon, "expected downtime: %" PRId64 " ms\n",
                           info->expected_downtime);
        }
        if (info->has_downtime) {
            monitor_printf(mon, "downtime: %" PRId64 " ms\n", info->downtime);
        }
        if (info->has_setup_time) {
            monitor_printf(mon, "setup: %" PRId64 " ms\n", info->setup_time);
        }
    }
    if (info->ram) {
        MigrationStats *r = info->ram;
        monitor_printf(mon, "transferred ram: %" PRId64 " kbytes\n",
                       r->transferred >> 10);
        monitor_printf(mon, "throughput: %0.2f mbps\n", r->mbps);
        monitor_printf(mon, "remaining ram: %" PRId64 " kbytes\n",
                       r->remaining >> 10);
        monitor_printf(mon, "total ram: %" PRId64 " kbytes\n",
                       r->total >> 10);
        monitor_printf(mon, "duplicate: %" PRId64 " pages\n", r->duplicate);
        monitor_printf(mon, "skipped: %" PRId64 " pages\n", r->skipped);
        monitor_printf(mon, "normal: %" PRId64 " pages\n", r->normal);
        monitor_printf(mon, "normal bytes: %" PRId64 " kbytes\n",
                       r->normal_bytes >> 10);
        monitor_printf(mon, "dirty sync count: %" PRId64 "\n",
                       r->dirty_sync_count);
        monitor_printf(mon, "page size: %" PRId64 " kbytes\n",
                       r->page_size >> 10);
        monitor_printf(mon, "multifd bytes: %" PRIu64 " kbytes\n",
                       r->multifd_bytes >> 10);
        monitor_printf(mon, "pages-per-second: %" PRIu64 "\n",
                       r->pages_per_second);
        if (r->postcopy_requests) {
            monitor_printf(mon, "postcopy request count: %" PRId64 "\n",
                           r->postcopy_requests);
        }
        if (r->dirty_pages_rate) {
            monitor_printf(mon, "dirty pages rate: %" PRId64 " pages\n",
                           r->dirty_pages_rate);
        }
        if (r->precopy_bytes) {
            monitor_printf(mon, "precopy ram: %" PRIu64 " kbytes\n",
                           r->precopy_bytes >> 10);
        }
        if (r->downtime_bytes) {
            monitor_printf(mon, "downtime ram: %" PRIu64 " kbytes\n",
                           r->downtime_bytes >> 10);
        }
    }
}

void hmp_info_migrate_capabilities(Monitor *mon, const char *args)
{
    MigrationCapabilityStatusList *caps = qmp_query_migrate_capabilities(
        NULL);

    for (MigrationCapabilityStatusList *l = caps; l; l = l->next) {
        monitor_printf(mon, "%s: %s\n",
                       MigrationCapability_str[l->value->capability],
                       l->value->state ? "on" : "off");
    }
    qapi_free_MigrationCapabilityStatusList(caps);
}

void hmp_info_migrate_parameters(Monitor *mon, const char *args)
{
    g_autoptr(MigrationParameters) p = qmp_query_migrate_parameters(NULL);

    monitor_printf(mon, "announce-initial: %" PRIu64 " ms\n",
                   p->announce_initial);
    monitor_printf(mon, "announce-max: %" PRIu64 " ms\n", p->announce_max);
    monitor_printf(mon, "announce-rounds: %" PRIu64 "\n",
                   p->announce_rounds);
    monitor_printf(mon, "announce-step: %" PRIu64 " ms\n", p->announce_step);
    monitor_printf(mon, "throttle-trigger-threshold: %u\n",
                   p->throttle_trigger_threshold);
    monitor_printf(mon, "cpu-throttle-initial: %u\n",
                   p->cpu_throttle_initial);
    monitor_printf(mon, "cpu-throttle-increment: %u\n",
                   p->cpu_throttle_increment);
    monitor_printf(mon, "cpu-throttle-tailslow: %s\n",
                   p->cpu_throttle_tailslow ? "on" : "off");
    monitor_printf(mon, "max-cpu-throttle: %u\n", p->max_cpu_throttle);
    monitor_printf(mon, "tls-creds: '%s'\n", p->tls_creds);
    monitor_printf(mon, "tls-hostname: '%s'\n", p->tls_hostname);
    monitor_printf(mon, "max-bandwidth: %" PRIu64 " bytes/second\n",
                   p->max_bandwidth);
    monitor_printf(mon, "downtime-limit: %" PRIu64 " ms\n",
                   p->downtime_limit);
    monitor_printf(mon, "x-checkpoint-delay: %u ms\n",
                   p->x_checkpoint_delay);
    monitor_printf(mon, "block-incremental: %s\n",
                   p->block_incremental ? "on" : "off");
    monitor_printf(mon, "multifd-channels: %u\n", p->multifd_channels);
    monitor_printf(mon, "multifd-compression: %s\n",
                   MultiFDCompression_str[p->multifd_compression]);
    monitor_printf(mon, "xbzrle-cache-size: %" PRIu64 " bytes\n",
                   p->xbzrle_cache_size);
    monitor_printf(mon, "max-postcopy-bandwidth: %" PRIu64 "\n",
                   p->max_postcopy_bandwidth);
    monitor_printf(mon, "tls-authz: '%s'\n", p->tls_authz);
}

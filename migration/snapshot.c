/*
 * Internal snapshots (include/migration/snapshot.h): savevm, loadvm,
 * delvm, info snapshots and the snapshot-save/-load/-delete jobs, with
 * QEMU 7.2's checks and error texts (migration/savevm.c, block/snapshot.c
 * there).  User docs: docs/migration.md, "Internal snapshots".
 */
#include "qemu/osdep.h"
#include "qemu/job.h"
#include "migration/snapshot.h"
#include "migration/migration.h"
#include "migration/savevm.h"
#include "block/block.h"
#include "block/block-backend.h"
#include "system/runstate.h"
#include "system/timer.h"
#include "qapi/qapi-commands.h"
#include <math.h>

/* A disk that takes part: the backend's name, or the node's. */
typedef struct SnapDisk {
    BlockDriverState *bs;
    const char *name;
} SnapDisk;

/*
 * The disks a snapshot covers: every writable disk with a medium, or the
 * nodes named in @devices.
 */
static GArray *snapshot_disks(bool has_devices, strList *devices,
                              GError **errp)
{
    GArray *disks = g_array_new(false, false, sizeof(SnapDisk));

    if (has_devices) {
        for (strList *l = devices; l; l = l->next) {
            SnapDisk d = { bdrv_find_node(l->value), l->value };
            if (!d.bs) {
                error_setg(errp, "No block device node '%s'", l->value);
                g_array_unref(disks);
                return NULL;
            }
            g_array_append_val(disks, d);
        }
        return disks;
    }
    {
        GPtrArray *blks = blk_list();
        for (unsigned i = 0; i < blks->len; i++) {
            BlockBackend *blk = g_ptr_array_index(blks, i);
            SnapDisk d;

            if (!blk_is_inserted(blk) || blk_is_read_only(blk)) {
                continue;
            }
            d.bs = blk_bs(blk);
            d.name = *blk_name(blk) ? blk_name(blk) : bdrv_node_name(d.bs);
            g_array_append_val(disks, d);
        }
    }
    return disks;
}

static bool all_can_snapshot(GArray *disks, GError **errp)
{
    for (guint i = 0; i < disks->len; i++) {
        SnapDisk *d = &g_array_index(disks, SnapDisk, i);
        if (!bdrv_can_snapshot(d->bs)) {
            error_setg(errp, "Device '%s' is writable but does not support "
                       "snapshots", d->name);
            return false;
        }
    }
    return true;
}

/* The snapshot @name (its id or its tag) of @bs, copied into @out. */
static bool find_snapshot(BlockDriverState *bs, const char *name,
                          BlockSnapshotInfo *out)
{
    BlockImageInfo info;
    bool found = false;

    if (!bdrv_get_info(bs, &info, NULL)) {
        bdrv_image_info_clear(&info);
        return false;
    }
    for (guint i = 0; info.snapshots && i < info.snapshots->len; i++) {
        BlockSnapshotInfo *sn = g_ptr_array_index(info.snapshots, i);
        if (!strcmp(sn->id, name) || !strcmp(sn->name, name)) {
            if (out) {
                *out = *sn;
                out->id = g_strdup(sn->id);
                out->name = g_strdup(sn->name);
            }
            found = true;
            break;
        }
    }
    bdrv_image_info_clear(&info);
    return found;
}

static void snapshot_info_free_fields(BlockSnapshotInfo *sn)
{
    g_free(sn->id);
    g_free(sn->name);
}

/* The disk that holds the VM state: @vmstate, else the first that can. */
static BlockDriverState *find_vmstate_bs(GArray *disks, const char *vmstate,
                                         GError **errp)
{
    for (guint i = 0; i < disks->len; i++) {
        SnapDisk *d = &g_array_index(disks, SnapDisk, i);

        if (vmstate && strcmp(bdrv_node_name(d->bs), vmstate) &&
            strcmp(d->name, vmstate)) {
            continue;
        }
        if (bdrv_can_snapshot(d->bs)) {
            return d->bs;
        }
        if (vmstate) {
            error_setg(errp, "vmstate block device '%s' does not support "
                       "snapshots", vmstate);
            return NULL;
        }
    }
    if (vmstate) {
        error_setg(errp, "vmstate block device '%s' does not exist",
                   vmstate);
    } else {
        error_setg(errp, "No block device can accept snapshots");
    }
    return NULL;
}

static bool delete_on_disks(GArray *disks, const char *name, GError **errp)
{
    for (guint i = 0; i < disks->len; i++) {
        SnapDisk *d = &g_array_index(disks, SnapDisk, i);

        while (find_snapshot(d->bs, name, NULL)) {
            if (!bdrv_snapshot_delete(d->bs, name, errp)) {
                g_prefix_error(errp, "Could not delete snapshot '%s' on "
                               "'%s': ", name, d->name);
                return false;
            }
        }
    }
    return true;
}

/* ---- the VM state area as a migration stream ------------------------ */

typedef struct VmStateIO {
    BlockDriverState *bs;
    uint64_t pos, size;         /* size: what loading may read */
} VmStateIO;

static bool vmstate_sink(void *opaque, const struct iovec *iov, unsigned n,
                         GError **errp)
{
    VmStateIO *io = opaque;

    for (unsigned i = 0; i < n; i++) {
        if (!bdrv_save_vmstate(io->bs, io->pos, iov[i].iov_len,
                               iov[i].iov_base, errp)) {
            return false;
        }
        io->pos += iov[i].iov_len;
    }
    return true;
}

static ssize_t vmstate_source(void *opaque, void *buf, size_t len,
                              GError **errp)
{
    VmStateIO *io = opaque;
    size_t n = MIN(len, io->size - io->pos);

    if (n && !bdrv_load_vmstate(io->bs, io->pos, n, buf, errp)) {
        return -1;
    }
    io->pos += n;
    return n;
}

/* Everything, in one pass: the VM is stopped. */
static bool write_vmstate(BlockDriverState *bs, bool running,
                          uint64_t *size, GError **errp)
{
    VmStateIO io = { bs, 0, 0 };
    MigFile *f = mig_file_new_sink(vmstate_sink, &io);
    GPtrArray *blocks = ram_blocks_new();
    GByteArray *config = mig_config_new(blocks);
    RamStats st = { 0 };
    bool ok;

    mig_save_header(f);
    mig_save_config(f, config);
    for (unsigned i = 0; i < blocks->len && !mig_file_error(f); i++) {
        RamBlock *b = g_ptr_array_index(blocks, i);
        for (uint64_t p = 0; p < b->pages && !mig_file_error(f);
             p += MIG_BATCH_PAGES) {
            mig_save_ram_batch(f, i, b, p,
                               MIN(MIG_BATCH_PAGES, b->pages - p), &st, NULL);
        }
    }
    ok = !mig_file_error(f) && mig_save_devices(f, errp);
    if (ok) {
        mig_save_end(f, running, false);
        mig_file_flush(f);
    }
    *size = io.pos;
    g_byte_array_unref(config);
    ram_blocks_free(blocks);
    if (ok && mig_file_error(f)) {
        error_setg(errp, "%s", mig_file_error(f)->message);
        ok = false;
    }
    mig_file_free(f);
    return ok;
}

static bool read_vmstate(BlockDriverState *bs, uint64_t size, GError **errp)
{
    VmStateIO io = { bs, 0, size };
    MigFile *f = mig_file_new_source(vmstate_source, &io);
    MigLoad *ld = mig_load_new();
    bool ok = mig_load_stream(f, ld, false, errp) &&
              mig_load_finish(ld, errp);

    mig_load_free(ld);
    mig_file_free(f);
    return ok;
}

/* ---- savevm / loadvm / delvm ---------------------------------------- */

bool save_snapshot(const char *name, bool overwrite, const char *vmstate,
                   bool has_devices, strList *devices, GError **errp)
{
    g_autoptr(GArray) disks = NULL;
    g_autofree char *autoname = NULL;
    BlockDriverState *vm_bs;
    RunState before = runstate_get();
    bool running = runstate_is_running();
    uint64_t size = 0, clock_ns;
    bool ok;

    if (!migration_check_blockers(errp)) {
        return false;
    }
    if (migration_is_active()) {
        error_setg(errp, "There's a migration process in progress");
        return false;
    }
    disks = snapshot_disks(has_devices, devices, errp);
    if (!disks || !all_can_snapshot(disks, errp)) {
        return false;
    }
    if (name) {
        if (overwrite) {
            if (!delete_on_disks(disks, name, errp)) {
                return false;
            }
        } else {
            for (guint i = 0; i < disks->len; i++) {
                if (find_snapshot(g_array_index(disks, SnapDisk, i).bs, name,
                                  NULL)) {
                    error_setg(errp, "Snapshot '%s' already exists in one "
                               "or more devices", name);
                    return false;
                }
            }
        }
    } else {
        g_autoptr(GDateTime) now = g_date_time_new_now_local();
        autoname = g_date_time_format(now, "vm-%Y%m%d%H%M%S");
        name = autoname;
    }
    vm_bs = find_vmstate_bs(disks, vmstate, errp);
    if (!vm_bs) {
        return false;
    }
    if (running) {
        vm_stop(RUN_STATE_SAVE_VM);
    } else {
        runstate_set(RUN_STATE_SAVE_VM);
    }
    clock_ns = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    ok = write_vmstate(vm_bs, running, &size, errp);
    for (guint i = 0; ok && i < disks->len; i++) {
        SnapDisk *d = &g_array_index(disks, SnapDisk, i);

        if (!bdrv_snapshot_create_vm(d->bs, name, d->bs == vm_bs ? size : 0,
                                     clock_ns, errp)) {
            g_prefix_error(errp, "Error while creating snapshot on '%s': ",
                           d->name);
            delete_on_disks(disks, name, NULL);
            ok = false;
        }
    }
    if (running) {
        vm_start();
    } else {
        runstate_set(before);
    }
    return ok;
}

bool load_snapshot(const char *name, const char *vmstate, bool has_devices,
                   strList *devices, GError **errp)
{
    g_autoptr(GArray) disks = snapshot_disks(has_devices, devices, errp);
    BlockSnapshotInfo sn;
    BlockDriverState *vm_bs;
    uint64_t vm_size;

    if (!disks || !all_can_snapshot(disks, errp)) {
        return false;
    }
    for (guint i = 0; i < disks->len; i++) {
        if (!find_snapshot(g_array_index(disks, SnapDisk, i).bs, name,
                           NULL)) {
            error_setg(errp, "Snapshot '%s' does not exist in one or more "
                       "devices", name);
            return false;
        }
    }
    vm_bs = find_vmstate_bs(disks, vmstate, errp);
    if (!vm_bs) {
        return false;
    }
    if (!find_snapshot(vm_bs, name, &sn)) {
        error_setg(errp, "Snapshot '%s' does not exist in one or more "
                   "devices", name);
        return false;
    }
    vm_size = sn.vm_state_size;
    snapshot_info_free_fields(&sn);
    if (!vm_size) {
        error_setg(errp, "This is a disk-only snapshot. Revert to it "
                   "offline using qemu-img");
        return false;
    }
    for (guint i = 0; i < disks->len; i++) {
        SnapDisk *d = &g_array_index(disks, SnapDisk, i);
        if (!bdrv_snapshot_goto(d->bs, name, errp)) {
            g_prefix_error(errp, "Could not load snapshot '%s' on '%s': ",
                           name, d->name);
            return false;
        }
    }
    qemu_system_reset(SHUTDOWN_CAUSE_NONE);
    if (!read_vmstate(vm_bs, vm_size, errp)) {
        g_prefix_error(errp, "Error -22 while loading VM state: ");
        return false;
    }
    return true;
}

bool delete_snapshot(const char *name, bool has_devices, strList *devices,
                     GError **errp)
{
    g_autoptr(GArray) disks = snapshot_disks(has_devices, devices, errp);

    return disks && all_can_snapshot(disks, errp) &&
           delete_on_disks(disks, name, errp);
}

/* ---- info snapshots -------------------------------------------------- */

/* "1 GiB", "196 KiB": QEMU's size_to_str. */
static char *size_text(uint64_t v)
{
    static const char *const sfx[] = { "B", "KiB", "MiB", "GiB", "TiB",
                                       "PiB", "EiB" };
    int e, i;

    frexp(v / (1000.0 / 1024.0), &e);
    i = MAX(0, MIN((e - 1) / 10, 6));
    return g_strdup_printf("%0.3g %s", (double)v / (double)(1ULL << (i * 10)),
                           sfx[i]);
}

static void dump_header(GString *out)
{
    g_string_append_printf(out, "%-10s%-17s%8s%20s%13s%11s\n", "ID", "TAG",
                           "VM SIZE", "DATE", "VM CLOCK", "ICOUNT");
}

static void dump_snapshot(GString *out, const BlockSnapshotInfo *sn,
                          const char *id)
{
    g_autofree char *vm = size_text(sn->vm_state_size);
    char date[32], clock[32], icount[32] = "";
    time_t t = sn->date_sec;
    uint64_t secs = sn->vm_clock_nsec / 1000000000ULL;
    struct tm tm;

    localtime_r(&t, &tm);
    strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(clock, sizeof(clock), "%02d:%02d:%02d.%03d", (int)(secs / 3600),
             (int)(secs / 60 % 60), (int)(secs % 60),
             (int)(sn->vm_clock_nsec / 1000000 % 1000));
    if (sn->has_icount) {
        snprintf(icount, sizeof(icount), "%" PRIu64, sn->icount);
    }
    g_string_append_printf(out, "%-9s %-16s %8s%20s%13s%11s\n", id,
                           sn->name, vm, date, clock, icount);
}

char *snapshot_info_text(void)
{
    GString *out = g_string_new(NULL);
    g_autoptr(GArray) disks = snapshot_disks(false, NULL, NULL);
    BlockDriverState *vm_bs = NULL;
    BlockImageInfo info = { 0 };
    g_autoptr(GString) all = g_string_new(NULL);
    g_autoptr(GString) partial = g_string_new(NULL);
    unsigned total = 0;

    for (guint i = 0; disks && i < disks->len && !vm_bs; i++) {
        SnapDisk *d = &g_array_index(disks, SnapDisk, i);
        if (bdrv_can_snapshot(d->bs)) {
            vm_bs = d->bs;
        }
    }
    if (!vm_bs) {
        g_string_append(out, "No available block device supports "
                        "snapshots\n");
        return g_string_free(out, false);
    }
    if (!bdrv_get_info(vm_bs, &info, NULL) || !info.snapshots ||
        !info.snapshots->len) {
        bdrv_image_info_clear(&info);
        g_string_append(out, "There is no snapshot available.\n");
        return g_string_free(out, false);
    }
    /* a snapshot is loadable when every disk has one of its name */
    for (guint i = 0; i < info.snapshots->len; i++) {
        BlockSnapshotInfo *sn = g_ptr_array_index(info.snapshots, i);
        bool everywhere = true;

        for (guint k = 0; k < disks->len; k++) {
            everywhere &= find_snapshot(g_array_index(disks, SnapDisk, k).bs,
                                        sn->name, NULL);
        }
        if (everywhere) {
            dump_snapshot(all, sn, "--");
            total++;
        } else {
            dump_snapshot(partial, sn, sn->id);
        }
    }
    if (total) {
        g_string_append(out, "List of snapshots present on all disks:\n");
        dump_header(out);
        g_string_append(out, all->str);
    } else {
        g_string_append(out, "None\n");
    }
    if (partial->len) {
        g_string_append_printf(out, "\nList of partial (non-loadable) "
                               "snapshots on '%s':\n", bdrv_node_name(vm_bs));
        dump_header(out);
        g_string_append(out, partial->str);
    }
    bdrv_image_info_clear(&info);
    return g_string_free(out, false);
}

/* ---- the jobs -------------------------------------------------------- */

typedef struct SnapshotJob {
    char *tag, *vmstate;
    strList *devices;
} SnapshotJob;

static void snapshot_job_free(void *opaque)
{
    SnapshotJob *s = opaque;

    g_free(s->tag);
    g_free(s->vmstate);
    qapi_free_strList(s->devices);
    g_free(s);
}

static SnapshotJob *snapshot_job_new(const char *tag, const char *vmstate,
                                     strList *devices)
{
    SnapshotJob *s = g_new0(SnapshotJob, 1);
    strList **tail = &s->devices;

    s->tag = g_strdup(tag);
    s->vmstate = g_strdup(vmstate);
    for (strList *l = devices; l; l = l->next) {
        strList *c = g_new0(strList, 1);
        c->value = g_strdup(l->value);
        *tail = c;
        tail = &c->next;
    }
    return s;
}

static bool snapshot_save_run(Job *job, void *opaque, GError **errp)
{
    SnapshotJob *s = opaque;

    return save_snapshot(s->tag, false, s->vmstate, true, s->devices, errp);
}

static bool snapshot_load_run(Job *job, void *opaque, GError **errp)
{
    SnapshotJob *s = opaque;
    bool running = runstate_is_running();
    bool ok;

    vm_stop(RUN_STATE_RESTORE_VM);
    ok = load_snapshot(s->tag, s->vmstate, true, s->devices, errp);
    if (ok && running) {
        vm_start();
    }
    return ok;
}

static bool snapshot_delete_run(Job *job, void *opaque, GError **errp)
{
    SnapshotJob *s = opaque;

    return delete_snapshot(s->tag, true, s->devices, errp);
}

static void start_job(const char *id, JobType type, JobRunFunc *run,
                      SnapshotJob *s, GError **errp)
{
    if (!job_start(id, type, run, s, snapshot_job_free, errp)) {
        snapshot_job_free(s);
    }
}

void qmp_snapshot_save(const char *job_id, const char *tag,
                       const char *vmstate, strList *devices, GError **errp)
{
    start_job(job_id, JOB_TYPE_SNAPSHOT_SAVE, snapshot_save_run,
              snapshot_job_new(tag, vmstate, devices), errp);
}

void qmp_snapshot_load(const char *job_id, const char *tag,
                       const char *vmstate, strList *devices, GError **errp)
{
    start_job(job_id, JOB_TYPE_SNAPSHOT_LOAD, snapshot_load_run,
              snapshot_job_new(tag, vmstate, devices), errp);
}

void qmp_snapshot_delete(const char *job_id, const char *tag,
                         strList *devices, GError **errp)
{
    start_job(job_id, JOB_TYPE_SNAPSHOT_DELETE, snapshot_delete_run,
              snapshot_job_new(tag, NULL, devices), errp);
}

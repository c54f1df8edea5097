/*
 * The "iscsi" protocol driver: a LUN on an iSCSI target, through libiscsi
 * (RFC 7143 for the transport; SBC-3 for the commands).
 *
 *   iscsi://[user[%password]@]host[:port]/target-iqn/lun
 *
 * Commands: READ CAPACITY(16) (size, logical block size, LBPME),
 * INQUIRY VPD pages B0h (Block Limits: maximum transfer and UNMAP
 * lengths) and B2h (Logical Block Provisioning: LBPU, whether UNMAP
 * works), READ(16), WRITE(16) (FUA for write-through),
 * SYNCHRONIZE CACHE(10), UNMAP.  Data moves straight between the
 * caller's buffer and the socket (scsi_task iovecs), no copy.
 *
 * libiscsi contexts are not thread-safe: one mutex per node around every
 * command (requests come from device models' threads and the block
 * thread pool).  Commands time out after ISCSI_TIMEOUT_S; when the
 * session is gone, a new session is logged in (a new context) and the
 * command reissued, else the request fails with one line saying the target went
 * away.  The generic layer bounces requests that are not multiples of the
 * LUN's block size.
 */
#include "qemu/osdep.h"
#include "crypto/secret.h"
#include "block/block-int.h"
#include "qobject/qdict.h"

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define ISCSI_DEFAULT_INITIATOR "iqn.2008-11.org.linux-kvm"
#define ISCSI_TIMEOUT_S         10
/* Per command, whatever the LUN allows: keeps one command's PDUs short */
#define ISCSI_MAX_XFER_BYTES    (8 * MiB)

typedef struct IscsiState {
    struct iscsi_context *iscsi;
    GMutex lock;                    /* every use of iscsi */
    char *portal, *target;          /* to log in again (relogin) */
    char *user, *password, *initiator;
    int lun;
    uint32_t block_size;
    uint64_t num_blocks;
    uint32_t max_xfer_blocks;       /* per READ/WRITE */
    bool lbpu;                      /* UNMAP supported */
    uint32_t max_unmap;             /* blocks per UNMAP descriptor (0: any) */
} IscsiState;

typedef struct IscsiTarget {
    const char *portal, *target;
    int lun;
    const char *user, *password;
    const char *initiator_name;
} IscsiTarget;

static bool iscsi_error(BlockDriverState *bs, const char *what,
                        const char *why, GError **errp)
{
    error_setg(errp, "'%s': %s: %s", bs->filename, what, why);
    return false;
}

/* The message for a failed task (NULL task: the session's error). */
static char *task_error(IscsiState *s, struct scsi_task *task)
{
    if (!task || task->status == SCSI_STATUS_ERROR ||
        task->status == SCSI_STATUS_CANCELLED) {
        return g_strdup_printf("the iSCSI target went away or refused the "
                               "command (%s)", iscsi_get_error(s->iscsi));
    }
    if (task->status == SCSI_STATUS_TIMEOUT) {
        return g_strdup_printf("no answer from the iSCSI target in %d s",
                               ISCSI_TIMEOUT_S);
    }
    if (task->status == SCSI_STATUS_CHECK_CONDITION) {
        return g_strdup_printf("SCSI check condition: %s (%s)",
                               scsi_sense_key_str(task->sense.key),
                               scsi_sense_ascq_str(task->sense.ascq));
    }
    return g_strdup_printf("SCSI status 0x%x", task->status);
}

/* A logged-in session to the target, or NULL with *why set. */
static struct iscsi_context *new_session(IscsiState *s, char **why)
{
    struct iscsi_context *iscsi = iscsi_create_context(s->initiator);

    if (!iscsi) {
        *why = g_strdup("cannot create an iSCSI context");
        return NULL;
    }
    if (iscsi_set_targetname(iscsi, s->target) ||
        iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL) ||
        iscsi_set_header_digest(iscsi, ISCSI_HEADER_DIGEST_NONE_CRC32C) ||
        (s->user && iscsi_set_initiator_username_pwd(iscsi, s->user,
                                                     s->password))) {
        *why = g_strdup(iscsi_get_error(iscsi));
        iscsi_destroy_context(iscsi);
        return NULL;
    }
    iscsi_set_timeout(iscsi, ISCSI_TIMEOUT_S);
    /* We log in again ourselves, with a new context (relogin): libiscsi's
     * own reconnection retries for ever while the target is down, and a
     * context whose reconnection failed cannot even be destroyed safely
     * (libiscsi 1.19). */
    iscsi_set_noautoreconnect(iscsi, 1);
    if (iscsi_full_connect_sync(iscsi, s->portal, s->lun)) {
        *why = g_strdup(iscsi_get_error(iscsi));
        iscsi_destroy_context(iscsi);
        return NULL;
    }
    return iscsi;
}

/* The session dropped: a new one replaces it, if the target answers. */
static bool relogin(IscsiState *s)
{
    g_autofree char *why = NULL;
    struct iscsi_context *iscsi = new_session(s, &why);

    if (!iscsi) {
        return false;
    }
    iscsi_destroy_context(s->iscsi);
    s->iscsi = iscsi;
    return true;
}

/* A failed command worth one more try: the session dropped (a transport
 * error or timeout, not a SCSI status from the LUN) and we could log in
 * again.  s->lock held. */
static bool reconnected(IscsiState *s, struct scsi_task *done)
{
    if (done && done->status == SCSI_STATUS_CHECK_CONDITION &&
        done->sense.key == SCSI_SENSE_UNIT_ATTENTION) {
        return true;    /* reported once (reset, new session): reissue */
    }
    if (done && done->status != SCSI_STATUS_ERROR &&
        done->status != SCSI_STATUS_CANCELLED &&
        done->status != SCSI_STATUS_TIMEOUT) {
        return false;
    }
    return relogin(s);
}

typedef enum { CMD_READ, CMD_WRITE, CMD_SYNC } IscsiCmd;

static struct scsi_task *make_task(IscsiState *s, IscsiCmd cmd, uint64_t lba,
                                   uint32_t bytes, struct scsi_iovec *iov,
                                   bool fua)
{
    struct scsi_task *task;

    switch (cmd) {
    case CMD_READ:
        task = scsi_cdb_read16(lba, bytes, s->block_size, 0, 0, 0, 0, 0);
        if (task) {
            scsi_task_set_iov_in(task, iov, 1);
        }
        return task;
    case CMD_WRITE:
        task = scsi_cdb_write16(lba, bytes, s->block_size, 0, 0, fua, 0, 0);
        if (task) {
            scsi_task_set_iov_out(task, iov, 1);
        }
        return task;
    default:
        return scsi_cdb_synchronizecache10(0, 0, 0, 0);
    }
}

/*
 * One command, waited for; if the session dropped, log in again and
 * reissue it (a new task: a sent one is not reusable), at most twice
 * (a reconnect may be followed by a UNIT ATTENTION).  s->lock held.
 */
static bool run_cmd(BlockDriverState *bs, IscsiCmd cmd, uint64_t lba,
                    uint32_t bytes, uint8_t *buf, bool fua, GError **errp)
{
    static const char *const what[] = {
        [CMD_READ] = "READ(16) failed", [CMD_WRITE] = "WRITE(16) failed",
        [CMD_SYNC] = "SYNCHRONIZE CACHE failed",
    };
    IscsiState *s = bs->opaque;
    struct scsi_iovec iov = { .iov_base = buf, .iov_len = bytes };
    struct iscsi_data data = { .size = bytes, .data = buf };
    char *why;

    for (int attempt = 0; ; attempt++) {
        struct scsi_task *task = make_task(s, cmd, lba, bytes, &iov, fua);
        struct scsi_task *done;

        if (!task) {
            error_setg(errp, "'%s': out of memory", bs->filename);
            return false;
        }
        done = iscsi_scsi_command_sync(s->iscsi, s->lun, task,
                                       cmd == CMD_WRITE ? &data : NULL);
        if (done && done->status == SCSI_STATUS_GOOD) {
            scsi_free_scsi_task(task);
            return true;
        }
        if (attempt < 2 && reconnected(s, done)) {
            scsi_free_scsi_task(task);
            continue;
        }
        why = task_error(s, done ? task : NULL);
        scsi_free_scsi_task(task);
        iscsi_error(bs, what[cmd], why, errp);
        g_free(why);
        return false;
    }
}

/* Like run_cmd for the libiscsi calls that make their own task; the
 * caller frees the task it gets back. */
static struct scsi_task *query(BlockDriverState *bs,
                               struct scsi_task *task, const char *what,
                               GError **errp)
{
    IscsiState *s = bs->opaque;

    if (task && task->status == SCSI_STATUS_GOOD) {
        return task;
    }
    char *why = task_error(s, task);
    iscsi_error(bs, what, why, errp);
    g_free(why);
    if (task) {
        scsi_free_scsi_task(task);
    }
    return NULL;
}

static bool read_capacity(BlockDriverState *bs, GError **errp)
{
    IscsiState *s = bs->opaque;
    struct scsi_task *task = query(bs, iscsi_readcapacity16_sync(s->iscsi,
                                                                s->lun),
                                   "READ CAPACITY(16) failed", errp);
    struct scsi_readcapacity16 *rc16;

    if (!task) {
        return false;
    }
    rc16 = scsi_datain_unmarshall(task);
    if (!rc16 || rc16->block_length < 512 || rc16->block_length > 64 * KiB ||
        (rc16->block_length & (rc16->block_length - 1))) {
        scsi_free_scsi_task(task);
        error_setg(errp, "'%s': the LUN reports an unusable block size",
                   bs->filename);
        return false;
    }
    s->block_size = rc16->block_length;
    s->num_blocks = rc16->returned_lba + 1;
    s->lbpu = rc16->lbpme;      /* refined by the LBP page below */
    scsi_free_scsi_task(task);
    return true;
}

/* VPD pages B0h and B2h; a LUN without them gets safe defaults. */
static void read_limits(BlockDriverState *bs)
{
    IscsiState *s = bs->opaque;
    struct scsi_task *task;

    s->max_xfer_blocks = ISCSI_MAX_XFER_BYTES / s->block_size;
    task = iscsi_inquiry_sync(s->iscsi, s->lun, 1,
                              SCSI_INQUIRY_PAGECODE_BLOCK_LIMITS, 64);
    if (task && task->status == SCSI_STATUS_GOOD) {
        struct scsi_inquiry_block_limits *bl = scsi_datain_unmarshall(task);

        if (bl && bl->max_xfer_len) {
            s->max_xfer_blocks = MIN(s->max_xfer_blocks, bl->max_xfer_len);
        }
        if (bl) {
            s->max_unmap = bl->max_unmap == 0xffffffffu ? 0 : bl->max_unmap;
        }
    }
    if (task) {
        scsi_free_scsi_task(task);
    }
    if (!s->lbpu) {
        return;                 /* LBPME clear: no provisioning at all */
    }
    task = iscsi_inquiry_sync(s->iscsi, s->lun, 1,
                              SCSI_INQUIRY_PAGECODE_LOGICAL_BLOCK_PROVISIONING,
                              64);
    if (task && task->status == SCSI_STATUS_GOOD) {
        struct scsi_inquiry_logical_block_provisioning *lbp =
            scsi_datain_unmarshall(task);

        s->lbpu = lbp && lbp->lbpu;
    } else {
        s->lbpu = false;
    }
    if (task) {
        scsi_free_scsi_task(task);
    }
}

static bool iscsi_connect_target(BlockDriverState *bs, const IscsiTarget *t,
                                 GError **errp)
{
    IscsiState *s = bs->opaque;
    g_autofree char *why = NULL;

    s->portal = g_strdup(t->portal);
    s->target = g_strdup(t->target);
    s->lun = t->lun;
    s->user = g_strdup(t->user);
    s->password = g_strdup(t->password);
    s->initiator = g_strdup(t->initiator_name ? t->initiator_name
                                              : ISCSI_DEFAULT_INITIATOR);
    s->iscsi = new_session(s, &why);
    if (!s->iscsi) {
        error_setg(errp, "'%s': cannot log in to target '%s' at %s: %s",
                   bs->filename, t->target, t->portal, why);
        return false;
    }
    if (!read_capacity(bs, errp)) {
        return false;
    }
    read_limits(bs);
    bs->size = s->num_blocks * s->block_size;
    bs->request_alignment = s->block_size;
    return true;
}

/* iscsi://[user[%password]@]host[:port]/target-iqn/lun */
static bool iscsi_open(BlockDriverState *bs, const char *filename, int flags,
                       GError **errp)
{
    IscsiState *s = bs->opaque;
    struct iscsi_context *tmp = iscsi_create_context(ISCSI_DEFAULT_INITIATOR);
    struct iscsi_url *url;
    IscsiTarget t;
    bool ok;

    g_mutex_init(&s->lock);     /* close clears it whatever happens */
    if (!tmp) {
        error_setg(errp, "cannot create an iSCSI context");
        return false;
    }
    url = iscsi_parse_full_url(tmp, filename);
    if (!url) {
        error_setg(errp, "invalid iSCSI URL (iscsi://[user[%%password]@]"
                   "host[:port]/target-iqn/lun): %s", iscsi_get_error(tmp));
        iscsi_destroy_context(tmp);
        return false;
    }
    /* Never show the password: the node's name is the URL without it. */
    g_free(bs->filename);
    bs->filename = g_strdup_printf("iscsi://%s%s%s/%s/%d", url->user,
                                   url->user[0] ? "@" : "", url->portal,
                                   url->target, url->lun);
    t = (IscsiTarget) {
        .portal = url->portal, .target = url->target, .lun = url->lun,
        .user = url->user[0] ? url->user : NULL, .password = url->passwd,
    };
    ok = iscsi_connect_target(bs, &t, errp);
    iscsi_destroy_url(url);
    iscsi_destroy_context(tmp);
    return ok;
}

static void iscsi_close(BlockDriverState *bs)
{
    IscsiState *s = bs->opaque;

    if (s->iscsi) {
        if (iscsi_is_logged_in(s->iscsi)) {
            iscsi_logout_sync(s->iscsi);
        }
        iscsi_destroy_context(s->iscsi);
    }
    g_mutex_clear(&s->lock);
    g_free(s->portal);
    g_free(s->target);
    g_free(s->user);
    g_free(s->password);
    g_free(s->initiator);
}

/* Requests arrive aligned to the block size (the generic layer bounces). */
static bool rw_blocks(BlockDriverState *bs, bool write, uint64_t off,
                      uint64_t len, uint8_t *buf, bool fua, GError **errp)
{
    IscsiState *s = bs->opaque;
    bool ok = true;

    g_mutex_lock(&s->lock);
    while (ok && len) {
        uint32_t n = MIN(len / s->block_size, s->max_xfer_blocks);
        uint32_t bytes = n * s->block_size;

        ok = run_cmd(bs, write ? CMD_WRITE : CMD_READ, off / s->block_size,
                     bytes, buf, fua, errp);
        off += bytes;
        len -= bytes;
        buf += bytes;
    }
    g_mutex_unlock(&s->lock);
    return ok;
}

static bool iscsi_pread(BlockDriverState *bs, uint64_t off, uint64_t len,
                        void *buf, GError **errp)
{
    /* Past the end of the LUN reads as zeroes, as past a file's end. */
    if (off + len > bs->size) {
        uint64_t have = off < bs->size ? bs->size - off : 0;

        memset((uint8_t *)buf + have, 0, len - have);
        len = have;
    }
    return !len || rw_blocks(bs, false, off, len, buf, false, errp);
}

static bool iscsi_pwrite(BlockDriverState *bs, uint64_t off, uint64_t len,
                         const void *buf, GError **errp)
{
    if (!range_within(off, len, bs->size)) {
        error_setg(errp, "'%s': write at %" PRIu64 "+%" PRIu64 " is past the "
                   "end of the LUN (%" PRIu64 " bytes)", bs->filename, off,
                   len, bs->size);
        return false;
    }
    return rw_blocks(bs, true, off, len, (uint8_t *)buf, false, errp);
}

static bool iscsi_flush(BlockDriverState *bs, GError **errp)
{
    IscsiState *s = bs->opaque;
    bool ok;

    if (bs->flags & BDRV_O_NO_FLUSH) {
        return true;
    }
    g_mutex_lock(&s->lock);
    ok = run_cmd(bs, CMD_SYNC, 0, 0, NULL, false, errp);
    g_mutex_unlock(&s->lock);
    return ok;
}

/* UNMAP whole blocks, where the LUN supports it (LBPU); a hint otherwise. */
static bool iscsi_pdiscard(BlockDriverState *bs, uint64_t off, uint64_t len,
                           GError **errp)
{
    IscsiState *s = bs->opaque;
    uint64_t lba, end;
    bool ok = true;

    if (!s->lbpu || off >= bs->size) {
        return true;
    }
    len = MIN(len, bs->size - off);
    lba = (off + s->block_size - 1) / s->block_size;
    end = (off + len) / s->block_size;
    g_mutex_lock(&s->lock);
    while (ok && lba < end) {
        uint32_t n = MIN(end - lba, s->max_unmap ? s->max_unmap : UINT32_MAX);
        struct unmap_list list = { .lba = lba, .num = n };
        struct scsi_task *task = iscsi_unmap_sync(s->iscsi, s->lun, 0, 0,
                                                  &list, 1);

        task = query(bs, task, "UNMAP failed", errp);
        ok = task != NULL;
        if (task) {
            scsi_free_scsi_task(task);
        }
        lba += n;
    }
    g_mutex_unlock(&s->lock);
    return ok;
}

static bool iscsi_truncate(BlockDriverState *bs, uint64_t size, GError **errp)
{
    if (size > bs->size) {
        error_setg(errp, "'%s': an iSCSI LUN cannot grow", bs->filename);
        return false;
    }
    return true;
}

static bool iscsi_open_target(BlockDriverState *bs,
                              const BlockIscsiOptions *opts, GError **errp);

/*
 * -blockdev driver=iscsi / blockdev-add: QEMU's BlockdevOptionsIscsi keys
 * (transport, portal, target, lun, user, password-secret, initiator-name).
 * The CHAP password comes from a secret object (-object secret, possibly
 * encrypted under libvirt's master key), as in QEMU.
 */
static const BlockOptionDesc iscsi_options[] = {
    { "transport", BOPT_STRING, true },
    { "portal", BOPT_STRING, true },
    { "target", BOPT_STRING, true },
    { "lun", BOPT_INT },
    { "user", BOPT_STRING },
    { "password-secret", BOPT_STRING },
    { "initiator-name", BOPT_STRING },
    { NULL },
};

static bool iscsi_open_options(BlockDriverState *bs, QDict *opts, int flags,
                               GError **errp)
{
    BlockIscsiOptions o = {
        .transport = qdict_get_try_str(opts, "transport"),
        .portal = qdict_get_try_str(opts, "portal"),
        .target = qdict_get_try_str(opts, "target"),
        .user = qdict_get_try_str(opts, "user"),
        .initiator_name = qdict_get_try_str(opts, "initiator-name"),
    };
    int64_t lun;

    const char *secret_id = qdict_get_try_str(opts, "password-secret");
    g_autofree char *password = NULL;

    if (!!o.user != !!secret_id) {
        error_setg(errp, "iscsi: 'user' and 'password-secret' go together");
        return false;
    }
    if (secret_id) {
        password = qcrypto_secret_lookup_as_utf8(secret_id, errp);
        if (!password) {
            return false;
        }
        o.password = password;
    }
    if (!bdrv_opt_get_int(opts, "lun", 0, &lun, "", errp)) {
        return false;
    }
    if (lun < 0 || lun > 255) {
        error_setg(errp, "iscsi: invalid lun %" PRId64 " (0 to 255)", lun);
        return false;
    }
    o.lun = lun;
    bs->flags = flags & ~(BDRV_O_DETECT_ZEROES | BDRV_O_DETECT_ZEROES_UNMAP |
                          BDRV_O_SNAPSHOT);
    return iscsi_open_target(bs, &o, errp);
}

const BlockDriver bdrv_iscsi_driver = {
    .format_name = "iscsi",
    .protocol_name = "iscsi",
    .instance_size = sizeof(IscsiState),
    .is_protocol = true,
    .open = iscsi_open,
    .options = iscsi_options,
    .open_options = iscsi_open_options,
    .close = iscsi_close,
    .pread = iscsi_pread,
    .pwrite = iscsi_pwrite,
    .pdiscard = iscsi_pdiscard,
    .flush = iscsi_flush,
    .truncate = iscsi_truncate,
};

/* Check @opts and log in to the LUN they name, on a node made for it. */
static bool iscsi_open_target(BlockDriverState *bs,
                              const BlockIscsiOptions *opts, GError **errp)
{
    g_autofree char *portal = NULL;
    IscsiTarget t;

    g_mutex_init(&((IscsiState *)bs->opaque)->lock);    /* close clears it */
    if (!opts->portal || !opts->target) {
        error_setg(errp, "iscsi: 'portal' and 'target' are required");
        return false;
    }
    if (opts->transport && strcmp(opts->transport, "tcp")) {
        error_setg(errp, "iscsi: transport '%s' is not supported (tcp)",
                   opts->transport);
        return false;
    }
    if (!opts->user != !opts->password) {
        error_setg(errp, "iscsi: 'user' and 'password' go together");
        return false;
    }
    if (opts->lun < 0 || opts->lun > 255) {
        error_setg(errp, "iscsi: invalid lun %d (0 to 255)", opts->lun);
        return false;
    }
    /* libiscsi wants host:port ([v6]:port); the port defaults to 3260. */
    portal = (opts->portal[0] == '[' ? strstr(opts->portal, "]:") != NULL
                                     : strchr(opts->portal, ':') != NULL)
             ? g_strdup(opts->portal)
             : g_strdup_printf("%s:3260", opts->portal);
    g_free(bs->filename);
    bs->filename = g_strdup_printf("iscsi://%s%s%s/%s/%d",
                                   opts->user ? opts->user : "",
                                   opts->user ? "@" : "", portal,
                                   opts->target, opts->lun);
    t = (IscsiTarget) {
        .portal = portal, .target = opts->target, .lun = opts->lun,
        .user = opts->user, .password = opts->password,
        .initiator_name = opts->initiator_name,
    };
    return iscsi_connect_target(bs, &t, errp);
}

BlockDriverState *bdrv_iscsi_open(const BlockIscsiOptions *opts, int flags,
                                  GError **errp)
{
    BlockDriverState *bs;

    bs = bdrv_new_protocol_node(&bdrv_iscsi_driver, "iscsi://",
                                flags & ~(BDRV_O_DETECT_ZEROES |
                                          BDRV_O_DETECT_ZEROES_UNMAP |
                                          BDRV_O_SNAPSHOT));
    if (!iscsi_open_target(bs, opts, errp)) {
        bdrv_free_failed_node(bs);
        return NULL;
    }
    return bs;
}

/*
 * multifd: RAM over several connections, optionally compressed.  Wire
 * format and ordering rules: include/migration/multifd.h.
 *
 * Source: the migration thread walks the dirty bitmap and queues page
 * ranges round robin on the channels; each channel's thread does the
 * zero-page check, the compression and the writes, so those spread over
 * host CPUs.  Destination: one thread per channel reads packets straight
 * into guest memory (the VM is not running).
 */
#include "qemu/osdep.h"
#include "migration/multifd.h"
#include "migration/channel.h"
#include "block/block.h"      /* buffer_is_zero */
#include <poll.h>
#include <sys/socket.h>
#include <zlib.h>
#ifdef CONFIG_ZSTD
#include <zstd.h>
#endif

#define QUEUE_LEN       4
#define ACCEPT_TIMEOUT_MS 10000
#define BATCH_BYTES     (MIG_BATCH_PAGES * MIG_PAGE_SIZE)
#define COMP_SLACK      65536

bool multifd_compression_available(unsigned comp)
{
#ifdef CONFIG_ZSTD
    return comp <= MULTIFD_COMP_ZSTD;
#else
    return comp <= MULTIFD_COMP_ZLIB;
#endif
}

/* ---- source --------------------------------------------------------- */

typedef struct SendItem {
    uint8_t kind;
    unsigned block, n;
    uint64_t first;
    uint32_t seq;
} SendItem;

typedef struct SendChannel {
    MultifdSend *m;
    unsigned index;
    int fd;
    MigFile *f;
    GThread *thread;
    GMutex lock;
    GCond cond;
    SendItem q[QUEUE_LEN];
    unsigned head, count;
    uint32_t synced;
    bool failed;                    /* the thread has stopped */
    uint64_t bytes;                 /* atomic */
    uint8_t *raw, *comp;
    size_t comp_cap;
#ifdef CONFIG_ZSTD
    ZSTD_CCtx *zc;
#endif
} SendChannel;

struct MultifdSend {
    unsigned n, next, comp;
    int level;
    GPtrArray *blocks;
    SendChannel *ch;
    uint64_t zero_pages, normal_pages;      /* atomic */
    GMutex err_lock;
    char *error;
};

static void send_fail(SendChannel *c, const char *why)
{
    MultifdSend *m = c->m;

    g_mutex_lock(&m->err_lock);
    if (!m->error) {
        m->error = g_strdup_printf("multifd channel %u: %s", c->index, why);
    }
    g_mutex_unlock(&m->err_lock);
}

static bool compress_pages(SendChannel *c, size_t in, uint64_t *out)
{
    MultifdSend *m = c->m;

    if (m->comp == MULTIFD_COMP_ZLIB) {
        uLongf len = c->comp_cap;
        if (compress2(c->comp, &len, c->raw, in, m->level) != Z_OK) {
            return false;
        }
        *out = len;
        return true;
    }
#ifdef CONFIG_ZSTD
    {
        size_t r = ZSTD_compressCCtx(c->zc, c->comp, c->comp_cap, c->raw, in,
                                     m->level);
        if (ZSTD_isError(r)) {
            return false;
        }
        *out = r;
        return true;
    }
#else
    return false;
#endif
}

static void send_pages(SendChannel *c, const SendItem *it)
{
    MultifdSend *m = c->m;
    RamBlock *b = g_ptr_array_index(m->blocks, it->block);
    uint8_t *ram = b->mr->ram;
    uint64_t size = b->mr->size, zero = 0, normal = 0;
    uint8_t kinds[MIG_BATCH_PAGES];
    size_t raw_len = 0;

    mig_put_u8(c->f, MULTIFD_PAGES);
    mig_put_u32(c->f, it->block);
    mig_put_u32(c->f, it->n);
    for (unsigned i = 0; i < it->n; i++) {
        uint64_t off = (it->first + i) * MIG_PAGE_SIZE;
        uint64_t len = MIN(MIG_PAGE_SIZE, size - off);

        kinds[i] = buffer_is_zero(ram + off, len) ? MIG_PAGE_ZERO
                                                  : MIG_PAGE_NORMAL;
        mig_put_u64(c->f, off | kinds[i]);
    }
    for (unsigned i = 0; i < it->n; i++) {
        uint64_t off = (it->first + i) * MIG_PAGE_SIZE;
        uint64_t len = MIN(MIG_PAGE_SIZE, size - off);

        if (kinds[i] == MIG_PAGE_ZERO) {
            zero++;
            continue;
        }
        normal++;
        if (m->comp != MULTIFD_COMP_NONE) {
            /* one snapshot of the pages, compressed below */
            memcpy(c->raw + raw_len, ram + off, len);
            memset(c->raw + raw_len + len, 0, MIG_PAGE_SIZE - len);
            raw_len += MIG_PAGE_SIZE;
        } else if (len == MIG_PAGE_SIZE) {
            mig_put_page(c->f, ram + off, MIG_PAGE_SIZE);
        } else {
            uint8_t page[MIG_PAGE_SIZE] = { 0 };
            memcpy(page, ram + off, len);
            mig_put_buffer(c->f, page, MIG_PAGE_SIZE);
        }
    }
    if (m->comp != MULTIFD_COMP_NONE && raw_len) {
        uint64_t clen;

        if (!compress_pages(c, raw_len, &clen)) {
            mig_file_set_error(c->f, "compression failed");
            return;
        }
        mig_put_u32(c->f, clen);
        mig_put_page(c->f, c->comp, clen);
        mig_file_flush(c->f);           /* c->comp is reused next time */
    }
    __atomic_add_fetch(&m->zero_pages, zero, __ATOMIC_RELAXED);
    __atomic_add_fetch(&m->normal_pages, normal, __ATOMIC_RELAXED);
}

static gpointer send_thread(gpointer opaque)
{
    SendChannel *c = opaque;

    for (;;) {
        SendItem it;

        g_mutex_lock(&c->lock);
        while (!c->count) {
            g_cond_wait(&c->cond, &c->lock);
        }
        it = c->q[c->head];
        c->head = (c->head + 1) % QUEUE_LEN;
        c->count--;
        g_cond_broadcast(&c->cond);
        g_mutex_unlock(&c->lock);

        switch (it.kind) {
        case MULTIFD_PAGES:
            send_pages(c, &it);
            break;
        case MULTIFD_SYNC:
            mig_put_u8(c->f, MULTIFD_SYNC);
            mig_put_u32(c->f, it.seq);
            mig_file_flush(c->f);
            break;
        case MULTIFD_END:
            mig_put_u8(c->f, MULTIFD_END);
            mig_file_flush(c->f);
            break;
        }
        __atomic_store_n(&c->bytes, c->f->transferred + c->f->pending,
                         __ATOMIC_RELAXED);
        if (mig_file_error(c->f)) {
            send_fail(c, mig_file_error(c->f)->message);
            it.kind = MULTIFD_END;
        }
        g_mutex_lock(&c->lock);
        if (it.kind == MULTIFD_SYNC) {
            c->synced = it.seq;
        }
        if (it.kind == MULTIFD_END) {
            c->failed = true;       /* no more work is taken */
        }
        g_cond_broadcast(&c->cond);
        g_mutex_unlock(&c->lock);
        if (it.kind == MULTIFD_END) {
            return NULL;
        }
    }
}

static void enqueue(SendChannel *c, const SendItem *it)
{
    g_mutex_lock(&c->lock);
    while (c->count == QUEUE_LEN && !c->failed) {
        g_cond_wait(&c->cond, &c->lock);
    }
    if (!c->failed) {
        c->q[(c->head + c->count) % QUEUE_LEN] = *it;
        c->count++;
        g_cond_broadcast(&c->cond);
    }
    g_mutex_unlock(&c->lock);
}

static bool channel_setup_compression(SendChannel *c, GError **errp)
{
    MultifdSend *m = c->m;

    if (m->comp == MULTIFD_COMP_NONE) {
        return true;
    }
    c->raw = g_malloc(BATCH_BYTES);
    c->comp_cap = BATCH_BYTES + COMP_SLACK;
    c->comp = g_malloc(c->comp_cap);
#ifdef CONFIG_ZSTD
    if (m->comp == MULTIFD_COMP_ZSTD) {
        c->zc = ZSTD_createCCtx();
        if (!c->zc) {
            error_setg(errp, "multifd: cannot create a zstd context");
            return false;
        }
    }
#endif
    return true;
}

MultifdSend *multifd_send_new(const char *uri, unsigned n, unsigned comp,
                              int level, GPtrArray *blocks,
                              const MigrationTLS *tls, GError **errp)
{
    MultifdSend *m = g_new0(MultifdSend, 1);

    m->n = n;
    m->comp = comp;
    m->level = level;
    m->blocks = blocks;
    m->ch = g_new0(SendChannel, n);
    g_mutex_init(&m->err_lock);
    for (unsigned i = 0; i < n; i++) {
        SendChannel *c = &m->ch[i];
        GPid pid;

        c->m = m;
        c->index = i;
        g_mutex_init(&c->lock);
        g_cond_init(&c->cond);
        c->fd = migration_channel_open(uri, true, &pid, errp);
        /* each channel is a connection of its own, with its own session */
        if (c->fd >= 0 && tls) {
            c->fd = migration_tls_client(tls, c->fd, uri, errp);
        }
        if (c->fd < 0) {
            g_prefix_error(errp, "multifd channel %u: ", i);
            goto fail;
        }
        c->f = mig_file_new_fd(c->fd, true);
        mig_put_buffer(c->f, MULTIFD_MAGIC, 8);
        mig_put_u32(c->f, i);
        mig_put_u32(c->f, n);
        if (!mig_file_flush(c->f) || !channel_setup_compression(c, errp)) {
            if (mig_file_error(c->f)) {
                error_setg(errp, "multifd channel %u: %s", i,
                           mig_file_error(c->f)->message);
            }
            goto fail;
        }
        c->thread = g_thread_new("multifd-send", send_thread, c);
    }
    return m;
fail:
    multifd_send_shutdown(m);
    multifd_send_finish(m, false, NULL);
    return NULL;
}

void multifd_send_pages(MultifdSend *m, unsigned block_idx, uint64_t first,
                        unsigned n)
{
    SendItem it = { .kind = MULTIFD_PAGES, .block = block_idx,
                    .first = first, .n = n };

    enqueue(&m->ch[m->next++ % m->n], &it);
}

static bool send_error(MultifdSend *m, GError **errp)
{
    bool failed;

    g_mutex_lock(&m->err_lock);
    failed = m->error != NULL;
    if (failed) {
        error_setg(errp, "%s", m->error);
    }
    g_mutex_unlock(&m->err_lock);
    return failed;
}

bool multifd_send_sync(MultifdSend *m, uint32_t seq, GError **errp)
{
    SendItem it = { .kind = MULTIFD_SYNC, .seq = seq };

    for (unsigned i = 0; i < m->n; i++) {
        enqueue(&m->ch[i], &it);
    }
    for (unsigned i = 0; i < m->n; i++) {
        SendChannel *c = &m->ch[i];

        g_mutex_lock(&c->lock);
        while (c->synced != seq && !c->failed) {
            g_cond_wait(&c->cond, &c->lock);
        }
        g_mutex_unlock(&c->lock);
    }
    return !send_error(m, errp);
}

uint64_t multifd_send_bytes(MultifdSend *m)
{
    uint64_t sum = 0;

    for (unsigned i = 0; m && i < m->n; i++) {
        sum += __atomic_load_n(&m->ch[i].bytes, __ATOMIC_RELAXED);
    }
    return sum;
}

void multifd_send_page_counts(MultifdSend *m, uint64_t *zero,
                              uint64_t *normal)
{
    *zero = m ? __atomic_load_n(&m->zero_pages, __ATOMIC_RELAXED) : 0;
    *normal = m ? __atomic_load_n(&m->normal_pages, __ATOMIC_RELAXED) : 0;
}

void multifd_send_shutdown(MultifdSend *m)
{
    for (unsigned i = 0; m && i < m->n; i++) {
        if (m->ch[i].f) {
            shutdown(m->ch[i].fd, SHUT_RDWR);
        }
    }
}

bool multifd_send_finish(MultifdSend *m, bool ok, GError **errp)
{
    SendItem end = { .kind = MULTIFD_END };
    bool good = true;

    if (!ok) {
        multifd_send_shutdown(m);
    }
    for (unsigned i = 0; i < m->n; i++) {
        if (m->ch[i].thread) {
            enqueue(&m->ch[i], &end);
        }
    }
    for (unsigned i = 0; i < m->n; i++) {
        SendChannel *c = &m->ch[i];

        if (c->thread) {
            g_thread_join(c->thread);
        }
        if (c->f) {
            mig_file_close(c->f, NULL);
        }
        g_free(c->raw);
        g_free(c->comp);
#ifdef CONFIG_ZSTD
        ZSTD_freeCCtx(c->zc);
#endif
        g_mutex_clear(&c->lock);
        g_cond_clear(&c->cond);
    }
    good = !send_error(m, errp);
    g_free(m->error);
    g_mutex_clear(&m->err_lock);
    g_free(m->ch);
    g_free(m);
    return good;
}

/* ---- destination ---------------------------------------------------- */

typedef struct RecvChannel {
    MultifdRecv *m;
    unsigned index;
    int fd;
    MigFile *f;
    GThread *thread;
    uint32_t synced;
    bool done;
    uint8_t *raw, *comp;
#ifdef CONFIG_ZSTD
    ZSTD_DCtx *dz;
#endif
} RecvChannel;

struct MultifdRecv {
    unsigned n, comp;
    GPtrArray *blocks;
    RecvChannel *ch;
    GMutex lock;
    GCond cond;
    uint32_t released;
    bool quit;
    char *error;
};

static void recv_fail(RecvChannel *c, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);
static void recv_fail(RecvChannel *c, const char *fmt, ...)
{
    MultifdRecv *m = c->m;
    va_list ap;

    g_mutex_lock(&m->lock);
    if (!m->error) {
        g_autofree char *why = NULL;
        va_start(ap, fmt);
        why = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        m->error = g_strdup_printf("multifd channel %u: %s", c->index, why);
    }
    g_cond_broadcast(&m->cond);
    g_mutex_unlock(&m->lock);
}

static bool decompress_pages(RecvChannel *c, uint32_t clen, size_t want)
{
    if (c->m->comp == MULTIFD_COMP_ZLIB) {
        uLongf len = want;
        return uncompress(c->raw, &len, c->comp, clen) == Z_OK &&
               len == want;
    }
#ifdef CONFIG_ZSTD
    {
        size_t r = ZSTD_decompressDCtx(c->dz, c->raw, want, c->comp, clen);
        return !ZSTD_isError(r) && r == want;
    }
#else
    return false;
#endif
}

static bool recv_pages(RecvChannel *c)
{
    MultifdRecv *m = c->m;
    uint32_t idx = mig_get_u32(c->f), n = mig_get_u32(c->f);
    uint64_t offs[MIG_BATCH_PAGES];
    unsigned normal = 0;
    RamBlock *b;

    if (mig_file_error(c->f)) {
        return false;
    }
    if (idx >= m->blocks->len || n == 0 || n > MIG_BATCH_PAGES) {
        recv_fail(c, "packet for block %u with %u pages", idx, n);
        return false;
    }
    b = g_ptr_array_index(m->blocks, idx);
    for (unsigned i = 0; i < n; i++) {
        uint64_t v = mig_get_u64(c->f);
        uint64_t off = v & ~MIG_PAGE_KIND_MASK;
        unsigned kind = v & MIG_PAGE_KIND_MASK;

        if (mig_file_error(c->f)) {
            return false;
        }
        if (off >= b->mr->size ||
            (kind != MIG_PAGE_ZERO && kind != MIG_PAGE_NORMAL)) {
            recv_fail(c, "page 0x%" PRIx64 " of '%s', kind %u", off,
                      b->idstr, kind);
            return false;
        }
        offs[i] = v;
        normal += kind == MIG_PAGE_NORMAL;
    }
    if (m->comp != MULTIFD_COMP_NONE && normal) {
        uint32_t clen = mig_get_u32(c->f);

        if (clen > BATCH_BYTES + COMP_SLACK) {
            recv_fail(c, "compressed packet of %u bytes", clen);
            return false;
        }
        if (!mig_get_buffer(c->f, c->comp, clen)) {
            return false;
        }
        if (!decompress_pages(c, clen, normal * MIG_PAGE_SIZE)) {
            recv_fail(c, "corrupt compressed pages");
            return false;
        }
    }
    for (unsigned i = 0, k = 0; i < n; i++) {
        uint64_t off = offs[i] & ~MIG_PAGE_KIND_MASK;
        uint64_t len = MIN(MIG_PAGE_SIZE, b->mr->size - off);
        uint8_t *p = b->mr->ram + off;

        if ((offs[i] & MIG_PAGE_KIND_MASK) == MIG_PAGE_ZERO) {
            if (!buffer_is_zero(p, len)) {
                memset(p, 0, len);
            }
        } else if (m->comp != MULTIFD_COMP_NONE) {
            memcpy(p, c->raw + k++ * MIG_PAGE_SIZE, len);
        } else if (len == MIG_PAGE_SIZE) {
            mig_get_buffer(c->f, p, MIG_PAGE_SIZE);
        } else {
            uint8_t page[MIG_PAGE_SIZE];
            mig_get_buffer(c->f, page, MIG_PAGE_SIZE);
            memcpy(p, page, len);
        }
    }
    return !mig_file_error(c->f);
}

static gpointer recv_thread(gpointer opaque)
{
    RecvChannel *c = opaque;
    MultifdRecv *m = c->m;

    for (;;) {
        uint8_t kind = mig_get_u8(c->f);
        uint32_t seq;

        if (mig_file_error(c->f)) {
            break;
        }
        switch (kind) {
        case MULTIFD_PAGES:
            if (!recv_pages(c)) {
                goto out;
            }
            break;
        case MULTIFD_SYNC:
            seq = mig_get_u32(c->f);
            if (mig_file_error(c->f)) {
                goto out;
            }
            g_mutex_lock(&m->lock);
            c->synced = seq;
            g_cond_broadcast(&m->cond);
            while (m->released != seq && !m->quit && !m->error) {
                g_cond_wait(&m->cond, &m->lock);
            }
            g_mutex_unlock(&m->lock);
            break;
        case MULTIFD_END:
            g_mutex_lock(&m->lock);
            c->done = true;
            g_cond_broadcast(&m->cond);
            g_mutex_unlock(&m->lock);
            return NULL;
        default:
            recv_fail(c, "unknown packet 0x%02x", kind);
            return NULL;
        }
    }
out:
    if (mig_file_error(c->f)) {
        recv_fail(c, "%s", mig_file_error(c->f)->message);
    }
    return NULL;
}

/* Accept one channel and read its handshake; returns its index or -1. */
static int accept_channel(MultifdRecv *m, int listen_fd, bool tcp,
                          const MigrationTLS *tls, GError **errp)
{
    struct pollfd p = { .fd = listen_fd, .events = POLLIN };
    char magic[8];
    uint32_t index, count;
    MigFile *f;
    int fd;

    if (poll(&p, 1, ACCEPT_TIMEOUT_MS) != 1) {
        error_setg(errp, "multifd: a channel did not connect within %d s",
                   ACCEPT_TIMEOUT_MS / 1000);
        return -1;
    }
    fd = migration_channel_accept(listen_fd, tcp);
    if (fd < 0) {
        error_setg(errp, "multifd: accepting a channel: %s",
                   g_strerror(errno));
        return -1;
    }
    if (tls) {
        fd = migration_tls_server(tls, fd, errp);
        if (fd < 0) {
            g_prefix_error(errp, "multifd channel: ");
            return -1;
        }
    }
    f = mig_file_new_fd(fd, false);
    mig_get_buffer(f, magic, 8);
    index = mig_get_u32(f);
    count = mig_get_u32(f);
    if (mig_file_error(f) || memcmp(magic, MULTIFD_MAGIC, 8) ||
        count != m->n || index >= m->n || m->ch[index].f) {
        error_setg(errp, "multifd: a connection that is not channel of "
                   "this migration (index %u of %u)", index, count);
        mig_file_close(f, NULL);
        return -1;
    }
    m->ch[index].fd = fd;
    m->ch[index].f = f;
    return index;
}

MultifdRecv *multifd_recv_new(int listen_fd, bool tcp,
                              const MigrationTLS *tls, unsigned n,
                              unsigned comp, GPtrArray *blocks,
                              GError **errp)
{
    MultifdRecv *m = g_new0(MultifdRecv, 1);

    m->n = n;
    m->comp = comp;
    m->blocks = blocks;
    m->ch = g_new0(RecvChannel, n);
    g_mutex_init(&m->lock);
    g_cond_init(&m->cond);
    for (unsigned i = 0; i < n; i++) {
        m->ch[i].m = m;
        m->ch[i].index = i;
        m->ch[i].fd = -1;
    }
    for (unsigned i = 0; i < n; i++) {
        if (accept_channel(m, listen_fd, tcp, tls, errp) < 0) {
            multifd_recv_free(m);
            return NULL;
        }
    }
    for (unsigned i = 0; i < n; i++) {
        RecvChannel *c = &m->ch[i];

        if (comp != MULTIFD_COMP_NONE) {
            c->raw = g_malloc(BATCH_BYTES);
            c->comp = g_malloc(BATCH_BYTES + COMP_SLACK);
        }
#ifdef CONFIG_ZSTD
        if (comp == MULTIFD_COMP_ZSTD) {
            c->dz = ZSTD_createDCtx();
        }
#endif
        c->thread = g_thread_new("multifd-recv", recv_thread, c);
    }
    return m;
}

static bool recv_error(MultifdRecv *m, GError **errp)
{
    if (m->error) {
        error_setg(errp, "%s", m->error);
        return true;
    }
    return false;
}

bool multifd_recv_sync(MultifdRecv *m, uint32_t seq, GError **errp)
{
    bool ok;

    g_mutex_lock(&m->lock);
    for (;;) {
        unsigned at = 0;
        for (unsigned i = 0; i < m->n; i++) {
            at += m->ch[i].synced == seq;
        }
        if (at == m->n || m->error) {
            break;
        }
        g_cond_wait(&m->cond, &m->lock);
    }
    ok = !recv_error(m, errp);
    m->released = seq;
    g_cond_broadcast(&m->cond);
    g_mutex_unlock(&m->lock);
    return ok;
}

bool multifd_recv_finish(MultifdRecv *m, GError **errp)
{
    bool ok;

    g_mutex_lock(&m->lock);
    for (;;) {
        unsigned done = 0;
        for (unsigned i = 0; i < m->n; i++) {
            done += m->ch[i].done;
        }
        if (done == m->n || m->error) {
            break;
        }
        g_cond_wait(&m->cond, &m->lock);
    }
    ok = !recv_error(m, errp);
    g_mutex_unlock(&m->lock);
    return ok;
}

void multifd_recv_free(MultifdRecv *m)
{
    if (!m) {
        return;
    }
    g_mutex_lock(&m->lock);
    m->quit = true;
    g_cond_broadcast(&m->cond);
    g_mutex_unlock(&m->lock);
    for (unsigned i = 0; i < m->n; i++) {
        RecvChannel *c = &m->ch[i];

        if (c->f && !c->done) {
            shutdown(c->fd, SHUT_RDWR);     /* unblocks a read */
        }
    }
    for (unsigned i = 0; i < m->n; i++) {
        RecvChannel *c = &m->ch[i];

        if (c->thread) {
            g_thread_join(c->thread);
        }
        if (c->f) {
            mig_file_close(c->f, NULL);
        }
        g_free(c->raw);
        g_free(c->comp);
#ifdef CONFIG_ZSTD
        ZSTD_freeDCtx(c->dz);
#endif
    }
    g_free(m->error);
    g_mutex_clear(&m->lock);
    g_cond_clear(&m->cond);
    g_free(m->ch);
    g_free(m);
}

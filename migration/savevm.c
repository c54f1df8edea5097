/*
 * The migration stream: writing and reading the sections described in
 * include/migration/savevm.h.
 */
#include "qemu/osdep.h"
#include "qemu/byte-reader.h"
#include "migration/savevm.h"
#include "migration/migration.h"
#include "migration/xbzrle.h"
#include "migration/multifd.h"
#include "migration/postcopy.h"
#include "block/block.h"
#include "hw/boards.h"
#include "hw/qdev.h"
#include "system/main-loop.h"
#include "system/timer.h"
#include "system/runstate.h"

/* ---- RAM blocks ----------------------------------------------------- */

static gint cmp_region_names(gconstpointer a, gconstpointer b)
{
    const MemoryRegion *x = *(MemoryRegion *const *)a;
    const MemoryRegion *y = *(MemoryRegion *const *)b;

    return strcmp(x->name, y->name);
}

/*
 * The RAM blocks in the order of their names, not of their creation: the
 * stream numbers blocks by position, and the destination creates devices
 * in its command line's order, which differs from the source's when
 * devices were hot-plugged there (libvirt starts the destination with
 * them cold-plugged).  Names are stable (device paths for PCI ROMs,
 * hw/pci/pci.c); the sort is stable, so same-named regions keep their
 * creation order for their #N suffixes.
 */
GPtrArray *ram_blocks_new(void)
{
    g_autoptr(GPtrArray) regions = g_ptr_array_copy(memory_ram_regions(),
                                                    NULL, NULL);
    GPtrArray *blocks = g_ptr_array_new();
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);

    g_ptr_array_sort(regions, cmp_region_names);
    for (unsigned i = 0; i < regions->len; i++) {
        MemoryRegion *mr = g_ptr_array_index(regions, i);
        RamBlock *b = g_new0(RamBlock, 1);
        unsigned twin = GPOINTER_TO_UINT(g_hash_table_lookup(seen, mr->name));

        b->mr = mr;
        b->idstr = twin ? g_strdup_printf("%s#%u", mr->name, twin)
                        : g_strdup(mr->name);
        g_hash_table_insert(seen, mr->name, GUINT_TO_POINTER(twin + 1));
        b->pages = (mr->size + MIG_PAGE_SIZE - 1) / MIG_PAGE_SIZE;
        g_ptr_array_add(blocks, b);
    }
    return blocks;
}

void ram_blocks_free(GPtrArray *blocks)
{
    if (!blocks) {
        return;
    }
    for (unsigned i = 0; i < blocks->len; i++) {
        RamBlock *b = g_ptr_array_index(blocks, i);
        g_free(b->idstr);
        g_free(b->bmap);
        g_free(b->hinted);
        g_free(b);
    }
    g_ptr_array_unref(blocks);
}

/* ---- writing -------------------------------------------------------- */

void mig_save_header(MigFile *f)
{
    mig_put_buffer(f, MIG_MAGIC, 8);
    mig_put_u32(f, MIG_STREAM_VERSION);
}

static void buf_u8(GByteArray *b, uint8_t v)
{
    g_byte_array_append(b, &v, 1);
}

static void buf_u32(GByteArray *b, uint32_t v)
{
    uint8_t x[4] = { v >> 24, v >> 16, v >> 8, v };

    g_byte_array_append(b, x, 4);
}

static void buf_u64(GByteArray *b, uint64_t v)
{
    buf_u32(b, v >> 32);
    buf_u32(b, v);
}

static void buf_str(GByteArray *b, const char *s)
{
    size_t len = MIN(strlen(s), 0xffff);
    uint8_t x[2] = { len >> 8, len };

    g_byte_array_append(b, x, 2);
    g_byte_array_append(b, (const uint8_t *)s, len);
}

GByteArray *mig_config_new(GPtrArray *blocks)
{
    GByteArray *b = g_byte_array_new();
    GPtrArray *devs = device_list();
    GPtrArray *handlers = migration_state_handlers();

    buf_str(b, current_machine && current_machine->type
               ? current_machine->type->name : "none");
    buf_u64(b, current_machine ? current_machine->ram_size : 0);
    buf_u32(b, current_machine ? current_machine->smp.cpus : 0);
    buf_u32(b, blocks->len);
    for (unsigned i = 0; i < blocks->len; i++) {
        RamBlock *rb = g_ptr_array_index(blocks, i);
        buf_str(b, rb->idstr);
        buf_u64(b, rb->mr->size);
    }
    buf_u32(b, devs->len);
    for (unsigned i = 0; i < devs->len; i++) {
        DeviceState *d = g_ptr_array_index(devs, i);
        g_autoptr(GPtrArray) tables = device_state_tables(d);

        buf_str(b, d->path);
        buf_str(b, d->type->name);
        buf_u8(b, tables->len);
        for (unsigned t = 0; t < tables->len; t++) {
            const VMStateDescription *vmsd = g_ptr_array_index(tables, t);
            buf_str(b, vmsd->name);
            buf_u32(b, vmsd->version_id);
        }
    }
    buf_u32(b, handlers->len);
    for (unsigned i = 0; i < handlers->len; i++) {
        const MigrationStateHandler *h = g_ptr_array_index(handlers, i);
        buf_str(b, h->name);
        buf_u32(b, h->version);
    }
    return b;
}

void mig_save_config(MigFile *f, GByteArray *config)
{
    mig_put_u8(f, MIG_SEC_CONFIG);
    mig_put_u32(f, config->len);
    mig_put_buffer(f, config->data, config->len);
}

/* One page through the XBZRLE cache: its kind, and its payload queued in
 * @scratch (@len bytes, a copy). */
static unsigned xbzrle_page(XbzrleCache *xc, uint64_t key, const uint8_t *ram,
                            uint8_t *scratch, uint16_t *len)
{
    uint8_t cur[MIG_PAGE_SIZE];
    uint8_t *cached = xbzrle_cache_lookup(xc, key);
    int enc;

    memcpy(cur, ram, MIG_PAGE_SIZE);       /* one snapshot of the page */
    if (!cached) {
        xc->cache_miss++;
        memcpy(xbzrle_cache_insert(xc, key), cur, MIG_PAGE_SIZE);
        memcpy(scratch, cur, MIG_PAGE_SIZE);
        *len = MIG_PAGE_SIZE;
        return MIG_PAGE_NORMAL;
    }
    xc->hits++;
    xc->encoded_in += MIG_PAGE_SIZE;
    enc = xbzrle_encode_buffer(cached, cur, MIG_PAGE_SIZE, scratch + 2,
                               MIG_PAGE_SIZE - 64);
    memcpy(cached, cur, MIG_PAGE_SIZE);
    if (enc < 0) {
        xc->overflow++;
        memcpy(scratch, cur, MIG_PAGE_SIZE);
        *len = MIG_PAGE_SIZE;
        return MIG_PAGE_NORMAL;
    }
    scratch[0] = enc >> 8;
    scratch[1] = enc;
    *len = enc + 2;
    xc->pages_sent++;
    xc->bytes += enc;
    return MIG_PAGE_XBZRLE;
}

/*
 * A page that is mostly zero goes as its XBZRLE delta against a zero page
 * when that is at most MIG_SPARSE_MAX bytes: a page table, a partly used
 * heap or stack page, a page of which a guest wrote a few words costs a
 * few bytes on the wire instead of 4 KiB.  The page is copied first, so
 * the encoder sees one consistent snapshot while the guest writes on (a
 * page written after the copy is dirty again and goes in a later pass).
 * Pages that are not sparse give up once the encoding passes the limit,
 * after looking at a quarter of them or so.
 */
typedef struct SparseScratch {
    uint8_t page[MIG_PAGE_SIZE];
    uint8_t enc[MIG_BATCH_PAGES][2 + MIG_SPARSE_MAX];
} SparseScratch;

static GPrivate sparse_scratch_key = G_PRIVATE_INIT(g_free);

static SparseScratch *sparse_scratch(void)
{
    SparseScratch *s = g_private_get(&sparse_scratch_key);

    if (!s) {
        s = g_new(SparseScratch, 1);
        g_private_set(&sparse_scratch_key, s);
    }
    return s;
}

static bool sparse_page(SparseScratch *s, const uint8_t *ram, uint8_t *enc,
                        uint16_t *len)
{
    static const uint8_t zero[MIG_PAGE_SIZE];
    int n;

    memcpy(s->page, ram, MIG_PAGE_SIZE);
    n = xbzrle_encode_buffer(zero, s->page, MIG_PAGE_SIZE, enc + 2,
                             MIG_SPARSE_MAX);
    if (n <= 0) {
        return false;       /* too dense (or zero by now: send it whole) */
    }
    enc[0] = n >> 8;
    enc[1] = n;
    *len = n + 2;
    return true;
}

void mig_save_ram_batch(MigFile *f, unsigned block_idx, RamBlock *b,
                        uint64_t first, unsigned n, RamStats *st,
                        XbzrleCache *xc)
{
    uint8_t *ram = b->mr->ram;
    uint64_t size = b->mr->size;
    uint8_t kinds[MIG_BATCH_PAGES];
    uint16_t lens[MIG_BATCH_PAGES];
    SparseScratch *sp = xc ? NULL : sparse_scratch();

    g_assert(n && n <= MIG_BATCH_PAGES && first + n <= b->pages);
    mig_put_u8(f, MIG_SEC_RAM);
    mig_put_u32(f, block_idx);
    mig_put_u32(f, n);
    for (unsigned i = 0; i < n; i++) {
        uint64_t off = (first + i) * MIG_PAGE_SIZE;
        uint64_t len = MIN(MIG_PAGE_SIZE, size - off);
        uint64_t key = (uint64_t)block_idx << 40 | (first + i);

        if (buffer_is_zero(ram + off, len)) {
            kinds[i] = MIG_PAGE_ZERO;
            if (xc && xbzrle_cache_lookup(xc, key)) {
                memset(xbzrle_cache_lookup(xc, key), 0, MIG_PAGE_SIZE);
            }
        } else if (xc && len == MIG_PAGE_SIZE) {
            kinds[i] = xbzrle_page(xc, key, ram + off,
                                   xc->scratch + i * (MIG_PAGE_SIZE + 2),
                                   &lens[i]);
        } else if (sp && len == MIG_PAGE_SIZE &&
                   sparse_page(sp, ram + off, sp->enc[i], &lens[i])) {
            kinds[i] = MIG_PAGE_SPARSE;
        } else {
            kinds[i] = MIG_PAGE_NORMAL;
        }
        mig_put_u64(f, off | kinds[i]);
    }
    for (unsigned i = 0; i < n; i++) {
        uint64_t off = (first + i) * MIG_PAGE_SIZE;

        if (kinds[i] == MIG_PAGE_ZERO) {
            st->zero_pages++;
            continue;
        }
        st->normal_pages += kinds[i] == MIG_PAGE_NORMAL;
        if (kinds[i] == MIG_PAGE_SPARSE) {
            mig_put_buffer(f, sp->enc[i], lens[i]);
        } else if (xc && off + MIG_PAGE_SIZE <= size) {
            mig_put_buffer(f, xc->scratch + i * (MIG_PAGE_SIZE + 2),
                           lens[i]);
        } else if (off + MIG_PAGE_SIZE <= size) {
            mig_put_page(f, ram + off, MIG_PAGE_SIZE);
        } else {
            /* a region that ends inside a page: pad the last one */
            uint8_t page[MIG_PAGE_SIZE] = { 0 };
            memcpy(page, ram + off, size - off);
            mig_put_buffer(f, page, MIG_PAGE_SIZE);
        }
    }
}

bool mig_save_devices(MigFile *f, GError **errp)
{
    GPtrArray *devs = device_list();
    GPtrArray *handlers = migration_state_handlers();
    g_autoptr(GByteArray) buf = g_byte_array_new();

    mig_put_u8(f, MIG_SEC_CLOCK);
    mig_put_u64(f, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL));
    for (unsigned i = 0; i < devs->len; i++) {
        DeviceState *d = g_ptr_array_index(devs, i);

        g_byte_array_set_size(buf, 0);
        if (!device_save_state(d, buf, errp)) {
            g_prefix_error(errp, "saving %s (%s): ", d->path, d->type->name);
            return false;
        }
        if (!buf->len) {
            continue;       /* no state tables */
        }
        mig_put_u8(f, MIG_SEC_DEVICE);
        mig_put_str(f, d->path);
        mig_put_u32(f, buf->len);
        mig_put_buffer(f, buf->data, buf->len);
    }
    for (unsigned i = 0; i < handlers->len; i++) {
        const MigrationStateHandler *h = g_ptr_array_index(handlers, i);

        g_byte_array_set_size(buf, 0);
        if (!h->save(h->opaque, buf, errp)) {
            g_prefix_error(errp, "saving %s: ", h->name);
            return false;
        }
        mig_put_u8(f, MIG_SEC_STATE);
        mig_put_str(f, h->name);
        mig_put_u32(f, h->version);
        mig_put_u32(f, buf->len);
        mig_put_buffer(f, buf->data, buf->len);
    }
    return true;
}

void mig_save_end(MigFile *f, bool running, bool want_answer)
{
    mig_put_u8(f, MIG_SEC_END);
    mig_put_u8(f, running);
    mig_put_u8(f, want_answer);
}

/* ---- the configuration check ---------------------------------------- */


static char *cfg_str(ByteReader *r)
{
    size_t len = br_be(r, 2);
    const uint8_t *p = br_take(r, len);

    char *s = p ? g_strndup((const char *)p, len) : g_strdup("");

    /* names end up in error messages: keep them printable */
    for (char *c = s; *c; c++) {
        if (!g_ascii_isprint(*c)) {
            *c = '?';
        }
    }
    return s;
}

static char *size_text(uint64_t bytes)
{
    if (bytes && bytes % MiB == 0) {
        return g_strdup_printf("%" PRIu64 " MiB", (uint64_t)(bytes / MiB));
    }
    return g_strdup_printf("%" PRIu64 " bytes", bytes);
}

#define REFUSE(...) do { \
        error_setg(errp, "incompatible migration stream: " __VA_ARGS__); \
        return false; \
    } while (0)

static bool check_machine(ByteReader *r, GError **errp)
{
    g_autofree char *type = cfg_str(r);
    uint64_t ram = br_be(r, 8);
    uint32_t cpus = br_be(r, 4);
    const char *here = current_machine && current_machine->type
                       ? current_machine->type->name : "none";
    uint64_t here_ram = current_machine ? current_machine->ram_size : 0;
    unsigned here_cpus = current_machine ? current_machine->smp.cpus : 0;

    if (r->bad) {
        return true;        /* reported as truncation by the caller */
    }
    if (strcmp(type, here)) {
        REFUSE("machine type '%s' on the source, '%s' here", type, here);
    }
    if (ram != here_ram) {
        g_autofree char *a = size_text(ram), *b = size_text(here_ram);
        REFUSE("RAM size (-m) is %s on the source, %s here", a, b);
    }
    if (cpus != here_cpus) {
        REFUSE("CPU count (-smp) is %u on the source, %u here", cpus,
               here_cpus);
    }
    return true;
}

static bool check_blocks(ByteReader *r, GPtrArray *blocks, GError **errp)
{
    uint32_t n = br_be(r, 4);

    for (uint32_t i = 0; i < n && !r->bad; i++) {
        g_autofree char *id = cfg_str(r);
        uint64_t size = br_be(r, 8);
        RamBlock *b;

        if (r->bad) {
            break;
        }
        if (i >= blocks->len) {
            REFUSE("RAM block '%s' of the source does not exist here", id);
        }
        b = g_ptr_array_index(blocks, i);
        if (strcmp(b->idstr, id)) {
            REFUSE("RAM block %u is '%s' on the source, '%s' here", i, id,
                   b->idstr);
        }
        if (size != b->mr->size) {
            g_autofree char *a = size_text(size), *c = size_text(b->mr->size);
            REFUSE("RAM block '%s' is %s on the source, %s here", id, a, c);
        }
    }
    if (!r->bad && n < blocks->len) {
        RamBlock *b = g_ptr_array_index(blocks, n);
        REFUSE("RAM block '%s' here is not in the source's configuration",
               b->idstr);
    }
    return true;
}

static bool check_device_tables(ByteReader *r, DeviceState *d,
                                GError **errp)
{
    g_autoptr(GPtrArray) tables = device_state_tables(d);
    unsigned n = br_be(r, 1);

    if (!r->bad && n != tables->len) {
        REFUSE("device '%s' (%s) has %u state tables on the source, %u "
               "here", d->path, d->type->name, n, tables->len);
    }
    for (unsigned t = 0; t < n && !r->bad; t++) {
        const VMStateDescription *vmsd = g_ptr_array_index(tables, t);
        g_autofree char *name = cfg_str(r);
        int version = (int)br_be(r, 4);

        if (r->bad) {
            break;
        }
        if (strcmp(name, vmsd->name)) {
            REFUSE("device '%s' has state '%s' on the source, '%s' here",
                   d->path, name, vmsd->name);
        }
        if (version > vmsd->version_id) {
            REFUSE("device '%s' state '%s' is version %d on the source, "
                   "newer than this kvmpc's %d", d->path, name, version,
                   vmsd->version_id);
        }
        if (version < vmsd->minimum_version_id) {
            REFUSE("device '%s' state '%s' is version %d on the source, "
                   "older than the oldest this kvmpc loads (%d)", d->path,
                   name, version, vmsd->minimum_version_id);
        }
    }
    return true;
}

static bool check_devices(ByteReader *r, GError **errp)
{
    GPtrArray *devs = device_list();
    uint32_t n = br_be(r, 4);
    g_autoptr(GHashTable) matched = g_hash_table_new(NULL, NULL);

    for (uint32_t i = 0; i < n && !r->bad; i++) {
        g_autofree char *path = cfg_str(r);
        g_autofree char *type = cfg_str(r);
        DeviceState *d;

        if (r->bad) {
            break;
        }
        d = device_find_by_path(path);
        if (!d) {
            REFUSE("device '%s' (%s) of the source does not exist here",
                   path, type);
        }
        if (strcmp(d->type->name, type)) {
            REFUSE("device '%s' is a %s on the source, a %s here", path,
                   type, d->type->name);
        }
        g_hash_table_add(matched, d);
        if (!check_device_tables(r, d, errp)) {
            return false;
        }
    }
    for (unsigned i = 0; !r->bad && i < devs->len; i++) {
        DeviceState *d = g_ptr_array_index(devs, i);
        if (!g_hash_table_contains(matched, d)) {
            REFUSE("device '%s' (%s) here is not in the source's "
                   "configuration", d->path, d->type->name);
        }
    }
    return true;
}

static bool check_handlers(ByteReader *r, GError **errp)
{
    GPtrArray *handlers = migration_state_handlers();
    uint32_t n = br_be(r, 4);

    for (uint32_t i = 0; i < n && !r->bad; i++) {
        g_autofree char *name = cfg_str(r);
        uint32_t version = br_be(r, 4);
        const MigrationStateHandler *h;

        if (r->bad) {
            break;
        }
        if (i >= handlers->len) {
            REFUSE("the source has %s state, this kvmpc does not", name);
        }
        h = g_ptr_array_index(handlers, i);
        if (strcmp(h->name, name)) {
            REFUSE("the source has %s state where this kvmpc has %s", name,
                   h->name);
        }
        if ((int)version > h->version) {
            REFUSE("%s state is version %u on the source, newer than this "
                   "kvmpc's %d", name, version, h->version);
        }
    }
    if (!r->bad && n < handlers->len) {
        const MigrationStateHandler *h = g_ptr_array_index(handlers, n);
        REFUSE("this kvmpc has %s state, the source does not", h->name);
    }
    return true;
}

bool mig_check_config(const uint8_t *buf, size_t len, GPtrArray *blocks,
                      GError **errp)
{
    ByteReader r = byte_reader(buf, len);

    if (!check_machine(&r, errp) || !check_blocks(&r, blocks, errp) ||
        !check_devices(&r, errp) || !check_handlers(&r, errp)) {
        return false;
    }
    if (r.bad || r.pos != len) {
        error_setg(errp, "corrupt migration stream: malformed "
                   "configuration section");
        return false;
    }
    return true;
}

/* ---- reading -------------------------------------------------------- */

typedef struct MigPendingSection {
    uint8_t kind;               /* MIG_SEC_DEVICE or MIG_SEC_STATE */
    char *name;
    uint32_t version;
    GByteArray *data;
} MigPendingSection;

static void pending_free(gpointer p)
{
    MigPendingSection *s = p;

    g_free(s->name);
    g_byte_array_unref(s->data);
    g_free(s);
}

MigLoad *mig_load_new(void)
{
    MigLoad *ld = g_new0(MigLoad, 1);

    ld->blocks = ram_blocks_new();
    ld->sections = g_ptr_array_new_with_free_func(pending_free);
    ld->listen_fd = -1;
    return ld;
}

void mig_load_free(MigLoad *ld)
{
    if (ld) {
        multifd_recv_free(ld->mfd);
        postcopy_incoming_free(ld->pc);
        ram_blocks_free(ld->blocks);
        g_ptr_array_unref(ld->sections);
        g_free(ld);
    }
}

static bool stream_error(MigFile *f, GError **errp)
{
    const GError *e = mig_file_error(f);

    if (e) {
        error_setg(errp, "%s", e->message);
        return true;
    }
    return false;
}

static bool load_header(MigFile *f, GError **errp)
{
    char magic[8];
    uint32_t version;

    mig_get_buffer(f, magic, 8);
    version = mig_get_u32(f);
    if (stream_error(f, errp)) {
        return false;
    }
    if (memcmp(magic, MIG_MAGIC, 8)) {
        error_setg(errp, "not a kvmpc migration stream (bad magic)");
        return false;
    }
    if (version < MIG_STREAM_VERSION_MIN || version > MIG_STREAM_VERSION) {
        error_setg(errp, "migration stream version %u is not supported "
                   "(this kvmpc reads versions %u to %u)", version,
                   MIG_STREAM_VERSION_MIN, MIG_STREAM_VERSION);
        return false;
    }
    return true;
}

static bool load_config(MigFile *f, MigLoad *ld, bool lock, GError **errp)
{
    uint8_t kind = mig_get_u8(f);
    uint32_t len = mig_get_u32(f);
    g_autofree uint8_t *buf = NULL;
    bool ok;

    if (stream_error(f, errp)) {
        return false;
    }
    if (kind != MIG_SEC_CONFIG) {
        error_setg(errp, "corrupt migration stream: section 0x%02x where "
                   "the configuration must come", kind);
        return false;
    }
    if (len > MIG_MAX_CONFIG) {
        error_setg(errp, "corrupt migration stream: configuration of %u "
                   "bytes", len);
        return false;
    }
    buf = g_malloc(len ? len : 1);
    if (!mig_get_buffer(f, buf, len)) {
        return !stream_error(f, errp);
    }
    if (lock) {
        bql_lock();
    }
    ok = mig_check_config(buf, len, ld->blocks, errp);
    if (lock) {
        bql_unlock();
    }
    return ok;
}

/* A RAM section's block, page count and checked page list. */
static RamBlock *load_ram_header(MigFile *f, MigLoad *ld, uint32_t *idxp,
                                 uint64_t *offs, uint32_t *np, GError **errp)
{
    uint32_t idx = mig_get_u32(f);
    uint32_t n = mig_get_u32(f);
    RamBlock *b;

    if (stream_error(f, errp)) {
        return NULL;
    }
    if (idx >= ld->blocks->len || n == 0 || n > MIG_BATCH_PAGES) {
        error_setg(errp, "corrupt migration stream: RAM section for block "
                   "%u with %u pages", idx, n);
        return NULL;
    }
    b = g_ptr_array_index(ld->blocks, idx);
    for (unsigned i = 0; i < n; i++) {
        uint64_t v = mig_get_u64(f);
        uint64_t off = v & ~MIG_PAGE_KIND_MASK;
        unsigned kind = v & MIG_PAGE_KIND_MASK;

        if (stream_error(f, errp)) {
            return NULL;        /* the stream ended: not a bad entry */
        }
        if (off >= b->mr->size ||
            (kind != MIG_PAGE_ZERO && kind != MIG_PAGE_NORMAL &&
             kind != MIG_PAGE_XBZRLE && kind != MIG_PAGE_SPARSE)) {
            error_setg(errp, "corrupt migration stream: page 0x%" PRIx64
                       " of '%s' (%" PRIu64 " bytes), kind %u", off,
                       b->idstr, b->mr->size, kind);
            return NULL;
        }
        offs[i] = v;
    }
    *idxp = idx;
    *np = n;
    return b;
}

/*
 * Postcopy: each page is put together in @page, then placed atomically
 * (guest RAM that is still missing must not be touched: the access would
 * wait for itself).  Zero pages are placed as such.
 */
static bool load_ram_postcopy(MigFile *f, MigLoad *ld, GError **errp)
{
    uint64_t offs[MIG_BATCH_PAGES];
    uint8_t page[MIG_PAGE_SIZE], delta[MIG_SPARSE_MAX];
    uint32_t idx, n;
    RamBlock *b = load_ram_header(f, ld, &idx, offs, &n, errp);

    if (!b) {
        return false;
    }
    for (unsigned i = 0; i < n; i++) {
        uint64_t off = offs[i] & ~MIG_PAGE_KIND_MASK;
        unsigned kind = offs[i] & MIG_PAGE_KIND_MASK;
        const void *data = page;

        if (kind == MIG_PAGE_ZERO) {
            data = NULL;
        } else if (kind == MIG_PAGE_NORMAL) {
            mig_get_buffer(f, page, MIG_PAGE_SIZE);
        } else if (kind == MIG_PAGE_SPARSE) {
            uint16_t dlen = mig_get_u16(f);

            if (dlen > MIG_SPARSE_MAX) {
                error_setg(errp, "corrupt migration stream: sparse page "
                           "0x%" PRIx64 " of '%s' with %u bytes", off,
                           b->idstr, dlen);
                return false;
            }
            mig_get_buffer(f, delta, dlen);
            memset(page, 0, sizeof(page));
            if (!mig_file_error(f) &&
                xbzrle_decode_buffer(delta, dlen, page, MIG_PAGE_SIZE) < 0) {
                error_setg(errp, "corrupt migration stream: bad sparse "
                           "delta for page 0x%" PRIx64 " of '%s'", off,
                           b->idstr);
                return false;
            }
        } else {
            error_setg(errp, "corrupt migration stream: XBZRLE page 0x%"
                       PRIx64 " of '%s' in postcopy", off, b->idstr);
            return false;
        }
        if (stream_error(f, errp) ||
            !postcopy_place_page(ld->pc, idx, off, data, errp)) {
            return false;
        }
    }
    ld->pages_loaded += n;
    return true;
}

/* Pages straight into guest memory, contiguous normal pages in one read. */
static bool load_ram(MigFile *f, MigLoad *ld, GError **errp)
{
    uint64_t offs[MIG_BATCH_PAGES];
    uint32_t idx, n;
    RamBlock *b;
    unsigned i;

    if (ld->pc) {
        return load_ram_postcopy(f, ld, errp);
    }
    b = load_ram_header(f, ld, &idx, offs, &n, errp);
    if (!b) {
        return false;
    }
    for (i = 0; i < n && !mig_file_error(f); ) {
        uint64_t off = offs[i] & ~MIG_PAGE_KIND_MASK;
        uint8_t *p = b->mr->ram + off;
        uint64_t len = MIN(MIG_PAGE_SIZE, b->mr->size - off);
        unsigned run = 1;

        if ((offs[i] & MIG_PAGE_KIND_MASK) == MIG_PAGE_ZERO) {
            /* leave untouched zero pages unallocated */
            if (!buffer_is_zero(p, len)) {
                memset(p, 0, len);
            }
            i++;
            continue;
        }
        if ((offs[i] & MIG_PAGE_KIND_MASK) == MIG_PAGE_XBZRLE ||
            (offs[i] & MIG_PAGE_KIND_MASK) == MIG_PAGE_SPARSE) {
            bool sparse = (offs[i] & MIG_PAGE_KIND_MASK) == MIG_PAGE_SPARSE;
            uint8_t delta[MIG_PAGE_SIZE];
            uint16_t dlen = mig_get_u16(f);

            if (dlen > (sparse ? MIG_SPARSE_MAX : MIG_PAGE_SIZE) ||
                len < MIG_PAGE_SIZE) {
                error_setg(errp, "corrupt migration stream: %s page "
                           "0x%" PRIx64 " of '%s' with %u bytes",
                           sparse ? "sparse" : "XBZRLE", off, b->idstr,
                           dlen);
                return false;
            }
            if (!mig_get_buffer(f, delta, dlen)) {
                break;
            }
            if (sparse) {
                memset(p, 0, MIG_PAGE_SIZE);
            }
            if (xbzrle_decode_buffer(delta, dlen, p, MIG_PAGE_SIZE) < 0) {
                error_setg(errp, "corrupt migration stream: bad %s "
                           "delta for page 0x%" PRIx64 " of '%s'",
                           sparse ? "sparse" : "XBZRLE", off, b->idstr);
                return false;
            }
            i++;
            continue;
        }
        if (len < MIG_PAGE_SIZE) {
            uint8_t page[MIG_PAGE_SIZE];
            mig_get_buffer(f, page, MIG_PAGE_SIZE);
            memcpy(p, page, len);
            i++;
            continue;
        }
        while (i + run < n &&
               (offs[i + run] & MIG_PAGE_KIND_MASK) == MIG_PAGE_NORMAL &&
               (offs[i + run] & ~MIG_PAGE_KIND_MASK) ==
                   off + run * MIG_PAGE_SIZE &&
               off + (run + 1) * MIG_PAGE_SIZE <= b->mr->size) {
            run++;
        }
        mig_get_buffer(f, p, run * MIG_PAGE_SIZE);
        i += run;
    }
    ld->pages_loaded += n;
    return !stream_error(f, errp);
}

static bool load_pending(MigFile *f, MigLoad *ld, uint8_t kind,
                         GError **errp)
{
    g_autofree char *name = mig_get_str(f, MIG_MAX_NAME);
    uint32_t version = kind == MIG_SEC_STATE ? mig_get_u32(f) : 0;
    uint32_t len = mig_get_u32(f);
    MigPendingSection *s;

    if (stream_error(f, errp)) {
        return false;
    }
    if (len > MIG_MAX_SECTION) {
        error_setg(errp, "corrupt migration stream: state of '%s' is %u "
                   "bytes", name, len);
        return false;
    }
    s = g_new0(MigPendingSection, 1);
    s->kind = kind;
    s->name = g_steal_pointer(&name);
    s->version = version;
    s->data = g_byte_array_sized_new(len);
    g_byte_array_set_size(s->data, len);
    g_ptr_array_add(ld->sections, s);
    mig_get_buffer(f, s->data->data, len);
    return !stream_error(f, errp);
}

/* MULTIFD: accept the channels on the listening socket. */
static bool load_multifd(MigFile *f, MigLoad *ld, GError **errp)
{
    uint32_t n = mig_get_u32(f);
    uint8_t comp = mig_get_u8(f);

    if (stream_error(f, errp)) {
        return false;
    }
    if (ld->mfd || n < 1 || n > 255) {
        error_setg(errp, "corrupt migration stream: multifd with %u "
                   "channels", n);
        return false;
    }
    if (!multifd_compression_available(comp)) {
        error_setg(errp, "the source uses multifd compression %u, which "
                   "this kvmpc does not have", comp);
        return false;
    }
    if (ld->listen_fd < 0) {
        error_setg(errp, "multifd needs a tcp: or unix: incoming URI");
        return false;
    }
    ld->mfd = multifd_recv_new(ld->listen_fd, ld->tcp, ld->tls, n, comp,
                               ld->blocks, errp);
    return ld->mfd != NULL;
}

/* IGNORE_SHARED: blocks whose memory the file carries; refused unless
 * this side maps such a file too (else the guest would find zeroes). */
static bool load_ignore_shared(MigFile *f, MigLoad *ld, GError **errp)
{
    uint32_t n = mig_get_u32(f);

    if (stream_error(f, errp)) {
        return false;
    }
    if (n > ld->blocks->len) {
        error_setg(errp, "corrupt migration stream: %u shared blocks of "
                   "%u", n, ld->blocks->len);
        return false;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t idx = mig_get_u32(f);
        RamBlock *b;

        if (stream_error(f, errp)) {
            return false;
        }
        if (idx >= ld->blocks->len) {
            error_setg(errp, "corrupt migration stream: shared block %u "
                       "of %u", idx, ld->blocks->len);
            return false;
        }
        b = g_ptr_array_index(ld->blocks, idx);
        if (!b->mr->ram_file_shared) {
            error_setg(errp, "the source leaves RAM '%s' out of the stream "
                       "(x-ignore-shared: a share=on memory-backend-file), "
                       "but here it is not such memory: its contents would "
                       "be lost", b->idstr);
            return false;
        }
    }
    return true;
}

/* POSTCOPY_LISTEN: the stale pages' bitmaps, then userfaultfd. */
static bool load_postcopy_listen(MigFile *f, MigLoad *ld, GError **errp)
{
    uint32_t nblocks = mig_get_u32(f);
    unsigned long **discard;
    unsigned i;

    if (stream_error(f, errp)) {
        return false;
    }
    if (!ld->postcopy_advised || ld->pc || ld->mfd) {
        error_setg(errp, "corrupt migration stream: postcopy listen %s",
                   ld->pc ? "twice" : ld->mfd ? "with multifd"
                                              : "without advice");
        return false;
    }
    if (nblocks != ld->blocks->len) {
        error_setg(errp, "corrupt migration stream: postcopy listen for "
                   "%u RAM blocks, this machine has %u", nblocks,
                   ld->blocks->len);
        return false;
    }
    discard = g_new0(unsigned long *, nblocks);
    for (i = 0; i < nblocks; i++) {
        RamBlock *b = g_ptr_array_index(ld->blocks, i);
        uint64_t pages = mig_get_u64(f);
        uint64_t words = DIV_ROUND_UP(b->pages, 64);

        if (stream_error(f, errp)) {
            goto fail;
        }
        if (pages != b->pages) {
            error_setg(errp, "corrupt migration stream: postcopy listen "
                       "has %" PRIu64 " pages for '%s' of %" PRIu64, pages,
                       b->idstr, b->pages);
            goto fail;
        }
        discard[i] = g_new0(unsigned long, words);
        for (uint64_t w = 0; w < words; w++) {
            discard[i][w] = mig_get_u64(f);
        }
        if (b->pages % 64) {
            discard[i][words - 1] &= (1UL << (b->pages % 64)) - 1;
        }
        if (stream_error(f, errp)) {
            goto fail;
        }
    }
    /* checked after the bitmaps, so that the fuzz target (a stream in
     * memory) reaches their parser */
    if (f->fd < 0) {
        error_setg(errp, "postcopy needs a tcp: or unix: connection");
        goto fail;
    }
    ld->pc = postcopy_incoming_listen(ld->blocks, discard, f->fd, errp);
    if (ld->pc) {
        return true;
    }
fail:
    for (i = 0; i < nblocks; i++) {
        g_free(discard[i]);
    }
    g_free(discard);
    return false;
}

bool mig_load_stream(MigFile *f, MigLoad *ld, bool lock_for_config,
                     GError **errp)
{
    if (!load_header(f, errp) || !load_config(f, ld, lock_for_config, errp)) {
        return false;
    }
    ld->config_matched = true;
    for (;;) {
        uint8_t kind = mig_get_u8(f);

        if (stream_error(f, errp)) {
            return false;
        }
        switch (kind) {
        case MIG_SEC_RAM:
            if (!load_ram(f, ld, errp)) {
                return false;
            }
            break;
        case MIG_SEC_PASS:
            ld->passes = mig_get_u32(f);
            break;
        case MIG_SEC_MULTIFD:
            if (!load_multifd(f, ld, errp)) {
                return false;
            }
            break;
        case MIG_SEC_MULTIFD_SYNC: {
            uint32_t seq = mig_get_u32(f);
            if (stream_error(f, errp)) {
                return false;
            }
            if (!ld->mfd) {
                error_setg(errp, "corrupt migration stream: multifd sync "
                           "without multifd channels");
                return false;
            }
            if (!multifd_recv_sync(ld->mfd, seq, errp)) {
                return false;
            }
            /* the source waits for this before its next pass */
            if (f->fd >= 0) {
                uint8_t ack = MIG_ANSWER_LOADED;
                if (write(f->fd, &ack, 1) != 1) {
                    error_setg(errp, "acknowledging multifd pages: %s",
                               g_strerror(errno));
                    return false;
                }
            }
            break;
        }
        case MIG_SEC_PASS_ACK: {
            uint8_t ack = MIG_ANSWER_LOADED;

            mig_get_u32(f);                 /* the pass: for traces */
            if (stream_error(f, errp)) {
                return false;
            }
            /* everything before is loaded: the source measures its pass */
            if (f->fd < 0 || write(f->fd, &ack, 1) != 1) {
                error_setg(errp, "acknowledging a precopy pass: %s",
                           f->fd < 0 ? "no connection to answer on"
                                     : g_strerror(errno));
                return false;
            }
            break;
        }
        case MIG_SEC_CLOCK:
            ld->clock_ns = (int64_t)mig_get_u64(f);
            ld->have_clock = true;
            break;
        case MIG_SEC_DEVICE:
        case MIG_SEC_STATE:
            if (!load_pending(f, ld, kind, errp)) {
                return false;
            }
            break;
        case MIG_SEC_IGNORE_SHARED:
            if (!load_ignore_shared(f, ld, errp)) {
                return false;
            }
            break;
        case MIG_SEC_POSTCOPY_ADVISE:
            if (!postcopy_incoming_supported(errp)) {
                return false;
            }
            ld->postcopy_advised = true;
            break;
        case MIG_SEC_POSTCOPY_LISTEN:
            if (!load_postcopy_listen(f, ld, errp)) {
                return false;
            }
            break;
        case MIG_SEC_POSTCOPY_RUN:
            ld->source_running = mig_get_u8(f) != 0;
            if (stream_error(f, errp)) {
                return false;
            }
            if (!ld->pc || !ld->have_clock) {
                error_setg(errp, "corrupt migration stream: postcopy run "
                           "without %s", ld->pc ? "the machine's state"
                                                : "postcopy listen");
                return false;
            }
            ld->postcopy_running = true;
            return true;
        case MIG_SEC_END:
            if (ld->pc) {
                error_setg(errp, "corrupt migration stream: it ended "
                           "between postcopy listen and run");
                return false;
            }
            ld->source_running = mig_get_u8(f) != 0;
            ld->want_answer = mig_get_u8(f) != 0;
            if (stream_error(f, errp)) {
                return false;
            }
            if (!ld->have_clock) {
                error_setg(errp, "corrupt migration stream: it ended "
                           "without the machine's state");
                return false;
            }
            return !ld->mfd || multifd_recv_finish(ld->mfd, errp);
        default:
            error_setg(errp, "corrupt migration stream: unknown section "
                       "0x%02x", kind);
            return false;
        }
    }
}

bool mig_load_resume_header(MigFile *f, GError **errp)
{
    if (!load_header(f, errp)) {
        return false;
    }
    if (mig_get_u8(f) != MIG_SEC_POSTCOPY_RESUME) {
        if (!stream_error(f, errp)) {
            error_setg(errp, "the connection does not resume a postcopy "
                       "migration");
        }
        return false;
    }
    return true;
}

bool mig_load_postcopy(MigFile *f, MigLoad *ld, GError **errp)
{
    for (;;) {
        uint8_t kind = mig_get_u8(f);

        if (stream_error(f, errp)) {
            return false;
        }
        switch (kind) {
        case MIG_SEC_RAM:
            if (!load_ram_postcopy(f, ld, errp)) {
                return false;
            }
            break;
        case MIG_SEC_END:
            mig_get_u8(f);
            mig_get_u8(f);
            if (stream_error(f, errp)) {
                return false;
            }
            if (postcopy_missing_pages(ld->pc)) {
                error_setg(errp, "corrupt migration stream: postcopy "
                           "ended with %" PRIu64 " pages missing",
                           postcopy_missing_pages(ld->pc));
                return false;
            }
            return true;
        default:
            error_setg(errp, "corrupt migration stream: section 0x%02x "
                       "in postcopy", kind);
            return false;
        }
    }
}

static const MigrationStateHandler *find_handler(const char *name)
{
    GPtrArray *handlers = migration_state_handlers();

    for (unsigned i = 0; i < handlers->len; i++) {
        const MigrationStateHandler *h = g_ptr_array_index(handlers, i);
        if (!strcmp(h->name, name)) {
            return h;
        }
    }
    return NULL;
}

bool mig_load_finish(MigLoad *ld, GError **errp)
{
    g_assert(ld->have_clock);
    if (ld->clock_ns < 0) {
        error_setg(errp, "corrupt migration stream: negative clock");
        return false;
    }
    /* timers are loaded as absolute times on this clock */
    qemu_clock_virtual_set_stopped(ld->clock_ns);
    for (unsigned i = 0; i < ld->sections->len; i++) {
        MigPendingSection *s = g_ptr_array_index(ld->sections, i);

        if (s->kind == MIG_SEC_DEVICE) {
            DeviceState *d = device_find_by_path(s->name);
            if (!d) {
                error_setg(errp, "migration stream has state for device "
                           "'%s', which does not exist here", s->name);
                return false;
            }
            if (!device_load_state(d, s->data->data, s->data->len, errp)) {
                g_prefix_error(errp, "loading %s (%s): ", d->path,
                               d->type->name);
                return false;
            }
        } else {
            const MigrationStateHandler *h = find_handler(s->name);
            if (!h) {
                error_setg(errp, "migration stream has %s state, which "
                           "this kvmpc does not know", s->name);
                return false;
            }
            if ((int)s->version > h->version) {
                error_setg(errp, "%s state version %u is newer than this "
                           "kvmpc's %d", s->name, s->version, h->version);
                return false;
            }
            if (!h->load(h->opaque, s->version, s->data->data, s->data->len,
                         errp)) {
                g_prefix_error(errp, "loading %s: ", s->name);
                return false;
            }
        }
    }
    return true;
}

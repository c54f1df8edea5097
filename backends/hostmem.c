/*
 * Host memory backends (include/system/hostmem.h), QEMU's
 * memory-backend-ram, memory-backend-file and memory-backend-memfd:
 * each maps its memory when the object is created; a machine given
 * memory-backend=ID maps that memory as its RAM.
 *
 *   ram:   anonymous memory; share=on maps it MAP_SHARED
 *   file:  mem-path is a file (created and sized as needed) or a directory
 *          (a temporary file in it, unlinked at once), mapped shared with
 *          share=on, private otherwise; discard-data=on (drop the file's
 *          pages at exit instead of writing them back) is refused: kvmpc
 *          does not do it yet
 *   memfd: a memfd (hugetlb=on: from hugetlbfs, hugetlbsize= its page size;
 *          seal=on: sealed against growing and shrinking), always shared
 *          unless share=off
 * prealloc=on touches every page now (so a guest never faults for lack of
 * memory later), merge=off opts out of KSM, dump=off leaves the memory
 * out of core dumps.  host-nodes= (a node, a range N-M, or host-nodes.0=,
 * host-nodes.1=... as QMP's list arrives) and policy=default|preferred|
 * bind|interleave bind the memory to host NUMA nodes with mbind(2)
 * (MPOL_MF_STRICT | MPOL_MF_MOVE, before prealloc touches it), with
 * QEMU 7.2's checks and wording; a build without libnuma refuses them.
 */
#include "qemu/osdep.h"
#include "system/hostmem.h"
#include "qemu/fdset.h"
#include "system/object.h"
#include "qobject/qbool.h"
#include "qobject/qlist.h"
#include "qobject/qnum.h"
#include "qobject/qstring.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#ifdef CONFIG_NUMA
#include <numaif.h>
#endif

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif
#ifndef MFD_HUGE_SHIFT
#define MFD_HUGE_SHIFT 26
#endif

static GPtrArray *all_backends;

void host_memory_backend_foreach(void (*fn)(HostMemoryBackend *b,
                                            void *opaque), void *opaque)
{
    for (guint i = 0; all_backends && i < all_backends->len; i++) {
        fn(g_ptr_array_index(all_backends, i), opaque);
    }
}

bool host_memory_backend_file_shared(const HostMemoryBackend *b)
{
    return b->share && !strcmp(b->type, "memory-backend-file");
}

HostMemoryBackend *host_memory_backend_find(const char *id)
{
    static const char *const types[] = {
        "memory-backend-ram", "memory-backend-file", "memory-backend-memfd",
    };

    for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
        HostMemoryBackend *b = user_object_find(id, types[i]);
        if (b) {
            return b;
        }
    }
    return NULL;
}

typedef struct HostMemOpts {
    uint64_t size, align, hugetlbsize, prealloc_threads;
    HostMemPolicyMode policy;
    unsigned long host_nodes[HOST_MEM_MAX_NODES / HOST_MEM_NODE_BITS];
    bool share, prealloc, merge, dump, discard_data, readonly, hugetlb, seal,
         reserve;
    char *mem_path;
} HostMemOpts;

static bool take_bool(GHashTable *props, const char *key, bool dflt,
                      bool *out, GError **errp)
{
    g_autofree char *v = user_object_take_str(props, key);

    *out = dflt;
    return !v || parse_bool(v, out, errp);
}

static bool take_size(GHashTable *props, const char *key, uint64_t *out,
                      GError **errp)
{
    g_autofree char *v = user_object_take_str(props, key);

    return !v || parse_size(v, 1, out, errp);
}

static const char *const policy_names[] = {
    "default", "preferred", "bind", "interleave",
};

static bool add_host_nodes(HostMemOpts *o, const char *v, GError **errp)
{
    g_auto(GStrv) parts = g_strsplit(v, "-", 3);
    guint n = g_strv_length(parts);
    uint64_t lo, hi;

    if ((n != 1 && n != 2) || !parse_uint(parts[0], &lo, NULL) ||
        !parse_uint(parts[n - 1], &hi, NULL) || hi < lo) {
        error_setg(errp, "Parameter 'host-nodes' expects a uint64 value or "
                   "range");
        return false;
    }
    if (hi >= HOST_MEM_MAX_NODES) {
        error_setg(errp, "Invalid host-nodes value: %" PRIu64,
                   MAX(lo, (uint64_t)HOST_MEM_MAX_NODES));
        return false;
    }
    for (uint64_t i = lo; i <= hi; i++) {
        host_mem_node_set(o->host_nodes, i);
    }
    return true;
}

/* host-nodes=N[-M] and the list form host-nodes.0=, host-nodes.1=, ... */
static bool take_host_nodes(GHashTable *props, HostMemOpts *o, GError **errp)
{
    g_autofree char *nodes = user_object_take_str(props, "host-nodes");

    if (nodes && *nodes && !add_host_nodes(o, nodes, errp)) {
        return false;
    }
    /* a list as long as the request (a node may repeat, as in QEMU) */
    for (unsigned i = 0; ; i++) {
        g_autofree char *key = g_strdup_printf("host-nodes.%u", i);
        g_autofree char *v = user_object_take_str(props, key);

        if (!v) {
            break;
        }
        if (!add_host_nodes(o, v, errp)) {
            return false;
        }
    }
    return true;
}

static bool take_policy(GHashTable *props, HostMemOpts *o, GError **errp)
{
    g_autofree char *policy = user_object_take_str(props, "policy");

    o->policy = HOST_MEM_MODE_DEFAULT;
    if (!policy) {
        return true;
    }
    for (unsigned i = 0; i < ARRAY_SIZE(policy_names); i++) {
        if (!strcmp(policy, policy_names[i])) {
            o->policy = i;
            return true;
        }
    }
    error_setg(errp, "Parameter 'policy' does not accept value '%s'", policy);
    return false;
}

static bool parse_common(const char *type, GHashTable *props, HostMemOpts *o,
                         GError **errp)
{
    g_autofree char *x_use = user_object_take_str(props, "x-use-canonical-path-for-ramblock-id");

    (void)x_use;    /* naming of migration RAM blocks: kvmpc has one name */
    if (!take_size(props, "size", &o->size, errp) ||
        !take_bool(props, "share", !strcmp(type, "memory-backend-memfd"),
                   &o->share, errp) ||
        !take_bool(props, "prealloc", false, &o->prealloc, errp) ||
        !take_bool(props, "merge", true, &o->merge, errp) ||
        !take_bool(props, "dump", true, &o->dump, errp) ||
        !take_bool(props, "reserve", true, &o->reserve, errp) ||
        !take_size(props, "prealloc-threads", &o->prealloc_threads, errp) ||
        !take_host_nodes(props, o, errp) || !take_policy(props, o, errp)) {
        return false;
    }
    if (!o->size) {
        error_setg(errp, "can't create backend with size 0");
        return false;
    }
    return true;
}

/*
 * QEMU's checks of host-nodes against policy, then mbind(2).  STRICT|MOVE:
 * pages already there (a file's page cache) must move or the call fails.
 */
static bool apply_host_nodes(void *p, const HostMemOpts *o, GError **errp)
{
    int maxnode = -1;

    for (int i = 0; i < HOST_MEM_MAX_NODES; i++) {
        if (host_mem_node_test(o->host_nodes, i)) {
            maxnode = i;
        }
    }
    if (maxnode >= 0 && o->policy == HOST_MEM_MODE_DEFAULT) {
        error_setg(errp, "host-nodes must be empty for policy default, or "
                   "you should explicitly specify a policy other than "
                   "default");
        return false;
    }
    if (maxnode < 0 && o->policy != HOST_MEM_MODE_DEFAULT) {
        error_setg(errp, "host-nodes must be set for policy %s",
                   policy_names[o->policy]);
        return false;
    }
    if (maxnode < 0) {
        return true;
    }
#ifdef CONFIG_NUMA
    /* mode values: MPOL_DEFAULT 0, PREFERRED 1, BIND 2, INTERLEAVE 3 */
    if (mbind(p, o->size, o->policy, o->host_nodes, maxnode + 2,
              MPOL_MF_STRICT | MPOL_MF_MOVE)) {
        error_setg(errp, "cannot bind memory to host NUMA nodes: %s",
                   g_strerror(errno));
        return false;
    }
    return true;
#else
    (void)p;
    error_setg(errp, "NUMA node binding are not supported by this QEMU "
               "(kvmpc was built without libnuma)");
    return false;
#endif
}

static void *map_fd(int fd, const HostMemOpts *o, GError **errp)
{
    int prot = PROT_READ | (o->readonly ? 0 : PROT_WRITE);
    int flags = (o->share ? MAP_SHARED : MAP_PRIVATE) |
                (o->reserve ? 0 : MAP_NORESERVE);
    void *p = mmap(NULL, o->size, prot, flags, fd, 0);

    if (p == MAP_FAILED) {
        error_setg(errp, "unable to map backing store for guest RAM: %s",
                   g_strerror(errno));
        return NULL;
    }
    return p;
}

static void *map_anonymous(const HostMemOpts *o, GError **errp)
{
    int flags = (o->share ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS |
                (o->reserve ? 0 : MAP_NORESERVE);
    void *p = mmap(NULL, o->size, PROT_READ | PROT_WRITE, flags, -1, 0);

    if (p == MAP_FAILED) {
        error_setg(errp, "cannot set up guest memory: %s", g_strerror(errno));
        return NULL;
    }
    if (o->size >= 2 * MiB) {
        madvise(p, o->size, MADV_HUGEPAGE);     /* a hint, as for pc.ram */
    }
    return p;
}

/* mem-path: a file to map, or a directory to make an unlinked one in. */
static int open_mem_path(const HostMemOpts *o, GError **errp)
{
    struct stat st;
    int fd;

    if (!stat(o->mem_path, &st) && S_ISDIR(st.st_mode)) {
        fd = open(o->mem_path, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    } else {
        fd = qemu_open(o->mem_path, o->readonly ? O_RDONLY : O_RDWR | O_CREAT,
                       0600);
    }
    if (fd < 0) {
        error_setg(errp, "can't open backing store %s for guest RAM: %s",
                   o->mem_path, g_strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) < 0 || ((uint64_t)st.st_size < o->size &&
                               (o->readonly || ftruncate(fd, o->size) < 0))) {
        error_setg(errp, "backing store %s is smaller than size %" PRIu64
                   " and cannot grow: %s", o->mem_path, o->size,
                   g_strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int create_memfd(const HostMemOpts *o, const char *id, GError **errp)
{
    unsigned flags = MFD_CLOEXEC | (o->seal ? MFD_ALLOW_SEALING : 0);
    int fd;

    if (o->hugetlb) {
        flags |= MFD_HUGETLB;
        if (o->hugetlbsize) {
            flags |= (unsigned)g_bit_nth_msf(o->hugetlbsize, -1)
                     << MFD_HUGE_SHIFT;
        }
    }
    fd = memfd_create(id, flags);
    if (fd < 0) {
        error_setg(errp, "failed to create memfd: %s", g_strerror(errno));
        return -1;
    }
    if (ftruncate(fd, o->size) < 0 ||
        (o->seal && fcntl(fd, F_ADD_SEALS,
                          F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0)) {
        error_setg(errp, "failed to size or seal memfd: %s",
                   g_strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* Fault every page in for writing.  Also on memory a running guest uses
 * (qom-set prealloc=true): the fallback's add of 0 is atomic, so it never
 * undoes a guest's write. */
static void prealloc_pages(void *p, uint64_t size)
{
    long page = sysconf(_SC_PAGESIZE);

    if (madvise(p, size, MADV_POPULATE_WRITE) < 0) {
        /* older kernels: touch each page (the value is kept) */
        for (uint64_t off = 0; off < size; off += page) {
            __atomic_fetch_add((uint8_t *)p + off, 0, __ATOMIC_RELAXED);
        }
    }
}

typedef struct PreallocChunk {
    uint8_t *start;
    uint64_t size;
} PreallocChunk;

static gpointer prealloc_chunk_run(gpointer opaque)
{
    PreallocChunk *c = opaque;

    prealloc_pages(c->start, c->size);
    return NULL;
}

/* prealloc-threads: the range in that many page-aligned chunks, faulted
 * in side by side (the kernel's page allocation is what takes the time,
 * as in QEMU's touch_all_pages). */
static void prealloc_pages_threaded(void *p, uint64_t size,
                                    uint64_t nthreads)
{
    uint64_t page = sysconf(_SC_PAGESIZE), pages = size / page;
    uint64_t n = MIN(MAX(nthreads, 1), MAX(pages, 1)), per;
    g_autofree GThread **threads = NULL;
    g_autofree PreallocChunk *chunks = NULL;

    if (n == 1) {
        prealloc_pages(p, size);
        return;
    }
    n = MIN(n, 256);            /* more threads do not fault faster */
    per = DIV_ROUND_UP(pages, n) * page;
    threads = g_new0(GThread *, n);
    chunks = g_new0(PreallocChunk, n);
    for (uint64_t i = 0; i < n && i * per < size; i++) {
        chunks[i] = (PreallocChunk){ (uint8_t *)p + i * per,
                                     MIN(per, size - i * per) };
        threads[i] = g_thread_new("prealloc", prealloc_chunk_run,
                                  &chunks[i]);
    }
    for (uint64_t i = 0; i < n; i++) {
        if (threads[i]) {
            g_thread_join(threads[i]);
        }
    }
}

static bool apply_advice(void *p, const HostMemOpts *o, GError **errp)
{
    if (!o->merge) {
        madvise(p, o->size, MADV_UNMERGEABLE);
    } else {
        madvise(p, o->size, MADV_MERGEABLE);    /* KSM, as QEMU: a hint */
    }
    if (!o->dump) {
        madvise(p, o->size, MADV_DONTDUMP);
    }
    if (o->prealloc && !o->readonly) {
        prealloc_pages_threaded(p, o->size, o->prealloc_threads);
    }
    (void)errp;
    return true;
}

static void *hostmem_create(const char *type, const char *id,
                            GHashTable *props, GError **errp)
{
    HostMemOpts o = { .prealloc_threads = 1 };
    g_autofree char *mem_path = NULL;
    HostMemoryBackend *b;
    void *host = NULL;
    bool pmem = false;
    int fd = -1;

    if (!parse_common(type, props, &o, errp)) {
        return NULL;
    }
    if (!strcmp(type, "memory-backend-file")) {
        mem_path = o.mem_path = user_object_take_str(props, "mem-path");
        if (!o.mem_path) {
            error_setg(errp, "mem-path property not set");
            return NULL;
        }
        if (!take_bool(props, "discard-data", false, &o.discard_data, errp)) {
            return NULL;
        }
        if (o.discard_data) {
            error_setg(errp, "discard-data=on is not supported by kvmpc");
            return NULL;
        }
        if (
            !take_bool(props, "readonly", false, &o.readonly, errp) ||
            !take_size(props, "align", &o.align, errp) ||
            !take_bool(props, "pmem", false, &pmem, errp)) {
            return NULL;
        }
        if (pmem) {
            error_setg(errp, "pmem=on (persistent memory) is not supported "
                       "by kvmpc");
            return NULL;
        }
        fd = open_mem_path(&o, errp);
    } else if (!strcmp(type, "memory-backend-memfd")) {
        if (!take_bool(props, "hugetlb", false, &o.hugetlb, errp) ||
            !take_size(props, "hugetlbsize", &o.hugetlbsize, errp) ||
            !take_bool(props, "seal", true, &o.seal, errp)) {
            return NULL;
        }
        fd = create_memfd(&o, id, errp);
    }
    if (strcmp(type, "memory-backend-ram") && fd < 0) {
        return NULL;
    }
    host = fd >= 0 ? map_fd(fd, &o, errp) : map_anonymous(&o, errp);
    if (fd >= 0) {
        close(fd);      /* the mapping keeps the memory */
    }
    if (!host || !apply_host_nodes(host, &o, errp) ||
        !apply_advice(host, &o, errp)) {
        if (host) {
            munmap(host, o.size);
        }
        return NULL;
    }
    b = g_new0(HostMemoryBackend, 1);
    b->id = g_strdup(id);
    b->type = type;
    b->size = o.size;
    b->host = host;
    b->share = o.share;
    b->merge = o.merge;
    b->dump = o.dump;
    b->prealloc = o.prealloc;
    b->reserve = o.reserve;
    b->policy = o.policy;
    memcpy(b->host_nodes, o.host_nodes, sizeof(b->host_nodes));
    b->prealloc_threads = o.prealloc_threads;
    b->mem_path = g_steal_pointer(&mem_path);
    b->align = o.align;
    b->readonly = o.readonly;
    b->hugetlb = o.hugetlb;
    b->hugetlbsize = o.hugetlbsize;
    b->seal = o.seal;
    if (!all_backends) {
        all_backends = g_ptr_array_new();
    }
    g_ptr_array_add(all_backends, b);
    return b;
}

/* object-del: a backend a machine or a DIMM uses stays (QEMU's words). */
static bool hostmem_destroy(void *obj, GError **errp)
{
    HostMemoryBackend *b = obj;

    if (b->used) {
        error_setg(errp, "object '%s' is in use, can not be deleted", b->id);
        return false;
    }
    g_ptr_array_remove(all_backends, b);
    munmap(b->host, b->size);
    g_free(b->id);
    g_free(b->mem_path);
    g_free(b);
    return true;
}

static void *ram_create(const char *id, GHashTable *p, GError **errp)
{
    return hostmem_create("memory-backend-ram", id, p, errp);
}

static void *file_create(const char *id, GHashTable *p, GError **errp)
{
    return hostmem_create("memory-backend-file", id, p, errp);
}

static void *memfd_create_obj(const char *id, GHashTable *p, GError **errp)
{
    return hostmem_create("memory-backend-memfd", id, p, errp);
}

/* ---- properties (qom-list / qom-get / qom-set) ---------------------- */

static QObject *bool_value(bool v)
{
    return QOBJECT(qbool_from_bool(v));
}

static QObject *uint_value(uint64_t v)
{
    return QOBJECT(qnum_from_uint(v));
}

#define B(obj) ((HostMemoryBackend *)(obj))

static QObject *get_size(void *o) { return uint_value(B(o)->size); }
static QObject *get_share(void *o) { return bool_value(B(o)->share); }
static QObject *get_prealloc(void *o) { return bool_value(B(o)->prealloc); }
static QObject *get_merge(void *o) { return bool_value(B(o)->merge); }
static QObject *get_dump(void *o) { return bool_value(B(o)->dump); }
static QObject *get_reserve(void *o) { return bool_value(B(o)->reserve); }
static QObject *get_prealloc_threads(void *o)
{
    return uint_value(B(o)->prealloc_threads);
}
static QObject *get_policy(void *o)
{
    return QOBJECT(qstring_from_str(policy_names[B(o)->policy]));
}
static QObject *get_host_nodes(void *o)
{
    QList *list = qlist_new();

    for (unsigned i = 0; i < HOST_MEM_MAX_NODES; i++) {
        if (host_mem_node_test(B(o)->host_nodes, i)) {
            qlist_append_int(list, i);
        }
    }
    return QOBJECT(list);
}
static QObject *get_mem_path(void *o)
{
    return QOBJECT(qstring_from_str(B(o)->mem_path ? B(o)->mem_path : ""));
}
static QObject *get_false(void *o) { return bool_value(false); }
static QObject *get_align(void *o) { return uint_value(B(o)->align); }
static QObject *get_readonly(void *o) { return bool_value(B(o)->readonly); }
static QObject *get_hugetlb(void *o) { return bool_value(B(o)->hugetlb); }
static QObject *get_seal(void *o) { return bool_value(B(o)->seal); }
static QObject *get_hugetlbsize(void *o)
{
    return uint_value(B(o)->hugetlbsize);
}

/* What QEMU 7.2 changes on a live backend: the madvise() flags now, and
 * prealloc=true faults the pages in now. */
static bool set_dump(void *o, QObject *value, GError **errp)
{
    bool v;

    if (!user_object_value_bool(value, "dump", &v, errp)) {
        return false;
    }
    madvise(B(o)->host, B(o)->size, v ? MADV_DODUMP : MADV_DONTDUMP);
    B(o)->dump = v;
    return true;
}

static bool set_merge(void *o, QObject *value, GError **errp)
{
    bool v;

    if (!user_object_value_bool(value, "merge", &v, errp)) {
        return false;
    }
    madvise(B(o)->host, B(o)->size, v ? MADV_MERGEABLE : MADV_UNMERGEABLE);
    B(o)->merge = v;
    return true;
}

static bool set_prealloc(void *o, QObject *value, GError **errp)
{
    bool v;

    if (!user_object_value_bool(value, "prealloc", &v, errp)) {
        return false;
    }
    if (v && !B(o)->reserve) {
        error_setg(errp, "'prealloc=on' and 'reserve=off' are incompatible");
        return false;
    }
    if (v && !B(o)->prealloc) {     /* off again leaves the pages, as QEMU */
        if (!B(o)->readonly) {
            prealloc_pages_threaded(B(o)->host, B(o)->size,
                                    B(o)->prealloc_threads);
        }
        B(o)->prealloc = true;
    }
    return true;
}

/* discard-data=on is refused at creation, so false is all there is. */
static bool set_discard_data(void *o, QObject *value, GError **errp)
{
    bool v;

    if (!user_object_value_bool(value, "discard-data", &v, errp)) {
        return false;
    }
    if (v) {
        error_setg(errp, "discard-data=on is not supported by kvmpc");
        return false;
    }
    return true;
}

/* QEMU 7.2's refusals, each in its own words. */
static bool set_size(void *o, QObject *value, GError **errp)
{
    error_setg(errp, "cannot change property size of %s ", B(o)->type);
    return false;
}

static bool refuse_bool(QObject *value, const char *name, GError **errp)
{
    bool v;

    if (user_object_value_bool(value, name, &v, errp)) {
        error_setg(errp, "cannot change property value");
    }
    return false;
}

static bool set_share(void *o, QObject *value, GError **errp)
{
    return refuse_bool(value, "share", errp);
}

static bool set_reserve(void *o, QObject *value, GError **errp)
{
    return refuse_bool(value, "reserve", errp);
}

static bool set_hugetlbsize(void *o, QObject *value, GError **errp)
{
    int64_t v;

    if (user_object_value_int(value, "hugetlbsize", &v, errp)) {
        error_setg(errp, "cannot change property value");
    }
    return false;
}

static bool set_mem_path(void *o, QObject *value, GError **errp)
{
    if (!qobject_to(QString, value)) {
        error_setg(errp, "Invalid parameter type for 'mem-path', expected: "
                   "string");
        return false;
    }
    error_setg(errp, "cannot change property 'mem-path' of %s", B(o)->type);
    return false;
}

static bool set_align(void *o, QObject *value, GError **errp)
{
    error_setg(errp, "cannot change property 'align' of %s", B(o)->type);
    return false;
}

static bool refuse_file_bool(void *o, QObject *value, const char *name,
                             GError **errp)
{
    bool v;

    if (user_object_value_bool(value, name, &v, errp)) {
        error_setg(errp, "cannot change property '%s' of %s.", name,
                   B(o)->type);
    }
    return false;
}

static bool set_readonly(void *o, QObject *value, GError **errp)
{
    return refuse_file_bool(o, value, "readonly", errp);
}

static bool set_pmem(void *o, QObject *value, GError **errp)
{
    return refuse_file_bool(o, value, "pmem", errp);
}

/*
 * QEMU 7.2 takes these on a live backend but only records them (they
 * matter when memory is mapped, which is over): kvmpc refuses rather
 * than keep a value that does nothing.
 */
static bool refuse_after_creation(void *o, const char *name, GError **errp)
{
    error_setg(errp, "Property '%s.%s' can not be changed after the backend "
               "is created by kvmpc", B(o)->type, name);
    return false;
}

static bool set_policy(void *o, QObject *value, GError **errp)
{
    return refuse_after_creation(o, "policy", errp);
}

static bool set_host_nodes(void *o, QObject *value, GError **errp)
{
    return refuse_after_creation(o, "host-nodes", errp);
}

static bool set_prealloc_threads(void *o, QObject *value, GError **errp)
{
    return refuse_after_creation(o, "prealloc-threads", errp);
}

static bool set_hugetlb(void *o, QObject *value, GError **errp)
{
    return refuse_after_creation(o, "hugetlb", errp);
}

static bool set_seal(void *o, QObject *value, GError **errp)
{
    return refuse_after_creation(o, "seal", errp);
}

#undef B

/* QEMU 7.2's names, types and order (qom-list-properties). */
#define COMMON_PROPS \
    { "share", "bool", get_share, set_share }, \
    { "size", "int", get_size, set_size }, \
    { "dump", "bool", get_dump, set_dump }, \
    { "prealloc-threads", "int", get_prealloc_threads, \
      set_prealloc_threads }, \
    { "policy", "HostMemPolicy", get_policy, set_policy }, \
    { "prealloc", "bool", get_prealloc, set_prealloc }, \
    { "reserve", "bool", get_reserve, set_reserve }, \
    { "host-nodes", "int", get_host_nodes, set_host_nodes }, \
    { "merge", "bool", get_merge, set_merge }

static const UserObjectProp ram_props[] = { COMMON_PROPS, { NULL } };
static const UserObjectProp file_props[] = {
    COMMON_PROPS,
    { "readonly", "bool", get_readonly, set_readonly },
    { "align", "int", get_align, set_align },
    { "pmem", "bool", get_false, set_pmem },
    { "mem-path", "string", get_mem_path, set_mem_path },
    { "discard-data", "bool", get_false, set_discard_data },
    { NULL }
};
static const UserObjectProp memfd_props[] = {
    COMMON_PROPS,
    { "hugetlb", "bool", get_hugetlb, set_hugetlb },
    { "seal", "bool", get_seal, set_seal },
    { "hugetlbsize", "int", get_hugetlbsize, set_hugetlbsize },
    { NULL }
};

static const UserObjectType hostmem_types[] = {
    { .name = "memory-backend-ram", .parent = "memory-backend",
      .create = ram_create, .destroy = hostmem_destroy,
      .props = ram_props },
    { .name = "memory-backend-file", .parent = "memory-backend",
      .create = file_create, .destroy = hostmem_destroy,
      .props = file_props },
    { .name = "memory-backend-memfd", .parent = "memory-backend",
      .create = memfd_create_obj, .destroy = hostmem_destroy,
      .props = memfd_props },
};

static void __attribute__((constructor)) hostmem_register(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(hostmem_types); i++) {
        user_object_type_register(&hostmem_types[i]);
    }
}

/*
 * Guest NUMA topology: QEMU 7.2's -numa options (include/system/numa.h).
 *
 *   -numa node[,nodeid=N][,cpus=A[-B]]...[,memdev=ID]
 *   -numa dist,src=N,dst=M,val=D
 *   -numa cpu,node-id=N[,socket-id=S][,die-id=D][,core-id=C][,thread-id=T]
 *
 * mem= is refused as QEMU refuses it for machine types 5.1 and newer (the
 * only ones kvmpc has), initiator= and hmat-lb/hmat-cache as QEMU refuses
 * them without -machine hmat=on (which kvmpc does not build).  The checks
 * and their wording follow QEMU's hw/core/numa.c and machine code: node
 * ids below 128 and unique, CPU indexes below maxcpus and on one node
 * each, the memdev backends' sizes summing to -m, every node id up to
 * the largest present, distances at least 10 (10 exactly to itself) and
 * given for every pair in at least one direction (the other is filled in
 * symmetrically).  CPUs given no node go to node 0 with QEMU's warning;
 * if no CPU was given a node, each socket goes to node (socket mod
 * nodes), QEMU's default mapping for x86.
 *
 * Distances are the ACPI SLIT's (ACPI 6.4, 5.2.17): 10 local, 255
 * unreachable.
 */
#include "qemu/osdep.h"
#include "system/numa.h"
#include "qemu/keyval.h"
#include "hw/boards.h"
#include "target/i386/cpu.h"
#include "hw/i386/x86.h"
#include <sys/mman.h>

#define HMAT_DISABLED_MSG \
    "ACPI Heterogeneous Memory Attribute Table (HMAT) is disabled, enable " \
    "it with -machine hmat=on before using any of hmat specific options"

unsigned numa_node_count(const MachineState *ms)
{
    return ms && ms->numa ? ms->numa->num_nodes : 0;
}

int numa_cpu_node(const MachineState *ms, unsigned cpu_index)
{
    if (!numa_node_count(ms) || cpu_index >= ms->numa->nr_cpus) {
        return -1;
    }
    return ms->numa->cpu_node[cpu_index];
}

bool numa_has_memdevs(const MachineState *ms)
{
    return numa_node_count(ms) && ms->numa->nodes[0].memdev;
}

/* ---- option values ------------------------------------------------------ */

static bool get_u64(const KeyValPair *kv, uint64_t *out, GError **errp)
{
    if (!parse_uint(kv->value, out, NULL)) {
        error_setg(errp, "Parameter '%s' expects a uint64 value", kv->key);
        return false;
    }
    return true;
}

/* "N" or "N-M" (N <= M), as QEMU's options visitor takes cpus=. */
static bool get_range(const KeyValPair *kv, uint64_t *lo, uint64_t *hi,
                      GError **errp)
{
    g_auto(GStrv) parts = g_strsplit(kv->value, "-", 3);
    guint n = g_strv_length(parts);

    if ((n != 1 && n != 2) || !parse_uint(parts[0], lo, NULL) ||
        !parse_uint(parts[n - 1], hi, NULL) || *hi < *lo) {
        error_setg(errp, "Parameter '%s' expects a uint64 value or range",
                   kv->key);
        return false;
    }
    return true;
}

static bool unknown_key(const KeyValPair *kv, GError **errp)
{
    error_setg(errp, "Invalid parameter '%s'", kv->key);
    return false;
}

/* ---- -numa node --------------------------------------------------------- */

static bool assign_cpu(NumaState *ns, uint64_t cpu, unsigned node,
                       GError **errp)
{
    if (cpu >= ns->nr_cpus) {
        error_setg(errp, "CPU index (%" PRIu64 ") should be smaller than "
                   "maxcpus (%u)", cpu, ns->nr_cpus);
        return false;
    }
    if (ns->cpu_node[cpu] >= 0 && ns->cpu_node[cpu] != (int)node) {
        error_setg(errp, "CPU is already assigned to node-id: %d",
                   ns->cpu_node[cpu]);
        return false;
    }
    ns->cpu_node[cpu] = node;
    ns->cpu_mapped = true;
    return true;
}

static bool parse_node(NumaState *ns, GPtrArray *kvs, GError **errp)
{
    uint64_t nodeid = ns->num_nodes, lo, hi;
    const char *memdev = NULL;
    bool has_mem = false;
    HostMemoryBackend *b;

    for (guint i = 1; i < kvs->len; i++) {
        const KeyValPair *kv = g_ptr_array_index(kvs, i);
        if (!strcmp(kv->key, "nodeid")) {
            if (!get_u64(kv, &nodeid, errp)) {
                return false;
            }
        } else if (!strcmp(kv->key, "memdev")) {
            memdev = kv->value;
        } else if (!strcmp(kv->key, "mem")) {
            has_mem = true;
        } else if (!strcmp(kv->key, "initiator")) {
            error_setg(errp, HMAT_DISABLED_MSG);
            return false;
        } else if (!strcmp(kv->key, "cpus")) {
            if (!get_range(kv, &lo, &hi, errp)) {
                return false;
            }
        } else {
            return unknown_key(kv, errp);
        }
    }
    if (nodeid >= MAX_NODES) {
        error_setg(errp, "Max number of NUMA nodes reached: %" PRIu64, nodeid);
        return false;
    }
    if (ns->nodes[nodeid].present) {
        error_setg(errp, "Duplicate NUMA nodeid: %" PRIu64, nodeid);
        return false;
    }
    for (guint i = 1; i < kvs->len; i++) {
        const KeyValPair *kv = g_ptr_array_index(kvs, i);
        if (strcmp(kv->key, "cpus")) {
            continue;
        }
        get_range(kv, &lo, &hi, NULL);
        /* stops at maxcpus: the range's length is the user's */
        for (uint64_t c = lo; c <= hi; c++) {
            if (!assign_cpu(ns, c, nodeid, errp)) {
                return false;
            }
        }
    }
    if (has_mem && memdev) {
        error_setg(errp, "numa configuration should use either mem= or "
                   "memdev=,mixing both is not allowed");
        return false;
    }
    if (has_mem) {
        error_setg(errp, "Parameter -numa node,mem is not supported by this "
                   "machine type\nUse -numa node,memdev instead");
        return false;
    }
    if (memdev) {
        b = host_memory_backend_find(memdev);
        if (!b) {
            error_setg(errp, "memdev=%s is ambiguous", memdev);
            return false;
        }
        ns->nodes[nodeid].memdev = b;
        ns->nodes[nodeid].node_mem = b->size;
    }
    ns->nodes[nodeid].present = true;
    ns->num_nodes++;
    return true;
}

/* ---- -numa dist --------------------------------------------------------- */

static bool parse_dist(NumaState *ns, GPtrArray *kvs, GError **errp)
{
    uint64_t v[3];
    bool has[3] = { false, false, false };
    static const char *const keys[3] = { "src", "dst", "val" };

    for (guint i = 1; i < kvs->len; i++) {
        const KeyValPair *kv = g_ptr_array_index(kvs, i);
        unsigned k;

        for (k = 0; k < 3 && strcmp(kv->key, keys[k]); k++) {
        }
        if (k == 3) {
            return unknown_key(kv, errp);
        }
        if (!parse_uint(kv->value, &v[k], NULL) || (k == 2 && v[k] > 255)) {
            error_setg(errp, k == 2 ? "Parameter 'val' expects uint8_t" :
                       "Parameter '%s' expects uint16_t", kv->key);
            return false;
        }
        has[k] = true;
    }
    for (unsigned k = 0; k < 3; k++) {
        if (!has[k]) {
            error_setg(errp, "Parameter '%s' is missing", keys[k]);
            return false;
        }
    }
    if (v[0] >= MAX_NODES || v[1] >= MAX_NODES) {
        error_setg(errp, "Parameter '%s' expects an integer between 0 and %d",
                   v[0] >= MAX_NODES ? "src" : "dst", MAX_NODES - 1);
        return false;
    }
    if (!ns->nodes[v[0]].present || !ns->nodes[v[1]].present) {
        error_setg(errp, "Source/Destination NUMA node is missing. Please "
                   "use '-numa node' option to declare it first.");
        return false;
    }
    if (v[2] < NUMA_DISTANCE_MIN) {
        error_setg(errp, "NUMA distance (%" PRIu64 ") is invalid, it "
                   "shouldn't be less than %d.", v[2], NUMA_DISTANCE_MIN);
        return false;
    }
    if (v[0] == v[1] && v[2] != NUMA_DISTANCE_MIN) {
        error_setg(errp, "Local distance of node %" PRIu64 " should be %d.",
                   v[0], NUMA_DISTANCE_MIN);
        return false;
    }
    ns->nodes[v[0]].distance[v[1]] = v[2];
    ns->have_numa_distance = true;
    return true;
}

/* ---- -numa cpu ---------------------------------------------------------- */

static bool parse_cpu(MachineState *ms, NumaState *ns, GPtrArray *kvs,
                      GError **errp)
{
    static const char *const keys[4] = {
        "socket-id", "die-id", "core-id", "thread-id"
    };
    int64_t want[4] = { -1, -1, -1, -1 };
    uint64_t node = 0, v;
    bool has_node = false, matched = false;
    X86CPUTopoInfo topo;

    for (guint i = 1; i < kvs->len; i++) {
        const KeyValPair *kv = g_ptr_array_index(kvs, i);
        unsigned k;

        if (!strcmp(kv->key, "node-id")) {
            if (!get_u64(kv, &node, errp)) {
                return false;
            }
            has_node = true;
            continue;
        }
        for (k = 0; k < 4 && strcmp(kv->key, keys[k]); k++) {
        }
        if (k == 4) {
            return unknown_key(kv, errp);
        }
        if (!get_u64(kv, &v, errp)) {
            return false;
        }
        want[k] = MIN(v, (uint64_t)INT32_MAX);
    }
    if (!has_node) {
        error_setg(errp, "Missing mandatory node-id property");
        return false;
    }
    if (node >= MAX_NODES || !ns->nodes[node].present) {
        error_setg(errp, "Invalid node-id=%" PRIu64 ", NUMA node must be "
                   "defined with -numa node,nodeid=ID before it's used with "
                   "-numa cpu,node-id=ID", node);
        return false;
    }
    if (want[1] >= 0 && MAX(ms->smp.dies, 1u) == 1) {
        error_setg(errp, "die-id is not supported");
        return false;
    }
    x86_topo_info_from_smp(&ms->smp, &topo);
    for (unsigned c = 0; c < ns->nr_cpus; c++) {
        X86CPUTopoIDs ids;

        x86_topo_ids_from_idx(&topo, c, &ids);
        if ((want[0] >= 0 && want[0] != ids.pkg_id) ||
            (want[1] >= 0 && want[1] != ids.die_id) ||
            (want[2] >= 0 && want[2] != ids.core_id) ||
            (want[3] >= 0 && want[3] != ids.smt_id)) {
            continue;
        }
        if (!assign_cpu(ns, c, node, errp)) {
            return false;
        }
        matched = true;
    }
    if (!matched) {
        error_setg(errp, "no match found");
        return false;
    }
    return true;
}

static bool parse_one(MachineState *ms, NumaState *ns, const char *opt,
                      GError **errp)
{
    g_autoptr(GPtrArray) kvs = keyval_parse_list(opt, "type", errp);
    const KeyValPair *type;

    if (!kvs) {
        return false;
    }
    type = kvs->len ? g_ptr_array_index(kvs, 0) : NULL;
    if (!type || strcmp(type->key, "type")) {
        error_setg(errp, "Parameter 'type' is missing");
        return false;
    }
    if (!strcmp(type->value, "node")) {
        return parse_node(ns, kvs, errp);
    } else if (!strcmp(type->value, "dist")) {
        return parse_dist(ns, kvs, errp);
    } else if (!strcmp(type->value, "cpu")) {
        return parse_cpu(ms, ns, kvs, errp);
    } else if (!strcmp(type->value, "hmat-lb") ||
               !strcmp(type->value, "hmat-cache")) {
        error_setg(errp, HMAT_DISABLED_MSG);
        return false;
    }
    error_setg(errp, "Parameter 'type' does not accept value '%s'",
               type->value);
    return false;
}

/* ---- completion --------------------------------------------------------- */

static bool check_node_ids(NumaState *ns, GError **errp)
{
    int max = -1;

    for (int i = 0; i < MAX_NODES; i++) {
        if (ns->nodes[i].present) {
            max = i;
        }
    }
    /* the largest missing id first, as QEMU reports it */
    for (int i = max; i >= 0; i--) {
        if (!ns->nodes[i].present) {
            error_setg(errp, "numa: Node ID missing: %d", i);
            return false;
        }
    }
    return true;
}

static bool check_memory(MachineState *ms, NumaState *ns, GError **errp)
{
    uint64_t total = 0;

    for (unsigned i = 0; i < ns->num_nodes; i++) {
        total += ns->nodes[i].node_mem;
    }
    if (total != ms->ram_size) {
        error_setg(errp, "total memory for NUMA nodes (0x%" PRIx64 ") should "
                   "equal RAM size (0x%" PRIx64 ")", total, ms->ram_size);
        return false;
    }
    if (ms->memory_backend && ns->nodes[0].memdev) {
        error_setg(errp, "'-machine memory-backend' and '-numa memdev' "
                   "properties are mutually exclusive");
        return false;
    }
    for (unsigned i = 0; i < ns->num_nodes; i++) {
        HostMemoryBackend *b = ns->nodes[i].memdev;

        if (b && b->used) {
            error_setg(errp, "memory backend %s can't be used multiple "
                       "times.", b->id);
            return false;
        }
        if (b) {
            b->used = true;     /* the machine's RAM now */
        }
    }
    return true;
}

/* Every pair needs one direction; the other is its mirror image. */
static bool complete_distances(NumaState *ns, GError **errp)
{
    unsigned n = ns->num_nodes;

    if (!ns->have_numa_distance) {
        return true;
    }
    for (unsigned s = 0; s < n; s++) {
        for (unsigned d = s; d < n; d++) {
            if (s != d && !ns->nodes[s].distance[d] &&
                !ns->nodes[d].distance[s]) {
                error_setg(errp, "The distance between node %u and %u is "
                           "missing, at least one distance value between "
                           "each nodes should be provided.", s, d);
                return false;
            }
        }
    }
    for (unsigned s = 0; s < n; s++) {
        for (unsigned d = 0; d < n; d++) {
            if (s == d) {
                ns->nodes[s].distance[d] = NUMA_DISTANCE_MIN;
            } else if (!ns->nodes[s].distance[d]) {
                ns->nodes[s].distance[d] = ns->nodes[d].distance[s];
            }
        }
    }
    return true;
}

/* CPUs without a node: QEMU's default mapping, or node 0 and a warning. */
static void complete_cpus(MachineState *ms, NumaState *ns)
{
    X86CPUTopoInfo topo;
    bool warned = false;

    x86_topo_info_from_smp(&ms->smp, &topo);
    for (unsigned c = 0; c < ns->nr_cpus; c++) {
        X86CPUTopoIDs ids;

        if (ns->cpu_node[c] >= 0) {
            continue;
        }
        if (!ns->cpu_mapped) {
            x86_topo_ids_from_idx(&topo, c, &ids);
            ns->cpu_node[c] = ids.pkg_id % ns->num_nodes;
            continue;
        }
        if (!warned) {
            error_report("warning: All CPU(s) up to maxcpus should be "
                         "described in NUMA config, ability to start up with "
                         "partial NUMA mappings is obsoleted and will be "
                         "removed in future");
            warned = true;
        }
        ns->cpu_node[c] = 0;
    }
}

bool numa_configure(MachineState *ms, GPtrArray *opts, const char **bad_opt,
                    GError **errp)
{
    NumaState *ns;

    *bad_opt = NULL;
    if (!opts || !opts->len) {
        return true;
    }
    ns = g_new0(NumaState, 1);
    ns->nr_cpus = MAX(ms->smp.max_cpus, 1u);
    ns->cpu_node = g_new(int, ns->nr_cpus);
    for (unsigned c = 0; c < ns->nr_cpus; c++) {
        ns->cpu_node[c] = -1;
    }
    ms->numa = ns;
    for (guint i = 0; i < opts->len; i++) {
        if (!parse_one(ms, ns, g_ptr_array_index(opts, i), errp)) {
            *bad_opt = g_ptr_array_index(opts, i);
            return false;
        }
    }
    if (!ns->num_nodes) {
        return true;
    }
    if (!check_node_ids(ns, errp) || !check_memory(ms, ns, errp) ||
        !complete_distances(ns, errp)) {
        return false;
    }
    complete_cpus(ms, ns);
    return true;
}

/* ---- guest RAM from the nodes' backends --------------------------------- */

/*
 * One contiguous host range, so the rest of kvmpc (PAM, migration, dump,
 * virtio's guest-RAM lookup) keeps seeing guest RAM as one block: reserve
 * the range, then move each node's backend mapping into its place with
 * mremap().  The mapping keeps its pages, its advice and its mbind()
 * policy (they belong to the mapping), so a bound backend stays bound.
 */
void *numa_map_ram(MachineState *ms, GError **errp)
{
    NumaState *ns = ms->numa;
    uint64_t align = ms->ram_size >= GiB ? GiB : 2 * MiB, off = 0;
    uint8_t *res, *base;

    res = mmap(NULL, ms->ram_size + align, PROT_NONE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (res == MAP_FAILED) {
        error_setg(errp, "cannot set up guest memory: %s", g_strerror(errno));
        return NULL;
    }
    base = (uint8_t *)ALIGN_UP((uintptr_t)res, align);
    if (base > res) {
        munmap(res, base - res);
    }
    munmap(base + ms->ram_size, res + align - base);
    for (unsigned i = 0; i < ns->num_nodes; i++) {
        HostMemoryBackend *b = ns->nodes[i].memdev;
        void *p = mremap(b->host, b->size, b->size,
                         MREMAP_MAYMOVE | MREMAP_FIXED, base + off);

        if (p == MAP_FAILED) {
            error_setg(errp, "cannot place memory backend '%s' of NUMA node "
                       "%u in guest RAM: %s", b->id, i, g_strerror(errno));
            return NULL;
        }
        b->host = p;
        off += b->size;
    }
    return base;
}

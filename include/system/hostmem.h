/*
 * Host memory backends: -object memory-backend-ram|file|memfd,id=ID,
 * size=SIZE[,share=on|off][,prealloc=on|off][,merge=on|off][,dump=on|off]
 * [,mem-path=PATH][,discard-data=on|off][,align=N][,readonly=on|off]
 * [,hugetlb=on|off][,hugetlbsize=N][,seal=on|off][,reserve=on|off]
 * [,host-nodes=N[-M]|host-nodes.0=N,...][,policy=default|preferred|bind|
 * interleave]
 * and -machine memory-backend=ID, which makes the machine's RAM the
 * backend's memory (what libvirt always asks for).  docs/options.md.
 */
#ifndef SYSTEM_HOSTMEM_H
#define SYSTEM_HOSTMEM_H
#include "qemu/osdep.h"

/* policy=, the MPOL_* mode mbind() takes (same order as QEMU's
 * HostMemPolicy enum). */
typedef enum HostMemPolicyMode {
    HOST_MEM_MODE_DEFAULT,
    HOST_MEM_MODE_PREFERRED,
    HOST_MEM_MODE_BIND,
    HOST_MEM_MODE_INTERLEAVE,
} HostMemPolicyMode;

#define HOST_MEM_MAX_NODES 128  /* host-nodes values are below this */
#define HOST_MEM_NODE_BITS (8 * sizeof(unsigned long))

/* host-nodes bitmaps: bit @node of @map */
static inline bool host_mem_node_test(const unsigned long *map,
                                      unsigned node)
{
    return map[node / HOST_MEM_NODE_BITS] &
           (1UL << (node % HOST_MEM_NODE_BITS));
}

static inline void host_mem_node_set(unsigned long *map, unsigned node)
{
    map[node / HOST_MEM_NODE_BITS] |= 1UL << (node % HOST_MEM_NODE_BITS);
}

typedef struct HostMemoryBackend {
    char *id;
    const char *type;       /* "memory-backend-ram", ... */
    uint64_t size;
    void *host;             /* the mapping (size bytes) */
    bool share, merge, dump, prealloc, reserve;
    uint64_t prealloc_threads;  /* as given (kvmpc preallocates in one) */
    /* memory-backend-file */
    char *mem_path;
    uint64_t align;
    bool readonly;
    /* memory-backend-memfd */
    bool hugetlb, seal;
    uint64_t hugetlbsize;
    bool used;              /* claimed by a machine (only one may) */
    HostMemPolicyMode policy;
    /* host-nodes=, a bit per host node (HOST_MEM_MAX_NODES bits) */
    unsigned long host_nodes[HOST_MEM_MAX_NODES / HOST_MEM_NODE_BITS];
} HostMemoryBackend;

HostMemoryBackend *host_memory_backend_find(const char *id);
/* A share=on memory-backend-file: memory another process can map too
 * (anonymous and memfd memory cannot be reached by path). */
bool host_memory_backend_file_shared(const HostMemoryBackend *b);
/* Every backend, in creation order (query-memdev). */
void host_memory_backend_foreach(void (*fn)(HostMemoryBackend *b,
                                            void *opaque), void *opaque);

#endif

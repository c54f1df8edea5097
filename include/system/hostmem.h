/*
 * Host memory backends: -object memory-backend-ram|file|memfd,id=ID,
 * size=SIZE[,share=on|off][,prealloc=on|off][,merge=on|off][,dump=on|off]
 * [,mem-path=PATH][,discard-data=on|off][,align=N][,readonly=on|off]
 * [,hugetlb=on|off][,hugetlbsize=N][,seal=on|off][,reserve=on|off]
 * and -machine memory-backend=ID, which makes the machine's RAM the
 * backend's memory (what libvirt always asks for).  docs/options.md.
 */
#ifndef SYSTEM_HOSTMEM_H
#define SYSTEM_HOSTMEM_H
#include "qemu/osdep.h"

typedef struct HostMemoryBackend {
    char *id;
    const char *type;       /* "memory-backend-ram", ... */
    uint64_t size;
    void *host;             /* the mapping (size bytes) */
    bool share, merge, dump, prealloc, reserve;
    bool used;              /* claimed by a machine (only one may) */
} HostMemoryBackend;

HostMemoryBackend *host_memory_backend_find(const char *id);
/* Every backend, in creation order (query-memdev). */
void host_memory_backend_foreach(void (*fn)(HostMemoryBackend *b,
                                            void *opaque), void *opaque);

#endif

/*
 * Guest NUMA topology (hw/core/numa.c): -numa node|dist|cpu as QEMU 7.2
 * parses and checks them, the node of every possible CPU, each node's
 * memory backend, and the distance matrix.  The machine lays the nodes'
 * backends out as guest RAM in node order; the SRAT/SLIT, the fw_cfg NUMA
 * entry, pc-dimm node= and the query commands read this state.
 * docs/options.md (-numa).
 */
#ifndef SYSTEM_NUMA_H
#define SYSTEM_NUMA_H
#include "qemu/osdep.h"
#include "system/hostmem.h"

#define MAX_NODES               128     /* QEMU's limit */
#define NUMA_DISTANCE_MIN       10      /* ACPI SLIT: a node to itself */
#define NUMA_DISTANCE_DEFAULT   20

typedef struct MachineState MachineState;

typedef struct NumaNode {
    bool present;
    HostMemoryBackend *memdev;  /* memdev= (the node's RAM) */
    uint64_t node_mem;          /* bytes of boot RAM on the node */
    uint8_t distance[MAX_NODES];    /* 0 = not given (yet) */
} NumaNode;

typedef struct NumaState {
    unsigned num_nodes;         /* nodes 0 .. num_nodes-1, all present */
    bool have_numa_distance;    /* -numa dist given: the SLIT is built */
    bool cpu_mapped;            /* some CPU given a node with cpus= / cpu */
    NumaNode nodes[MAX_NODES];
    unsigned nr_cpus;           /* possible CPUs (-smp maxcpus) */
    int *cpu_node;              /* node of each possible CPU; -1 unset */
} NumaState;

/*
 * Parse every -numa option string (in command-line order) against the
 * machine's -smp and -object backends, then run QEMU's completion checks
 * (node ids without gaps, memdev sizes summing to -m, distances, CPUs
 * without a node).  On failure *@bad_opt is the option at fault (NULL
 * for a whole-configuration error).  No -numa: nothing to do.
 */
bool numa_configure(MachineState *ms, GPtrArray *opts, const char **bad_opt,
                    GError **errp);
/* Number of guest NUMA nodes (0: no -numa). */
unsigned numa_node_count(const MachineState *ms);
/* Node of possible CPU @cpu_index, or -1 without NUMA. */
int numa_cpu_node(const MachineState *ms, unsigned cpu_index);
/* Whether the nodes' memdev backends make up the guest RAM. */
bool numa_has_memdevs(const MachineState *ms);
/* Map the nodes' backends, in node order, as one contiguous guest-RAM
 * block of ms->ram_size bytes; returns its host address. */
void *numa_map_ram(MachineState *ms, GError **errp);

#endif

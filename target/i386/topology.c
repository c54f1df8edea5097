/*
 * x86 CPU topology and APIC IDs.
 *
 * Intel SDM vol. 3A, 10.4.8 "Hierarchical Mapping of Shared Resources":
 * the initial APIC ID is a bit string [pkg | die | core | smt]; each field
 * is wide enough for its level's count rounded up to a power of two.  We
 * number CPUs exactly as QEMU does, so guests (and their migration peers)
 * see the same APIC IDs for the same -smp.
 */
#include "qemu/osdep.h"
#include "target/i386/cpu.h"

unsigned apicid_bitwidth_for_count(unsigned count)
{
    unsigned width = 0;

    if (count <= 1) {
        return 0;
    }
    count -= 1;
    while (count) {
        width++;
        count >>= 1;
    }
    return width;
}

unsigned apicid_smt_width(const X86CPUTopoInfo *t)
{
    return apicid_bitwidth_for_count(t->threads_per_core);
}

unsigned apicid_core_width(const X86CPUTopoInfo *t)
{
    return apicid_bitwidth_for_count(t->cores_per_die);
}

unsigned apicid_die_width(const X86CPUTopoInfo *t)
{
    return apicid_bitwidth_for_count(t->dies_per_pkg);
}

unsigned apicid_core_offset(const X86CPUTopoInfo *t)
{
    return apicid_smt_width(t);
}

unsigned apicid_die_offset(const X86CPUTopoInfo *t)
{
    return apicid_core_offset(t) + apicid_core_width(t);
}

unsigned apicid_pkg_offset(const X86CPUTopoInfo *t)
{
    return apicid_die_offset(t) + apicid_die_width(t);
}

static unsigned at_least_one(unsigned n)
{
    return n ? n : 1;
}

void x86_topo_info_from_smp(const SmpConfig *smp, X86CPUTopoInfo *t)
{
    t->dies_per_pkg = at_least_one(smp->dies);
    t->cores_per_die = at_least_one(smp->cores);
    t->threads_per_core = at_least_one(smp->threads);
    t->max_cpus = smp->max_cpus;
}

void x86_topo_ids_from_idx(const X86CPUTopoInfo *t, unsigned cpu_index,
                           X86CPUTopoIDs *ids)
{
    unsigned threads = at_least_one(t->threads_per_core);
    unsigned cores = at_least_one(t->cores_per_die);
    unsigned dies = at_least_one(t->dies_per_pkg);

    ids->smt_id = cpu_index % threads;
    ids->core_id = cpu_index / threads % cores;
    ids->die_id = cpu_index / (threads * cores) % dies;
    ids->pkg_id = cpu_index / (threads * cores * dies);
}

uint32_t x86_apicid_from_topo_ids(const X86CPUTopoInfo *t,
                                  const X86CPUTopoIDs *ids)
{
    return (ids->pkg_id << apicid_pkg_offset(t)) |
           (ids->die_id << apicid_die_offset(t)) |
           (ids->core_id << apicid_core_offset(t)) |
           ids->smt_id;
}

uint32_t x86_apicid_from_cpu_idx(const X86CPUTopoInfo *t, unsigned cpu_index)
{
    X86CPUTopoIDs ids;

    x86_topo_ids_from_idx(t, cpu_index, &ids);
    return x86_apicid_from_topo_ids(t, &ids);
}

static unsigned field(uint32_t v, unsigned offset, unsigned width)
{
    return (v >> offset) & ((1u << width) - 1);
}

void x86_topo_ids_from_apicid(const X86CPUTopoInfo *t, uint32_t apic_id,
                              X86CPUTopoIDs *ids)
{
    ids->smt_id = field(apic_id, 0, apicid_smt_width(t));
    ids->core_id = field(apic_id, apicid_core_offset(t), apicid_core_width(t));
    ids->die_id = field(apic_id, apicid_die_offset(t), apicid_die_width(t));
    ids->pkg_id = apic_id >> apicid_pkg_offset(t);
}

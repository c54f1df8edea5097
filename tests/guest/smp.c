/*
 * smp: application processor start-up and topology.  Run with -smp N and
 * -append cpus=N (kvmpc's direct boot may provide no MP table or ACPI, so
 * the count comes from the command line).
 *
 *   - the BSP starts every AP with INIT-SIPI-SIPI (broadcast); each AP
 *     enters long mode through a real-mode trampoline below 1 MiB and
 *     records its LAPIC ID, its CPUID leaf 1 initial APIC ID and its leaf
 *     0xb x2APIC ID and topology levels, at CPL 3 on its own stacks
 *   - all N CPUs came up, with distinct APIC IDs that agree across the
 *     three sources, and a topology consistent across CPUs
 *   - fixed IPIs reach each AP (physical destination) and the
 *     all-excluding-self shorthand reaches all of them
 */
#include "guest.h"

#define VEC_IPI 0x50
#define VEC_IPI_ALL 0x51

struct cpu_rec {
    bool present;
    uint32_t lapic_id;
    uint32_t initial_apic_id;           /* CPUID.1:EBX[31:24] */
    uint32_t logical_count;             /* CPUID.1:EBX[23:16] */
    bool has_0b;
    uint32_t x2apic_id;                 /* CPUID.0xB:EDX */
    uint32_t level_type[2], level_shift[2], level_count[2];
};

static struct cpu_rec rec[MAX_CPUS];
static volatile uint32_t ipi_count[256], ipi_all_count[256];

static void h_ipi(int vec)
{
    unsigned id = lapic_id();
    if (vec == VEC_IPI)
        ipi_count[id & 0xff]++;
    else
        ipi_all_count[id & 0xff]++;
    lapic_eoi();
}

static void record(int cpu)
{
    struct cpu_rec *r = &rec[cpu];
    struct cpuid c1 = cpuid(1, 0);
    r->lapic_id = lapic_id();
    r->initial_apic_id = c1.b >> 24;
    r->logical_count = (c1.b >> 16) & 0xff;
    if (cpuid(0, 0).a >= 0xb && cpuid(0xb, 0).b != 0) {
        r->has_0b = true;
        for (unsigned l = 0; l < 2; l++) {
            struct cpuid c = cpuid(0xb, l);
            r->level_type[l] = (c.c >> 8) & 0xff;
            r->level_shift[l] = c.a & 0x1f;
            r->level_count[l] = c.b & 0xffff;
            if (l == 0)
                r->x2apic_id = c.d;
        }
    }
    lapic_enable();
    barrier();
    r->present = true;
}

static void ap_main(int cpu)
{
    if (cpu < MAX_CPUS)
        record(cpu);
}

int main(void)
{
    report_prefix("smp");
    long ncpus = cmdline_get_int("cpus", 0);
    if (ncpus < 1 || ncpus > MAX_CPUS) {
        report(false, "command line gives the CPU count (cpus=N, 1..%d): got %ld", MAX_CPUS, ncpus);
        report_summary();
    }

    irq_set_handler(VEC_IPI, h_ipi);
    irq_set_handler(VEC_IPI_ALL, h_ipi);
    record(0);
    report_info("BSP: LAPIC ID %u, LAPIC version 0x%x", rec[0].lapic_id, lapic_read(LAPIC_VERSION));
    report(rec[0].lapic_id == rec[0].initial_apic_id,
           "BSP LAPIC ID %u matches CPUID.1 initial APIC ID %u", rec[0].lapic_id, rec[0].initial_apic_id);

    uint64_t t0 = rdtsc();
    int started = smp_start_aps(ap_main, (int)ncpus - 1, 10000000);
    report(started == ncpus - 1, "%ld APs started (%d called in, %lu us)", ncpus - 1, started,
           (unsigned long)tsc_to_us(rdtsc() - t0));

    int present = 0;
    for (int i = 0; i < MAX_CPUS; i++)
        present += rec[i].present;
    report(present == ncpus, "%d CPUs recorded their IDs (want %ld)", present, ncpus);

    bool distinct = true, agree = true;
    for (int i = 0; i < MAX_CPUS; i++) {
        if (!rec[i].present)
            continue;
        printf("  cpu %d: LAPIC ID %u, initial APIC ID %u, x2APIC ID %u, leaf 0xb levels "
               "(type %u shift %u count %u) (type %u shift %u count %u)\n",
               i, rec[i].lapic_id, rec[i].initial_apic_id, rec[i].x2apic_id,
               rec[i].level_type[0], rec[i].level_shift[0], rec[i].level_count[0],
               rec[i].level_type[1], rec[i].level_shift[1], rec[i].level_count[1]);
        for (int j = 0; j < i; j++)
            if (rec[j].present && rec[j].lapic_id == rec[i].lapic_id)
                distinct = false;
        if (rec[i].lapic_id != rec[i].initial_apic_id ||
            (rec[i].has_0b && rec[i].x2apic_id != rec[i].lapic_id))
            agree = false;
    }
    report(distinct, "APIC IDs are distinct");
    report(agree, "LAPIC ID, CPUID.1 initial APIC ID and CPUID.0xB x2APIC ID agree on every CPU");

    /* Topology: the same on every CPU, and consistent with the IDs. */
    if (rec[0].has_0b) {
        bool same = true, sane = true;
        for (int i = 1; i < MAX_CPUS; i++) {
            if (!rec[i].present)
                continue;
            if (!rec[i].has_0b || rec[i].level_shift[0] != rec[0].level_shift[0] ||
                rec[i].level_shift[1] != rec[0].level_shift[1] ||
                rec[i].level_count[1] != rec[0].level_count[1] ||
                rec[i].level_type[0] != rec[0].level_type[0] || rec[i].level_type[1] != rec[0].level_type[1])
                same = false;
        }
        uint32_t pkg_shift = rec[0].level_shift[1], per_pkg = rec[0].level_count[1];
        if (rec[0].level_type[0] != 1 || rec[0].level_type[1] != 2 ||
            rec[0].level_shift[1] < rec[0].level_shift[0] || per_pkg == 0 ||
            per_pkg > (1u << pkg_shift))
            sane = false;
        for (int i = 0; i < MAX_CPUS; i++) {
            if (!rec[i].present)
                continue;
            uint32_t in_pkg = 0;
            for (int j = 0; j < MAX_CPUS; j++)
                if (rec[j].present && (rec[j].lapic_id >> pkg_shift) == (rec[i].lapic_id >> pkg_shift))
                    in_pkg++;
            if (in_pkg > per_pkg)
                sane = false;
        }
        report(same, "CPUID.0xB topology levels identical on every CPU");
        report(sane, "CPUID.0xB levels are SMT then core, shifts grow, %u CPUs per package fit the IDs",
               per_pkg);
    } else {
        report_skip("CPUID leaf 0xb not available");
    }
    if (cpuid(1, 0).d & (1u << 28)) {               /* HTT: leaf 1 count is meaningful */
        uint32_t in_pkg0 = 0;
        uint32_t shift = rec[0].has_0b ? rec[0].level_shift[1] : 0;
        for (int j = 0; j < MAX_CPUS; j++)
            if (rec[j].present && (rec[j].lapic_id >> shift) == (rec[0].lapic_id >> shift))
                in_pkg0++;
        report(rec[0].logical_count >= in_pkg0,
               "CPUID.1 EBX[23:16] (%u) covers the %u CPUs in the BSP's package", rec[0].logical_count, in_pkg0);
    }

    /* IPIs: one fixed IPI to each AP, then one broadcast. */
    for (int i = 1; i < MAX_CPUS; i++)
        if (rec[i].present)
            lapic_send_ipi(rec[i].lapic_id, VEC_IPI);   /* fixed, physical, no shorthand */
    bool ipi_ok = true;
    for (int i = 1; i < MAX_CPUS; i++)
        if (rec[i].present && !wait_until(ipi_count[rec[i].lapic_id & 0xff] == 1, 2000000))
            ipi_ok = false;
    report(ipi_ok && started > 0, "fixed IPI delivered to each AP by APIC ID");

    lapic_write(LAPIC_ICR_HI, 0);
    lapic_write(LAPIC_ICR_LO, (3u << 18) | VEC_IPI_ALL);    /* all excluding self */
    bool all_ok = true;
    for (int i = 1; i < MAX_CPUS; i++)
        if (rec[i].present && !wait_until(ipi_all_count[rec[i].lapic_id & 0xff] == 1, 2000000))
            all_ok = false;
    udelay(1000);
    report(all_ok && started > 0 && ipi_all_count[rec[0].lapic_id & 0xff] == 0,
           "all-excluding-self IPI reached every AP and not the BSP");

    report_summary();
}

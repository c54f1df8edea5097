/*
 * Local APICs in userspace (hw/intc/apic.c), used when KVM's in-kernel
 * LAPIC is absent (kernel_irqchip=off, -accel qtest), and the APIC bus
 * that the I/O APIC, MSIs and IPIs travel on.
 *
 * The CPU side of the interrupt pins (what a vCPU takes: INTR with the
 * vector from an acknowledge cycle, NMI, SMI, INIT, SIPI) is here too,
 * so the accelerator needs only x86_cpu_* below: KVM injects with
 * KVM_INTERRUPT / KVM_NMI, the qtest accelerator shows the pins to the
 * test.
 */
#ifndef HW_INTC_APIC_H
#define HW_INTC_APIC_H
#include "hw/qdev.h"

#define TYPE_APIC               "apic"
#define APIC_MAX_CPUS           255
#define APIC_DEFAULT_ADDRESS    0xfee00000ULL
#define APIC_MSI_WINDOW_SIZE    0x100000ULL

/* IA32_APIC_BASE (MSR 0x1b) bits. */
#define MSR_IA32_APICBASE       0x1b
#define APICBASE_BSP            (1ULL << 8)
#define APICBASE_EXTD           (1ULL << 10)
#define APICBASE_ENABLE         (1ULL << 11)
#define MSR_IA32_TSC_DEADLINE   0x6e0
#define MSR_X2APIC_FIRST        0x800
#define MSR_X2APIC_LAST         0x8ff

/* CPU events other than INTR, as x86_cpu_take_events() returns them. */
#define X86_EVENT_NMI           0x1
#define X86_EVENT_SMI           0x2
#define X86_EVENT_INIT          0x4
#define X86_EVENT_SIPI          0x8

/*
 * The machine's LAPICs: create @ncpus "apic" devices with the given APIC
 * IDs (CPU 0 is the BSP), map the APIC/MSI window at 0xfee00000 and wire
 * the PIC's INT output (@pic, may be NULL) to every LINT0.
 */
bool apic_bus_init(unsigned ncpus, const uint32_t *apic_ids,
                   DeviceState *pic, GError **errp);
/*
 * kernel_irqchip=split: no userspace LAPICs, but the PIC's INT is CPU 0's
 * external interrupt, which kvmpc injects (x86_cpu_* below see it).
 */
void apic_bus_init_pic_only(DeviceState *pic);
/* Userspace LAPICs exist (the APIC bus is ours). */
bool apic_bus_active(void);
unsigned apic_cpu_count(void);

/*
 * Deliver an MSI-format message (Intel SDM vol. 3, 11.11: address
 * 0xfeeXXXXX with the destination, data with vector, delivery and
 * trigger mode) to the local APICs: userspace ones, or KVM's.
 */
void apic_msi_send(uint64_t addr, uint32_t data);

/*
 * The vCPU whose LAPIC the xAPIC MMIO page means on this thread (a vCPU
 * thread sets its own index; elsewhere, qtest included, it is CPU 0).
 */
void apic_set_current_cpu(int cpu);

/*
 * x2APIC and related MSRs (IA32_APIC_BASE, IA32_TSC_DEADLINE, 0x800-
 * 0x8ff) of CPU @cpu, for MSR exits.  False: the access faults (#GP).
 */
bool apic_msr_read(unsigned cpu, uint32_t msr, uint64_t *val);
bool apic_msr_write(unsigned cpu, uint32_t msr, uint64_t val);
/* TPR as CR8 sees it (bits 7:4 of the TPR register). */
uint8_t apic_get_cr8(unsigned cpu);
void apic_set_cr8(unsigned cpu, uint8_t cr8);

/* ---- the CPU side ---- */

/* INTR is asserted to CPU @cpu (a vector would come from INTA). */
bool x86_cpu_intr_pending(unsigned cpu);
/*
 * The interrupt acknowledge cycle: the vector CPU @cpu takes now (from
 * its LAPIC, or from the PIC through LINT0/ExtINT), or -1.
 */
int x86_cpu_ack_interrupt(unsigned cpu);
/* X86_EVENT_* received since the last call (cleared); @sipi_vector: the
 * last SIPI's vector. */
unsigned x86_cpu_take_events(unsigned cpu, uint8_t *sipi_vector);
/*
 * The accelerator's doorbell: the pins of CPU @cpu may have changed (a
 * KVM vCPU thread is kicked out of KVM_RUN; qtest reports the INTR line).
 * Called with the big lock held.
 */
extern void (*x86_cpu_notify_hook)(unsigned cpu);
/* TSC rate and value the TSC-deadline timer compares with (defaults: a
 * 1 GHz TSC that is the virtual clock in ns). */
extern uint64_t (*apic_tsc_read_hook)(unsigned cpu);
extern uint32_t apic_tsc_khz;

#endif

/*
 * The KVM accelerator: what the rest of kvmpc may ask of it beyond the
 * AccelOps hooks (system/accel.h).  Linux Documentation/virt/kvm/api.rst
 * is the reference for every ioctl used behind these functions.
 *
 * Unless noted, call with the big lock held.
 */
#ifndef ACCEL_KVM_H
#define ACCEL_KVM_H
#include "qemu/osdep.h"

/* Placed where QEMU puts them; the e820 table reserves these 4 pages. */
#define KVM_IDENTITY_MAP_ADDR   0xfeffc000ULL
#define KVM_TSS_ADDR            0xfeffd000ULL
#define KVM_RESERVED_AREA_SIZE  0x4000ULL

/* /dev/kvm exists and can be opened read-write (query-kvm "present"). */
bool kvm_available(void);
/* The VM was created: KVM is the running accelerator (query-kvm "enabled"). */
bool kvm_enabled(void);

/* The VM file descriptor, for device code that talks to in-kernel devices
 * (PIT state, clock); -1 before init. */
int kvm_vm_fd(void);
/* ioctl on the VM fd; returns the ioctl's result or -errno. */
int kvm_vm_ioctl(unsigned long request, void *arg);
/* KVM_CHECK_EXTENSION on the VM (falls back to /dev/kvm); 0 if absent. */
int kvm_check_extension(unsigned cap);

/* ---- statistics (accel/kvm/kvm-stats.c: KVM_GET_STATS_FD) ---- */

/* One statistic: its descriptor's fields, the KVM_STATS_* values of
 * <linux/kvm.h> (type, unit, base: the masked flags), and @size u64s of
 * value (NULL when only the schema was asked for). */
typedef struct KvmStat {
    const char *name;
    uint32_t type, unit, base;
    int16_t exponent;
    uint16_t size;
    uint32_t bucket_size;
    const uint64_t *values;
} KvmStat;
typedef void KvmStatFn(const KvmStat *st, void *opaque);

/* The VM's statistics to @fn in KVM's order (nothing without KVM or its
 * binary statistics); with @values their current values. */
bool kvm_stats_vm(bool values, KvmStatFn *fn, void *opaque, GError **errp);
/* vCPU @idx's (false: no such vCPU); any thread with the big lock. */
bool kvm_stats_vcpu(unsigned idx, bool values, KvmStatFn *fn, void *opaque,
                    GError **errp);

/* KVM_GET_SUPPORTED_CPUID's table, NULL without a VM. */
struct kvm_cpuid2;
const struct kvm_cpuid2 *kvm_get_supported_cpuid(void);

/* KVM_GET_MSR_INDEX_LIST names MSR @index. */
bool kvm_has_msr(uint32_t index);

/* ---- interrupts ---- */

/*
 * MSI routes and irqfds exist (the LAPICs are KVM's: kernel_irqchip=on or
 * split); with kernel_irqchip=off interrupts go through kvmpc's LAPICs.
 */
bool kvm_irqfds_enabled(void);

/* Drive GSI @gsi (KVM_IRQ_LINE).  Any thread. */
void kvm_set_irq(int gsi, int level);

/*
 * MSI routes: each gets a GSI ("virq") above the 24 IOAPIC pins that
 * irqfds and kvm_set_irq can then trigger.  Changes take effect at
 * kvm_irqchip_commit_routes().
 */
int kvm_irqchip_add_msi_route(uint64_t addr, uint32_t data, GError **errp);
bool kvm_irqchip_update_msi_route(int virq, uint64_t addr, uint32_t data,
                                  GError **errp);
void kvm_irqchip_release_virq(int virq);
bool kvm_irqchip_commit_routes(GError **errp);
/* Deliver one MSI now without a route (KVM_SIGNAL_MSI); <0: -errno. */
int kvm_irqchip_send_msi(uint64_t addr, uint32_t data);

/*
 * Put the in-kernel 8259 pair in the state an ICW1-ICW4 initialisation
 * leaves (edge mode, cascade on master IRQ 2, 8086 mode, normal EOI) with
 * vector bases @master_base / @slave_base, the interrupt mask @imr and
 * the PIIX edge/level control @elcr (bits 0-7 master, 8-15 slave), and
 * nothing pending or in service: what PC firmware leaves for the OS.
 */
bool kvm_pic_set_initialized(uint8_t master_base, uint8_t slave_base,
                             uint16_t imr, uint16_t elcr, GError **errp);

/* ---- eventfds ---- */

/*
 * A guest write of @size bytes (1, 2, 4, 8; 0 = any size for MMIO) to
 * @port/@addr signals @fd instead of exiting, optionally only when the
 * value equals @data.  @assign false removes the same registration.
 */
bool kvm_set_ioeventfd_pio(int fd, uint16_t port, unsigned size,
                           bool datamatch, uint64_t data, bool assign,
                           GError **errp);
bool kvm_set_ioeventfd_mmio(int fd, uint64_t addr, unsigned size,
                            bool datamatch, uint64_t data, bool assign,
                            GError **errp);
/* Writing @fd raises GSI @gsi; with @resamplefd >= 0 the line is level
 * triggered and @resamplefd is signalled at EOI. */
bool kvm_irqfd_assign(int fd, int gsi, int resamplefd, GError **errp);
bool kvm_irqfd_deassign(int fd, int gsi, GError **errp);

/* ---- vCPUs ---- */

typedef struct KvmVcpuInfo {
    unsigned cpu_index;
    uint32_t apic_id;
    int thread_id;          /* host TID of the vCPU thread */
    unsigned socket_id, die_id, core_id, thread_id_in_core;
} KvmVcpuInfo;

unsigned kvm_vcpu_count(void);
bool kvm_vcpu_info(unsigned idx, KvmVcpuInfo *out);
/*
 * "info registers" text for vCPU @idx (g_free it), or NULL if there is no
 * such vCPU.  Pauses the vCPUs around the read if they are running.
 */
char *kvm_vcpu_dump_registers(unsigned idx);
/*
 * The vCPU whose exit the calling thread is handling (a device's I/O
 * callback on a vCPU thread), or NULL on any other thread (the main loop,
 * qtest).  For the few devices whose protocol reads and writes the
 * vCPU's registers (the VMware backdoor port); its state is only valid
 * until the callback returns.
 */
struct X86KvmVcpu;
struct X86KvmVcpu *kvm_current_x86_vcpu(void);
/* QMP inject-nmi: an NMI on every vCPU. */
bool kvm_inject_nmi_all(GError **errp);

/* The signal that kicks a vCPU thread out of KVM_RUN (SIGRTMIN + 4). */
int kvm_kick_signal(void);

/* HPET legacy replacement on/off: stop/restart the in-kernel PIT's IRQ0. */
void kvm_pit_set_hpet_legacy(bool enable);

/*
 * Port 0x61 beside the in-kernel PIT.  Normally the kernel answers it (a
 * dummy speaker); with -machine pcspk-audiodev= the PIT is made without
 * one, so the port exits to kvmpc and hw/audio/pcspk.c serves it from
 * channel 2's state (docs/audio.md).
 */
bool kvm_pit_speaker_port(void);
typedef struct KvmPitChannel2 {
    bool gate;
    bool running;           /* programmed since reset */
    uint8_t mode;           /* 0-5 */
    uint32_t count;         /* 1-65536 */
    uint64_t ticks;         /* PIT clocks since the count was loaded */
} KvmPitChannel2;
bool kvm_pit_get_channel2(KvmPitChannel2 *c);
void kvm_pit_set_channel2_gate(bool gate);

#endif

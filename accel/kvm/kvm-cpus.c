/*
 * vCPU threads and the KVM_RUN loop (Linux Documentation/virt/kvm/api.rst:
 * KVM_CREATE_VCPU, KVM_RUN, struct kvm_run, KVM_CAP_IMMEDIATE_EXIT).
 *
 * One thread per vCPU.  Each loops: wait until the VM runs, KVM_RUN, carry
 * out the exit (PIO/MMIO through the memory map with the big lock held).
 *
 * Stopping ("kicking"): the pausing thread sets the run flag false and, for
 * each vCPU not yet parked, sets kvm_run->immediate_exit and sends the kick
 * signal.  A vCPU about to enter KVM_RUN clears immediate_exit under the
 * same lock that guards the flag, so either it sees the flag, or KVM_RUN
 * sees immediate_exit (returns at once), or the signal interrupts KVM_RUN.
 * The signal handler only sets immediate_exit again (async-signal safe).
 *
 * kernel_irqchip=off (kvmpc's LAPICs, hw/intc/apic.c): before each
 * KVM_RUN the vCPU takes its pending events (NMI with KVM_NMI, INIT, SIPI)
 * and, when INTR is asserted, injects the acknowledged vector with
 * KVM_INTERRUPT if the guest can take it now (ready_for_interrupt_
 * injection and IF) or asks for an interrupt-window exit; HLT and
 * wait-for-SIPI wait in userspace for the LAPIC's doorbell
 * (x86_cpu_notify_hook); APIC MSRs arrive as MSR exits (docs/cpu.md).
 *
 * Lock order: BQL before vcpus_lock.  vCPU threads take the BQL only with
 * vcpus_lock released; the pausing thread releases the BQL while it waits,
 * so a vCPU blocked on the BQL in an exit handler can finish and park.
 */
#include "qemu/osdep.h"
#include "system/accel.h"
#include "system/main-loop.h"
#include "system/memory.h"
#include "system/runstate.h"
#include "system/exit-tail.h"
#include "accel/kvm.h"
#include "target/i386/cpu.h"
#include "target/i386/kvm-cpu.h"
#include "hw/i386/x86.h"
#include "hw/i386/x86-cpu-hotplug.h"
#include "hw/intc/apic.h"
#include "hw/intc/ioapic.h"
#include "system/cpu-throttle.h"
#include "kvm-internal.h"
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

typedef struct KvmVcpu {
    X86KvmVcpu x86;
    struct kvm_run *run;
    pthread_t thread;
    bool thread_started;
    int tid;
    int64_t throttle_last_ns;       /* auto-converge (cpu-throttle.h) */
    X86CPUTopoIDs ids;
    int stats_fd;           /* KVM_GET_STATS_FD's file, -1: none */
    bool present;           /* a boot CPU, or plugged (hotplug slots) */
    bool exit_pending;      /* an exit was handled; KVM_RUN completes it */
    uint8_t cr8_entered;    /* kernel_irqchip=off: the CR8 KVM_RUN got */
    /* guarded by vcpus_lock */
    bool quit;              /* unplugged: the thread ends */
    bool parked;            /* outside KVM_RUN and waiting */
    bool stopped_by_guest;  /* triple fault / internal error: until reset */
    /* kernel_irqchip=off, guarded by vcpus_lock */
    bool halted;            /* HLT, or an AP waiting for SIPI */
    bool wait_sipi;
    bool wakeup;            /* the LAPIC rang since we looked */
} KvmVcpu;

static KvmVcpu *vcpus;
static unsigned nr_vcpus;
static GMutex vcpus_lock;
static GCond run_cond;          /* vCPUs wait here to run */
static GCond parked_cond;       /* pausers wait here for vCPUs to park */
static bool vcpus_should_run;
static bool vcpus_quit;
static GCond wake_cond;         /* halted vCPUs wait here (irqchip off) */
static __thread KvmVcpu *current_vcpu;

X86KvmVcpu *kvm_current_x86_vcpu(void)
{
    return current_vcpu ? &current_vcpu->x86 : NULL;
}

static bool userspace_lapic(void)
{
    return kvm_state.irqchip == KERNEL_IRQCHIP_OFF;
}

int kvm_kick_signal(void)
{
    return SIGRTMIN + 4;
}

static void kick_handler(int sig)
{
    KvmVcpu *v = current_vcpu;

    if (v && v->run) {
        v->run->immediate_exit = 1;
    }
}

static void install_kick_handler(void)
{
    struct sigaction sa = { .sa_handler = kick_handler };

    /* no SA_RESTART: KVM_RUN must return EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(kvm_kick_signal(), &sa, NULL);
}

/* Called with vcpus_lock held. */
static void kick_locked(KvmVcpu *v)
{
    if (v->thread_started && !v->parked) {
        v->run->immediate_exit = 1;
        pthread_kill(v->thread, kvm_kick_signal());
    }
}

/* auto-converge's time-slice kick (main loop). */
static void kick_all_for_throttle(void)
{
    g_mutex_lock(&vcpus_lock);
    for (unsigned i = 0; i < nr_vcpus; i++) {
        kick_locked(&vcpus[i]);
    }
    g_mutex_unlock(&vcpus_lock);
}

static bool all_parked_locked(void)
{
    for (unsigned i = 0; i < nr_vcpus; i++) {
        if (vcpus[i].thread_started && !vcpus[i].parked) {
            return false;
        }
    }
    return true;
}

/* Wait (vcpus_lock held) until every vCPU parked, with the BQL released. */
static void wait_all_parked_locked(void)
{
    bool had_bql = bql_locked();

    if (all_parked_locked()) {
        return;
    }
    if (had_bql) {
        bql_unlock();
    }
    while (!all_parked_locked()) {
        for (unsigned i = 0; i < nr_vcpus; i++) {
            kick_locked(&vcpus[i]);
        }
        /* re-kick now and then: a signal can land just before KVM_RUN */
        g_cond_wait_until(&parked_cond, &vcpus_lock,
                          g_get_monotonic_time() +
                          100 * G_TIME_SPAN_MILLISECOND);
    }
    if (had_bql) {
        /* lock order: BQL first */
        g_mutex_unlock(&vcpus_lock);
        bql_lock();
        g_mutex_lock(&vcpus_lock);
    }
}

/* ---- exits ---- */

static uint64_t load_le(const uint8_t *p, unsigned size)
{
    switch (size) {
    case 1: return p[0];
    case 2: return lduw_le_p(p);
    case 4: return ldl_le_p(p);
    default: return ldq_le_p(p);
    }
}

static void store_le(uint8_t *p, unsigned size, uint64_t v)
{
    switch (size) {
    case 1: p[0] = v; break;
    case 2: stw_le_p(p, v); break;
    case 4: stl_le_p(p, v); break;
    default: stq_le_p(p, v); break;
    }
}

static void handle_pio(KvmVcpu *v)
{
    struct kvm_run *run = v->run;
    unsigned size = run->io.size;
    uint64_t bytes = (uint64_t)run->io.count * size;
    uint8_t *data;

    /* the kernel fills these, but a bad offset would be a wild pointer */
    if ((size != 1 && size != 2 && size != 4) ||
        run->io.data_offset > (uint64_t)kvm_state.vcpu_mmap_size ||
        bytes > kvm_state.vcpu_mmap_size - run->io.data_offset) {
        error_report("kvm: CPU %u: malformed PIO exit (port 0x%x size %u "
                     "count %u)", v->x86.index, run->io.port, size,
                     run->io.count);
        return;
    }
    data = (uint8_t *)run + run->io.data_offset;
    bql_lock();
    exit_tail_begin();
    for (unsigned i = 0; i < run->io.count; i++, data += size) {
        if (run->io.direction == KVM_EXIT_IO_OUT) {
            address_space_write_val(&address_space_io, run->io.port,
                                    load_le(data, size), size);
        } else {
            uint64_t val = ~0ULL;
            address_space_read_val(&address_space_io, run->io.port, &val,
                                   size);
            store_le(data, size, val);
        }
    }
    exit_tail_end();
    bql_unlock();
}

static void handle_mmio(KvmVcpu *v)
{
    struct kvm_run *run = v->run;
    unsigned len = MIN(run->mmio.len, (uint32_t)sizeof(run->mmio.data));

    bql_lock();
    exit_tail_begin();
    if (run->mmio.is_write) {
        address_space_write(&address_space_memory, run->mmio.phys_addr,
                            run->mmio.data, len);
    } else {
        address_space_read(&address_space_memory, run->mmio.phys_addr,
                           run->mmio.data, len);
    }
    /* what the access started and the host finished at once completes
     * before the guest looks again (system/exit-tail.h) */
    exit_tail_end();
    bql_unlock();
}

/* ---- kernel_irqchip=off: interrupts from kvmpc's LAPIC ---- */

static int vcpu_ioctl(KvmVcpu *v, unsigned long req, void *arg)
{
    return kvm_ioctl_fd(v->x86.fd, req, arg);
}

/* The doorbell (BQL held): CPU @cpu's pins changed. */
static void kvm_cpu_notify(unsigned cpu)
{
    g_mutex_lock(&vcpus_lock);
    if (cpu < nr_vcpus) {
        vcpus[cpu].wakeup = true;
        kick_locked(&vcpus[cpu]);
        g_cond_broadcast(&wake_cond);
    }
    g_mutex_unlock(&vcpus_lock);
}

/* The guest's TSC, for the TSC-deadline timer (its own vCPU thread). */
static uint64_t kvm_guest_tsc(unsigned cpu)
{
    struct {
        __u32 nmsrs, pad;
        struct kvm_msr_entry e;
    } m = { .nmsrs = 1, .e = { .index = 0x10 } };   /* IA32_TSC */

    if (cpu >= nr_vcpus || vcpu_ioctl(&vcpus[cpu], KVM_GET_MSRS, &m) != 1) {
        return 0;
    }
    return m.e.data;
}

/* NMI, SMI, INIT, SIPI the LAPIC received; BQL held. */
static void take_cpu_events(KvmVcpu *v)
{
    uint8_t sipi = 0;
    unsigned ev = x86_cpu_take_events(v->x86.index, &sipi);
    GError *err = NULL;

    if (ev & X86_EVENT_INIT) {
        if (!x86_kvm_vcpu_reset(&v->x86, false, NULL, &err)) {
            error_report_err(err);
            err = NULL;
        }
        v->wait_sipi = true;
    }
    if ((ev & X86_EVENT_SIPI) && v->wait_sipi) {
        if (!x86_kvm_vcpu_sipi(&v->x86, sipi, &err)) {
            error_report_err(err);
        }
        v->wait_sipi = false;
        v->halted = false;
    }
    if ((ev & X86_EVENT_NMI) && !v->wait_sipi) {
        vcpu_ioctl(v, KVM_NMI, NULL);
        v->halted = false;
    }
    if ((ev & X86_EVENT_SMI) && !v->wait_sipi) {
        vcpu_ioctl(v, KVM_SMI, NULL);
        v->halted = false;
    }
}

/* Can the halted vCPU go on?  BQL held. */
static bool wake_condition(KvmVcpu *v)
{
    if (v->wait_sipi) {
        return false;
    }
    return !v->halted ||
           (x86_cpu_intr_pending(v->x86.index) && v->run->if_flag);
}

/*
 * Before KVM_RUN: events, then INTR (SDM vol. 3A 6.8: the CPU takes an
 * interrupt only with IF set and no interrupt shadow, which is what
 * KVM's ready_for_interrupt_injection says).  Returns false while the
 * vCPU must not run (halted, waiting for SIPI).
 */
static bool pre_run_userspace_irqchip(KvmVcpu *v)
{
    struct kvm_run *run = v->run;
    unsigned idx = v->x86.index;
    bool runnable;

    bql_lock();
    take_cpu_events(v);
    if (v->halted && x86_cpu_intr_pending(idx) && run->if_flag) {
        v->halted = false;
    }
    runnable = !v->halted && !v->wait_sipi;
    run->request_interrupt_window = 0;
    if (runnable && x86_cpu_intr_pending(idx)) {
        if (run->ready_for_interrupt_injection && run->if_flag) {
            int vector = x86_cpu_ack_interrupt(idx);
            if (vector >= 0) {
                struct kvm_interrupt irq = { .irq = vector };
                vcpu_ioctl(v, KVM_INTERRUPT, &irq);
            }
        } else {
            run->request_interrupt_window = 1;
        }
    }
    run->cr8 = v->cr8_entered = apic_get_cr8(idx);
    bql_unlock();
    return runnable;
}

/*
 * kernel_irqchip=split: KVM has the LAPICs, kvmpc the PIC; the PIC's INT
 * is injected as an external interrupt with KVM_INTERRUPT (api.rst: with
 * a split irqchip it queues an ExtINT) when the guest can take it.
 */
static void pre_run_split(KvmVcpu *v)
{
    struct kvm_run *run = v->run;

    if (v->x86.index != 0) {
        return;
    }
    bql_lock();
    run->request_interrupt_window = 0;
    if (x86_cpu_intr_pending(0)) {
        if (run->ready_for_interrupt_injection && run->if_flag) {
            struct kvm_interrupt irq = { .irq = x86_cpu_ack_interrupt(0) };
            vcpu_ioctl(v, KVM_INTERRUPT, &irq);
        } else {
            run->request_interrupt_window = 1;
        }
    }
    bql_unlock();
}

/* HLT or wait-for-SIPI: sleep (as parked) until the LAPIC rings. */
static void wait_while_halted(KvmVcpu *v)
{
    bql_lock();
    g_mutex_lock(&vcpus_lock);
    v->wakeup = false;
    if (wake_condition(v)) {
        g_mutex_unlock(&vcpus_lock);
        bql_unlock();
        return;
    }
    bql_unlock();
    v->parked = true;
    g_cond_broadcast(&parked_cond);
    while (!v->wakeup && !vcpus_quit && (v->halted || v->wait_sipi)) {
        g_cond_wait(&wake_cond, &vcpus_lock);
    }
    v->parked = false;
    g_mutex_unlock(&vcpus_lock);
}

static void handle_msr(KvmVcpu *v, bool write)
{
    struct kvm_run *run = v->run;
    bool ok;

    bql_lock();
    if (write) {
        ok = apic_msr_write(v->x86.index, run->msr.index, run->msr.data);
    } else {
        uint64_t val = 0;
        ok = apic_msr_read(v->x86.index, run->msr.index, &val);
        run->msr.data = val;
    }
    bql_unlock();
    run->msr.error = !ok;   /* KVM injects #GP */
}

/* Park this vCPU until the next reset. */
static void stop_until_reset(KvmVcpu *v)
{
    g_mutex_lock(&vcpus_lock);
    v->stopped_by_guest = true;
    g_mutex_unlock(&vcpus_lock);
}

static void vm_stop_internal_error(void *opaque)
{
    vm_stop(RUN_STATE_INTERNAL_ERROR);
}

static void report_and_stop(KvmVcpu *v, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);

static void report_and_stop(KvmVcpu *v, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    g_autofree char *regs = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    regs = x86_kvm_vcpu_dump(&v->x86);
    fprintf(stderr, "%s\n%s", msg, regs);
    fflush(stderr);
    stop_until_reset(v);
    main_loop_call(vm_stop_internal_error, NULL);
}

static void report_internal_error(KvmVcpu *v)
{
    struct kvm_run *run = v->run;
    GString *s = g_string_new(NULL);
    unsigned ndata = MIN(run->internal.ndata,
                         (uint32_t)ARRAY_SIZE(run->internal.data));

    g_string_append_printf(s, "KVM internal error. Suberror: %u",
                           run->internal.suberror);
    for (unsigned i = 0; i < ndata; i++) {
        g_string_append_printf(s, "\nextra data[%u]: 0x%016llx", i,
                               run->internal.data[i]);
    }
    if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION) {
        g_string_append(s, "\nemulation failure");
    }
    report_and_stop(v, "%s", s->str);
    g_string_free(s, TRUE);
}

static void handle_system_event(KvmVcpu *v)
{
    switch (v->run->system_event.type) {
    case KVM_SYSTEM_EVENT_SHUTDOWN:
        stop_until_reset(v);
        qemu_system_shutdown_request(SHUTDOWN_CAUSE_GUEST_SHUTDOWN);
        break;
    case KVM_SYSTEM_EVENT_RESET:
        stop_until_reset(v);
        qemu_system_reset_request(SHUTDOWN_CAUSE_GUEST_RESET);
        break;
    case KVM_SYSTEM_EVENT_CRASH:
        report_and_stop(v, "KVM: guest reported a crash");
        break;
    default:
        break;
    }
}

static void handle_exit(KvmVcpu *v)
{
    struct kvm_run *run = v->run;
    static bool warned_hlt;
    bool ok;

    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        handle_pio(v);
        break;
    case KVM_EXIT_MMIO:
        handle_mmio(v);
        break;
    case KVM_EXIT_SHUTDOWN:
        /* triple fault: the PC resets (the runstate code honours
         * -no-reboot); the vCPU's state is undefined until then */
        stop_until_reset(v);
        qemu_system_reset_request(SHUTDOWN_CAUSE_GUEST_RESET);
        break;
    case KVM_EXIT_SYSTEM_EVENT:
        handle_system_event(v);
        break;
    case KVM_EXIT_HLT:
        if (userspace_lapic()) {
            g_mutex_lock(&vcpus_lock);
            v->halted = true;
            g_mutex_unlock(&vcpus_lock);
            break;
        }
        /* with an in-kernel LAPIC KVM halts by itself */
        if (!warned_hlt) {
            warned_hlt = true;
            error_report("kvm: unexpected HLT exit");
        }
        break;
    case KVM_EXIT_X86_RDMSR:
    case KVM_EXIT_X86_WRMSR:
        handle_msr(v, run->exit_reason == KVM_EXIT_X86_WRMSR);
        break;
    case KVM_EXIT_IOAPIC_EOI:
        /* kernel_irqchip=split: a level vector of our IOAPIC ended */
        bql_lock();
        ioapic_eoi_broadcast(run->eoi.vector);
        bql_unlock();
        break;
    case KVM_EXIT_INTR:
    case KVM_EXIT_IRQ_WINDOW_OPEN:
    case KVM_EXIT_DEBUG:
    /* kernel_irqchip=off: the guest lowered CR8 (VMX/SVM report it so a
     * userspace LAPIC can deliver what the TPR held back): the CR8 sync
     * after KVM_RUN and the next pre-run do exactly that */
    case KVM_EXIT_SET_TPR:
        break;
    case KVM_EXIT_DIRTY_RING_FULL:
        /* this vCPU's ring is (nearly) full: empty them all and go on
         * (the run loop enters KVM_RUN again) */
        bql_lock();
        ok = kvm_dirty_ring_full_exit();
        bql_unlock();
        if (!ok) {
            report_and_stop(v, "KVM: the dirty ring is full and could not "
                            "be reset");
        }
        break;
    case KVM_EXIT_INTERNAL_ERROR:
        report_internal_error(v);
        break;
    case KVM_EXIT_FAIL_ENTRY:
        report_and_stop(v, "KVM: entry failed, hardware error 0x%llx",
                        run->fail_entry.hardware_entry_failure_reason);
        break;
    default:
        report_and_stop(v, "KVM: unhandled exit %u", run->exit_reason);
        break;
    }
}

static void run_once(KvmVcpu *v)
{
    int ret;

    if (userspace_lapic() && !pre_run_userspace_irqchip(v)) {
        wait_while_halted(v);
        return;
    }
    if (kvm_state.irqchip == KERNEL_IRQCHIP_SPLIT) {
        pre_run_split(v);
    }
    ret = ioctl(v->x86.fd, KVM_RUN, 0);
    v->exit_pending = ret >= 0;
    /* The guest's TPR writes through CR8 go back to the LAPIC; most
     * exits leave it as it went in, and then the big lock is not taken
     * for nothing (each exit's pre-run takes it again anyway). */
    if (userspace_lapic() && v->run->cr8 != v->cr8_entered) {
        bql_lock();
        apic_set_cr8(v->x86.index, v->run->cr8);
        bql_unlock();
    }

    if (ret < 0) {
        /* EINTR: kicked; EAGAIN: an AP left wait-for-SIPI */
        if (errno != EINTR && errno != EAGAIN) {
            report_and_stop(v, "KVM: KVM_RUN failed: %s", strerror(errno));
        }
        return;
    }
    handle_exit(v);
}

/*
 * An I/O or MMIO exit is finished by the next KVM_RUN (an IN's data goes
 * to RAX, RIP moves past the instruction), so a vCPU that stops after
 * one would leave state that no register shows (api.rst, "KVM_RUN" on
 * completing pending operations before migration).  Before it parks,
 * KVM_RUN with immediate_exit completes the exit and returns without
 * running a guest instruction.
 */
static void complete_pending_exit(KvmVcpu *v)
{
    v->run->immediate_exit = 1;
    if (ioctl(v->x86.fd, KVM_RUN, 0) < 0 && errno != EINTR &&
        errno != EAGAIN) {
        error_report("kvm: CPU %u: completing its last exit failed: %s",
                     v->x86.index, strerror(errno));
    }
    v->exit_pending = false;
}

static void *vcpu_thread(void *opaque)
{
    KvmVcpu *v = opaque;
    sigset_t set;

    current_vcpu = v;
    qemu_thread_name_self("CPU %u/KVM", v->x86.index);
    apic_set_current_cpu(v->x86.index);     /* its xAPIC page */
    sigemptyset(&set);
    sigaddset(&set, kvm_kick_signal());
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    g_mutex_lock(&vcpus_lock);
    v->tid = syscall(SYS_gettid);
    for (;;) {
        if (!vcpus_quit && !v->quit && v->exit_pending &&
            (!vcpus_should_run || v->stopped_by_guest)) {
            g_mutex_unlock(&vcpus_lock);
            complete_pending_exit(v);
            g_mutex_lock(&vcpus_lock);
        }
        /* After the guest asked to end the process (isa-debug-exit) it
         * runs no further instruction while the main loop winds down. */
        while (!vcpus_quit && !v->quit &&
               (!vcpus_should_run || v->stopped_by_guest ||
                qemu_system_exit_pending())) {
            v->parked = true;
            g_cond_broadcast(&parked_cond);
            g_cond_wait(&run_cond, &vcpus_lock);
        }
        if (vcpus_quit || v->quit) {
            break;
        }
        v->parked = false;
        v->run->immediate_exit = 0;
        g_mutex_unlock(&vcpus_lock);
        run_once(v);
        /* auto-converge: sleep a share of each time slice */
        cpu_throttle_vcpu_check(&v->throttle_last_ns);
        g_mutex_lock(&vcpus_lock);
    }
    v->parked = true;
    g_cond_broadcast(&parked_cond);
    g_mutex_unlock(&vcpus_lock);
    return NULL;
}

/* ---- creation ---- */

static bool create_one_vcpu(KvmVcpu *v, const X86CPUTopoInfo *topo,
                            GError **errp)
{
    int fd;
    void *run;

    if (v->x86.fd >= 0) {
        /* re-plugged: KVM cannot destroy a vCPU, its fd was kept parked */
        return x86_kvm_vcpu_init(&v->x86, kvm_state.supported_cpuid, topo,
                                 errp);
    }
    fd = kvm_vm_ioctl(KVM_CREATE_VCPU, (void *)(uintptr_t)v->x86.apic_id);
    if (fd < 0) {
        error_setg(errp, "kvm: KVM_CREATE_VCPU for CPU %u (APIC ID %u) "
                   "failed: %s", v->x86.index, v->x86.apic_id,
                   strerror(-fd));
        return false;
    }
    v->x86.fd = fd;
    v->stats_fd = kvm_vcpu_open_stats(fd);
    run = mmap(NULL, kvm_state.vcpu_mmap_size, PROT_READ | PROT_WRITE,
               MAP_SHARED, fd, 0);
    if (run == MAP_FAILED) {
        error_setg(errp, "kvm: mapping the run area of CPU %u failed: %s",
                   v->x86.index, strerror(errno));
        return false;
    }
    v->run = run;
    if (!kvm_dirty_ring_map_vcpu(v->x86.index, fd, errp)) {
        return false;
    }
    return x86_kvm_vcpu_init(&v->x86, kvm_state.supported_cpuid, topo, errp);
}

static bool start_vcpu_thread(KvmVcpu *v, GError **errp)
{
    int ret = pthread_create(&v->thread, NULL, vcpu_thread, v);

    if (ret) {
        error_setg(errp, "kvm: cannot start the thread of CPU %u: %s",
                   v->x86.index, strerror(ret));
        return false;
    }
    v->thread_started = true;
    return true;
}

static bool check_vcpu_limits(unsigned n, const X86CPUTopoInfo *topo,
                              GError **errp)
{
    uint32_t last_id = x86_apicid_from_cpu_idx(topo, n - 1);

    if (n > (unsigned)kvm_state.max_vcpus) {
        error_setg(errp, "kvm: %u CPUs requested, KVM supports at most %d",
                   n, kvm_state.max_vcpus);
        return false;
    }
    if (last_id >= (unsigned)kvm_state.max_vcpu_id) {
        error_setg(errp, "kvm: the topology needs APIC ID %u, KVM supports "
                   "IDs below %d", last_id, kvm_state.max_vcpu_id);
        return false;
    }
    return true;
}

static void reset_all_locked_out(void);

bool kvm_create_vcpus(MachineState *ms, GError **errp)
{
    X86CPUTopoInfo topo;
    unsigned n = MAX(ms->smp.cpus, 1u), slots;
    int mmap_size;

    if (nr_vcpus) {
        error_setg(errp, "kvm: vCPUs already created");
        return false;
    }
    x86_topo_info_from_smp(&ms->smp, &topo);
    if (!check_vcpu_limits(MAX(n, x86_cpu_hotplug_slot_count()), &topo,
                           errp)) {
        return false;
    }
    mmap_size = ioctl(kvm_state.kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (mmap_size < (int)sizeof(struct kvm_run)) {
        error_setg(errp, "kvm: KVM_GET_VCPU_MMAP_SIZE failed");
        return false;
    }
    kvm_state.vcpu_mmap_size = mmap_size;
    install_kick_handler();
    cpu_throttle_set_kick(kick_all_for_throttle);
    /* one entry per CPU slot (-smp maxcpus); boot CPUs and -device CPUs
     * (x86-cpu-hotplug.c) are present now, the others when plugged */
    slots = MAX(x86_cpu_hotplug_slot_count(), n);
    vcpus = g_new0(KvmVcpu, slots);
    kvm_dirty_ring_setup_vcpus(slots);
    for (unsigned i = 0; i < slots; i++) {
        vcpus[i].x86.fd = -1;
        vcpus[i].stats_fd = -1;
        vcpus[i].x86.index = i;
        vcpus[i].x86.kernel_lapic = !userspace_lapic();
        vcpus[i].x86.apic_id = x86_apicid_from_cpu_idx(&topo, i);
        x86_topo_ids_from_idx(&topo, i, &vcpus[i].ids);
        vcpus[i].present = i < n || x86_cpu_hotplug_slot_present(i);
    }
    nr_vcpus = slots;
    for (unsigned i = 0; i < slots; i++) {
        if (vcpus[i].present && !create_one_vcpu(&vcpus[i], &topo, errp)) {
            return false;
        }
    }
    if (kvm_state.irqchip == KERNEL_IRQCHIP_SPLIT) {
        x86_cpu_notify_hook = kvm_cpu_notify;   /* the PIC's ExtINT */
    }
    if (userspace_lapic()) {
        int khz = vcpu_ioctl(&vcpus[0], KVM_GET_TSC_KHZ, NULL);

        x86_cpu_notify_hook = kvm_cpu_notify;
        apic_tsc_read_hook = kvm_guest_tsc;
        if (khz > 0) {
            apic_tsc_khz = khz;
        }
    }
    reset_all_locked_out();
    for (unsigned i = 0; i < slots; i++) {
        if (vcpus[i].present && !start_vcpu_thread(&vcpus[i], errp)) {
            return false;
        }
    }
    /* wait until each thread recorded its TID and parked */
    g_mutex_lock(&vcpus_lock);
    wait_all_parked_locked();
    g_mutex_unlock(&vcpus_lock);
    return true;
}

/* ---- AccelOps hooks ---- */

void kvm_resume_vcpus(void)
{
    g_mutex_lock(&vcpus_lock);
    vcpus_should_run = true;
    g_cond_broadcast(&run_cond);
    g_mutex_unlock(&vcpus_lock);
}

void kvm_pause_vcpus(void)
{
    g_mutex_lock(&vcpus_lock);
    vcpus_should_run = false;
    for (unsigned i = 0; i < nr_vcpus; i++) {
        kick_locked(&vcpus[i]);
    }
    wait_all_parked_locked();
    g_mutex_unlock(&vcpus_lock);
}

/* Pause if running; returns whether it did (to resume after). */
static bool pause_if_running(void)
{
    bool running;

    g_mutex_lock(&vcpus_lock);
    running = vcpus_should_run;
    g_mutex_unlock(&vcpus_lock);
    if (running) {
        kvm_pause_vcpus();
    }
    return running;
}

/* Reset the state of every vCPU (all parked or not yet started). */
static void reset_all_locked_out(void)
{
    for (unsigned i = 0; i < nr_vcpus; i++) {
        GError *err = NULL;
        bool bsp = i == 0;

        if (!vcpus[i].present) {
            continue;
        }
        if (!x86_kvm_vcpu_reset(&vcpus[i].x86, bsp,
                                bsp ? &x86_boot_entry : NULL, &err)) {
            error_report_err(err);
        }
        /* without KVM's LAPIC the APs' wait-for-SIPI is ours */
        vcpus[i].halted = false;
        vcpus[i].wait_sipi = userspace_lapic() && !bsp;
    }
    g_cond_broadcast(&wake_cond);
}

void kvm_reset_vcpus(void)
{
    bool was_running = pause_if_running();

    reset_all_locked_out();
    g_mutex_lock(&vcpus_lock);
    for (unsigned i = 0; i < nr_vcpus; i++) {
        vcpus[i].stopped_by_guest = false;
    }
    g_mutex_unlock(&vcpus_lock);
    if (was_running) {
        kvm_resume_vcpus();
    }
}

void kvm_shutdown_vcpus(void)
{
    bool had_bql = bql_locked();

    g_mutex_lock(&vcpus_lock);
    vcpus_quit = true;
    for (unsigned i = 0; i < nr_vcpus; i++) {
        kick_locked(&vcpus[i]);
    }
    g_cond_broadcast(&run_cond);
    g_cond_broadcast(&wake_cond);
    g_mutex_unlock(&vcpus_lock);
    /* a vCPU may be waiting for the BQL in an exit handler */
    if (had_bql) {
        bql_unlock();
    }
    for (unsigned i = 0; i < nr_vcpus; i++) {
        if (vcpus[i].thread_started) {
            pthread_join(vcpus[i].thread, NULL);
            vcpus[i].thread_started = false;
        }
    }
    if (had_bql) {
        bql_lock();
    }
    for (unsigned i = 0; i < nr_vcpus; i++) {
        if (vcpus[i].run) {
            munmap(vcpus[i].run, kvm_state.vcpu_mmap_size);
        }
        if (vcpus[i].x86.fd >= 0) {
            close(vcpus[i].x86.fd);
        }
    }
    kvm_dirty_ring_unmap_all();
    g_clear_pointer(&vcpus, g_free);
    nr_vcpus = 0;
}

/* ---- CPU hotplug (hw/i386/x86-cpu-hotplug.c) ---- */

/*
 * device_add of a CPU: the slot's vCPU is created as a boot AP is
 * (KVM_CREATE_VCPU with its APIC ID, CPUID, reset to wait-for-SIPI) and
 * its thread started; the guest wakes it with INIT/SIPI.
 */
bool kvm_hotplug_vcpu(unsigned slot, GError **errp)
{
    X86CPUTopoInfo topo;
    KvmVcpu *v;
    GError *err = NULL;
    bool was_running, ok;

    if (slot >= nr_vcpus || vcpus[slot].present) {
        error_setg(errp, "kvm: CPU slot %u cannot be plugged", slot);
        return false;
    }
    if (userspace_lapic()) {
        error_setg(errp, "kvm: CPU hotplug needs KVM's local APICs "
                   "(kernel_irqchip=on or split)");
        return false;
    }
    v = &vcpus[slot];
    x86_topo_info_from_smp(&current_machine->smp, &topo);
    was_running = pause_if_running();
    ok = create_one_vcpu(v, &topo, errp);
    if (ok && !x86_kvm_vcpu_reset(&v->x86, false, NULL, &err)) {
        g_propagate_error(errp, err);
        ok = false;
    }
    if (ok) {
        g_mutex_lock(&vcpus_lock);
        v->present = true;
        v->quit = false;
        v->stopped_by_guest = false;
        g_mutex_unlock(&vcpus_lock);
        ok = start_vcpu_thread(v, errp);
        if (!ok) {
            v->present = false;
        }
    }
    if (ok) {
        g_mutex_lock(&vcpus_lock);
        wait_all_parked_locked();
        g_mutex_unlock(&vcpus_lock);
    }
    if (was_running) {
        kvm_resume_vcpus();
    }
    return ok;
}

/*
 * The guest ejected the CPU: its thread ends and is joined.  KVM has no
 * way to destroy a vCPU, so its fd and run area stay, parked, for a
 * later plug of the same slot (as QEMU parks them).
 */
void kvm_unplug_vcpu(unsigned slot)
{
    KvmVcpu *v;
    bool had_bql = bql_locked();

    if (slot >= nr_vcpus || !vcpus[slot].present) {
        return;
    }
    v = &vcpus[slot];
    if (current_vcpu == v) {
        /* A CPU ejecting itself (no OS does: it offlines the CPU first)
         * cannot join its own thread: it ends after this exit. */
        g_mutex_lock(&vcpus_lock);
        v->quit = true;
        v->present = false;
        g_mutex_unlock(&vcpus_lock);
        pthread_detach(v->thread);
        v->thread_started = false;
        return;
    }
    g_mutex_lock(&vcpus_lock);
    v->quit = true;
    kick_locked(v);
    g_cond_broadcast(&run_cond);
    g_cond_broadcast(&wake_cond);
    g_mutex_unlock(&vcpus_lock);
    if (had_bql) {
        bql_unlock();       /* it may wait for the BQL in an exit */
    }
    if (v->thread_started) {
        pthread_join(v->thread, NULL);
        v->thread_started = false;
    }
    if (had_bql) {
        bql_lock();
    }
    g_mutex_lock(&vcpus_lock);
    v->present = false;
    v->parked = false;
    g_mutex_unlock(&vcpus_lock);
}

/* ---- queries ---- */

/* ---- for kvm-migration.c (vCPUs parked, big lock held) ---- */

unsigned kvm_vcpu_slots(void)
{
    return nr_vcpus;
}

X86KvmVcpu *kvm_vcpu_x86(unsigned slot)
{
    return slot < nr_vcpus && vcpus[slot].present ? &vcpus[slot].x86 : NULL;
}

void kvm_vcpu_get_wait_state(unsigned slot, bool *halted, bool *wait_sipi)
{
    g_mutex_lock(&vcpus_lock);
    *halted = vcpus[slot].halted;
    *wait_sipi = vcpus[slot].wait_sipi;
    g_mutex_unlock(&vcpus_lock);
}

void kvm_vcpu_set_wait_state(unsigned slot, bool halted, bool wait_sipi)
{
    g_mutex_lock(&vcpus_lock);
    vcpus[slot].halted = halted;
    vcpus[slot].wait_sipi = wait_sipi;
    vcpus[slot].exit_pending = false;
    g_cond_broadcast(&wake_cond);
    g_mutex_unlock(&vcpus_lock);
}

unsigned kvm_vcpu_count(void)
{
    return nr_vcpus;
}

bool kvm_stats_vcpu(unsigned idx, bool values, KvmStatFn *fn, void *opaque,
                    GError **errp)
{
    if (idx >= nr_vcpus || !vcpus[idx].present) {
        return false;
    }
    return kvm_stats_vcpu_fd(vcpus[idx].stats_fd, values, fn, opaque, errp);
}

bool kvm_vcpu_info(unsigned idx, KvmVcpuInfo *out)
{
    if (idx >= nr_vcpus || !vcpus[idx].present) {
        return false;
    }
    out->cpu_index = idx;
    out->apic_id = vcpus[idx].x86.apic_id;
    out->thread_id = vcpus[idx].tid;
    out->socket_id = vcpus[idx].ids.pkg_id;
    out->die_id = vcpus[idx].ids.die_id;
    out->core_id = vcpus[idx].ids.core_id;
    out->thread_id_in_core = vcpus[idx].ids.smt_id;
    return true;
}

char *kvm_vcpu_dump_registers(unsigned idx)
{
    bool was_running;
    char *text;

    if (idx >= nr_vcpus || !vcpus[idx].present) {
        return NULL;
    }
    was_running = pause_if_running();
    text = x86_kvm_vcpu_dump(&vcpus[idx].x86);
    if (was_running) {
        kvm_resume_vcpus();
    }
    return text;
}

/*
 * inject-nmi: an NMI on every vCPU, as QEMU's x86 does (through the
 * in-kernel LAPIC's external NMI input).  The vCPUs are paused around it
 * so the ioctls do not wait behind KVM_RUN.
 */
bool kvm_inject_nmi_all(GError **errp)
{
    bool was_running, ok = true;

    if (!nr_vcpus) {
        error_setg(errp, "there is no vCPU to send an NMI to");
        return false;
    }
    was_running = pause_if_running();
    for (unsigned i = 0; i < nr_vcpus && ok; i++) {
        if (!vcpus[i].present) {
            continue;
        }
        int r = kvm_ioctl_fd(vcpus[i].x86.fd, KVM_NMI, NULL);
        if (r < 0) {
            error_setg(errp, "KVM_NMI on vCPU %u: %s", i, g_strerror(-r));
            ok = false;
        }
    }
    if (was_running) {
        kvm_resume_vcpus();
    }
    return ok;
}

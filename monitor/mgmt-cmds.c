/*
 * QMP commands management tools use on a running VM (qapi/mgmt.json):
 * query-iothreads, query-memdev, query-memory-size-summary,
 * query-current-machine, inject-nmi, system_wakeup, set-action, and the
 * guest memory dump (dump-guest-memory, query-dump,
 * query-dump-guest-memory-capability, DUMP_COMPLETED).
 */
#include "qemu/osdep.h"
#include "hw/rtc/mc146818rtc.h"
#include "accel/kvm.h"
#include "hw/boards.h"
#include "hw/mem/pc-dimm.h"
#include "qapi/qapi-commands.h"
#include "qapi/qapi-events.h"
#include "system/hostmem.h"
#include "system/iothread.h"
#include "system/main-loop.h"
#include "system/runstate.h"
#include "monitor/fds.h"
#include "qemu/fdset.h"
#include "hw/misc/vmcoreinfo.h"
#include "system/memory.h"
#include <elf.h>
#include <fcntl.h>

#define LIST_APPEND(tail, obj) do {                         \
        *(tail) = g_new0(__typeof__(**(tail)), 1);          \
        (*(tail))->value = (obj);                           \
        (tail) = &(*(tail))->next;                          \
    } while (0)

/* ---- query-iothreads ------------------------------------------------- */

static void add_iothread(const IOThreadDesc *d, void *opaque)
{
    IOThreadInfoList ***tail = opaque;
    IOThreadInfo *info = g_new0(IOThreadInfo, 1);

    info->id = g_strdup(d->id);
    info->thread_id = d->thread_id;
    info->poll_max_ns = d->poll_max_ns;
    info->poll_grow = d->poll_grow;
    info->poll_shrink = d->poll_shrink;
    info->aio_max_batch = d->aio_max_batch;
    LIST_APPEND(*tail, info);
}

IOThreadInfoList *qmp_query_iothreads(GError **errp)
{
    IOThreadInfoList *list = NULL, **tail = &list;

    iothread_for_each(add_iothread, &tail);
    return list;
}

/* ---- memory ------------------------------------------------------------ */

static void add_memdev(HostMemoryBackend *b, void *opaque)
{
    MemdevList ***tail = opaque;
    Memdev *m = g_new0(Memdev, 1);

    m->id = g_strdup(b->id);
    m->size = b->size;
    m->merge = b->merge;
    m->dump = b->dump;
    m->prealloc = b->prealloc;
    m->share = b->share;
    m->has_reserve = true;
    m->reserve = b->reserve;
    m->policy = (HostMemPolicy)b->policy;   /* same order */
    uint16List **nt = &m->host_nodes;
    for (unsigned i = 0; i < HOST_MEM_MAX_NODES; i++) {
        if (host_mem_node_test(b->host_nodes, i)) {
            LIST_APPEND(nt, i);
        }
    }
    LIST_APPEND(*tail, m);
}

MemdevList *qmp_query_memdev(GError **errp)
{
    MemdevList *list = NULL, **tail = &list;

    host_memory_backend_foreach(add_memdev, &tail);
    return list;
}

MemoryInfo *qmp_query_memory_size_summary(GError **errp)
{
    MemoryInfo *info = g_new0(MemoryInfo, 1);

    info->base_memory = current_machine ? current_machine->ram_size : 0;
    info->has_plugged_memory = true;        /* the pc-dimms (0: none) */
    info->plugged_memory = pc_dimm_plugged_size();
    return info;
}

CurrentMachineParams *qmp_query_current_machine(GError **errp)
{
    CurrentMachineParams *p = g_new0(CurrentMachineParams, 1);

    /* The ACPI tables offer no S3 (no _S3 object), so no guest suspends. */
    p->wakeup_suspend_support = false;
    return p;
}

void qmp_system_wakeup(GError **errp)
{
    error_setg(errp, "wake-up from suspend is not supported by this guest");
}

void qmp_rtc_reset_reinjection(GError **errp)
{
    DeviceState *rtc = mc146818rtc_find();

    (void)errp;                 /* QEMU answers {} without an RTC too */
    if (rtc) {
        mc146818rtc_reset_reinjection(rtc);
    }
}

void qmp_inject_nmi(GError **errp)
{
    if (!kvm_enabled()) {
        error_setg(errp, "inject-nmi: there is no vCPU to send an NMI to "
                   "(no KVM vCPUs in this accelerator)");
        return;
    }
    kvm_inject_nmi_all(errp);
}

/* ---- set-action -------------------------------------------------------- */

void qmp_set_action(bool has_reboot, RebootAction reboot,
                    bool has_shutdown, ShutdownAction shutdown,
                    bool has_panic, PanicAction panic,
                    bool has_watchdog, WatchdogAction watchdog,
                    GError **errp)
{
    /* Neither a panic device (pvpanic) nor a watchdog exists yet, so
     * those actions could never apply: refuse rather than pretend. */
    if (has_panic && panic != PANIC_ACTION_SHUTDOWN) {
        error_setg(errp, "set-action: panic actions need a panic device, "
                   "which kvmpc does not have yet");
        return;
    }
    if (has_watchdog && watchdog != WATCHDOG_ACTION_RESET) {
        error_setg(errp, "set-action: watchdog actions need a watchdog "
                   "device, which kvmpc does not have yet");
        return;
    }
    if (has_reboot) {
        no_reboot = reboot == REBOOT_ACTION_SHUTDOWN;
    }
    if (has_shutdown) {
        no_shutdown = shutdown == SHUTDOWN_ACTION_PAUSE;
    }
}

/* ---- dump-guest-memory ------------------------------------------------- */

static struct {
    DumpStatus status;
    int64_t completed, total;
} dump_state;

DumpGuestMemoryCapability *qmp_query_dump_guest_memory_capability(
    GError **errp)
{
    DumpGuestMemoryCapability *cap = g_new0(DumpGuestMemoryCapability, 1);

    cap->formats = g_new0(DumpGuestMemoryFormatList, 1);
    cap->formats->value = DUMP_GUEST_MEMORY_FORMAT_ELF;
    return cap;
}

DumpQueryResult *qmp_query_dump(GError **errp)
{
    DumpQueryResult *r = g_new0(DumpQueryResult, 1);

    r->status = dump_state.status;
    r->completed = dump_state.completed;
    r->total = dump_state.total;
    return r;
}

typedef struct DumpSegment {
    uint64_t gpa, size;
    const uint8_t *host;
} DumpSegment;

/* Guest RAM as the machine mapped it: below 4 GiB, and above. */
static unsigned dump_segments(DumpSegment *seg)
{
    MachineState *ms = current_machine;
    const uint8_t *ram = memory_region_get_ram_ptr(&ms->ram);
    unsigned n = 0;

    if (ms->below_4g_mem_size) {
        seg[n++] = (DumpSegment){ 0, ms->below_4g_mem_size, ram };
    }
    if (ms->above_4g_mem_size) {
        seg[n++] = (DumpSegment){ 4 * GiB, ms->above_4g_mem_size,
                                  ram + ms->below_4g_mem_size };
    }
    return n;
}

static bool write_all(int fd, const void *buf, size_t len, GError **errp)
{
    const uint8_t *p = buf;

    while (len) {
        ssize_t n = write(fd, p, MIN(len, 64 * MiB));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            error_setg(errp, "dump: write failed: %s",
                       n < 0 ? g_strerror(errno) : "short write");
            return false;
        }
        p += n;
        len -= n;
        dump_state.completed += n;
    }
    return true;
}

#define GUEST_NOTE_MAX_SIZE     (1u << 20)  /* QEMU's MAX_GUEST_NOTE_SIZE */

static uint32_t note_align4(uint32_t v)
{
    return (v + 3) & ~3u;
}

/*
 * The guest's VMCOREINFO ELF note (the vmcoreinfo device: its address,
 * size and format are whatever the guest wrote), checked as QEMU 7.2's
 * dump checks it, with its warnings; NULL when there is none to write.
 * The note is read only when it lies wholly in guest RAM/ROM.
 */
static GByteArray *dump_guest_note(void)
{
    FWCfgVMCoreInfo vmci;
    g_autoptr(GByteArray) note = NULL;
    uint32_t size, namesz, descsz;
    uint64_t total;

    if (!vmcoreinfo_exists()) {
        return NULL;
    }
    if (!vmcoreinfo_get(&vmci)) {
        error_report("warning: guest note is not present");
        return NULL;
    }
    size = GUINT32_FROM_LE(vmci.size);
    if (size < sizeof(Elf64_Nhdr) || size > GUEST_NOTE_MAX_SIZE) {
        error_report("warning: guest note size is invalid: %" PRIu32, size);
        return NULL;
    }
    if (GUINT16_FROM_LE(vmci.guest_format) !=
        FW_CFG_VMCOREINFO_FORMAT_ELF) {
        error_report("warning: guest note format is unsupported: %" PRIu16,
                     GUINT16_FROM_LE(vmci.guest_format));
        return NULL;
    }
    note = g_byte_array_sized_new(size);
    g_byte_array_set_size(note, size);
    if (!address_space_is_ram(&address_space_memory,
                              GUINT64_FROM_LE(vmci.paddr), size, false) ||
        dma_read(GUINT64_FROM_LE(vmci.paddr), note->data, size) !=
            MEMTX_OK) {
        error_report("warning: guest note is not in guest RAM");
        return NULL;
    }
    namesz = ldl_le_p(note->data);
    descsz = ldl_le_p(note->data + 4);
    total = sizeof(Elf64_Nhdr) + (uint64_t)note_align4(MIN(namesz,
            GUEST_NOTE_MAX_SIZE)) + note_align4(MIN(descsz,
            GUEST_NOTE_MAX_SIZE));
    if (namesz > GUEST_NOTE_MAX_SIZE || descsz > GUEST_NOTE_MAX_SIZE ||
        total > size) {
        error_report("warning: Invalid guest note header");
        return NULL;
    }
    g_byte_array_set_size(note, total);
    return g_steal_pointer(&note);
}

/*
 * An ELF64 core (ET_CORE, EM_X86_64) whose PT_LOAD segments are guest
 * physical memory (p_paddr = guest address, p_vaddr 0: paging=false),
 * readable by readelf/gdb/crash's raw-RAM mode.  With a vmcoreinfo device
 * whose guest wrote a valid note, a PT_NOTE segment (first, as QEMU's)
 * carries that note.  CPU register notes (NT_PRSTATUS) are not written
 * yet: the KVM register read exists only as "info registers" text.
 */
static bool dump_elf(int fd, GError **errp)
{
    DumpSegment seg[2];
    unsigned n = dump_segments(seg);
    g_autoptr(GByteArray) note = dump_guest_note();
    unsigned nph = n + (note != NULL);
    Elf64_Ehdr eh = { 0 };
    Elf64_Phdr ph[3] = { { 0 } };
    Elf64_Phdr *load = note ? ph + 1 : ph;
    uint64_t off = sizeof(eh) + nph * sizeof(Elf64_Phdr);

    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_CORE;
    eh.e_machine = EM_X86_64;
    eh.e_version = EV_CURRENT;
    eh.e_ehsize = sizeof(eh);
    eh.e_phoff = sizeof(eh);
    eh.e_phentsize = sizeof(Elf64_Phdr);
    eh.e_phnum = nph;
    if (note) {
        ph[0].p_type = PT_NOTE;
        ph[0].p_offset = off;
        ph[0].p_filesz = ph[0].p_memsz = note->len;
        off += note->len;
    }
    dump_state.total = off;
    for (unsigned i = 0; i < n; i++) {
        load[i].p_type = PT_LOAD;
        load[i].p_flags = PF_R | PF_W | PF_X;
        load[i].p_offset = off;
        load[i].p_paddr = seg[i].gpa;
        load[i].p_filesz = load[i].p_memsz = seg[i].size;
        off += seg[i].size;
        dump_state.total += seg[i].size;
    }
    if (!write_all(fd, &eh, sizeof(eh), errp) ||
        !write_all(fd, ph, nph * sizeof(Elf64_Phdr), errp) ||
        (note && !write_all(fd, note->data, note->len, errp))) {
        return false;
    }
    for (unsigned i = 0; i < n; i++) {
        if (!write_all(fd, seg[i].host, seg[i].size, errp)) {
            return false;
        }
    }
    return true;
}

static void dump_completed_event(void *opaque)
{
    GError *err = opaque;
    DumpQueryResult r = { .status = dump_state.status,
                          .completed = dump_state.completed,
                          .total = dump_state.total };

    qapi_event_send_dump_completed(&r, err ? err->message : NULL);
    if (err) {
        g_error_free(err);
    }
}

void qmp_dump_guest_memory(bool paging, const char *protocol,
                           bool has_detach, bool detach, bool has_begin,
                           int64_t begin, bool has_length, int64_t length,
                           bool has_format, DumpGuestMemoryFormat format,
                           GError **errp)
{
    bool was_running;
    GError *err = NULL;
    int fd;

    if (has_format && format != DUMP_GUEST_MEMORY_FORMAT_ELF) {
        error_setg(errp, "unsupported dump format '%s' (kvmpc writes elf)",
                   DumpGuestMemoryFormat_str[format]);
        return;
    }
    if (paging) {
        error_setg(errp, "dump-guest-memory: paging=true (following the "
                   "guest's page tables) is not supported");
        return;
    }
    if (has_begin || has_length) {
        error_setg(errp, "parameter 'begin' and 'length' are only valid "
                   "with paging");
        return;
    }
    if (dump_state.status == DUMP_STATUS_ACTIVE) {
        error_setg(errp, "there is a dump in process, please wait");
        return;
    }
    if (!current_machine || !current_machine->ram_size) {
        error_setg(errp, "dump-guest-memory: the machine has no RAM");
        return;
    }
    if (g_str_has_prefix(protocol, "fd:")) {
        fd = monitor_fd_take(protocol + 3, errp);    /* a getfd name */
        if (fd < 0) {
            return;
        }
    } else if (g_str_has_prefix(protocol, "file:")) {
        fd = qemu_open(protocol + 5, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0) {
            error_setg(errp, "dump: %s: %s", protocol + 5, g_strerror(errno));
            return;
        }
    } else {
        error_setg(errp, "Invalid parameter 'protocol' (file:PATH or "
                   "fd:NAME)");
        return;
    }
    dump_state.status = DUMP_STATUS_ACTIVE;
    dump_state.completed = dump_state.total = 0;
    /* a consistent picture: the guest does not run while RAM is copied */
    was_running = runstate_is_running();
    if (was_running) {
        vm_stop(RUN_STATE_PAUSED);
    }
    dump_state.status = dump_elf(fd, &err) ? DUMP_STATUS_COMPLETED
                                           : DUMP_STATUS_FAILED;
    if (close(fd) < 0 && !err) {
        error_setg(&err, "dump: close: %s", g_strerror(errno));
        dump_state.status = DUMP_STATUS_FAILED;
    }
    if (was_running) {
        vm_start();
    }
    if (has_detach && detach) {
        /* the caller waits for DUMP_COMPLETED after our reply */
        main_loop_call(dump_completed_event, err);
        return;
    }
    if (err) {
        g_propagate_error(errp, err);
    }
}

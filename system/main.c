/*
 * kvmpc: command line -> machine configuration -> run.
 *
 * Options follow qemu-system-x86_64's spellings; see docs/options.md.
 * main() itself is in kvmpc.c: this file is part of kvmpc-core, so the
 * fuzz target that drives the whole machine in-process (fuzz/fuzz-pc.c)
 * builds it through the very same kvmpc_init() the binary runs.
 */
#include "qemu/osdep.h"
#include "qemu/uuid.h"
#include "qemu/keyval.h"
#include "qemu/version.h"
#include "hw/boards.h"
#include "hw/qdev.h"
#include "hw/i386/pc.h"
#include "chardev/char.h"
#include "migration/migration.h"
#include "monitor/monitor.h"
#include "net/net.h"
#include "system/accel.h"
#include "system/blockdev.h"
#include "block/block-backend.h"
#include "system/main-loop.h"
#include "system/memory.h"
#include "system/object.h"
#include "system/hostmem.h"
#include "system/numa.h"
#include "system/sandbox.h"
#include "system/runas.h"
#include "qemu/fdset.h"
#include "audio/audio.h"
#include "qapi/qapi-commands.h"
#include "system/qtest.h"
#include "system/runstate.h"
#include "system/vl.h"
#include "target/i386/cpu.h"
#include "ui/console.h"
#ifdef CONFIG_SPICE
#include "ui/spice.h"
#endif
#ifdef CONFIG_VNC
#include "ui/vnc.h"
#include "ui/input.h"
#include "migration/snapshot.h"
#ifdef CONFIG_SDL
#include "ui/sdl2.h"
#endif
#endif
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>

typedef struct MonitorOpt {
    char *spec;         /* chardev spec, or NULL when @chardev_id is set */
    char *chardev_id;   /* -mon chardev= */
    bool qmp;
    bool pretty;
} MonitorOpt;

typedef struct Options {
    MachineState *ms;
    GPtrArray *chardevs;        /* -chardev option strings */
    GPtrArray *objects;         /* -object option strings */
    GPtrArray *numa;            /* -numa option strings */
    GPtrArray *audiodevs;       /* -audiodev option strings */
    GPtrArray *audios;          /* -audio option strings */
    GPtrArray *soundhw;         /* -soundhw model lists */
    GPtrArray *serials;         /* -serial specs */
    GPtrArray *devices;         /* -device option strings */
    GPtrArray *drives;          /* -drive option strings (and -hda...) */
    GPtrArray *blockdevs;       /* -blockdev option strings */
    GPtrArray *monitors;        /* MonitorOpt * */
    char *debugcon;
    char *machine_opts;
    char *accel_opts;
    char *qtest_spec;
    char *qtest_log;
    char *pidfile;
    char *incoming;             /* -incoming URI or "defer" */
    char *loadvm;               /* -loadvm TAG */
    char *display;
    char *vga;                  /* -vga: "std" or "none"; NULL: default */
    GPtrArray *vnc;             /* -vnc / -display vnc= option strings */
    char *sdl;                  /* -display sdl options ("" for none) */
    char *keymap;               /* -k */
    char *spice;                /* -spice option string */
    bool nographic;
    bool nodefaults;
    bool usb;                   /* -usb: piix3-usb-uhci at 01.2 */
    GPtrArray *usbdevices;      /* -usbdevice NAME */
    bool start_paused;
    bool snapshot;              /* -snapshot: -drive snapshot=on by default */
    bool want_device_help;
    bool daemonize;             /* -daemonize */
    bool accel_given;           /* a later -accel adds an alternative */
    bool mem_lock;              /* -overcommit mem-lock=on */
    bool machine_help;          /* -machine TYPE,help */
    char *runas;                /* -runas USER */
    char *chroot_dir;           /* -chroot DIR */
    GPtrArray *firmware_dirs;
} Options;

static G_NORETURN void die(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static void die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_vreport(fmt, ap);
    va_end(ap);
    exit(1);
}

static G_NORETURN void die_err(const char *opt, GError *err)
{
    if (opt) {
        die("%s: %s", opt, err->message);
    }
    die("%s", err->message);
}

static void print_version(void)
{
    printf("QEMU emulator version " QEMU_COMPAT_VERSION " (kvmpc "
           KVMPC_VERSION ")\n"
           "kvmpc is a KVM-based PC emulator compatible with "
           "qemu-system-x86_64.\n");
}

static void print_help(void)
{
    print_version();
    printf("usage: kvmpc [options]\n\n"
        "Standard options:\n"
        "-h or -help             display this help and exit\n"
        "-version                display version information and exit\n"
        "-machine [type=]name[,prop=value...]  machine type (-machine help)\n"
        "                        props: accel=kvm|qtest, kernel_irqchip=on|split|off,\n"
        "                        firmware-boot=on|off\n"
        "-accel kvm|qtest[,kernel-irqchip=on|split|off][,dirty-ring-size=N]\n"
        "                        accelerator (-enable-kvm = -accel kvm);\n"
        "                        dirty-ring-size: KVM dirty ring entries per\n"
        "                        vCPU (power of two; 0 = dirty bitmap, default)\n"
        "-cpu model[,+feat,-feat,feat=on|off]  CPU model (-cpu help)\n"
        "-smp [cpus=]n[,sockets=s][,dies=d][,cores=c][,threads=t][,maxcpus=m]\n"
        "-m [size=]megs[M|G]     guest RAM (default 128M)\n"
        "-name string            guest name\n"
        "-uuid uuid              system UUID\n"
        "-S                      do not start the CPUs (use 'cont')\n"
        "-no-reboot              exit instead of rebooting\n"
        "-no-shutdown            stop, do not exit, on guest shutdown\n"
        "\nBoot:\n"
        "-kernel file            Multiboot, bzImage or PVH ELF kernel\n"
        "-initrd file            initial ram disk (Multiboot: modules, comma-separated)\n"
        "-append cmdline         kernel command line\n"
        "-bios file              firmware image (default: SeaBIOS bios-256k.bin)\n"
        "-L path                 directory for firmware images\n"
        "-option-rom file        load an option ROM\n"
        "-boot [order=drives][,menu=on|off][,splash-time=ms][,strict=on|off]\n"
        "-fw_cfg name=opt/x,file=path|string=text\n"
        "-smbios type=N,field=value...\n"
        "-rtc base=utc|localtime|date\n"
        "-no-hpet                no HPET\n"
        "-no-acpi                no ACPI (-machine acpi=off)\n"
        "\nDevices and I/O:\n"
        "-device driver[,prop=value...]  add a device (-device help)\n"
        "-object type,id=id[,prop=value...]  rng-random, rng-builtin, iothread\n"
        "-drive file=path[,format=raw|qcow2][,if=ide|none][,media=disk|cdrom]\n"
        "       [,index=i][,bus=b][,unit=u][,id=id][,readonly=on|off][,cache=mode]\n"
        "       [,werror=report|ignore|enospc|stop][,rerror=report|ignore|stop]\n"
        "-blockdev driver=file|raw|qcow2|blkdebug,node-name=N[,...]  (or JSON)\n"
        "-hda/-hdb/-hdc/-hdd file  IDE disk at index 0/1/2/3\n"
        "-cdrom file             IDE CD-ROM at index 2\n"
        "-fda/-fdb file          floppy disk A/B (-drive if=floppy,index=0/1)\n"
        "-global driver.prop=value  default property value for a device type\n"
        "-chardev backend,id=id[,opts]   character device\n"
        "-audiodev DRIVER,id=ID[,timer-period=US][,out.frequency=HZ]\n"
        "          [,out.channels=N][,out.format=FMT][,in.*][,path=F]\n"
        "                        audio back end: none, wav (and those built:\n"
        "                        -audiodev help)\n"
        "-audio [driver=]DRIVER[,model=hda|ac97|pcspk]  an audiodev and a "
        "sound device\n"
        "-netdev user|tap|bridge|socket|stream|dgram|hubport,id=str[,opts]\n"
        "                        network backend (docs/net.md)\n"
        "-nic TYPE[,model=name][,mac=addr][,opts]  NIC and backend in one\n"
        "-net nic[,model=name][,macaddr=addr]|TYPE[,opts]|none  legacy hub 0\n"
        "-serial dev             serial port (stdio, file:path, null, none, ...)\n"
        "-debugcon dev           Bochs debug console on port 0xe9\n"
        "-nographic              no display; serial and monitor on stdio\n"
        "-display none|vnc=OPTS|sdl[,gl=off][,grab-mod=..][,show-cursor=on][,window-close=off]\n"
        "                        display front end (-sdl: -display sdl)\n"
        "-k LANG                 keyboard layout for VNC keysyms (en-us, de, fr, ...)\n"
        "-vga std|none           VGA card (default std; -nodefaults: none)\n"
        "-vnc [host]:N|unix:path[,password=on][,to=L][,share=...][,websocket=on|port]\n"
        "                        VNC server on port 5900+N (docs/display.md)\n"
        "-spice port=N[,addr=A][,unix=on][,password-secret=ID][,disable-ticketing=on]\n"
        "                        SPICE server (docs/display.md)\n"
        "-nodefaults             create no default devices\n"
        "-usb                    PIIX3 USB (UHCI) controller at 01.2\n"
        "-usbdevice tablet|mouse|keyboard  a USB device on it (docs/usb.md)\n"
        "-qmp dev                QMP monitor on dev (e.g. unix:path,server=on,wait=off)\n"
        "-qmp-pretty dev         QMP with pretty-printed JSON\n"
        "-monitor dev            human monitor on dev\n"
        "-mon chardev=id[,mode=control|readline][,pretty=on]\n"
        "-qtest dev              qtest protocol server (with -accel qtest)\n"
        "-pidfile file           write the process id to file\n"
        "-runas user|uid:gid     drop to that user once start-up is done\n"
        "-chroot dir             chroot to dir once start-up is done\n"
        "-incoming uri|defer     wait for a migration stream (tcp:, unix:,\n"
        "                        exec:, file:, fd:; see docs/migration.md)\n"
        "-loadvm tag             start from the internal snapshot tag\n"
        "\nSee docs/options.md for the full reference.\n");
}

static const char *need_arg(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        die("%s: requires an argument", argv[*i]);
    }
    return argv[++*i];
}

/*
 * -m [size=]S[,slots=N][,maxmem=M] (QEMU 7.2): a size without a suffix
 * is in MiB, maxmem= in bytes unless suffixed; slots= and maxmem= are
 * checked against the final RAM size in machine_check_memory_options().
 */
static void parse_memory(MachineState *ms, const char *arg)
{
    g_autoptr(GHashTable) kv = keyval_parse(arg, "size", NULL);
    const char *size, *slots, *maxmem;
    GHashTableIter it;
    gpointer key;
    GError *err = NULL;
    uint64_t bytes;

    if (!kv) {
        die("-m %s: invalid option string", arg);
    }
    g_hash_table_iter_init(&it, kv);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        if (strcmp(key, "size") && strcmp(key, "slots") &&
            strcmp(key, "maxmem")) {
            die("-m %s: Invalid parameter '%s'", arg, (const char *)key);
        }
    }
    size = g_hash_table_lookup(kv, "size");
    slots = g_hash_table_lookup(kv, "slots");
    maxmem = g_hash_table_lookup(kv, "maxmem");
    if (size) {
        if (!parse_size(size, MiB, &bytes, &err)) {
            die("-m %s: %s", arg, err->message);
        }
        if (bytes < 1 * MiB) {
            die("-m %s: at least 1 MiB of RAM is required", arg);
        }
        if (bytes > 1024 * GiB) {
            die("-m %s: RAM size too large (max 1 TiB)", arg);
        }
        ms->ram_size = ALIGN_UP(bytes, 8192);
    } else if (!slots && !maxmem) {
        die("-m %s: missing size", arg);
    }
    ms->ram_slots = 0;
    ms->maxram_size = 0;
    ms->ram_slots_set = slots != NULL;
    if (slots && (!parse_uint(slots, &ms->ram_slots, NULL))) {
        die("-m %s: Parameter 'slots' expects a number", arg);
    }
    if (maxmem) {
        if (!parse_size(maxmem, 1, &ms->maxram_size, &err)) {
            die("-m %s: Parameter 'maxmem' expects a size", arg);
        }
        if (!ms->maxram_size) {
            die("-m %s: invalid value of maxmem: maximum memory size "
                "must be greater than zero", arg);
        }
    }
}

/* One -smp number; -1 if absent (or 0, deprecated). */
static long smp_field(GHashTable *kv, const char *key, const char *arg)
{
    const char *v = g_hash_table_lookup(kv, key);
    uint64_t n;

    if (!v) {
        return -1;
    }
    if (!parse_uint(v, &n, NULL) || n > 4096) {
        die("-smp %s: invalid %s '%s'", arg, key, v);
    }
    if (n == 0) {
        /* QEMU 7.2 still takes it (as if omitted), with a warning */
        error_report("warning: Deprecated CPU topology (considered "
                     "invalid): CPU topology parameters must be greater "
                     "than zero");
        return -1;
    }
    return n;
}

static char *smp_hierarchy(unsigned sockets, unsigned dies, unsigned cores,
                           unsigned threads)
{
    return g_strdup_printf("sockets (%u) * dies (%u) * cores (%u) * "
                           "threads (%u)", sockets, dies, cores, threads);
}

/*
 * QEMU 7.2's rules (hw/core/machine-smp.c behaviour): omitted levels are
 * 1, except that with a CPU count cores (then sockets, then threads)
 * take what is left; clusters exist but a PC has one per die; the
 * errors are QEMU's.
 */
static void parse_smp(MachineState *ms, const char *arg)
{
    g_autoptr(GHashTable) kv = keyval_parse(arg, "cpus", NULL);
    SmpConfig *s = &ms->smp;
    long cpus, sockets, dies, clusters, cores, threads, maxcpus;
    g_autofree char *topo = NULL;

    if (!kv) {
        die("-smp %s: invalid option string", arg);
    }
    cpus = smp_field(kv, "cpus", arg);
    sockets = smp_field(kv, "sockets", arg);
    dies = smp_field(kv, "dies", arg);
    clusters = smp_field(kv, "clusters", arg);
    cores = smp_field(kv, "cores", arg);
    threads = smp_field(kv, "threads", arg);
    maxcpus = smp_field(kv, "maxcpus", arg);
    if (clusters > 1) {
        die("clusters not supported by this machine's CPU topology");
    }
    dies = dies > 0 ? dies : 1;
    if (cpus < 0 && maxcpus < 0) {
        sockets = sockets > 0 ? sockets : 1;
        cores = cores > 0 ? cores : 1;
        threads = threads > 0 ? threads : 1;
    } else {
        maxcpus = maxcpus > 0 ? maxcpus : cpus;
        /* cores before sockets, as QEMU since 6.2 */
        if (cores < 0) {
            sockets = sockets > 0 ? sockets : 1;
            threads = threads > 0 ? threads : 1;
            cores = maxcpus / (sockets * dies * threads);
        } else if (sockets < 0) {
            threads = threads > 0 ? threads : 1;
            sockets = maxcpus / (dies * cores * threads);
        }
        if (threads < 0) {
            threads = maxcpus / (sockets * dies * cores);
        }
    }
    maxcpus = maxcpus > 0 ? maxcpus : sockets * dies * cores * threads;
    cpus = cpus > 0 ? cpus : maxcpus;
    topo = smp_hierarchy(sockets, dies, cores, threads);
    if (sockets * dies * cores * threads != maxcpus) {
        die("Invalid CPU topology: product of the hierarchy must match "
            "maxcpus: %s != maxcpus (%ld)", topo, maxcpus);
    }
    if (maxcpus < cpus) {
        die("Invalid CPU topology: maxcpus must be equal to or greater "
            "than smp: %s == maxcpus (%ld) < smp_cpus (%ld)", topo, maxcpus,
            cpus);
    }
    *s = (SmpConfig){ cpus, sockets, dies, cores, threads, maxcpus };
}

static void apply_machine_opts(Options *o, const char *arg)
{
    MachineState *ms = o->ms;
    g_autoptr(GPtrArray) kv = keyval_parse_list(arg, "type", NULL);

    if (!kv) {
        die("-machine %s: invalid option string", arg);
    }
    for (unsigned i = 0; i < kv->len; i++) {
        KeyValPair *p = g_ptr_array_index(kv, i);
        GError *err = NULL;
        bool b;

        if (!strcmp(p->key, "type")) {
            if (!strcmp(p->value, "help")) {
                GPtrArray *list = machine_type_list();
                printf("Supported machines are:\n");
                for (unsigned j = 0; j < list->len; j++) {
                    const MachineType *mt = g_ptr_array_index(list, j);
                    if (mt->alias) {
                        printf("%-20s %s (alias of %s)\n", mt->alias,
                               mt->desc, mt->name);
                    }
                    printf("%-20s %s%s\n", mt->name, mt->desc,
                           mt->is_default ? " (default)" : "");
                }
                exit(0);
            }
            ms->type = machine_type_find(p->value);
            if (!ms->type) {
                die("-machine %s: unsupported machine type '%s' "
                    "(-machine help lists them)", arg, p->value);
            }
        } else if (!strcmp(p->key, "accel")) {
            g_free(ms->accel);
            ms->accel = g_strdup(p->value);
        } else if (!strcmp(p->key, "kernel_irqchip") ||
                   !strcmp(p->key, "kernel-irqchip")) {
            if (!kernel_irqchip_parse(p->value, &ms->kernel_irqchip)) {
                die("-machine %s: Parameter 'kernel-irqchip' expects 'on', "
                    "'off' or 'split'", arg);
            }
        } else if (!strcmp(p->key, "memory-backend")) {
            g_free(ms->memory_backend);
            ms->memory_backend = g_strdup(p->value);
        } else if (!strcmp(p->key, "dump-guest-core")) {
            if (!parse_bool(p->value, &ms->dump_guest_core, &err)) {
                die_err("-machine", err);
            }
        } else if (!strcmp(p->key, "usb")) {
            /* QEMU's machine switch: -usb is usb=on (libvirt: usb=off) */
            if (!parse_bool(p->value, &o->usb, &err)) {
                die_err("-machine", err);
            }
        } else if (!strcmp(p->key, "help")) {
            o->machine_help = true;     /* printed once the type is known */
        } else if (!strcmp(p->key, "firmware-boot")) {
            if (!parse_bool(p->value, &b, &err)) {
                die_err("-machine", err);
            }
            pc_config.firmware_boot = b;
        } else {
            /* The machine type's properties: machine_props_apply() checks
             * them once the type is known (hw/core/machine-props.c). */
            g_hash_table_insert(ms->props, g_strdup(p->key),
                                g_strdup(p->value));
        }
    }
}

/*
 * -accel kvm,dirty-ring-size=N: entries per vCPU, 0 (QEMU's default) for
 * the bitmap log, else a power of two (QEMU's checks and texts; the
 * host's maximum is checked when KVM starts, accel/kvm/kvm-dirty-ring.c).
 */
static uint32_t parse_dirty_ring_size(const char *arg, const char *value)
{
    uint64_t v;

    if (!parse_uint(value, &v, NULL) || v > UINT32_MAX) {
        die("-accel %s: Parameter 'dirty-ring-size' expects uint32_t", arg);
    }
    if (v & (v - 1)) {
        die("-accel %s: dirty-ring-size must be a power of two.", arg);
    }
    return v;
}

static void apply_accel_opts(Options *o, const char *arg)
{
    g_autoptr(GPtrArray) kv = keyval_parse_list(arg, "accel", NULL);

    if (!kv) {
        die("-accel %s: invalid option string", arg);
    }
    for (unsigned i = 0; i < kv->len; i++) {
        KeyValPair *p = g_ptr_array_index(kv, i);

        if (!strcmp(p->key, "accel")) {
            if (!strcmp(p->value, "help")) {
                printf("Accelerators supported in kvmpc:\nkvm\nqtest\n"
                       "tcg (only for -machine none, which runs no guest "
                       "code)\n");
                exit(0);
            }
            /* Several -accel options are alternatives, tried in order. */
            char *list = o->accel_given ?
                g_strdup_printf("%s:%s", o->ms->accel, p->value) :
                g_strdup(p->value);
            g_free(o->ms->accel);
            o->ms->accel = list;
            o->accel_given = true;
        } else if (!strcmp(p->key, "kernel-irqchip")) {
            if (!kernel_irqchip_parse(p->value, &o->ms->kernel_irqchip)) {
                die("-accel %s: Parameter 'kernel-irqchip' expects 'on', "
                    "'off' or 'split'", arg);
            }
        } else if (!strcmp(p->key, "dirty-ring-size")) {
            o->ms->kvm_dirty_ring_size = parse_dirty_ring_size(arg, p->value);
        } else {
            die("-accel %s: Property '%s' not found", arg, p->key);
        }
    }
}

static bool keyval_bool(GHashTable *kv, const char *key, const char *opt,
                        const char *arg, bool dflt)
{
    const char *v = g_hash_table_lookup(kv, key);
    GError *err = NULL;
    bool b = dflt;

    if (v && !parse_bool(v, &b, &err)) {
        die("%s %s: %s", opt, arg, err->message);
    }
    return b;
}

/* Keys of @kv that are not in @known: QEMU's "Invalid parameter" error. */
static void keyval_check_keys(GHashTable *kv, const char *const *known,
                              const char *opt, const char *arg)
{
    GHashTableIter it;
    gpointer key;

    g_hash_table_iter_init(&it, kv);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        if (!g_strv_contains(known, key)) {
            die("%s %s: Invalid parameter '%s'", opt, arg, (char *)key);
        }
    }
}

/* -name [guest=]NAME[,process=PNAME][,debug-threads=on|off] */
static void parse_name(MachineState *ms, const char *arg)
{
    static const char *const known[] = { "guest", "process",
                                         "debug-threads", NULL };
    g_autoptr(GHashTable) kv = keyval_parse(arg, "guest", NULL);
    const char *process;

    if (!kv) {
        die("-name %s: invalid option string", arg);
    }
    keyval_check_keys(kv, known, "-name", arg);
    g_free(ms->name);
    ms->name = g_strdup(g_hash_table_lookup(kv, "guest"));
    process = g_hash_table_lookup(kv, "process");
    if (process) {
        prctl(PR_SET_NAME, process, 0, 0, 0);   /* ps/top show it */
    }
    thread_naming_enabled = keyval_bool(kv, "debug-threads", "-name", arg,
                                        false);
}

/* -msg timestamp=on|off,guest-name=on|off: error message prefixes. */
static void parse_msg(const char *arg)
{
    static const char *const known[] = { "timestamp", "guest-name", NULL };
    g_autoptr(GHashTable) kv = keyval_parse(arg, "timestamp", NULL);

    if (!kv) {
        die("-msg %s: invalid option string", arg);
    }
    keyval_check_keys(kv, known, "-msg", arg);
    message_with_timestamp = keyval_bool(kv, "timestamp", "-msg", arg, false);
    /* the name is known once -name is parsed: see kvmpc_init() */
    if (keyval_bool(kv, "guest-name", "-msg", arg, false)) {
        message_guest_name = "";
    }
}

/* -action reboot=reset|shutdown,shutdown=poweroff|pause,panic=,watchdog=:
 * what set-action does, from the start (the same rules, in one place). */
static void parse_action(const char *arg)
{
    static const char *const known[] = { "reboot", "shutdown", "panic",
                                         "watchdog", NULL };
    g_autoptr(GHashTable) kv = keyval_parse(arg, NULL, NULL);
    const char *v;
    GError *err = NULL;
    int reboot = -1, shutdown = -1, panic = -1, watchdog = -1;

    if (!kv) {
        die("-action %s: invalid option string", arg);
    }
    keyval_check_keys(kv, known, "-action", arg);
#define LOOKUP(key, var, table)                                         \
    if ((v = g_hash_table_lookup(kv, key)) &&                           \
        (var = qapi_enum_parse(&table, v, -1, NULL)) < 0) {             \
        die("-action %s: Parameter '%s' does not accept value '%s'",    \
            arg, key, v);                                               \
    }
    LOOKUP("reboot", reboot, RebootAction_lookup)
    LOOKUP("shutdown", shutdown, ShutdownAction_lookup)
    LOOKUP("panic", panic, PanicAction_lookup)
    LOOKUP("watchdog", watchdog, WatchdogAction_lookup)
#undef LOOKUP
    qmp_set_action(reboot >= 0, reboot, shutdown >= 0, shutdown,
                   panic >= 0, panic, watchdog >= 0, watchdog, &err);
    if (err) {
        die_err("-action", err);
    }
}

/* -add-fd fd=N,set=S[,opaque=TEXT]: an inherited descriptor into fdset S
 * (opened later as /dev/fdset/S). */
static void parse_add_fd(const char *arg)
{
    static const char *const known[] = { "fd", "set", "opaque", NULL };
    g_autoptr(GHashTable) kv = keyval_parse(arg, NULL, NULL);
    const char *fd = kv ? g_hash_table_lookup(kv, "fd") : NULL;
    const char *set = kv ? g_hash_table_lookup(kv, "set") : NULL;
    uint64_t nfd, nset;
    GError *err = NULL;

    if (!kv) {
        die("-add-fd %s: invalid option string", arg);
    }
    keyval_check_keys(kv, known, "-add-fd", arg);
    if (!fd || !parse_uint(fd, &nfd, NULL) || nfd > INT_MAX) {
        die("-add-fd %s: fd option is required and must be a number", arg);
    }
    if (!set || !parse_uint(set, &nset, NULL) || nset > INT64_MAX) {
        die("-add-fd %s: set option is required and must be a number", arg);
    }
    if (!fdset_add_fd(nset, nfd, g_hash_table_lookup(kv, "opaque"), &err)) {
        die_err("-add-fd", err);
    }
}

/* -overcommit mem-lock=on|off,cpu-pm=on|off */
static void parse_overcommit(Options *o, const char *arg)
{
    static const char *const known[] = { "mem-lock", "cpu-pm", NULL };
    g_autoptr(GHashTable) kv = keyval_parse(arg, NULL, NULL);

    if (!kv) {
        die("-overcommit %s: invalid option string", arg);
    }
    keyval_check_keys(kv, known, "-overcommit", arg);
    o->mem_lock = keyval_bool(kv, "mem-lock", "-overcommit", arg, false);
    if (keyval_bool(kv, "cpu-pm", "-overcommit", arg, false)) {
        /* Letting the guest's HLT/MWAIT/PAUSE run without exits needs
         * KVM_CAP_X86_DISABLE_EXITS wiring that kvmpc does not have yet. */
        die("-overcommit %s: cpu-pm=on is not supported by kvmpc yet", arg);
    }
}

static void add_monitor(Options *o, const char *spec, bool qmp, bool pretty)
{
    MonitorOpt *m = g_new0(MonitorOpt, 1);

    m->spec = g_strdup(spec);
    m->qmp = qmp;
    m->pretty = pretty;
    g_ptr_array_add(o->monitors, m);
}

static void parse_mon(Options *o, const char *arg)
{
    g_autoptr(GHashTable) kv = keyval_parse(arg, "chardev", NULL);
    const char *mode, *pretty;
    MonitorOpt *m;
    GError *err = NULL;

    if (!kv || !g_hash_table_lookup(kv, "chardev")) {
        die("-mon %s: Parameter 'chardev' is missing", arg);
    }
    m = g_new0(MonitorOpt, 1);
    m->chardev_id = g_strdup(g_hash_table_lookup(kv, "chardev"));
    mode = g_hash_table_lookup(kv, "mode");
    if (!mode || !strcmp(mode, "readline")) {
        m->qmp = false;
    } else if (!strcmp(mode, "control")) {
        m->qmp = true;
    } else {
        die("-mon %s: Parameter 'mode' does not accept value '%s'", arg, mode);
    }
    pretty = g_hash_table_lookup(kv, "pretty");
    if (pretty && !parse_bool(pretty, &m->pretty, &err)) {
        die_err("-mon", err);
    }
    g_ptr_array_add(o->monitors, m);
}

static void parse_display(Options *o, const char *arg)
{
    g_autofree char *type = g_strndup(arg, strcspn(arg, ","));

    if (!strcmp(type, "none")) {
        g_free(o->display);
        o->display = g_strdup("none");
#ifdef CONFIG_SDL
    } else if (!strcmp(type, "sdl")) {
        GError *err = NULL;
        const char *comma = strchr(arg, ',');
        if (!sdl_display_parse(comma ? comma + 1 : "", &err)) {
            die_err(NULL, err);
        }
        g_free(o->display);
        o->display = g_strdup("sdl");
#endif
#ifdef CONFIG_VNC
    } else if (!strcmp(type, "web")) {
        /*
         * kvmpc's own: the browser console alone, a VNC server whose
         * websocket port serves noVNC (docs/display.md); local by default
         */
        g_autoptr(GHashTable) kv = keyval_parse(arg + 3 + (arg[3] == ','),
                                                NULL, NULL);
        const char *port, *addr;
        static const char *const known[] = { "port", "addr", NULL };
        if (!kv) {
            die("-display %s: invalid options", arg);
        }
        keyval_check_keys(kv, known, "-display", arg);
        port = g_hash_table_lookup(kv, "port");
        addr = g_hash_table_lookup(kv, "addr");
        if (!addr) {
            addr = "127.0.0.1";
        }
        g_ptr_array_add(o->vnc, g_strdup_printf(
            "%s%s%s:0,to=99,id=web,websocket=%s%s%s:%s",
            strchr(addr, ':') ? "[" : "", addr, strchr(addr, ':') ? "]" : "",
            strchr(addr, ':') ? "[" : "", addr, strchr(addr, ':') ? "]" : "",
            port ? port : "5700"));
    } else if (g_str_has_prefix(arg, "vnc=")) {
        /* a remote display next to the (absent) local one, as QEMU */
        g_ptr_array_add(o->vnc, g_strdup(arg + 4));
#endif
    } else if (!strcmp(type, "help")) {
        printf("Available display backend types:\nnone\n");
#ifdef CONFIG_SDL
        printf("sdl\n");
#endif
#ifdef CONFIG_VNC
        printf("vnc (as -display vnc=OPTIONS)\n");
        printf("web[,port=N][,addr=A] (the browser console)\n");
#endif
        exit(0);
    } else {
        die("-display %s: display '%s' is not available in this build "
            "(available: none%s%s)", arg, type,
#ifdef CONFIG_SDL
            ", sdl",
#else
            "",
#endif
#ifdef CONFIG_VNC
            ", vnc="
#else
            ""
#endif
            );
    }
}

/*
 * -hdX FILE / -cdrom FILE / -fdX FILE are QEMU's shorthands for -drive
 * with an index.  The file name goes through the same parser, so commas
 * in it are doubled as QEMU wants.
 */
static void add_drive_spec(Options *o, int index, const char *file,
                           const char *kind)
{
    g_autoptr(GString) spec = g_string_new("file=");

    for (const char *p = file; *p; p++) {
        g_string_append_c(spec, *p);
        if (*p == ',') {
            g_string_append_c(spec, ',');
        }
    }
    g_string_append_printf(spec, ",index=%d,%s", index, kind);
    g_ptr_array_add(o->drives, g_string_free(g_steal_pointer(&spec), false));
}

static void add_drive_shortcut(Options *o, int index, const char *file,
                               bool cdrom)
{
    add_drive_spec(o, index, file, cdrom ? "media=cdrom" : "media=disk");
}

static void parse_args(Options *o, int argc, char **argv)
{
    MachineState *ms = o->ms;

    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        GError *err = NULL;

        /* QEMU accepts --opt as -opt. */
        if (opt[0] == '-' && opt[1] == '-') {
            opt++;
        }
        if (opt[0] != '-') {
            /* A bare argument is the hda image in QEMU. */
            add_drive_shortcut(o, 0, opt, false);
            continue;
        }
#define IS(name) (!strcmp(opt, name))
        if (IS("-h") || IS("-help")) {
            print_help();
            exit(0);
        } else if (IS("-version")) {
            print_version();
            exit(0);
        } else if (IS("-machine") || IS("-M")) {
            apply_machine_opts(o, need_arg(argc, argv, &i));
        } else if (IS("-accel")) {
            apply_accel_opts(o, need_arg(argc, argv, &i));
        } else if (IS("-enable-kvm")) {
            g_free(ms->accel);
            ms->accel = g_strdup("kvm");
        } else if (IS("-m")) {
            parse_memory(ms, need_arg(argc, argv, &i));
        } else if (IS("-smp")) {
            parse_smp(ms, need_arg(argc, argv, &i));
        } else if (IS("-cpu")) {
            g_free(ms->cpu_model);
            ms->cpu_model = g_strdup(need_arg(argc, argv, &i));
        } else if (IS("-kernel")) {
            ms->kernel_filename = g_strdup(need_arg(argc, argv, &i));
        } else if (IS("-initrd")) {
            ms->initrd_filename = g_strdup(need_arg(argc, argv, &i));
        } else if (IS("-append")) {
            ms->kernel_cmdline = g_strdup(need_arg(argc, argv, &i));
        } else if (IS("-bios")) {
            ms->firmware = g_strdup(need_arg(argc, argv, &i));
        } else if (IS("-L")) {
            g_ptr_array_add(o->firmware_dirs,
                            g_strdup(need_arg(argc, argv, &i)));
        } else if (IS("-option-rom")) {
            g_ptr_array_add(ms->option_roms,
                            g_strdup(need_arg(argc, argv, &i)));
        } else if (IS("-boot")) {
            g_free(ms->boot_order);
            ms->boot_order = g_strdup(need_arg(argc, argv, &i));
        } else if (IS("-fw_cfg")) {
            g_ptr_array_add(ms->fw_cfg_items,
                            g_strdup(need_arg(argc, argv, &i)));
        } else if (IS("-smbios")) {
            g_ptr_array_add(ms->smbios_opts,
                            g_strdup(need_arg(argc, argv, &i)));
        } else if (IS("-rtc")) {
            g_free(ms->rtc_base);
            ms->rtc_base = g_strdup(need_arg(argc, argv, &i));
        } else if (IS("-no-hpet")) {
            ms->enable_hpet = false;
        } else if (IS("-no-acpi")) {
            /* QEMU 7.2's spelling of -machine acpi=off */
            g_hash_table_insert(ms->props, g_strdup("acpi"), g_strdup("off"));
        } else if (IS("-runas")) {
            g_free(o->runas);
            o->runas = g_strdup(need_arg(argc, argv, &i));
        } else if (IS("-chroot")) {
            g_free(o->chroot_dir);
            o->chroot_dir = g_strdup(need_arg(argc, argv, &i));
        } else if (IS("-name")) {
            parse_name(ms, need_arg(argc, argv, &i));
        } else if (IS("-no-user-config") || IS("-nodefconfig")) {
            /* kvmpc reads no configuration files: nothing to skip. */
        } else if (IS("-daemonize")) {
            o->daemonize = true;
        } else if (IS("-audiodev")) {
            const char *a = need_arg(argc, argv, &i);
            if (!strcmp(a, "help")) {
                char *names = audio_driver_names();
                printf("Available audio drivers:\n%s\n", names);
                g_free(names);
                exit(0);
            }
            g_ptr_array_add(o->audiodevs, g_strdup(a));
        } else if (IS("-audio")) {
            const char *a = need_arg(argc, argv, &i);
            if (!strcmp(a, "help") || strstr(a, "model=help")) {
                printf("Valid audio models:\n"
                       "hda   Intel HD Audio (intel-hda + hda-duplex)\n"
                       "ac97  Intel 82801AA AC97 Audio\n"
                       "pcspk PC speaker\n");
                exit(0);
            }
            g_ptr_array_add(o->audios, g_strdup(a));
        } else if (IS("-soundhw")) {
            const char *a = need_arg(argc, argv, &i);
            if (!strcmp(a, "help")) {
                printf("Valid sound card names (comma separated):\n"
                       "ac97        Intel 82801AA AC97 Audio\n"
                       "hda         Intel HD Audio\n"
                       "pcspk       PC speaker\n");
                exit(0);
            }
            g_ptr_array_add(o->soundhw, g_strdup(a));
        } else if (IS("-sandbox")) {
            GError *serr = NULL;
            if (!sandbox_parse(need_arg(argc, argv, &i), &serr)) {
                die_err("-sandbox", serr);
            }
        } else if (IS("-msg")) {
            parse_msg(need_arg(argc, argv, &i));
        } else if (IS("-add-fd")) {
            parse_add_fd(need_arg(argc, argv, &i));
        } else if (IS("-action")) {
            parse_action(need_arg(argc, argv, &i));
        } else if (IS("-overcommit")) {
            parse_overcommit(o, need_arg(argc, argv, &i));
        } else if (IS("-uuid")) {
            const char *u = need_arg(argc, argv, &i);
            if (!uuid_parse(u, ms->uuid)) {
                die("-uuid %s: Fail to parse UUID string", u);
            }
            ms->uuid_set = true;
        } else if (IS("-S")) {
            o->start_paused = true;
        } else if (IS("-snapshot")) {
            o->snapshot = true;
        } else if (IS("-no-reboot")) {
            no_reboot = true;
        } else if (IS("-no-shutdown")) {
            no_shutdown = true;
        } else if (IS("-device")) {
            const char *d = need_arg(argc, argv, &i);
            if (!strcmp(d, "help") || !strcmp(d, "?")) {
                g_autofree char *help = device_help_all();
                fputs(help, stdout);
                exit(0);
            }
            if (g_str_has_suffix(d, ",help") || g_str_has_suffix(d, ",?")) {
                g_autofree char *name = g_strndup(d, strcspn(d, ","));
                const DeviceType *t = device_type_find(name);
                if (!t || t->abstract) {
                    die("-device %s: '%s' is not a valid device model name",
                        d, name);
                }
                g_autofree char *help = device_type_help(t);
                fputs(help, stdout);
                exit(0);
            }
            g_ptr_array_add(o->devices, g_strdup(d));
        } else if (IS("-blockdev")) {
            g_ptr_array_add(o->blockdevs, g_strdup(need_arg(argc, argv, &i)));
        } else if (IS("-drive")) {
            g_ptr_array_add(o->drives, g_strdup(need_arg(argc, argv, &i)));
        } else if (IS("-hda") || IS("-hdb") || IS("-hdc") || IS("-hdd")) {
            add_drive_shortcut(o, opt[3] - 'a', need_arg(argc, argv, &i),
                               false);
        } else if (IS("-cdrom")) {
            add_drive_shortcut(o, 2, need_arg(argc, argv, &i), true);
        } else if (IS("-fda") || IS("-fdb")) {
            add_drive_spec(o, opt[3] - 'a', need_arg(argc, argv, &i),
                           "if=floppy");
        } else if (IS("-global")) {
            if (!device_add_global(need_arg(argc, argv, &i), &err)) {
                die_err("-global", err);
            }
        } else if (IS("-numa")) {
            g_ptr_array_add(o->numa, g_strdup(need_arg(argc, argv, &i)));
        } else if (IS("-object")) {
            g_ptr_array_add(o->objects, g_strdup(need_arg(argc, argv, &i)));
        } else if (IS("-netdev")) {
            const char *a = need_arg(argc, argv, &i);
            if (!strcmp(a, "help") || !strcmp(a, "?")) {
                printf("Available netdev backend types:\nsocket\nstream\n"
                       "dgram\nhubport\ntap\nbridge\n"
#ifdef CONFIG_SLIRP
                       "user\n"
#endif
                       );
                exit(0);
            }
            net_option_netdev(a);
        } else if (IS("-nic")) {
            net_option_nic(need_arg(argc, argv, &i));
        } else if (IS("-net")) {
            net_option_net(need_arg(argc, argv, &i));
        } else if (IS("-chardev")) {
            g_ptr_array_add(o->chardevs, g_strdup(need_arg(argc, argv, &i)));
        } else if (IS("-serial")) {
            g_ptr_array_add(o->serials, g_strdup(need_arg(argc, argv, &i)));
        } else if (IS("-debugcon")) {
            g_free(o->debugcon);
            o->debugcon = g_strdup(need_arg(argc, argv, &i));
        } else if (IS("-nographic")) {
            o->nographic = true;
        } else if (IS("-display")) {
            parse_display(o, need_arg(argc, argv, &i));
        } else if (IS("-sdl")) {
            parse_display(o, "sdl");
        } else if (IS("-k")) {
            g_free(o->keymap);
            o->keymap = g_strdup(need_arg(argc, argv, &i));
        } else if (IS("-vga")) {
            const char *v = need_arg(argc, argv, &i);
            if (!strcmp(v, "help")) {
                printf("none                 no graphic card\n"
                       "std                  standard VGA (default)\n"
                       "virtio               Virtio VGA\n");
                exit(0);
            }
            if (strcmp(v, "none") && strcmp(v, "std") &&
                strcmp(v, "virtio")) {
                die("-vga %s: VGA type '%s' is not available in this build "
                    "(available: std, virtio, none)", v, v);
            }
            g_free(o->vga);
            o->vga = g_strdup(v);
        } else if (IS("-spice")) {
            const char *v = need_arg(argc, argv, &i);
#ifdef CONFIG_SPICE
            g_free(o->spice);
            o->spice = g_strdup(v);
#else
            die("-spice %s: SPICE support is not available in this build", v);
#endif
        } else if (IS("-vnc")) {
            const char *v = need_arg(argc, argv, &i);
#ifdef CONFIG_VNC
            g_ptr_array_add(o->vnc, g_strdup(v));
#else
            die("-vnc %s: VNC support is not available in this build", v);
#endif
        } else if (IS("-usb")) {
            o->usb = true;
        } else if (IS("-usbdevice")) {
            const char *d = need_arg(argc, argv, &i);
            static const char *const names[][2] = {
                { "tablet", "usb-tablet" }, { "mouse", "usb-mouse" },
                { "keyboard", "usb-kbd" },
            };
            const char *type = NULL;
            for (unsigned k = 0; k < G_N_ELEMENTS(names); k++) {
                if (!strcmp(d, names[k][0])) {
                    type = names[k][1];
                }
            }
            if (!type) {
                die("could not add USB device '%s'", d);
            }
            o->usb = true;      /* as QEMU: -usbdevice implies -usb */
            if (!o->usbdevices) {
                o->usbdevices = g_ptr_array_new();
            }
            g_ptr_array_add(o->usbdevices, (char *)type);
        } else if (IS("-nodefaults")) {
            o->nodefaults = true;
        } else if (IS("-qmp")) {
            add_monitor(o, need_arg(argc, argv, &i), true, false);
        } else if (IS("-qmp-pretty")) {
            add_monitor(o, need_arg(argc, argv, &i), true, true);
        } else if (IS("-monitor")) {
            add_monitor(o, need_arg(argc, argv, &i), false, false);
        } else if (IS("-mon")) {
            parse_mon(o, need_arg(argc, argv, &i));
        } else if (IS("-qtest")) {
            o->qtest_spec = g_strdup(need_arg(argc, argv, &i));
        } else if (IS("-qtest-log")) {
            o->qtest_log = g_strdup(need_arg(argc, argv, &i));
        } else if (IS("-loadvm")) {
            g_free(o->loadvm);
            o->loadvm = g_strdup(need_arg(argc, argv, &i));
        } else if (IS("-incoming")) {
            g_free(o->incoming);
            o->incoming = g_strdup(need_arg(argc, argv, &i));
        } else if (IS("-pidfile")) {
            o->pidfile = g_strdup(need_arg(argc, argv, &i));
        } else {
            die("%s: invalid option", argv[i]);
        }
#undef IS
        (void)err;
    }
}

static void options_init(Options *o)
{
    MachineState *ms = g_new0(MachineState, 1);

    ms->props = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    ms->accel = g_strdup("kvm");
    ms->kernel_irqchip = KERNEL_IRQCHIP_ON;
    ms->ram_size = 0;           /* the machine type's default unless -m */
    ms->dump_guest_core = true;
    ms->smp = (SmpConfig){ 1, 1, 1, 1, 1, 1 };
    ms->cpu_model = g_strdup("host");
    ms->option_roms = g_ptr_array_new_with_free_func(g_free);
    ms->fw_cfg_items = g_ptr_array_new_with_free_func(g_free);
    ms->smbios_opts = g_ptr_array_new_with_free_func(g_free);
    ms->boot_splash_time = -1;
    ms->enable_hpet = true;
    ms->acpi = true;
    ms->i8042 = true;
    ms->vmport = true;          /* vmport=auto, QEMU's default */
    ms->mem_merge = true;
    o->ms = ms;
    o->chardevs = g_ptr_array_new_with_free_func(g_free);
    o->objects = g_ptr_array_new_with_free_func(g_free);
    o->numa = g_ptr_array_new_with_free_func(g_free);
    o->audiodevs = g_ptr_array_new_with_free_func(g_free);
    o->audios = g_ptr_array_new_with_free_func(g_free);
    o->soundhw = g_ptr_array_new_with_free_func(g_free);
    o->serials = g_ptr_array_new_with_free_func(g_free);
    o->devices = g_ptr_array_new_with_free_func(g_free);
    o->drives = g_ptr_array_new_with_free_func(g_free);
    o->blockdevs = g_ptr_array_new_with_free_func(g_free);
    o->monitors = g_ptr_array_new();
    o->firmware_dirs = g_ptr_array_new_with_free_func(g_free);
    o->vnc = g_ptr_array_new_with_free_func(g_free);
}

static void check_kernel_options(MachineState *ms)
{
    if (!ms->kernel_filename && (ms->initrd_filename || ms->kernel_cmdline)) {
        die("%s cannot be used without -kernel",
            ms->initrd_filename ? "-initrd" : "-append");
    }
}

/* -object: rng backends and I/O threads, before the devices naming them. */
static void create_objects(Options *o)
{
    for (unsigned i = 0; i < o->objects->len; i++) {
        GError *err = NULL;
        if (!user_object_create_from_opts(g_ptr_array_index(o->objects, i),
                                          &err)) {
            die_err("-object", err);
        }
    }
}

/*
 * -audio [driver=]DRIVER[,model=MODEL][,AUDIODEV-PROPS]: QEMU 8's
 * shorthand for an audiodev (id "audiodev0" unless id= is given) and the
 * model's device on it.
 */
static void add_audio_model(Options *o, const char *opt, const char *model,
                            const char *id)
{
    if (!strcmp(model, "hda")) {
        g_ptr_array_add(o->devices, g_strdup("intel-hda"));
        g_ptr_array_add(o->devices,
                        g_strdup_printf("hda-duplex,audiodev=%s", id));
    } else if (!strcmp(model, "ac97")) {
        g_ptr_array_add(o->devices, g_strdup_printf("AC97,audiodev=%s", id));
    } else if (!strcmp(model, "pcspk")) {
        g_hash_table_insert(o->ms->props, g_strdup("pcspk-audiodev"),
                            g_strdup(id));
    } else {
        die("%s: unknown model '%s' (hda, ac97, pcspk)", opt, model);
    }
}

/*
 * -soundhw MODEL[,MODEL...]: QEMU 7.0's form (7.1 dropped it), which
 * libvirt 9.0 still passes for <sound model='pcspk'/>.  Each model's
 * device plays on the first -audiodev, as QEMU 7.0's did on its default
 * one (with none, a "none" audiodev as for a device that names none).
 */
static void add_soundhw_models(Options *o)
{
    for (unsigned i = 0; i < o->soundhw->len; i++) {
        g_auto(GStrv) models =
            g_strsplit(g_ptr_array_index(o->soundhw, i), ",", -1);
        GPtrArray *list = audio_state_list();
        AudioState *s = list->len ? g_ptr_array_index(list, 0)
                                  : audio_state_for_device(NULL, "-soundhw",
                                                           NULL);

        for (char **m = models; *m; m++) {
            add_audio_model(o, "-soundhw", *m, s->id);
        }
    }
}

/*
 * Whether -audio or -soundhw will give the PC speaker a back end.  KVM
 * must know before it creates its PIT (without the dummy speaker, so
 * port 0x61 reaches isa-pcspk: accel/kvm/kvm-all.c), which is before the
 * audiodevs exist; create_audiodevs() then names the real one.
 */
static bool pcspk_audio_requested(Options *o)
{
    for (unsigned i = 0; i < o->audios->len; i++) {
        /* -audio's own parse (audio_parse_audio_option) also creates the
         * audiodev, so only its key=value split is shared here; a spec
         * that does not parse is reported there */
        g_autoptr(GHashTable) kv =
            keyval_parse(g_ptr_array_index(o->audios, i), "driver", NULL);
        const char *model = kv ? g_hash_table_lookup(kv, "model") : NULL;

        if (model && !strcmp(model, "pcspk")) {
            return true;
        }
    }
    for (unsigned i = 0; i < o->soundhw->len; i++) {
        g_auto(GStrv) models =
            g_strsplit(g_ptr_array_index(o->soundhw, i), ",", -1);
        if (g_strv_contains((const char *const *)models, "pcspk")) {
            return true;
        }
    }
    return false;
}

/* -audiodev, -audio and -soundhw: before the devices and displays that
 * name them. */
static void create_audiodevs(Options *o)
{
    for (unsigned i = 0; i < o->audiodevs->len; i++) {
        GError *err = NULL;
        if (!audio_init_audiodev(g_ptr_array_index(o->audiodevs, i), &err)) {
            die_err("-audiodev", err);
        }
    }
    for (unsigned i = 0; i < o->audios->len; i++) {
        const char *spec = g_ptr_array_index(o->audios, i);
        g_autofree char *model = NULL, *id = NULL;
        GError *err = NULL;

        if (!audio_parse_audio_option(spec, &model, &id, &err)) {
            die_err("-audio", err);
        }
        if (model) {
            add_audio_model(o, "-audio", model, id);
        }
    }
    add_soundhw_models(o);
}

static void create_chardevs(Options *o)
{
    for (unsigned i = 0; i < o->chardevs->len; i++) {
        GError *err = NULL;
        if (!qemu_chr_new_from_opts(g_ptr_array_index(o->chardevs, i), &err)) {
            die_err("-chardev", err);
        }
    }
}

/*
 * -nographic puts serial0 and the monitor on stdio (multiplexed) unless
 * they were redirected; without it the default serial port goes nowhere,
 * as QEMU's "vc" does with no display.
 */
static void create_serials(Options *o)
{
    GPtrArray *specs = o->serials;
    bool monitor_given = o->monitors->len > 0;

    bool window = o->display && !strcmp(o->display, "sdl") &&
                  !o->nographic;

    if (!specs->len && !o->nodefaults) {
        const char *dflt = "null";
        if (o->nographic) {
            dflt = monitor_given ? "stdio" : "mon:stdio";
        } else if (window) {
            dflt = "vc:80Cx24C";    /* QEMU's: a text console, Ctrl-Alt-N */
        }
        g_ptr_array_add(specs, g_strdup(dflt));
    }
    if (window && !monitor_given && !o->nodefaults) {
        /* and the human monitor on a text console of its own */
        MonitorOpt *m = g_new0(MonitorOpt, 1);
        m->spec = g_strdup("vc:80Cx24C");
        g_ptr_array_add(o->monitors, m);
    }
    pc_config.serials = g_ptr_array_new();
    for (unsigned i = 0; i < specs->len; i++) {
        const char *spec = g_ptr_array_index(specs, i);
        g_autofree char *id = g_strdup_printf("serial%u", i);
        GError *err = NULL;
        Chardev *chr = qemu_chr_new_from_spec(id, spec, &err);

        if (err) {
            die_err("-serial", err);
        }
        g_ptr_array_add(pc_config.serials, chr);
        /* An explicit "mon:" always gets a human monitor on the mux. */
        if (chr && g_str_has_prefix(spec, "mon:")) {
            MonitorOpt *m = g_new0(MonitorOpt, 1);
            m->chardev_id = g_strdup(chr->id);
            g_ptr_array_add(o->monitors, m);
        }
    }
}

static void create_debugcon(Options *o)
{
    GError *err = NULL;

    if (!o->debugcon) {
        return;
    }
    pc_config.debugcon = qemu_chr_new_from_spec("debugcon", o->debugcon,
                                                &err);
    if (err) {
        die_err("-debugcon", err);
    }
}

static void create_monitors(Options *o)
{
    unsigned n = 0;

    for (unsigned i = 0; i < o->monitors->len; i++) {
        MonitorOpt *m = g_ptr_array_index(o->monitors, i);
        GError *err = NULL;
        Chardev *chr;

        if (m->chardev_id) {
            chr = qemu_chr_find(m->chardev_id);
            if (!chr) {
                die("-mon: chardev '%s' not found", m->chardev_id);
            }
        } else {
            g_autofree char *id = g_strdup_printf("compat_monitor%u", n++);
            chr = qemu_chr_new_from_spec(id, m->spec, &err);
            if (err) {
                die_err(m->qmp ? "-qmp" : "-monitor", err);
            }
            if (!chr) {
                continue;   /* "none" */
            }
        }
        if (!monitor_new(chr, m->qmp, m->pretty, &err)) {
            die_err(m->qmp ? "-qmp" : "-monitor", err);
        }
    }
}

/*
 * Open every drive before the machine exists (the pc machine attaches the
 * if=ide and if=floppy ones).  Like QEMU's pc, a machine with defaults
 * gets an empty CD-ROM drive at index 2 and an empty floppy drive A
 * unless something sits there already.
 */
static void create_drives(Options *o)
{
    /* Nodes first, as QEMU: -drive ids and -device drive= may name them. */
    for (unsigned i = 0; i < o->blockdevs->len; i++) {
        GError *err = NULL;
        const char *spec = g_ptr_array_index(o->blockdevs, i);
        if (!blockdev_new(spec, &err)) {
            die("-blockdev %s: %s", spec, err->message);
        }
    }
    drive_set_snapshot_default(o->snapshot);
    for (unsigned i = 0; i < o->drives->len; i++) {
        GError *err = NULL;
        if (!drive_new(g_ptr_array_index(o->drives, i), &err)) {
            die_err("-drive", err);
        }
    }
    drive_set_snapshot_default(false);
    if (!o->nodefaults && !drive_get(IF_IDE, 1, 0)) {
        GError *err = NULL;
        if (!drive_new("index=2,media=cdrom", &err)) {
            die_err("-drive", err);
        }
    }
    if (!o->nodefaults && !drive_get(IF_FLOPPY, 0, 0)) {
        GError *err = NULL;
        if (!drive_new("if=floppy,index=0", &err)) {
            die_err("-drive", err);
        }
    }
}

/* -usb: the PIIX3's UHCI function at 01.2, before any -device (as QEMU's
 * pc machine creates it); -usbdevice devices go on it after them. */
static void create_usb(Options *o)
{
    GError *err = NULL;

    if (o->usb &&
        !device_create_from_opts("piix3-usb-uhci,addr=01.2", &err)) {
        die_err("-usb", err);
    }
}

static void create_usbdevices(Options *o)
{
    for (unsigned i = 0; o->usbdevices && i < o->usbdevices->len; i++) {
        GError *err = NULL;
        if (!device_create_from_opts(g_ptr_array_index(o->usbdevices, i),
                                     &err)) {
            die_err("-usbdevice", err);
        }
    }
}

static void create_devices(Options *o)
{
    GPtrArray *drives = drive_list();

    for (unsigned i = 0; i < o->devices->len; i++) {
        GError *err = NULL;
        if (!device_create_from_opts(g_ptr_array_index(o->devices, i), &err)) {
            die_err("-device", err);
        }
    }
    /* -drive if=virtio: QEMU adds "-device virtio-blk,drive=ID" for each,
     * after the user's devices. */
    for (unsigned i = 0; i < drives->len; i++) {
        DriveInfo *d = g_ptr_array_index(drives, i);
        g_autofree char *opts = NULL;
        GError *err = NULL;

        if (d->type != IF_VIRTIO) {
            continue;
        }
        opts = g_strdup_printf("virtio-blk-pci,drive=%s", d->id);
        if (!device_create_from_opts(opts, &err)) {
            g_prefix_error(&err, "drive '%s': ", d->id);
            die_err("-drive", err);
        }
    }
}

/*
 * The pc machine's default VGA ("-vga std", as QEMU's pc) sits at the
 * first free slot after the chipset (00:02.0) because it is created
 * before any -device; -nodefaults drops it unless -vga asks for it.
 * -nographic keeps it, as QEMU does.
 */
static void create_default_vga(Options *o)
{
    bool want = o->vga ? strcmp(o->vga, "none") : !o->nodefaults;
    const char *type = o->vga && !strcmp(o->vga, "virtio") ? "virtio-vga"
                                                           : "VGA";
    GError *err = NULL;

    if (want && !device_create_from_opts(type, &err)) {
        die_err("-vga", err);
    }
}

/* The SPICE server starts before chardevs, so spicevmc/spiceport find it. */
static void create_spice(Options *o)
{
#ifdef CONFIG_SPICE
    GError *err = NULL;

    if (o->spice && !qemu_spice_init(o->spice, &err)) {
        die_err("-spice", err);
    }
#endif
}

static void create_displays(Options *o)
{
    qemu_display_set_type(o->display ? o->display : "none");
    if (o->keymap) {
        GError *err = NULL;
        if (!qemu_input_set_keymap(o->keymap, &err)) {
            die_err("-k", err);
        }
    }
#ifdef CONFIG_SDL
    if (o->display && !strcmp(o->display, "sdl") && !o->nographic) {
        GError *err = NULL;
        if (!sdl_display_init(&err)) {
            die_err("-display sdl", err);
        }
    }
#endif
#ifdef CONFIG_SPICE
    qemu_spice_display_init();
#endif
#ifdef CONFIG_VNC
    for (unsigned i = 0; i < o->vnc->len; i++) {
        GError *err = NULL;
        if (!vnc_display_open(g_ptr_array_index(o->vnc, i), &err)) {
            die_err("-vnc", err);
        }
    }
#endif
}

static void write_pidfile(const char *path)
{
    g_autofree char *pid = g_strdup_printf("%d\n", (int)getpid());
    GError *err = NULL;

    if (!g_file_set_contents(path, pid, -1, &err)) {
        die("-pidfile %s: %s", path, err->message);
    }
}

static gboolean on_terminate_signal(gpointer data)
{
    qemu_system_shutdown_request(SHUTDOWN_CAUSE_HOST_SIGNAL);
    return G_SOURCE_CONTINUE;
}

static void install_signal_handlers(void)
{
    g_unix_signal_add(SIGINT, on_terminate_signal, NULL);
    g_unix_signal_add(SIGTERM, on_terminate_signal, NULL);
    g_unix_signal_add(SIGHUP, on_terminate_signal, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/*
 * accel=kvm:tcg (or several -accel options) lists alternatives: the first
 * that starts wins, as in QEMU; when none does, the last one's reason is
 * the error.  An unknown name in the list is an error by itself.
 */
static void init_accel(MachineState *ms)
{
    g_auto(GStrv) names = g_strsplit(ms->accel, ":", -1);
    GError *err = NULL;
    unsigned n = g_strv_length(names);

    if (!n) {
        die("-accel: no accelerator given");
    }
    for (unsigned i = 0; i < n; i++) {
        if (!accel_find(names[i])) {
            die("-accel %s: invalid accelerator %s", ms->accel, names[i]);
        }
    }
    for (unsigned i = 0; i < n; i++) {
        current_accel = accel_find(names[i]);
        g_clear_error(&err);
        if (current_accel->init(ms, &err)) {
            g_free(ms->accel);
            ms->accel = g_strdup(names[i]);
            return;
        }
        if (i + 1 < n) {
            error_report("%s; trying the next accelerator (%s)", err->message,
                         names[i + 1]);
        }
    }
    die_err(NULL, err);
}

/*
 * -daemonize, QEMU's way: the parent waits on a pipe until the child has
 * built the machine and opened every monitor (so whoever started kvmpc
 * can connect as soon as the parent exits 0), then exits with the child's
 * status.  The child keeps the terminal's stderr until then, so start-up
 * errors still reach the caller; afterwards it detaches (setsid, stdio on
 * /dev/null, cwd /).  Forked before any thread exists.
 */
static int daemon_ready_fd = -1;

static void daemonize_fork(void)
{
    int fds[2];
    pid_t pid;

    if (pipe2(fds, O_CLOEXEC) < 0) {
        die("-daemonize: pipe: %s", g_strerror(errno));
    }
    pid = fork();
    if (pid < 0) {
        die("-daemonize: fork: %s", g_strerror(errno));
    }
    if (pid > 0) {
        char status = 1;
        ssize_t n;

        close(fds[1]);
        do {
            n = read(fds[0], &status, 1);
        } while (n < 0 && errno == EINTR);
        /* EOF: the child died during start-up and said why on stderr */
        _exit(n == 1 ? status : 1);
    }
    close(fds[0]);
    daemon_ready_fd = fds[1];
    if (setsid() < 0) {
        die("-daemonize: setsid: %s", g_strerror(errno));
    }
}

static void daemonize_finish(void)
{
    char ok = 0;
    int null;

    if (daemon_ready_fd < 0) {
        return;
    }
    if (chdir("/") < 0) {
        die("-daemonize: chdir /: %s", g_strerror(errno));
    }
    null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0) {
        die("-daemonize: /dev/null: %s", g_strerror(errno));
    }
    fflush(stdout);
    fflush(stderr);
    dup2(null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    close(null);
    if (write(daemon_ready_fd, &ok, 1) != 1) {
        _exit(1);   /* the parent is gone: nobody is waiting for us */
    }
    close(daemon_ready_fd);
    daemon_ready_fd = -1;
}

/* QEMU's rule: -nographic wants stdio, which a daemon does not have. */
static void check_daemonize(Options *o)
{
    if (!o->daemonize) {
        return;
    }
    if (o->nographic && !o->nodefaults &&
        (!o->serials->len || !o->monitors->len)) {
        die("-nographic cannot be used with -daemonize");
    }
    for (unsigned i = 0; i < o->serials->len; i++) {
        if (g_str_has_suffix(g_ptr_array_index(o->serials, i), "stdio")) {
            die("-serial stdio cannot be used with -daemonize");
        }
    }
    for (unsigned i = 0; i < o->monitors->len; i++) {
        MonitorOpt *m = g_ptr_array_index(o->monitors, i);
        if (m->spec && g_str_has_suffix(m->spec, "stdio")) {
            die("%s stdio cannot be used with -daemonize",
                m->qmp ? "-qmp" : "-monitor");
        }
    }
    for (unsigned i = 0; i < o->chardevs->len; i++) {
        if (g_str_has_prefix(g_ptr_array_index(o->chardevs, i), "stdio")) {
            die("-chardev stdio cannot be used with -daemonize");
        }
    }
}

/* -overcommit mem-lock=on: guest RAM (and kvmpc) never swapped out. */
static void lock_memory(Options *o)
{
    if (o->mem_lock && mlockall(MCL_CURRENT | MCL_FUTURE) < 0) {
        die("-overcommit mem-lock=on: locking memory failed: %s (raise "
            "RLIMIT_MEMLOCK, or run with CAP_IPC_LOCK)", g_strerror(errno));
    }
}

static void build_machine(Options *o)
{
    MachineState *ms = o->ms;
    const char *bad_opt;
    GError *err = NULL;

    if (!ms->ram_size && ms->memory_backend) {
        /* -machine memory-backend= without -m: the backend's size */
        HostMemoryBackend *b = host_memory_backend_find(ms->memory_backend);
        if (!b) {
            die("-machine memory-backend=%s: Memory backend '%s' not found",
                ms->memory_backend, ms->memory_backend);
        }
        ms->ram_size = b->size;
    }
    if (!machine_check_memory_options(ms, &err)) {
        die_err(NULL, err);
    }
    if (ms->smp.max_cpus > ms->type->max_cpus) {
        die("Invalid SMP CPUs %u. The max CPUs supported by machine '%s' "
            "is %u", ms->smp.max_cpus, ms->type->name, ms->type->max_cpus);
    }
    if (o->numa->len && ms->type->no_cpus) {
        die("-numa %s: NUMA is not supported by this machine-type",
            (const char *)g_ptr_array_index(o->numa, 0));
    }
    if (!numa_configure(ms, o->numa, &bad_opt, &err)) {
        if (bad_opt) {
            die("-numa %s: %s", bad_opt, err->message);
        }
        die_err(NULL, err);
    }
    if (!ms->type->init(ms, &err)) {
        die_err(NULL, err);
    }
}

/* What kvmpc_init() parsed; kvmpc_main_loop() needs some of it at exit. */
static Options opts;

void kvmpc_init(int argc, char **argv)
{
    Options *o = &opts;
    GError *err = NULL;

    options_init(o);
    parse_args(o, argc, argv);
    if (!o->ms->type) {
        o->ms->type = machine_type_default();
    }
    if (o->machine_help) {
        g_autofree char *help = machine_props_help(o->ms->type);
        fputs(help, stdout);
        exit(0);
    }
    if (!machine_props_apply(o->ms, &err)) {
        die_err(NULL, err);
    }
    check_kernel_options(o->ms);
    if (!runas_prepare(o->runas, o->chroot_dir, &err)) {
        die_err(NULL, err);
    }
    if (o->ms->type->no_default_devices) {
        o->nodefaults = true;   /* QEMU's none: no_serial, no_cdrom, ... */
    }
    if (!o->ms->ram_size && !o->ms->memory_backend) {
        o->ms->ram_size = o->ms->type->default_ram_size;
    }
    if (message_guest_name) {
        message_guest_name = o->ms->name ?
            g_strdup_printf("%s", o->ms->name) : "";
    }
    check_daemonize(o);
    if (o->daemonize) {
        daemonize_fork();
    }
    if (o->nographic && !g_hash_table_contains(o->ms->props, "graphics")) {
        /* As QEMU: -nographic implies -machine graphics=off (firmware
         * then mirrors its console on COM1). */
        g_hash_table_insert(o->ms->props, g_strdup("graphics"),
                            g_strdup("off"));
    }
    if (o->qtest_spec) {
        g_free(o->ms->accel);
        o->ms->accel = g_strdup("qtest");
    }
    if (x86_cpu_model_is_help(o->ms->cpu_model)) {
        g_autofree char *help = x86_cpu_help_text();
        fputs(help, stdout);
        exit(0);
    }
    if (!x86_cpu_model_parse(o->ms->cpu_model, &err)) {
        die_err("-cpu", err);
    }
    if (o->firmware_dirs->len) {
        g_ptr_array_add(o->firmware_dirs, NULL);
        pc_config.firmware_dirs = (char **)o->firmware_dirs->pdata;
    }
    current_machine = o->ms;

    main_loop_init();
    memory_init();
    install_signal_handlers();
    if (pcspk_audio_requested(o) &&
        !g_hash_table_contains(o->ms->props, "pcspk-audiodev")) {
        g_hash_table_insert(o->ms->props, g_strdup("pcspk-audiodev"),
                            g_strdup(""));      /* named in create_audiodevs */
    }
    init_accel(o->ms);
    if (!x86_cpu_qtest_check(&err)) {
        die_err(NULL, err);     /* -cpu ...,enforce on the qtest host */
    }
    create_objects(o);
    /* the SPICE server first: -audiodev spice adds its channels to it */
    create_spice(o);
    create_audiodevs(o);
    create_chardevs(o);
    create_serials(o);
    create_debugcon(o);
    if (o->incoming) {
        /* shared storage: the source holds the images (and their locks)
         * until its switchover; they are taken once the stream loads */
        bdrv_inactivate_all();
    }
    create_drives(o);
    if (!o->nodefaults) {
        net_add_default_nic();
    }
    if (!net_init_clients(&err)) {
        die_err(NULL, err);
    }
    build_machine(o);
    lock_memory(o);
    create_default_vga(o);
    if (!net_create_nics(&err)) {
        die_err("-nic", err);
    }
    create_usb(o);
    create_devices(o);
    create_usbdevices(o);
    create_displays(o);
    create_monitors(o);
    if (o->qtest_spec &&
        !qtest_server_init(o->qtest_spec, o->qtest_log, &err)) {
        die_err("-qtest", err);
    }
    if (current_accel->create_vcpus && !o->ms->type->no_cpus &&
        !current_accel->create_vcpus(o->ms, &err)) {
        die_err(NULL, err);
    }
    qemu_system_reset(SHUTDOWN_CAUSE_NONE);
    qdev_machine_creation_done();
    if (o->pidfile) {
        write_pidfile(o->pidfile);
    }
    if (o->loadvm) {
        /* as QEMU: the snapshot's state replaces the reset one */
        if (!load_snapshot(o->loadvm, NULL, false, NULL, &err)) {
            die_err(NULL, err);
        }
    }
    if (o->incoming) {
        /* the VM runs once the stream is loaded (unless -S) */
        if (!migration_incoming_start(o->incoming, !o->start_paused, &err)) {
            die_err("-incoming", err);
        }
    }
    daemonize_finish();
    /* -chroot and -runas: after every file is open, before the guest
     * runs (and before the sandbox, which would refuse setuid) */
    if (!runas_apply(&err)) {
        die_err(NULL, err);
    }
    /* last: everything is open and every thread exists (TSYNC covers
     * them, and later ones inherit the filter) */
    if (!sandbox_install(&err)) {
        die_err(NULL, err);
    }
    if (!o->incoming && !o->start_paused) {
        vm_start();
    }
}

void kvmpc_main_loop(void)
{
    int status = main_loop_run();

    migration_shutdown();
    if (runstate_is_running()) {
        vm_stop(RUN_STATE_SHUTDOWN);
    }
    /* persistent dirty bitmaps reach their images (QEMU stores them when
     * it closes its nodes at exit; kvmpc does not close them) */
    if (!bdrv_is_inactive()) {
        blk_drain_all();
        bdrv_store_bitmaps_all(true);
        bdrv_flush_all_nodes();
    }
    if (current_accel->shutdown) {
        current_accel->shutdown();
    }
    if (opts.pidfile) {
        unlink(opts.pidfile);
    }
    /* Audio back ends finish their files (wav) and close their streams. */
    audio_cleanup();
    /* The monitor I/O thread uses chardevs: it goes first. */
    monitor_io_thread_stop();
    /* Closing chardevs removes server sockets and restores terminals. */
    qemu_chr_delete_all();
    qemu_chr_restore_terminals();
    fflush(stdout);
    /*
     * The vCPU threads are gone, but devices still point at guest RAM and
     * at each other: tearing all of that down buys nothing at exit.
     */
    _exit(status);
}

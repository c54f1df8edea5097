/*
 * query-command-line-options: the options that take key=value parameters
 * and the parameters kvmpc honours for each.  Management tools read it to
 * decide what they may put on the command line (libvirt: "sandbox", whose
 * absence makes it start the VM without a seccomp filter, "spice", whose
 * absence refuses SPICE graphics, "vnc" power-control, "machine" hpet...),
 * so it lists only what the parsers in system/main.c, system/sandbox.c,
 * ui/vnc.c and ui/spice-core.c really act on.  Keep it next to them when
 * an option grows a parameter (CHECKER checks each listed parameter is
 * accepted).
 */
#include "qemu/osdep.h"
#include "qapi/qapi-commands.h"
#include "hw/boards.h"

typedef struct Param {
    const char *name;
    CommandLineParameterType type;
    const char *help;
} Param;

typedef struct OptionDesc {
    const char *option;
    const Param *params;    /* NULL-name terminated; NULL: -machine */
} OptionDesc;

#define S COMMAND_LINE_PARAMETER_TYPE_STRING
#define B COMMAND_LINE_PARAMETER_TYPE_BOOLEAN
#define N COMMAND_LINE_PARAMETER_TYPE_NUMBER
#define Z COMMAND_LINE_PARAMETER_TYPE_SIZE

static const Param accel_params[] = {
    { "accel", S, "the accelerator" },
    { "kernel-irqchip", S, "use KVM in-kernel irqchip" },
    { NULL }
};
static const Param name_params[] = {
    { "guest", S, "the guest's name" },
    { "process", S, "the process name ps shows" },
    { "debug-threads", B, "name each thread" },
    { NULL }
};
static const Param msg_params[] = {
    { "timestamp", B, "prefix messages with a UTC timestamp" },
    { "guest-name", B, "prefix messages with the guest's name" },
    { NULL }
};
static const Param overcommit_params[] = {
    { "mem-lock", B, "lock all memory (mlockall)" },
    { "cpu-pm", B, "guest CPU power management (not supported: off)" },
    { NULL }
};
static const Param boot_params[] = {
    { "order", S, "boot device order" },
    { "menu", B, "offer the firmware's boot menu" },
    { "splash-time", N, "boot menu time (ms)" },
    { "strict", B, "boot only from the listed devices" },
    { NULL }
};
static const Param smp_params[] = {
    { "cpus", N, "number of CPUs" }, { "sockets", N, NULL },
    { "dies", N, NULL }, { "cores", N, NULL }, { "threads", N, NULL },
    { "maxcpus", N, "CPUs present at most" },
    { NULL }
};
static const Param memory_params[] = {
    { "size", Z, "guest RAM" },
    { NULL }
};
/* QEMU's -numa is parsed by type (node, dist, cpu): it lists no keys */
static const Param numa_params[] = {
    { NULL }
};
static const Param rtc_params[] = {
    { "base", S, "utc, localtime or a date" },
    { NULL }
};
static const Param vnc_params[] = {
    { "vnc", S, "display or unix:path" },
    { "password", B, "require a password (set_password)" },
    { "to", N, "try ports up to this display number" },
    { "share", S, "allow-exclusive, force-shared or ignore" },
    { "websocket", S, "WebSocket listener" },
    { "lossy", B, "allow lossy encodings" },
    { NULL }
};

#ifdef CONFIG_SECCOMP
/* system/sandbox.c; libvirt passes -sandbox only when it finds this */
static const Param sandbox_params[] = {
    { "enable", B, "install the seccomp filter" },
    { "obsolete", S, "allow or deny obsolete system calls" },
    { "elevateprivileges", S, "allow, deny or children" },
    { "spawn", S, "allow or deny fork and execve" },
    { "resourcecontrol", S, "allow or deny scheduling and affinity calls" },
    { NULL }
};
#endif
#ifdef CONFIG_SPICE
/* ui/spice-core.c's parser (libvirt's <graphics type='spice'> needs the
 * option, and reads unix and disable-agent-file-xfer); TLS, SASL and
 * OpenGL are refused there, so they are not listed. */
static const Param spice_params[] = {
    { "port", N, NULL }, { "addr", S, NULL }, { "ipv4", B, NULL },
    { "ipv6", B, NULL }, { "unix", B, NULL }, { "password", S, NULL },
    { "password-secret", S, NULL }, { "disable-ticketing", B, NULL },
    { "image-compression", S, NULL }, { "jpeg-wan-compression", S, NULL },
    { "zlib-glz-wan-compression", S, NULL }, { "streaming-video", S, NULL },
    { "agent-mouse", B, NULL }, { "playback-compression", B, NULL },
    { "seamless-migration", B, NULL }, { "disable-copy-paste", B, NULL },
    { "disable-agent-file-xfer", B, NULL },
    { NULL }
};
#endif

static const OptionDesc options[] = {
    { "machine", NULL },        /* hw/core/machine-props.c's table */
    { "accel", accel_params },
    { "name", name_params },
    { "msg", msg_params },
    { "overcommit", overcommit_params },
    { "boot-opts", boot_params },
    { "smp-opts", smp_params },
    { "memory", memory_params },
    { "numa", numa_params },
    { "rtc", rtc_params },
    { "vnc", vnc_params },
#ifdef CONFIG_SECCOMP
    { "sandbox", sandbox_params },
#endif
#ifdef CONFIG_SPICE
    { "spice", spice_params },
#endif
};

static void add_param(CommandLineParameterInfoList ***tail,
                      const char *name, CommandLineParameterType type,
                      const char *help)
{
    CommandLineParameterInfo *pi = g_new0(CommandLineParameterInfo, 1);

    pi->name = g_strdup(name);
    pi->type = type;
    pi->help = help && *help ? g_strdup(help) : NULL;
    **tail = g_new0(CommandLineParameterInfoList, 1);
    (**tail)->value = pi;
    *tail = &(**tail)->next;
}

/* -machine: the parameters kvmpc acts on (the pc machines', since that is
 * what management tools ask about); smm, vmport and the like, taken only at
 * their defaults, are left out so that nobody concludes they work. */
static void add_machine_param(const char *name, const char *type,
                              const char *desc, bool modelled, void *opaque)
{
    if (modelled) {
        add_param(opaque, name,
                  !strcmp(type, "bool") ? B : !strcmp(type, "size") ? Z : S,
                  desc);
    }
}

static CommandLineOptionInfo *option_info(const OptionDesc *d)
{
    CommandLineOptionInfo *info = g_new0(CommandLineOptionInfo, 1);
    CommandLineParameterInfoList **tail = &info->parameters;

    info->option = g_strdup(d->option);
    if (!d->params) {
        machine_props_foreach(true, add_machine_param, &tail);
        return info;
    }
    for (const Param *p = d->params; p->name; p++) {
        add_param(&tail, p->name, p->type, p->help);
    }
    return info;
}

CommandLineOptionInfoList *qmp_query_command_line_options(const char *option,
                                                          GError **errp)
{
    CommandLineOptionInfoList *list = NULL, **tail = &list;

    for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
        if (option && strcmp(option, options[i].option)) {
            continue;
        }
        *tail = g_new0(CommandLineOptionInfoList, 1);
        (*tail)->value = option_info(&options[i]);
        tail = &(*tail)->next;
    }
    if (option && !list) {
        error_setg(errp, "Invalid option name: %s", option);
    }
    return list;
}

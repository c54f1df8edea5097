/*
 * The machine: what the command line asked for, and what machine init built.
 */
#ifndef HW_BOARDS_H
#define HW_BOARDS_H
#include "qemu/osdep.h"
#include "system/memory.h"
#include "hw/irq.h"

#define GSI_NUM_PINS 24

typedef struct MachineState MachineState;
typedef struct NumaState NumaState;

/* -machine kernel_irqchip=on|split|off (-accel kvm,kernel-irqchip=). */
typedef enum KernelIrqchipMode {
    KERNEL_IRQCHIP_ON,      /* PIC, IOAPIC, PIT and LAPICs in KVM */
    KERNEL_IRQCHIP_SPLIT,   /* LAPICs in KVM; PIC, IOAPIC, PIT in kvmpc */
    KERNEL_IRQCHIP_OFF,     /* all of them in kvmpc */
} KernelIrqchipMode;

typedef struct MachineType {
    const char *name;          /* "pc-i440fx-kvmpc" */
    const char *alias;         /* "pc" */
    const char *desc;
    bool is_default;
    unsigned max_cpus;
    bool no_cpus;              /* runs no guest code ("none") */
    bool no_default_devices;   /* no default VGA, serial, CD-ROM, floppy */
    uint64_t default_ram_size; /* without -m */
    const char *default_nic;   /* -nic/-net nic without model= (NULL: e1000) */
    bool (*init)(MachineState *ms, GError **errp);
} MachineType;

typedef struct SmpConfig {
    unsigned cpus, sockets, dies, cores, threads, max_cpus;
} SmpConfig;

struct MachineState {
    const MachineType *type;
    GHashTable *props;         /* -machine key=value extras */

    /* accelerator */
    char *accel;               /* "kvm", "qtest", or a list "kvm:tcg" */
    KernelIrqchipMode kernel_irqchip;
    uint32_t kvm_dirty_ring_size;  /* -accel kvm,dirty-ring-size= (0: the
                                      dirty bitmap log) */

    /* memory and CPUs */
    uint64_t ram_size;         /* 0 until -m or the type's default */
    uint64_t maxram_size;      /* -m maxmem= (0: none, as ram_size) */
    uint64_t ram_slots;        /* -m slots= (pc-dimm slots) */
    bool ram_slots_set;        /* slots= given (even 0) */
    SmpConfig smp;
    char *cpu_model;           /* "host", "max", "qemu64,+feat,-feat" */

    /* boot */
    char *kernel_filename, *initrd_filename, *kernel_cmdline;
    char *firmware;            /* -bios */
    GPtrArray *option_roms;    /* char * */
    char *boot_order;
    bool boot_menu;
    int boot_splash_time;      /* ms, -1 = default */
    bool boot_strict;
    bool enable_hpet;
    bool acpi;                 /* -machine acpi= / -no-acpi (default on) */
    bool i8042;                /* -machine i8042= (default on) */
    bool vmport;               /* -machine vmport= (auto: on, as QEMU) */
    bool mem_merge;            /* -machine mem-merge= (KSM; default on) */
    GPtrArray *fw_cfg_items;   /* char *: -fw_cfg option strings */
    GPtrArray *smbios_opts;    /* char *: -smbios option strings */
    char *rtc_base;            /* -rtc base= */

    char *memory_backend;      /* -machine memory-backend=ID */
    NumaState *numa;           /* -numa (system/numa.h); NULL: none */
    bool dump_guest_core;      /* -machine dump-guest-core (default on) */

    char *name;                /* -name */
    uint8_t uuid[16];
    bool uuid_set;

    /* built by machine init */
    MemoryRegion ram;          /* all guest RAM, one host allocation */
    MemoryRegion ram_below_4g, ram_above_4g;  /* aliases into @ram */
    uint64_t below_4g_mem_size, above_4g_mem_size;
    qemu_irq gsi[GSI_NUM_PINS];
    /* -m maxmem= > size: the region pc-dimms map into (hw/mem/pc-dimm.c),
     * above the high RAM; size 0 = none. */
    uint64_t device_memory_base, device_memory_size;
    MemoryRegion device_memory;
};

extern MachineState *current_machine;

/*
 * Which interrupt controllers kvmpc models itself: the PIC, IOAPIC and
 * PIT unless KVM has them (kernel_irqchip=on), the LAPICs only with
 * kernel_irqchip=off; under -accel qtest there is no KVM and kvmpc models
 * all of them.
 */
bool machine_userspace_ioapic(const MachineState *ms);
bool machine_userspace_lapic(const MachineState *ms);
/* "on", "split" or "off" (for messages); false if @s is none of them
 * (nor a boolean spelling of on/off). */
bool kernel_irqchip_parse(const char *s, KernelIrqchipMode *mode);

void machine_type_register(const MachineType *mt);
const MachineType *machine_type_find(const char *name);
const MachineType *machine_type_default(void);
/* The machine's RAM (@ms->ram, @ms->ram_size bytes): the memory backend
 * -machine memory-backend= names, or anonymous memory. */
/*
 * Checks every -machine key of @ms->props against the machine type's
 * properties (hw/core/machine-props.c) and applies those that set fields.
 * Unknown keys, bad values and values kvmpc does not model are errors.
 */
bool machine_props_apply(MachineState *ms, GError **errp);
/* "-machine TYPE,help": the type's properties, one per line. */
typedef void (*MachinePropFn)(const char *name, const char *type,
                              const char *desc, bool modelled, void *opaque);
/* Every -machine property (@x86: with the pc-* machines' own), for
 * qom-list-properties and query-command-line-options; @modelled is false
 * for those kvmpc takes only at their default value (smm, vmport...). */
void machine_props_foreach(bool x86, MachinePropFn fn, void *opaque);
/* Whether a machine type (or QOM machine class) name is one of the x86 PC
 * machines: "pc-i440fx-7.2", "q35", "x86-machine"... */
bool machine_type_name_is_x86(const char *name);
char *machine_props_help(const MachineType *t);
bool machine_init_ram(MachineState *ms, const char *name, GError **errp);
/* QEMU 7.2's checks of -m slots=/maxmem= against the final RAM size;
 * sets maxram_size to ram_size when maxmem= was not given. */
bool machine_check_memory_options(MachineState *ms, GError **errp);
/* Map the device-memory container at @base (size: ms->maxram_size -
 * ms->ram_size + @extra); no-op without maxmem > size. */
bool machine_init_device_memory(MachineState *ms, uint64_t base,
                                uint64_t extra, GError **errp);
/* Registered types, in registration order (do not modify). */
GPtrArray *machine_type_list(void);

#endif

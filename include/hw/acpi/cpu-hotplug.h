/*
 * ACPI CPU hotplug, the "modern" register block QEMU 7.2 gives its guests
 * (QEMU docs/specs/acpi_cpu_hotplug.rst, "Modern CPU hotplug interface"):
 * 12 bytes of I/O at 0x0cd8 on q35 (ICH9 PM), at 0xaf00 on pc (PIIX4 PM).
 * The DSDT's \_SB.CPUS methods drive it; a change raises GPE0 bit 2
 * (\_GPE._E02, which calls \_SB.CPUS.CSCN).
 *
 * One slot per possible CPU (-smp maxcpus), in topology order: slot n is
 * the CPU whose topology index is n (its APIC ID from target/i386/
 * topology.c), the DSDT's device Cnnn.
 *
 * Read:
 *   0x00 DWORD  command data 2: upper 32 bits of the selected CPU's
 *               arch ID after command 3, else 0
 *   0x04 BYTE   flags of the selected CPU: bit 0 enabled (present),
 *               bit 1 insert event, bit 2 remove event, bit 4 firmware
 *               remove event (always 0: no SMM firmware here)
 *   0x08 DWORD  command data: after command 0 the selector, after
 *               command 3 the lower 32 bits of the arch (APIC) ID
 * Write:
 *   0x00 DWORD  selector (a slot number; beyond the last slot every read
 *               gives 0 and writes to 0x04/0x08 are ignored)
 *   0x04 BYTE   bit 1: clear the insert event, bit 2: clear the remove
 *               event, bit 3: eject the CPU (the guest's _EJ0)
 *   0x05 BYTE   command: 0 select the next CPU with a pending event
 *               (from the selector on, wrapping; unchanged if none),
 *               1 next data write is an _OST event, 2 next data write is
 *               an _OST status (sends ACPI_DEVICE_OST), 3 get CPU ID
 *   0x08 DWORD  command data (OST event / status)
 */
#ifndef HW_ACPI_CPU_HOTPLUG_H
#define HW_ACPI_CPU_HOTPLUG_H
#include "hw/qdev.h"
#include "system/memory.h"

#define ACPI_CPUHP_ICH9_BASE        0x0cd8
#define ACPI_CPUHP_PIIX4_BASE       0xaf00
#define ACPI_CPUHP_SIZE             12
#define ACPI_CPUHP_DATA2            0x00    /* R */
#define ACPI_CPUHP_SELECTOR         0x00    /* W */
#define ACPI_CPUHP_FLAGS            0x04
#define ACPI_CPUHP_CMD              0x05    /* W */
#define ACPI_CPUHP_DATA             0x08

#define ACPI_CPUHP_FLAG_ENABLED     0x01
#define ACPI_CPUHP_FLAG_INSERT      0x02
#define ACPI_CPUHP_FLAG_REMOVE      0x04
#define ACPI_CPUHP_FLAG_EJECT       0x08

#define ACPI_CPUHP_CMD_GET_NEXT     0
#define ACPI_CPUHP_CMD_OST_EVENT    1
#define ACPI_CPUHP_CMD_OST_STATUS   2
#define ACPI_CPUHP_CMD_GET_CPU_ID   3

/* GPE0 status bit QEMU uses for CPU hotplug (_E02). */
#define ACPI_CPU_HOTPLUG_STATUS     4

/* Most slots kvmpc offers (the q35 machine's max_cpus). */
#define ACPI_CPUHP_MAX_SLOTS        288

typedef struct AcpiCpuHpSlot {
    uint64_t arch_id;           /* APIC ID */
    /* present (the enabled flag) is the CPU slots' (x86-cpu-hotplug.c) */
    bool inserting;
    bool removing;
    uint32_t ost_event, ost_status;
} AcpiCpuHpSlot;

typedef struct AcpiCpuHpState {
    uint32_t nr_slots;
    AcpiCpuHpSlot slots[ACPI_CPUHP_MAX_SLOTS];
    uint32_t selector;
    uint8_t command;
    MemoryRegion io;
    bool ready;
    /* Raise the GPE status bit and update the SCI. */
    void (*send_event)(void *opaque, unsigned gpe_sts_mask);
    void *opaque;
} AcpiCpuHpState;

/*
 * Map the block at @base with one slot per possible CPU (their APIC IDs
 * from hw/i386/x86-cpu-hotplug.c) and
 * become the CPU hotplug controller the CPU devices report to.
 */
void acpi_cpuhp_init(AcpiCpuHpState *s, uint16_t base,
                     void (*send_event)(void *opaque, unsigned mask),
                     void *opaque);
void acpi_cpuhp_uninit(AcpiCpuHpState *s);
/* Append each CPU slot's _OST state at *@tail (query-acpi-ospm-status). */
struct ACPIOSTInfoList;
void acpi_cpu_ospm_status(struct ACPIOSTInfoList ***tail);
/* At reset: pending removals complete, events and the selector clear. */
void acpi_cpuhp_reset(AcpiCpuHpState *s);

/* The controller the machine's PM function registered (NULL: none). */
AcpiCpuHpState *acpi_cpuhp_controller(void);
/* Slot @slot has a CPU now: insert event + GPE. */
void acpi_cpuhp_plug(AcpiCpuHpState *s, unsigned slot);
/* device_del: remove event + GPE; the CPU stays until the guest ejects. */
void acpi_cpuhp_request_unplug(AcpiCpuHpState *s, unsigned slot);
/* The CPU of @slot went (ejected, or removed by reset). */
void acpi_cpuhp_unplugged(AcpiCpuHpState *s, unsigned slot);

extern const VMStateDescription vmstate_acpi_cpuhp;

#endif

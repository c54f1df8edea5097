/*
 * GPE events from devices outside the ACPI PM function (QEMU's
 * AcpiDeviceIf.send_event / acpi_send_event()).
 *
 * The machine's PM device (PIIX4_PM on pc, ICH9-LPC on q35) owns the GPE0
 * block (ACPI 6.4, 4.8.4.1 "General-Purpose Event Register Blocks"); it
 * registers itself here when realized, and a device such as vmgenid raises
 * its status bit through it: the bit is set and the SCI follows the
 * enable bits, exactly as for the PM device's own hotplug events.
 */
#ifndef HW_ACPI_GPE_EVENT_H
#define HW_ACPI_GPE_EVENT_H
#include "qemu/osdep.h"

typedef void (*AcpiGpeSender)(void *opaque, unsigned gpe_sts_mask);

/* The PM device: raise GPE0 status bits with @send(@opaque, mask). */
void acpi_gpe_register_sender(AcpiGpeSender send, void *opaque);
/* The PM device goes away (no-op when another one registered since). */
void acpi_gpe_unregister_sender(void *opaque);
/* Set @gpe_sts_mask in GPE0_STS; false when the machine has no ACPI PM
 * device (acpi=off), so there is nobody to notify. */
bool acpi_send_gpe_event(unsigned gpe_sts_mask);

#endif

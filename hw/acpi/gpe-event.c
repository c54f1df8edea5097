/*
 * GPE events from devices outside the ACPI PM function; see
 * include/hw/acpi/gpe-event.h.
 */
#include "qemu/osdep.h"
#include "hw/acpi/gpe-event.h"

static AcpiGpeSender gpe_sender;
static void *gpe_sender_opaque;

void acpi_gpe_register_sender(AcpiGpeSender send, void *opaque)
{
    gpe_sender = send;
    gpe_sender_opaque = opaque;
}

void acpi_gpe_unregister_sender(void *opaque)
{
    if (gpe_sender_opaque == opaque) {
        gpe_sender = NULL;
        gpe_sender_opaque = NULL;
    }
}

bool acpi_send_gpe_event(unsigned gpe_sts_mask)
{
    if (!gpe_sender) {
        return false;
    }
    gpe_sender(gpe_sender_opaque, gpe_sts_mask);
    return true;
}

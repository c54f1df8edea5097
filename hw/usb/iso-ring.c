/*
 * The bounded ring of received isochronous packets (include/hw/usb/
 * iso-ring.h): usb-redir's iso_packet messages and usb-host's completed
 * iso URBs wait here for the controller's isochronous IN transactions.
 */
#include "qemu/osdep.h"
#include "hw/usb/iso-ring.h"
#include "hw/usb/usb.h"

void usb_iso_ring_init(UsbIsoRing *r, unsigned nslots, unsigned slot_size)
{
    g_assert(nslots && slot_size);
    memset(r, 0, sizeof(*r));
    r->buf = g_malloc((size_t)nslots * slot_size);
    r->len = g_new0(uint32_t, nslots);
    r->status = g_new0(int8_t, nslots);
    r->nslots = nslots;
    r->slot_size = slot_size;
}

void usb_iso_ring_free(UsbIsoRing *r)
{
    g_free(r->buf);
    g_free(r->len);
    g_free(r->status);
    memset(r, 0, sizeof(*r));
}

bool usb_iso_ring_allocated(const UsbIsoRing *r)
{
    return r->buf != NULL;
}

void usb_iso_ring_clear(UsbIsoRing *r)
{
    r->head = 0;
    r->count = 0;
    r->filling = r->target > 0;
}

void usb_iso_ring_set_target(UsbIsoRing *r, unsigned target)
{
    /* a target the ring cannot hold with room to spare would never be
     * reached once the oldest packets make room for new ones */
    r->target = r->nslots ? MIN(target, r->nslots - 1) : 0;
    r->filling = r->target > 0 && r->count < r->target;
}

/* Whether a transaction may take a packet now: not while filling to the
 * target; an empty ring that was delivering starts filling again. */
static bool usb_iso_ring_ready(UsbIsoRing *r)
{
    if (r->filling) {
        if (r->count < r->target) {
            return false;
        }
        r->filling = false;
    }
    if (!r->count) {
        if (r->target) {
            r->underruns++;
            r->filling = true;
        }
        return false;
    }
    return true;
}

bool usb_iso_ring_push(UsbIsoRing *r, const uint8_t *data, size_t len,
                       int status)
{
    unsigned i;

    if (!r->buf || len > r->slot_size) {
        return false;
    }
    if (r->count == r->nslots) {
        /* the oldest packet is the stalest: it makes room */
        r->head = (r->head + 1) % r->nslots;
        r->count--;
        r->dropped++;
    }
    i = (r->head + r->count) % r->nslots;
    if (len) {
        memcpy(r->buf + (size_t)i * r->slot_size, data, len);
    }
    r->len[i] = len;
    r->status[i] = status;
    r->count++;
    return true;
}

bool usb_iso_ring_pop(UsbIsoRing *r, uint8_t *dst, size_t cap, size_t *len,
                      int *status)
{
    unsigned i = r->head;

    if (!r->count) {
        return false;
    }
    *len = r->len[i];
    *status = r->status[i];
    memcpy(dst, r->buf + (size_t)i * r->slot_size, MIN(cap, *len));
    r->head = (r->head + 1) % r->nslots;
    r->count--;
    return true;
}

void usb_iso_ring_take(UsbIsoRing *r, USBPacket *p)
{
    size_t len;
    int st;

    p->actual = 0;
    p->status = USB_RET_SUCCESS;
    if (!usb_iso_ring_ready(r) ||
        !usb_iso_ring_pop(r, p->buf, p->len, &len, &st)) {
        return;
    }
    p->status = st;
    if (st == USB_RET_SUCCESS) {
        p->actual = MIN(len, p->len);
        if (len > p->len) {
            p->status = USB_RET_BABBLE;
        }
    }
}

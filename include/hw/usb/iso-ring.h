/*
 * A bounded ring of received isochronous packets, shared by the
 * pass-through devices (usb-redir, usb-host).
 *
 * Isochronous IN data arrives from the far side at the device's pace
 * (usbredir iso_packet messages, completed libusb iso URBs), not when the
 * guest's controller asks for it.  The ring keeps a fixed number of
 * packets per endpoint, allocated once when the stream starts, so the
 * per-packet path never allocates.  A full ring drops its oldest packet
 * (counted): isochronous data is time-bound (USB 2.0 5.6.4), late data is
 * worth less than new data, and a peer that sends faster than the guest
 * reads must not make kvmpc grow.
 *
 * A ring may have a target fill level (usb-redir sets one; QEMU's
 * usb-redir keeps one too): after a start, a clear or an underrun, IN
 * transactions get empty packets until the ring holds the target number
 * of packets, and only then are packets delivered, in order.  The
 * buffered packets ride out the jitter of a peer that delivers in bursts
 * (whole URBs at a time, over a network), so a guest that reads at the
 * device's pace sees a continuous stream instead of empty packets in
 * between.  Target 0: deliver at once.
 */
#ifndef HW_USB_ISO_RING_H
#define HW_USB_ISO_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct UsbIsoRing {
    uint8_t *buf;               /* nslots * slot_size bytes */
    uint32_t *len;              /* bytes in each slot */
    int8_t *status;             /* USB_RET_* of each slot */
    unsigned nslots, slot_size;
    unsigned head, count;       /* oldest slot, slots in use */
    unsigned target;            /* packets to hold before delivering */
    bool filling;               /* waiting for @target packets */
    uint64_t dropped;           /* packets lost to a full ring */
    uint64_t underruns;         /* delivering, then found empty */
} UsbIsoRing;

/* Allocate @nslots slots of @slot_size bytes (both > 0). */
void usb_iso_ring_init(UsbIsoRing *r, unsigned nslots, unsigned slot_size);
/* Free the buffers; the ring is empty and unallocated after. */
void usb_iso_ring_free(UsbIsoRing *r);
bool usb_iso_ring_allocated(const UsbIsoRing *r);
/* Forget every packet (the counts stay); fill to the target again. */
void usb_iso_ring_clear(UsbIsoRing *r);
/* Hold @target packets (at most nslots - 1) before delivering, from now
 * on and after every underrun; 0 delivers at once. */
void usb_iso_ring_set_target(UsbIsoRing *r, unsigned target);
/*
 * Store a packet of @len bytes with @status.  @len above the slot size is
 * refused (false): the caller decides what an oversize packet means.  A
 * full ring drops its oldest packet first.
 */
bool usb_iso_ring_push(UsbIsoRing *r, const uint8_t *data, size_t len,
                       int status);
/*
 * Take the oldest packet: up to @cap bytes into @dst, its length in
 * *@len (the whole packet's, which may exceed @cap) and its status in
 * *@status.  False when the ring is empty.
 */
bool usb_iso_ring_pop(UsbIsoRing *r, uint8_t *dst, size_t cap, size_t *len,
                      int *status);

/*
 * Answer an isochronous IN transaction @p (a USBPacket) with the oldest
 * packet: its data and status; a packet longer than @p asked for is
 * babble (its first bytes are kept).  An empty ring, or one still
 * filling to its target, answers an empty packet: isochronous endpoints
 * have no NAK (USB 2.0 5.6.4).  A delivering ring found empty (an
 * underrun) fills to its target again.
 */
struct USBPacket;
void usb_iso_ring_take(UsbIsoRing *r, struct USBPacket *p);

static inline unsigned usb_iso_ring_count(const UsbIsoRing *r)
{
    return r->count;
}

#endif

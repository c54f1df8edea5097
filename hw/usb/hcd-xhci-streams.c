/*
 * xHCI bulk streams (qemu-xhci / nec-usb-xhci, hw/usb/hcd-xhci.c).
 *
 * Spec: eXtensible Host Controller Interface for USB, revision 1.2:
 * 4.12 Streams (4.12.2 Stream Context Arrays, Primary and Secondary),
 * 6.2.3 Endpoint Context (MaxPStreams, LSA: Linear Stream Array, HID:
 * Host Initiate Disable; with MaxPStreams > 0 the TR Dequeue Pointer
 * field is the Stream Context Array's base), 6.2.4 Stream Context (TR
 * Dequeue Pointer, DCS, SCT: Stream Context Type), 5.3.6 HCCPARAMS1
 * (MaxPSASize, NSS), 5.6 doorbells (DB Stream ID), 6.4.3.9 Set TR
 * Dequeue Pointer (Stream ID, SCT), 4.8.3 the endpoint's Error state,
 * 6.4.5 completion codes Invalid Stream Type Error (10) and Invalid
 * Stream ID Error (34).
 *
 * What is modelled is what QEMU 7.2 supports: Primary Stream Context
 * Arrays with LSA = 1 of up to 2^(MaxPSASize+1) = 256 entries (stream IDs
 * 1..255), each entry a Primary Transfer Ring (SCT 1); HCCPARAMS1 says
 * NSS (no secondary stream IDs).  An endpoint with LSA = 0 (secondary
 * arrays), a stream context of any other type, a stream ID of 0 or
 * beyond the array all end in a Transfer Event with Invalid Stream Type
 * or Invalid Stream ID Error and the endpoint in the Error state, from
 * which Set TR Dequeue Pointer recovers it.  MaxPStreams above MaxPSASize
 * or on a non-bulk endpoint fails Configure Endpoint with Parameter
 * Error.
 *
 * A stream's context is read from guest memory the first time a doorbell
 * names it (or Set TR Dequeue sets it); from then on the controller keeps
 * its dequeue pointer and cycle state, writes them back to the context
 * when the endpoint stops or halts, and carries them in the endpoint's
 * device state.  A device's wakeup runs only streams whose context has
 * been read: it never makes the controller read a context the driver has
 * not yet handed over.
 */
#include "qemu/osdep.h"
#include "hcd-xhci.h"

unsigned xhci_streams_check_ctx(const uint8_t *ctx)
{
    uint32_t dw0 = ldl_le_p(ctx), dw1 = ldl_le_p(ctx + 4);
    unsigned maxp = EPCTX_MAXPSTREAMS(dw0), type = EPCTX_TYPE(dw1);

    if (!maxp) {
        return CC_SUCCESS;
    }
    if (maxp > XHCI_MAX_PSA_SIZE ||
        (type != EP_TYPE_BULK_OUT && type != EP_TYPE_BULK_IN)) {
        return CC_PARAMETER_ERROR;
    }
    return CC_SUCCESS;
}

void xhci_streams_free(XHCIEndpoint *ep)
{
    g_free(ep->streams);
    ep->streams = NULL;
    ep->nstreams = 0;
}

void xhci_streams_init(XHCIEndpoint *ep, const uint8_t *ctx)
{
    uint32_t dw0 = ldl_le_p(ctx), dw1 = ldl_le_p(ctx + 4);

    xhci_streams_free(ep);
    ep->max_pstreams = 0;
    ep->lsa = EPCTX_LSA(dw0);
    ep->hid = EPCTX_HID(dw1);
    if (xhci_streams_check_ctx(ctx) != CC_SUCCESS) {
        return;     /* endpoint 0 is not checked: no streams there */
    }
    ep->max_pstreams = EPCTX_MAXPSTREAMS(dw0);
    if (!ep->max_pstreams) {
        return;
    }
    ep->nstreams = 2u << ep->max_pstreams;
    ep->streams = g_new0(XHCIStream, ep->nstreams);
    ep->dequeue = ldq_le_p(ctx + 8) & ~0xfull;  /* the array, 16-aligned */
    ep->dcs = false;
}

static uint64_t xhci_stream_ctx_addr(XHCIEndpoint *ep, unsigned sid)
{
    return ep->dequeue + 16ull * sid;
}

XHCIStream *xhci_stream_get(XHCIState *s, XHCIEndpoint *ep, unsigned sid,
                            unsigned *cc)
{
    XHCIStream *st;
    uint8_t c[8];
    uint64_t q;

    if (sid == 0 || sid >= ep->nstreams) {
        *cc = CC_INVALID_STREAM_ID_ERROR;
        return NULL;
    }
    if (!ep->lsa) {
        /* secondary stream arrays: not supported (NSS) */
        *cc = CC_INVALID_STREAM_TYPE_ERROR;
        return NULL;
    }
    st = &ep->streams[sid];
    if (st->valid) {
        return st;
    }
    if (!xhci_dma_read(s, xhci_stream_ctx_addr(ep, sid), c, sizeof(c))) {
        *cc = 0;
        return NULL;
    }
    q = ldq_le_p(c);
    if (((q >> 1) & 7) != SCT_PRIMARY_TR) {
        *cc = CC_INVALID_STREAM_TYPE_ERROR;
        return NULL;
    }
    st->dequeue = q & ~0xfull;
    st->dcs = q & 1;
    st->kick_again = false;
    st->valid = true;
    return st;
}

static void xhci_stream_write_ctx(XHCIState *s, XHCIEndpoint *ep,
                                  unsigned sid)
{
    XHCIStream *st = &ep->streams[sid];
    uint8_t c[8];

    stq_le_p(c, st->dequeue | (SCT_PRIMARY_TR << 1) | (st->dcs ? 1 : 0));
    xhci_dma_write(s, xhci_stream_ctx_addr(ep, sid), c, sizeof(c));
}

void xhci_streams_write_back(XHCIState *s, XHCIEndpoint *ep, unsigned sid)
{
    if (sid) {
        if (sid < ep->nstreams && ep->streams[sid].valid) {
            xhci_stream_write_ctx(s, ep, sid);
        }
        return;
    }
    for (unsigned i = 1; i < ep->nstreams; i++) {
        if (ep->streams[i].valid) {
            xhci_stream_write_ctx(s, ep, i);
        }
    }
}

unsigned xhci_stream_set_dequeue(XHCIState *s, XHCIEndpoint *ep,
                                 unsigned sid, uint64_t param)
{
    XHCIStream *st;

    if (sid == 0 || sid >= ep->nstreams) {
        return CC_INVALID_STREAM_ID_ERROR;
    }
    if (!ep->lsa || ((param >> 1) & 7) != SCT_PRIMARY_TR) {
        return CC_INVALID_STREAM_TYPE_ERROR;
    }
    st = &ep->streams[sid];
    st->dequeue = param & ~0xfull;
    st->dcs = param & 1;
    st->kick_again = false;
    st->valid = true;
    xhci_stream_write_ctx(s, ep, sid);
    return CC_SUCCESS;
}

bool xhci_streams_post_load(XHCIEndpoint *ep)
{
    uint32_t want;

    /* a loaded MaxPStreams is checked before it sizes anything */
    if (ep->max_pstreams > XHCI_MAX_PSA_SIZE) {
        return false;
    }
    want = ep->max_pstreams ? 2u << ep->max_pstreams : 0;
    return ep->nstreams == want && (!want || ep->streams);
}

const VMStateDescription vmstate_xhci_stream = {
    .name = "xhci-stream", .version_id = 1, .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(dequeue, XHCIStream),
        VMSTATE_BOOL(dcs, XHCIStream),
        VMSTATE_BOOL(valid, XHCIStream),
        VMSTATE_BOOL(kick_again, XHCIStream),
        VMSTATE_END_OF_LIST()
    },
};

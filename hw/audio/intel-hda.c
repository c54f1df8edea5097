/*
 * Intel High Definition Audio controllers: "intel-hda" (ICH6, 8086:2668)
 * and "ich9-intel-hda" (ICH9, 8086:293e), with an HDA bus for the codecs
 * (hw/audio/hda-codec.c).
 *
 * Spec: Intel High Definition Audio Specification 1.0a, chapter 3
 * (register interface: GCAP, VMIN, VMAJ, OUTPAY, INPAY, GCTL, WAKEEN,
 * STATESTS, GSTS, OUTSTRMPAY, INSTRMPAY, INTCTL, INTSTS, WALCLK, SSYNC,
 * CORBLBASE/CORBUBASE, CORBWP, CORBRP, CORBCTL, CORBSTS, CORBSIZE,
 * RIRBLBASE/RIRBUBASE, RIRBWP, RINTCNT, RIRBCTL, RIRBSTS, RIRBSIZE, ICOI,
 * IRII, ICS, DPLBASE/DPUBASE, and per stream SDnCTL, SDnSTS, SDnLPIB,
 * SDnCBL, SDnLVI, SDnFIFOS, SDnFMT, SDnBDPL/SDnBDPU) and chapter 4
 * (CORB/RIRB, immediate commands, buffer descriptor lists, position
 * buffer, unsolicited responses).  ICH9 datasheet (319973) for the LPIB
 * and WALCLK aliases at 0x2000.
 *
 * Model:
 *   - 4 input streams (SD0-3) and 4 output streams (SD4-7), 64-bit DMA
 *     (GCAP 0x4401), 256-entry CORB and RIRB only (CORBSIZE/RIRBSIZE
 *     0x42).  Registers are a table (offset, size, write mask, write-1-
 *     to-clear mask, reset value); an access may span several registers
 *     and is applied register by register.
 *   - Commands: CORB entries between CORBRP and CORBWP run when CORBWP is
 *     written with CORBRUN set (at most 256 per write); responses go to
 *     the RIRB while RIRBDMAEN is set, with RINTFL after RINTCNT of them
 *     or when the CORB is drained.  The immediate interface (ICOI, ICS.ICB,
 *     IRII, ICS.IRV) runs a command at once.  Unsolicited responses reach
 *     the RIRB only with GCTL.UNSOL set (bit 4 of the extended response).
 *   - Streams move data only when their codec's audio voice asks
 *     (hda_codec_xfer on the audio timer): the BDL is walked entry by
 *     entry, LVI + 1 entries, each read through PCI DMA.  A zero-length
 *     entry is skipped; a BDL with no data, an entry or buffer address
 *     the bus cannot reach, or CBL 0 sets DESE and stops the stream (as a
 *     fetch error would); LPIB wraps at CBL or after entry LVI.  IOC
 *     entries set BCIS when they complete.  The DMA position buffer gets
 *     every stream's LPIB after each transfer.
 *   - INTSTS is computed: SIS n = stream n's BCIS/FIFOE/DESE with their
 *     enables, CIS = RINTFL | RIRBOIS (with RIRBOIC) | CMEI (with CMEIE) |
 *     STATESTS & WAKEEN; GIS when any of them is enabled in INTCTL.  With
 *     MSI enabled a rising GIE && GIS sends the message, else INTA#.
 *   - Not modelled: the FIFO error (never happens), RIRB overrun (the
 *     RIRB has no read pointer, so software owns overrun avoidance),
 *     stream synchronisation (SSYNC is kept), bidirectional streams, the
 *     ICH9 PCIe capability, power management and docking registers.
 */
#include "qemu/osdep.h"
#include "hw/pci/pci.h"
#include "hw/pci/msi.h"
#include "hw/audio/hda.h"
#include "system/timer.h"

#define HDA_MMIO_SIZE       0x4000
#define HDA_NUM_STREAMS     8
#define HDA_NUM_IN          4
#define HDA_STREAM_BASE     0x80
#define HDA_STREAM_STRIDE   0x20
#define HDA_ALIAS_BASE      0x2000
#define HDA_MSI_CAP         0x60
#define HDA_WALCLK_HZ       24000000

/* GCTL */
#define GCTL_CRST           (1u << 0)
#define GCTL_FCNTRL         (1u << 1)
#define GCTL_UNSOL          (1u << 8)
/* INTCTL / INTSTS */
#define INT_CIE             (1u << 30)
#define INT_GIE             (1u << 31)
/* CORB */
#define CORBRP_RST          (1u << 15)
#define CORBCTL_CMEIE       (1u << 0)
#define CORBCTL_RUN         (1u << 1)
#define CORBSTS_CMEI        (1u << 0)
#define RING_SIZE_256       0x42        /* 256 entries, capability 256 */
#define RING_ENTRIES        256
/* RIRB */
#define RIRBWP_RST          (1u << 15)
#define RIRBCTL_RINTCTL     (1u << 0)
#define RIRBCTL_DMAEN       (1u << 1)
#define RIRBCTL_OIC         (1u << 2)
#define RIRBSTS_RINTFL      (1u << 0)
#define RIRBSTS_OIS         (1u << 2)
/* ICS */
#define ICS_ICB             (1u << 0)
#define ICS_IRV             (1u << 1)
/* DPLBASE */
#define DPLBASE_ENABLE      (1u << 0)
/* SDnCTL (bits 0-23) and SDnSTS (bits 24-31 of the same dword) */
#define SDCTL_SRST          (1u << 0)
#define SDCTL_RUN           (1u << 1)
#define SDCTL_IOCE          (1u << 2)
#define SDCTL_FEIE          (1u << 3)
#define SDCTL_DEIE          (1u << 4)
#define SDCTL_STRM_SHIFT    20
#define SDSTS_BCIS          (1u << 2)
#define SDSTS_FIFOE         (1u << 3)
#define SDSTS_DESE          (1u << 4)
#define SDSTS_FIFORDY       (1u << 5)
#define BDL_ENTRY_SIZE      16
#define BDL_IOC             (1u << 0)

typedef struct HDAStream {
    uint32_t ctl;               /* SDnCTL, 24 bits */
    uint32_t sts;               /* SDnSTS */
    uint32_t lpib, cbl, lvi, fifos, fmt, bdpl, bdpu;
    /* the DMA engine's place: entry @be, @bp bytes into it */
    uint32_t be, bp;
    /* entry @be as fetched (not state: fetched again after a load) */
    bool bd_valid;
    uint64_t bd_addr;
    uint32_t bd_len, bd_flags;
} HDAStream;

typedef struct IntelHDAState {
    PCIDevice parent;
    /* properties */
    uint32_t msi;               /* 0 off, 1 on (QEMU: on/off/auto) */
    bool old_msi_addr;          /* accepted for QEMU compatibility */

    uint32_t gctl, wakeen, statests, intctl, intsts, ssync;
    uint32_t corblbase, corbubase, corbwp, corbrp, corbctl, corbsts,
             corbsize;
    uint32_t rirblbase, rirbubase, rirbwp, rintcnt, rirbctl, rirbsts,
             rirbsize;
    uint32_t icoi, irii, ics;
    uint32_t dplbase, dpubase;
    uint32_t rirb_count;        /* responses since RINTFL */
    int64_t wall_base_ns;       /* WALCLK 0 */
    HDAStream st[HDA_NUM_STREAMS];

    bool icmd_busy;             /* an immediate command is running */
    bool irq_level;
    MemoryRegion mmio;
    HDABus bus;
} IntelHDAState;

typedef struct HDAReg HDAReg;
struct HDAReg {
    const char *name;
    uint32_t offset;
    uint8_t size;               /* bytes */
    uint32_t wmask;             /* bits software writes */
    uint32_t wclear;            /* bits a written 1 clears */
    uint32_t reset;
    size_t field;               /* offset of the uint32_t in the state */
    int stream;                 /* -1: global */
    void (*write)(IntelHDAState *d, const HDAReg *r, uint32_t old);
    uint32_t (*read)(IntelHDAState *d, const HDAReg *r);
};

static void hda_update_irq(IntelHDAState *d);
static void hda_corb_run(IntelHDAState *d);

static uint32_t *reg_ptr(IntelHDAState *d, const HDAReg *r)
{
    if (r->stream >= 0) {
        return (uint32_t *)((uint8_t *)&d->st[r->stream] + r->field);
    }
    return (uint32_t *)((uint8_t *)d + r->field);
}

static bool stream_is_output(unsigned n)
{
    return n >= HDA_NUM_IN;
}

static uint64_t corb_base(IntelHDAState *d)
{
    return ((uint64_t)d->corbubase << 32) | d->corblbase;
}

static uint64_t rirb_base(IntelHDAState *d)
{
    return ((uint64_t)d->rirbubase << 32) | d->rirblbase;
}

static uint64_t bdl_base(HDAStream *st)
{
    return ((uint64_t)st->bdpu << 32) | st->bdpl;
}

/* ---- interrupts -------------------------------------------------------- */

static uint32_t hda_compute_intsts(IntelHDAState *d)
{
    uint32_t sts = 0;

    for (unsigned i = 0; i < HDA_NUM_STREAMS; i++) {
        HDAStream *st = &d->st[i];

        if (((st->sts & SDSTS_BCIS) && (st->ctl & SDCTL_IOCE)) ||
            ((st->sts & SDSTS_FIFOE) && (st->ctl & SDCTL_FEIE)) ||
            ((st->sts & SDSTS_DESE) && (st->ctl & SDCTL_DEIE))) {
            sts |= 1u << i;
        }
    }
    if (((d->rirbsts & RIRBSTS_RINTFL) && (d->rirbctl & RIRBCTL_RINTCTL)) ||
        ((d->rirbsts & RIRBSTS_OIS) && (d->rirbctl & RIRBCTL_OIC)) ||
        ((d->corbsts & CORBSTS_CMEI) && (d->corbctl & CORBCTL_CMEIE)) ||
        (d->statests & d->wakeen)) {
        sts |= INT_CIE;
    }
    if (sts & d->intctl) {
        sts |= INT_GIE;
    }
    return sts;
}

static void hda_update_irq(IntelHDAState *d)
{
    bool level;

    d->intsts = hda_compute_intsts(d);
    level = (d->intsts & INT_GIE) && (d->intctl & INT_GIE);
    if (msi_enabled(&d->parent)) {
        pci_set_irq(&d->parent, 0);
        if (level && !d->irq_level) {
            msi_notify(&d->parent, 0);
        }
    } else {
        pci_set_irq(&d->parent, level);
    }
    d->irq_level = level;
}

/* ---- codec responses and commands -------------------------------------- */

static void hda_response(HDACodecDevice *dev, bool solicited,
                         uint32_t response)
{
    IntelHDAState *d = dev->bus->ctrl;
    uint32_t ex = (dev->cad & 0xf) | (solicited ? 0 : (1u << 4));
    uint8_t entry[8];
    uint32_t wp;

    if (solicited && d->icmd_busy) {
        d->irii = response;
        d->ics |= ICS_IRV;
        return;
    }
    if (!solicited && !(d->gctl & GCTL_UNSOL)) {
        return;
    }
    if (!(d->rirbctl & RIRBCTL_DMAEN)) {
        return;         /* the RIRB engine is off: the response is lost */
    }
    wp = (d->rirbwp + 1) & (RING_ENTRIES - 1);
    stl_le_p(entry, response);
    stl_le_p(entry + 4, ex);
    if (pci_dma_write(&d->parent, rirb_base(d) + wp * 8, entry, 8)) {
        return;         /* master abort: nothing written */
    }
    d->rirbwp = wp;
    d->rirb_count++;
    /* RINTCNT 0 means 256 */
    if (d->rirb_count >= ((d->rintcnt & 0xff) ? (d->rintcnt & 0xff) : 256) ||
        (d->corbrp & 0xff) == (d->corbwp & 0xff) || !solicited) {
        d->rirbsts |= RIRBSTS_RINTFL;
        d->rirb_count = 0;
        hda_update_irq(d);
    }
}

static void hda_send_command(IntelHDAState *d, uint32_t verb)
{
    uint32_t cad = verb >> 28;
    HDACodecDevice *codec = hda_codec_find(&d->bus, cad);

    if (!codec) {
        return;         /* no codec answers: software times out */
    }
    codec->ops->command(codec, (verb >> 20) & 0x7f, verb & 0xfffff);
}

static void hda_corb_run(IntelHDAState *d)
{
    /* at most one ring's worth per doorbell */
    for (unsigned n = 0; n < RING_ENTRIES; n++) {
        uint8_t buf[4];
        uint32_t rp;

        if (!(d->corbctl & CORBCTL_RUN) || !(d->gctl & GCTL_CRST) ||
            (d->corbrp & 0xff) == (d->corbwp & 0xff)) {
            return;
        }
        rp = ((d->corbrp & 0xff) + 1) & (RING_ENTRIES - 1);
        if (pci_dma_read(&d->parent, corb_base(d) + rp * 4, buf, 4)) {
            /* memory error: the CORB engine stops */
            d->corbsts |= CORBSTS_CMEI;
            d->corbctl &= ~CORBCTL_RUN;
            hda_update_irq(d);
            return;
        }
        d->corbrp = rp;
        hda_send_command(d, ldl_le_p(buf));
    }
}

/* ---- stream DMA -------------------------------------------------------- */

static void hda_stream_stop(IntelHDAState *d, unsigned n)
{
    HDAStream *st = &d->st[n];
    uint32_t stnr = st->ctl >> SDCTL_STRM_SHIFT & 0xf;

    if (!(st->ctl & SDCTL_RUN)) {
        return;
    }
    st->ctl &= ~SDCTL_RUN;
    for (guint i = 0; i < d->bus.codecs->len; i++) {
        HDACodecDevice *c = g_ptr_array_index(d->bus.codecs, i);
        c->ops->stream(c, stnr, false, stream_is_output(n));
    }
}

/* A fetch or transfer error: DESE, and the stream stops. */
static void hda_stream_error(IntelHDAState *d, unsigned n)
{
    d->st[n].sts |= SDSTS_DESE;
    hda_stream_stop(d, n);
    hda_update_irq(d);
}

static bool hda_fetch_entry(IntelHDAState *d, HDAStream *st)
{
    uint8_t e[BDL_ENTRY_SIZE];

    if (pci_dma_read(&d->parent, bdl_base(st) + st->be * BDL_ENTRY_SIZE, e,
                     sizeof(e))) {
        return false;
    }
    st->bd_addr = ldq_le_p(e);
    st->bd_len = ldl_le_p(e + 8);
    st->bd_flags = ldl_le_p(e + 12);
    st->bd_valid = true;
    return true;
}

static void hda_next_entry(HDAStream *st)
{
    st->be = st->be >= (st->lvi & 0xff) ? 0 : st->be + 1;
    st->bp = 0;
    st->bd_valid = false;
}

static void hda_write_positions(IntelHDAState *d)
{
    uint64_t base;
    uint8_t buf[HDA_NUM_STREAMS * 8] = { 0 };

    if (!(d->dplbase & DPLBASE_ENABLE)) {
        return;
    }
    base = ((uint64_t)d->dpubase << 32) | (d->dplbase & ~0x7full);
    for (unsigned i = 0; i < HDA_NUM_STREAMS; i++) {
        stl_le_p(buf + i * 8, d->st[i].lpib);
    }
    pci_dma_write(&d->parent, base, buf, sizeof(buf));
}

/*
 * Move up to @len bytes of stream @n.  Returns the bytes moved; a stream
 * error stops the stream.
 */
static uint32_t hda_stream_dma(IntelHDAState *d, unsigned n, uint8_t *buf,
                               uint32_t len)
{
    HDAStream *st = &d->st[n];
    bool out = stream_is_output(n);
    uint32_t done = 0;
    unsigned empty = 0;         /* entries fetched in a row without data */
    bool irq = false;

    if (!st->cbl || (st->lvi & 0xff) < 1) {
        hda_stream_error(d, n);        /* no valid buffer to play */
        return 0;
    }
    while (done < len && (st->ctl & SDCTL_RUN)) {
        uint32_t chunk;

        if (!st->bd_valid) {
            if (st->be > (st->lvi & 0xff)) {
                st->be = 0;
            }
            if (!hda_fetch_entry(d, st)) {
                hda_stream_error(d, n);
                break;
            }
        }
        if (st->bp >= st->bd_len) {
            if (st->bd_len == 0 && ++empty > (st->lvi & 0xff) + 1) {
                hda_stream_error(d, n);     /* a list of empty entries */
                break;
            }
            hda_next_entry(st);
            continue;
        }
        empty = 0;
        chunk = MIN(len - done, st->bd_len - st->bp);
        chunk = MIN(chunk, st->cbl - MIN(st->lpib, st->cbl));
        if (chunk) {
            MemTxResult r = out ?
                pci_dma_read(&d->parent, st->bd_addr + st->bp, buf + done,
                             chunk) :
                pci_dma_write(&d->parent, st->bd_addr + st->bp, buf + done,
                              chunk);
            if (r) {
                hda_stream_error(d, n);
                break;
            }
        }
        done += chunk;
        st->bp += chunk;
        st->lpib += chunk;
        if (st->bp >= st->bd_len) {
            if (st->bd_flags & BDL_IOC) {
                st->sts |= SDSTS_BCIS;
                irq = true;
            }
            hda_next_entry(st);
        }
        if (st->lpib >= st->cbl) {
            /* the cyclic buffer wraps: back to the first entry */
            st->lpib = 0;
            st->be = 0;
            st->bp = 0;
            st->bd_valid = false;
        }
    }
    hda_write_positions(d);
    if (irq) {
        hda_update_irq(d);
    }
    return done;
}

static bool hda_xfer(HDACodecDevice *dev, uint32_t stnr, bool output,
                     uint8_t *buf, uint32_t len)
{
    IntelHDAState *d = dev->bus->ctrl;
    unsigned first = output ? HDA_NUM_IN : 0;
    unsigned last = output ? HDA_NUM_STREAMS : HDA_NUM_IN;

    for (unsigned n = first; n < last; n++) {
        HDAStream *st = &d->st[n];

        if ((st->ctl & SDCTL_RUN) &&
            (st->ctl >> SDCTL_STRM_SHIFT & 0xf) == stnr && stnr) {
            uint32_t got = hda_stream_dma(d, n, buf, len);

            if (got < len) {
                /* what could not be fetched plays as silence */
                if (output) {
                    memset(buf + got, 0, len - got);
                }
                return got > 0;
            }
            return true;
        }
    }
    return false;
}

static const HDABusOps hda_bus_ops = {
    .response = hda_response,
    .xfer = hda_xfer,
};

/* ---- register handlers ------------------------------------------------- */

static void hda_reset_regs(IntelHDAState *d);

static void w_gctl(IntelHDAState *d, const HDAReg *r, uint32_t old)
{
    if (!(d->gctl & GCTL_CRST)) {
        /* controller reset: everything but GCTL's own bits goes */
        uint32_t keep = d->gctl;

        hda_reset_regs(d);
        d->gctl = keep & ~GCTL_CRST;
        hda_update_irq(d);
        return;
    }
    if (!(old & GCTL_CRST)) {
        /* out of reset: each codec reports itself in STATESTS */
        for (guint i = 0; i < d->bus.codecs->len; i++) {
            HDACodecDevice *c = g_ptr_array_index(d->bus.codecs, i);
            d->statests |= 1u << c->cad;
        }
        hda_update_irq(d);
    }
}

static void w_update_irq(IntelHDAState *d, const HDAReg *r, uint32_t old)
{
    hda_update_irq(d);
}

static void w_corbwp(IntelHDAState *d, const HDAReg *r, uint32_t old)
{
    hda_corb_run(d);
}

static void w_corbrp(IntelHDAState *d, const HDAReg *r, uint32_t old)
{
    if (d->corbrp & CORBRP_RST) {
        /* the pointer resets to 0; the bit reads back 1 until cleared */
        d->corbrp = CORBRP_RST;
    }
}

static void w_corbctl(IntelHDAState *d, const HDAReg *r, uint32_t old)
{
    hda_update_irq(d);
    hda_corb_run(d);
}

static void w_rirbwp(IntelHDAState *d, const HDAReg *r, uint32_t old)
{
    if (d->rirbwp & RIRBWP_RST) {
        d->rirbwp = 0;
        d->rirb_count = 0;
    }
}

static uint32_t r_corbrp(IntelHDAState *d, const HDAReg *r)
{
    return d->corbrp;
}

static void w_ics(IntelHDAState *d, const HDAReg *r, uint32_t old)
{
    if ((d->ics & ICS_ICB) && !(old & ICS_ICB)) {
        d->ics &= ~ICS_IRV;
        d->icmd_busy = true;
        hda_send_command(d, d->icoi);
        d->icmd_busy = false;
        d->ics &= ~ICS_ICB;
    }
}

static uint32_t r_walclk(IntelHDAState *d, const HDAReg *r)
{
    int64_t ns = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) - d->wall_base_ns;

    /* 24 MHz: 24 ticks a microsecond */
    return (uint32_t)(ns / 1000 * (HDA_WALCLK_HZ / 1000000));
}

static uint32_t r_intsts(IntelHDAState *d, const HDAReg *r)
{
    return hda_compute_intsts(d);
}

static void hda_stream_reset(HDAStream *st, unsigned n)
{
    st->ctl = SDCTL_SRST & st->ctl;
    st->sts = 0;
    st->lpib = st->cbl = st->lvi = st->fmt = st->bdpl = st->bdpu = 0;
    st->fifos = stream_is_output(n) ? 0xff : 0x7f;
    st->be = st->bp = 0;
    st->bd_valid = false;
}

static void w_sdctl(IntelHDAState *d, const HDAReg *r, uint32_t old)
{
    unsigned n = r->stream;
    HDAStream *st = &d->st[n];
    uint32_t stnr = st->ctl >> SDCTL_STRM_SHIFT & 0xf;

    if (st->ctl & SDCTL_SRST) {
        /* stream reset: stop, then every register to its default */
        if (old & SDCTL_RUN) {
            st->ctl = old;
            hda_stream_stop(d, n);
        }
        hda_stream_reset(st, n);
        st->ctl = SDCTL_SRST;
        hda_update_irq(d);
        return;
    }
    if ((old & SDCTL_RUN) && !(st->ctl & SDCTL_RUN)) {
        uint32_t oldnr = old >> SDCTL_STRM_SHIFT & 0xf;

        for (guint i = 0; i < d->bus.codecs->len; i++) {
            HDACodecDevice *c = g_ptr_array_index(d->bus.codecs, i);
            c->ops->stream(c, oldnr, false, stream_is_output(n));
        }
    } else if (!(old & SDCTL_RUN) && (st->ctl & SDCTL_RUN)) {
        st->sts |= SDSTS_FIFORDY;
        st->bd_valid = false;   /* software may have changed the list */
        for (guint i = 0; i < d->bus.codecs->len; i++) {
            HDACodecDevice *c = g_ptr_array_index(d->bus.codecs, i);
            c->ops->stream(c, stnr, true, stream_is_output(n));
        }
    }
    hda_update_irq(d);
}

/* ---- the register table ------------------------------------------------ */

#define G(nm, off, sz, wm, wc, rst, fld, w, rd) \
    { .name = nm, .offset = off, .size = sz, .wmask = wm, .wclear = wc, \
      .reset = rst, .field = offsetof(IntelHDAState, fld), .stream = -1, \
      .write = w, .read = rd }
#define C(nm, off, sz, val) \
    { .name = nm, .offset = off, .size = sz, .reset = val, .stream = -2 }

static const HDAReg global_regs[] = {
    C("GCAP", 0x00, 2, 0x4401),
    C("VMIN", 0x02, 1, 0x00),
    C("VMAJ", 0x03, 1, 0x01),
    C("OUTPAY", 0x04, 2, 0x003c),
    C("INPAY", 0x06, 2, 0x001d),
    G("GCTL", 0x08, 4, 0x103, 0, 0, gctl, w_gctl, NULL),
    G("WAKEEN", 0x0c, 2, 0x7fff, 0, 0, wakeen, w_update_irq, NULL),
    G("STATESTS", 0x0e, 2, 0, 0x7fff, 0, statests, w_update_irq, NULL),
    C("GSTS", 0x10, 2, 0),
    C("OUTSTRMPAY", 0x18, 2, 0x0030),
    C("INSTRMPAY", 0x1a, 2, 0x0018),
    G("INTCTL", 0x20, 4, 0xc00000ff, 0, 0, intctl, w_update_irq, NULL),
    G("INTSTS", 0x24, 4, 0, 0, 0, intsts, NULL, r_intsts),
    G("WALCLK", 0x30, 4, 0, 0, 0, intsts, NULL, r_walclk),
    G("SSYNC", 0x38, 4, 0xff, 0, 0, ssync, NULL, NULL),
    G("CORBLBASE", 0x40, 4, 0xffffff80, 0, 0, corblbase, NULL, NULL),
    G("CORBUBASE", 0x44, 4, 0xffffffff, 0, 0, corbubase, NULL, NULL),
    G("CORBWP", 0x48, 2, 0xff, 0, 0, corbwp, w_corbwp, NULL),
    G("CORBRP", 0x4a, 2, 0x8000, 0, 0, corbrp, w_corbrp, r_corbrp),
    G("CORBCTL", 0x4c, 1, 0x03, 0, 0, corbctl, w_corbctl, NULL),
    G("CORBSTS", 0x4d, 1, 0, 0x01, 0, corbsts, w_update_irq, NULL),
    G("CORBSIZE", 0x4e, 1, 0, 0, RING_SIZE_256, corbsize, NULL, NULL),
    G("RIRBLBASE", 0x50, 4, 0xffffff80, 0, 0, rirblbase, NULL, NULL),
    G("RIRBUBASE", 0x54, 4, 0xffffffff, 0, 0, rirbubase, NULL, NULL),
    G("RIRBWP", 0x58, 2, 0x8000, 0, 0, rirbwp, w_rirbwp, NULL),
    G("RINTCNT", 0x5a, 2, 0xff, 0, 0, rintcnt, NULL, NULL),
    G("RIRBCTL", 0x5c, 1, 0x07, 0, 0, rirbctl, w_update_irq, NULL),
    G("RIRBSTS", 0x5d, 1, 0, 0x05, 0, rirbsts, w_update_irq, NULL),
    G("RIRBSIZE", 0x5e, 1, 0, 0, RING_SIZE_256, rirbsize, NULL, NULL),
    G("ICOI", 0x60, 4, 0xffffffff, 0, 0, icoi, NULL, NULL),
    G("IRII", 0x64, 4, 0, 0, 0, irii, NULL, NULL),
    G("ICS", 0x68, 2, 0x01, 0x02, 0, ics, w_ics, NULL),
    G("DPLBASE", 0x70, 4, 0xffffff81, 0, 0, dplbase, NULL, NULL),
    G("DPUBASE", 0x74, 4, 0xffffffff, 0, 0, dpubase, NULL, NULL),
};

#define S(nm, off, sz, wm, wc, fld, w) \
    { .name = nm, .offset = off, .size = sz, .wmask = wm, .wclear = wc, \
      .field = offsetof(HDAStream, fld), .write = w }

/* Offsets within a stream descriptor; .stream is filled per stream. */
static const HDAReg stream_regs[] = {
    S("SDnCTL", 0x00, 3, 0xf0001f, 0, ctl, w_sdctl),
    S("SDnSTS", 0x03, 1, 0, 0x1c, sts, w_update_irq),
    S("SDnLPIB", 0x04, 4, 0, 0, lpib, NULL),
    S("SDnCBL", 0x08, 4, 0xffffffff, 0, cbl, NULL),
    S("SDnLVI", 0x0c, 2, 0xff, 0, lvi, NULL),
    S("SDnFIFOS", 0x10, 2, 0, 0, fifos, NULL),
    S("SDnFMT", 0x12, 2, 0x7f7f, 0, fmt, NULL),
    S("SDnBDPL", 0x18, 4, 0xffffff80, 0, bdpl, NULL),
    S("SDnBDPU", 0x1c, 4, 0xffffffff, 0, bdpu, NULL),
};

/* The register at @addr: a copy with the stream and offset filled in. */
static bool hda_find_reg(uint32_t addr, HDAReg *out)
{
    if (addr >= HDA_ALIAS_BASE) {
        /* ICH9 aliases: WALCLK at 0x2030, SDnLPIB at 0x2084 + 0x20 n */
        addr -= HDA_ALIAS_BASE;
        if (addr >= 0x30 && addr < 0x34) {
            *out = global_regs[13];
            return true;
        }
        if (addr < HDA_STREAM_BASE ||
            addr >= HDA_STREAM_BASE + HDA_NUM_STREAMS * HDA_STREAM_STRIDE ||
            (addr - HDA_STREAM_BASE) % HDA_STREAM_STRIDE < 4 ||
            (addr - HDA_STREAM_BASE) % HDA_STREAM_STRIDE >= 8) {
            return false;
        }
        *out = stream_regs[2];
        out->wmask = out->wclear = 0;
        out->write = NULL;
        out->stream = (addr - HDA_STREAM_BASE) / HDA_STREAM_STRIDE;
        out->offset = HDA_ALIAS_BASE + HDA_STREAM_BASE +
                      out->stream * HDA_STREAM_STRIDE + 4;
        return true;
    }
    if (addr >= HDA_STREAM_BASE &&
        addr < HDA_STREAM_BASE + HDA_NUM_STREAMS * HDA_STREAM_STRIDE) {
        unsigned n = (addr - HDA_STREAM_BASE) / HDA_STREAM_STRIDE;
        uint32_t off = (addr - HDA_STREAM_BASE) % HDA_STREAM_STRIDE;

        for (size_t i = 0; i < G_N_ELEMENTS(stream_regs); i++) {
            const HDAReg *r = &stream_regs[i];
            if (off >= r->offset && off < r->offset + r->size) {
                *out = *r;
                out->stream = n;
                out->offset = HDA_STREAM_BASE + n * HDA_STREAM_STRIDE +
                              r->offset;
                return true;
            }
        }
        return false;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(global_regs); i++) {
        const HDAReg *r = &global_regs[i];
        if (addr >= r->offset && addr < r->offset + r->size) {
            *out = *r;
            return true;
        }
    }
    return false;
}

static uint32_t hda_reg_value(IntelHDAState *d, const HDAReg *r)
{
    if (r->stream == -2) {
        return r->reset;
    }
    if (r->read) {
        return r->read(d, r);
    }
    return *reg_ptr(d, r);
}

static uint64_t hda_mmio_read(void *opaque, uint64_t addr, unsigned size)
{
    IntelHDAState *d = opaque;
    uint64_t val = 0;

    for (unsigned i = 0; i < size;) {
        HDAReg r;
        unsigned shift, n;

        if (!hda_find_reg(addr + i, &r)) {
            i++;
            continue;
        }
        shift = (addr + i - r.offset) * 8;
        n = MIN(size - i, r.offset + r.size - (addr + i));
        val |= ((uint64_t)(hda_reg_value(d, &r) >> shift) &
                ((1ull << (n * 8)) - 1)) << (i * 8);
        i += n;
    }
    return val;
}

static void hda_mmio_write(void *opaque, uint64_t addr, uint64_t val,
                           unsigned size)
{
    IntelHDAState *d = opaque;

    for (unsigned i = 0; i < size;) {
        HDAReg r;
        unsigned shift, n;
        uint32_t bytes, part, *p, old;

        if (!hda_find_reg(addr + i, &r)) {
            i++;
            continue;
        }
        shift = (addr + i - r.offset) * 8;
        n = MIN(size - i, r.offset + r.size - (addr + i));
        if (r.stream == -2 || (!r.wmask && !r.wclear)) {
            i += n;
            continue;
        }
        bytes = (uint32_t)(((1ull << (n * 8)) - 1) << shift);
        part = (uint32_t)((val >> (i * 8)) << shift) & bytes;
        p = reg_ptr(d, &r);
        old = *p;
        *p = (old & ~(r.wmask & bytes)) | (part & r.wmask);
        *p &= ~(part & r.wclear);
        i += n;
        if (r.write) {
            r.write(d, &r, old);
        }
    }
}

static const MemoryRegionOps hda_mmio_ops = {
    .read = hda_mmio_read,
    .write = hda_mmio_write,
    .min_access_size = 1,
    .max_access_size = 4,
};

/* ---- life cycle -------------------------------------------------------- */

static void hda_reset_regs(IntelHDAState *d)
{
    for (unsigned n = 0; n < HDA_NUM_STREAMS; n++) {
        hda_stream_stop(d, n);
        hda_stream_reset(&d->st[n], n);
        d->st[n].ctl = 0;
    }
    d->gctl = d->wakeen = d->statests = d->intctl = d->intsts = 0;
    d->ssync = 0;
    d->corblbase = d->corbubase = d->corbwp = d->corbrp = 0;
    d->corbctl = d->corbsts = 0;
    d->corbsize = d->rirbsize = RING_SIZE_256;
    d->rirblbase = d->rirbubase = d->rirbwp = d->rintcnt = 0;
    d->rirbctl = d->rirbsts = 0;
    d->icoi = d->irii = d->ics = 0;
    d->dplbase = d->dpubase = 0;
    d->rirb_count = 0;
    d->icmd_busy = false;
}

static void hda_reset(DeviceState *dev)
{
    IntelHDAState *d = (IntelHDAState *)dev;

    hda_reset_regs(d);
    d->wall_base_ns = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    d->irq_level = false;
    /* a PCI reset leaves the link out of reset only after software sets
     * CRST; codecs announce themselves then (w_gctl) */
}

static bool hda_realize(DeviceState *dev, GError **errp)
{
    IntelHDAState *d = (IntelHDAState *)dev;
    uint8_t *conf = d->parent.config;

    conf[0x40] = 0x01;          /* HDCTL: HD Audio (not AC97) mode */
    memory_region_init_io(&d->mmio, &hda_mmio_ops, d, "intel-hda",
                          HDA_MMIO_SIZE);
    pci_register_bar(&d->parent, 0, PCI_BASE_ADDRESS_SPACE_MEMORY, &d->mmio);
    if (d->msi && !msi_init(&d->parent, HDA_MSI_CAP, 1, true, false, errp)) {
        memory_region_destroy(&d->mmio);
        return false;
    }
    hda_bus_init(&d->bus, &hda_bus_ops, d, dev->id);
    return true;
}

static void hda_unrealize(DeviceState *dev)
{
    IntelHDAState *d = (IntelHDAState *)dev;

    hda_bus_cleanup(&d->bus);
    memory_region_destroy(&d->mmio);
}

static int hda_post_load(void *opaque, int version_id)
{
    IntelHDAState *d = opaque;

    for (unsigned n = 0; n < HDA_NUM_STREAMS; n++) {
        HDAStream *st = &d->st[n];

        st->bd_valid = false;
        if (st->be > 255) {
            return -1;
        }
    }
    d->corbrp &= CORBRP_RST | 0xff;
    d->corbwp &= 0xff;
    d->rirbwp &= 0xff;
    hda_update_irq(d);
    return 0;
}

static const VMStateDescription vmstate_hda_stream = {
    .name = "intel-hda-stream",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(ctl, HDAStream),
        VMSTATE_UINT32(sts, HDAStream),
        VMSTATE_UINT32(lpib, HDAStream),
        VMSTATE_UINT32(cbl, HDAStream),
        VMSTATE_UINT32(lvi, HDAStream),
        VMSTATE_UINT32(fifos, HDAStream),
        VMSTATE_UINT32(fmt, HDAStream),
        VMSTATE_UINT32(bdpl, HDAStream),
        VMSTATE_UINT32(bdpu, HDAStream),
        VMSTATE_UINT32(be, HDAStream),
        VMSTATE_UINT32(bp, HDAStream),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_intel_hda = {
    .name = "intel-hda",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = hda_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(gctl, IntelHDAState),
        VMSTATE_UINT32(wakeen, IntelHDAState),
        VMSTATE_UINT32(statests, IntelHDAState),
        VMSTATE_UINT32(intctl, IntelHDAState),
        VMSTATE_UINT32(ssync, IntelHDAState),
        VMSTATE_UINT32(corblbase, IntelHDAState),
        VMSTATE_UINT32(corbubase, IntelHDAState),
        VMSTATE_UINT32(corbwp, IntelHDAState),
        VMSTATE_UINT32(corbrp, IntelHDAState),
        VMSTATE_UINT32(corbctl, IntelHDAState),
        VMSTATE_UINT32(corbsts, IntelHDAState),
        VMSTATE_UINT32(rirblbase, IntelHDAState),
        VMSTATE_UINT32(rirbubase, IntelHDAState),
        VMSTATE_UINT32(rirbwp, IntelHDAState),
        VMSTATE_UINT32(rintcnt, IntelHDAState),
        VMSTATE_UINT32(rirbctl, IntelHDAState),
        VMSTATE_UINT32(rirbsts, IntelHDAState),
        VMSTATE_UINT32(icoi, IntelHDAState),
        VMSTATE_UINT32(irii, IntelHDAState),
        VMSTATE_UINT32(ics, IntelHDAState),
        VMSTATE_UINT32(dplbase, IntelHDAState),
        VMSTATE_UINT32(dpubase, IntelHDAState),
        VMSTATE_UINT32(rirb_count, IntelHDAState),
        VMSTATE_INT64(wall_base_ns, IntelHDAState),
        VMSTATE_STRUCT_ARRAY(st, IntelHDAState, HDA_NUM_STREAMS,
                             vmstate_hda_stream, HDAStream),
        VMSTATE_END_OF_LIST()
    },
};

static const Property hda_props[] = {
    DEFINE_PROP("msi", IntelHDAState, msi, PROP_UINT32, "1",
                "MSI capability (1, or 0: INTx only)"),
    DEFINE_PROP("old_msi_addr", IntelHDAState, old_msi_addr, PROP_BOOL,
                "off", "accepted for QEMU compatibility (no effect)"),
    DEFINE_PROP_END_OF_LIST(),
};

static const PCIDeviceClass ich6_class = {
    .vendor_id = PCI_VENDOR_ID_INTEL,
    .device_id = 0x2668,
    .revision = 1,
    .class_id = 0x0403,         /* multimedia: HD Audio */
    .interrupt_pin = 1,
};

static const PCIDeviceClass ich9_class = {
    .vendor_id = PCI_VENDOR_ID_INTEL,
    .device_id = 0x293e,
    .revision = 3,
    .class_id = 0x0403,
    .interrupt_pin = 1,
};

static const DeviceType intel_hda_type = {
    .name = "intel-hda",
    .parent = TYPE_PCI_DEVICE,
    .desc = "Intel HD Audio Controller (ich6)",
    .instance_size = sizeof(IntelHDAState),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_SOUND,
    .props = hda_props,
    .realize = hda_realize,
    .unrealize = hda_unrealize,
    .reset = hda_reset,
    .vmsd = &vmstate_intel_hda,
    .class_data = &ich6_class,
};

static const DeviceType ich9_hda_type = {
    .name = "ich9-intel-hda",
    .parent = TYPE_PCI_DEVICE,
    .desc = "Intel HD Audio Controller (ich9)",
    .instance_size = sizeof(IntelHDAState),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_SOUND,
    .props = hda_props,
    .realize = hda_realize,
    .unrealize = hda_unrealize,
    .reset = hda_reset,
    .vmsd = &vmstate_intel_hda,
    .class_data = &ich9_class,
};

static void intel_hda_register_types(void)
{
    device_type_register(&intel_hda_type);
    device_type_register(&ich9_hda_type);
}
type_init(intel_hda_register_types)

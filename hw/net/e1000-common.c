/*
 * The parts of Intel's e1000 family both hw/net/e1000.c (8254x) and
 * hw/net/e1000e.c (82574L) use: receive filters (8254x SDM 13.5, 82574
 * 7.1.1), statistics (13.7 / 10.2.7), the EEPROM checksum (5.6 / 6.1)
 * and the transmit engine (3.3 / 7.2: legacy descriptors with IC/CSO/CSS,
 * context descriptors, data descriptors with POPTS IXSM/TXSM, TSE and
 * VLE), done in software on a copy of the frame as QEMU does.
 *
 * Guest input is hostile: every offset a context descriptor gives is
 * checked against the frame, a context's MSS is at least 64 and header +
 * MSS at most 64 KiB (so one descriptor cannot become a flood of tiny
 * segments), a non-TSO frame longer than 64 KiB is cut, and DMA goes
 * through pci_dma_read (a buffer it cannot reach moves nothing).
 */
#include "e1000-common.h"

/* ---- EEPROM ------------------------------------------------------------ */

void e1000x_eeprom_checksum(uint16_t *w, unsigned cksum_word)
{
    uint16_t sum = 0;

    for (unsigned i = 0; i < cksum_word; i++) {
        sum += w[i];
    }
    w[cksum_word] = (uint16_t)(E1000_EEPROM_SUM - sum);
}

/* ---- receive ------------------------------------------------------------ */

uint32_t e1000x_rx_buf_size(uint32_t rctl)
{
    unsigned bsize = (rctl >> E1000_RCTL_BSIZE_SHIFT) & 3;

    if (rctl & E1000_RCTL_BSEX) {
        static const uint32_t ext[4] = { 2048, 16384, 8192, 4096 };
        return ext[bsize];
    }
    return 2048u >> bsize;
}

bool e1000x_is_vlan_frame(const uint32_t *regs, const uint8_t *p)
{
    return eth_ldw(p + 12) == (regs[E1000_R(E1000_VET)] & 0xffff);
}

/* 13.5: exact (RA), inexact (MTA), promiscuous, broadcast, VLAN. */
bool e1000x_rx_filter(const uint32_t *regs, const uint8_t *p)
{
    uint32_t rctl = regs[E1000_R(E1000_RCTL)];
    static const unsigned mta_shift[4] = { 4, 3, 2, 0 };
    bool multicast = p[0] & 1;

    if ((regs[E1000_R(E1000_CTRL)] & E1000_CTRL_VME) &&
        (rctl & E1000_RCTL_VFE) && e1000x_is_vlan_frame(regs, p)) {
        unsigned vid = eth_ldw(p + 14) & 0xfff;
        if (!(regs[E1000_R(E1000_VFTA) + (vid >> 5)] & (1u << (vid & 31)))) {
            return false;
        }
    }
    if (!multicast && (rctl & E1000_RCTL_UPE)) {
        return true;
    }
    if (multicast && (rctl & E1000_RCTL_MPE)) {
        return true;
    }
    if (eth_is_broadcast(p) && (rctl & E1000_RCTL_BAM)) {
        return true;
    }
    for (unsigned i = 0; i < 16; i++) {
        uint32_t ral = regs[E1000_R(E1000_RA) + 2 * i];
        uint32_t rah = regs[E1000_R(E1000_RA) + 2 * i + 1];
        uint8_t a[6];
        if (!(rah & E1000_RAH_AV)) {
            continue;
        }
        stl_le_p(a, ral);
        stw_le_p(a + 4, rah & 0xffff);
        if (!memcmp(p, a, 6)) {
            return true;
        }
    }
    if (multicast) {
        unsigned f = mta_shift[(rctl >> E1000_RCTL_MO_SHIFT) & 3];
        f = (((unsigned)p[5] << 8 | p[4]) >> f) & 0xfff;
        if (regs[E1000_R(E1000_MTA) + (f >> 5)] & (1u << (f & 31))) {
            return true;
        }
    }
    return false;
}

/* ---- statistics ---------------------------------------------------------- */

void e1000x_stat_inc(uint32_t *regs, uint32_t off)
{
    if (regs[E1000_R(off)] != 0xffffffff) {
        regs[E1000_R(off)]++;
    }
}

void e1000x_stat_add64(uint32_t *regs, uint32_t lo, uint64_t n)
{
    uint64_t v = ((uint64_t)regs[E1000_R(lo + 4)] << 32 |
                  regs[E1000_R(lo)]) + n;

    regs[E1000_R(lo)] = (uint32_t)v;
    regs[E1000_R(lo + 4)] = v >> 32;
}

/* PRC64..PRC1522 / PTC64..PTC1522 by frame size (with FCS). */
static void stat_size_bucket(uint32_t *regs, uint32_t base, size_t size)
{
    static const size_t limits[] = { 64, 127, 255, 511, 1023, 1522 };

    for (unsigned i = 0; i < ARRAY_SIZE(limits); i++) {
        if (size <= limits[i]) {
            e1000x_stat_inc(regs, base + 4 * i);
            return;
        }
    }
}

void e1000x_rx_stats(uint32_t *regs, const uint8_t *buf, size_t size,
                     size_t total)
{
    e1000x_stat_inc(regs, E1000_GPRC);
    e1000x_stat_inc(regs, E1000_TPR);
    e1000x_stat_add64(regs, E1000_GORCL, total);
    e1000x_stat_add64(regs, E1000_TORL, total);
    stat_size_bucket(regs, E1000_PRC64, size + 4);
    if (buf[0] & 1) {
        e1000x_stat_inc(regs, eth_is_broadcast(buf) ? E1000_BPRC
                                                    : E1000_MPRC);
    }
}

void e1000x_rx_missed(uint32_t *regs)
{
    e1000x_stat_inc(regs, E1000_RNBC);
    e1000x_stat_inc(regs, E1000_MPC);
}

uint32_t e1000x_stat_read(uint32_t *regs, uint32_t off)
{
    uint32_t v = regs[E1000_R(off)];

    switch (off) {
    case E1000_GORCL: case E1000_GOTCL: case E1000_TORL: case E1000_TOTL:
        return v;                       /* the high half clears both */
    case E1000_GORCH: case E1000_GOTCH: case E1000_TORH: case E1000_TOTH:
        regs[E1000_R(off - 4)] = 0;
        break;
    }
    regs[E1000_R(off)] = 0;
    return v;
}

/* ---- transmit ------------------------------------------------------------ */

/*
 * Insert the ones' complement sum of bytes css..cse (0: to the end) at
 * cso.  Offsets that fall outside the frame are ignored, as the
 * hardware gives garbage rather than stopping.
 */
static void put_sum(uint8_t *data, uint32_t size, uint32_t css, uint32_t cso,
                    uint32_t cse)
{
    uint32_t end = cse ? MIN(cse + 1, size) : size;

    if (cso + 2 > size || css >= end) {
        return;
    }
    /* The field takes part: the driver left 0 or its seed there. */
    eth_stw(data + cso,
            eth_csum_finish(eth_csum_add(0, data + css, end - css)));
}

/* The pseudo-header sum the driver left at cso, plus the length. */
static void put_sum_with_len(uint8_t *data, uint32_t size, uint32_t css,
                             uint32_t cso, uint32_t cse, uint32_t len)
{
    uint32_t end = cse ? MIN(cse + 1, size) : size;
    uint32_t seed;

    if (cso + 2 > size || css >= end) {
        return;
    }
    seed = eth_ldw(data + cso) + len;
    eth_stw(data + cso, 0);
    eth_stw(data + cso,
            eth_csum_finish(eth_csum_add(seed, data + css, end - css)));
}

static void tx_send_frame(E1000Tx *tx, const E1000TxEnv *env, uint8_t *data,
                          uint32_t size)
{
    uint32_t *regs = env->regs;
    uint8_t tag[4];
    struct iovec iov[3];
    int n = 0;
    size_t len = size;

    if (tx->vlan_needed && size >= 12) {
        eth_stw(tag, regs[E1000_R(E1000_VET)] & 0xffff);
        eth_stw(tag + 2, tx->vlan_tci);
        iov[n++] = (struct iovec){ data, 12 };
        iov[n++] = (struct iovec){ tag, 4 };
        iov[n++] = (struct iovec){ data + 12, size - 12 };
        len += 4;
    } else {
        iov[n++] = (struct iovec){ data, size };
    }
    e1000x_stat_inc(regs, E1000_TPT);
    e1000x_stat_inc(regs, E1000_GPTC);
    e1000x_stat_add64(regs, E1000_TOTL, len + 4);
    e1000x_stat_add64(regs, E1000_GOTCL, len + 4);
    stat_size_bucket(regs, E1000_PTC64, len + 4);
    if (data[0] & 1) {
        e1000x_stat_inc(regs, eth_is_broadcast(data) ? E1000_BPTC
                                                     : E1000_MPTC);
    }
    env->send(env->opaque, iov, n, len);
}

/* Checksums of a finished frame or segment, from the context in use. */
static void tx_apply_sums(E1000Tx *tx, const E1000TxContext *c,
                          uint8_t *data, uint32_t size, bool tso)
{
    if (tx->legacy_ic) {
        put_sum(data, size, tx->legacy_css, tx->legacy_cso, 0);
        return;
    }
    if (tx->sum_needed & E1000_TXD_POPTS_TXSM) {
        if (tso) {
            put_sum_with_len(data, size, c->tucss, c->tucso, c->tucse,
                             size - c->tucss);
        } else {
            put_sum(data, size, c->tucss, c->tucso, c->tucse);
        }
    }
    if (tx->sum_needed & E1000_TXD_POPTS_IXSM) {
        put_sum(data, size, c->ipcss, c->ipcso, c->ipcse);
    }
}

/* One TSO segment: header fields fixed for its length and position. */
static void tx_send_segment(E1000Tx *tx, const E1000TxEnv *env, bool last)
{
    const E1000TxContext *c = &tx->ctx[1];
    uint8_t *d = tx->buf;
    uint32_t size = tx->size;
    uint32_t payload = size - c->hdr_len;
    uint8_t hdr[256];

    if (size <= c->hdr_len) {
        tx->size = c->hdr_len;          /* the context changed under us */
        return;
    }

    /* Every segment starts from the driver's header: keep it. */
    memcpy(hdr, d, c->hdr_len);
    if (c->ip && c->ipcss + 6u <= c->hdr_len) {
        eth_stw(d + c->ipcss + 2, size - c->ipcss);
        eth_stw(d + c->ipcss + 4, eth_ldw(d + c->ipcss + 4) + tx->tso_frames);
    } else if (!c->ip && c->ipcss + 6u <= c->hdr_len) {
        eth_stw(d + c->ipcss + 4, size - c->ipcss - 40);   /* IPv6 */
    }
    if (c->tcp && c->tucss + 14u <= c->hdr_len) {
        eth_stl(d + c->tucss + 4, eth_ldl(d + c->tucss + 4) + tx->tso_sent);
        if (!last) {
            d[c->tucss + 13] &= ~0x09;          /* FIN, PSH: last only */
        }
    } else if (!c->tcp && c->tucss + 6u <= c->hdr_len) {
        eth_stw(d + c->tucss + 4, size - c->tucss);        /* UDP */
    }
    tx_apply_sums(tx, c, d, size, true);
    tx_send_frame(tx, env, d, size);
    memcpy(d, hdr, c->hdr_len);
    tx->tso_frames++;
    tx->tso_sent += payload;
    tx->size = c->hdr_len;
    e1000x_stat_inc(env->regs, E1000_TSCTC);
}

void e1000x_tx_reset_packet(E1000Tx *tx)
{
    tx->in_packet = 0;
    tx->size = 0;
    tx->tso_frames = 0;
    tx->tso_sent = 0;
    tx->vlan_needed = 0;
    tx->legacy_ic = 0;
    tx->cptse = 0;
    tx->sum_needed = 0;
}

/* Gather a data descriptor's buffer; returns the bytes DMA'd. */
static uint64_t tx_gather(E1000Tx *tx, const E1000TxEnv *env, uint64_t addr,
                          uint32_t len)
{
    const E1000TxContext *c = &tx->ctx[1];
    uint64_t moved = 0;

    if (tx->cptse && c->mss == 0) {
        tx->cptse = 0;                  /* no TSO context was given */
    }
    if (!tx->cptse) {
        uint32_t room = E1000_TX_BUF_SIZE - tx->size;
        uint32_t n = MIN(len, room);    /* longer frames are cut */
        if (n && pci_dma_read(env->pci, addr, tx->buf + tx->size, n)
            == MEMTX_OK) {
            tx->size += n;
        }
        return n;
    }
    /* TSO: fill header + MSS; a full segment goes when more follows. */
    while (len > 0) {
        uint32_t seg_end = c->hdr_len + c->mss;
        uint32_t n;

        if (tx->size >= seg_end) {
            tx_send_segment(tx, env, false);
        }
        n = MIN(len, seg_end - tx->size);
        if (n == 0 || pci_dma_read(env->pci, addr, tx->buf + tx->size, n)
            != MEMTX_OK) {
            break;
        }
        tx->size += n;
        addr += n;
        len -= n;
        moved += n;
    }
    return moved;
}

static void tx_context(E1000Tx *tx, const uint8_t *desc)
{
    uint32_t cmd = ldl_le_p(desc + 8);
    E1000TxContext *c = &tx->ctx[(cmd & E1000_TXD_CMD_TSE) ? 1 : 0];

    c->ipcss = desc[0];
    c->ipcso = desc[1];
    c->ipcse = lduw_le_p(desc + 2);
    c->tucss = desc[4];
    c->tucso = desc[5];
    c->tucse = lduw_le_p(desc + 6);
    c->paylen = cmd & 0xfffff;
    c->ip = !!(cmd & E1000_TXD_CMD_IP);
    c->tcp = !!(cmd & E1000_TXD_CMD_TCP);
    c->hdr_len = desc[13];
    c->mss = lduw_le_p(desc + 14);
    if (cmd & E1000_TXD_CMD_TSE) {
        /* A segment must hold the header and at least some payload;
         * tiny MSS values would make one descriptor a flood of frames. */
        if (c->mss < 64) {
            c->mss = 64;
        }
        if (c->hdr_len + (uint32_t)c->mss > E1000_TX_BUF_SIZE) {
            c->mss = E1000_TX_BUF_SIZE - c->hdr_len;
        }
    }
}

uint64_t e1000x_tx_descriptor(E1000Tx *tx, const E1000TxEnv *env,
                              const uint8_t *desc)
{
    uint64_t addr = ldq_le_p(desc);
    uint32_t lower = ldl_le_p(desc + 8);
    uint32_t upper = ldl_le_p(desc + 12);
    uint32_t dtyp = lower & (E1000_TXD_CMD_DEXT | E1000_TXD_DTYP_MASK);
    uint32_t len;
    uint64_t moved;

    if (dtyp == (E1000_TXD_CMD_DEXT | E1000_TXD_DTYP_C)) {
        tx_context(tx, desc);
        return 0;
    }
    if (!tx->in_packet) {
        tx->in_packet = 1;
        if (dtyp == (E1000_TXD_CMD_DEXT | E1000_TXD_DTYP_D)) {
            tx->sum_needed = (upper >> 8) & 0xff;
            tx->cptse = !!(lower & E1000_TXD_CMD_TSE);
        } else {
            tx->legacy_ic = !!(lower & E1000_TXD_CMD_IC);
            tx->legacy_cso = (lower >> 16) & 0xff;
            tx->legacy_css = (upper >> 8) & 0xff;
        }
    }
    if ((lower & E1000_TXD_CMD_VLE) &&
        (env->regs[E1000_R(E1000_CTRL)] & E1000_CTRL_VME)) {
        tx->vlan_needed = 1;
        tx->vlan_tci = upper >> 16;
    }
    len = (lower & E1000_TXD_CMD_DEXT) ? (lower & 0xfffff) : (lower & 0xffff);
    moved = tx_gather(tx, env, addr, len);
    if (!(lower & E1000_TXD_CMD_EOP)) {
        return moved;
    }
    if (!tx->cptse) {
        if (tx->size) {
            tx_apply_sums(tx, &tx->ctx[0], tx->buf, tx->size, false);
            tx_send_frame(tx, env, tx->buf, tx->size);
        }
    } else if (tx->size > tx->ctx[1].hdr_len) {
        tx_send_segment(tx, env, true);
    }
    e1000x_tx_reset_packet(tx);
    return moved;
}

bool e1000x_tx_state_valid(const E1000Tx *tx)
{
    return tx->size <= E1000_TX_BUF_SIZE &&
           tx->ctx[1].hdr_len + (uint32_t)tx->ctx[1].mss <= E1000_TX_BUF_SIZE;
}

/* ---- interrupt delay timers ---------------------------------------------- */

void e1000x_delay_init(E1000DelayPair *d, uint32_t pkt_off,
                       uint32_t abs_off, QEMUTimerCB *cb, void *opaque)
{
    d->pkt = timer_new_ns(QEMU_CLOCK_VIRTUAL, cb, opaque);
    d->abs = timer_new_ns(QEMU_CLOCK_VIRTUAL, cb, opaque);
    d->pkt_off = pkt_off;
    d->abs_off = abs_off;
}

void e1000x_delay_free(E1000DelayPair *d)
{
    timer_free(d->pkt);
    timer_free(d->abs);
    d->pkt = d->abs = NULL;
}

bool e1000x_delay_arm(E1000DelayPair *d, const uint32_t *regs)
{
    uint32_t pkt_delay = regs[E1000_R(d->pkt_off)] & E1000_DELAY_MASK;
    uint32_t abs_delay = regs[E1000_R(d->abs_off)] & E1000_DELAY_MASK;
    int64_t now;

    if (!pkt_delay) {
        return false;
    }
    now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    timer_mod(d->pkt, now + (int64_t)pkt_delay * E1000_DELAY_UNIT_NS);
    if (abs_delay && !timer_pending(d->abs)) {
        timer_mod(d->abs, now + (int64_t)abs_delay * E1000_DELAY_UNIT_NS);
    }
    return true;
}

void e1000x_delay_stop(E1000DelayPair *d)
{
    timer_del(d->pkt);
    timer_del(d->abs);
}

bool e1000x_delay_running(const E1000DelayPair *d)
{
    return timer_pending(d->pkt) || timer_pending(d->abs);
}

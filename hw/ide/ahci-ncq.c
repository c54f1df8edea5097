/*
 * AHCI native command queuing: the drive's queue of READ/WRITE FPDMA
 * QUEUED commands on one port, up to 32 tags in flight at once.
 *
 * Specs: Serial ATA 3.x 13.6 (first-party DMA queuing: the drive takes a
 * command with a Register D2H FIS without interrupt, moves each tag's data
 * whenever it likes, and reports finished tags with Set Device Bits FISes;
 * 13.6.3.2 / SATA 2.6 13.7.5: an error aborts the whole queue, the drive
 * then takes no queued command until READ LOG EXT page 10h is read),
 * Serial ATA AHCI 1.3.1 5.3.8 / 9.3 (the HBA side: PxSACT bits cleared by
 * the SDB FIS, PxIS.SDBS, TFES on an error; 6.2.2 software recovery),
 * ATA8-ACS 7.23 / 7.69 (the command layout).
 *
 * Each tag has its own transfer (sectors, position, its own walk over its
 * command's PRD table) and its own blk_aio_* request, so the host serves a
 * port's tags concurrently and they finish in any order.  The request
 * reads or writes guest RAM in place where the PRDs point at plain RAM
 * (ahci_prd_map, over hw/virtio/guest-ram.h, as virtio-blk does); the
 * rest goes through a 64 KiB bounce buffer per tag with pci_dma_read/
 * pci_dma_write (ahci_prd_rw), so a PRD or buffer outside RAM fails that
 * tag (ABRT, PxIS.HBDS) as it always did, which like any failed tag ends
 * the queue.  Tags finishing together share one SDB FIS (posted from
 * a bottom half after the completions of one main-loop pass).
 *
 * A tag dropped by PxCMD.ST, a COMRESET, SRST, an HBA or machine reset or
 * another tag's error, while its request is out, is an orphan: the block
 * layer cannot take a request back, so its completion only frees the tag
 * (no more DMA, no SDB bit; an in-place read's data may have landed, see
 * ncq_submit); until the last orphan is back the port takes no
 * command, PxCMD.CR stays set and a reset's signature waits (BSY), as the
 * single-request path in hw/ide/ahci.c and hw/ide/ide-core.c does.
 *
 * I/O errors follow the drive's werror/rerror: report fails the tag,
 * ignore goes on, stop holds it (the VM stops) and ahci_ncq_retry_held
 * runs it again from the chunk that failed when the VM resumes.
 */
#include "qemu/osdep.h"
#include "hw/ide/ahci.h"
#include "hw/virtio/guest-ram.h"
#include "system/bh.h"
#include "system/exit-tail.h"

/* Sectors per request, mapped or bounced alike (so I/O limits count the
 * same requests either way); a mapping may cut it shorter. */
#define NCQ_CHUNK_SECTORS   (IDE_BUF_SIZE / IDE_SECTOR_SIZE)

static void ncq_submit(AHCINCQTag *t);

static uint32_t tag_bit(const AHCINCQTag *t)
{
    return 1u << t->tag;
}

static BlockBackend *ncq_blk(AHCINCQTag *t)
{
    return ahci_drive(t->port)->blk;
}

/* Post the SDB FIS for the tags that finished meanwhile. */
static void ncq_sdb_bh(void *opaque)
{
    AHCIPort *p = opaque;

    if (p->sdb_done && (p->cmd & AHCI_PxCMD_ST)) {
        ahci_post_sdb(p, IDE_STAT_DRDY | IDE_STAT_DSC, 0);
        ahci_port_flush_events(p);
    }
}

void ahci_ncq_init(AHCIPort *p)
{
    for (unsigned i = 0; i < AHCI_NUM_SLOTS; i++) {
        p->ncq[i].port = p;
        p->ncq[i].tag = i;
    }
    p->sdb_bh = bh_new(NULL, ncq_sdb_bh, p);
    p->sdb_tail = (ExitTail) { .fn = ncq_sdb_bh, .opaque = p };
}

/* After ide_bus_quiesce: nothing is out any more. */
void ahci_ncq_cleanup(AHCIPort *p)
{
    for (unsigned i = 0; i < AHCI_NUM_SLOTS; i++) {
        g_free(p->ncq[i].buf);
        p->ncq[i].buf = NULL;
    }
    bh_free(p->sdb_bh);
    p->sdb_bh = NULL;
}

/* The drive forgets the tag (done, failed or dropped, nothing out). */
static void ncq_release(AHCINCQTag *t)
{
    AHCIPort *p = t->port;

    p->ncq_used &= ~tag_bit(t);
    t->held = t->reload = t->staged = false;
}

/* Drop one tag: one with a request out becomes an orphan. */
static void ncq_drop(AHCINCQTag *t)
{
    AHCIPort *p = t->port;

    if (p->ncq_busy & tag_bit(t)) {
        t->orphaned = true;
        p->ncq_orphans |= tag_bit(t);
    }
    ncq_release(t);
}

void ahci_ncq_drop_all(AHCIPort *p)
{
    for (uint32_t used = p->ncq_used; used; used &= used - 1) {
        ncq_drop(&p->ncq[__builtin_ctz(used)]);
    }
    p->sdb_done = 0;
}

/*
 * A queued command failed (SATA 13.6.3.2): the drive logs it, sends an
 * SDB FIS with ERR (with the tags finished before it), and aborts every
 * other outstanding tag; all of them stay in PxSACT, the list stops
 * (TFES) until software clears ST and reads the log.
 */
static void ncq_fail(AHCIPort *p, unsigned tag, uint64_t lba,
                     uint32_t count, uint8_t error)
{
    IDEState *d = ahci_drive(p);

    ide_ncq_log_error(d, tag, lba, count, error);
    ahci_post_sdb(p, d->status, d->error);
    for (uint32_t used = p->ncq_used; used; used &= used - 1) {
        ncq_drop(&p->ncq[__builtin_ctz(used)]);
    }
}

static void ncq_fail_tag(AHCINCQTag *t, uint8_t error)
{
    ncq_fail(t->port, t->tag, t->lba, t->count, error);
}

/* The tag moved all its data: PRDBC, and its bit into the next SDB. */
static void ncq_finish(AHCINCQTag *t)
{
    AHCIPort *p = t->port;
    uint8_t prdbc[4];

    stl_le_p(prdbc, t->walk.prdbc);
    if (pci_dma_write(&p->hba->parent, t->hdr_addr + 4, prdbc, 4) !=
        MEMTX_OK) {
        p->events |= AHCI_PxIS_HBDS;
        ncq_fail_tag(t, IDE_ERR_ABRT);
        return;
    }
    ncq_release(t);
    p->sdb_done |= tag_bit(t);
    /* Tags that finished on a vCPU exit's tail (reads done in place) are
     * reported before the vCPU runs again, after every completion that
     * exit queued: one SDB FIS for them all. */
    if (!exit_tail_queue(&p->sdb_tail)) {
        bh_schedule(p->sdb_bh);
    }
    if (!p->ncq_used && p->ci) {
        ahci_port_process(p);           /* a non-queued command waited */
    }
}

/* Move the chunk between the bounce buffer and the tag's PRDs. */
static bool ncq_dma(AHCINCQTag *t, bool to_memory)
{
    AHCIPort *p = t->port;
    IDEDMAResult res = ahci_prd_rw(p, &t->walk, t->buf,
                                   t->chunk * IDE_SECTOR_SIZE, to_memory);

    if (res == IDE_DMA_OK) {
        return true;
    }
    if (res == IDE_DMA_ERROR) {
        p->events |= AHCI_PxIS_HBDS;    /* this tag's data, not the port */
    }
    ncq_fail_tag(t, IDE_ERR_ABRT);
    return false;
}

/* An I/O error: true when the tag goes on as if it had worked (ignore). */
static bool ncq_io_error_ignored(AHCINCQTag *t, int ret, bool mapped)
{
    BlockBackend *blk = ncq_blk(t);
    bool is_read = !t->write;
    BlockErrorAction action = blk_get_error_action(blk, is_read, -ret);

    blk_error_action(blk, action, is_read, -ret);
    switch (action) {
    case BLOCK_ERROR_ACTION_IGNORE:
        return true;
    case BLOCK_ERROR_ACTION_STOP:
        /* held: the VM stops; the chunk runs again on resume (a mapped
         * one maps its PRDs again) */
        t->held = true;
        if (mapped) {
            t->walk = t->walk_before;
        }
        return false;
    default:
        ncq_fail_tag(t, IDE_ERR_ABRT);
        return false;
    }
}

static void ncq_chunk_done(AHCINCQTag *t, bool mapped)
{
    if (mapped) {
        if (!t->write && t->map.dps) {
            t->port->events |= AHCI_PxIS_DPS;   /* its data is in now */
        }
    } else if (!t->write && !ncq_dma(t, true)) {
        return;
    }
    t->staged = false;
    t->done += t->chunk;
    if (t->done == t->count) {
        ncq_finish(t);
    } else {
        ncq_submit(t);
    }
}

/*
 * A mapped request came back (whatever its outcome: an orphan's or a
 * failed read's bytes may have landed too): a read's pieces are logged as
 * written now, for a migration pass that sent the pages meanwhile.
 */
static bool ncq_unmap(AHCINCQTag *t)
{
    if (!t->mapped) {
        return false;
    }
    t->mapped = false;
    if (!t->write) {
        for (int i = 0; i < t->map.pieces; i++) {
            guest_ram_mark_written(t->map.gpa[i], t->map.iov[i].iov_len);
        }
    }
    return true;
}

static void ncq_cb(void *opaque, int ret)
{
    AHCINCQTag *t = opaque;
    AHCIPort *p = t->port;
    bool mapped;

    if (!ret && t->flush_next && !t->orphaned) {
        /* write cache off: the write counts once it is on the medium */
        t->flush_next = false;
        blk_aio_flush(ncq_blk(t), ncq_cb, t);
        return;
    }
    t->flush_next = false;
    mapped = ncq_unmap(t);
    p->ncq_busy &= ~tag_bit(t);
    /* It goes on with what the vCPU's register write began: its DMA into
     * the HBA's own registers is refused the same. */
    memory_io_owner_enter(p->bus.owner);
    if (t->orphaned) {
        t->orphaned = false;
        p->ncq_orphans &= ~tag_bit(t);
        if (!p->ncq_orphans) {
            ahci_port_idle(p);
        }
    } else if (ret >= 0 || ncq_io_error_ignored(t, ret, mapped)) {
        ncq_chunk_done(t, mapped);
    }
    ahci_port_flush_events(p);
    memory_io_owner_leave();
}

/*
 * Map the tag's next chunk (up to NCQ_CHUNK_SECTORS) straight to guest
 * RAM: false when not even a sector of it maps, and the chunk goes
 * through the bounce buffer.  A mapping cut short (a piece that is not
 * RAM, the piece limit) is cut back to whole sectors, mapped afresh on
 * the tag's walk (the PRDs are read again, so what is used is one
 * consistent reading); the bounce path then meets what stopped it.
 */
static bool ncq_map(AHCINCQTag *t)
{
    AHCIPort *p = t->port;
    uint32_t sectors = MIN(t->count - t->done, NCQ_CHUNK_SECTORS);
    uint32_t want = sectors * IDE_SECTOR_SIZE;
    AHCIPRDWalk w = t->walk;
    uint32_t got = ahci_prd_map(p, &w, want, !t->write, &t->map);
    uint32_t whole = got / IDE_SECTOR_SIZE * IDE_SECTOR_SIZE;

    if (!whole) {
        return false;
    }
    if (got != whole) {
        w = t->walk;
        if (ahci_prd_map(p, &w, whole, !t->write, &t->map) != whole) {
            return false;               /* the PRDs changed under us */
        }
    }
    t->walk_before = t->walk;
    t->walk = w;
    t->chunk = whole / IDE_SECTOR_SIZE;
    if (t->write && t->map.dps) {
        p->events |= AHCI_PxIS_DPS;     /* as when staged (ncq_dma) */
    }
    return true;
}

/*
 * The tag's next chunk.  Guest RAM is read or written in place
 * (ncq_map) where the PRDs point at RAM and bus mastering is on;
 * otherwise the chunk goes through the bounce buffer with
 * pci_dma_read/write, which has the last word on what is refused.
 *
 * In place, a read's data lands while the request is out, not at its
 * completion; that stays safe for guest memory because nothing tells the
 * guest a tag is gone before its request is back: a tag dropped by
 * PxCMD.ST keeps PxCMD.CR set, one dropped by a COMRESET or GHC.HR keeps
 * PxTFD.BSY set (ahci_port_idle clears them), and a machine reset waits
 * for the requests (ahci_reset).  The host pointers stay valid meanwhile:
 * guest RAM is not unmapped while the machine runs (guest-ram.h), and
 * unrealize waits for the requests (ide_bus_quiesce).
 */
static void ncq_submit(AHCINCQTag *t)
{
    AHCIPort *p = t->port;
    IDEState *d = ahci_drive(p);
    uint64_t offset = (t->lba + t->done) * IDE_SECTOR_SIZE;
    const struct iovec *iov = &t->iov;
    int niov = 1;

    if (!(t->write && t->staged) && ncq_map(t)) {
        t->mapped = true;
        iov = t->map.iov;
        niov = t->map.pieces;
    } else {
        t->chunk = MIN(t->count - t->done, NCQ_CHUNK_SECTORS);
        if (!t->buf) {
            t->buf = g_malloc(IDE_BUF_SIZE);
        }
        t->iov = (struct iovec) { t->buf, t->chunk * IDE_SECTOR_SIZE };
        if (t->write && !t->staged) {
            if (!ncq_dma(t, false)) {
                return;
            }
            t->staged = true;
        }
    }
    p->ncq_busy |= tag_bit(t);
    if (t->write) {
        t->flush_next = !d->wce;
        blk_aio_pwritev(d->blk, &t->req, offset, iov, niov, ncq_cb, t);
    } else {
        blk_aio_preadv(d->blk, &t->req, offset, iov, niov, ncq_cb, t);
    }
}

/* The command layout (ATA8-ACS 7.23): count in the features registers
 * (0: 65536), tag in count bits 7:3, 48-bit LBA. */
static void ncq_decode(AHCINCQTag *t, const uint8_t *fis)
{
    uint32_t count = fis[3] | fis[11] << 8;

    t->write = fis[2] == 0x61;          /* WRITE FPDMA QUEUED */
    t->count = count ? count : 65536;
    t->lba = (uint64_t)fis[10] << 40 | (uint64_t)fis[9] << 32 |
             (uint64_t)fis[8] << 24 | (uint32_t)fis[6] << 16 |
             fis[5] << 8 | fis[4];
}

/* Start (or, after a load, start again) a decoded tag. */
static void ncq_start(AHCINCQTag *t)
{
    AHCIPort *p = t->port;
    IDEState *d = ahci_drive(p);

    if (d->kind != IDE_KIND_HD || d->ncq_error ||
        (t->write && d->read_only)) {
        ncq_fail_tag(t, IDE_ERR_ABRT);
        return;
    }
    if (t->lba >= d->nb_sectors || t->count > d->nb_sectors - t->lba) {
        ncq_fail_tag(t, IDE_ERR_IDNF | IDE_ERR_ABRT);
        return;
    }
    t->done = 0;
    t->staged = false;
    ncq_submit(t);
}

void ahci_ncq_issue(AHCIPort *p, unsigned slot, uint64_t hdr_addr,
                    uint64_t ctba, uint32_t prdtl, const uint8_t *fis)
{
    AHCINCQTag *t = &p->ncq[fis[12] >> 3];
    AHCINCQTag dup;

    /* The drive takes it: a D2H FIS without interrupt frees the slot. */
    p->ci &= ~(1u << slot);
    ahci_update_tfd(p, IDE_STAT_DRDY | IDE_STAT_DSC, 0);
    if ((p->ncq_used | p->ncq_orphans) & tag_bit(t)) {
        /* A tag still outstanding: an illegal queued command, which
         * aborts the queue (reported for the new command only). */
        dup = *t;
        ncq_decode(&dup, fis);
        ncq_fail(p, dup.tag, dup.lba, dup.count, IDE_ERR_ABRT);
        return;
    }
    ncq_decode(t, fis);
    t->slot = slot;
    t->hdr_addr = hdr_addr;
    t->held = t->reload = false;
    ahci_prd_walk_start(&t->walk, ctba, prdtl);
    p->ncq_used |= tag_bit(t);
    ncq_start(t);
}

/* Fetch a held tag's command again from its slot (a loaded state keeps
 * only the tag and the slot): false when it is no longer there. */
static bool ncq_reload(AHCINCQTag *t)
{
    AHCIPort *p = t->port;
    PCIDevice *pci = &p->hba->parent;
    uint64_t hdr_addr = ((uint64_t)p->clbu << 32 | p->clb) + t->slot * 32u;
    uint8_t hdr[16], fis[20];
    uint64_t ctba;

    if (pci_dma_read(pci, hdr_addr, hdr, sizeof(hdr)) != MEMTX_OK) {
        return false;
    }
    ctba = ldq_le_p(hdr + 8) & ~0x7full;
    if (pci_dma_read(pci, ctba, fis, sizeof(fis)) != MEMTX_OK ||
        fis[0] != FIS_REG_H2D || (fis[2] != 0x60 && fis[2] != 0x61) ||
        (fis[12] >> 3) != t->tag) {
        return false;
    }
    ncq_decode(t, fis);
    t->hdr_addr = hdr_addr;
    ahci_prd_walk_start(&t->walk, ctba, ldl_le_p(hdr) >> 16);
    return true;
}

/* The VM resumed: the tags an I/O error held run again. */
void ahci_ncq_retry_held(AHCIPort *p)
{
    memory_io_owner_enter(p->bus.owner);
    for (uint32_t used = p->ncq_used; used; used &= used - 1) {
        AHCINCQTag *t = &p->ncq[__builtin_ctz(used)];
        if (!t->held || !(p->ncq_used & tag_bit(t))) {
            continue;                   /* an earlier retry's error ended it */
        }
        t->held = false;
        if (!t->reload) {
            ncq_submit(t);              /* the chunk that failed */
            continue;
        }
        t->reload = false;
        if (ncq_reload(t)) {
            ncq_start(t);
        } else {
            ncq_fail_tag(t, IDE_ERR_ABRT);
        }
    }
    ahci_port_flush_events(p);
    memory_io_owner_leave();
}

void ahci_ncq_pre_save(AHCIPort *p, uint32_t *held, uint8_t *slots)
{
    *held = 0;
    for (unsigned i = 0; i < AHCI_NUM_SLOTS; i++) {
        AHCINCQTag *t = &p->ncq[i];
        slots[i] = 0;
        if ((p->ncq_used & tag_bit(t)) && t->held) {
            *held |= tag_bit(t);
            slots[i] = t->slot;
        }
    }
}

/* A loaded state: the held tags (checked: a slot is 0..31) fetch their
 * commands again when the VM resumes; nothing else is outstanding. */
void ahci_ncq_post_load(AHCIPort *p, uint32_t held, const uint8_t *slots)
{
    IDEState *d = ahci_drive(p);

    p->ncq_used = p->ncq_busy = p->ncq_orphans = 0;
    for (unsigned i = 0; i < AHCI_NUM_SLOTS; i++) {
        AHCINCQTag *t = &p->ncq[i];
        t->orphaned = t->staged = t->flush_next = t->mapped = false;
        t->held = t->reload = false;
        if ((held & tag_bit(t)) && slots[i] < AHCI_NUM_SLOTS &&
            d->kind == IDE_KIND_HD) {
            t->slot = slots[i];
            t->held = t->reload = true;
            p->ncq_used |= tag_bit(t);
        }
    }
    if (p->ncq_used && d->blk) {
        blk_retry_on_resume(d->blk);
    }
}

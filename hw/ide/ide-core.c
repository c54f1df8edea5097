/*
 * IDE channel and ATA disk logic: the task file, the commands, PIO and
 * the drive's side of bus-master DMA.
 *
 * Spec: ATA/ATAPI-6 (INCITS 361-2002), chapters 6 (protocols), 7
 * (registers) and 8 (commands); ATA/ATAPI-7 for the same with 48-bit
 * details.  IDENTIFY DEVICE words follow what QEMU fills in where guests
 * look (model "QEMU HARDDISK", serial "QM000nn", firmware "2.5+", DMA and
 * LBA48 capabilities), so guests and firmware see the same disk.
 *
 * Every command completes in the vCPU exit that started it (or, for DMA,
 * in the one that sets the bus master's start bit): the backend's
 * synchronous calls are used, see docs/ide.md.  A failed read, write or
 * flush goes through the backend's error policy (rerror/werror): report
 * (the command fails), ignore (it completes), or stop (the drive stays
 * busy, the VM stops, and the request runs again on resume).  A request is checked
 * against the medium before any I/O: a bad LBA is IDNF, an unknown
 * command ABRT, and a PIO block never passes io_buffer.
 */
#include "qemu/osdep.h"
#include "hw/ide/ide.h"
#include "system/main-loop.h"
#include "system/memory.h"

/* ATA commands (ATA-6 chapter 8) */
enum {
    WIN_NOP = 0x00, WIN_DEVICE_RESET = 0x08, WIN_RECAL = 0x10,
    WIN_READ = 0x20, WIN_READ_ONCE = 0x21, WIN_READ_EXT = 0x24,
    WIN_READDMA_EXT = 0x25, WIN_READ_NATIVE_MAX_EXT = 0x27,
    WIN_READ_LOG_EXT = 0x2f,
    WIN_MULTREAD_EXT = 0x29, WIN_WRITE = 0x30, WIN_WRITE_ONCE = 0x31,
    WIN_WRITE_EXT = 0x34, WIN_WRITEDMA_EXT = 0x35, WIN_MULTWRITE_EXT = 0x39,
    WIN_VERIFY = 0x40, WIN_VERIFY_ONCE = 0x41, WIN_VERIFY_EXT = 0x42,
    WIN_SEEK = 0x70, WIN_DIAGNOSE = 0x90, WIN_SPECIFY = 0x91,
    WIN_PACKET = 0xa0, WIN_PIDENTIFY = 0xa1, WIN_MULTREAD = 0xc4,
    WIN_MULTWRITE = 0xc5, WIN_SETMULT = 0xc6, WIN_READDMA = 0xc8,
    WIN_READDMA_ONCE = 0xc9, WIN_WRITEDMA = 0xca, WIN_WRITEDMA_ONCE = 0xcb,
    WIN_STANDBYNOW1 = 0xe0, WIN_IDLEIMMEDIATE = 0xe1, WIN_STANDBY = 0xe2,
    WIN_SETIDLE1 = 0xe3, WIN_CHECKPOWERMODE1 = 0xe5, WIN_SLEEPNOW1 = 0xe6,
    WIN_FLUSH_CACHE = 0xe7, WIN_FLUSH_CACHE_EXT = 0xea,
    WIN_IDENTIFY = 0xec, WIN_SETFEATURES = 0xef, WIN_READ_NATIVE_MAX = 0xf8,
};

/* SET FEATURES subcommands (ATA-6 8.36) */
#define SETFEAT_WCACHE_ON   0x02
#define SETFEAT_XFER_MODE   0x03
#define SETFEAT_WCACHE_OFF  0x82

/* General purpose logs (ATA8-ACS A.1): the directory and SATA's NCQ
 * command error log (SATA 2.6 13.7.5.2) */
#define LOG_DIRECTORY       0x00
#define LOG_NCQ_ERROR       0x10

#define LBA28_MAX_SECTORS   (1ULL << 28)
#define LBA48_MAX_SECTORS   (1ULL << 48)

static void ide_orphan_request(IDEState *s);

static IDEState *ide_cur(IDEBus *bus)
{
    return &bus->ifs[bus->unit];
}

static void ide_update_irq(IDEBus *bus)
{
    bool level = ide_cur(bus)->irq_pending && !(bus->ctl & IDE_CTL_NIEN);

    if (level != bus->irq_level || level) {
        bus->irq_level = level;
        bus->ops->set_irq(bus->opaque, level);
    }
}

void ide_set_irq(IDEState *s)
{
    s->irq_pending = true;
    if (s == ide_cur(s->bus)) {
        ide_update_irq(s->bus);
    }
}

static void ide_clear_irq(IDEState *s)
{
    s->irq_pending = false;
    if (s == ide_cur(s->bus) && s->bus->irq_level) {
        s->bus->irq_level = false;
        s->bus->ops->set_irq(s->bus->opaque, false);
    }
}

static void ide_transfer_stop(IDEState *s)
{
    s->retry_op = IDE_RETRY_NONE;
    s->dma_staged = 0;
    s->xfer = IDE_XFER_NONE;
    s->data_pos = s->data_end = s->buf_fill = 0;
    s->dma_pending = false;
    s->status &= ~IDE_STAT_DRQ;
}

void ide_abort(IDEState *s)
{
    ide_transfer_stop(s);
    s->status = IDE_STAT_DRDY | IDE_STAT_ERR;
    s->error = IDE_ERR_ABRT;
}

static void ide_error(IDEState *s, uint8_t error)
{
    ide_abort(s);
    s->error = error;
    ide_set_irq(s);
}

/* The reset signature (ATA-6 9.12): what tells a host ATA from ATAPI. */
void ide_set_signature(IDEState *s)
{
    s->select &= IDE_SEL_DEV;
    s->select |= 0xa0;
    s->nsector = s->sector = 1;
    if (s->kind == IDE_KIND_CD) {
        s->lcyl = 0x14;
        s->hcyl = 0xeb;
    } else {
        s->lcyl = s->hcyl = 0;
    }
}

static void ide_drive_reset(IDEState *s)
{
    ide_transfer_stop(s);
    s->feature = s->hob_feature = s->hob_nsector = 0;
    s->hob_sector = s->hob_lcyl = s->hob_hcyl = 0;
    s->command = 0;
    s->lba48 = false;
    s->mult_sectors = IDE_MAX_MULT;
    s->irq_pending = false;
    s->ncq_error = false;
    s->error = 0x01;                /* diagnostics passed */
    ide_set_signature(s);
    if (s->kind == IDE_KIND_CD) {
        s->status = 0;
        atapi_reset(s);
    } else {
        s->status = s->kind == IDE_KIND_HD ? IDE_STAT_DRDY | IDE_STAT_DSC : 0;
    }
    ide_orphan_request(s);
}

void ide_bus_reset(IDEBus *bus)
{
    bus->unit = 0;
    bus->ctl = 0;
    for (int i = 0; i < 2; i++) {
        bus->ifs[i].wce = true;
        bus->ifs[i].mdma_mode = 0xff;
        bus->ifs[i].udma_mode = 0xff;
        bus->ifs[i].select = 0;
        ide_drive_reset(&bus->ifs[i]);
    }
    if (bus->irq_level) {
        bus->irq_level = false;
        bus->ops->set_irq(bus->opaque, false);
    }
}

static bool ide_bus_in_flight(IDEBus *bus)
{
    return bus->ifs[0].aio_busy || bus->ifs[1].aio_busy ||
           (bus->ops->in_flight && bus->ops->in_flight(bus->opaque));
}

void ide_bus_quiesce(IDEBus *bus)
{
    ide_bus_reset(bus);
    ide_bus_wait_idle(bus);
}

void ide_bus_wait_idle(IDEBus *bus)
{
    while (ide_bus_in_flight(bus)) {
        /* Lets the queued requests go and waits for the backends (from a
         * vCPU thread it lets the main loop run the completions). */
        blk_drain_all();
        if (ide_bus_in_flight(bus)) {
            /* a completion without a medium: posted to the main loop */
            if (g_main_context_acquire(NULL)) {
                g_main_context_iteration(NULL, FALSE);
                g_main_context_release(NULL);
            } else if (bql_locked()) {
                bql_unlock();           /* the main loop needs it */
                g_usleep(100);
                bql_lock();
            } else {
                g_usleep(100);
            }
        }
    }
}

void ide_bus_init(IDEBus *bus, int index, const IDEBusOps *ops,
                  void *opaque)
{
    memset(bus, 0, sizeof(*bus));
    bus->index = index;
    bus->ops = ops;
    bus->opaque = opaque;
    bus->nb_units = 2;
    for (int i = 0; i < 2; i++) {
        bus->ifs[i].bus = bus;
    }
}

/* ---- the machine's IDE buses ------------------------------------------- */

static GPtrArray *ide_buses;        /* IDEBus *, in registration order */

void ide_bus_register(IDEBus *bus)
{
    if (!ide_buses) {
        ide_buses = g_ptr_array_new();
    }
    g_ptr_array_add(ide_buses, bus);
}

void ide_bus_unregister(IDEBus *bus)
{
    if (ide_buses) {
        g_ptr_array_remove(ide_buses, bus);
    }
    g_free(bus->name);
    g_free(bus->fw_path);
    bus->name = bus->fw_path = NULL;
}

unsigned ide_bus_count(void)
{
    return ide_buses ? ide_buses->len : 0;
}

IDEBus *ide_bus_nth(unsigned n)
{
    return n < ide_bus_count() ? g_ptr_array_index(ide_buses, n) : NULL;
}

IDEBus *ide_bus_find(const char *name)
{
    for (unsigned i = 0; i < ide_bus_count(); i++) {
        IDEBus *bus = ide_bus_nth(i);
        if (bus->name && !strcmp(bus->name, name)) {
            return bus;
        }
    }
    return NULL;
}

void ide_for_each_drive(void (*fn)(IDEState *s, int bus, int unit,
                                   void *opaque), void *opaque)
{
    for (unsigned b = 0; b < ide_bus_count(); b++) {
        IDEBus *bus = ide_bus_nth(b);
        for (int u = 0; u < bus->nb_units; u++) {
            if (bus->ifs[u].kind != IDE_KIND_NONE) {
                fn(&bus->ifs[u], b, u, opaque);
            }
        }
    }
}

bool ide_drive_tray_state(const char *drive_id, bool *tray_open,
                          bool *locked)
{
    for (unsigned b = 0; b < ide_bus_count(); b++) {
        IDEBus *bus = ide_bus_nth(b);
        for (int u = 0; u < bus->nb_units; u++) {
            IDEState *s = &bus->ifs[u];
            if (s->kind != IDE_KIND_NONE && s->drive_id &&
                !strcmp(s->drive_id, drive_id)) {
                *tray_open = s->tray_open;
                *locked = s->locked;
                return true;
            }
        }
    }
    return false;
}

/* The geometry QEMU guesses for a disk without a partition table. */
static void ide_guess_geometry(IDEState *s)
{
    uint64_t cyls = s->nb_sectors / (16 * 63);

    s->heads = 16;
    s->secs = 63;
    s->cyls = MAX(MIN(cyls, 16383), 2);
}

static void ide_hd_resize_cb(void *opaque)
{
    IDEState *s = opaque;

    /* IDENTIFY reports the new size; the geometry stays, as QEMU's. */
    s->nb_sectors = blk_getlength(s->blk) / IDE_SECTOR_SIZE;
}

static const BlockDevOps ide_hd_dev_ops = {
    .resize_cb = ide_hd_resize_cb,
    .retry_cb = ide_retry_request,
};

bool ide_drive_attach(IDEBus *bus, int unit, IDEDriveKind kind,
                      BlockBackend *blk, bool share_rw, GError **errp)
{
    const char *drive_id = blk_name(blk);
    IDEState *s;

    if (!bus || unit < 0 || unit >= bus->nb_units) {
        error_setg(errp, "IDE unit %d does not exist (%s)", unit,
                   bus && bus->nb_units == 1 ? "only 0" : "0 or 1");
        return false;
    }
    s = &bus->ifs[unit];
    if (s->kind != IDE_KIND_NONE) {
        error_setg(errp, "IDE unit %d is in use already", unit);
        return false;
    }
    if (kind == IDE_KIND_HD && !blk_is_inserted(blk)) {
        error_setg(errp, "an IDE hard disk needs a drive with a medium");
        return false;
    }
    s->nb_sectors = blk_getlength(blk) / IDE_SECTOR_SIZE;
    if (kind == IDE_KIND_HD && s->nb_sectors >= LBA48_MAX_SECTORS) {
        error_setg(errp, "IDE disk '%s' is larger than 48-bit LBA reaches",
                   drive_id);
        return false;
    }
    /* QEMU's ide-cd cannot be resized; ide-hd can (block_resize) */
    if (!blk_set_dev_perm(blk, kind == IDE_KIND_HD, share_rw, errp)) {
        return false;
    }
    s->kind = kind;
    s->blk = blk;
    s->drive_id = g_strdup(drive_id);
    s->read_only = blk_is_read_only(blk) || kind == IDE_KIND_CD;
    blk_set_dev_ops(blk, kind == IDE_KIND_CD ? &atapi_dev_ops
                                             : &ide_hd_dev_ops, s);
    blk_iostatus_enable(blk);
    /* QEMU numbers every slot, filled or not: QM00001 is the primary
     * master, QM00004 the secondary slave. */
    snprintf(s->serial, sizeof(s->serial), "QM%05d",
             1 + bus->index * 2 + unit);
    snprintf(s->model, sizeof(s->model), "%s",
             kind == IDE_KIND_CD ? "QEMU DVD-ROM" : "QEMU HARDDISK");
    ide_guess_geometry(s);
    ide_drive_reset(s);
    return true;
}

/* ---- IDENTIFY --------------------------------------------------------- */

/* ATA strings: space padded, two characters per word, first one high. */
static void ide_put_string(uint16_t *w, const char *src, unsigned words)
{
    size_t len = strlen(src);

    for (unsigned i = 0; i < words * 2; i++) {
        uint8_t c = i < len ? src[i] : ' ';
        if (i & 1) {
            w[i / 2] |= c;
        } else {
            w[i / 2] = c << 8;
        }
    }
}

static void ide_put_common_strings(IDEState *s, uint16_t *w)
{
    ide_put_string(w + 10, s->serial, 10);
    ide_put_string(w + 23, "2.5+", 4);
    ide_put_string(w + 27, s->model, 20);
}

static uint16_t ide_dma_mode_word(uint8_t supported, uint8_t selected)
{
    return supported | (selected != 0xff ? 1u << (8 + selected) : 0);
}

static void ide_identify_words(IDEState *s, uint16_t *w)
{
    uint64_t lba28 = MIN(s->nb_sectors, LBA28_MAX_SECTORS - 1);
    uint64_t cur_chs = (uint64_t)s->cyls * s->heads * s->secs;

    w[0] = 0x0040;                      /* fixed, non-removable */
    w[1] = s->cyls;
    w[3] = s->heads;
    w[4] = 512 * s->secs;               /* obsolete, as QEMU */
    w[5] = 512;
    w[6] = s->secs;
    ide_put_common_strings(s, w);
    w[20] = 3;                          /* buffer type, obsolete */
    w[21] = 512;
    w[22] = 4;                          /* ECC bytes */
    w[47] = 0x8000 | IDE_MAX_MULT;
    w[48] = 1;                          /* dword I/O, as QEMU */
    w[49] = (1 << 11) | (1 << 9) | (1 << 8);    /* IORDY, LBA, DMA */
    w[51] = 0x200;                      /* PIO timing mode */
    w[52] = 0x200;
    w[53] = 1 | (1 << 1) | (1 << 2);    /* words 54-58, 64-70, 88 valid */
    w[54] = s->cyls;
    w[55] = s->heads;
    w[56] = s->secs;
    w[57] = cur_chs;
    w[58] = cur_chs >> 16;
    if (s->mult_sectors) {
        w[59] = 0x100 | s->mult_sectors;
    }
    w[60] = lba28;
    w[61] = lba28 >> 16;
    w[62] = 0x07;                       /* single-word DMA 0-2 */
    w[63] = ide_dma_mode_word(0x07, s->mdma_mode);
    w[64] = 0x03;                       /* PIO modes 3, 4 */
    w[65] = w[66] = w[67] = w[68] = 120;
    w[80] = 0xf0;                       /* ATA-4 to ATA-7 */
    w[81] = 0x16;
    /* command sets: write cache, FLUSH CACHE (EXT), 48-bit addressing */
    w[82] = (1 << 14) | (1 << 5) | 1;
    w[83] = (1 << 14) | (1 << 13) | (1 << 12) | (1 << 10);
    w[84] = 1 << 14;
    w[85] = (1 << 14) | (s->wce ? 1 << 5 : 0) | 1;
    w[86] = (1 << 13) | (1 << 12) | (1 << 10);
    w[87] = 1 << 14;
    if (s->bus->ncq_depth) {
        /* SATA (ATA8-ACS 7.16.7.x): queue depth, NCQ and Gen1/Gen2
         * signalling in words 75-76; general purpose logging (READ LOG
         * EXT, for the NCQ error log) in words 84 and 87. */
        w[75] = s->bus->ncq_depth - 1;
        w[76] = (1 << 8) | (1 << 2) | (1 << 1);
        w[84] |= 1 << 5;
        w[87] |= 1 << 5;
    }
    w[88] = ide_dma_mode_word(0x3f, s->udma_mode);  /* UDMA 0-5 */
    w[93] = 1 | (1 << 14) | 0x2000;     /* hardware reset result */
    w[100] = s->nb_sectors;
    w[101] = s->nb_sectors >> 16;
    w[102] = s->nb_sectors >> 32;
    w[103] = s->nb_sectors >> 48;
}

static void ide_identify(IDEState *s)
{
    uint16_t w[256] = { 0 };

    if (s->kind == IDE_KIND_CD) {
        /* An ATAPI device aborts and shows its signature (ATA-6 8.15). */
        ide_abort(s);
        ide_set_signature(s);
        ide_set_irq(s);
        return;
    }
    ide_identify_words(s, w);
    for (int i = 0; i < 256; i++) {
        stw_le_p(s->io_buffer + 2 * i, w[i]);
    }
    ide_pio_in(s, IDE_SECTOR_SIZE, IDE_XFER_PIO_IN_ONCE);
}

static void ide_identify_packet(IDEState *s)
{
    uint16_t w[256] = { 0 };

    if (s->kind != IDE_KIND_CD) {
        ide_error(s, IDE_ERR_ABRT);
        return;
    }
    atapi_identify(s, w);
    ide_put_common_strings(s, w);
    w[63] = ide_dma_mode_word(0x07, s->mdma_mode);
    w[88] = ide_dma_mode_word(0x3f, s->udma_mode);
    for (int i = 0; i < 256; i++) {
        stw_le_p(s->io_buffer + 2 * i, w[i]);
    }
    ide_pio_in(s, IDE_SECTOR_SIZE, IDE_XFER_PIO_IN_ONCE);
}

/* ---- addressing ------------------------------------------------------- */

static uint64_t ide_get_sector(IDEState *s)
{
    if (!(s->select & IDE_SEL_LBA)) {
        uint32_t cyl = s->lcyl | s->hcyl << 8;
        uint32_t head = s->select & 0x0f;
        if (s->sector == 0) {
            return UINT64_MAX;          /* CHS sectors count from 1 */
        }
        return ((uint64_t)cyl * s->heads + head) * s->secs + s->sector - 1;
    }
    if (s->lba48) {
        return (uint64_t)s->hob_hcyl << 40 | (uint64_t)s->hob_lcyl << 32 |
               (uint64_t)s->hob_sector << 24 | (uint32_t)s->hcyl << 16 |
               s->lcyl << 8 | s->sector;
    }
    return (uint32_t)(s->select & 0x0f) << 24 | (uint32_t)s->hcyl << 16 |
           s->lcyl << 8 | s->sector;
}

/* Leave the task file naming @lba: after each block QEMU's drives name
 * the sector after the last one moved, and so do these. */
static void ide_set_sector(IDEState *s, uint64_t lba)
{
    if (!(s->select & IDE_SEL_LBA)) {
        uint64_t track = lba / s->secs;
        uint32_t cyl = track / s->heads;
        s->hcyl = cyl >> 8;
        s->lcyl = cyl;
        s->select = (s->select & 0xf0) | (track % s->heads);
        s->sector = lba % s->secs + 1;
    } else if (s->lba48) {
        s->sector = lba;
        s->lcyl = lba >> 8;
        s->hcyl = lba >> 16;
        s->hob_sector = lba >> 24;
        s->hob_lcyl = lba >> 32;
        s->hob_hcyl = lba >> 40;
    } else {
        s->select = (s->select & 0xf0) | ((lba >> 24) & 0x0f);
        s->hcyl = lba >> 16;
        s->lcyl = lba >> 8;
        s->sector = lba;
    }
}

static uint32_t ide_get_count(IDEState *s)
{
    if (s->lba48) {
        uint32_t n = s->hob_nsector << 8 | s->nsector;
        return n ? n : 65536;
    }
    return s->nsector ? s->nsector : 256;
}

/*
 * Latch the request; false (with IDNF raised) if it leaves the medium.
 * Sector counts are at most 65536, so nothing here overflows.
 */
static bool ide_start_request(IDEState *s)
{
    uint64_t lba = ide_get_sector(s);
    uint32_t count = ide_get_count(s);

    if (lba == UINT64_MAX || lba >= s->nb_sectors ||
        count > s->nb_sectors - lba) {
        ide_error(s, IDE_ERR_IDNF);
        return false;
    }
    s->cur_lba = lba;
    s->sectors_left = count;
    return true;
}

/* ---- PIO -------------------------------------------------------------- */

void ide_pio_in(IDEState *s, uint32_t len, IDEXfer xfer)
{
    s->xfer = xfer;
    s->data_pos = 0;
    s->data_end = len;
    s->status = IDE_STAT_DRDY | IDE_STAT_DSC | IDE_STAT_DRQ;
    ide_set_irq(s);
}

/* ---- the request in flight ------------------------------------------------ */

bool ide_drive_busy(const IDEState *s)
{
    return s->aio_busy || s->retry_op != IDE_RETRY_NONE;
}

/* Tell the controller the drive moved on (AHCI carries on its command). */
static void ide_notify_ready(IDEState *s)
{
    const IDEBusOps *ops = s->bus->ops;

    if (!ide_drive_busy(s) && ops->drive_ready) {
        ops->drive_ready(s->bus->opaque, s);
    }
}

/*
 * A reset (SRST, DEVICE RESET, EXECUTE DEVICE DIAGNOSTIC, COMRESET, the
 * machine's) while a request is in flight.  The block layer cannot take a
 * request back, so its result is dropped when it comes and the drive
 * stays busy until then (ATA gives a drive time to finish a reset).  Its
 * buffer is io_buffer, which nothing else uses meanwhile: a busy drive
 * takes no command and offers no data.
 */
static void ide_orphan_request(IDEState *s)
{
    if (s->aio_busy) {
        s->aio_orphaned = true;
        s->aio_flush_next = false;
        s->status = (s->status | IDE_STAT_BSY) & ~IDE_STAT_DRQ;
    }
}

/* The request a reset left behind came back: the reset is over. */
static void ide_orphan_done(IDEState *s)
{
    s->aio_orphaned = false;
    if (!(s->bus->ctl & IDE_CTL_SRST)) {
        s->status &= ~IDE_STAT_BSY;
    }
}

static void ide_aio_cb(void *opaque, int ret)
{
    IDEState *s = opaque;
    IDEAioDone *done = s->aio_done;

    if (!ret && s->aio_flush_next) {
        /* write cache off: the write counts once it is on the medium */
        s->aio_flush_next = false;
        blk_aio_flush(s->blk, ide_aio_cb, s);
        return;
    }
    s->aio_flush_next = false;
    s->aio_busy = false;
    s->aio_done = NULL;
    /* The completion goes on with what the vCPU's register write began:
     * its DMA into the controller's own registers is refused the same. */
    memory_io_owner_enter(s->bus->owner);
    if (s->aio_orphaned) {
        ide_orphan_done(s);
    } else {
        s->status &= ~IDE_STAT_BSY;
        done(s, ret);
    }
    ide_notify_ready(s);
    memory_io_owner_leave();
}

/* The drive is busy (BSY, no DRQ) until the backend answers; then @done. */
static void ide_aio_begin(IDEState *s, IDEAioDone *done)
{
    /* Every way into a request checks that none is out (a busy drive
     * ignores commands, has no DRQ, and no DMA waits for a start bit). */
    g_assert(!s->aio_busy);
    s->aio_busy = true;
    s->aio_done = done;
    s->status = (s->status | IDE_STAT_BSY) & ~IDE_STAT_DRQ;
}

void ide_aio_read(IDEState *s, uint64_t offset, uint32_t len,
                  IDEAioDone *done)
{
    ide_aio_begin(s, done);
    s->aio_iov = (struct iovec) { s->io_buffer, len };
    blk_aio_preadv(s->blk, &s->aio_vec, offset, &s->aio_iov, 1, ide_aio_cb,
                   s);
}

static void ide_aio_read_sectors(IDEState *s, uint64_t lba, uint32_t n,
                                 IDEAioDone *done)
{
    ide_aio_read(s, lba * IDE_SECTOR_SIZE, n * IDE_SECTOR_SIZE, done);
}

/* Write io_buffer's @n sectors at @lba; with the write cache off a flush
 * follows before @done runs. */
static void ide_aio_write_sectors(IDEState *s, uint64_t lba, uint32_t n,
                                  IDEAioDone *done)
{
    ide_aio_begin(s, done);
    s->aio_flush_next = !s->wce;
    s->aio_iov = (struct iovec) { s->io_buffer, n * IDE_SECTOR_SIZE };
    blk_aio_pwritev(s->blk, &s->aio_vec, lba * IDE_SECTOR_SIZE, &s->aio_iov,
                    1, ide_aio_cb, s);
}

static void ide_aio_flush(IDEState *s, IDEAioDone *done)
{
    ide_aio_begin(s, done);
    blk_aio_flush(s->blk, ide_aio_cb, s);
}

/*
 * A request failed with @ret: apply the backend's policy.  For stop the
 * drive stays busy with @op noted, to be run again when the VM resumes
 * (ide_retry_request); the caller then just returns.
 */
static BlockErrorAction ide_handle_io_error(IDEState *s, int ret,
                                            bool is_read, IDERetryOp op)
{
    BlockErrorAction action = blk_get_error_action(s->blk, is_read, -ret);

    if (action == BLOCK_ERROR_ACTION_STOP) {
        s->retry_op = op;
        s->status = IDE_STAT_BSY | IDE_STAT_DRDY;
    }
    blk_error_action(s->blk, action, is_read, -ret);
    return action;
}

/*
 * Whether a PIO or flush request that came back with @ret lets the
 * command go on: stop holds it (false), report fails it with @error
 * (false), ignore goes on as if it had worked.
 */
static bool ide_io_ok(IDEState *s, int ret, bool is_read, IDERetryOp op,
                      uint8_t error)
{
    if (ret >= 0) {
        return true;
    }
    switch (ide_handle_io_error(s, ret, is_read, op)) {
    case BLOCK_ERROR_ACTION_STOP:
        return false;
    case BLOCK_ERROR_ACTION_REPORT:
        ide_error(s, error);
        return false;
    default:
        return true;                    /* ignore: the data is whatever */
    }
}

static uint32_t ide_block_len(IDEState *s, bool multiple)
{
    uint32_t per_block = multiple ? s->mult_sectors : 1;

    return MIN(s->sectors_left, per_block);
}

static void ide_pio_read_done(IDEState *s, int ret)
{
    uint32_t n = s->block_sectors;

    if (!ide_io_ok(s, ret, true, IDE_RETRY_PIO_READ,
                   IDE_ERR_UNC | IDE_ERR_ABRT)) {
        return;
    }
    ide_set_sector(s, s->cur_lba + n);
    ide_pio_in(s, n * IDE_SECTOR_SIZE, IDE_XFER_READ);
}

/* Fetch the next block of a PIO read; DRQ and the interrupt when it came. */
static void ide_pio_read_next(IDEState *s)
{
    s->block_sectors = ide_block_len(s, s->command == WIN_MULTREAD ||
                                     s->command == WIN_MULTREAD_EXT);
    ide_aio_read_sectors(s, s->cur_lba, s->block_sectors, ide_pio_read_done);
}

static void ide_pio_write_next(IDEState *s, bool irq)
{
    uint32_t n = ide_block_len(s, s->command == WIN_MULTWRITE ||
                               s->command == WIN_MULTWRITE_EXT);

    s->block_sectors = n;
    s->xfer = IDE_XFER_WRITE;
    s->data_pos = 0;
    s->data_end = n * IDE_SECTOR_SIZE;
    s->status = IDE_STAT_DRDY | IDE_STAT_DSC | IDE_STAT_DRQ;
    if (irq) {
        ide_set_irq(s);
    }
}

static void ide_read_done_block(IDEState *s)
{
    s->cur_lba += s->block_sectors;
    s->sectors_left -= s->block_sectors;
    if (s->sectors_left) {
        ide_pio_read_next(s);
    } else {
        ide_transfer_stop(s);
        s->status = IDE_STAT_DRDY | IDE_STAT_DSC;
    }
}

static void ide_pio_write_done(IDEState *s, int ret)
{
    if (!ide_io_ok(s, ret, false, IDE_RETRY_PIO_WRITE, IDE_ERR_ABRT)) {
        return;
    }
    ide_set_sector(s, s->cur_lba + s->block_sectors);
    s->cur_lba += s->block_sectors;
    s->sectors_left -= s->block_sectors;
    if (s->sectors_left) {
        ide_pio_write_next(s, true);
    } else {
        ide_transfer_stop(s);
        s->status = IDE_STAT_DRDY | IDE_STAT_DSC;
        ide_set_irq(s);
    }
}

/* The host filled the block: write it, then ask for the next one. */
static void ide_write_done_block(IDEState *s)
{
    ide_aio_write_sectors(s, s->cur_lba, s->block_sectors,
                          ide_pio_write_done);
}

/* The host moved the last word of the current block. */
static void ide_block_done(IDEState *s)
{
    switch (s->xfer) {
    case IDE_XFER_PIO_IN_ONCE:
        ide_transfer_stop(s);
        s->status = IDE_STAT_DRDY | IDE_STAT_DSC;
        break;
    case IDE_XFER_READ:
        ide_read_done_block(s);
        break;
    case IDE_XFER_WRITE:
        ide_write_done_block(s);
        break;
    case IDE_XFER_PACKET:
        memcpy(s->packet, s->io_buffer, sizeof(s->packet));
        s->xfer = IDE_XFER_NONE;
        atapi_execute(s);
        break;
    case IDE_XFER_ATAPI_IN:
        atapi_pio_next(s);
        break;
    default:
        ide_transfer_stop(s);
        break;
    }
}

static bool ide_data_ready(IDEState *s)
{
    return (s->status & IDE_STAT_DRQ) && s->xfer != IDE_XFER_NONE &&
           s->data_end <= IDE_BUF_SIZE && s->data_pos < s->data_end;
}

static bool ide_data_in(IDEState *s)
{
    return s->xfer == IDE_XFER_PIO_IN_ONCE || s->xfer == IDE_XFER_READ ||
           s->xfer == IDE_XFER_ATAPI_IN;
}

/* One 16-bit data-port read (ATA's data register is 16 bits wide). */
static uint16_t ide_data_readw(IDEState *s)
{
    uint16_t val;

    if (!ide_data_ready(s) || !ide_data_in(s)) {
        return 0;
    }
    val = lduw_le_p(s->io_buffer + s->data_pos);
    s->data_pos += 2;
    if (s->xfer == IDE_XFER_ATAPI_IN) {
        s->atapi_left -= MIN(2, s->atapi_left);
    }
    if (s->data_pos >= s->data_end) {
        ide_block_done(s);
    }
    return val;
}

static void ide_data_writew(IDEState *s, uint16_t val)
{
    if (!ide_data_ready(s) || ide_data_in(s)) {
        return;
    }
    stw_le_p(s->io_buffer + s->data_pos, val);
    s->data_pos += 2;
    if (s->data_pos >= s->data_end) {
        ide_block_done(s);
    }
}

/* ---- DMA -------------------------------------------------------------- */

static void ide_dma_finish(IDEState *s, IDEDMAResult res)
{
    s->bus->ops->dma_end(s->bus->opaque, res);
    ide_transfer_stop(s);
    if (res == IDE_DMA_OK) {
        s->status = IDE_STAT_DRDY | IDE_STAT_DSC;
        ide_set_irq(s);
    } else {
        ide_error(s, IDE_ERR_ABRT);
    }
}

/* The whole transfer is over (or failed). */
static void ide_dma_end(IDEState *s, IDEDMAResult res)
{
    ide_dma_finish(s, res);
}

/*
 * Whether a chunk that came back with @ret lets the transfer go on: stop
 * holds it (busy, the bus master active, retry_op set: the chunk runs
 * again on resume), report ends it with the bus master's error, ignore
 * carries on.
 */
static bool ide_dma_chunk_ok(IDEState *s, int ret)
{
    if (ret >= 0) {
        return true;
    }
    switch (ide_handle_io_error(s, ret, !s->dma_to_disk, IDE_RETRY_DMA)) {
    case BLOCK_ERROR_ACTION_IGNORE:
        return true;
    case BLOCK_ERROR_ACTION_STOP:
        return false;
    default:
        ide_dma_end(s, IDE_DMA_ERROR);
        return false;
    }
}

static void ide_dma_advance(IDEState *s, uint32_t n)
{
    ide_set_sector(s, s->cur_lba + n);
    s->cur_lba += n;
    s->sectors_left -= n;
}

static void ide_dma_step(IDEState *s);

static void ide_dma_read_done(IDEState *s, int ret)
{
    uint32_t n = s->block_sectors;
    IDEDMAResult res;

    if (!ide_dma_chunk_ok(s, ret)) {
        return;
    }
    res = s->bus->ops->dma_rw(s->bus->opaque, s->io_buffer,
                              n * IDE_SECTOR_SIZE, true);
    if (res != IDE_DMA_OK) {
        ide_dma_end(s, res);
        return;
    }
    ide_dma_advance(s, n);
    ide_dma_step(s);
}

static void ide_dma_write_done(IDEState *s, int ret)
{
    if (!ide_dma_chunk_ok(s, ret)) {
        return;
    }
    s->dma_staged = 0;
    ide_dma_advance(s, s->block_sectors);
    ide_dma_step(s);
}

/*
 * The next chunk of the transfer, 128 sectors at most, through io_buffer:
 * a read goes to the medium first and to guest memory when it came back;
 * a write takes its chunk from guest memory and stages it in io_buffer
 * until it is on the medium, so a retry after a stop does not take the
 * PRD table's bytes twice.
 */
static void ide_dma_step(IDEState *s)
{
    uint32_t n = MIN(s->sectors_left, IDE_BUF_SIZE / IDE_SECTOR_SIZE);

    if (!n) {
        ide_dma_end(s, IDE_DMA_OK);
        return;
    }
    s->block_sectors = n;
    if (!s->dma_to_disk) {
        ide_aio_read_sectors(s, s->cur_lba, n, ide_dma_read_done);
        return;
    }
    if (!s->dma_staged) {
        IDEDMAResult res = s->bus->ops->dma_rw(s->bus->opaque, s->io_buffer,
                                               n * IDE_SECTOR_SIZE, false);
        if (res != IDE_DMA_OK) {
            ide_dma_end(s, res);
            return;
        }
        s->dma_staged = n;
    }
    ide_aio_write_sectors(s, s->cur_lba, s->dma_staged, ide_dma_write_done);
}

void ide_dma_run(IDEState *s)
{
    s->dma_pending = false;
    if (s->kind == IDE_KIND_CD) {
        atapi_dma_run(s);
        return;
    }
    ide_dma_step(s);
}

void ide_bus_dma_kick(IDEBus *bus)
{
    IDEState *s = ide_cur(bus);

    if (s->dma_pending) {
        ide_dma_run(s);
    }
}

/* ---- NCQ -------------------------------------------------------------- */

void ide_ncq_log_error(IDEState *s, unsigned tag, uint64_t lba,
                       uint32_t count, uint8_t error)
{
    s->status = IDE_STAT_DRDY | IDE_STAT_ERR;
    s->error = error;
    if (!s->ncq_error) {
        /* The log keeps the first failure until it is read. */
        s->ncq_error = true;
        s->ncq_err_tag = tag & 0x1f;
        s->ncq_err_status = s->status;
        s->ncq_err_error = error;
        s->ncq_err_lba = lba;
        s->ncq_err_count = count;
    }
}

/* ---- PIO carried by the host adapter ------------------------------------ */

IDEPIOPhase ide_bus_pio_phase(IDEBus *bus, uint32_t *len)
{
    IDEState *s = ide_cur(bus);

    *len = 0;
    if (!ide_data_ready(s)) {
        return IDE_PIO_IDLE;
    }
    *len = s->data_end - s->data_pos;
    if (s->xfer == IDE_XFER_PACKET) {
        return IDE_PIO_PACKET;
    }
    if (s->xfer == IDE_XFER_ATAPI_IN) {
        /* the last word of an odd chunk carries one byte */
        *len = MIN(*len, s->atapi_left);
    }
    return ide_data_in(s) ? IDE_PIO_IN : IDE_PIO_OUT;
}

IDEDMAResult ide_bus_pio_block(IDEBus *bus)
{
    IDEState *s = ide_cur(bus);
    uint32_t len;
    IDEPIOPhase phase = ide_bus_pio_phase(bus, &len);
    IDEDMAResult res;

    if (phase != IDE_PIO_IN && phase != IDE_PIO_OUT) {
        return IDE_DMA_OK;
    }
    res = bus->ops->dma_rw(bus->opaque, s->io_buffer + s->data_pos, len,
                           phase == IDE_PIO_IN);
    if (res != IDE_DMA_OK) {
        ide_error(s, IDE_ERR_ABRT);
        return res;
    }
    if (s->xfer == IDE_XFER_ATAPI_IN) {
        s->atapi_left -= len;
    }
    s->data_pos = s->data_end;
    ide_block_done(s);
    return IDE_DMA_OK;
}

void ide_bus_pio_packet(IDEBus *bus, const uint8_t *packet)
{
    IDEState *s = ide_cur(bus);
    uint32_t len;

    if (ide_bus_pio_phase(bus, &len) != IDE_PIO_PACKET) {
        return;
    }
    memcpy(s->io_buffer, packet, sizeof(s->packet));
    s->data_pos = s->data_end;
    ide_block_done(s);
}

static void ide_start_dma(IDEState *s, bool to_disk)
{
    if (!s->bus->ops->dma_active) {
        ide_error(s, IDE_ERR_ABRT);     /* no bus master on this channel */
        return;
    }
    s->dma_to_disk = to_disk;
    s->dma_pending = true;
    s->status = IDE_STAT_DRDY | IDE_STAT_DSC | IDE_STAT_DRQ;
    if (s->bus->ops->dma_active(s->bus->opaque)) {
        ide_dma_run(s);
    }
}

/* ---- commands --------------------------------------------------------- */

static bool ide_is_lba48_cmd(uint8_t cmd)
{
    switch (cmd) {
    case WIN_READ_EXT: case WIN_READDMA_EXT: case WIN_READ_NATIVE_MAX_EXT:
    case WIN_MULTREAD_EXT: case WIN_READ_LOG_EXT: case WIN_WRITE_EXT: case WIN_WRITEDMA_EXT:
    case WIN_MULTWRITE_EXT: case WIN_VERIFY_EXT: case WIN_FLUSH_CACHE_EXT:
        return true;
    }
    return false;
}

static void ide_cmd_done(IDEState *s)
{
    ide_transfer_stop(s);
    s->status = IDE_STAT_DRDY | IDE_STAT_DSC;
    s->error = 0;
    ide_set_irq(s);
}

static void ide_cmd_rw(IDEState *s, uint8_t cmd)
{
    bool write = cmd == WIN_WRITE || cmd == WIN_WRITE_ONCE ||
                 cmd == WIN_WRITE_EXT || cmd == WIN_MULTWRITE ||
                 cmd == WIN_MULTWRITE_EXT || cmd == WIN_WRITEDMA ||
                 cmd == WIN_WRITEDMA_ONCE || cmd == WIN_WRITEDMA_EXT;
    bool multiple = cmd == WIN_MULTREAD || cmd == WIN_MULTREAD_EXT ||
                    cmd == WIN_MULTWRITE || cmd == WIN_MULTWRITE_EXT;
    bool dma = cmd == WIN_READDMA || cmd == WIN_READDMA_ONCE ||
               cmd == WIN_READDMA_EXT || cmd == WIN_WRITEDMA ||
               cmd == WIN_WRITEDMA_ONCE || cmd == WIN_WRITEDMA_EXT;

    if ((multiple && !s->mult_sectors) || (write && s->read_only)) {
        ide_error(s, IDE_ERR_ABRT);
        return;
    }
    if (!ide_start_request(s)) {
        return;
    }
    s->block_sectors = 0;
    if (dma) {
        ide_start_dma(s, write);
    } else if (write) {
        ide_pio_write_next(s, false);   /* no interrupt before the 1st block */
    } else {
        ide_pio_read_next(s);
    }
}

static void ide_flush_done(IDEState *s, int ret)
{
    if (ide_io_ok(s, ret, false, IDE_RETRY_FLUSH, IDE_ERR_ABRT)) {
        ide_cmd_done(s);
    }
}

static void ide_cmd_flush(IDEState *s)
{
    if (s->read_only) {
        ide_cmd_done(s);                /* nothing can be cached */
        return;
    }
    ide_aio_flush(s, ide_flush_done);
}

/*
 * The VM resumed after an I/O error stopped it: run the failed request
 * again from where it stopped (QEMU's ide_restart_bh).  A reset while
 * stopped cleared retry_op, and then there is nothing to do.
 */
void ide_retry_request(void *opaque)
{
    IDEState *s = opaque;
    IDERetryOp op = s->retry_op;

    if (s->bus->ops->retry_queued) {
        /* queued commands the error held (AHCI's NCQ tags) */
        s->bus->ops->retry_queued(s->bus->opaque, s);
    }
    s->retry_op = IDE_RETRY_NONE;
    if (op == IDE_RETRY_NONE) {
        return;
    }
    memory_io_owner_enter(s->bus->owner);
    switch (op) {
    case IDE_RETRY_PIO_READ:
        ide_pio_read_next(s);
        break;
    case IDE_RETRY_PIO_WRITE:
        ide_write_done_block(s);
        break;
    case IDE_RETRY_DMA:
        ide_dma_run(s);
        break;
    case IDE_RETRY_FLUSH:
        ide_cmd_flush(s);
        break;
    default:
        break;
    }
    /* Usually a request is out again and its completion tells; a command
     * that ended at once (a failed DMA chunk) tells now. */
    ide_notify_ready(s);
    memory_io_owner_leave();
}

static void ide_cmd_verify(IDEState *s)
{
    /* The range is checked (IDNF); the registers stay, as QEMU's do. */
    if (ide_start_request(s)) {
        ide_cmd_done(s);
    }
}

static void ide_cmd_read_native_max(IDEState *s)
{
    ide_set_sector(s, s->nb_sectors - 1);
    ide_cmd_done(s);
}

static void ide_cmd_set_features(IDEState *s)
{
    switch (s->feature) {
    case SETFEAT_WCACHE_ON:
        s->wce = true;
        break;
    case SETFEAT_WCACHE_OFF:
        s->wce = false;
        break;
    case SETFEAT_XFER_MODE: {
        uint8_t mode = s->nsector & 7;
        switch (s->nsector >> 3) {
        case 0: case 1:                 /* PIO default / flow control */
            s->mdma_mode = s->udma_mode = 0xff;
            break;
        case 4:                         /* multiword DMA */
            if (mode > 2) {
                ide_error(s, IDE_ERR_ABRT);
                return;
            }
            s->mdma_mode = mode;
            s->udma_mode = 0xff;
            break;
        case 8:                         /* Ultra DMA */
            if (mode > 5) {
                ide_error(s, IDE_ERR_ABRT);
                return;
            }
            s->udma_mode = mode;
            s->mdma_mode = 0xff;
            break;
        default:
            ide_error(s, IDE_ERR_ABRT);
            return;
        }
        break;
    }
    case 0x42: case 0xc2: case 0x66: case 0xcc: case 0x55: case 0xaa:
    case 0x05: case 0x85: case 0x31: case 0x95:
        break;      /* look-ahead, defaults, APM...: accepted, no effect */
    default:
        ide_error(s, IDE_ERR_ABRT);
        return;
    }
    ide_cmd_done(s);
}

/* The general purpose log directory (ATA8-ACS A.2): version 1 and the
 * one log this drive keeps. */
static void ide_log_directory(uint8_t *buf)
{
    stw_le_p(buf, 1);
    stw_le_p(buf + 2 * LOG_NCQ_ERROR, 1);
}

/* SATA 2.6 13.7.5.2: the failed queued command, checksum in byte 511.
 * Reading it ends the error condition. */
static void ide_log_ncq_error(IDEState *s, uint8_t *buf)
{
    uint8_t sum = 0;

    if (s->ncq_error) {
        buf[0] = s->ncq_err_tag;
        buf[2] = s->ncq_err_status;
        buf[3] = s->ncq_err_error;
        buf[4] = s->ncq_err_lba;
        buf[5] = s->ncq_err_lba >> 8;
        buf[6] = s->ncq_err_lba >> 16;
        buf[7] = IDE_SEL_LBA;
        buf[8] = s->ncq_err_lba >> 24;
        buf[9] = s->ncq_err_lba >> 32;
        buf[10] = s->ncq_err_lba >> 40;
        buf[12] = s->ncq_err_count;
        buf[13] = s->ncq_err_count >> 8;
    } else {
        buf[0] = 0x80;                  /* NQ: no queued command failed */
    }
    for (int i = 0; i < 511; i++) {
        sum += buf[i];
    }
    buf[511] = -sum;
    s->ncq_error = false;
}

/* READ LOG EXT (ATA8-ACS 7.24): one page of log 00h or 10h. */
static void ide_cmd_read_log(IDEState *s)
{
    uint8_t log = s->sector;
    uint16_t page = s->hob_lcyl << 8 | s->lcyl;
    uint32_t count = ide_get_count(s);

    if ((log != LOG_DIRECTORY && log != LOG_NCQ_ERROR) || page != 0 ||
        count != 1) {
        ide_error(s, IDE_ERR_ABRT);
        return;
    }
    memset(s->io_buffer, 0, IDE_SECTOR_SIZE);
    if (log == LOG_DIRECTORY) {
        ide_log_directory(s->io_buffer);
    } else {
        ide_log_ncq_error(s, s->io_buffer);
    }
    ide_pio_in(s, IDE_SECTOR_SIZE, IDE_XFER_PIO_IN_ONCE);
}

static void ide_cmd_set_multiple(IDEState *s)
{
    uint8_t n = s->nsector;

    if (n > IDE_MAX_MULT || (n & (n - 1))) {
        ide_error(s, IDE_ERR_ABRT);
        return;
    }
    s->mult_sectors = n;
    ide_cmd_done(s);
}

static void ide_cmd_diagnose(IDEBus *bus)
{
    for (int i = 0; i < 2; i++) {
        IDEState *d = &bus->ifs[i];
        if (d->kind == IDE_KIND_NONE) {
            continue;
        }
        ide_transfer_stop(d);
        ide_set_signature(d);
        d->error = 0x01;
        d->status = d->kind == IDE_KIND_CD ? 0 : IDE_STAT_DRDY | IDE_STAT_DSC;
        ide_orphan_request(d);      /* the other drive may be busy */
    }
    ide_set_irq(ide_cur(bus));
}

/* Commands both kinds of drive take. */
static bool ide_exec_common(IDEState *s, uint8_t cmd)
{
    switch (cmd) {
    case WIN_DIAGNOSE:
        ide_cmd_diagnose(s->bus);
        return true;
    case WIN_SETFEATURES:
        ide_cmd_set_features(s);
        return true;
    case WIN_CHECKPOWERMODE1:
        s->nsector = 0xff;              /* active or idle */
        ide_cmd_done(s);
        return true;
    case WIN_STANDBYNOW1: case WIN_IDLEIMMEDIATE: case WIN_STANDBY:
    case WIN_SETIDLE1: case WIN_SLEEPNOW1:
        ide_cmd_done(s);
        return true;
    case WIN_FLUSH_CACHE: case WIN_FLUSH_CACHE_EXT:
        ide_cmd_flush(s);
        return true;
    case WIN_IDENTIFY:
        ide_identify(s);
        return true;
    }
    return false;
}

static void ide_exec_cd(IDEState *s, uint8_t cmd)
{
    switch (cmd) {
    case WIN_PACKET:
        atapi_packet_cmd(s);
        break;
    case WIN_PIDENTIFY:
        ide_identify_packet(s);
        break;
    case WIN_DEVICE_RESET:
        ide_drive_reset(s);
        break;
    default:
        /* ATAPI devices abort ATA commands and show the signature. */
        ide_abort(s);
        ide_set_signature(s);
        ide_set_irq(s);
        break;
    }
}

static void ide_exec_hd(IDEState *s, uint8_t cmd)
{
    switch (cmd) {
    case WIN_READ: case WIN_READ_ONCE: case WIN_READ_EXT:
    case WIN_WRITE: case WIN_WRITE_ONCE: case WIN_WRITE_EXT:
    case WIN_MULTREAD: case WIN_MULTREAD_EXT:
    case WIN_MULTWRITE: case WIN_MULTWRITE_EXT:
    case WIN_READDMA: case WIN_READDMA_ONCE: case WIN_READDMA_EXT:
    case WIN_WRITEDMA: case WIN_WRITEDMA_ONCE: case WIN_WRITEDMA_EXT:
        ide_cmd_rw(s, cmd);
        break;
    case WIN_VERIFY: case WIN_VERIFY_ONCE: case WIN_VERIFY_EXT:
        ide_cmd_verify(s);
        break;
    case WIN_READ_NATIVE_MAX: case WIN_READ_NATIVE_MAX_EXT:
        ide_cmd_read_native_max(s);
        break;
    case WIN_SETMULT:
        ide_cmd_set_multiple(s);
        break;
    case WIN_READ_LOG_EXT:
        ide_cmd_read_log(s);
        break;
    case WIN_SPECIFY: case WIN_RECAL: case WIN_SEEK:
        ide_cmd_done(s);
        break;
    default:
        ide_error(s, IDE_ERR_ABRT);     /* NOP and all unknown commands */
        break;
    }
}

static void ide_exec_cmd(IDEBus *bus, uint8_t cmd)
{
    IDEState *s = ide_cur(bus);

    /*
     * Commands to an absent drive go nowhere; a busy drive ignores them,
     * a request in flight included, except an ATAPI drive's DEVICE RESET
     * (ATA-6 8.10: accepted whatever the status; the request is dropped).
     */
    if (s->kind == IDE_KIND_NONE) {
        return;
    }
    if ((s->status & IDE_STAT_BSY) || ide_drive_busy(s)) {
        if (cmd != WIN_DEVICE_RESET || s->kind != IDE_KIND_CD) {
            return;
        }
    }
    ide_clear_irq(s);
    /* A new command ends whatever transfer the host left unfinished. */
    ide_transfer_stop(s);
    s->command = cmd;
    s->lba48 = ide_is_lba48_cmd(cmd);
    s->error = 0;
    if (ide_exec_common(s, cmd)) {
        return;
    }
    if (s->kind == IDE_KIND_CD) {
        ide_exec_cd(s, cmd);
    } else {
        ide_exec_hd(s, cmd);
    }
}

/* ---- registers -------------------------------------------------------- */

static uint32_t ide_reg_read(IDEBus *bus, uint32_t reg)
{
    IDEState *s = ide_cur(bus);
    bool hob = bus->ctl & IDE_CTL_HOB;
    bool absent = s->kind == IDE_KIND_NONE;
    bool any = bus->ifs[0].kind != IDE_KIND_NONE ||
               bus->ifs[1].kind != IDE_KIND_NONE;

    /* As QEMU: a channel without drives reads zero everywhere, and an
     * empty slot's status reads zero (so a host's probe finds nothing),
     * while its task file shows what was written to the channel. */
    if (!any || (absent && reg == 7)) {
        return 0;
    }
    switch (reg) {
    case 1:
        return hob ? s->hob_feature : s->error;
    case 2:
        return hob ? s->hob_nsector : s->nsector;
    case 3:
        return hob ? s->hob_sector : s->sector;
    case 4:
        return hob ? s->hob_lcyl : s->lcyl;
    case 5:
        return hob ? s->hob_hcyl : s->hcyl;
    case 6:
        return s->select;
    case 7:
        ide_clear_irq(s);
        return s->status;
    }
    return 0;
}

uint32_t ide_ioport_read(IDEBus *bus, uint32_t reg, unsigned size)
{
    IDEState *s = ide_cur(bus);

    if (reg == 0) {
        uint32_t val = ide_data_readw(s);
        if (size == 4) {
            val |= (uint32_t)ide_data_readw(s) << 16;
        }
        return val;
    }
    return ide_reg_read(bus, reg & 7);
}

/* Task file writes reach both drives; the previous value moves to HOB. */
static void ide_tf_write(IDEBus *bus, uint32_t reg, uint8_t val)
{
    bus->ctl &= ~IDE_CTL_HOB;
    for (int i = 0; i < 2; i++) {
        IDEState *s = &bus->ifs[i];
        switch (reg) {
        case 1:
            s->hob_feature = s->feature;
            s->feature = val;
            break;
        case 2:
            s->hob_nsector = s->nsector;
            s->nsector = val;
            break;
        case 3:
            s->hob_sector = s->sector;
            s->sector = val;
            break;
        case 4:
            s->hob_lcyl = s->lcyl;
            s->lcyl = val;
            break;
        case 5:
            s->hob_hcyl = s->hcyl;
            s->hcyl = val;
            break;
        case 6:
            s->select = val | 0xa0;
            break;
        }
    }
    if (reg == 6) {
        bus->unit = (val & IDE_SEL_DEV) ? 1 : 0;
        ide_update_irq(bus);
    }
}

void ide_ioport_write(IDEBus *bus, uint32_t reg, uint32_t val, unsigned size)
{
    if (reg == 0) {
        ide_data_writew(ide_cur(bus), val);
        if (size == 4) {
            ide_data_writew(ide_cur(bus), val >> 16);
        }
        return;
    }
    reg &= 7;
    if (reg == 7) {
        ide_exec_cmd(bus, val);
    } else {
        ide_tf_write(bus, reg, val);
    }
}

uint32_t ide_status_read(IDEBus *bus)
{
    IDEState *s = ide_cur(bus);

    return s->kind == IDE_KIND_NONE ? 0 : s->status;
}

/* SRST (ATA-6 9.2): set, the drives go busy; cleared, they reset. */
void ide_ctl_write(IDEBus *bus, uint32_t val)
{
    bool was_srst = bus->ctl & IDE_CTL_SRST;

    bus->ctl = val;
    if (!was_srst && (val & IDE_CTL_SRST)) {
        for (int i = 0; i < 2; i++) {
            IDEState *s = &bus->ifs[i];
            if (s->kind != IDE_KIND_NONE) {
                ide_transfer_stop(s);
                s->status = IDE_STAT_BSY | IDE_STAT_DSC;
                s->error = 0x01;
                ide_orphan_request(s);
            }
        }
    } else if (was_srst && !(val & IDE_CTL_SRST)) {
        for (int i = 0; i < 2; i++) {
            if (bus->ifs[i].kind != IDE_KIND_NONE) {
                ide_drive_reset(&bus->ifs[i]);
            }
        }
        bus->unit = 0;
    }
    ide_update_irq(bus);
}

/* ---- state ------------------------------------------------------------ */

void ide_bus_post_load(IDEBus *bus)
{
    bus->unit &= 1;
    for (int i = 0; i < 2; i++) {
        IDEState *s = &bus->ifs[i];
        /* A corrupt state must not point the data port outside the buffer. */
        if (s->data_end > IDE_BUF_SIZE || s->data_pos > s->data_end ||
            s->buf_fill > IDE_BUF_SIZE || s->xfer > IDE_XFER_ATAPI_IN ||
            s->block_sectors > IDE_BUF_SIZE / IDE_SECTOR_SIZE ||
            s->dma_staged > IDE_BUF_SIZE / IDE_SECTOR_SIZE ||
            s->retry_op > IDE_RETRY_FLUSH ||
            s->kind == IDE_KIND_NONE) {
            ide_transfer_stop(s);
        }
        if (s->mult_sectors > IDE_MAX_MULT) {
            s->mult_sectors = IDE_MAX_MULT;
        }
        /* A request an I/O error held on the source runs again when this
         * VM resumes, as it would have there. */
        if (s->retry_op != IDE_RETRY_NONE && s->blk) {
            blk_retry_on_resume(s->blk);
        }
    }
    bus->irq_level = ide_cur(bus)->irq_pending && !(bus->ctl & IDE_CTL_NIEN);
    bus->ops->set_irq(bus->opaque, bus->irq_level);
}

const VMStateDescription vmstate_ide_drive = {
    .name = "ide_drive",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8(feature, IDEState),
        VMSTATE_UINT8(error, IDEState),
        VMSTATE_UINT8(nsector, IDEState),
        VMSTATE_UINT8(sector, IDEState),
        VMSTATE_UINT8(lcyl, IDEState),
        VMSTATE_UINT8(hcyl, IDEState),
        VMSTATE_UINT8(select, IDEState),
        VMSTATE_UINT8(status, IDEState),
        VMSTATE_UINT8(hob_feature, IDEState),
        VMSTATE_UINT8(hob_nsector, IDEState),
        VMSTATE_UINT8(hob_sector, IDEState),
        VMSTATE_UINT8(hob_lcyl, IDEState),
        VMSTATE_UINT8(hob_hcyl, IDEState),
        VMSTATE_UINT8(command, IDEState),
        VMSTATE_BOOL(lba48, IDEState),
        VMSTATE_UINT8(mult_sectors, IDEState),
        VMSTATE_BOOL(wce, IDEState),
        VMSTATE_UINT8(mdma_mode, IDEState),
        VMSTATE_UINT8(udma_mode, IDEState),
        VMSTATE_BOOL(irq_pending, IDEState),
        VMSTATE_UINT8(xfer, IDEState),
        VMSTATE_BOOL(dma_pending, IDEState),
        VMSTATE_BOOL(dma_to_disk, IDEState),
        VMSTATE_UINT64(cur_lba, IDEState),
        VMSTATE_UINT32(sectors_left, IDEState),
        VMSTATE_UINT32(block_sectors, IDEState),
        VMSTATE_UINT32(data_pos, IDEState),
        VMSTATE_UINT32(data_end, IDEState),
        VMSTATE_UINT32(buf_fill, IDEState),
        VMSTATE_UINT8(retry_op, IDEState),
        VMSTATE_UINT32(dma_staged, IDEState),
        VMSTATE_BUFFER(io_buffer, IDEState),
        VMSTATE_UINT8_ARRAY(packet, IDEState, 12),
        VMSTATE_UINT8(sense_key, IDEState),
        VMSTATE_UINT8(asc, IDEState),
        VMSTATE_UINT8(ascq, IDEState),
        VMSTATE_BOOL(tray_open, IDEState),
        VMSTATE_BOOL(locked, IDEState),
        VMSTATE_BOOL(unit_attention, IDEState),
        VMSTATE_UINT8(media_changed, IDEState),
        VMSTATE_BOOL(event_new_media, IDEState),
        VMSTATE_BOOL(event_eject_request, IDEState),
        VMSTATE_BOOL(atapi_dma, IDEState),
        VMSTATE_BOOL(atapi_reading, IDEState),
        VMSTATE_UINT32(atapi_left, IDEState),
        VMSTATE_UINT32(atapi_lba, IDEState),
        VMSTATE_BOOL(ncq_error, IDEState),
        VMSTATE_UINT8(ncq_err_tag, IDEState),
        VMSTATE_UINT8(ncq_err_status, IDEState),
        VMSTATE_UINT8(ncq_err_error, IDEState),
        VMSTATE_UINT16(ncq_err_count, IDEState),
        VMSTATE_UINT64(ncq_err_lba, IDEState),
        VMSTATE_END_OF_LIST()
    },
};

const VMStateDescription vmstate_ide_bus = {
    .name = "ide_bus",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8(unit, IDEBus),
        VMSTATE_UINT8(ctl, IDEBus),
        VMSTATE_STRUCT_ARRAY(ifs, IDEBus, 2, vmstate_ide_drive, IDEState),
        VMSTATE_END_OF_LIST()
    },
};

/*
 * virtio-scsi: a polled virtio-scsi-pci driver run inside a guest at CPL 3
 * over the modern transport (VIRTIO 1.2 4.1 and 5.6), split or packed
 * request queue ("packed=1" on the command line), with a scsi-hd at
 * target 0 LUN 0 (the runner, run-virtio-scsi-test.py, attaches it and
 * checks the image afterwards):
 *
 *   - PCI: the first 1af4:1004 function, BAR4 mapped, capabilities;
 *   - initialisation: VERSION_1 (+ RING_PACKED), the request queue 2;
 *   - TEST UNIT READY: the reset unit attention (06/29/00), then GOOD;
 *   - INQUIRY: a direct-access device "QEMU HARDDISK";
 *   - READ CAPACITY(10): 2048 blocks of 512 bytes (a 1 MiB image);
 *   - WRITE(10) of sectors 1000-1011 (byte i of sector s =
 *     ((s * 31 + i) ^ 0x5a) & 0xff) from three descriptors, READ(10) back;
 *   - SYNCHRONIZE CACHE(10);
 *   - UNMAP of sectors 1500-1563, which then read zero;
 *   - READ(10) past the end: CHECK CONDITION, LBA OUT OF RANGE.
 * Completion is polled in the used ring: no interrupt is needed.
 */
#include "guest.h"

#define PCI_ADDR        0xcf8
#define PCI_DATA        0xcfc
#define MODERN_BAR_ADDR 0xfe100000u
#define QSIZE           16
#define REQ_QUEUE       2
#define CDB_SIZE        32
#define SENSE_SIZE      96
#define REQ_HDR         (19 + CDB_SIZE)
#define RESP_HDR        (12 + SENSE_SIZE)
#define DISK_BLOCKS     2048

/* common configuration (4.1.4.3) */
#define C_DFSELECT      0x00
#define C_DF            0x04
#define C_GFSELECT      0x08
#define C_GF            0x0c
#define C_STATUS        0x14
#define C_Q_SELECT      0x16
#define C_Q_SIZE        0x18
#define C_Q_ENABLE      0x1c
#define C_Q_NOFF        0x1e
#define C_Q_DESC        0x20
#define C_Q_AVAIL       0x28
#define C_Q_USED        0x30

struct vring_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

struct vring_packed_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t id;
    volatile uint16_t flags;
};

static union {
    struct vring_desc split[QSIZE];
    struct vring_packed_desc packed[QSIZE];
} ring __attribute__((aligned(16)));
static volatile uint16_t avail[2 + QSIZE + 1] __attribute__((aligned(4)));
static volatile uint32_t used[1 + 2 * QSIZE + 1] __attribute__((aligned(4)));

static uint8_t req_hdr[REQ_HDR] __attribute__((aligned(16)));
static uint8_t resp[RESP_HDR] __attribute__((aligned(16)));
static uint8_t data[12 * 512] __attribute__((aligned(64)));
static uint8_t check[12 * 512] __attribute__((aligned(64)));

static unsigned devfn;
static uintptr_t common, notify;
static uint32_t notify_mult;
static bool packed;
static uint16_t avail_idx, used_seen;       /* split */
static uint16_t next_slot, used_slot;       /* packed */
static bool wrap = true, used_wrap = true;

static uint32_t cfg_read32(unsigned off)
{
    outl(PCI_ADDR, 0x80000000u | devfn << 8 | off);
    return inl(PCI_DATA);
}

static void cfg_write32(unsigned off, uint32_t v)
{
    outl(PCI_ADDR, 0x80000000u | devfn << 8 | off);
    outl(PCI_DATA, v);
}

static uint8_t cfg_read8(unsigned off)
{
    return cfg_read32(off & ~3u) >> (8 * (off & 3));
}

static bool find_device(void)
{
    for (devfn = 0; devfn < 256; devfn++) {
        if (cfg_read32(0) == 0x10041af4) {
            return true;
        }
    }
    return false;
}

static bool map_device(void)
{
    cfg_write32(0x20, MODERN_BAR_ADDR);
    cfg_write32(0x24, 0);
    cfg_write32(0x04, 0x06);                    /* memory, bus master */
    for (uint8_t cap = cfg_read8(0x34); cap; cap = cfg_read8(cap + 1)) {
        uint8_t type = cfg_read8(cap + 3);
        uint32_t off = cfg_read32(cap + 8);

        if (cfg_read8(cap) != 0x09 || cfg_read8(cap + 4) != 4) {
            continue;
        }
        if (type == 1) {
            common = MODERN_BAR_ADDR + off;
        } else if (type == 2) {
            notify = MODERN_BAR_ADDR + off;
            notify_mult = cfg_read32(cap + 16);
        }
    }
    return common && notify;
}

static bool init_device(void)
{
    uint32_t hi;

    mmio_write8(common + C_STATUS, 0);
    mmio_write8(common + C_STATUS, 1);
    mmio_write8(common + C_STATUS, 3);
    mmio_write32(common + C_DFSELECT, 1);
    hi = mmio_read32(common + C_DF);
    if (packed && !(hi & 4)) {
        report(false, "RING_PACKED offered");
        return false;
    }
    mmio_write32(common + C_GFSELECT, 0);
    mmio_write32(common + C_GF, 0);
    mmio_write32(common + C_GFSELECT, 1);
    mmio_write32(common + C_GF, 1 | (packed ? 4 : 0));
    mmio_write8(common + C_STATUS, 0xb);
    if (!(mmio_read8(common + C_STATUS) & 8)) {
        return false;
    }
    memset(&ring, 0, sizeof(ring));
    memset((void *)avail, 0, sizeof(avail));
    memset((void *)used, 0, sizeof(used));
    mmio_write16(common + C_Q_SELECT, REQ_QUEUE);
    mmio_write16(common + C_Q_SIZE, QSIZE);
    mmio_write64(common + C_Q_DESC, (uintptr_t)&ring);
    /* packed: driver and device event suppression areas, left at 0 */
    mmio_write64(common + C_Q_AVAIL, (uintptr_t)avail);
    mmio_write64(common + C_Q_USED, (uintptr_t)used);
    mmio_write16(common + C_Q_ENABLE, 1);
    notify += mmio_read16(common + C_Q_NOFF) * notify_mult;
    mmio_write8(common + C_STATUS, 0xf);
    return mmio_read8(common + C_STATUS) == 0xf;
}

typedef struct Buf {
    void *addr;
    uint32_t len;
    bool write;
} Buf;

/* Post one chain, kick, poll for it; false on a timeout. */
static bool run_chain(const Buf *b, unsigned n)
{
    uint64_t deadline = rdtsc() + 5 * tsc_hz();

    if (!packed) {
        uint16_t head = 0;
        for (unsigned i = 0; i < n; i++) {
            ring.split[i] = (struct vring_desc){
                (uintptr_t)b[i].addr, b[i].len,
                (b[i].write ? 2 : 0) | (i + 1 < n ? 1 : 0), i + 1,
            };
        }
        avail[2 + avail_idx % QSIZE] = head;
        barrier();
        avail[1] = ++avail_idx;
        barrier();
        mmio_write16(notify, REQ_QUEUE);
        while ((uint16_t)(used[0] >> 16) == used_seen) {
            if (rdtsc() > deadline) {
                return false;
            }
            cpu_relax();
        }
        used_seen++;
        return true;
    }
    /* packed: the head's flags last, so the device sees a whole chain */
    uint16_t head_flags = 0, first = next_slot;
    for (unsigned i = 0; i < n; i++) {
        uint16_t f = (b[i].write ? 2 : 0) | (i + 1 < n ? 1 : 0);
        f |= wrap ? (1u << 7) : (1u << 15);
        ring.packed[next_slot].addr = (uintptr_t)b[i].addr;
        ring.packed[next_slot].len = b[i].len;
        ring.packed[next_slot].id = 0;
        if (i == 0) {
            head_flags = f;
        } else {
            ring.packed[next_slot].flags = f;
        }
        if (++next_slot == QSIZE) {
            next_slot = 0;
            wrap = !wrap;
        }
    }
    barrier();
    ring.packed[first].flags = head_flags;
    barrier();
    mmio_write16(notify, REQ_QUEUE);
    for (;;) {
        uint16_t f = ring.packed[used_slot].flags;
        bool a = f & (1u << 7), u = f & (1u << 15);
        if (a == used_wrap && u == used_wrap) {
            break;
        }
        if (rdtsc() > deadline) {
            return false;
        }
        cpu_relax();
    }
    used_slot += n;
    if (used_slot >= QSIZE) {
        used_slot -= QSIZE;
        used_wrap = !used_wrap;
    }
    return true;
}

/* One command; returns the SCSI status (0x100 | response on a transport
 * failure, 0x200 on a timeout). */
static unsigned scsi(const uint8_t *cdb, unsigned cdb_len, void *out,
                     uint32_t out_len, void *in, uint32_t in_len,
                     unsigned pieces)
{
    Buf b[2 + 2 * 3];
    unsigned n = 0;

    memset(req_hdr, 0, sizeof(req_hdr));
    req_hdr[0] = 1;                 /* LUN: 1, target 0, LUN 0 (flat) */
    req_hdr[2] = 0x40;
    req_hdr[8] = 0x42;              /* tag */
    memcpy(req_hdr + 19, cdb, cdb_len);
    memset(resp, 0xee, sizeof(resp));
    b[n++] = (Buf){ req_hdr, REQ_HDR, false };
    for (unsigned i = 0; out_len && i < pieces; i++) {
        uint32_t each = out_len / pieces;
        b[n++] = (Buf){ (uint8_t *)out + i * each,
                        i + 1 < pieces ? each : out_len - i * each, false };
    }
    b[n++] = (Buf){ resp, RESP_HDR, true };
    for (unsigned i = 0; in_len && i < pieces; i++) {
        uint32_t each = in_len / pieces;
        b[n++] = (Buf){ (uint8_t *)in + i * each,
                        i + 1 < pieces ? each : in_len - i * each, true };
    }
    if (!run_chain(b, n)) {
        return 0x200;
    }
    if (resp[11]) {
        return 0x100 | resp[11];
    }
    return resp[10];
}

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}

static uint32_t rd_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static unsigned rw10(bool write, uint32_t lba, uint16_t blocks, void *buf,
                     unsigned pieces)
{
    uint8_t cdb[10] = { write ? 0x2a : 0x28 };

    be32(cdb + 2, lba);
    cdb[7] = blocks >> 8;
    cdb[8] = blocks;
    return scsi(cdb, 10, write ? buf : NULL, write ? blocks * 512u : 0,
                write ? NULL : buf, write ? 0 : blocks * 512u, pieces);
}

int main(void)
{
    static const uint8_t tur[6] = { 0 };
    uint8_t cdb[10], b[64];
    unsigned st;
    bool ok;

    report_prefix("virtio-scsi");
    packed = cmdline_get_int("packed", 0);
    if (!find_device()) {
        report(false, "no 1af4:1004 function");
        report_summary();
    }
    report(map_device(), "modern capabilities found");
    report(init_device(), "FEATURES_OK and DRIVER_OK (%s ring)",
           packed ? "packed" : "split");

    st = scsi(tur, 6, NULL, 0, NULL, 0, 1);
    report(st == 2 && resp[12 + 2] == 6 && resp[12 + 12] == 0x29,
           "TEST UNIT READY: reset unit attention (status %#x)", st);
    st = scsi(tur, 6, NULL, 0, NULL, 0, 1);
    report(st == 0, "TEST UNIT READY: GOOD (status %#x)", st);

    memset(cdb, 0, sizeof(cdb));
    cdb[0] = 0x12;
    cdb[4] = 36;
    st = scsi(cdb, 6, NULL, 0, b, 36, 1);
    report(st == 0 && b[0] == 0 && !memcmp(b + 16, "QEMU HARDDISK", 13),
           "INQUIRY: direct-access QEMU HARDDISK");

    memset(cdb, 0, sizeof(cdb));
    cdb[0] = 0x25;
    st = scsi(cdb, 10, NULL, 0, b, 8, 1);
    report(st == 0 && rd_be32(b) == DISK_BLOCKS - 1 && rd_be32(b + 4) == 512,
           "READ CAPACITY(10): %u blocks of %u", rd_be32(b) + 1,
           rd_be32(b + 4));

    for (unsigned s = 0; s < 12; s++) {
        for (unsigned i = 0; i < 512; i++) {
            data[s * 512 + i] = (((1000 + s) * 31 + i) ^ 0x5a) & 0xff;
        }
    }
    st = rw10(true, 1000, 12, data, 3);
    report(st == 0, "WRITE(10) of 12 sectors from 3 descriptors");
    memset(check, 0, sizeof(check));
    st = rw10(false, 1000, 12, check, 2);
    report(st == 0 && !memcmp(check, data, sizeof(data)),
           "READ(10) returns what was written");

    memset(cdb, 0, sizeof(cdb));
    cdb[0] = 0x35;
    st = scsi(cdb, 10, NULL, 0, NULL, 0, 1);
    report(st == 0, "SYNCHRONIZE CACHE(10)");

    {
        uint8_t param[24] = { 0, 22, 0, 16 };
        memset(cdb, 0, sizeof(cdb));
        cdb[0] = 0x42;
        cdb[8] = sizeof(param);
        be32(param + 8 + 4, 1500);
        be32(param + 16, 64);
        st = scsi(cdb, 10, param, sizeof(param), NULL, 0, 1);
        report(st == 0, "UNMAP of sectors 1500-1563");
        memset(check, 0xff, sizeof(check));
        st = rw10(false, 1500, 12, check, 1);
        ok = st == 0;
        for (unsigned i = 0; i < sizeof(check); i++) {
            ok &= check[i] == 0;
        }
        report(ok, "unmapped sectors read zero");
    }

    st = rw10(false, DISK_BLOCKS - 1, 2, check, 1);
    report(st == 2 && resp[12 + 2] == 5 && resp[12 + 12] == 0x21,
           "READ past the end: LBA OUT OF RANGE");
    report_summary();
}

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
 *
 * With "bench=randread|randwrite|seqread bs=N qd=N secs=N" on its command
 * line it is instead a load generator (bench/virtio-blk.py --scsi): a
 * 128-entry split ring, READ(10)/WRITE(10) kept QD deep for SECS seconds,
 * polled, one kick per batch, timed by the TSC; it prints
 * "virtio-scsi-bench: ... iops=N kbps=N errors=N".
 */
#include "guest.h"

#define MODERN_BAR_ADDR 0xfe100000u
#define QSIZE           16
#define REQ_QUEUE       2
#define CDB_SIZE        32
#define SENSE_SIZE      96
#define REQ_HDR         (19 + CDB_SIZE)
#define RESP_HDR        (12 + SENSE_SIZE)
#define DISK_BLOCKS     2048


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




static bool find_device(void)
{
    static const uint32_t ids[] = { 0x10041af4 };
    int d = pci_find_id(ids, ARRAY_SIZE(ids));

    devfn = d;
    return d >= 0;
}

static bool map_device(void)
{
    struct virtio_pci_caps c;

    virtio_pci_map(devfn, MODERN_BAR_ADDR, &c);
    common = c.common;
    notify = c.notify;
    notify_mult = c.notify_mult;
    return common && notify;
}

static bool init_device(uintptr_t desc_addr, uintptr_t avail_addr,
                        uintptr_t used_addr, uint16_t qsize)
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
    mmio_write16(common + C_Q_SELECT, REQ_QUEUE);
    mmio_write16(common + C_Q_SIZE, qsize);
    mmio_write64(common + C_Q_DESC, desc_addr);
    /* packed: driver and device event suppression areas, left at 0 */
    mmio_write64(common + C_Q_AVAIL, avail_addr);
    mmio_write64(common + C_Q_USED, used_addr);
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

static uint64_t lcg = 88172645463325252ull;

static uint64_t next_rand(void)
{
    lcg ^= lcg << 13;
    lcg ^= lcg >> 7;
    lcg ^= lcg << 17;
    return lcg;
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

/* ---- bench mode: slot r uses descriptors 3r..3r+2 of a split ring ------ */

#define BQSIZE          128
#define MAX_QD          32
#define DATA_BASE       0x4000000ul /* 64 MiB: QD buffers of up to 1 MiB */

static struct vring_desc bdesc[BQSIZE] __attribute__((aligned(16)));
static volatile uint16_t bavail[2 + BQSIZE + 1] __attribute__((aligned(4)));
static volatile uint32_t bused[1 + 2 * BQSIZE + 1]
    __attribute__((aligned(4)));
static uint8_t bhdr[MAX_QD][REQ_HDR] __attribute__((aligned(16)));
static uint8_t bresp[MAX_QD][RESP_HDR] __attribute__((aligned(16)));

/* Post slot @r: @cdb (10 bytes) with @len bytes of data at @buf, to the
 * device (@write) or from it. */
static void bench_post_cdb(unsigned r, const uint8_t *cdb, bool write,
                           uintptr_t buf, uint32_t len)
{
    memset(bhdr[r], 0, REQ_HDR);
    bhdr[r][0] = 1;                     /* target 0, LUN 0 */
    bhdr[r][2] = 0x40;
    bhdr[r][8] = r;                     /* tag */
    memcpy(bhdr[r] + 19, cdb, 10);
    bresp[r][10] = bresp[r][11] = 0xee;
    bdesc[3 * r] = (struct vring_desc){ (uintptr_t)bhdr[r], REQ_HDR, 1,
                                        3 * r + 1 };
    if (!len) {
        bdesc[3 * r].next = 3 * r + 2;
        bdesc[3 * r + 2] = (struct vring_desc){ (uintptr_t)bresp[r],
                                                RESP_HDR, 2, 0 };
    } else if (write) {
        bdesc[3 * r + 1] = (struct vring_desc){ buf, len, 1, 3 * r + 2 };
        bdesc[3 * r + 2] = (struct vring_desc){ (uintptr_t)bresp[r],
                                                RESP_HDR, 2, 0 };
    } else {
        bdesc[3 * r + 1] = (struct vring_desc){ (uintptr_t)bresp[r],
                                                RESP_HDR, 2 | 1, 3 * r + 2 };
        bdesc[3 * r + 2] = (struct vring_desc){ buf, len, 2, 0 };
    }
    bavail[2 + avail_idx % BQSIZE] = 3 * r;
    barrier();
    bavail[1] = ++avail_idx;
}

static void bench_post(unsigned r, bool write, uint64_t lba, uint32_t len)
{
    uint8_t cdb[10] = { write ? 0x2a : 0x28 };
    uint32_t blocks = len / 512;

    be32(cdb + 2, (uint32_t)lba);
    cdb[7] = blocks >> 8;
    cdb[8] = blocks;
    bench_post_cdb(r, cdb, write, DATA_BASE + (uintptr_t)r * len, len);
}

/* A completed slot, or -1. */
static int bench_poll(void)
{
    uint32_t id;

    if ((uint16_t)(bused[0] >> 16) == used_seen) {
        return -1;
    }
    barrier();
    id = bused[1 + 2 * (used_seen % BQSIZE)];
    used_seen++;
    return id / 3;
}

static void run_bench(const char *op, unsigned bs, unsigned qd, unsigned secs)
{
    bool write = !strcmp(op, "randwrite"), seq = !strcmp(op, "seqread");
    uint64_t blocks, seq_next = 0, n = 0, errors = 0, t0, t1, end, last;
    static const uint8_t tur[10] = { 0 }, capacity[10] = { 0x25 };
    uint8_t *capbuf = (uint8_t *)DATA_BASE;
    unsigned inflight;
    uint64_t kicks = 1;
    bool ok = true;

    /* TEST UNIT READY takes the reset unit attention, then the size */
    for (unsigned i = 0; i < 2 && ok; i++) {
        bench_post_cdb(0, i ? capacity : tur, false, (uintptr_t)capbuf,
                       i ? 8 : 0);
        mmio_write16(notify, REQ_QUEUE);
        last = rdtsc();
        while (bench_poll() < 0 && (ok = rdtsc() - last < 5 * tsc_hz())) {
            cpu_relax();
        }
    }
    if (!ok || bresp[0][10] || bresp[0][11] || bs % 512 || bs > (1u << 20)) {
        report(false, "READ CAPACITY (response %#x, status %#x), bs=%u",
               bresp[0][11], bresp[0][10], bs);
        return;
    }
    blocks = ((uint64_t)rd_be32(capbuf) + 1) * 512 / bs;
    qd = qd > MAX_QD ? MAX_QD : qd ? qd : 1;
    memset((void *)DATA_BASE, 0x5a, (size_t)qd * bs);
    /* the host samples its CPU time here and at the result line */
    printf("virtio-scsi-bench: start\n");
    t0 = rdtsc();
    end = t0 + secs * tsc_hz();
    for (unsigned r = 0; r < qd; r++) {
        bench_post(r, write, (seq ? seq_next++ % blocks
                                  : next_rand() % blocks) * (bs / 512), bs);
    }
    mmio_write16(notify, REQ_QUEUE);
    inflight = qd;
    last = t0;
    for (;;) {
        int r = bench_poll();
        bool more = false;

        if (r >= 0) {
            last = rdtsc();
        } else if (rdtsc() - last > 5 * tsc_hz()) {
            report(false, "no completion for 5 s (%u in flight)", inflight);
            break;
        }
        while (r >= 0) {
            n++;
            inflight--;
            errors += bresp[r][10] || bresp[r][11];
            if (rdtsc() < end) {
                inflight++;
                bench_post(r, write, (seq ? seq_next++ % blocks
                                          : next_rand() % blocks) * (bs / 512),
                           bs);
                more = true;
            }
            r = bench_poll();
        }
        /* Kick unless the device polls the ring (used->flags
         * VRING_USED_F_NO_NOTIFY, 2.7.7.2), as Linux's
         * virtqueue_kick_prepare does. */
        if (more) {
            __atomic_thread_fence(__ATOMIC_SEQ_CST);
            if (!(bused[0] & 1)) {
                mmio_write16(notify, REQ_QUEUE);
                kicks++;
            }
        }
        if (!inflight) {
            break;
        }
        cpu_relax();
    }
    t1 = rdtsc();
    {
        uint64_t us = (t1 - t0) * 1000000 / tsc_hz();

        us = us ? us : 1;
        printf("virtio-scsi-bench: op=%s bs=%u qd=%u ring=split n=%lu "
               "us=%lu iops=%lu kbps=%lu errors=%lu kicks=%lu\n", op, bs, qd,
               (unsigned long)n, (unsigned long)us,
               (unsigned long)(n * 1000000 / us),
               (unsigned long)(n * (bs / 1024) * 1000000 / us),
               (unsigned long)errors, (unsigned long)kicks);
    }
    report(errors == 0 && n > 0, "bench %s completed", op);
}

int main(void)
{
    static const uint8_t tur[6] = { 0 };
    uint8_t cdb[10], b[64];
    char op[16];
    unsigned st;
    bool ok;

    report_prefix("virtio-scsi");
    packed = cmdline_get_int("packed", 0);
    if (!find_device()) {
        report(false, "no 1af4:1004 function");
        report_summary();
    }
    report(map_device(), "modern capabilities found");
    if (cmdline_get("bench", op, sizeof(op))) {
        packed = false;
        report(init_device((uintptr_t)bdesc, (uintptr_t)bavail,
                           (uintptr_t)bused, BQSIZE),
               "FEATURES_OK and DRIVER_OK (128-entry split ring)");
        run_bench(op, cmdline_get_int("bs", 4096), cmdline_get_int("qd", 32),
                  cmdline_get_int("secs", 5));
        report_summary();
    }
    report(init_device((uintptr_t)&ring, (uintptr_t)avail, (uintptr_t)used,
                       QSIZE), "FEATURES_OK and DRIVER_OK (%s ring)",
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

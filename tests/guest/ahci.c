/*
 * ahci: an AHCI driver at CPL 3 (polled), against images whose content
 * the host knows.
 *
 *   tests/guest/run-ahci-test.py makes the images (disk.raw: 1 MiB and
 *   cd.iso: 256 KiB of the test stream) and attaches them with
 *   -device ahci,id=ahci0 -device ide-hd,bus=ahci0.0 / ide-cd,bus=ahci0.1.
 *   Then, here:
 *   - PCI: the HBA found by scanning bus 0 for class 01.06.01 (8086:2922);
 *     BAR5 (ABAR) programmed when no firmware did, memory decoding and
 *     bus mastering on;
 *   - HBA: AHCI enabled, CAP (NCQ, 64-bit), ports implemented; the disk
 *     and the CD-ROM found by PxSSTS and PxSIG;
 *   - port set-up: stop, command list and FIS area, FRE, ST;
 *   - IDENTIFY DEVICE: model, capacity, NCQ and its queue depth;
 *   - READ DMA EXT of sectors 0-15 through two PRDs against the stream;
 *   - NCQ: WRITE FPDMA QUEUED of 1000-1015 in four tags issued together,
 *     then READ FPDMA QUEUED of the same in four tags, data checked;
 *   - ATAPI: READ(10) of blocks 10-13 through ACMD and the PRD table.
 *   The runner then checks sectors 1000-1015 of disk.raw on the host.
 *
 *   With "bench_mib=N" on the command line it instead reads N MiB in
 *   64 KiB READ DMA EXT commands (sequential, wrapping at the end of the
 *   disk), one at a time, and prints "BENCH: ahci-read bytes=B us=T"
 *   (bench/ahci-read.py); with "bench_qd=N" too (1 to 32), in READ FPDMA
 *   QUEUED commands of 64 KiB, N tags outstanding at once.
 */
#include "guest.h"

#define PCI_ADDR        0xcf8
#define PCI_DATA        0xcfc
#define ABAR_DEFAULT    0xfebf0000u

/* AHCI 1.3.1 registers (names as in the spec) */
#define CAP             0x00
#define GHC             0x04
#define PI              0x0c
#define PxCLB           0x00
#define PxCLBU          0x04
#define PxFB            0x08
#define PxFBU           0x0c
#define PxIS            0x10
#define PxIE            0x14
#define PxCMD           0x18
#define PxTFD           0x20
#define PxSIG           0x24
#define PxSSTS          0x28
#define PxSERR          0x30
#define PxSACT          0x34
#define PxCI            0x38

#define GHC_AE          (1u << 31)
#define CMD_ST          (1u << 0)
#define CMD_FRE         (1u << 4)
#define CMD_FR          (1u << 14)
#define CMD_CR          (1u << 15)
#define IS_TFES         (1u << 30)
#define IS_HBFS         (1u << 29)
#define IS_SDBS         (1u << 3)

#define DISK_SECTORS    2048
#define NCQ_LBA         1000
#define NCQ_TAGS        4
#define BENCH_TAGS      32              /* the bench's deepest queue */

struct port_mem {
    uint8_t clb[1024];                  /* 32 command headers */
    uint8_t fis[256];
    uint8_t ct[BENCH_TAGS][256];        /* CFIS, ACMD, 8 PRDs each */
} __attribute__((aligned(1024)));

static struct port_mem disk_mem, cd_mem;
static uint8_t dmabuf[BENCH_TAGS][64 * 1024] __attribute__((aligned(4096)));
static uint8_t buf[16 * 512];

static unsigned ahci_devfn;
static uintptr_t abar;
static int disk_port = -1, cd_port = -1;

static uint32_t pci_read32(unsigned devfn, unsigned off)
{
    outl(PCI_ADDR, 0x80000000u | devfn << 8 | off);
    return inl(PCI_DATA);
}

static void pci_write32(unsigned devfn, unsigned off, uint32_t v)
{
    outl(PCI_ADDR, 0x80000000u | devfn << 8 | off);
    outl(PCI_DATA, v);
}

static uint32_t hba_read(unsigned reg)
{
    return mmio_read32(abar + reg);
}

static void hba_write(unsigned reg, uint32_t v)
{
    mmio_write32(abar + reg, v);
}

static uint32_t port_read(int port, unsigned reg)
{
    return hba_read(0x100 + port * 0x80 + reg);
}

static void port_write(int port, unsigned reg, uint32_t v)
{
    hba_write(0x100 + port * 0x80 + reg, v);
}

static bool stream_at(const uint8_t *p, size_t off, size_t len)
{
    struct testdata t;

    testdata_init(&t);
    for (size_t i = 0; i < off; i++) {
        testdata_next(&t);
    }
    for (size_t i = 0; i < len; i++) {
        if (p[i] != testdata_next(&t)) {
            report_info("stream mismatch at byte %zu", off + i);
            return false;
        }
    }
    return true;
}

/* The byte the host (run-ahci-test.py) expects in written sector @lba. */
static uint8_t pattern(uint32_t lba, uint32_t i)
{
    return (uint8_t)((lba * 17 + i) ^ 0xa5);
}

/* ---- command building ------------------------------------------------ */

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

/* Command header @slot: CFL 5, flags, PRDTL, table @ct. */
static void set_header(struct port_mem *m, int slot, uint32_t flags,
                       unsigned prdtl, uint8_t *ct)
{
    uint8_t *h = m->clb + 32 * slot;

    memset(h, 0, 32);
    put32(h, 5 | flags | prdtl << 16);
    put64(h + 8, (uintptr_t)ct);
}

static void set_fis(uint8_t *ct, uint8_t cmd, uint64_t lba, uint16_t count,
                    uint8_t features, uint16_t features_exp, uint8_t dev)
{
    memset(ct, 0, 0x80);
    ct[0] = 0x27;
    ct[1] = 0x80;
    ct[2] = cmd;
    ct[3] = features;
    ct[4] = lba;
    ct[5] = lba >> 8;
    ct[6] = lba >> 16;
    ct[7] = dev;
    ct[8] = lba >> 24;
    ct[9] = lba >> 32;
    ct[10] = lba >> 40;
    ct[11] = features_exp;
    ct[12] = count;
    ct[13] = count >> 8;
}

static void set_prd(uint8_t *ct, int i, void *addr, uint32_t len)
{
    uint8_t *e = ct + 0x80 + 16 * i;

    put64(e, (uintptr_t)addr);
    put32(e + 8, 0);
    put32(e + 12, len - 1);
}

/* Wait until the bits in @mask of PxCI (and of PxSACT) clear, or an
 * error. */
static bool wait_done(int port, uint32_t mask)
{
    uint64_t end = deadline_us(5000000);

    while (!expired(end)) {
        uint32_t is = port_read(port, PxIS);
        if (is & (IS_TFES | IS_HBFS)) {
            report_info("port %d: PxIS %#x PxTFD %#x", port, is,
                        port_read(port, PxTFD));
            return false;
        }
        if (!(port_read(port, PxCI) & mask) &&
            !(port_read(port, PxSACT) & mask)) {
            return true;
        }
    }
    report_info("port %d: timeout, PxCI %#x", port, port_read(port, PxCI));
    return false;
}

static bool run_slot(int port, int slot)
{
    port_write(port, PxIS, 0xffffffff);
    port_write(port, PxCI, 1u << slot);
    return wait_done(port, 1u << slot);
}

/* ---- discovery and set-up ----------------------------------------------- */

static bool find_hba(void)
{
    for (unsigned devfn = 0; devfn < 256; devfn++) {
        uint32_t id = pci_read32(devfn, 0);
        if (id == 0xffffffff) {
            continue;
        }
        if (pci_read32(devfn, 8) >> 8 == 0x010601) {
            ahci_devfn = devfn;
            report(id == 0x29228086, "AHCI at %02x.%x is 8086:2922 (%08x)",
                   devfn >> 3, devfn & 7, id);
            return true;
        }
    }
    return false;
}

static void setup_pci(void)
{
    uint32_t bar = pci_read32(ahci_devfn, 0x24) & ~0xfu;

    if (!bar) {                         /* no firmware ran (direct boot) */
        pci_write32(ahci_devfn, 0x24, ABAR_DEFAULT);
        bar = pci_read32(ahci_devfn, 0x24) & ~0xfu;
    }
    abar = bar;
    pci_write32(ahci_devfn, 0x04, pci_read32(ahci_devfn, 0x04) | 0x06);
    report(abar != 0, "ABAR at %#lx", (unsigned long)abar);
}

static bool port_stop(int port)
{
    uint64_t end = deadline_us(1000000);

    port_write(port, PxCMD, port_read(port, PxCMD) & ~(CMD_ST | CMD_FRE));
    while (port_read(port, PxCMD) & (CMD_CR | CMD_FR)) {
        if (expired(end)) {
            return false;
        }
    }
    return true;
}

static bool port_setup(int port, struct port_mem *m)
{
    if (!port_stop(port)) {
        return false;
    }
    memset(m, 0, sizeof(*m));
    port_write(port, PxCLB, (uintptr_t)m->clb);
    port_write(port, PxCLBU, (uint64_t)(uintptr_t)m->clb >> 32);
    port_write(port, PxFB, (uintptr_t)m->fis);
    port_write(port, PxFBU, (uint64_t)(uintptr_t)m->fis >> 32);
    port_write(port, PxSERR, 0xffffffff);
    port_write(port, PxIS, 0xffffffff);
    port_write(port, PxIE, 0);          /* polled */
    port_write(port, PxCMD, port_read(port, PxCMD) | CMD_FRE);
    port_write(port, PxCMD, port_read(port, PxCMD) | CMD_ST);
    return (port_read(port, PxCMD) & (CMD_CR | CMD_FR)) == (CMD_CR | CMD_FR);
}

/* The HBA and its ports; @want_cd: a CD-ROM must be there too. */
static void test_hba(bool want_cd)
{
    uint32_t cap, pi;

    hba_write(GHC, GHC_AE);
    cap = hba_read(CAP);
    pi = hba_read(PI);
    report(hba_read(GHC) & GHC_AE, "AHCI enabled");
    report((cap & (1u << 30)) && (cap & (1u << 31)), "CAP: NCQ, 64-bit "
           "(%#x), %u slots", cap, ((cap >> 8) & 0x1f) + 1);
    for (int p = 0; p < 32; p++) {
        if (!(pi & (1u << p)) || (port_read(p, PxSSTS) & 0xf) != 3) {
            continue;
        }
        if (port_read(p, PxSIG) == 0x00000101 && disk_port < 0) {
            disk_port = p;
        } else if (port_read(p, PxSIG) == 0xeb140101 && cd_port < 0) {
            cd_port = p;
        }
    }
    report(disk_port >= 0, "disk on port %d", disk_port);
    if (want_cd) {
        report(cd_port >= 0, "CD-ROM on port %d", cd_port);
    }
}

/* ---- the disk ------------------------------------------------------------ */

static void test_identify(void)
{
    uint16_t w[256];
    char model[41];
    uint8_t *ct = disk_mem.ct[0];

    set_header(&disk_mem, 0, 0, 1, ct);
    set_fis(ct, 0xec, 0, 0, 0, 0, 0xa0);
    set_prd(ct, 0, buf, 512);
    report(run_slot(disk_port, 0), "IDENTIFY DEVICE");
    memcpy(w, buf, 512);
    for (int i = 0; i < 20; i++) {
        model[2 * i] = w[27 + i] >> 8;
        model[2 * i + 1] = w[27 + i];
    }
    model[40] = 0;
    report(!strncmp(model, "QEMU HARDDISK", 13), "model '%.13s'", model);
    report((w[100] | (uint32_t)w[101] << 16) == DISK_SECTORS,
           "capacity %u sectors", DISK_SECTORS);
    report((w[76] & (1 << 8)) && (w[75] & 0x1f) == 31,
           "NCQ, queue depth %u", (w[75] & 0x1f) + 1);
}

static void test_dma(void)
{
    uint8_t *ct = disk_mem.ct[0];

    memset(dmabuf[0], 0, 16 * 512);
    set_header(&disk_mem, 0, 0, 2, ct);
    set_fis(ct, 0x25, 0, 16, 0, 0, 0x40);
    set_prd(ct, 0, dmabuf[0], 6 * 512);
    set_prd(ct, 1, dmabuf[1], 10 * 512);
    report(run_slot(disk_port, 0) && stream_at(dmabuf[0], 0, 6 * 512) &&
           stream_at(dmabuf[1], 6 * 512, 10 * 512),
           "READ DMA EXT 0-15 through two PRDs = image");
}

/* Issue NCQ commands in tags 0..NCQ_TAGS-1 together, 4 sectors each. */
static bool ncq_all(bool write)
{
    uint32_t mask = (1u << NCQ_TAGS) - 1;

    for (int tag = 0; tag < NCQ_TAGS; tag++) {
        uint8_t *ct = disk_mem.ct[tag];
        set_header(&disk_mem, tag, write ? 1u << 6 : 0, 1, ct);
        set_fis(ct, write ? 0x61 : 0x60, NCQ_LBA + 4 * tag, tag << 3, 4, 0,
                0x40);
        set_prd(ct, 0, dmabuf[tag], 4 * 512);
    }
    port_write(disk_port, PxIS, 0xffffffff);
    port_write(disk_port, PxSACT, mask);
    port_write(disk_port, PxCI, mask);
    return wait_done(disk_port, mask) &&
           (port_read(disk_port, PxIS) & IS_SDBS);
}

static void test_ncq(void)
{
    bool same = true;

    for (int tag = 0; tag < NCQ_TAGS; tag++) {
        for (uint32_t i = 0; i < 4 * 512; i++) {
            dmabuf[tag][i] = pattern(NCQ_LBA + 4 * tag + i / 512, i % 512);
        }
    }
    report(ncq_all(true), "WRITE FPDMA QUEUED %u-%u in %d tags", NCQ_LBA,
           NCQ_LBA + 4 * NCQ_TAGS - 1, NCQ_TAGS);
    for (int tag = 0; tag < NCQ_TAGS; tag++) {
        memset(dmabuf[tag], 0, 4 * 512);
    }
    report(ncq_all(false), "READ FPDMA QUEUED of the same in %d tags",
           NCQ_TAGS);
    for (int tag = 0; tag < NCQ_TAGS; tag++) {
        for (uint32_t i = 0; i < 4 * 512; i++) {
            same &= dmabuf[tag][i] ==
                    pattern(NCQ_LBA + 4 * tag + i / 512, i % 512);
        }
    }
    report(same, "queued reads return the queued writes");
}

/* ---- the CD-ROM ---------------------------------------------------------- */

static void test_atapi(void)
{
    uint8_t *ct = cd_mem.ct[0];
    const uint8_t read10[12] = { 0x28, 0, 0, 0, 0, 10, 0, 0, 4 };

    memset(dmabuf[0], 0, 4 * 2048);
    set_header(&cd_mem, 0, 1u << 5, 1, ct);     /* A: ATAPI */
    set_fis(ct, 0xa0, 0, 0, 1, 0, 0xa0);        /* PACKET, DMA */
    memcpy(ct + 0x40, read10, sizeof(read10));
    set_prd(ct, 0, dmabuf[0], 4 * 2048);
    report(run_slot(cd_port, 0) && stream_at(dmabuf[0], 10 * 2048, 4 * 2048),
           "ATAPI READ(10) blocks 10-13 = image");
}

/* ---- benchmark ----------------------------------------------------------- */

static void bench(long mib)
{
    uint8_t *ct = disk_mem.ct[0];
    uint64_t bytes = (uint64_t)mib << 20, done = 0, lba = 0, t0, us;
    uint16_t w[256];
    uint64_t sectors;
    bool ok = true;

    set_header(&disk_mem, 0, 0, 1, ct);
    set_fis(ct, 0xec, 0, 0, 0, 0, 0xa0);
    set_prd(ct, 0, buf, 512);
    if (!run_slot(disk_port, 0)) {
        report(false, "IDENTIFY for the benchmark");
        return;
    }
    memcpy(w, buf, 512);
    sectors = w[100] | (uint64_t)w[101] << 16 | (uint64_t)w[102] << 32;
    set_prd(ct, 0, dmabuf[0], 64 * 1024);
    t0 = rdtsc();
    while (done < bytes && ok) {
        if (lba + 128 > sectors) {
            lba = 0;
        }
        set_fis(ct, 0x25, lba, 128, 0, 0, 0x40);
        port_write(disk_port, PxCI, 1);
        while (port_read(disk_port, PxCI) & 1) {
            if (port_read(disk_port, PxIS) & (IS_TFES | IS_HBFS)) {
                ok = false;
                break;
            }
        }
        lba += 128;
        done += 64 * 1024;
    }
    us = tsc_to_us(rdtsc() - t0);
    report(ok, "read %ld MiB in 64 KiB commands", mib);
    printf("BENCH: ahci-read bytes=%lu us=%lu\n", (unsigned long)done,
           (unsigned long)us);
}

/* Queue tag @tag: READ FPDMA QUEUED of 128 sectors at @lba. */
static void bench_ncq_issue(int tag, uint64_t lba)
{
    uint8_t *ct = disk_mem.ct[tag];

    set_fis(ct, 0x60, lba, tag << 3, 128, 0, 0x40);
    port_write(disk_port, PxSACT, 1u << tag);
    port_write(disk_port, PxCI, 1u << tag);
}

/*
 * The same reads as bench(), @qd tags of 64 KiB outstanding at once: a
 * tag that finished (its PxSACT bit went) is queued again at the next
 * LBA until @mib MiB were asked for, then the rest drain.
 */
static void bench_ncq(long mib, int qd)
{
    uint64_t want = (uint64_t)mib << 20, asked = 0, done = 0, lba = 0;
    uint64_t sectors = DISK_SECTORS, t0, us;
    uint32_t out = 0;
    uint16_t w[256];
    bool ok = true;
    uint8_t *ct = disk_mem.ct[0];

    set_header(&disk_mem, 0, 0, 1, ct);
    set_fis(ct, 0xec, 0, 0, 0, 0, 0xa0);
    set_prd(ct, 0, buf, 512);
    if (!run_slot(disk_port, 0)) {
        report(false, "IDENTIFY for the benchmark");
        return;
    }
    memcpy(w, buf, 512);
    sectors = w[100] | (uint64_t)w[101] << 16 | (uint64_t)w[102] << 32;
    for (int tag = 0; tag < qd; tag++) {
        set_header(&disk_mem, tag, 0, 1, disk_mem.ct[tag]);
        set_fis(disk_mem.ct[tag], 0x60, 0, tag << 3, 128, 0, 0x40);
        set_prd(disk_mem.ct[tag], 0, dmabuf[tag], 64 * 1024);
    }
    port_write(disk_port, PxIS, 0xffffffff);
    t0 = rdtsc();
    while (ok && (asked < want || out)) {
        uint32_t sact = port_read(disk_port, PxSACT);
        uint32_t finished = out & ~sact;

        if (port_read(disk_port, PxIS) & (IS_TFES | IS_HBFS)) {
            ok = false;
            break;
        }
        for (; finished; finished &= finished - 1) {
            done += 64 * 1024;
        }
        out &= sact;
        for (int tag = 0; tag < qd && asked < want; tag++) {
            if (out & (1u << tag)) {
                continue;
            }
            if (lba + 128 > sectors) {
                lba = 0;
            }
            bench_ncq_issue(tag, lba);
            out |= 1u << tag;
            lba += 128;
            asked += 64 * 1024;
        }
    }
    us = tsc_to_us(rdtsc() - t0);
    report(ok, "read %ld MiB in 64 KiB queued commands, %d tags", mib, qd);
    printf("BENCH: ahci-read bytes=%lu us=%lu\n", (unsigned long)done,
           (unsigned long)us);
}

int main(void)
{
    long mib = cmdline_get_int("bench_mib", 0);
    long qd = cmdline_get_int("bench_qd", 0);

    report_prefix("ahci");
    if (!find_hba()) {
        report(false, "an AHCI controller on bus 0");
        report_summary();
    }
    setup_pci();
    test_hba(mib <= 0);                 /* the bench reads the disk only */
    if (disk_port < 0) {
        report_summary();
    }
    report(port_setup(disk_port, &disk_mem), "disk port started");
    if (mib > 0) {
        if (qd > 0 && qd <= BENCH_TAGS) {
            bench_ncq(mib, qd);
        } else {
            bench(mib);
        }
        report_summary();
    }
    test_identify();
    test_dma();
    test_ncq();
    if (cd_port >= 0) {
        report(port_setup(cd_port, &cd_mem), "CD-ROM port started");
        test_atapi();
    }
    report_summary();
}

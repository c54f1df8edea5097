/*
 * ICH9 AHCI (hw/ide/ahci.c): the PCI function, the HBA and port registers,
 * commands through command lists, command tables and PRD tables in guest
 * memory, NCQ, ATAPI, interrupts (INTx and MSI) and every error path the
 * guest can take, checked against the image files.
 *
 * Guest memory layout used by the tests (RAM is 128 MiB):
 *   CLB(port)  0x10000 + port * 0x400   command lists (1 KiB each)
 *   FB(port)   0x14000 + port * 0x100   received FIS areas
 *   CT(slot)   0x20000 + slot * 0x1000  command tables
 *   DATA       0x100000                 data buffers
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include "libqtest.h"
#include "libqvirtio.h"       /* the QMP connection helpers */

#define AHCI_DEVFN      0x20            /* 04.0 */
#define ABAR            0xe0000000u
#define IDP_BASE        0xc100
#define RAM_SIZE        (128u << 20)

#define CLB(p)          (0x10000u + (p) * 0x400u)
#define FB(p)           (0x14000u + (p) * 0x100u)
#define CT(slot)        (0x20000u + (slot) * 0x1000u)
#define DATA            0x100000u
#define MSI_ADDR        0x9000u

/* generic host control */
#define CAP     0x00
#define GHC     0x04
#define IS      0x08
#define PI      0x0c
#define VS      0x10
#define CAP2    0x24
#define BOHC    0x28
/* port registers */
#define PxCLB   0x00
#define PxCLBU  0x04
#define PxFB    0x08
#define PxIS    0x10
#define PxIE    0x14
#define PxCMD   0x18
#define PxTFD   0x20
#define PxSIG   0x24
#define PxSSTS  0x28
#define PxSCTL  0x2c
#define PxSERR  0x30
#define PxSACT  0x34
#define PxCI    0x38

#define GHC_HR  (1u << 0)
#define GHC_IE  (1u << 1)
#define GHC_AE  (1u << 31)

#define IS_DHRS (1u << 0)
#define IS_PSS  (1u << 1)
#define IS_SDBS (1u << 3)
#define IS_DPS  (1u << 5)
#define IS_OFS  (1u << 24)
#define IS_IFS  (1u << 27)
#define IS_HBFS (1u << 29)
#define IS_TFES (1u << 30)

#define CMD_ST  (1u << 0)
#define CMD_SUD (1u << 1)
#define CMD_POD (1u << 2)
#define CMD_CLO (1u << 3)
#define CMD_FRE (1u << 4)
#define CMD_FR  (1u << 14)
#define CMD_CR  (1u << 15)

#define HDR_A   (1u << 5)
#define HDR_W   (1u << 6)
#define HDR_R   (1u << 8)
#define HDR_C   (1u << 10)

#define ST_DRDY 0x40
#define ST_DSC  0x10
#define ST_DRQ  0x08
#define ST_ERR  0x01
#define ERR_ABRT 0x04
#define ERR_IDNF 0x10

#define DISK_SECTORS    2048            /* 1 MiB */
#define CD_BLOCKS       64              /* 128 KiB */

typedef struct Fixture {
    char *dir;
    char *disk;
    char *iso;
} Fixture;

typedef struct PRD {
    uint64_t addr;
    uint32_t len;
    bool irq;
} PRD;

static void fill_pattern(uint8_t *buf, size_t len, uint32_t salt)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)(i / 512 * 7 + i * 13 + salt);
    }
}

static char *make_raw(const char *dir, const char *name, size_t size,
                      uint32_t salt)
{
    char *path = g_build_filename(dir, name, NULL);
    g_autofree uint8_t *buf = g_malloc(size);

    fill_pattern(buf, size, salt);
    g_assert_true(g_file_set_contents(path, (char *)buf, size, NULL));
    return path;
}

static void fixture_init(Fixture *f)
{
    f->dir = g_dir_make_tmp("ahci-test-XXXXXX", NULL);
    g_assert_nonnull(f->dir);
    f->disk = make_raw(f->dir, "disk.raw", DISK_SECTORS * 512, 1);
    f->iso = make_raw(f->dir, "cd.iso", CD_BLOCKS * 2048, 3);
}

static void fixture_free(Fixture *f)
{
    g_unlink(f->disk);
    g_unlink(f->iso);
    g_rmdir(f->dir);
    g_free(f->disk);
    g_free(f->iso);
    g_free(f->dir);
}

/* ---- PCI and registers ------------------------------------------------ */

static uint32_t cfg_readl(QTestState *s, int reg)
{
    qtest_outl(s, 0xcf8, 0x80000000u | AHCI_DEVFN << 8 | reg);
    return qtest_inl(s, 0xcfc);
}

static void cfg_writel(QTestState *s, int reg, uint32_t v)
{
    qtest_outl(s, 0xcf8, 0x80000000u | AHCI_DEVFN << 8 | reg);
    qtest_outl(s, 0xcfc, v);
}

static void cfg_writew(QTestState *s, int reg, uint16_t v)
{
    qtest_outl(s, 0xcf8, 0x80000000u | AHCI_DEVFN << 8 | (reg & ~3));
    qtest_outw(s, 0xcfc + (reg & 2), v);
}

static uint32_t rd(QTestState *s, uint32_t off)
{
    return qtest_readl(s, ABAR + off);
}

static void wr(QTestState *s, uint32_t off, uint32_t v)
{
    qtest_writel(s, ABAR + off, v);
}

static uint32_t prd_(QTestState *s, int port, uint32_t reg)
{
    return rd(s, 0x100 + port * 0x80 + reg);
}

/* Whether the commands in @slots are done (their PxCI and PxSACT bits
 * clear), or cannot go on. */
static bool port_settled(QTestState *s, int port, uint32_t slots)
{
    uint32_t errors = IS_TFES | IS_HBFS | IS_IFS | IS_OFS;

    return !((prd_(s, port, PxCI) | prd_(s, port, PxSACT)) & slots) ||
           (prd_(s, port, PxIS) & errors) ||
           !(prd_(s, port, PxCMD) & CMD_ST) ||
           prd_(s, port, PxTFD) == 0x7f;
}

/*
 * Commands complete asynchronously (the drive's sector I/O does, as in
 * QEMU): after issuing, wait until the port has done what it can, which
 * is what the tests look at next.  Each poll is a round trip through the
 * main loop, which runs the completions.  A port stopped by an error, not
 * started, or without a drive (PxTFD 7Fh) has nothing to wait for.
 */
static void port_wait(QTestState *s, int port, uint32_t slots)
{
    gint64 end = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;

    while (!port_settled(s, port, slots) && g_get_monotonic_time() < end) {
    }
}

static void pwr(QTestState *s, int port, uint32_t reg, uint32_t v)
{
    wr(s, 0x100 + port * 0x80 + reg, v);
    if (reg == PxCI) {
        port_wait(s, port, v);
    } else if (reg == PxCMD && (v & CMD_ST)) {
        port_wait(s, port, prd_(s, port, PxCI));
    }
}

#define DEVICES "-device ahci,id=ahci0,addr=04.0 "

/* kvmpc with an AHCI at 04.0: disk on port 0, CD-ROM on port 1 (when
 * @f), ABAR and BAR4 mapped, memory decoding and bus mastering on. */
static QTestState *start_args(const char *extra)
{
    QTestState *s = qtest_initf("-m 128M %s", extra);

    qtest_irq_intercept_in(s, "ioapic");
    cfg_writel(s, 0x24, ABAR);
    cfg_writel(s, 0x20, IDP_BASE);
    cfg_writew(s, 0x04, 0x07);
    return s;
}

static QTestState *start(Fixture *f)
{
    g_autofree char *args = g_strdup_printf(
        "-drive if=none,id=d0,format=raw,file=%s "
        "-drive if=none,id=c0,format=raw,media=cdrom,file=%s "
        DEVICES "-device ide-hd,drive=d0,bus=ahci0.0 "
        "-device ide-cd,drive=c0,bus=ahci0.1", f->disk, f->iso);

    return start_args(args);
}

/* Command list and FIS area, FIS receive and the list running. */
static void port_start(QTestState *s, int port)
{
    pwr(s, port, PxCLB, CLB(port));
    pwr(s, port, PxCLBU, 0);
    pwr(s, port, PxFB, FB(port));
    pwr(s, port, PxCMD, CMD_FRE);
    pwr(s, port, PxCMD, CMD_FRE | CMD_ST);
    pwr(s, port, PxSERR, 0xffffffff);
    pwr(s, port, PxIS, 0xffffffff);
}

/* ---- commands ---------------------------------------------------------- */

typedef struct Cmd {
    uint8_t command, features, device;
    uint64_t lba;
    uint16_t count;
    uint16_t features_exp;
    uint32_t hdr_flags;             /* HDR_W, HDR_A, ... */
    const uint8_t *acmd;            /* 12 bytes, ATAPI */
    const PRD *prd;
    unsigned nprd;
    int cfl;                        /* 0: 5 dwords */
    uint8_t fis_type;               /* 0: Register H2D */
    bool control;                   /* C bit clear: device control */
    uint8_t devctl;
    uint32_t prdtl_override;        /* non-zero: PRDTL written as is */
    uint64_t ctba;                  /* 0: CT(slot) */
} Cmd;

static void put_cmd(QTestState *s, int port, int slot, const Cmd *c)
{
    uint64_t ct = c->ctba ? c->ctba : CT(slot);
    uint8_t fis[64] = { 0 };
    uint32_t prdtl = c->prdtl_override ? c->prdtl_override : c->nprd;
    uint32_t dw0 = (c->cfl ? c->cfl : 5) | c->hdr_flags | prdtl << 16;

    fis[0] = c->fis_type ? c->fis_type : 0x27;
    fis[1] = c->control ? 0 : 0x80;
    fis[2] = c->command;
    fis[3] = c->features;
    fis[4] = c->lba;
    fis[5] = c->lba >> 8;
    fis[6] = c->lba >> 16;
    fis[7] = c->device ? c->device : 0x40;
    fis[8] = c->lba >> 24;
    fis[9] = c->lba >> 32;
    fis[10] = c->lba >> 40;
    fis[11] = c->features_exp;
    fis[12] = c->count;
    fis[13] = c->count >> 8;
    fis[15] = c->devctl;
    qtest_memwrite(s, ct, fis, 64);
    if (c->acmd) {
        qtest_memwrite(s, ct + 0x40, c->acmd, 12);
    }
    for (unsigned i = 0; i < c->nprd; i++) {
        uint8_t e[16] = { 0 };
        uint32_t dw3 = (c->prd[i].len - 1) | (c->prd[i].irq ? 1u << 31 : 0);
        for (int b = 0; b < 8; b++) {
            e[b] = c->prd[i].addr >> (8 * b);
        }
        for (int b = 0; b < 4; b++) {
            e[12 + b] = dw3 >> (8 * b);
        }
        qtest_memwrite(s, ct + 0x80 + 16 * i, e, 16);
    }
    qtest_writel(s, CLB(port) + 32 * slot, dw0);
    qtest_writel(s, CLB(port) + 32 * slot + 4, 0xdeadbeef);   /* PRDBC */
    qtest_writel(s, CLB(port) + 32 * slot + 8, (uint32_t)ct);
    qtest_writel(s, CLB(port) + 32 * slot + 12, ct >> 32);
}

/* Issue @c in @slot; returns PxIS (and leaves it set). */
static uint32_t issue(QTestState *s, int port, int slot, const Cmd *c)
{
    put_cmd(s, port, slot, c);
    pwr(s, port, PxCI, 1u << slot);
    return prd_(s, port, PxIS);
}

static uint32_t prdbc(QTestState *s, int port, int slot)
{
    return qtest_readl(s, CLB(port) + 32 * slot + 4);
}

/* A good command ends with CI clear, TFD ready, no error bits. */
static void assert_ok(QTestState *s, int port, int slot)
{
    g_assert_cmphex(prd_(s, port, PxCI) & (1u << slot), ==, 0);
    g_assert_cmphex(prd_(s, port, PxTFD) & (ST_ERR | ST_DRQ | 0x80), ==, 0);
    g_assert_cmphex(prd_(s, port, PxIS) &
                    (IS_TFES | IS_HBFS | IS_IFS | IS_OFS), ==, 0);
}

static void clear_is(QTestState *s, int port)
{
    pwr(s, port, PxIS, 0xffffffff);
}

/* Stop and start the list: how software leaves an error state.  CR goes
 * once the tags an error aborted are back from the disk (AHCI 1.3.1
 * 10.1.2: software waits for it). */
static void port_restart(QTestState *s, int port)
{
    gint64 end = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;

    pwr(s, port, PxCMD, CMD_FRE);
    while ((prd_(s, port, PxCMD) & CMD_CR) && g_get_monotonic_time() < end) {
    }
    g_assert_cmphex(prd_(s, port, PxCMD) & CMD_CR, ==, 0);
    g_assert_cmphex(prd_(s, port, PxCI), ==, 0);
    g_assert_cmphex(prd_(s, port, PxSACT), ==, 0);
    pwr(s, port, PxSERR, 0xffffffff);
    clear_is(s, port);
    pwr(s, port, PxCMD, CMD_FRE | CMD_ST);
}

static void identify(QTestState *s, int port, uint8_t cmd, uint16_t *w)
{
    PRD prd = { DATA, 512 };
    Cmd c = { .command = cmd, .device = 0xa0, .prd = &prd, .nprd = 1 };
    uint8_t buf[512];

    clear_is(s, port);
    issue(s, port, 0, &c);
    assert_ok(s, port, 0);
    g_assert_cmpuint(prdbc(s, port, 0), ==, 512);
    qtest_memread(s, DATA, buf, 512);
    for (int i = 0; i < 256; i++) {
        w[i] = buf[2 * i] | buf[2 * i + 1] << 8;
    }
}

static char *ata_string(const uint16_t *w, int words)
{
    char *out = g_malloc0(words * 2 + 1);

    for (int i = 0; i < words; i++) {
        out[2 * i] = w[i] >> 8;
        out[2 * i + 1] = w[i];
    }
    return g_strchomp(out);
}

/* ---- the PCI function ------------------------------------------------- */

static uint8_t cfg_find_cap(QTestState *s, uint8_t id)
{
    uint8_t pos = cfg_readl(s, 0x34) & 0xff;

    for (int n = 0; pos && n < 48; n++) {
        uint32_t v = cfg_readl(s, pos);
        if ((v & 0xff) == id) {
            return pos;
        }
        pos = (v >> 8) & 0xff;
    }
    return 0;
}

static void test_pci_function(void)
{
    QTestState *s = qtest_init("-device ich9-ahci,addr=04.0");

    g_assert_cmphex(cfg_readl(s, 0x00), ==, 0x29228086);
    g_assert_cmphex(cfg_readl(s, 0x08), ==, 0x01060102);
    g_assert_cmphex((cfg_readl(s, 0x3c) >> 8) & 0xff, ==, 1);  /* INTA */
    cfg_writel(s, 0x24, 0xffffffff);
    g_assert_cmphex(cfg_readl(s, 0x24), ==, 0xfffff000);        /* 4 KiB */
    cfg_writel(s, 0x20, 0xffffffff);
    g_assert_cmphex(cfg_readl(s, 0x20), ==, 0xffffffe1);        /* 32 I/O */
    g_assert_cmpuint(cfg_find_cap(s, 0x05), ==, 0x80);          /* MSI */
    g_assert_cmpuint(cfg_find_cap(s, 0x12), ==, 0xa8);          /* SATA */
    g_assert_cmphex(cfg_readl(s, 0xac), ==, 0x48);  /* BAR4, offset 10h */
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* ---- registers after reset, HBA reset ---------------------------------- */

static void test_registers(void)
{
    Fixture f;
    QTestState *s;

    fixture_init(&f);
    s = start(&f);
    g_assert_cmphex(rd(s, CAP), ==, 0xe1141f05);
    g_assert_cmphex(rd(s, GHC), ==, GHC_AE);
    g_assert_cmphex(rd(s, IS), ==, 0);
    g_assert_cmphex(rd(s, PI), ==, 0x3f);
    g_assert_cmphex(rd(s, VS), ==, 0x00010301);
    g_assert_cmphex(rd(s, CAP2), ==, 1);
    g_assert_cmphex(rd(s, BOHC), ==, 0);
    g_assert_cmphex(rd(s, 0x14), ==, 0);            /* CCC_CTL */
    /* byte reads see the dword's bytes */
    g_assert_cmphex(qtest_readb(s, ABAR + CAP + 1), ==, 0x1f);
    /* the disk, the CD-ROM and an empty port */
    g_assert_cmphex(prd_(s, 0, PxSIG), ==, 0x00000101);
    g_assert_cmphex(prd_(s, 0, PxTFD), ==, 0x150);
    g_assert_cmphex(prd_(s, 0, PxSSTS), ==, 0x113);
    g_assert_cmphex(prd_(s, 0, PxCMD), ==, CMD_SUD | CMD_POD);
    g_assert_cmphex(prd_(s, 1, PxSIG), ==, 0xeb140101);
    g_assert_cmphex(prd_(s, 1, PxSSTS), ==, 0x113);
    g_assert_cmphex(prd_(s, 2, PxSIG), ==, 0xffffffff);
    g_assert_cmphex(prd_(s, 2, PxTFD), ==, 0x7f);
    g_assert_cmphex(prd_(s, 2, PxSSTS), ==, 0);
    for (int p = 0; p < 6; p++) {
        g_assert_cmphex(prd_(s, p, PxIS), ==, 0);
        g_assert_cmphex(prd_(s, p, PxCI), ==, 0);
    }
    /* read-only registers stay */
    wr(s, CAP, 0);
    wr(s, PI, 0);
    pwr(s, 0, PxSIG, 0);
    pwr(s, 0, PxTFD, 0);
    g_assert_cmphex(rd(s, CAP), ==, 0xe1141f05);
    g_assert_cmphex(rd(s, PI), ==, 0x3f);
    g_assert_cmphex(prd_(s, 0, PxSIG), ==, 0x101);
    /* alignment of the pointers */
    pwr(s, 0, PxCLB, 0x12345fff);
    pwr(s, 0, PxFB, 0x12345fff);
    g_assert_cmphex(prd_(s, 0, PxCLB), ==, 0x12345c00);
    g_assert_cmphex(prd_(s, 0, PxFB), ==, 0x12345f00);
    /* the index/data pair in BAR4 reaches the same registers */
    qtest_outl(s, IDP_BASE + 0x10, 0x100 + PxSIG);
    g_assert_cmphex(qtest_inl(s, IDP_BASE + 0x14), ==, 0x101);
    qtest_outl(s, IDP_BASE + 0x10, GHC);
    qtest_outl(s, IDP_BASE + 0x14, GHC_AE | GHC_IE);
    g_assert_cmphex(rd(s, GHC), ==, GHC_AE | GHC_IE);
    /* BIOS/OS handoff: an OS request is granted at once */
    wr(s, BOHC, 2);
    g_assert_cmphex(rd(s, BOHC), ==, 0xa);
    wr(s, BOHC, 0xa);
    g_assert_cmphex(rd(s, BOHC), ==, 0x2);

    /* HBA reset: registers back, pointers kept, drives signal again */
    port_start(s, 0);
    pwr(s, 0, PxIE, 0xffffffff);
    g_assert_cmphex(prd_(s, 0, PxIE), ==, 0xfdc000ff);
    wr(s, GHC, GHC_HR);
    g_assert_cmphex(rd(s, GHC), ==, GHC_AE);
    g_assert_cmphex(prd_(s, 0, PxIE), ==, 0);
    g_assert_cmphex(prd_(s, 0, PxCMD), ==, CMD_SUD | CMD_POD);
    g_assert_cmphex(prd_(s, 0, PxCLB), ==, CLB(0));
    g_assert_cmphex(prd_(s, 0, PxFB), ==, FB(0));
    g_assert_cmphex(prd_(s, 0, PxSIG), ==, 0x101);
    g_assert_cmphex(prd_(s, 1, PxSIG), ==, 0xeb140101);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

/* ---- port start/stop, COMRESET, software reset ------------------------- */

static void test_port_start_stop(void)
{
    Fixture f;
    QTestState *s;
    uint8_t rfis[20];
    Cmd c = { .command = 0xe7 };            /* FLUSH CACHE */

    fixture_init(&f);
    s = start(&f);
    qtest_memset(s, FB(0), 0, 256);
    pwr(s, 0, PxCLB, CLB(0));
    pwr(s, 0, PxFB, FB(0));
    /* a command issued with ST clear is ignored */
    put_cmd(s, 0, 0, &c);
    pwr(s, 0, PxCI, 1);
    g_assert_cmphex(prd_(s, 0, PxCI), ==, 0);
    g_assert_cmphex(prd_(s, 0, PxIS), ==, 0);
    /* FIS receive on: the signature D2H FIS lands in the area */
    pwr(s, 0, PxCMD, CMD_FRE);
    g_assert_cmphex(prd_(s, 0, PxCMD) & (CMD_FR | CMD_CR), ==, CMD_FR);
    qtest_memread(s, FB(0) + 0x40, rfis, sizeof(rfis));
    g_assert_cmphex(rfis[0], ==, 0x34);
    g_assert_cmphex(rfis[2], ==, ST_DRDY | ST_DSC);
    g_assert_cmphex(rfis[12], ==, 1);
    /* start: CR; a command runs */
    pwr(s, 0, PxCMD, CMD_FRE | CMD_ST);
    g_assert_cmphex(prd_(s, 0, PxCMD) & (CMD_FR | CMD_CR), ==,
                    CMD_FR | CMD_CR);
    issue(s, 0, 0, &c);
    assert_ok(s, 0, 0);
    g_assert_cmphex(prd_(s, 0, PxIS), ==, IS_DHRS);
    /* stop: CR, CI and SACT clear */
    pwr(s, 0, PxSACT, 0x10);
    g_assert_cmphex(prd_(s, 0, PxSACT), ==, 0x10);
    pwr(s, 0, PxCMD, CMD_FRE);
    g_assert_cmphex(prd_(s, 0, PxCMD) & CMD_CR, ==, 0);
    g_assert_cmphex(prd_(s, 0, PxSACT), ==, 0);
    pwr(s, 0, PxCMD, 0);
    g_assert_cmphex(prd_(s, 0, PxCMD) & CMD_FR, ==, 0);

    /* COMRESET through SCTL.DET: no link while asserted, then the
     * signature again */
    pwr(s, 1, PxSCTL, 1);
    g_assert_cmphex(prd_(s, 1, PxSSTS) & 0xf, ==, 1);
    g_assert_cmphex(prd_(s, 1, PxTFD) & 0x80, ==, 0x80);
    /* CLO clears BSY */
    pwr(s, 1, PxCMD, CMD_CLO);
    g_assert_cmphex(prd_(s, 1, PxTFD) & 0x88, ==, 0);
    g_assert_cmphex(prd_(s, 1, PxCMD) & CMD_CLO, ==, 0);
    pwr(s, 1, PxSCTL, 0);
    g_assert_cmphex(prd_(s, 1, PxSSTS), ==, 0x113);
    g_assert_cmphex(prd_(s, 1, PxSIG), ==, 0xeb140101);

    /* software reset: two control FISes (SRST set with R and C, then
     * clear); the drive answers with its signature */
    port_start(s, 0);
    {
        Cmd r1 = { .control = true, .devctl = 0x04,
                   .hdr_flags = HDR_R | HDR_C };
        Cmd r2 = { .control = true, .devctl = 0x00 };
        issue(s, 0, 3, &r1);
        g_assert_cmphex(prd_(s, 0, PxCI), ==, 0);
        g_assert_cmphex(prd_(s, 0, PxTFD) & 0x80, ==, 0x80);
        qtest_memset(s, FB(0) + 0x40, 0, 20);
        issue(s, 0, 4, &r2);
        g_assert_cmphex(prd_(s, 0, PxCI), ==, 0);
        g_assert_cmphex(prd_(s, 0, PxTFD), ==, 0x150);
        g_assert_cmphex(prd_(s, 0, PxSIG), ==, 0x101);
        qtest_memread(s, FB(0) + 0x40, rfis, sizeof(rfis));
        g_assert_cmphex(rfis[0], ==, 0x34);
    }
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

/* ---- IDENTIFY ----------------------------------------------------------- */

static void test_identify(void)
{
    Fixture f;
    QTestState *s;
    uint16_t w[256];
    uint8_t fis[20];
    g_autofree char *model = NULL, *serial = NULL, *cdmodel = NULL;

    fixture_init(&f);
    s = start(&f);
    port_start(s, 0);
    identify(s, 0, 0xec, w);
    g_assert_cmphex(prd_(s, 0, PxIS), ==, IS_DHRS | IS_PSS);
    model = ata_string(w + 27, 20);
    serial = ata_string(w + 10, 10);
    g_assert_cmpstr(model, ==, "QEMU HARDDISK");
    /* QEMU numbers AHCI drives after the PIIX3's four */
    g_assert_cmpstr(serial, ==, "QM00005");
    g_assert_cmpuint(w[100] | (uint32_t)w[101] << 16, ==, DISK_SECTORS);
    g_assert_cmpuint(w[75], ==, 31);                /* queue depth 32 */
    g_assert_true(w[76] & (1 << 8));                /* NCQ */
    g_assert_true(w[84] & (1 << 5));                /* GPL */
    /* the PIO Setup FIS (data in, 512 bytes) and the D2H FIS */
    qtest_memread(s, FB(0) + 0x20, fis, 20);
    g_assert_cmphex(fis[0], ==, 0x5f);
    g_assert_cmphex(fis[1] & 0x20, ==, 0x20);
    g_assert_cmphex(fis[2] & ST_DRQ, ==, ST_DRQ);
    g_assert_cmphex(fis[15], ==, ST_DRDY | ST_DSC);
    g_assert_cmpuint(fis[16] | fis[17] << 8, ==, 512);
    qtest_memread(s, FB(0) + 0x40, fis, 20);
    g_assert_cmphex(fis[0], ==, 0x34);
    g_assert_cmphex(fis[1] & 0x40, ==, 0x40);
    g_assert_cmphex(fis[2], ==, ST_DRDY | ST_DSC);
    g_assert_cmphex(prd_(s, 0, PxTFD), ==, 0x50);
    /* the CD-ROM: IDENTIFY PACKET DEVICE */
    port_start(s, 1);
    identify(s, 1, 0xa1, w);
    cdmodel = ata_string(w + 27, 20);
    g_assert_cmpstr(cdmodel, ==, "QEMU DVD-ROM");
    g_assert_cmphex(w[0] >> 14, ==, 2);             /* ATAPI */
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

/* ---- DMA and PIO data ------------------------------------------------------ */

static void read_cmd(QTestState *s, int port, int slot, uint8_t cmd,
                     uint64_t lba, uint16_t count, const PRD *prd,
                     unsigned nprd)
{
    Cmd c = { .command = cmd, .lba = lba, .count = count, .prd = prd,
              .nprd = nprd };

    clear_is(s, port);
    issue(s, port, slot, &c);
    assert_ok(s, port, slot);
}

static void write_cmd(QTestState *s, int port, int slot, uint8_t cmd,
                      uint64_t lba, uint16_t count, const PRD *prd,
                      unsigned nprd)
{
    Cmd c = { .command = cmd, .lba = lba, .count = count, .prd = prd,
              .nprd = nprd, .hdr_flags = HDR_W };

    clear_is(s, port);
    issue(s, port, slot, &c);
    assert_ok(s, port, slot);
}

static void check_mem_vs_file(QTestState *s, uint64_t addr, const char *file,
                              size_t off, size_t len)
{
    g_autofree uint8_t *want = qtest_file_range(file, off, len);
    g_autofree uint8_t *got = g_malloc(len);

    qtest_memread(s, addr, got, len);
    g_assert_true(memcmp(want, got, len) == 0);
}

static void test_dma_read_write(void)
{
    Fixture f;
    QTestState *s;
    uint8_t data[8 * 512];
    PRD prd = { DATA, sizeof(data) };

    fixture_init(&f);
    s = start(&f);
    port_start(s, 0);
    /* READ DMA EXT, 8 sectors at 100 */
    read_cmd(s, 0, 2, 0x25, 100, 8, &prd, 1);
    g_assert_cmpuint(prdbc(s, 0, 2), ==, sizeof(data));
    g_assert_cmphex(prd_(s, 0, PxIS), ==, IS_DHRS);
    check_mem_vs_file(s, DATA, f.disk, 100 * 512, sizeof(data));
    /* WRITE DMA EXT at 1500 (LBA48) and READ DMA (28-bit) back */
    fill_pattern(data, sizeof(data), 0x55);
    qtest_memwrite(s, DATA, data, sizeof(data));
    write_cmd(s, 0, 5, 0x35, 1500, 8, &prd, 1);
    g_assert_cmpuint(prdbc(s, 0, 5), ==, sizeof(data));
    check_mem_vs_file(s, DATA, f.disk, 1500 * 512, sizeof(data));
    qtest_memset(s, DATA, 0, sizeof(data));
    read_cmd(s, 0, 31, 0xc8, 1500, 8, &prd, 1);
    check_mem_vs_file(s, DATA, f.disk, 1500 * 512, sizeof(data));
    /* the last sector of the disk */
    prd.len = 512;
    read_cmd(s, 0, 0, 0x25, DISK_SECTORS - 1, 1, &prd, 1);
    check_mem_vs_file(s, DATA, f.disk, (DISK_SECTORS - 1) * 512, 512);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

static void test_pio(void)
{
    Fixture f;
    QTestState *s;
    uint8_t data[4 * 512];
    PRD prd[2] = { { DATA, 1024 }, { DATA + 0x10000, 1024 } };

    fixture_init(&f);
    s = start(&f);
    port_start(s, 0);
    /* READ SECTORS: four DRQ blocks through two PRDs */
    read_cmd(s, 0, 1, 0x20, 7, 4, prd, 2);
    g_assert_cmpuint(prdbc(s, 0, 1), ==, 2048);
    g_assert_cmphex(prd_(s, 0, PxIS), ==, IS_DHRS | IS_PSS);
    check_mem_vs_file(s, DATA, f.disk, 7 * 512, 1024);
    check_mem_vs_file(s, DATA + 0x10000, f.disk, 9 * 512, 1024);
    /* WRITE MULTIPLE EXT (blocks of 16) */
    fill_pattern(data, sizeof(data), 0x77);
    qtest_memwrite(s, DATA, data, 1024);
    qtest_memwrite(s, DATA + 0x10000, data + 1024, 1024);
    write_cmd(s, 0, 1, 0x39, 300, 4, prd, 2);
    {
        g_autofree uint8_t *got = qtest_file_range(f.disk, 300 * 512, 2048);
        g_assert_true(memcmp(got, data, 2048) == 0);
    }
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

/* Scatter lists: odd-sized pieces, a longer table, the I bit. */
static void test_multi_prd(void)
{
    Fixture f;
    QTestState *s;
    PRD prd[5] = {
        { DATA + 0x0000, 512 },
        { DATA + 0x3000, 1536 },
        { DATA + 0x8002, 2 },
        { DATA + 0x9000, 4094, true },
        { DATA + 0xc000, 8192 },        /* more than the rest of the data */
    };
    uint8_t data[16 * 512];

    fixture_init(&f);
    s = start(&f);
    port_start(s, 0);
    pwr(s, 0, PxIE, IS_DPS);
    read_cmd(s, 0, 0, 0x25, 64, 16, prd, 5);
    g_assert_cmpuint(prdbc(s, 0, 0), ==, 16 * 512);
    g_assert_cmphex(prd_(s, 0, PxIS), ==, IS_DHRS | IS_DPS);
    check_mem_vs_file(s, DATA, f.disk, 64 * 512, 512);
    check_mem_vs_file(s, DATA + 0x3000, f.disk, 65 * 512, 1536);
    check_mem_vs_file(s, DATA + 0x8002, f.disk, 68 * 512, 2);
    check_mem_vs_file(s, DATA + 0x9000, f.disk, 68 * 512 + 2, 4094);
    check_mem_vs_file(s, DATA + 0xc000, f.disk, 76 * 512, 4 * 512);
    /* the same scatter list for a write */
    fill_pattern(data, sizeof(data), 0x99);
    qtest_memwrite(s, DATA, data, 512);
    qtest_memwrite(s, DATA + 0x3000, data + 512, 1536);
    qtest_memwrite(s, DATA + 0x8002, data + 2048, 2);
    qtest_memwrite(s, DATA + 0x9000, data + 2050, 4094);
    qtest_memwrite(s, DATA + 0xc000, data + 6144, 2048);
    write_cmd(s, 0, 0, 0x35, 1000, 16, prd, 5);
    {
        g_autofree uint8_t *got = qtest_file_range(f.disk, 1000 * 512, 8192);
        g_assert_true(memcmp(got, data, 8192) == 0);
    }
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

/* ---- NCQ -------------------------------------------------------------------- */

static void ncq_put(QTestState *s, int slot, bool write, uint64_t lba,
                    uint16_t count, const PRD *prd)
{
    Cmd c = { .command = write ? 0x61 : 0x60, .lba = lba,
              .features = count, .features_exp = count >> 8,
              .count = slot << 3, .prd = prd, .nprd = 1,
              .hdr_flags = write ? HDR_W : 0 };

    put_cmd(s, 0, slot, &c);
}

static void test_ncq(void)
{
    Fixture f;
    QTestState *s;
    PRD prd[3] = { { DATA, 4096 }, { DATA + 0x10000, 2048 },
                   { DATA + 0x20000, 1024 } };
    uint8_t wdata[1024], sdb[8];

    fixture_init(&f);
    s = start(&f);
    port_start(s, 0);
    fill_pattern(wdata, sizeof(wdata), 0x3c);
    qtest_memwrite(s, DATA + 0x20000, wdata, sizeof(wdata));
    /* three queued commands outstanding at once: reads in tags 0 and 1,
     * a write in tag 2 */
    ncq_put(s, 0, false, 10, 8, &prd[0]);
    ncq_put(s, 1, false, 500, 4, &prd[1]);
    ncq_put(s, 2, true, 900, 2, &prd[2]);
    pwr(s, 0, PxSACT, 0x7);
    g_assert_cmphex(prd_(s, 0, PxSACT), ==, 0x7);
    pwr(s, 0, PxCI, 0x7);
    g_assert_cmphex(prd_(s, 0, PxCI), ==, 0);
    g_assert_cmphex(prd_(s, 0, PxSACT), ==, 0);
    g_assert_cmphex(prd_(s, 0, PxIS) & (IS_SDBS | IS_TFES), ==, IS_SDBS);
    qtest_memread(s, FB(0) + 0x58, sdb, sizeof(sdb));
    g_assert_cmphex(sdb[0], ==, 0xa1);
    g_assert_cmphex(sdb[1] & 0x40, ==, 0x40);
    g_assert_cmphex(sdb[2] & ST_ERR, ==, 0);
    /* the tags that finished last (those finishing together share one) */
    g_assert_cmphex(sdb[4] & ~0x7, ==, 0);
    g_assert_cmphex(sdb[4], !=, 0);
    check_mem_vs_file(s, DATA, f.disk, 10 * 512, 4096);
    check_mem_vs_file(s, DATA + 0x10000, f.disk, 500 * 512, 2048);
    {
        g_autofree uint8_t *got = qtest_file_range(f.disk, 900 * 512, 1024);
        g_assert_true(memcmp(got, wdata, 1024) == 0);
    }
    /* tags need not be issued in order: 5 and 3, one write each */
    clear_is(s, 0);
    ncq_put(s, 5, false, 0, 1, &prd[0]);
    ncq_put(s, 3, false, 2047, 1, &prd[1]);
    pwr(s, 0, PxSACT, 0x28);
    pwr(s, 0, PxCI, 0x20);
    pwr(s, 0, PxCI, 0x08);
    g_assert_cmphex(prd_(s, 0, PxSACT), ==, 0);
    check_mem_vs_file(s, DATA, f.disk, 0, 512);
    check_mem_vs_file(s, DATA + 0x10000, f.disk, 2047 * 512, 512);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

/* A queued command off the disk: SDB with ERR, TFES, the tag stays in
 * PxSACT with tag 0 (outstanding when it failed: the drive aborts the
 * queue), the list stops; after a restart READ LOG EXT 10h names it. */
static void test_ncq_error(void)
{
    Fixture f;
    QTestState *s;
    PRD prd[2] = { { DATA, 4096 }, { DATA + 0x10000, 512 } };
    uint8_t log[512], sum = 0;

    fixture_init(&f);
    s = start(&f);
    port_start(s, 0);
    ncq_put(s, 0, false, 8, 1, &prd[0]);
    ncq_put(s, 4, false, DISK_SECTORS - 2, 8, &prd[0]);
    pwr(s, 0, PxSACT, 0x11);
    pwr(s, 0, PxCI, 0x11);
    g_assert_cmphex(prd_(s, 0, PxIS) & (IS_SDBS | IS_TFES), ==,
                    IS_SDBS | IS_TFES);
    g_assert_cmphex(prd_(s, 0, PxSACT), ==, 0x11);
    g_assert_cmphex(prd_(s, 0, PxTFD) & ST_ERR, ==, ST_ERR);
    g_assert_cmphex(prd_(s, 0, PxTFD) >> 8, ==, ERR_IDNF | ERR_ABRT);
    /* stopped: a new command waits in CI */
    ncq_put(s, 1, false, 8, 1, &prd[0]);
    pwr(s, 0, PxSACT, 0x2);
    pwr(s, 0, PxCI, 0x2);
    g_assert_cmphex(prd_(s, 0, PxCI), ==, 0x2);
    port_restart(s, 0);
    /* queued commands abort until the log is read */
    ncq_put(s, 1, false, 8, 1, &prd[0]);
    pwr(s, 0, PxSACT, 0x2);
    pwr(s, 0, PxCI, 0x2);
    g_assert_cmphex(prd_(s, 0, PxIS) & IS_TFES, ==, IS_TFES);
    g_assert_cmphex(prd_(s, 0, PxTFD) >> 8, ==, ERR_ABRT);
    port_restart(s, 0);
    /* READ LOG EXT, log 10h, one page */
    {
        Cmd c = { .command = 0x2f, .lba = 0x10, .count = 1, .prd = &prd[1],
                  .nprd = 1 };
        qtest_memset(s, DATA + 0x10000, 0xee, 512);
        issue(s, 0, 0, &c);
        assert_ok(s, 0, 0);
        qtest_memread(s, DATA + 0x10000, log, 512);
        g_assert_cmphex(log[0], ==, 4);             /* the tag */
        g_assert_cmphex(log[2] & ST_ERR, ==, ST_ERR);
        g_assert_cmphex(log[3], ==, ERR_IDNF | ERR_ABRT);
        g_assert_cmpuint(log[4] | log[5] << 8, ==, DISK_SECTORS - 2);
        g_assert_cmpuint(log[12], ==, 8);
        for (int i = 0; i < 512; i++) {
            sum += log[i];
        }
        g_assert_cmpuint(sum, ==, 0);
        /* read again: no queued error any more (NQ) */
        issue(s, 0, 0, &c);
        qtest_memread(s, DATA + 0x10000, log, 512);
        g_assert_cmphex(log[0], ==, 0x80);
    }
    /* and queued commands work again */
    clear_is(s, 0);
    ncq_put(s, 7, false, 33, 1, &prd[0]);
    pwr(s, 0, PxSACT, 0x80);
    pwr(s, 0, PxCI, 0x80);
    g_assert_cmphex(prd_(s, 0, PxSACT), ==, 0);
    g_assert_cmphex(prd_(s, 0, PxIS) & IS_TFES, ==, 0);
    check_mem_vs_file(s, DATA, f.disk, 33 * 512, 512);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

#define IS_HBDS (1u << 28)

/* An AHCI disk on port 0 made of @drive (-blockdev options ending in
 * node-name=n0) with a QMP socket; @dev_opts go to the ide-hd. */
static QTestState *start_node(Fixture *f, const char *drive,
                              const char *dev_opts, QMPConn **qmp)
{
    g_autofree char *sock = g_build_filename(f->dir, "qmp.sock", NULL);
    g_autofree char *args = g_strdup_printf(
        DEVICES "-blockdev %s -device ide-hd,drive=n0,bus=ahci0.0%s "
        "-qmp unix:%s,server=on,wait=off", drive, dev_opts, sock);
    QTestState *s = start_args(args);

    *qmp = qmp_connect(sock);
    unlink(sock);
    return s;
}

/* Queue tags 0..n-1 without waiting: tag i reads @count sectors at
 * 1000 * i into DATA + i * 64 KiB (tag 0: @count0 sectors at 0). */
static void ncq_queue_reads(QTestState *s, unsigned n, uint16_t count0,
                            uint16_t count, PRD *prd)
{
    for (unsigned i = 0; i < n; i++) {
        prd[i].addr = DATA + (i ? 0x400000u + i * 0x10000u : 0);
        prd[i].len = (i ? count : count0) * 512u;
        prd[i].irq = false;
        qtest_memset(s, prd[i].addr, 0xaa, prd[i].len);
        ncq_put(s, i, false, i * 1000, i ? count : count0, &prd[i]);
    }
    wr(s, 0x100 + PxSACT, (uint32_t)((1ull << n) - 1));
    wr(s, 0x100 + PxCI, (uint32_t)((1ull << n) - 1));
}

static bool mem_is(QTestState *s, uint64_t addr, uint8_t v, size_t len)
{
    g_autofree uint8_t *buf = g_malloc(len);

    qtest_memread(s, addr, buf, len);
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != v) {
            return false;
        }
    }
    return true;
}

/* Every byte at @addr is @a or @b. */
static bool mem_is_either(QTestState *s, uint64_t addr, uint8_t a, uint8_t b,
                          size_t len)
{
    g_autofree uint8_t *buf = g_malloc(len);

    qtest_memread(s, addr, buf, len);
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != a && buf[i] != b) {
            return false;
        }
    }
    return true;
}

/* Poll PxSACT until it equals @want (or 20 s pass); whether it did. */
static bool sact_reaches(QTestState *s, uint32_t want)
{
    gint64 end = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;

    while (g_get_monotonic_time() < end) {
        if (prd_(s, 0, PxSACT) == want) {
            return true;
        }
        if (prd_(s, 0, PxIS) & IS_TFES) {
            return false;
        }
    }
    return false;
}

/*
 * The tags of a port are in flight together and finish in any order.
 * Every request of a null-co disk takes 20 ms: tag 0 reads 2 MiB (32
 * requests of 64 KiB, one after the other), tags 1..15 one request each,
 * issued with it.  The fifteen finish while tag 0 is still outstanding
 * (PxSACT reads 1 for a while; a drive that ran one tag at a time in slot
 * order would go from FFFFh straight to 0), and their SDB FISes name only
 * them.  Then 16 tags against the image file, reads and writes mixed,
 * moving their data exactly.
 */
static void test_ncq_concurrent(void)
{
    Fixture f;
    QMPConn *qmp;
    QTestState *s;
    PRD prd[16];
    uint8_t sdb[8];
    uint8_t wdata[16][4096];

    fixture_init(&f);
    s = start_node(&f, "driver=null-co,node-name=n0,size=67108864,"
                   "latency-ns=20000000,read-zeroes=on", "", &qmp);
    port_start(s, 0);
    ncq_queue_reads(s, 16, 4096, 8, prd);
    g_assert_cmphex(prd_(s, 0, PxCI), ==, 0);      /* the drive took all */
    g_assert_true(sact_reaches(s, 0x1));
    g_assert_cmphex(prd_(s, 0, PxIS) & (IS_SDBS | IS_TFES), ==, IS_SDBS);
    qtest_memread(s, FB(0) + 0x58, sdb, sizeof(sdb));
    g_assert_cmphex(sdb[0], ==, 0xa1);
    g_assert_cmphex(sdb[4] & 1, ==, 0);            /* not tag 0 yet */
    for (unsigned i = 1; i < 16; i++) {
        g_assert_true(mem_is(s, prd[i].addr, 0, prd[i].len));
        g_assert_cmpuint(prdbc(s, 0, i), ==, 4096);
    }
    g_assert_true(sact_reaches(s, 0));
    g_assert_true(mem_is(s, DATA, 0, 512 * 4096));
    g_assert_cmpuint(prdbc(s, 0, 0), ==, 512 * 4096);
    qtest_memread(s, FB(0) + 0x58, sdb, sizeof(sdb));
    g_assert_cmphex(sdb[4], ==, 1);                /* the last one */
    qmp_close(qmp);
    qtest_quit(s);

    /* the image file: 16 tags, odd ones write */
    s = start(&f);
    port_start(s, 0);
    for (unsigned i = 0; i < 16; i++) {
        prd[i] = (PRD) { DATA + i * 0x10000u, 4096 };
        fill_pattern(wdata[i], 4096, 0x40 + i);
        qtest_memwrite(s, prd[i].addr, wdata[i], 4096);
        ncq_put(s, i, i & 1, 100 + i * 64, 8, &prd[i]);
    }
    pwr(s, 0, PxSACT, 0xffff);
    pwr(s, 0, PxCI, 0xffff);
    g_assert_cmphex(prd_(s, 0, PxSACT), ==, 0);
    g_assert_cmphex(prd_(s, 0, PxIS) & (IS_SDBS | IS_TFES), ==, IS_SDBS);
    for (unsigned i = 0; i < 16; i++) {
        if (i & 1) {
            g_autofree uint8_t *got =
                qtest_file_range(f.disk, (100 + i * 64) * 512, 4096);
            g_assert_true(memcmp(got, wdata[i], 4096) == 0);
        } else {
            check_mem_vs_file(s, prd[i].addr, f.disk, (100 + i * 64) * 512,
                              4096);
        }
        g_assert_cmpuint(prdbc(s, 0, i), ==, 4096);
    }
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

/* Restart the port once PxCMD.CR went (dropped tags are back). */
static void wait_cr_clear(QTestState *s)
{
    gint64 end = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;

    while ((prd_(s, 0, PxCMD) & CMD_CR) && g_get_monotonic_time() < end) {
    }
    g_assert_cmphex(prd_(s, 0, PxCMD) & CMD_CR, ==, 0);
}

/* READ LOG EXT 10h: the failed tag. */
static uint8_t ncq_log_tag(QTestState *s)
{
    PRD prd = { DATA + 0x3f0000, 512 };
    Cmd c = { .command = 0x2f, .lba = 0x10, .count = 1, .prd = &prd,
              .nprd = 1 };
    uint8_t log[512];

    issue(s, 0, 31, &c);
    assert_ok(s, 0, 31);
    qtest_memread(s, prd.addr, log, 512);
    return log[0];
}

/*
 * A tag whose read fails (blkdebug, rerror=report) among seven good ones
 * in flight: SDB with ERR, TFES, the drive aborts the others (they stay
 * in PxSACT); ST cleared, CR stays until they are back; their reads go
 * straight into guest RAM, so by then a buffer holds its data (zeros) or
 * nothing (SATA leaves an aborted command's buffer undefined), never
 * anything else;
 * READ LOG EXT names the failed tag.  With rerror=stop the VM stops
 * instead and 'cont' runs the held tag again: all eight complete.
 */
static void test_ncq_error_in_flight(void)
{
    Fixture f;
    QMPConn *qmp;
    QTestState *s;
    PRD prd[8];
    g_autofree char *r = NULL;
    const char *drive =
        "driver=blkdebug,node-name=n0,image.driver=null-co,"
        "image.node-name=n1,image.size=67108864,"
        "image.latency-ns=100000000,image.read-zeroes=on,"
        "inject-error.0.event=read_aio,inject-error.0.sector=3000,"
        "inject-error.0.once=on";

    fixture_init(&f);
    s = start_node(&f, drive, "", &qmp);
    port_start(s, 0);
    ncq_queue_reads(s, 8, 8, 8, prd);
    port_wait(s, 0, 0xff);
    g_assert_cmphex(prd_(s, 0, PxIS) & (IS_SDBS | IS_TFES), ==,
                    IS_SDBS | IS_TFES);
    g_assert_cmphex(prd_(s, 0, PxSACT), ==, 0xff);
    g_assert_cmphex(prd_(s, 0, PxTFD) & ST_ERR, ==, ST_ERR);
    g_assert_cmphex(prd_(s, 0, PxTFD) >> 8, ==, ERR_ABRT);
    pwr(s, 0, PxCMD, CMD_FRE);
    g_assert_cmphex(prd_(s, 0, PxSACT), ==, 0);
    g_assert_cmphex(prd_(s, 0, PxCMD) & CMD_CR, ==, CMD_CR);
    wait_cr_clear(s);
    for (unsigned i = 0; i < 8; i++) {
        g_assert_true(mem_is_either(s, prd[i].addr, 0xaa, 0, prd[i].len));
    }
    pwr(s, 0, PxCMD, CMD_FRE | CMD_ST);
    clear_is(s, 0);
    g_assert_cmpuint(ncq_log_tag(s), ==, 3);
    qmp_close(qmp);
    qtest_quit(s);

    /* rerror=stop: held, then run again after cont */
    s = start_node(&f, drive, ",rerror=stop", &qmp);
    port_start(s, 0);
    ncq_queue_reads(s, 8, 8, 8, prd);
    for (gint64 end = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
         g_get_monotonic_time() < end;) {
        g_free(r);
        r = qmp_cmd(qmp, "{\"execute\":\"query-status\"}");
        if (strstr(r, "io-error")) {
            break;
        }
    }
    g_assert_nonnull(strstr(r, "io-error"));
    g_assert_cmphex(prd_(s, 0, PxSACT) & 0x8, ==, 0x8);   /* held */
    g_assert_cmphex(prd_(s, 0, PxIS) & IS_TFES, ==, 0);
    qmp_assert_ok(qmp, "{\"execute\":\"cont\"}");
    g_assert_true(sact_reaches(s, 0));
    g_assert_cmphex(prd_(s, 0, PxIS) & IS_TFES, ==, 0);
    for (unsigned i = 0; i < 8; i++) {
        g_assert_true(mem_is(s, prd[i].addr, 0, prd[i].len));
    }
    qmp_close(qmp);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

/* The machine's reset is over (its RESET event came). */
static void wait_reset_event(QMPConn *qmp)
{
    gint64 end = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
    g_autofree char *ev = NULL;

    while (g_get_monotonic_time() < end) {
        g_free(ev);
        ev = qmp_events_now(qmp);
        if (strstr(ev, "\"RESET\"")) {
            return;
        }
    }
    g_assert_not_reached();
}

/*
 * Port stop and COMRESET with eight tags in flight (200 ms each): PxSACT
 * and PxCI clear at once, CR stays set until the dropped tags are back;
 * after the COMRESET PxTFD shows BSY until then, then the signature.  Their
 * reads go straight into guest RAM, so a buffer then holds its data (zeros)
 * or its fill, never anything else, and nothing lands after CR or BSY
 * cleared.  The port works again after each.  A machine reset with eight
 * out returns only when they are back: nothing lands after the RESET
 * event.
 */
static void test_ncq_stop_in_flight(void)
{
    Fixture f;
    QMPConn *qmp;
    QTestState *s;
    PRD prd[8];

    fixture_init(&f);
    s = start_node(&f, "driver=null-co,node-name=n0,size=67108864,"
                   "latency-ns=200000000,read-zeroes=on", "", &qmp);
    port_start(s, 0);
    ncq_queue_reads(s, 8, 8, 8, prd);
    g_assert_cmphex(prd_(s, 0, PxSACT), ==, 0xff);
    pwr(s, 0, PxCMD, CMD_FRE);
    g_assert_cmphex(prd_(s, 0, PxSACT) | prd_(s, 0, PxCI), ==, 0);
    g_assert_cmphex(prd_(s, 0, PxCMD) & CMD_CR, ==, CMD_CR);
    wait_cr_clear(s);
    for (unsigned i = 0; i < 8; i++) {
        g_assert_true(mem_is_either(s, prd[i].addr, 0xaa, 0, prd[i].len));
        qtest_memset(s, prd[i].addr, 0xbb, prd[i].len);
    }
    g_usleep(50000);                    /* nothing lands after CR cleared */
    for (unsigned i = 0; i < 8; i++) {
        g_assert_true(mem_is(s, prd[i].addr, 0xbb, prd[i].len));
    }
    pwr(s, 0, PxCMD, CMD_FRE | CMD_ST);
    clear_is(s, 0);
    ncq_queue_reads(s, 8, 8, 8, prd);
    g_assert_true(sact_reaches(s, 0));
    for (unsigned i = 0; i < 8; i++) {
        g_assert_true(mem_is(s, prd[i].addr, 0, prd[i].len));
    }

    /* COMRESET while eight are out */
    clear_is(s, 0);
    ncq_queue_reads(s, 8, 8, 8, prd);
    pwr(s, 0, PxSCTL, 1);
    pwr(s, 0, PxSCTL, 0);
    g_assert_cmphex(prd_(s, 0, PxTFD) & 0x80, ==, 0x80);
    for (gint64 end = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
         (prd_(s, 0, PxTFD) & 0x80) && g_get_monotonic_time() < end;) {
    }
    g_assert_cmphex(prd_(s, 0, PxTFD) & 0xff, ==, 0x50);
    g_assert_cmphex(prd_(s, 0, PxSIG), ==, 0x101);
    for (unsigned i = 0; i < 8; i++) {
        g_assert_true(mem_is_either(s, prd[i].addr, 0xaa, 0, prd[i].len));
    }
    port_restart(s, 0);
    ncq_queue_reads(s, 2, 8, 8, prd);
    g_assert_true(sact_reaches(s, 0));

    /* the machine's reset while eight are out */
    clear_is(s, 0);
    ncq_queue_reads(s, 8, 8, 8, prd);
    qmp_assert_ok(qmp, "{\"execute\":\"system_reset\"}");
    wait_reset_event(qmp);
    for (unsigned i = 0; i < 8; i++) {
        qtest_memset(s, prd[i].addr, 0xbb, prd[i].len);
    }
    g_usleep(250000);                   /* past the 200 ms of a request */
    for (unsigned i = 0; i < 8; i++) {
        g_assert_true(mem_is(s, prd[i].addr, 0xbb, prd[i].len));
    }
    qmp_close(qmp);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

/*
 * Hostile PRDs per tag: a tag whose buffer lies outside RAM and one whose
 * PRD table is too short each fail on their own (ABRT, PxIS.HBDS or OFS,
 * not the port's fatal HBFS); the log names the tag.  A tag whose PRDs
 * start in RAM and go on outside it (not a whole number of sectors in
 * RAM: read in place up to the last whole sector, the rest bounced) fills
 * all its RAM bytes, then fails the same way.
 */
static void test_ncq_bad_prd(void)
{
    Fixture f;
    QTestState *s;
    PRD good = { DATA, 4096 }, outside = { 0x8000000000ull, 4096 },
        shortp = { DATA + 0x10000, 1024 },
        mixed[2] = { { DATA + 0x20000, 4000 }, { 0x8000000000ull, 4096 } };
    Cmd mixed_read = { .command = 0x60, .lba = 40, .features = 16,
                       .count = 5 << 3, .prd = mixed, .nprd = 2 };

    fixture_init(&f);
    s = start(&f);
    port_start(s, 0);
    ncq_put(s, 2, false, 40, 8, &outside);
    pwr(s, 0, PxSACT, 0x4);
    pwr(s, 0, PxCI, 0x4);
    g_assert_cmphex(prd_(s, 0, PxIS) & (IS_TFES | IS_HBDS | IS_HBFS), ==,
                    IS_TFES | IS_HBDS);
    g_assert_cmphex(prd_(s, 0, PxSACT), ==, 0x4);
    port_restart(s, 0);
    g_assert_cmpuint(ncq_log_tag(s), ==, 2);
    /* a write whose table holds less than its data */
    clear_is(s, 0);
    ncq_put(s, 6, true, 40, 8, &shortp);
    pwr(s, 0, PxSACT, 0x40);
    pwr(s, 0, PxCI, 0x40);
    g_assert_cmphex(prd_(s, 0, PxIS) & (IS_TFES | IS_OFS | IS_HBFS), ==,
                    IS_TFES | IS_OFS);
    port_restart(s, 0);
    g_assert_cmpuint(ncq_log_tag(s), ==, 6);
    /* RAM, then outside it */
    clear_is(s, 0);
    qtest_memset(s, mixed[0].addr, 0xaa, mixed[0].len + 512);
    put_cmd(s, 0, 5, &mixed_read);
    pwr(s, 0, PxSACT, 0x20);
    pwr(s, 0, PxCI, 0x20);
    g_assert_cmphex(prd_(s, 0, PxIS) & (IS_TFES | IS_HBDS | IS_HBFS), ==,
                    IS_TFES | IS_HBDS);
    check_mem_vs_file(s, mixed[0].addr, f.disk, 40 * 512, mixed[0].len);
    g_assert_true(mem_is(s, mixed[0].addr + mixed[0].len, 0xaa, 512));
    port_restart(s, 0);
    g_assert_cmpuint(ncq_log_tag(s), ==, 5);
    /* and a good tag works after */
    clear_is(s, 0);
    ncq_put(s, 1, false, 40, 8, &good);
    pwr(s, 0, PxSACT, 0x2);
    pwr(s, 0, PxCI, 0x2);
    g_assert_cmphex(prd_(s, 0, PxSACT), ==, 0);
    check_mem_vs_file(s, DATA, f.disk, 40 * 512, 4096);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

/* ---- ATAPI ------------------------------------------------------------------ */

static void packet(QTestState *s, const uint8_t *cdb, bool dma, PRD *prd,
                   unsigned nprd, uint16_t bcl)
{
    Cmd c = { .command = 0xa0, .features = dma ? 1 : 0, .lba = bcl << 8,
              .acmd = cdb, .prd = prd, .nprd = nprd, .hdr_flags = HDR_A,
              .device = 0xa0 };

    clear_is(s, 1);
    issue(s, 1, 0, &c);
}

static void test_atapi(void)
{
    Fixture f;
    QTestState *s;
    PRD prd = { DATA, 8192 };
    uint8_t inq[36];
    const uint8_t tur[12] = { 0x00 };
    const uint8_t inquiry[12] = { 0x12, 0, 0, 0, 36 };
    const uint8_t read10[12] = { 0x28, 0, 0, 0, 0, 5, 0, 0, 3 };
    const uint8_t read10_past[12] = { 0x28, 0, 0, 0, 0, CD_BLOCKS - 1, 0,
                                      0, 2 };
    const uint8_t bad[12] = { 0xf3 };

    fixture_init(&f);
    s = start(&f);
    port_start(s, 1);
    packet(s, tur, false, NULL, 0, 0);
    assert_ok(s, 1, 0);
    /* INQUIRY, PIO through ACMD */
    packet(s, inquiry, false, &prd, 1, 0xfffe);
    assert_ok(s, 1, 0);
    g_assert_cmpuint(prdbc(s, 1, 0), ==, 36);
    qtest_memread(s, DATA, inq, sizeof(inq));
    g_assert_cmphex(inq[0], ==, 0x05);
    g_assert_true(memcmp(inq + 8, "QEMU    ", 8) == 0);
    g_assert_true(memcmp(inq + 16, "QEMU DVD-ROM", 12) == 0);
    /* READ(10) by DMA: blocks 5-7 */
    packet(s, read10, true, &prd, 1, 0);
    assert_ok(s, 1, 0);
    g_assert_cmpuint(prdbc(s, 1, 0), ==, 3 * 2048);
    check_mem_vs_file(s, DATA, f.iso, 5 * 2048, 3 * 2048);
    /* READ(10) by PIO with a 2 KiB byte count limit: three DRQ blocks */
    qtest_memset(s, DATA, 0, 3 * 2048);
    packet(s, read10, false, &prd, 1, 2048);
    assert_ok(s, 1, 0);
    g_assert_cmphex(prd_(s, 1, PxIS) & IS_PSS, ==, IS_PSS);
    check_mem_vs_file(s, DATA, f.iso, 5 * 2048, 3 * 2048);
    /* errors: CHECK CONDITION is ERR in the status: TFES */
    packet(s, read10_past, true, &prd, 1, 0);
    g_assert_cmphex(prd_(s, 1, PxIS) & IS_TFES, ==, IS_TFES);
    g_assert_cmphex(prd_(s, 1, PxTFD) >> 12, ==, 5);   /* ILLEGAL REQUEST */
    port_restart(s, 1);
    packet(s, bad, false, NULL, 0, 0);
    g_assert_cmphex(prd_(s, 1, PxIS) & IS_TFES, ==, IS_TFES);
    port_restart(s, 1);
    /* an ATA command to the CD-ROM aborts */
    {
        Cmd c = { .command = 0xc8, .count = 1, .prd = &prd, .nprd = 1 };
        issue(s, 1, 0, &c);
        g_assert_cmphex(prd_(s, 1, PxIS) & IS_TFES, ==, IS_TFES);
        g_assert_cmphex(prd_(s, 1, PxTFD) >> 8, ==, ERR_ABRT);
    }
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

/* ---- interrupts ------------------------------------------------------------- */

static void test_interrupts(void)
{
    Fixture f;
    QTestState *s;
    Cmd c = { .command = 0xe7 };
    uint8_t msi_cap = 0x80;

    fixture_init(&f);
    s = start(&f);
    /* 04.0 INTA -> PIRQD ((pin + slot - 1) & 3); route it to IRQ 11 */
    qtest_outl(s, 0xcf8, 0x80000860);
    qtest_outb(s, 0xcfc + 3, 11);
    port_start(s, 0);
    /* nothing without PxIE and GHC.IE */
    issue(s, 0, 0, &c);
    g_assert_cmphex(rd(s, IS), ==, 0);
    g_assert_false(qtest_get_irq(s, 11));
    /* PxIE: IS.IPS; GHC.IE: the line */
    pwr(s, 0, PxIE, IS_DHRS);
    g_assert_cmphex(rd(s, IS), ==, 1);
    g_assert_false(qtest_get_irq(s, 11));
    wr(s, GHC, GHC_IE);
    g_assert_true(qtest_get_irq(s, 11));
    /* IS does not clear while the port's bits are set */
    wr(s, IS, 1);
    g_assert_cmphex(rd(s, IS), ==, 1);
    clear_is(s, 0);
    g_assert_true(qtest_get_irq(s, 11));
    wr(s, IS, 1);
    g_assert_cmphex(rd(s, IS), ==, 0);
    g_assert_false(qtest_get_irq(s, 11));
    /* a second port's command */
    port_start(s, 1);
    pwr(s, 1, PxIE, IS_DHRS);
    {
        const uint8_t tur[12] = { 0 };
        packet(s, tur, false, NULL, 0, 0);
    }
    g_assert_cmphex(rd(s, IS), ==, 2);
    g_assert_true(qtest_get_irq(s, 11));
    clear_is(s, 1);
    wr(s, IS, 2);
    g_assert_false(qtest_get_irq(s, 11));

    /* MSI: address in RAM (qtest writes the message there), no INTx */
    cfg_writel(s, msi_cap + 4, MSI_ADDR);
    cfg_writel(s, msi_cap + 8, 0);
    cfg_writew(s, msi_cap + 12, 0x4321);
    cfg_writew(s, msi_cap + 2, 1);          /* enable */
    qtest_writel(s, MSI_ADDR, 0);
    issue(s, 0, 0, &c);
    g_assert_cmphex(qtest_readl(s, MSI_ADDR), ==, 0x4321);
    g_assert_false(qtest_get_irq(s, 11));
    /* one message per new event, none for clearing */
    qtest_writel(s, MSI_ADDR, 0);
    clear_is(s, 0);
    wr(s, IS, 1);
    g_assert_cmphex(qtest_readl(s, MSI_ADDR), ==, 0);
    issue(s, 0, 1, &c);
    g_assert_cmphex(qtest_readl(s, MSI_ADDR), ==, 0x4321);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

/* ---- errors ---------------------------------------------------------------- */

static void expect_stop(QTestState *s, int port, int slot, uint32_t bits)
{
    g_assert_cmphex(prd_(s, port, PxIS) & bits, ==, bits);
    g_assert_cmphex(prd_(s, port, PxCI) & (1u << slot), ==, 1u << slot);
    port_restart(s, port);
}

static void test_errors(void)
{
    Fixture f;
    QTestState *s;
    PRD prd = { DATA, 4096 };
    PRD short_prd = { DATA, 1024 };
    PRD bad_prd = { 0x1000000000ull, 4096 };
    PRD self_prd = { ABAR, 4096 };

    fixture_init(&f);
    s = start(&f);
    port_start(s, 0);

    /* unknown command and NOP: ABRT, TFES; the slot stays in CI */
    {
        Cmd c = { .command = 0xfe };
        issue(s, 0, 0, &c);
        expect_stop(s, 0, 0, IS_TFES | IS_DHRS);
    }
    /* LBA past the end: IDNF */
    {
        Cmd c = { .command = 0x25, .lba = DISK_SECTORS - 1, .count = 2,
                  .prd = &prd, .nprd = 1 };
        issue(s, 0, 1, &c);
        g_assert_cmphex(prd_(s, 0, PxTFD), ==, (ERR_IDNF << 8) | 0x41);
        g_assert_cmphex(prd_(s, 0, PxCMD) >> 8 & 0x1f, ==, 1);  /* CCS */
        expect_stop(s, 0, 1, IS_TFES);
    }
    /* the stopped list takes no new command until ST is cleared */
    {
        Cmd bad = { .command = 0xfe };
        Cmd ok = { .command = 0xe7 };
        issue(s, 0, 0, &bad);
        issue(s, 0, 1, &ok);
        g_assert_cmphex(prd_(s, 0, PxCI), ==, 0x3);
        port_restart(s, 0);
        issue(s, 0, 1, &ok);
        assert_ok(s, 0, 1);
    }
    /* PRDs shorter than the transfer, and none at all: overflow */
    {
        Cmd c = { .command = 0x25, .count = 8, .prd = &short_prd,
                  .nprd = 1 };
        issue(s, 0, 2, &c);
        expect_stop(s, 0, 2, IS_OFS | IS_TFES);
        c.nprd = 0;
        issue(s, 0, 2, &c);
        expect_stop(s, 0, 2, IS_OFS | IS_TFES);
        c.hdr_flags = HDR_W;            /* a write with no data to take */
        c.command = 0x35;
        issue(s, 0, 2, &c);
        expect_stop(s, 0, 2, IS_OFS | IS_TFES);
    }
    /* a huge PRDTL is fine: only the entries the data needs are read */
    {
        Cmd c = { .command = 0x25, .count = 8, .prd = &prd, .nprd = 1,
                  .prdtl_override = 0xffff };
        clear_is(s, 0);
        issue(s, 0, 3, &c);
        assert_ok(s, 0, 3);
    }
    /* a PRD outside RAM, and one aimed at the HBA itself */
    {
        Cmd c = { .command = 0x25, .count = 8, .prd = &bad_prd, .nprd = 1 };
        issue(s, 0, 4, &c);
        expect_stop(s, 0, 4, IS_HBFS);
        c.prd = &self_prd;
        issue(s, 0, 4, &c);
        expect_stop(s, 0, 4, IS_HBFS);
        g_assert_cmphex(rd(s, CAP), ==, 0xe1141f05);
    }
    /* the PRD table past the end of RAM */
    {
        Cmd c = { .command = 0x25, .count = 8, .prd = NULL, .nprd = 0,
                  .prdtl_override = 1, .ctba = RAM_SIZE - 0x80 };
        issue(s, 0, 5, &c);
        expect_stop(s, 0, 5, IS_HBFS);
    }
    /* the command table outside RAM */
    {
        Cmd c = { .command = 0xe7 };
        put_cmd(s, 0, 6, &c);
        qtest_writel(s, CLB(0) + 32 * 6 + 12, 0x10);    /* CTBAU: 64 GiB */
        pwr(s, 0, PxCI, 1u << 6);
        expect_stop(s, 0, 6, IS_HBFS);
    }
    /* a FIS that is not a Register H2D FIS, and one too short */
    {
        Cmd c = { .command = 0xe7, .fis_type = 0x34 };
        issue(s, 0, 7, &c);
        expect_stop(s, 0, 7, IS_IFS);
        c.fis_type = 0;
        c.cfl = 2;
        issue(s, 0, 7, &c);
        expect_stop(s, 0, 7, IS_IFS);
    }
    /* the command list outside RAM */
    {
        Cmd c = { .command = 0xe7 };
        put_cmd(s, 0, 8, &c);
        pwr(s, 0, PxCMD, CMD_FRE);
        pwr(s, 0, PxCLBU, 0x10);
        pwr(s, 0, PxCMD, CMD_FRE | CMD_ST);
        pwr(s, 0, PxCI, 1u << 8);
        expect_stop(s, 0, 8, IS_HBFS);
        pwr(s, 0, PxCMD, CMD_FRE);
        pwr(s, 0, PxCLBU, 0);
        pwr(s, 0, PxCMD, CMD_FRE | CMD_ST);
    }
    /* the FIS area outside RAM */
    {
        Cmd c = { .command = 0xe7 };
        pwr(s, 0, PxCMD, 0);
        pwr(s, 0, PxFB, 0xfffff000u);   /* BIOS ROM: writes go nowhere */
        pwr(s, 0, PxCLBU, 0);
        pwr(s, 0, 0x0c, 0x10);          /* PxFBU: 64 GiB */
        pwr(s, 0, PxCMD, CMD_FRE | CMD_ST);
        issue(s, 0, 9, &c);
        g_assert_cmphex(prd_(s, 0, PxIS) & IS_HBFS, ==, IS_HBFS);
        pwr(s, 0, PxCMD, 0);
        pwr(s, 0, 0x0c, 0);
        port_start(s, 0);
    }
    /* bus mastering off: nothing is fetched */
    {
        Cmd c = { .command = 0xe7 };
        put_cmd(s, 0, 10, &c);
        cfg_writew(s, 0x04, 0x03);
        pwr(s, 0, PxCI, 1u << 10);
        expect_stop(s, 0, 10, IS_HBFS);
        cfg_writew(s, 0x04, 0x07);
    }
    /* after all that, the port still works */
    {
        clear_is(s, 0);
        read_cmd(s, 0, 0, 0x25, 3, 8, &prd, 1);
        check_mem_vs_file(s, DATA, f.disk, 3 * 512, 4096);
    }
    /* a command to an empty port stays issued, nothing else happens */
    port_start(s, 3);
    pwr(s, 3, PxCI, 1);
    g_assert_cmphex(prd_(s, 3, PxCI), ==, 1);
    g_assert_cmphex(prd_(s, 3, PxIS), ==, 0);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

/* ---- the command line ------------------------------------------------------ */

static void test_bootindex(void)
{
    Fixture f;
    QTestState *s;
    g_autofree char *order = NULL;
    g_autofree char *args = NULL;

    fixture_init(&f);
    args = g_strdup_printf(
        "-drive if=none,id=d0,format=raw,file=%s "
        "-drive if=none,id=c0,format=raw,media=cdrom,file=%s "
        "-device ich9-ahci,id=sata,addr=05.0 "
        "-device ide-hd,drive=d0,bus=sata.2,bootindex=2 "
        "-device ide-cd,drive=c0,bus=sata.5,bootindex=1", f.disk, f.iso);
    s = qtest_init(args);
    order = qtest_fw_cfg_file(s, "bootorder");
    g_assert_nonnull(order);
    /* what QEMU 7.2 writes for the same command line */
    g_assert_cmpstr(order, ==, "/pci@i0cf8/pci8086,2922@5/drive@5/disk@0\n"
                    "/pci@i0cf8/pci8086,2922@5/drive@2/disk@0");
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

/* Bad placements fail at start-up with one line naming the problem. */
static void expect_start_error(const char *args, const char *what)
{
    g_autofree char *cmd = g_strdup_printf(
        "%s -machine pc -accel qtest -nodefaults -display none %s",
        qtest_kvmpc_binary(), args);
    g_autofree char *out = NULL, *err = NULL;
    int status;

    g_assert_true(g_spawn_command_line_sync(cmd, &out, &err, &status, NULL));
    g_assert_false(g_spawn_check_wait_status(status, NULL));
    if (!strstr(err, what)) {
        g_error("'%s': expected '%s' in: %s", args, what, err);
    }
}

static void test_cli(void)
{
    Fixture f;
    g_autofree char *a = NULL, *b = NULL, *c = NULL, *d = NULL;

    fixture_init(&f);
    a = g_strdup_printf("-drive if=none,id=d,format=raw,file=%s "
                        "-device ahci,id=a0 -device ide-hd,drive=d,"
                        "bus=a0.6", f.disk);
    expect_start_error(a, "a0.6");
    b = g_strdup_printf("-drive if=none,id=d,format=raw,file=%s "
                        "-device ahci,id=a0 -device ide-hd,drive=d,"
                        "bus=a0.1,unit=1", f.disk);
    expect_start_error(b, "only 0");
    c = g_strdup_printf("-drive if=none,id=d,format=raw,file=%s "
                        "-drive if=none,id=e,format=raw,file=%s "
                        "-device ahci,id=a0 -device ide-hd,drive=d,bus=a0.1 "
                        "-device ide-hd,drive=e,bus=a0.1", f.disk, f.iso);
    expect_start_error(c, "no free IDE unit on bus 'a0.1'");
    /* without bus=: the PIIX3 channels first, then the AHCI ports */
    d = g_strdup_printf("-drive if=none,id=d,format=raw,file=%s "
                        "-device ahci,id=a0,addr=04.0 "
                        "-device ide-cd -device ide-cd -device ide-cd "
                        "-device ide-cd -device ide-hd,drive=d", f.disk);
    {
        QTestState *s = start_args(d);
        g_assert_cmphex(prd_(s, 0, PxSIG), ==, 0x101);
        g_assert_cmphex(prd_(s, 1, PxSSTS), ==, 0);
        g_assert_cmpint(qtest_quit(s), ==, 0);
    }
    fixture_free(&f);
}

/* ---- asynchronous I/O and I/O limits ----------------------------------- */

/* An AHCI disk on port 0 with I/O limits, and a QMP socket. */
static QTestState *start_limited(Fixture *f, const char *limits,
                                 QMPConn **qmp)
{
    g_autofree char *sock = g_build_filename(f->dir, "qmp.sock", NULL);
    g_autofree char *args = g_strdup_printf(
        DEVICES "-drive file=%s,format=raw,if=none,id=d0,%s "
        "-device ide-hd,drive=d0,bus=ahci0.0 "
        "-qmp unix:%s,server=on,wait=off", f->disk, limits, sock);
    QTestState *s = start_args(args);

    *qmp = qmp_connect(sock);
    unlink(sock);
    return s;
}

/* Issue @c in @slot without waiting for it (the raw PxCI write). */
static void issue_nowait(QTestState *s, int port, int slot, const Cmd *c)
{
    put_cmd(s, port, slot, c);
    clear_is(s, port);
    wr(s, 0x100 + port * 0x80 + PxCI, 1u << slot);
}

/*
 * I/O limits slow a SATA disk: at iops-total=20, 12 READ DMA EXT take at
 * least ~0.45 s (checked as >= 0.35 s: a lower bound, which a loaded host
 * can only raise).
 */
static void test_io_limits(void)
{
    Fixture f;
    QMPConn *qmp;
    QTestState *s;
    PRD prd = { DATA, 512 };
    gint64 t0;
    double secs;

    fixture_init(&f);
    s = start_limited(&f, "throttling.iops-total=20", &qmp);
    port_start(s, 0);
    t0 = g_get_monotonic_time();
    for (int i = 0; i < 12; i++) {
        read_cmd(s, 0, i % 4, 0x25, 40 + i, 1, &prd, 1);
        check_mem_vs_file(s, DATA, f.disk, (40 + i) * 512, 512);
    }
    secs = (g_get_monotonic_time() - t0) / 1e6;
    g_test_message("12 AHCI reads at iops=20: %.2f s", secs);
    g_assert_cmpfloat(secs, >=, 0.35);
    qmp_close(qmp);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

/*
 * A command waiting for the disk (held by iops-total=1: the first read
 * fills the bucket, the next waits about a second) keeps its PxCI bit and
 * PxTFD BSY, while QMP answers; 'stop' drains it (the command completes,
 * its data is in memory); a COMRESET while one waits drops it: PxTFD
 * shows BSY until the drive is back, then the signature, and the port
 * works again.
 */
static void test_in_flight(void)
{
    Fixture f;
    QMPConn *qmp;
    QTestState *s;
    PRD prd = { DATA, 512 };
    Cmd c = { .command = 0x25, .count = 1, .prd = &prd, .nprd = 1 };
    g_autofree char *r = NULL;

    fixture_init(&f);
    s = start_limited(&f, "throttling.iops-total=1", &qmp);
    port_start(s, 0);
    read_cmd(s, 0, 0, 0x25, 5, 1, &prd, 1);
    /* queued behind the limit */
    qtest_memset(s, DATA, 0, 512);
    c.lba = 6;
    issue_nowait(s, 0, 1, &c);
    g_assert_cmphex(prd_(s, 0, PxCI), ==, 0x2);
    g_assert_cmphex(prd_(s, 0, PxTFD) & 0x80, ==, 0x80);
    r = qmp_cmd(qmp, "{\"execute\":\"query-status\"}");
    g_assert_nonnull(strstr(r, "\"running\""));
    g_assert_cmphex(prd_(s, 0, PxCI), ==, 0x2);     /* still waiting */
    /* stop: the request goes and the command completes */
    qmp_assert_ok(qmp, "{\"execute\":\"stop\"}");
    port_wait(s, 0, 0x2);
    assert_ok(s, 0, 1);
    g_assert_cmphex(prd_(s, 0, PxIS) & IS_DHRS, ==, IS_DHRS);
    check_mem_vs_file(s, DATA, f.disk, 6 * 512, 512);
    qmp_assert_ok(qmp, "{\"execute\":\"cont\"}");

    /* COMRESET while a command waits */
    c.lba = 7;
    issue_nowait(s, 0, 2, &c);
    g_assert_cmphex(prd_(s, 0, PxCI), ==, 0x4);
    pwr(s, 0, PxSCTL, 1);
    pwr(s, 0, PxSCTL, 0);
    g_assert_cmphex(prd_(s, 0, PxTFD) & 0x80, ==, 0x80);
    for (gint64 end = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
         (prd_(s, 0, PxTFD) & 0x80) && g_get_monotonic_time() < end;) {
    }
    g_assert_cmphex(prd_(s, 0, PxTFD), ==, 0x50);
    g_assert_cmphex(prd_(s, 0, PxSIG), ==, 0x101);
    /* the limits off, the port restarted: reads work */
    qmp_assert_ok(qmp, "{\"execute\":\"block_set_io_throttle\",\"arguments\":"
                  "{\"device\":\"d0\",\"bps\":0,\"bps_rd\":0,\"bps_wr\":0,"
                  "\"iops\":0,\"iops_rd\":0,\"iops_wr\":0}}");
    port_restart(s, 0);
    read_cmd(s, 0, 3, 0x25, 8, 1, &prd, 1);
    check_mem_vs_file(s, DATA, f.disk, 8 * 512, 512);
    qmp_close(qmp);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ahci/pci-function", test_pci_function);
    g_test_add_func("/ahci/registers", test_registers);
    g_test_add_func("/ahci/port-start-stop", test_port_start_stop);
    g_test_add_func("/ahci/identify", test_identify);
    g_test_add_func("/ahci/dma/read-write", test_dma_read_write);
    g_test_add_func("/ahci/pio", test_pio);
    g_test_add_func("/ahci/dma/multi-prd", test_multi_prd);
    g_test_add_func("/ahci/ncq", test_ncq);
    g_test_add_func("/ahci/ncq/error", test_ncq_error);
    g_test_add_func("/ahci/ncq/concurrent", test_ncq_concurrent);
    g_test_add_func("/ahci/ncq/error-in-flight", test_ncq_error_in_flight);
    g_test_add_func("/ahci/ncq/stop-in-flight", test_ncq_stop_in_flight);
    g_test_add_func("/ahci/ncq/bad-prd", test_ncq_bad_prd);
    g_test_add_func("/ahci/atapi", test_atapi);
    g_test_add_func("/ahci/interrupts", test_interrupts);
    g_test_add_func("/ahci/errors", test_errors);
    g_test_add_func("/ahci/bootindex", test_bootindex);
    g_test_add_func("/ahci/cli", test_cli);
    g_test_add_func("/ahci/io-limits", test_io_limits);
    g_test_add_func("/ahci/in-flight", test_in_flight);
    return g_test_run();
}

/*
 * usb-uas (hw/usb/dev-uas.c) with a scsi-hd on its bus, driven from a
 * qtest as a UAS driver would, on qemu-xhci at SuperSpeed with bulk
 * streams (hw/usb/hcd-xhci-streams.c) and on usb-ehci at high speed
 * (READ READY / WRITE READY).
 *
 * Covered: the descriptors (device, both alternate settings, the pipe
 * usage descriptors, the SuperSpeed companions with MaxStreams), SET/GET
 * INTERFACE; INQUIRY, TEST UNIT READY with its unit attention as
 * autosense, READ CAPACITY (10), WRITE (10) checked in the image file,
 * READ (10), commands queued on several tags at once with their status
 * read before their command is sent; the error paths: an IU of an unknown
 * type, a short COMMAND IU, a tag beyond the streams, an overlapped tag,
 * a LUN the bus cannot have; task management (ABORT TASK, QUERY TASK,
 * LOGICAL UNIT RESET, an unsupported function, a TMF to an absent LUN,
 * ABORT TASK of a command with I/O running, and of a WRITE SAME whose
 * chain of block requests stops at the step out; a Bulk-Only Mass
 * Storage Reset doing the same to a Bulk-Only WRITE SAME);
 * xHCI streams: Configure Endpoint with MaxPStreams/LSA, doorbells with
 * a stream ID, a stream ID of 0 and beyond the array (Invalid Stream ID,
 * the endpoint in the Error state), LSA = 0 (Invalid Stream Type),
 * MaxPStreams above MaxPSASize (Parameter Error), Stop Endpoint writing
 * the stream contexts back, Set TR Dequeue Pointer of a stream; the
 * Bulk-Only fallback on alternate setting 0; a migration with a read's
 * data and its status still waiting in the device (UAS tasks and stream
 * rings in the device state).
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <fcntl.h>
#include <inttypes.h>
#include <unistd.h>
#include "libqtest.h"
#include "libqusb.h"
#include "libqvirtio.h"

/* ---- xHCI ------------------------------------------------------------- */

#define XHCI_DEVFN      (9 << 3)
#define BAR             QUSB_BAR
#define DATA            QXHCI_DATA
#define STATUS_BUF(t)   (0x580000 + 0x100 * (t))
#define CMD_BUF(n)      (0x590000 + 0x40 * ((n) & 0xff))

/* UAS: pipes and their DCIs at alternate setting 1, IUs */
#define DCI_CMD         2       /* EP1 OUT */
#define DCI_STATUS      5       /* EP2 IN */
#define DCI_DIN         7       /* EP3 IN */
#define DCI_DOUT        8       /* EP4 OUT */
#define DCI_BOT_IN      3       /* alternate setting 0: EP1 IN */
#define DCI_BOT_OUT     4       /* EP2 OUT */
#define MAXPSTREAMS     4       /* 32 stream contexts: streams 1..31 */

#define IU_COMMAND      0x01
#define IU_SENSE        0x03
#define IU_RESPONSE     0x04
#define IU_TMF          0x05
#define IU_READ_READY   0x06
#define IU_WRITE_READY  0x07

typedef struct Env {
    QTestState *qts;
    QMPConn *qmp;
    char *dir;
    char *img;
    QXhci x;
    QEhci h;
    unsigned cmd_n;
} Env;

/* A fresh Env with a scratch directory (GLib's default name) holding a
 * 1 MiB raw image for the scsi-hd. */
static void env_make_disk(Env *e)
{
    memset(e, 0, sizeof(*e));
    qusb_make_disk(1 << 20, &e->dir, &e->img);
}

static void env_start(Env *e, const char *extra)
{
    g_autofree char *qmp = NULL, *args = NULL;

    env_make_disk(e);
    qmp = g_build_filename(e->dir, "qmp.sock", NULL);
    args = g_strdup_printf("-nodefaults -device qemu-xhci,addr=09.0,id=xhci "
                           "-drive if=none,id=d0,format=raw,file=%s "
                           "-device usb-uas,id=uas,bus=xhci.0,port=1 "
                           "-device scsi-hd,bus=uas.0,lun=0,drive=d0 %s "
                           "-qmp unix:%s,server=on,wait=off",
                           e->img, extra, qmp);
    e->qts = qtest_init(args);
    e->qmp = qmp_connect(qmp);
    qxhci_init(&e->x, e->qts, XHCI_DEVFN);
    /* commands run on several streams at once: wait for each TRB's own
     * event, keeping the others */
    e->x.keep_events = true;
}

static void env_cleanup(Env *e)
{
    g_autofree char *qmp = g_build_filename(e->dir, "qmp.sock", NULL);
    g_autofree char *mig = g_build_filename(e->dir, "mig", NULL);

    unlink(qmp);
    unlink(mig);
    unlink(e->img);
    rmdir(e->dir);
    g_free(e->img);
    g_free(e->dir);
}

static void env_stop(Env *e)
{
    qmp_close(e->qmp);
    qtest_quit(e->qts);
    env_cleanup(e);
}

/* The usb-uas on USB 3 port 5 (USB port 1 of p2=4): slot, address. */
static unsigned attach_uas(Env *e)
{
    const unsigned port = 5;

    g_assert_cmphex(qxhci_portsc(&e->x, port) & 3, ==, 3);
    g_assert_cmpuint((qxhci_portsc(&e->x, port) >> 10) & 0xf, ==,
                     4);                                /* SuperSpeed */
    return qxhci_address_device(&e->x, port, 512);
}

/* Add a UAS pipe (1024-byte packets) with @maxps streams or none. */
static unsigned configure_ep(Env *e, unsigned slot, unsigned dci,
                             unsigned type, unsigned maxps, bool lsa)
{
    return qxhci_configure_ep(&e->x, slot, dci, type, 1024, maxps, lsa);
}

/* Send an IU on the command pipe. */
static void send_iu(Env *e, unsigned slot, const uint8_t *iu, unsigned len)
{
    uint64_t buf = CMD_BUF(e->cmd_n++);
    uint64_t trb;

    qtest_memwrite(e->qts, buf, iu, len);
    trb = qxhci_post(&e->x, slot, DCI_CMD, 0, buf, len);
    g_assert_cmpint(qxhci_done_len(&e->x, trb, len), ==, len);
}

static void make_command_iu(uint8_t *iu, uint16_t tag, unsigned lun,
                            const uint8_t *cdb, unsigned cdb_len)
{
    memset(iu, 0, 32);
    iu[0] = IU_COMMAND;
    iu[2] = tag >> 8;
    iu[3] = tag;
    iu[9] = lun;
    memcpy(iu + 16, cdb, cdb_len);
}

/* Read the status IU of stream @tag (posted before, at @trb). */
static int status_iu(Env *e, uint64_t trb, uint16_t tag, uint8_t *iu)
{
    int n = qxhci_done_len(&e->x, trb, 64);

    qtest_memread(e->qts, STATUS_BUF(tag), iu, MAX(n, 0));
    g_assert_cmphex(iu[2] << 8 | iu[3], ==, tag);
    return n;
}

static uint64_t post_status(Env *e, unsigned slot, uint16_t tag)
{
    qtest_memset(e->qts, STATUS_BUF(tag), 0, 64);
    return qxhci_post(&e->x, slot, DCI_STATUS, tag, STATUS_BUF(tag), 64);
}

/*
 * One command as Linux's uas driver sends it: status and data first, on
 * the streams of @tag, then the COMMAND IU.  @in: data-in, else data-out
 * (when @len).  Returns the SCSI status of the SENSE IU; its sense key
 * in *key when given.
 */
static int uas_cmd(Env *e, unsigned slot, uint16_t tag, const uint8_t *cdb,
                   unsigned cdb_len, bool in, unsigned len, uint64_t buf,
                   int *moved, uint8_t *key)
{
    uint8_t iu[64];
    uint64_t st, data = 0;
    int n;

    st = post_status(e, slot, tag);
    if (len) {
        data = qxhci_post(&e->x, slot, in ? DCI_DIN : DCI_DOUT, tag, buf, len);
    }
    make_command_iu(iu, tag, 0, cdb, cdb_len);
    send_iu(e, slot, iu, 32);
    if (len) {
        n = qxhci_done_len(&e->x, data, len);
        if (moved) {
            *moved = n;
        } else {
            g_assert_cmpint(n, ==, len);
        }
    }
    n = status_iu(e, st, tag, iu);
    g_assert_cmpuint(iu[0], ==, IU_SENSE);
    g_assert_cmpint(n, ==, 16 + (iu[14] << 8 | iu[15]));
    if (key) {
        *key = n >= 16 + 3 ? iu[16 + 2] & 0xf : 0;
    }
    return iu[6];
}

/* Alternate setting 1 and its four pipes, three with streams. */
static void uas_setup(Env *e, unsigned slot)
{
    g_assert_cmpint(qxhci_control(&e->x, slot, 0x00, 9, 1, 0, 0, NULL), ==, 0);
    g_assert_cmpint(qxhci_control(&e->x, slot, 0x01, 11, 1, 0, 0, NULL), ==, 0);
    g_assert_cmpuint(configure_ep(e, slot, DCI_CMD, 2, 0, false), ==,
                     CC_SUCCESS);
    g_assert_cmpuint(configure_ep(e, slot, DCI_STATUS, 6, MAXPSTREAMS, true),
                     ==, CC_SUCCESS);
    g_assert_cmpuint(configure_ep(e, slot, DCI_DIN, 6, MAXPSTREAMS, true), ==,
                     CC_SUCCESS);
    g_assert_cmpuint(configure_ep(e, slot, DCI_DOUT, 2, MAXPSTREAMS, true), ==,
                     CC_SUCCESS);
}

/* ---- SuperSpeed tests ------------------------------------------------ */

static void test_descriptors_ss(void)
{
    Env e;
    uint8_t buf[256];
    unsigned slot, off, alt = 0, nep = 0, pipes = 0;
    int n;

    env_start(&e, "");
    /* MaxPSASize 7 and NSS in HCCPARAMS1 */
    g_assert_cmphex((qtest_readl(e.qts, BAR + 0x10) >> 12) & 0xf, ==, 7);
    g_assert_cmphex(qtest_readl(e.qts, BAR + 0x10) & 0x80, ==, 0x80);
    qxhci_hc_start(&e.x);
    slot = attach_uas(&e);
    n = qxhci_control(&e.x, slot, 0x80, 6, 0x100, 0, 18, buf);
    g_assert_cmpint(n, ==, 18);
    g_assert_cmphex(buf[2] | buf[3] << 8, ==, 0x0300);
    g_assert_cmphex(buf[8] | buf[9] << 8, ==, 0x46f4);
    g_assert_cmphex(buf[10] | buf[11] << 8, ==, 0x0003);
    /* config, alt 0 (2 endpoints + companions), alt 1 (4 endpoints +
     * companions + pipe usage) */
    n = qxhci_control(&e.x, slot, 0x80, 6, 0x200, 0, 255, buf);
    g_assert_cmpint(n, ==, 9 + 9 + 2 * 13 + 9 + 4 * 17);
    g_assert_cmpuint(buf[2] | buf[3] << 8, ==, n);
    g_assert_cmpuint(buf[4], ==, 1);                    /* one interface */
    for (off = 9; off < (unsigned)n; off += buf[off]) {
        switch (buf[off + 1]) {
        case 4:                                         /* interface */
            alt = buf[off + 3];
            g_assert_cmpuint(buf[off + 2], ==, 0);
            g_assert_cmpuint(buf[off + 5], ==, 8);
            g_assert_cmpuint(buf[off + 6], ==, 6);
            g_assert_cmpuint(buf[off + 7], ==, alt ? 0x62 : 0x50);
            g_assert_cmpuint(buf[off + 4], ==, alt ? 4 : 2);
            break;
        case 5:                                         /* endpoint */
            nep++;
            g_assert_cmpuint(buf[off + 3], ==, 2);      /* bulk */
            g_assert_cmpuint(buf[off + 4] | buf[off + 5] << 8, ==, 1024);
            /* the companion follows: MaxStreams 4 on status and data */
            g_assert_cmpuint(buf[off + 7 + 1], ==, 0x30);
            g_assert_cmpuint(buf[off + 7 + 2], ==, 15);
            g_assert_cmpuint(buf[off + 7 + 3], ==,
                             alt && (buf[off + 2] & 0xf) != 1 ? 4 : 0);
            if (alt) {
                /* then the pipe usage descriptor: pipe ID = endpoint */
                g_assert_cmpuint(buf[off + 13], ==, 4);
                g_assert_cmpuint(buf[off + 14], ==, 0x24);
                g_assert_cmpuint(buf[off + 15], ==, buf[off + 2] & 0xf);
                pipes |= 1u << buf[off + 15];
            }
            break;
        }
    }
    g_assert_cmpuint(nep, ==, 6);
    g_assert_cmphex(pipes, ==, 0x1e);
    g_assert_cmphex(buf[9 + 9 + 2] , ==, 0x81);         /* BOT IN 1 */
    /* alternate settings: 0 after SET_CONFIGURATION, 1, and no 2 */
    g_assert_cmpint(qxhci_control(&e.x, slot, 0x00, 9, 1, 0, 0, NULL), ==, 0);
    g_assert_cmpint(qxhci_control(&e.x, slot, 0x81, 10, 0, 0, 1, buf), ==, 1);
    g_assert_cmpuint(buf[0], ==, 0);
    g_assert_cmpint(qxhci_control(&e.x, slot, 0x01, 11, 1, 0, 0, NULL), ==, 0);
    g_assert_cmpint(qxhci_control(&e.x, slot, 0x81, 10, 0, 0, 1, buf), ==, 1);
    g_assert_cmpuint(buf[0], ==, 1);
    g_assert_cmpint(qxhci_control(&e.x, slot, 0x01, 11, 2, 0, 0, NULL), ==, -6);
    env_stop(&e);
}

static void test_commands_ss(void)
{
    Env e;
    uint8_t cdb[16], buf[256], key, sectors[1024], back[1024];
    g_autofree uint8_t *file = NULL;
    unsigned slot;
    uint64_t st1, st2, d1;

    env_start(&e, "");
    qxhci_hc_start(&e.x);
    slot = attach_uas(&e);
    uas_setup(&e, slot);

    memset(cdb, 0, sizeof(cdb));
    cdb[0] = 0x12;                                      /* INQUIRY */
    cdb[4] = 36;
    g_assert_cmpint(uas_cmd(&e, slot, 1, cdb, 6, true, 36, DATA, NULL, NULL),
                    ==, 0);
    qtest_memread(e.qts, DATA, buf, 36);
    g_assert_cmphex(buf[0], ==, 0);
    g_assert_cmpmem(buf + 8, 4, "QEMU", 4);
    /* TEST UNIT READY: the power-on unit attention, as autosense */
    memset(cdb, 0, sizeof(cdb));
    g_assert_cmpint(uas_cmd(&e, slot, 2, cdb, 6, false, 0, 0, NULL, &key),
                    ==, 2);
    g_assert_cmpuint(key, ==, 6);
    g_assert_cmpint(uas_cmd(&e, slot, 2, cdb, 6, false, 0, 0, NULL, &key),
                    ==, 0);
    cdb[0] = 0x25;                                      /* READ CAPACITY */
    g_assert_cmpint(uas_cmd(&e, slot, 3, cdb, 10, true, 8, DATA, NULL, NULL),
                    ==, 0);
    qtest_memread(e.qts, DATA, buf, 8);
    g_assert_cmpuint((uint32_t)buf[0] << 24 | buf[1] << 16 | buf[2] << 8 |
                     buf[3], ==, 2047);
    g_assert_cmpuint(buf[6] << 8 | buf[7], ==, 512);
    /* WRITE (10) two sectors at LBA 4: on the host's image */
    for (unsigned i = 0; i < sizeof(sectors); i++) {
        sectors[i] = i * 7 + 3;
    }
    qtest_memwrite(e.qts, DATA + 0x1000, sectors, sizeof(sectors));
    memset(cdb, 0, sizeof(cdb));
    cdb[0] = 0x2a;
    cdb[5] = 4;
    cdb[8] = 2;
    g_assert_cmpint(uas_cmd(&e, slot, 16, cdb, 10, false, 1024,
                            DATA + 0x1000, NULL, NULL), ==, 0);
    memset(cdb, 0, sizeof(cdb));
    cdb[0] = 0x35;                                      /* SYNC CACHE */
    g_assert_cmpint(uas_cmd(&e, slot, 4, cdb, 10, false, 0, 0, NULL, NULL),
                    ==, 0);
    file = qtest_file_range(e.img, 4 * 512, 1024);
    g_assert_cmpmem(file, 1024, sectors, 1024);
    /* READ (10) back */
    qtest_memset(e.qts, DATA + 0x2000, 0, 1024);
    cdb[0] = 0x28;
    cdb[5] = 4;
    cdb[8] = 2;
    g_assert_cmpint(uas_cmd(&e, slot, 5, cdb, 10, true, 1024, DATA + 0x2000,
                            NULL, NULL), ==, 0);
    qtest_memread(e.qts, DATA + 0x2000, back, 1024);
    g_assert_cmpmem(back, 1024, sectors, 1024);
    /* a read past the end: CHECK CONDITION with no data phase, ILLEGAL
     * REQUEST in the SENSE IU */
    cdb[5] = 0;
    cdb[4] = 0x10;
    g_assert_cmpint(uas_cmd(&e, slot, 6, cdb, 10, true, 0, 0, NULL, &key),
                    ==, 2);
    g_assert_cmpuint(key, ==, 5);

    /* two commands at once, the second's status read first */
    memset(cdb, 0, sizeof(cdb));
    cdb[0] = 0x12;
    cdb[4] = 36;
    st2 = post_status(&e, slot, 8);
    st1 = post_status(&e, slot, 7);
    d1 = qxhci_post(&e.x, slot, DCI_DIN, 7, DATA + 0x3000, 36);
    make_command_iu(buf, 7, 0, cdb, 6);
    send_iu(&e, slot, buf, 32);
    memset(cdb, 0, sizeof(cdb));                        /* TUR */
    make_command_iu(buf, 8, 0, cdb, 6);
    send_iu(&e, slot, buf, 32);
    g_assert_cmpint(status_iu(&e, st2, 8, buf), ==, 16);
    g_assert_cmpuint(buf[6], ==, 0);
    g_assert_cmpint(qxhci_done_len(&e.x, d1, 36), ==, 36);
    g_assert_cmpint(status_iu(&e, st1, 7, buf), ==, 16);
    g_assert_cmpuint(buf[0], ==, IU_SENSE);
    env_stop(&e);
}

/* Garbage on the command pipe: RESPONSE IUs with the error. */
static void test_errors_ss(void)
{
    Env e;
    uint8_t iu[64], cdb[16] = { 0 };
    unsigned slot;
    uint64_t st, st2;

    env_start(&e, "");
    qxhci_hc_start(&e.x);
    slot = attach_uas(&e);
    uas_setup(&e, slot);

    /* an IU of a type the host must not send */
    st = post_status(&e, slot, 3);
    memset(iu, 0, sizeof(iu));
    iu[0] = IU_SENSE;
    iu[3] = 3;
    send_iu(&e, slot, iu, 16);
    g_assert_cmpint(status_iu(&e, st, 3, iu), ==, 8);
    g_assert_cmpuint(iu[0], ==, IU_RESPONSE);
    g_assert_cmpuint(iu[7], ==, 0x02);                  /* INVALID IU */
    /* a COMMAND IU cut short */
    st = post_status(&e, slot, 4);
    make_command_iu(iu, 4, 0, cdb, 6);
    send_iu(&e, slot, iu, 20);
    g_assert_cmpint(status_iu(&e, st, 4, iu), ==, 8);
    g_assert_cmpuint(iu[7], ==, 0x02);
    /* tag 17: not a stream of the device (MaxStreams 4: 1-16); the host
     * has a stream 17 to read the answer on */
    st = post_status(&e, slot, 17);
    make_command_iu(iu, 17, 0, cdb, 6);
    send_iu(&e, slot, iu, 32);
    g_assert_cmpint(status_iu(&e, st, 17, iu), ==, 8);
    g_assert_cmpuint(iu[7], ==, 0x02);
    /* a LUN field with bytes the bus cannot have */
    st = post_status(&e, slot, 5);
    make_command_iu(iu, 5, 0, cdb, 6);
    iu[10] = 1;
    send_iu(&e, slot, iu, 32);
    g_assert_cmpint(status_iu(&e, st, 5, iu), ==, 8);
    g_assert_cmpuint(iu[7], ==, 0x09);                  /* INCORRECT LUN */
    /* overlapped tag: a WRITE waits for data on tag 6; a second command
     * on tag 6 aborts it and is answered OVERLAPPED TAG ATTEMPTED */
    cdb[0] = 0x2a;
    cdb[8] = 1;
    st = post_status(&e, slot, 6);
    make_command_iu(iu, 6, 0, cdb, 10);
    send_iu(&e, slot, iu, 32);
    qxhci_assert_no_event(&e.x, 32, st);
    send_iu(&e, slot, iu, 32);
    g_assert_cmpint(status_iu(&e, st, 6, iu), ==, 8);
    g_assert_cmpuint(iu[0], ==, IU_RESPONSE);
    g_assert_cmpuint(iu[7], ==, 0x0a);
    /* the tag is free again, and nothing else comes on it */
    st2 = post_status(&e, slot, 6);
    qxhci_assert_no_event(&e.x, 32, st2);
    memset(cdb, 0, sizeof(cdb));
    make_command_iu(iu, 6, 0, cdb, 6);                  /* TUR */
    send_iu(&e, slot, iu, 32);
    g_assert_cmpint(status_iu(&e, st2, 6, iu), ==, 16 + 18);  /* UA */
    g_assert_cmpuint(iu[0], ==, IU_SENSE);
    g_assert_cmpuint(iu[6], ==, 2);
    env_stop(&e);
}

static void tmf_iu(uint8_t *iu, uint16_t tag, uint8_t function,
                   uint16_t managed, unsigned lun)
{
    memset(iu, 0, 16);
    iu[0] = IU_TMF;
    iu[2] = tag >> 8;
    iu[3] = tag;
    iu[4] = function;
    iu[6] = managed >> 8;
    iu[7] = managed;
    iu[9] = lun;
}

static uint8_t tmf(Env *e, unsigned slot, uint16_t tag, uint8_t function,
                   uint16_t managed, unsigned lun)
{
    uint8_t iu[64];
    uint64_t st = post_status(e, slot, tag);

    tmf_iu(iu, tag, function, managed, lun);
    send_iu(e, slot, iu, 16);
    g_assert_cmpint(status_iu(e, st, tag, iu), ==, 8);
    g_assert_cmpuint(iu[0], ==, IU_RESPONSE);
    return iu[7];
}

static void test_task_management_ss(void)
{
    Env e;
    uint8_t iu[64], cdb[16] = { 0x2a, 0, 0, 0, 0, 0, 0, 0, 1 }, key;
    unsigned slot;
    uint64_t st;

    env_start(&e, "");
    qxhci_hc_start(&e.x);
    slot = attach_uas(&e);
    uas_setup(&e, slot);

    /* a WRITE waiting for its data on tag 9 */
    st = post_status(&e, slot, 9);
    make_command_iu(iu, 9, 0, cdb, 10);
    send_iu(&e, slot, iu, 32);
    g_assert_cmpuint(tmf(&e, slot, 10, 0x80, 9, 0), ==, 0x08);  /* there */
    g_assert_cmpuint(tmf(&e, slot, 10, 0x81, 0, 0), ==, 0x08);
    g_assert_cmpuint(tmf(&e, slot, 11, 0x01, 9, 0), ==, 0x00);  /* abort */
    g_assert_cmpuint(tmf(&e, slot, 10, 0x80, 9, 0), ==, 0x00);  /* gone */
    qxhci_assert_no_event(&e.x, 32, st);
    /* unsupported function, a LUN with no device, a TMF on a tag in use */
    g_assert_cmpuint(tmf(&e, slot, 12, 0x40, 0, 0), ==, 0x04);
    g_assert_cmpuint(tmf(&e, slot, 12, 0x01, 9, 3), ==, 0x09);
    /* LOGICAL UNIT RESET: the next command sees the reset's UA */
    memset(cdb, 0, sizeof(cdb));
    g_assert_cmpint(uas_cmd(&e, slot, 13, cdb, 6, false, 0, 0, NULL, &key),
                    ==, 2);
    g_assert_cmpint(uas_cmd(&e, slot, 13, cdb, 6, false, 0, 0, NULL, &key),
                    ==, 0);
    g_assert_cmpuint(tmf(&e, slot, 14, 0x08, 0, 0), ==, 0x00);
    g_assert_cmpint(uas_cmd(&e, slot, 13, cdb, 6, false, 0, 0, NULL, &key),
                    ==, 2);
    g_assert_cmpuint(key, ==, 6);
    /* the aborted WRITE's tag works again: the status TD it left on its
     * stream takes the new command's SENSE IU */
    make_command_iu(iu, 9, 0, cdb, 6);
    send_iu(&e, slot, iu, 32);
    g_assert_cmpint(status_iu(&e, st, 9, iu), ==, 16);
    g_assert_cmpuint(iu[6], ==, 0);
    env_stop(&e);
}

/*
 * ABORT TASK of a command whose I/O runs (a null-co LUN with 300 ms of
 * latency): the RESPONSE IU waits for the I/O, the command's data and
 * SENSE IU never come.
 */
static void test_abort_running_ss(void)
{
    Env e;
    uint8_t iu[64], cdb[16] = { 0 };
    unsigned slot;
    uint64_t st, st_read, d_read;
    QUsbEvent ev;

    env_start(&e, "-blockdev driver=null-co,node-name=slow,size=1048576,"
              "latency-ns=300000000,read-zeroes=on "
              "-device scsi-hd,bus=uas.0,lun=1,drive=slow");
    qxhci_hc_start(&e.x);
    slot = attach_uas(&e);
    uas_setup(&e, slot);
    st = post_status(&e, slot, 1);                      /* the UA first */
    make_command_iu(iu, 1, 1, cdb, 6);
    send_iu(&e, slot, iu, 32);
    g_assert_cmpint(status_iu(&e, st, 1, iu), ==, 16 + 18);
    cdb[0] = 0x28;                                      /* READ (10) */
    cdb[8] = 1;
    st_read = post_status(&e, slot, 2);
    d_read = qxhci_post(&e.x, slot, DCI_DIN, 2, DATA, 512);
    make_command_iu(iu, 2, 1, cdb, 10);
    send_iu(&e, slot, iu, 32);
    st = post_status(&e, slot, 3);
    tmf_iu(iu, 3, 0x01, 2, 1);
    send_iu(&e, slot, iu, 16);
    g_usleep(50000);
    qxhci_assert_no_event(&e.x, 32, st);
    g_assert_cmpint(status_iu(&e, st, 3, iu), ==, 8);   /* after the I/O */
    g_assert_cmpuint(iu[0], ==, IU_RESPONSE);
    g_assert_cmpuint(iu[7], ==, 0x00);
    g_assert_false(qxhci_event_take(&e.x, 32, d_read, false, &ev));
    qxhci_assert_no_event(&e.x, 32, st_read);
    g_assert_cmpuint(tmf(&e, slot, 3, 0x80, 2, 1), ==, 0x00);
    env_stop(&e);
}

/* ---- chains of I/Os (WRITE SAME) stopped by an abort or a reset ------ */

#define WS_LBA          100
#define WS_BLOCKS       1200    /* three 256 KiB steps of scsi-disk's chain */
#define WS_STEP         512     /* blocks in its first step */

/* I/O limits on drive d0 of @bps bytes a second (0: none). */
static void set_bps(Env *e, unsigned bps)
{
    g_autofree char *cmd = g_strdup_printf(
        "{\"execute\": \"block_set_io_throttle\", \"arguments\": "
        "{\"device\": \"d0\", \"bps\": %u, \"bps_rd\": 0, \"bps_wr\": 0, "
        "\"iops\": 0, \"iops_rd\": 0, \"iops_wr\": 0}}", bps);
    g_autofree char *r = qmp_cmd(e->qmp, cmd);

    g_assert_nonnull(strstr(r, "\"return\""));
}

static void make_write_same(uint8_t *cdb)
{
    memset(cdb, 0, 16);
    cdb[0] = 0x41;                                      /* WRITE SAME (10) */
    cdb[2] = WS_LBA >> 24;
    cdb[3] = WS_LBA >> 16;
    cdb[4] = WS_LBA >> 8;
    cdb[5] = WS_LBA;
    cdb[7] = WS_BLOCKS >> 8;
    cdb[8] = WS_BLOCKS & 0xff;
}

/* The first step of the WRITE SAME is in the image, the rest is not. */
static void assert_first_step_only(Env *e)
{
    g_autofree char *f = NULL;
    gsize n;

    g_assert_true(g_file_get_contents(e->img, &f, &n, NULL));
    g_assert_cmpuint(n, ==, 1 << 20);
    for (unsigned b = WS_LBA; b < WS_LBA + WS_BLOCKS; b++) {
        g_assert_cmphex((uint8_t)f[b * 512 + 7], ==,
                        b < WS_LBA + WS_STEP ? 0x5a : 0);
    }
}

/*
 * ABORT TASK of a WRITE SAME whose first step the I/O limits hold: the
 * step out ends, no further step is issued, and the RESPONSE IU comes
 * after it (before, the chain ran to its end).
 */
static void test_abort_chain_ss(void)
{
    Env e;
    uint8_t iu[64], cdb[16], blk[512];
    unsigned slot;
    uint64_t st_ws, d_ws, st;
    QUsbEvent ev;

    env_start(&e, "");
    qxhci_hc_start(&e.x);
    slot = attach_uas(&e);
    uas_setup(&e, slot);
    memset(cdb, 0, sizeof(cdb));                        /* the UA first */
    uas_cmd(&e, slot, 1, cdb, 6, false, 0, 0, NULL, NULL);
    set_bps(&e, 1);
    cdb[0] = 0x2a;                                      /* WRITE (10) */
    cdb[8] = 1;                                         /* fills the bucket */
    g_assert_cmpint(uas_cmd(&e, slot, 1, cdb, 10, false, 512, DATA, NULL,
                            NULL), ==, 0);
    memset(blk, 0x5a, sizeof(blk));
    qtest_memwrite(e.qts, DATA, blk, sizeof(blk));
    make_write_same(cdb);
    st_ws = post_status(&e, slot, 2);
    d_ws = qxhci_post(&e.x, slot, DCI_DOUT, 2, DATA, 512);
    make_command_iu(iu, 2, 0, cdb, 10);
    send_iu(&e, slot, iu, 32);
    g_assert_cmpint(qxhci_done_len(&e.x, d_ws, 512), ==, 512);
    g_assert_cmpuint(tmf(&e, slot, 3, 0x80, 2, 0), ==, 0x08);  /* runs */
    st = post_status(&e, slot, 3);
    tmf_iu(iu, 3, 0x01, 2, 0);                          /* ABORT TASK */
    send_iu(&e, slot, iu, 16);
    qxhci_assert_no_event(&e.x, 32, st);                /* the step is out */
    set_bps(&e, 0);
    g_assert_cmpint(status_iu(&e, st, 3, iu), ==, 8);
    g_assert_cmpuint(iu[0], ==, IU_RESPONSE);
    g_assert_cmpuint(iu[7], ==, 0x00);
    qxhci_assert_no_event(&e.x, 32, st_ws);
    g_assert_false(qxhci_event_take(&e.x, 32, st_ws, false, &ev));
    assert_first_step_only(&e);
    env_stop(&e);
}

/* Over Bulk-Only: the CBW @cbw with @len bytes of data out from @out;
 * returns the CSW's status. */
static uint8_t bot_cmd(Env *e, unsigned slot, const uint8_t *cbw,
                       const uint8_t *out, unsigned len)
{
    uint8_t csw[13];
    uint64_t t;

    qtest_memwrite(e->qts, DATA, cbw, 31);
    t = qxhci_post(&e->x, slot, DCI_BOT_OUT, 0, DATA, 31);
    g_assert_cmpint(qxhci_done_len(&e->x, t, 31), ==, 31);
    if (len) {
        qtest_memwrite(e->qts, DATA + 0x100, out, len);
        t = qxhci_post(&e->x, slot, DCI_BOT_OUT, 0, DATA + 0x100, len);
        g_assert_cmpint(qxhci_done_len(&e->x, t, len), ==, len);
    }
    t = qxhci_post(&e->x, slot, DCI_BOT_IN, 0, DATA + 0x200, 13);
    g_assert_cmpint(qxhci_done_len(&e->x, t, 13), ==, 13);
    qtest_memread(e->qts, DATA + 0x200, csw, 13);
    g_assert_cmpmem(csw + 4, 4, cbw + 4, 4);          /* the tag */
    return csw[12];
}

/* Over Bulk-Only: TEST UNIT READY, which reports the power-on UA. */
static void bot_clear_ua(Env *e, unsigned slot)
{
    uint8_t tur[31] = { 'U', 'S', 'B', 'C', 0x41, 0, 0, 0, 0, 0, 0, 0,
                        0, 0, 6 };

    g_assert_cmpuint(bot_cmd(e, slot, tur, NULL, 0), ==, 1);
}

/*
 * The same over Bulk-Only (alternate setting 0): a Bulk-Only Mass Storage
 * Reset abandons the running WRITE SAME (BOT 3.1), and the next CBW runs
 * once the step out has ended.
 */
static void test_bot_reset_chain(void)
{
    Env e;
    uint8_t cbw[31] = { 'U', 'S', 'B', 'C', 0x43, 0, 0, 0, 0, 2, 0, 0,
                        0x00, 0, 10 };
    uint8_t inquiry[31] = { 'U', 'S', 'B', 'C', 0x44, 0, 0, 0, 36, 0, 0, 0,
                            0x80, 0, 6, 0x12, 0, 0, 0, 36 };
    uint8_t write1[31] = { 'U', 'S', 'B', 'C', 0x42, 0, 0, 0, 0, 2, 0, 0,
                           0x00, 0, 10, 0x2a, 0, 0, 0, 0, 0, 0, 0, 1 };
    uint8_t blk[512], csw[13];
    unsigned slot;
    uint64_t t;

    env_start(&e, "");
    qxhci_hc_start(&e.x);
    slot = attach_uas(&e);
    g_assert_cmpint(qxhci_control(&e.x, slot, 0x00, 9, 1, 0, 0, NULL), ==, 0);
    g_assert_cmpuint(configure_ep(&e, slot, DCI_BOT_IN, 6, 0, false), ==,
                     CC_SUCCESS);
    g_assert_cmpuint(configure_ep(&e, slot, DCI_BOT_OUT, 2, 0, false), ==,
                     CC_SUCCESS);
    bot_clear_ua(&e, slot);
    set_bps(&e, 1);
    memset(blk, 0, sizeof(blk));            /* fills the bucket */
    g_assert_cmpuint(bot_cmd(&e, slot, write1, blk, 512), ==, 0);
    make_write_same(cbw + 15);
    memset(blk, 0x5a, sizeof(blk));
    qtest_memwrite(e.qts, DATA, cbw, 31);
    qtest_memwrite(e.qts, DATA + 0x100, blk, 512);
    t = qxhci_post(&e.x, slot, DCI_BOT_OUT, 0, DATA, 31);
    g_assert_cmpint(qxhci_done_len(&e.x, t, 31), ==, 31);
    t = qxhci_post(&e.x, slot, DCI_BOT_OUT, 0, DATA + 0x100, 512);
    g_assert_cmpint(qxhci_done_len(&e.x, t, 512), ==, 512);
    /* the first step waits for the bucket */
    g_assert_cmpint(qxhci_control(&e.x, slot, 0x21, 0xff, 0, 0, 0, NULL), ==,
                    0);                                 /* BOT reset */
    qtest_memwrite(e.qts, DATA, inquiry, 31);
    t = qxhci_post(&e.x, slot, DCI_BOT_OUT, 0, DATA, 31);
    qxhci_assert_no_event(&e.x, 32, t);     /* NAKed: the step is out */
    set_bps(&e, 0);                         /* ... it ends, the CBW goes */
    g_assert_cmpint(qxhci_done_len(&e.x, t, 31), ==, 31);
    t = qxhci_post(&e.x, slot, DCI_BOT_IN, 0, DATA + 0x300, 36);
    g_assert_cmpint(qxhci_done_len(&e.x, t, 36), ==, 36);
    t = qxhci_post(&e.x, slot, DCI_BOT_IN, 0, DATA + 0x400, 13);
    g_assert_cmpint(qxhci_done_len(&e.x, t, 13), ==, 13);
    qtest_memread(e.qts, DATA + 0x400, csw, 13);
    g_assert_cmphex(csw[4], ==, 0x44);                  /* the INQUIRY's */
    g_assert_cmpuint(csw[12], ==, 0);
    assert_first_step_only(&e);
    env_stop(&e);
}

/* The stream machinery of the controller itself. */
static void test_streams_xhci(void)
{
    Env e;
    uint8_t cdb[16] = { 0x12, 0, 0, 0, 36 }, iu[64];
    unsigned slot;
    uint64_t trb, sctx;
    QUsbEvent ev;

    env_start(&e, "");
    qxhci_hc_start(&e.x);
    slot = attach_uas(&e);
    g_assert_cmpint(qxhci_control(&e.x, slot, 0x00, 9, 1, 0, 0, NULL), ==, 0);
    g_assert_cmpint(qxhci_control(&e.x, slot, 0x01, 11, 1, 0, 0, NULL), ==, 0);
    /* MaxPStreams above MaxPSASize, streams on an interrupt endpoint */
    g_assert_cmpuint(configure_ep(&e, slot, DCI_DIN, 6, 8, true), ==,
                     CC_PARAMETER);
    g_assert_cmpuint(configure_ep(&e, slot, DCI_DIN, 7, 2, true), ==,
                     CC_PARAMETER);
    uas_setup(&e, slot);
    /* a stream ID beyond the array (32 contexts): Invalid Stream ID, the
     * endpoint in the Error state; later doorbells are ignored */
    qxhci_doorbell(&e.x, slot, DCI_DIN, 40);
    ev = qxhci_event_wait(&e.x, 32, 0, 0);
    g_assert_cmpuint(qxhci_cc(ev), ==, CC_STREAM_ID);
    g_assert_cmpuint((ev.control >> 16) & 0x1f, ==, DCI_DIN);
    g_assert_cmpuint(qxhci_ep_state(&e.x, slot, DCI_DIN), ==, 4);
    trb = qxhci_post(&e.x, slot, DCI_DIN, 1, DATA, 36);
    qxhci_assert_no_event(&e.x, 32, trb);
    /* Set TR Dequeue Pointer of stream 1 (Stream ID in the TRB): the
     * endpoint is Stopped, the TD posted above is still there */
    ev = qxhci_command(&e.x, QXHCI_SRING(DCI_DIN, 1) | (1 << 1) | 1, 1u << 16,
                 (16 << 10) | (DCI_DIN << 16) | (slot << 24));
    g_assert_cmpuint(qxhci_cc(ev), ==, CC_SUCCESS);
    g_assert_cmpuint(qxhci_ep_state(&e.x, slot, DCI_DIN), ==, 3);
    /* a bad stream in the command: Invalid Stream ID Error */
    ev = qxhci_command(&e.x, QXHCI_SRING(DCI_DIN, 1) | (1 << 1) | 1, 0u << 16,
                 (16 << 10) | (DCI_DIN << 16) | (slot << 24));
    g_assert_cmpuint(qxhci_cc(ev), ==, CC_STREAM_ID);
    /* stream 0 is no stream */
    qxhci_doorbell(&e.x, slot, DCI_DIN, 0);
    ev = qxhci_event_wait(&e.x, 32, 0, 0);
    g_assert_cmpuint(qxhci_cc(ev), ==, CC_STREAM_ID);
    qxhci_command(&e.x, QXHCI_SRING(DCI_DIN, 1) | (1 << 1) | 1, 1u << 16,
            (16 << 10) | (DCI_DIN << 16) | (slot << 24));
    /* a command whose data TD is the one posted while in Error */
    {
        uint64_t st = post_status(&e, slot, 1);
        make_command_iu(iu, 1, 0, cdb, 6);
        qxhci_doorbell(&e.x, slot, DCI_DIN, 1);
        send_iu(&e, slot, iu, 32);
        g_assert_cmpint(qxhci_done_len(&e.x, trb, 36), ==, 36);
        g_assert_cmpint(status_iu(&e, st, 1, iu), ==, 16);
    }
    /* Stop Endpoint writes the streams' dequeue pointers back */
    ev = qxhci_command(&e.x, 0, 0, (15 << 10) | (DCI_DIN << 16) | (slot << 24));
    g_assert_cmpuint(qxhci_cc(ev), ==, CC_SUCCESS);
    sctx = qtest_readq(e.qts, QXHCI_SCA(DCI_DIN) + 16);
    g_assert_cmphex(sctx & ~0xfull, ==, QXHCI_SRING(DCI_DIN, 1) + 16);
    g_assert_cmphex(sctx & 0xe, ==, 2);                 /* SCT 1 */
    g_assert_cmphex(sctx & 1, ==, 1);
    g_assert_cmpuint(qxhci_ep_state(&e.x, slot, DCI_DIN), ==, 3);
    /* a doorbell runs it again */
    {
        uint64_t st = post_status(&e, slot, 2);
        uint64_t d = qxhci_post(&e.x, slot, DCI_DIN, 2, DATA, 36);
        make_command_iu(iu, 2, 0, cdb, 6);
        send_iu(&e, slot, iu, 32);
        g_assert_cmpint(qxhci_done_len(&e.x, d, 36), ==, 36);
        g_assert_cmpint(status_iu(&e, st, 2, iu), ==, 16);
    }
    /* LSA = 0 (secondary arrays): Invalid Stream Type on first use */
    g_assert_cmpuint(configure_ep(&e, slot, DCI_DOUT, 2, MAXPSTREAMS, false),
                     ==, CC_SUCCESS);
    qxhci_doorbell(&e.x, slot, DCI_DOUT, 1);
    ev = qxhci_event_wait(&e.x, 32, 0, 0);
    g_assert_cmpuint(qxhci_cc(ev), ==, CC_STREAM_TYPE);
    g_assert_cmpuint(qxhci_ep_state(&e.x, slot, DCI_DOUT), ==, 4);
    /* a context that is not a Primary Transfer Ring: the same */
    g_assert_cmpuint(configure_ep(&e, slot, DCI_DOUT, 2, MAXPSTREAMS, true),
                     ==, CC_SUCCESS);
    qtest_writeq(e.qts, QXHCI_SCA(DCI_DOUT) + 16 * 3,
                 QXHCI_SRING(DCI_DOUT, 3) | 1);
    qxhci_doorbell(&e.x, slot, DCI_DOUT, 3);
    ev = qxhci_event_wait(&e.x, 32, 0, 0);
    g_assert_cmpuint(qxhci_cc(ev), ==, CC_STREAM_TYPE);
    /* a doorbell with a stream ID for an endpoint without streams: none */
    trb = qxhci_ring_push(&e.x, &e.x.rings[slot][DCI_CMD], CMD_BUF(0), 32,
                    (TRB_NORMAL << 10) | TRB_IOC);
    qxhci_doorbell(&e.x, slot, DCI_CMD, 5);
    qxhci_assert_no_event(&e.x, 32, trb);
    env_stop(&e);
}

/* Alternate setting 0: Bulk-Only, as usb-bot. */
static void test_bot_fallback(void)
{
    Env e;
    uint8_t cbw[31] = { 'U', 'S', 'B', 'C', 0x42, 0, 0, 0, 36, 0, 0, 0,
                        0x80, 0, 6, 0x12, 0, 0, 0, 36 };
    uint8_t csw[13], buf[36];
    unsigned slot;
    uint64_t t;

    env_start(&e, "");
    qxhci_hc_start(&e.x);
    slot = attach_uas(&e);
    g_assert_cmpint(qxhci_control(&e.x, slot, 0x00, 9, 1, 0, 0, NULL), ==, 0);
    g_assert_cmpint(qxhci_control(&e.x, slot, 0xa1, 0xfe, 0, 0, 1, buf), ==, 1);
    g_assert_cmpuint(buf[0], ==, 0);                    /* Get Max LUN */
    g_assert_cmpuint(configure_ep(&e, slot, DCI_BOT_IN, 6, 0, false), ==,
                     CC_SUCCESS);
    g_assert_cmpuint(configure_ep(&e, slot, DCI_BOT_OUT, 2, 0, false), ==,
                     CC_SUCCESS);
    qtest_memwrite(e.qts, DATA, cbw, 31);
    t = qxhci_post(&e.x, slot, DCI_BOT_OUT, 0, DATA, 31);
    g_assert_cmpint(qxhci_done_len(&e.x, t, 31), ==, 31);
    t = qxhci_post(&e.x, slot, DCI_BOT_IN, 0, DATA + 0x100, 36);
    g_assert_cmpint(qxhci_done_len(&e.x, t, 36), ==, 36);
    qtest_memread(e.qts, DATA + 0x100, buf, 36);
    g_assert_cmpmem(buf + 8, 4, "QEMU", 4);
    t = qxhci_post(&e.x, slot, DCI_BOT_IN, 0, DATA + 0x200, 13);
    g_assert_cmpint(qxhci_done_len(&e.x, t, 13), ==, 13);
    qtest_memread(e.qts, DATA + 0x200, csw, 13);
    g_assert_cmphex(csw[0], ==, 'U');
    g_assert_cmphex(csw[3], ==, 'S');
    g_assert_cmpuint(csw[12], ==, 0);
    env_stop(&e);
}

/*
 * Migrate with a READ's data and SENSE IU waiting in the device (its
 * status TD posted, its data TD not yet), then read them on the
 * destination through the restored stream rings.
 */
static void test_migration_ss(void)
{
    Env e;
    g_autofree char *mig = NULL, *cmd = NULL, *args = NULL, *dsock = NULL;
    uint8_t cdb[16] = { 0x28, 0, 0, 0, 0, 8, 0, 0, 2 }, iu[64];
    bool running = false;
    uint8_t sectors[1024], back[1024];
    unsigned slot;
    uint64_t st, d;
    int fd;

    env_start(&e, "");
    for (unsigned i = 0; i < sizeof(sectors); i++) {
        sectors[i] = i * 13 + 1;
    }
    fd = open(e.img, O_WRONLY);
    g_assert_cmpint(pwrite(fd, sectors, sizeof(sectors), 8 * 512), ==,
                    sizeof(sectors));
    close(fd);
    qxhci_hc_start(&e.x);
    slot = attach_uas(&e);
    uas_setup(&e, slot);
    g_assert_cmpint(uas_cmd(&e, slot, 1, (uint8_t[16]){ 0 }, 6, false, 0, 0,
                            NULL, NULL), ==, 2);        /* the UA */
    st = post_status(&e, slot, 3);
    make_command_iu(iu, 3, 0, cdb, 10);
    send_iu(&e, slot, iu, 32);
    /* the read completes into the device; nothing reaches the host */
    for (int i = 0; i < 20; i++) {
        g_usleep(1000);
        qtest_clock_step(e.qts, 100000);
    }
    qxhci_assert_no_event(&e.x, 32, st);

    mig = g_build_filename(e.dir, "mig", NULL);
    cmd = g_strdup_printf("{\"execute\":\"migrate\",\"arguments\":"
                          "{\"uri\":\"file:%s\"}}", mig);
    g_free(qmp_cmd(e.qmp, cmd));
    for (int i = 0; i < 500; i++) {
        g_autofree char *r = qmp_cmd(e.qmp, "{\"execute\":\"query-migrate\"}");
        if (strstr(r, "\"completed\"")) {
            break;
        }
        g_assert_null(strstr(r, "\"failed\""));
        g_usleep(10000);
    }
    qmp_close(e.qmp);
    g_assert_cmpint(qtest_quit(e.qts), ==, 0);

    dsock = g_build_filename(e.dir, "dqmp.sock", NULL);
    args = g_strdup_printf("-nodefaults -device qemu-xhci,addr=09.0,id=xhci "
                           "-drive if=none,id=d0,format=raw,file=%s "
                           "-device usb-uas,id=uas,bus=xhci.0,port=1 "
                           "-device scsi-hd,bus=uas.0,lun=0,drive=d0 "
                           "-incoming file:%s -qmp unix:%s,server=on,wait=off",
                           e.img, mig, dsock);
    e.qts = qtest_init(args);
    e.x.qts = e.qts;
    e.qmp = qmp_connect(dsock);
    for (int i = 0; i < 1000 && !running; i++) {
        g_autofree char *r = qmp_cmd(e.qmp, "{\"execute\":\"query-status\"}");
        running = r && strstr(r, "\"status\": \"running\"") != NULL;
        if (!running) {
            g_usleep(10000);
        }
    }
    g_assert_true(running);
    qtest_memset(e.qts, DATA, 0, sizeof(back));
    d = qxhci_post(&e.x, slot, DCI_DIN, 3, DATA, sizeof(back));
    g_assert_cmpint(qxhci_done_len(&e.x, d, sizeof(back)), ==, sizeof(back));
    qtest_memread(e.qts, DATA, back, sizeof(back));
    g_assert_cmpmem(back, sizeof(back), sectors, sizeof(sectors));
    g_assert_cmpint(status_iu(&e, st, 3, iu), ==, 16);
    g_assert_cmpuint(iu[6], ==, 0);
    /* the stream rings go on: another command on the same tag */
    memset(cdb, 0, sizeof(cdb));
    g_assert_cmpint(uas_cmd(&e, slot, 3, cdb, 6, false, 0, 0, NULL, NULL),
                    ==, 0);
    qmp_close(e.qmp);
    g_assert_cmpint(qtest_quit(e.qts), ==, 0);
    unlink(dsock);
    env_cleanup(&e);
}

/* ---- high speed: usb-ehci ---------------------------------------------- */

#define EHCI_DEVFN      (0x1d << 3)
#define EDATA           QEHCI_DATA

static void ehci_start(Env *e)
{
    g_autofree char *args = NULL;

    env_make_disk(e);
    args = g_strdup_printf("-nodefaults -device usb-ehci,id=ehci,addr=1d.0 "
                           "-drive if=none,id=d0,format=raw,file=%s "
                           "-device usb-uas,id=uas,bus=ehci.0,port=1 "
                           "-device scsi-hd,bus=uas.0,drive=d0", e->img);
    e->qts = qtest_init(args);
    qehci_init(&e->h, e->qts, EHCI_DEVFN);
}

/* The next IU on the status pipe (its length, the IU in @iu). */
static int ehci_status(Env *e, uint8_t *iu)
{
    int n = qehci_bulk(&e->h, 2, 2, true, EDATA + 0x800, 64, true);

    g_assert_cmpint(n, >, 0);
    qtest_memread(e->qts, EDATA + 0x800, iu, n);
    return n;
}

static void ehci_iu(Env *e, const uint8_t *iu, unsigned len)
{
    qtest_memwrite(e->qts, EDATA + 0x400, iu, len);
    g_assert_cmpint(qehci_bulk(&e->h, 2, 1, false, EDATA + 0x400, len,
                               false), ==, len);
}

static void test_high_speed(void)
{
    Env e;
    uint8_t buf[256], iu[64], cdb[16] = { 0 }, sectors[2048], back[2048];
    g_autofree uint8_t *file = NULL;
    int n;

    ehci_start(&e);
    qehci_hc_start(&e.h, 0);
    /* port reset: enabled at high speed */
    g_assert_true(qehci_port_reset(&e.h, 0));
    g_assert_cmphex(qehci_rd(&e.h, PORTSC(0)) & PORT_PED, ==, PORT_PED);
    g_assert_cmpint(qehci_control(&e.h, 0, 0x80, 6, 0x100, 0, 18, buf), ==, 18);
    g_assert_cmphex(buf[2] | buf[3] << 8, ==, 0x0200);
    g_assert_cmpint(qehci_control(&e.h, 0, 0x00, 5, 2, 0, 0, NULL), ==, 0);
    /* no companions at high speed, pipe usage after each endpoint */
    n = qehci_control(&e.h, 2, 0x80, 6, 0x200, 0, 255, buf);
    g_assert_cmpint(n, ==, 9 + 9 + 2 * 7 + 9 + 4 * 11);
    g_assert_cmpuint(buf[9 + 9 + 14 + 7], ==, 0x62);
    g_assert_cmpuint(buf[9 + 9 + 14 + 9 + 7 + 1], ==, 0x24);
    g_assert_cmpuint(buf[9 + 9 + 14 + 9 + 7 + 2], ==, 1);
    g_assert_cmpuint(buf[9 + 9 + 14 + 9 + 4] |
                     buf[9 + 9 + 14 + 9 + 5] << 8, ==, 512);
    g_assert_cmpint(qehci_control(&e.h, 2, 0x00, 9, 1, 0, 0, NULL), ==, 0);
    g_assert_cmpint(qehci_control(&e.h, 2, 0x01, 11, 1, 0, 0, NULL), ==, 0);

    /* INQUIRY: READ READY, the data, the SENSE IU */
    cdb[0] = 0x12;
    cdb[4] = 36;
    make_command_iu(iu, 1, 0, cdb, 6);
    ehci_iu(&e, iu, 32);
    g_assert_cmpint(ehci_status(&e, iu), ==, 4);
    g_assert_cmphex(iu[0], ==, IU_READ_READY);
    g_assert_cmphex(iu[3], ==, 1);
    g_assert_cmpint(qehci_bulk(&e.h, 2, 3, true, EDATA + 0x1000, 36, true),
                    ==, 36);
    qtest_memread(e.qts, EDATA + 0x1000, buf, 36);
    g_assert_cmpmem(buf + 8, 4, "QEMU", 4);
    g_assert_cmpint(ehci_status(&e, iu), ==, 16);
    g_assert_cmphex(iu[0], ==, IU_SENSE);
    g_assert_cmphex(iu[6], ==, 0);
    /* nothing more on the status pipe: NAK */
    g_assert_cmpint(qehci_bulk(&e.h, 2, 2, true, EDATA + 0x800, 64, false),
                    ==, -1);
    /* TEST UNIT READY: straight to the SENSE IU (the UA) */
    memset(cdb, 0, sizeof(cdb));
    make_command_iu(iu, 2, 0, cdb, 6);
    ehci_iu(&e, iu, 32);
    g_assert_cmpint(ehci_status(&e, iu), ==, 16 + 18);
    g_assert_cmphex(iu[6], ==, 2);
    g_assert_cmphex(iu[16 + 2] & 0xf, ==, 6);
    /* READ CAPACITY (10) */
    cdb[0] = 0x25;
    make_command_iu(iu, 3, 0, cdb, 10);
    ehci_iu(&e, iu, 32);
    g_assert_cmpint(ehci_status(&e, iu), ==, 4);
    g_assert_cmphex(iu[0], ==, IU_READ_READY);
    g_assert_cmpint(qehci_bulk(&e.h, 2, 3, true, EDATA + 0x1000, 8, true), ==,
                    8);
    qtest_memread(e.qts, EDATA + 0x1000, buf, 8);
    g_assert_cmpuint(buf[2] << 8 | buf[3], ==, 2047);
    g_assert_cmpint(ehci_status(&e, iu), ==, 16);
    /* WRITE (10) 4 sectors at LBA 6: WRITE READY, two qTDs of data */
    for (unsigned i = 0; i < sizeof(sectors); i++) {
        sectors[i] = i * 5 + 9;
    }
    qtest_memwrite(e.qts, EDATA + 0x2000, sectors, sizeof(sectors));
    memset(cdb, 0, sizeof(cdb));
    cdb[0] = 0x2a;
    cdb[5] = 6;
    cdb[8] = 4;
    make_command_iu(iu, 4, 0, cdb, 10);
    ehci_iu(&e, iu, 32);
    /* data-out before WRITE READY would be NAKed; read it first */
    g_assert_cmpint(ehci_status(&e, iu), ==, 4);
    g_assert_cmphex(iu[0], ==, IU_WRITE_READY);
    g_assert_cmphex(iu[3], ==, 4);
    g_assert_cmpint(qehci_bulk(&e.h, 2, 4, false, EDATA + 0x2000, 1024,
                               false), ==,
                    1024);
    g_assert_cmpint(qehci_bulk(&e.h, 2, 4, false, EDATA + 0x2400, 1024,
                               false), ==,
                    1024);
    g_assert_cmpint(ehci_status(&e, iu), ==, 16);
    g_assert_cmphex(iu[0], ==, IU_SENSE);
    g_assert_cmphex(iu[3], ==, 4);
    g_assert_cmphex(iu[6], ==, 0);
    memset(cdb, 0, sizeof(cdb));
    cdb[0] = 0x35;
    make_command_iu(iu, 5, 0, cdb, 10);
    ehci_iu(&e, iu, 32);
    g_assert_cmpint(ehci_status(&e, iu), ==, 16);
    file = qtest_file_range(e.img, 6 * 512, sizeof(sectors));
    g_assert_cmpmem(file, sizeof(sectors), sectors, sizeof(sectors));
    /* two READs: one READ READY at a time; the second's waits until the
     * first's data phase is over */
    cdb[0] = 0x28;
    cdb[5] = 6;
    cdb[8] = 2;
    make_command_iu(iu, 6, 0, cdb, 10);
    ehci_iu(&e, iu, 32);
    g_assert_cmpint(ehci_status(&e, iu), ==, 4);
    g_assert_cmphex(iu[3], ==, 6);
    cdb[5] = 8;
    make_command_iu(iu, 7, 0, cdb, 10);
    ehci_iu(&e, iu, 32);
    g_assert_cmpint(qehci_bulk(&e.h, 2, 3, true, EDATA + 0x3000, 1024, true),
                    ==,
                    1024);
    g_assert_cmpint(ehci_status(&e, iu), ==, 16);       /* 6's SENSE */
    g_assert_cmphex(iu[3], ==, 6);
    g_assert_cmpint(ehci_status(&e, iu), ==, 4);        /* 7's READY */
    g_assert_cmphex(iu[0], ==, IU_READ_READY);
    g_assert_cmphex(iu[3], ==, 7);
    g_assert_cmpint(qehci_bulk(&e.h, 2, 3, true, EDATA + 0x3400, 1024, true),
                    ==,
                    1024);
    g_assert_cmpint(ehci_status(&e, iu), ==, 16);
    g_assert_cmphex(iu[3], ==, 7);
    qtest_memread(e.qts, EDATA + 0x3000, back, sizeof(back));
    g_assert_cmpmem(back, sizeof(back), sectors, sizeof(sectors));
    /* overlapped tag at high speed: a WRITE waiting for data, again */
    cdb[0] = 0x2a;
    make_command_iu(iu, 8, 0, cdb, 10);
    ehci_iu(&e, iu, 32);
    g_assert_cmpint(ehci_status(&e, iu), ==, 4);        /* WRITE READY */
    make_command_iu(iu, 8, 0, cdb, 10);
    ehci_iu(&e, iu, 32);
    g_assert_cmpint(ehci_status(&e, iu), ==, 8);
    g_assert_cmphex(iu[0], ==, IU_RESPONSE);
    g_assert_cmphex(iu[7], ==, 0x0a);
    /* the aborted WRITE's data phase is gone: data-out is NAKed */
    g_assert_cmpint(qehci_bulk(&e.h, 2, 4, false, EDATA + 0x2000, 1024,
                               false), ==,
                    -1);
    qtest_quit(e.qts);
    env_cleanup(&e);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/uas/xhci/descriptors", test_descriptors_ss);
    g_test_add_func("/uas/xhci/commands", test_commands_ss);
    g_test_add_func("/uas/xhci/errors", test_errors_ss);
    g_test_add_func("/uas/xhci/task-management", test_task_management_ss);
    g_test_add_func("/uas/xhci/abort-running", test_abort_running_ss);
    g_test_add_func("/uas/xhci/abort-chain", test_abort_chain_ss);
    g_test_add_func("/uas/xhci/bot-reset-chain", test_bot_reset_chain);
    g_test_add_func("/uas/xhci/streams", test_streams_xhci);
    g_test_add_func("/uas/xhci/bot-fallback", test_bot_fallback);
    g_test_add_func("/uas/xhci/migration", test_migration_ss);
    g_test_add_func("/uas/ehci/high-speed", test_high_speed);
    return g_test_run();
}

/*
 * MMC replies shared by scsi-cd and the ATAPI CD-ROM (include/hw/scsi/mmc.h).
 * Spec: MMC-6 (T10/1836-D r2g) sections cited per function.
 */
#include "qemu/osdep.h"
#include "hw/scsi/mmc.h"

uint16_t mmc_current_profile(bool present, uint32_t blocks)
{
    if (!present) {
        return MMC_PROFILE_NONE;
    }
    return blocks > MMC_CD_MAX_BLOCKS ? MMC_PROFILE_DVD_ROM
                                      : MMC_PROFILE_CD_ROM;
}

/* LBA to minutes/seconds/frames, with the 2-second lead-in (4.2.3). */
static void lba_to_msf(uint8_t *p, uint32_t lba)
{
    lba += 150;
    p[0] = 0;
    p[1] = lba / (60 * 75);
    p[2] = (lba / 75) % 60;
    p[3] = lba % 75;
}

static void put_addr(uint8_t *p, uint32_t lba, bool msf)
{
    if (msf) {
        lba_to_msf(p, lba);
    } else {
        stl_be_p(p, lba);
    }
}

/* Format 0: one data track and the lead-out (6.33.2.2). */
static int toc_format0(uint8_t *buf, uint32_t blocks, bool msf,
                       uint8_t start)
{
    int len = 4;

    if (start > 1 && start != 0xaa) {
        return -1;
    }
    buf[2] = 1;                         /* first track */
    buf[3] = 1;                         /* last track */
    if (start <= 1) {
        memset(buf + len, 0, 8);
        buf[len + 1] = 0x14;            /* ADR 1, data track */
        buf[len + 2] = 1;
        put_addr(buf + len + 4, 0, msf);
        len += 8;
    }
    memset(buf + len, 0, 8);
    buf[len + 1] = 0x14;
    buf[len + 2] = 0xaa;                /* lead-out */
    put_addr(buf + len + 4, blocks, msf);
    len += 8;
    stw_be_p(buf, len - 2);
    return len;
}

/* Format 1: session information, one complete session (6.33.2.3). */
static int toc_format1(uint8_t *buf, bool msf)
{
    memset(buf, 0, 12);
    stw_be_p(buf, 10);
    buf[2] = 1;
    buf[3] = 1;
    buf[5] = 0x14;
    buf[6] = 1;
    put_addr(buf + 8, 0, msf);
    return 12;
}

int mmc_read_toc(const uint8_t *cdb, uint32_t blocks, uint8_t *buf)
{
    bool msf = cdb[1] & 2;
    uint8_t format = cdb[2] & 0x0f;

    if (format == 0 && (cdb[9] >> 6)) {
        format = cdb[9] >> 6;           /* the older SFF-8020 encoding */
    }
    memset(buf, 0, 4);
    switch (format) {
    case 0:
        return toc_format0(buf, blocks, msf, cdb[6]);
    case 1:
        return toc_format1(buf, msf);
    default:
        return -1;
    }
}

/* Feature 0 (profile list) and 1 (core) of 5.3. */
static int put_features(uint8_t *p, uint16_t cur, uint32_t interface,
                        uint16_t start, uint8_t rt)
{
    int len = 0;
    /* RT 0 and 1 list the features from @start on (both of ours are
     * always current), RT 2 only the one named @start. */
    bool want0 = start == 0;
    bool want1 = rt == 2 ? start == 1 : start <= 1;

    if (want0) {
        memset(p, 0, 12);
        p[2] = 0x03;                    /* persistent, current */
        p[3] = 8;
        stw_be_p(p + 4, MMC_PROFILE_DVD_ROM);
        p[6] = cur == MMC_PROFILE_DVD_ROM;
        stw_be_p(p + 8, MMC_PROFILE_CD_ROM);
        p[10] = cur == MMC_PROFILE_CD_ROM;
        len += 12;
    }
    if (want1) {
        memset(p + len, 0, 12);
        p[len + 1] = 1;
        p[len + 2] = 0x0b;              /* version 2, persistent, current */
        p[len + 3] = 8;
        stl_be_p(p + len + 4, interface);
        p[len + 8] = 1;                 /* DBE */
        len += 12;
    }
    return len;
}

int mmc_get_configuration(const uint8_t *cdb, uint16_t profile,
                          uint32_t interface, uint8_t *buf)
{
    uint8_t rt = cdb[1] & 3;
    int len;

    if (rt == 3) {
        return -1;
    }
    memset(buf, 0, 8);
    stw_be_p(buf + 6, profile);
    len = 8 + put_features(buf + 8, profile, interface, lduw_be_p(cdb + 2),
                           rt);
    stl_be_p(buf, len - 4);
    return len;
}

int mmc_get_event_status(const uint8_t *cdb, unsigned event, bool present,
                         bool tray_open, uint8_t *buf)
{
    uint8_t classes = cdb[4];
    int len = 4;

    if (!(cdb[1] & 1)) {                /* asynchronous mode: not offered */
        return -1;
    }
    memset(buf, 0, 8);
    buf[3] = 1 << 4;                    /* supported: media */
    if (classes & (1 << 4)) {
        buf[2] = 4;                     /* media class */
        buf[4] = event;
        buf[5] = (present ? 2 : 0) | (tray_open ? 1 : 0);
        len = 8;
    } else {
        buf[2] = 0x80;                  /* NEA: no requested class exists */
    }
    stw_be_p(buf, len - 2);
    return len;
}

int mmc_read_disc_information(const uint8_t *cdb, uint8_t *buf)
{
    if ((cdb[1] & 7) != 0) {            /* track/POW resources: not here */
        return -1;
    }
    memset(buf, 0, 34);
    stw_be_p(buf, 32);
    buf[2] = 0x0e;                      /* last session complete, disc
                                           finalized (status 2) */
    buf[3] = 1;                         /* first track on disc */
    buf[4] = 1;                         /* sessions (LSB) */
    buf[5] = 1;                         /* first track of last session */
    buf[6] = 1;                         /* last track of last session */
    buf[7] = 0x20;                      /* unrestricted use */
    buf[8] = 0;                         /* disc type: CD-DA or CD-ROM */
    /* lead-in/out start: not recordable, all ones per 6.22.3.1 */
    stl_be_p(buf + 16, 0xffffffff);
    stl_be_p(buf + 20, 0xffffffff);
    return 34;
}

int mmc_capabilities_page(bool locked, uint8_t *p)
{
    /* 22 bytes (MMC-3's 20 plus two reserved ones), as QEMU sends. */
    memset(p, 0, 22);
    p[0] = MODE_PAGE_CAPABILITIES;
    p[1] = 20;
    p[2] = 0x3b;                        /* reads CD-R/RW, DVD-ROM/R/RAM */
    p[4] = 0x71;                        /* audio play, mode 2 form 1/2, multi */
    p[5] = 3 << 5;
    /* lock supported (and state), eject, tray loading mechanism */
    p[6] = (1 << 0) | (1 << 3) | (1 << 5) | (locked ? 1 << 1 : 0);
    stw_be_p(p + 8, 704);               /* maximum speed, kB/s (4x) */
    stw_be_p(p + 10, 2);                /* volume levels */
    stw_be_p(p + 12, 512);              /* buffer size, KiB */
    stw_be_p(p + 14, 704);              /* current speed */
    return 22;
}

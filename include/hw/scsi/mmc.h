/*
 * MMC replies shared by the CD-ROMs (scsi-cd in hw/scsi/scsi-disk.c and
 * the ATAPI drive in hw/ide/atapi.c): each builds the data of one command
 * into a buffer from the drive's plain state, so both front ends answer
 * the same bytes.  Spec: MMC-6 (T10/1836-D r2g); SFF-8020i for the old
 * READ TOC format field.
 */
#ifndef HW_SCSI_MMC_H
#define HW_SCSI_MMC_H

#include "hw/scsi/scsi-defs.h"

/* Buffer sizes that always suffice for the replies below. */
#define MMC_REPLY_MAX           64

/* The profile a medium of @blocks 2048-byte blocks has (none: absent). */
uint16_t mmc_current_profile(bool present, uint32_t blocks);

/*
 * READ TOC/PMA/ATIP (6.33) from its CDB (@cdb: 10 bytes): formats 0 (one
 * data track and the lead-out) and 1 (session information), addresses as
 * LBA or MSF.  Returns the length written to @buf, or -1 for a field the
 * drive does not support (ILLEGAL REQUEST / INVALID FIELD IN CDB).
 */
int mmc_read_toc(const uint8_t *cdb, uint32_t blocks, uint8_t *buf);

/*
 * GET CONFIGURATION (6.6): the header with the current profile, feature
 * 0 (profile list: DVD-ROM, CD-ROM) and 1 (core; @interface: 1 SCSI, 2
 * ATAPI), as RT and the starting feature in @cdb ask.  -1 for RT 3.
 */
int mmc_get_configuration(const uint8_t *cdb, uint16_t profile,
                          uint32_t interface, uint8_t *buf);

/*
 * GET EVENT STATUS NOTIFICATION (6.7), polled, media class only:
 * @event is 0 (no change), 1 (EjectRequest) or 2 (NewMedia).  -1 for the
 * asynchronous form.
 */
int mmc_get_event_status(const uint8_t *cdb, unsigned event, bool present,
                         bool tray_open, uint8_t *buf);

/* READ DISC INFORMATION (6.22), data type 0: one complete session of a
 * finalized read-only disc.  -1 for other data types. */
int mmc_read_disc_information(const uint8_t *cdb, uint8_t *buf);

/* The CD capabilities and mechanical status mode page (2Ah), 22 bytes. */
int mmc_capabilities_page(bool locked, uint8_t *p);

#endif

/*
 * SCSI and MMC definitions shared by the SCSI devices (hw/scsi/) and the
 * ATAPI CD-ROM (hw/ide/atapi.c): operation codes, status codes, sense
 * keys and additional sense codes, and big-endian field access (CDBs and
 * their data are big-endian).
 *
 * Specs: SPC-4 (T10/1731-D r37: 4.5 sense data, 6 commands for all
 * device types, annex D codes), SBC-3 (T10/1799-D r35: block commands),
 * MMC-6 (T10/1836-D r2g: multimedia commands).
 */
#ifndef HW_SCSI_SCSI_DEFS_H
#define HW_SCSI_SCSI_DEFS_H

#include "qemu/osdep.h"

/* ---- big-endian fields ------------------------------------------------ */

static inline uint16_t lduw_be_p(const void *p)
{ const uint8_t *b = p; return (uint16_t)(b[0] << 8 | b[1]); }
static inline uint32_t ld24_be_p(const void *p)
{ const uint8_t *b = p; return (uint32_t)b[0] << 16 | b[1] << 8 | b[2]; }
static inline uint32_t ldl_be_p(const void *p)
{ const uint8_t *b = p; return (uint32_t)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]; }
static inline uint64_t ldq_be_p(const void *p)
{ return (uint64_t)ldl_be_p(p) << 32 | ldl_be_p((const uint8_t *)p + 4); }
static inline void stw_be_p(void *p, uint16_t v)
{ uint8_t *b = p; b[0] = v >> 8; b[1] = v; }
static inline void stl_be_p(void *p, uint32_t v)
{ uint8_t *b = p; b[0] = v >> 24; b[1] = v >> 16; b[2] = v >> 8; b[3] = v; }
static inline void stq_be_p(void *p, uint64_t v)
{ stl_be_p(p, v >> 32); stl_be_p((uint8_t *)p + 4, v); }

/* ---- operation codes (SPC-4 / SBC-3 / MMC-6) -------------------------- */

#define TEST_UNIT_READY         0x00
#define REQUEST_SENSE           0x03
#define READ_6                  0x08
#define WRITE_6                 0x0a
#define INQUIRY                 0x12
#define MODE_SELECT_6           0x15
#define MODE_SENSE_6            0x1a
#define START_STOP_UNIT         0x1b
#define PREVENT_ALLOW_MEDIUM_REMOVAL 0x1e
#define READ_CAPACITY_10        0x25
#define READ_10                 0x28
#define WRITE_10                0x2a
#define SEEK_10                 0x2b
#define WRITE_VERIFY_10         0x2e
#define VERIFY_10               0x2f
#define SYNCHRONIZE_CACHE_10    0x35
#define WRITE_SAME_10           0x41
#define UNMAP                   0x42
#define READ_TOC                0x43
#define GET_CONFIGURATION       0x46
#define GET_EVENT_STATUS_NOTIFICATION 0x4a
#define READ_DISC_INFORMATION   0x51
#define MODE_SELECT_10          0x55
#define MODE_SENSE_10           0x5a
#define READ_16                 0x88
#define WRITE_16                0x8a
#define WRITE_VERIFY_16         0x8e
#define VERIFY_16               0x8f
#define SYNCHRONIZE_CACHE_16    0x91
#define WRITE_SAME_16           0x93
#define SERVICE_ACTION_IN_16    0x9e
#define SAI_READ_CAPACITY_16    0x10
#define REPORT_LUNS             0xa0
#define READ_12                 0xa8
#define WRITE_12                0xaa
#define WRITE_VERIFY_12         0xae
#define VERIFY_12               0xaf
#define SET_CD_SPEED            0xbb

/* ---- status codes (SAM-5 5.3) ------------------------------------------ */

#define SCSI_STATUS_GOOD            0x00
#define SCSI_STATUS_CHECK_CONDITION 0x02
#define SCSI_STATUS_BUSY            0x08
#define SCSI_STATUS_TASK_SET_FULL   0x28

/* ---- sense keys and codes (SPC-4 4.5.6, annex D) ----------------------- */

#define SENSE_NONE              0x00
#define SENSE_NOT_READY         0x02
#define SENSE_MEDIUM_ERROR      0x03
#define SENSE_HARDWARE_ERROR    0x04
#define SENSE_ILLEGAL_REQUEST   0x05
#define SENSE_UNIT_ATTENTION    0x06
#define SENSE_DATA_PROTECT      0x07
#define SENSE_ABORTED_COMMAND   0x0b

#define ASC_WRITE_ERROR         0x0c
#define ASC_UNRECOVERED_READ    0x11
#define ASC_PARAM_LIST_LENGTH   0x1a
#define ASC_INV_OPCODE          0x20
#define ASC_LBA_OUT_OF_RANGE    0x21
#define ASC_INV_FIELD_IN_CDB    0x24
#define ASC_LUN_NOT_SUPPORTED   0x25
#define ASC_INV_FIELD_IN_PARAM  0x26
#define ASC_WRITE_PROTECTED     0x27
#define ASC_MEDIUM_MAY_HAVE_CHANGED 0x28
#define ASC_POWER_ON_RESET      0x29
#define ASC_PARAMETERS_CHANGED  0x2a    /* ascq 09: capacity data changed */
#define ASC_SAVING_NOT_SUPPORTED 0x39
#define ASC_MEDIUM_NOT_PRESENT  0x3a    /* ascq 01 tray closed, 02 open */
#define ASC_TARGET_CHANGED      0x3f    /* ascq 0e: reported LUNs changed */
#define ASC_INTERNAL_TARGET_FAILURE 0x44
#define ASC_REMOVAL_PREVENTED   0x53

/* MMC-6 profiles (5.3.1) */
#define MMC_PROFILE_NONE        0x0000
#define MMC_PROFILE_CD_ROM      0x0008
#define MMC_PROFILE_DVD_ROM     0x0010
/* Larger media are DVDs: a CD holds at most 99:59:74 of 2048-byte blocks. */
#define MMC_CD_MAX_BLOCKS       (100 * 60 * 75)
#define MMC_BLOCK_SIZE          2048

/* Mode pages (SPC-4 7.5, SBC-3 6.4, MMC-6 7) */
#define MODE_PAGE_R_W_ERROR     0x01
#define MODE_PAGE_CACHING       0x08
#define MODE_PAGE_CONTROL       0x0a
#define MODE_PAGE_CAPABILITIES  0x2a
#define MODE_PAGE_ALL           0x3f

#endif

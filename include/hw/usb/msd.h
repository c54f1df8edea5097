/*
 * The USB Mass Storage Bulk-Only Transport engine of hw/usb/dev-storage.c,
 * shared by usb-storage, usb-bot and usb-uas (whose alternate setting 0
 * is Bulk-Only, USB Attached SCSI 1.0 / UAS-2 4.2).
 *
 * Spec: USB Mass Storage Class Bulk-Only Transport 1.0: 5.1 CBW, 5.2
 * CSW, 3.1 Bulk-Only Mass Storage Reset, 3.2 Get Max LUN, 6.7 the host
 * and device expectations (residue, phase error).
 *
 * The device owns an MSDBot and a SCSI bus; it hands its bulk packets of
 * the Bulk-Only endpoints to msd_bot_handle_data(), its class requests to
 * msd_bot_handle_control(), and from its bus's complete() the requests
 * msd_bot_owns() says are the engine's to msd_bot_complete().  A command
 * runs on a buffer of at most MSD_MAX_XFER bytes; while it runs, IN
 * packets get NAK and its completion wakes the IN endpoint.
 */
#ifndef HW_USB_MSD_H
#define HW_USB_MSD_H
#include "hw/usb/usb.h"
#include "hw/scsi/scsi.h"

#define MSD_MAX_XFER    (1 << 20)

typedef struct MSDReq MSDReq;

typedef struct MSDBot {
    USBDevice *dev;
    SCSIBus *bus;
    unsigned in_ep, out_ep;
    bool multi_lun;             /* Get Max LUN: the highest LUN on the bus */
    MSDReq *req;
    bool busy;                  /* a SCSI command runs */
    /* BOT state */
    uint32_t mode;
    uint32_t tag;
    uint32_t data_len;          /* dCBWDataTransferLength */
    uint32_t xfer;              /* what the command moves (<= MSD_MAX_XFER) */
    uint32_t done;              /* bytes of the data stage so far */
    uint32_t residue;
    uint8_t status;             /* CSW status */
    bool submitted;
    bool phase_error;
    /* Bulk-only has no autosense: a failed command's sense data waits
     * here for the REQUEST SENSE that follows (SPC-4 4.5.1) */
    uint8_t sense[SCSI_SENSE_LEN];
    bool sense_valid;
    uint8_t sense_lun;          /* the LUN the retained sense is of */
} MSDBot;

void msd_bot_init(MSDBot *b, USBDevice *dev, SCSIBus *bus, unsigned in_ep,
                  unsigned out_ep, bool multi_lun);
/* Free the request (a running one is orphaned: its completion frees it). */
void msd_bot_cleanup(MSDBot *b);
void msd_bot_reset(MSDBot *b);
void msd_bot_handle_data(MSDBot *b, USBPacket *p);
/* Bulk-Only Mass Storage Reset and Get Max LUN; false: not a BOT request */
bool msd_bot_handle_control(MSDBot *b, USBPacket *p, int request,
                            int length, uint8_t *data);
bool msd_bot_owns(MSDBot *b, SCSIRequest *r);
void msd_bot_complete(SCSIRequest *r);

extern const VMStateDescription vmstate_msd_bot;

#endif

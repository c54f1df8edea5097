/*
 * qemu-xhci / nec-usb-xhci internals shared by hw/usb/hcd-xhci.c (the
 * controller) and hw/usb/hcd-xhci-streams.c (bulk streams, xHCI 1.2
 * 4.12): register and TRB constants, completion codes, and the
 * controller's state.  Not for use outside hw/usb.
 */
#ifndef HW_USB_HCD_XHCI_H
#define HW_USB_HCD_XHCI_H
#include "qemu/osdep.h"
#include "hw/pci/pci.h"
#include "hw/usb/usb.h"
#include "system/timer.h"
#include "migration/vmstate.h"

#define XHCI_MAXPORTS_2     15
#define XHCI_MAXPORTS_3     15
#define XHCI_MAXPORTS       (XHCI_MAXPORTS_2 + XHCI_MAXPORTS_3)
#define XHCI_MAXSLOTS       64
#define XHCI_MAXINTRS       16
#define XHCI_ERST_MAX       16      /* ERST Max = 4 (2^4 entries) */
#define XHCI_MAX_LINKS      32
#define XHCI_MAX_TD_TRBS    512
#define XHCI_MAX_TD_BYTES   (1 << 20)
#define XHCI_MAX_TDS_PER_KICK 256
/* MaxPSASize (HCCPARAMS1): Primary Stream Context Arrays of up to
 * 2^(7+1) = 256 entries, QEMU 7.2's limit; stream IDs 1..255 */
#define XHCI_MAX_PSA_SIZE   7
#define XHCI_MAX_STREAMS    (2u << XHCI_MAX_PSA_SIZE)

#define OFF_OPER        0x40
#define OFF_PORTS       0x440
#define OFF_RUNTIME     0x1000
#define OFF_DOORBELL    0x2000
#define OFF_MSIX_TABLE  0x3000
#define OFF_MSIX_PBA    0x3800
#define XHCI_BAR_SIZE   0x4000

/* USBCMD / USBSTS */
#define USBCMD_RS       (1 << 0)
#define USBCMD_HCRST    (1 << 1)
#define USBCMD_INTE     (1 << 2)
#define USBCMD_HSEE     (1 << 3)
#define USBCMD_LHCRST   (1 << 7)
#define USBCMD_CSS      (1 << 8)
#define USBCMD_CRS      (1 << 9)
#define USBCMD_EWE      (1 << 10)
#define USBSTS_HCH      (1 << 0)
#define USBSTS_HSE      (1 << 2)
#define USBSTS_EINT     (1 << 3)
#define USBSTS_PCD      (1 << 4)
#define USBSTS_SSS      (1 << 8)
#define USBSTS_RSS      (1 << 9)
#define USBSTS_SRE      (1 << 10)
#define USBSTS_CNR      (1 << 11)
#define USBSTS_HCE      (1 << 12)
/* CRCR */
#define CRCR_RCS        (1 << 0)
#define CRCR_CS         (1 << 1)
#define CRCR_CA         (1 << 2)
#define CRCR_CRR        (1 << 3)
/* PORTSC */
#define PORTSC_CCS      (1u << 0)
#define PORTSC_PED      (1u << 1)
#define PORTSC_OCA      (1u << 3)
#define PORTSC_PR       (1u << 4)
#define PORTSC_PLS_SHIFT 5
#define PORTSC_PLS_MASK (0xfu << 5)
#define PORTSC_PP       (1u << 9)
#define PORTSC_SPEED_SHIFT 10
#define PORTSC_LWS      (1u << 16)
#define PORTSC_CSC      (1u << 17)
#define PORTSC_PEC      (1u << 18)
#define PORTSC_WRC      (1u << 19)
#define PORTSC_OCC      (1u << 20)
#define PORTSC_PRC      (1u << 21)
#define PORTSC_PLC      (1u << 22)
#define PORTSC_CEC      (1u << 23)
#define PORTSC_CAS      (1u << 24)
#define PORTSC_WCE      (1u << 25)
#define PORTSC_WDE      (1u << 26)
#define PORTSC_WOE      (1u << 27)
#define PORTSC_DR       (1u << 30)
#define PORTSC_WPR      (1u << 31)
#define PORTSC_CHANGE_BITS (PORTSC_CSC | PORTSC_PEC | PORTSC_WRC | \
                            PORTSC_OCC | PORTSC_PRC | PORTSC_PLC | PORTSC_CEC)
#define PLS_U0          0
#define PLS_U3          3
#define PLS_DISABLED    4
#define PLS_RXDETECT    5
#define PLS_POLLING     7
/* IMAN / ERDP */
#define IMAN_IP         (1 << 0)
#define IMAN_IE         (1 << 1)
#define ERDP_EHB        (1 << 3)

/* TRB fields */
#define TRB_C           (1 << 0)
#define TRB_TC          (1 << 1)        /* link: toggle cycle */
#define TRB_ENT         (1 << 1)
#define TRB_ISP         (1 << 2)
#define TRB_CH          (1 << 4)
#define TRB_IOC         (1 << 5)
#define TRB_IDT         (1 << 6)
#define TRB_BSR         (1 << 9)        /* address device */
#define TRB_DC          (1 << 9)        /* configure endpoint */
#define TRB_EV_ED       (1 << 2)
#define TRB_TYPE(c)     (((c) >> 10) & 0x3f)
#define TRB_DIR_IN      (1 << 16)

enum {
    TR_NORMAL = 1, TR_SETUP, TR_DATA, TR_STATUS, TR_ISOCH, TR_LINK,
    TR_EVDATA, TR_NOOP,
    CR_ENABLE_SLOT = 9, CR_DISABLE_SLOT, CR_ADDRESS_DEVICE,
    CR_CONFIGURE_ENDPOINT, CR_EVALUATE_CONTEXT, CR_RESET_ENDPOINT,
    CR_STOP_ENDPOINT, CR_SET_TR_DEQUEUE, CR_RESET_DEVICE,
    CR_NOOP = 23,
    ER_TRANSFER = 32, ER_COMMAND_COMPLETE, ER_PORT_STATUS_CHANGE,
    ER_HOST_CONTROLLER = 37,
};

enum {
    CC_SUCCESS = 1, CC_DATA_BUFFER_ERROR, CC_BABBLE_DETECTED,
    CC_USB_TRANSACTION_ERROR, CC_TRB_ERROR, CC_STALL_ERROR,
    CC_NO_SLOTS_ERROR = 9, CC_INVALID_STREAM_TYPE_ERROR = 10,
    CC_SLOT_NOT_ENABLED_ERROR = 11,
    CC_EP_NOT_ENABLED_ERROR = 12, CC_SHORT_PACKET = 13,
    CC_PARAMETER_ERROR = 17, CC_CONTEXT_STATE_ERROR = 19,
    CC_EVENT_RING_FULL_ERROR = 21, CC_COMMAND_RING_STOPPED = 24,
    CC_INVALID_STREAM_ID_ERROR = 34,
};

/* endpoint and slot states (6.2.2, 6.2.3) */
#define EP_DISABLED     0
#define EP_RUNNING      1
#define EP_HALTED       2
#define EP_STOPPED      3
#define EP_ERROR        4
#define SLOT_DISABLED   0
#define SLOT_DEFAULT    1
#define SLOT_ADDRESSED  2
#define SLOT_CONFIGURED 3

typedef struct XHCITRB {
    uint64_t addr;
    uint64_t param;
    uint32_t status;
    uint32_t control;
} XHCITRB;

/* endpoint context fields (6.2.3) */
#define EPCTX_MAXPSTREAMS(dw0)  (((dw0) >> 10) & 0x1f)
#define EPCTX_LSA(dw0)          (((dw0) >> 15) & 1)
#define EPCTX_HID(dw1)          (((dw1) >> 7) & 1)
#define EPCTX_TYPE(dw1)         (((dw1) >> 3) & 7)
#define EP_TYPE_BULK_OUT        2
#define EP_TYPE_BULK_IN         6
/* stream context (6.2.4.1): SCT 1 is a Primary Transfer Ring */
#define SCT_PRIMARY_TR          1

/* One stream of an endpoint with streams (4.12.2): its transfer ring. */
typedef struct XHCIStream {
    uint64_t dequeue;
    bool dcs;
    bool valid;                 /* its Stream Context has been read */
    bool kick_again;            /* the doorbell's budget ran out */
} XHCIStream;

typedef struct XHCIEndpoint {
    uint8_t state;
    uint8_t type;               /* 1..7 from the context */
    bool dcs;
    bool kick_again;            /* the doorbell's budget ran out (a stream's
                                   own flag says which) */
    /* the TR Dequeue Pointer; with streams the Stream Context Array */
    uint64_t dequeue;
    /* streams (6.2.3: MaxPStreams, LSA, HID) */
    uint8_t max_pstreams;
    bool lsa;
    bool hid;
    uint32_t nstreams;          /* 2 << MaxPStreams; 0: no streams */
    XHCIStream *streams;        /* [nstreams], index = Stream ID */
} XHCIEndpoint;

typedef struct XHCISlot {
    bool enabled;               /* Enable Slot gave it out */
    uint8_t state;              /* SLOT_* */
    uint8_t port_id;            /* root hub port, 1-based */
    uint32_t route;             /* route string behind hubs (20 bits) */
    uint8_t addr;
    uint64_t ctx;               /* the output device context */
    XHCIEndpoint eps[31];       /* by DCI - 1 */
} XHCISlot;

typedef struct XHCIInterrupter {
    uint32_t iman, imod, erstsz;
    uint64_t erstba, erdp;
    /* the event ring the ERST describes, and the producer position */
    uint32_t nsegs;
    uint64_t seg_base[XHCI_ERST_MAX];
    uint32_t seg_size[XHCI_ERST_MAX];
    uint32_t er_seg, er_idx;
    bool er_pcs;
    bool er_full;
} XHCIInterrupter;

typedef struct XHCIPort {
    uint32_t portsc;
} XHCIPort;

typedef struct XHCIState {
    PCIDevice parent;
    MemoryRegion mem, mem_cap, mem_oper, mem_runtime, mem_doorbell;
    USBBus bus;
    USBPort uports[MAX(XHCI_MAXPORTS_2, XHCI_MAXPORTS_3)];
    QEMUTimer *kick_timer;
    /* properties */
    uint32_t numports_2, numports_3, numintrs, numslots;
    bool msi, msix;
    /* registers */
    uint32_t usbcmd, usbsts, dnctrl, config;
    uint64_t crcr, dcbaap;
    uint64_t cmd_dequeue;
    bool cmd_ccs;
    bool cmd_kick_again;
    bool in_td;                 /* running a TD: wakeups wait for the timer */
    int64_t mfindex_start;
    XHCIPort ports[XHCI_MAXPORTS];
    XHCISlot slots[XHCI_MAXSLOTS];
    XHCIInterrupter intr[XHCI_MAXINTRS];
    /* a TD being run, and its data */
    XHCITRB td[XHCI_MAX_TD_TRBS];
    uint8_t *buf;
} XHCIState;

typedef struct XHCIClass {
    PCIDeviceClass pci;
} XHCIClass;

/* hcd-xhci.c */
bool xhci_dma_read(XHCIState *s, uint64_t addr, void *buf, size_t len);
bool xhci_dma_write(XHCIState *s, uint64_t addr, const void *buf, size_t len);
void xhci_event(XHCIState *s, unsigned v, uint64_t param, uint32_t status,
                uint32_t control);

/* hcd-xhci-streams.c */
/* Check the stream fields of endpoint context @ctx: CC_SUCCESS, or the
 * Configure Endpoint command's error. */
unsigned xhci_streams_check_ctx(const uint8_t *ctx);
/* Take MaxPStreams, LSA, HID from @ctx; with streams, ep->dequeue is the
 * Stream Context Array and the streams start unread. */
void xhci_streams_init(XHCIEndpoint *ep, const uint8_t *ctx);
void xhci_streams_free(XHCIEndpoint *ep);
/* Stream @sid of @ep (with streams), its context read from the array on
 * first use.  NULL with *cc set to Invalid Stream ID / Invalid Stream
 * Type Error, or to 0 when the read failed (HSE). */
XHCIStream *xhci_stream_get(XHCIState *s, XHCIEndpoint *ep, unsigned sid,
                            unsigned *cc);
/* Write stream @sid's dequeue pointer back to its Stream Context (all
 * streams read so far, for sid 0). */
void xhci_streams_write_back(XHCIState *s, XHCIEndpoint *ep, unsigned sid);
/* Set TR Dequeue Pointer for stream @sid: the command's completion code. */
unsigned xhci_stream_set_dequeue(XHCIState *s, XHCIEndpoint *ep,
                                 unsigned sid, uint64_t param);
/* A loaded endpoint's stream state is consistent. */
bool xhci_streams_post_load(XHCIEndpoint *ep);
extern const VMStateDescription vmstate_xhci_stream;

#endif

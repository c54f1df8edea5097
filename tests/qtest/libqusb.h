/*
 * libqusb: the host controller driver side of the USB qtests.  A test is
 * the xHCI or EHCI driver; this library holds the plumbing they share so
 * that every test builds rings, contexts, QHs and qTDs the same way.
 *
 * xHCI (eXtensible Host Controller Interface 1.2): BAR0 mapped at
 * QUSB_BAR, a DCBAA, one command ring, one event ring segment, a
 * transfer ring per endpoint (and per stream), all at fixed addresses in
 * guest RAM (the QXHCI_* layout below).  Events are read into a pending
 * list so a test can wait for the completion of one TRB while others
 * arrive.
 *
 * EHCI (Enhanced Host Controller Interface 1.0): the async schedule's QH
 * at QEHCI_QH_ASYNC, qTDs at QEHCI_QTD(i), data from QEHCI_DATA; frames
 * run with the virtual clock (1 ms each).
 *
 * UHCI (Universal Host Controller Interface 1.1): a frame list whose
 * every entry is one QH, TDs hung from it, full-speed control transfers
 * in 8-byte packets; its structures from a base the test picks (an EHCI
 * test keeps its companion's apart from the EHCI's own).
 */
#ifndef LIBQUSB_H
#define LIBQUSB_H

#include <stdbool.h>
#include <stdint.h>
#include "libqtest.h"

/* Where every test maps the controller's BAR0 (below the IOAPIC). */
#define QUSB_BAR                0xfe000000u

/* A scratch directory (GLib's default name) with a zeroed raw image
 * "disk.img" of @size bytes; both paths are the caller's to free. */
void qusb_make_disk(size_t size, char **dir, char **img);

/* ---- xHCI ------------------------------------------------------------- */

#define QXHCI_OPER              (QUSB_BAR + 0x40)
#define QXHCI_PORTS             (QUSB_BAR + 0x440)
#define QXHCI_RUNTIME           (QUSB_BAR + 0x1000)
#define QXHCI_DOORBELL          (QUSB_BAR + 0x2000)

#define QXHCI_DCBAA             0x200000
#define QXHCI_CMD_RING          0x201000
#define QXHCI_ERST              0x202000
#define QXHCI_EV_RING           0x203000
#define QXHCI_EV_SIZE           128
#define QXHCI_INPUT_CTX         0x204000
#define QXHCI_OUT_CTX(s)        (0x210000 + 0x1000 * (s))
#define QXHCI_RING(s, dci)      (0x300000 + 0x10000 * (s) + 0x400 * (dci))
#define QXHCI_DATA              0x500000
/* stream context arrays and stream rings of slot 1 */
#define QXHCI_SCA(dci)          (0x700000 + 0x1000 * (dci))
#define QXHCI_SRING(dci, sid)   (0x800000 + 0x10000 * (dci) + 0x400 * (sid))
#define QXHCI_RING_TRBS         63

#define QXHCI_SLOTS             8
#define QXHCI_STREAMS           32

/* TRB types (xHCI 6.4.6) */
#define TRB_NORMAL              1
#define TRB_SETUP               2
#define TRB_DATA                3
#define TRB_STATUS              4
#define TRB_LINK                6
#define TRB_EV_TRANSFER         32
#define TRB_EV_COMMAND          33
#define TRB_EV_PORT             34
#define TRB_ISP                 (1u << 2)
#define TRB_IOC                 (1u << 5)

/* completion codes (xHCI 6.4.5) */
#define CC_SUCCESS              1
#define CC_STREAM_TYPE          10
#define CC_SLOT_NOT_ENABLED     11
#define CC_SHORT                13
#define CC_PARAMETER            17
#define CC_STREAM_ID            34

typedef struct QUsbRing {
    uint64_t base;
    unsigned idx;
    bool cycle;
} QUsbRing;

typedef struct QUsbEvent {
    uint64_t param;
    uint32_t status, control;
} QUsbEvent;

typedef struct QXhci {
    QTestState *qts;
    QUsbRing cmd;
    unsigned ev_idx;
    bool ev_cycle;
    /* false: a wait drops the events it passes over (a test that reads
     * the ring in order); true: they stay pending for a later wait */
    bool keep_events;
    QUsbRing rings[QXHCI_SLOTS][32];
    QUsbRing srings[32][QXHCI_STREAMS];
    QUsbEvent pend[256];
    unsigned npend;
} QXhci;

/* qxhci_event_wait() flags */
#define QXHCI_EV_ANY            1u      /* any TRB pointer */

/* Map BAR0 (64-bit) of the controller at @devfn and enable it. */
void qxhci_init(QXhci *x, QTestState *qts, unsigned devfn);
/* HCRST, 8 slots, DCBAA, command ring, one event ring segment, run. */
void qxhci_hc_start(QXhci *x);
uint32_t qxhci_portsc(QXhci *x, unsigned port);

void qxhci_ring_init(QXhci *x, QUsbRing *r, uint64_t base);
uint64_t qxhci_ring_push(QXhci *x, QUsbRing *r, uint64_t param,
                         uint32_t status, uint32_t control);

/* The next event, from the pending list or the ring; false when none. */
bool qxhci_event_next(QXhci *x, QUsbEvent *ev);
/* Take the pending event of @type for the TRB at @param (or any, with
 * QXHCI_EV_ANY) without waiting. */
bool qxhci_event_take(QXhci *x, unsigned type, uint64_t param,
                      unsigned flags, QUsbEvent *out);
/* The event of @type for the TRB at @param (or any, QXHCI_EV_ANY): within
 * 20 ms of virtual time, and 10 s of real time for block I/O. */
QUsbEvent qxhci_event_wait(QXhci *x, unsigned type, uint64_t param,
                           unsigned flags);
/* Nothing of @type for @param within 5 ms. */
void qxhci_assert_no_event(QXhci *x, unsigned type, uint64_t param);
unsigned qxhci_cc(QUsbEvent ev);

/* A command and its completion event. */
QUsbEvent qxhci_command(QXhci *x, uint64_t param, uint32_t status,
                        uint32_t control);
void qxhci_doorbell(QXhci *x, unsigned slot, unsigned dci, unsigned sid);

/* Reset @port unless enabled, Enable Slot, Address Device with a default
 * control endpoint of @mps0; returns the slot (its address). */
unsigned qxhci_address_device(QXhci *x, unsigned port, unsigned mps0);
/* Drop and add endpoint @dci (type: 2 bulk out, 6 bulk in, 7 interrupt
 * in): a plain ring, or @maxps > 0 streams (LSA @lsa) with a ring per
 * stream.  Returns the command's completion code. */
unsigned qxhci_configure_ep(QXhci *x, unsigned slot, unsigned dci,
                            unsigned type, unsigned mps, unsigned maxps,
                            bool lsa);
unsigned qxhci_ep_state(QXhci *x, unsigned slot, unsigned dci);

/* A control transfer on the slot's endpoint 0 (data at QXHCI_DATA);
 * returns bytes moved or -completion code. */
int qxhci_control(QXhci *x, unsigned slot, uint8_t type, uint8_t req,
                  uint16_t value, uint16_t index, uint16_t len,
                  uint8_t *data);
/* Post a Normal TRB on stream @sid of @dci (0: the endpoint's ring) and
 * ring; returns the TRB's address. */
uint64_t qxhci_post(QXhci *x, unsigned slot, unsigned dci, unsigned sid,
                    uint64_t buf, unsigned len);
/* Bytes the TD at @trb moved, or -completion code. */
int qxhci_done_len(QXhci *x, uint64_t trb, unsigned len);

/* ---- EHCI ------------------------------------------------------------- */

#define QEHCI_OP                (QUSB_BAR + 0x20)
#define QEHCI_FRAMELIST         0x100000
#define QEHCI_QH_ASYNC          0x101000
#define QEHCI_QTD(i)            (0x102000 + 0x20 * (i))
#define QEHCI_DATA              0x110000

/* operational registers (EHCI 2.3) */
#define USBCMD                  0x00
#define USBSTS                  0x04
#define USBINTR                 0x08
#define FRINDEX                 0x0c
#define PERIODICLISTBASE        0x14
#define ASYNCLISTADDR           0x18
#define CONFIGFLAG              0x40
#define PORTSC(n)               (0x44 + 4 * (n))

#define CMD_RS                  (1u << 0)
#define CMD_HCRESET             (1u << 1)
#define CMD_PSE                 (1u << 4)
#define CMD_ASE                 (1u << 5)
#define CMD_IAAD                (1u << 6)
#define STS_USBINT              (1u << 0)
#define STS_ERRINT              (1u << 1)
#define STS_PCD                 (1u << 2)
#define STS_HSE                 (1u << 4)
#define STS_IAA                 (1u << 5)
#define STS_HALTED              (1u << 12)
#define PORT_CCS                (1u << 0)
#define PORT_CSC                (1u << 1)
#define PORT_PED                (1u << 2)
#define PORT_PR                 (1u << 8)
#define PORT_PP                 (1u << 12)
#define PORT_OWNER              (1u << 13)

/* qTD token (EHCI 3.5.3) */
#define TOK_DT                  (1u << 31)
#define TOK_IOC                 (1u << 15)
#define TOK_ACTIVE              (1u << 7)
#define TOK_HALT                (1u << 6)
#define TOK_DBERR               (1u << 5)
#define TOK_XACTERR             (1u << 3)
#define PID_OUT                 0
#define PID_IN                  1
#define PID_SETUP               2

typedef struct QEhci {
    QTestState *qts;
    /* called between frames while a queue runs (a usb-redir peer) */
    void (*frame_hook)(void);
} QEhci;

/* Map BAR0 of the controller at @devfn and enable it. */
void qehci_init(QEhci *h, QTestState *qts, unsigned devfn);
uint32_t qehci_rd(QEhci *h, unsigned reg);
void qehci_wr(QEhci *h, unsigned reg, uint32_t v);
/* Async schedule on (an empty QH at QEHCI_QH_ASYNC), CONFIGFLAG, Run,
 * with @extra USBCMD bits. */
void qehci_hc_start(QEhci *h, uint32_t extra);
/* Reset port @n; true when it came out enabled (a high-speed device). */
bool qehci_port_reset(QEhci *h, unsigned n);
/* An empty QH for device @addr endpoint @ep (high speed) at @qh. */
void qehci_set_qh(QEhci *h, uint32_t qh, uint32_t hlink, unsigned addr,
                  unsigned ep, unsigned mps, uint8_t smask);
void qehci_write_qtd(QEhci *h, unsigned i, uint32_t next, unsigned pid,
                     unsigned len, uint32_t buf, uint32_t flags);
uint32_t qehci_qtd_token(QEhci *h, unsigned i);
/* Hand qTD @first to @qh and run frames until qTD @last is done: 50 ms of
 * virtual time, then (@wait) up to 10 s of real time for block I/O; not
 * once the controller has halted.  False when it is still active. */
bool qehci_run_queue(QEhci *h, uint32_t qh, unsigned first, unsigned last,
                     bool wait);
/* A control transfer through the async QH (data at QEHCI_DATA + 0x100);
 * returns bytes moved, -1 on error. */
int qehci_control(QEhci *h, unsigned addr, uint8_t type, uint8_t req,
                  uint16_t value, uint16_t index, uint16_t len,
                  uint8_t *data);
/* One bulk qTD on the async QH: bytes moved, -1 when still active after
 * the wait (NAKed; the qTD is taken back off the queue), -2 halted. */
int qehci_bulk(QEhci *h, unsigned addr, unsigned ep, bool in, uint32_t buf,
               unsigned len, bool wait);
/* Port reset, GET_DESCRIPTOR (8 bytes), SET_ADDRESS @addr,
 * SET_CONFIGURATION 1. */
void qehci_enumerate(QEhci *h, unsigned port, unsigned addr);

/* ---- UHCI ------------------------------------------------------------- */

/* I/O registers (UHCI 2.1) */
#define UHCI_USBCMD             0x00
#define UHCI_USBSTS             0x02
#define UHCI_USBINTR            0x04
#define UHCI_FRNUM              0x06
#define UHCI_FLBASEADD          0x08
#define UHCI_SOFMOD             0x0c
#define UHCI_PORTSC1            0x10

/* TD control and status, token (UHCI 3.2.2, 3.2.3) */
#define TD_IOC                  (1u << 24)
#define TD_ACTIVE               (1u << 23)
#define TD_STALL                (1u << 22)
#define TD_NAK                  (1u << 19)
#define UHCI_PID_SETUP          0x2d
#define UHCI_PID_IN             0x69
#define UHCI_PID_OUT            0xe1

typedef struct QUhci {
    QTestState *qts;
    uint16_t io;
    /* guest memory: frame list, the QH, TDs (32 bytes apart), data */
    uint32_t fl, qh, td, data;
    /* called before each frame quhci_run_tds runs (a usbredir peer
     * answering); with it set, a queue may take up to 10 s */
    void (*frame_hook)(void);
} QUhci;

/* I/O BAR4 of the controller at @devfn at @io, I/O and bus mastering
 * on; its structures at @mem (frame list), +0x1000 (QH), +0x2000 (TDs),
 * +0x10000 (data). */
void quhci_init(QUhci *u, QTestState *qts, unsigned devfn, uint16_t io,
                uint32_t mem);
uint16_t quhci_rd(QUhci *u, unsigned reg);
void quhci_wr(QUhci *u, unsigned reg, uint16_t v);
/* Every frame list entry at the QH, an empty queue; Run, MAXP. */
void quhci_schedule_start(QUhci *u);
/* Reset, enable and acknowledge the connect change of @port (0-based). */
void quhci_port_reset(QUhci *u, unsigned port);
/* TD @i: active, 3 errors allowed, @len bytes (0: a zero-length packet). */
void quhci_write_td(QUhci *u, unsigned i, uint32_t link, uint32_t ctrl,
                    uint8_t pid, unsigned addr, unsigned ep, unsigned len,
                    uint32_t buf);
uint32_t quhci_td_ctrl(QUhci *u, unsigned i);
/* The ActLen of a TD's control and status dword. */
unsigned quhci_actlen(uint32_t ctrl);
/* Queue TDs 0..n-1 on the QH and run frames until the last is done (or
 * 50 ms). */
void quhci_run_tds(QUhci *u, unsigned n);
/* A control transfer at full speed (8-byte packets); returns bytes in,
 * -1 on error. */
int quhci_control(QUhci *u, unsigned addr, uint8_t type, uint8_t req,
                  uint16_t value, uint16_t index, uint16_t len,
                  uint8_t *data);
/* Port reset, GET_DESCRIPTOR (8 bytes), SET_ADDRESS @addr,
 * SET_CONFIGURATION 1. */
void quhci_enumerate(QUhci *u, unsigned port, unsigned addr);

#endif

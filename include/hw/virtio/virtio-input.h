/*
 * virtio-input: the core (hw/input/virtio-input.c) and the HID devices
 * virtio-keyboard-pci, virtio-mouse-pci and virtio-tablet-pci
 * (hw/input/virtio-input-hid.c).
 *
 * Spec: OASIS VIRTIO 1.2, 5.8 "Input Device": device ID 18, eventq (0)
 * and statusq (1), struct virtio_input_config (select, subsel, size, the
 * union of string / bitmap / virtio_input_absinfo / virtio_input_devids),
 * enum virtio_input_config_select and struct virtio_input_event (evdev
 * type, code, value).  Event codes are Linux's (linux/input-event-codes.h).
 */
#ifndef HW_VIRTIO_VIRTIO_INPUT_H
#define HW_VIRTIO_VIRTIO_INPUT_H
#include "qemu/osdep.h"
#include "hw/virtio/virtio.h"
#include "ui/input.h"

#define VIRTIO_ID_INPUT                 18

/* enum virtio_input_config_select (5.8.4) */
#define VIRTIO_INPUT_CFG_UNSET          0x00
#define VIRTIO_INPUT_CFG_ID_NAME        0x01
#define VIRTIO_INPUT_CFG_ID_SERIAL      0x02
#define VIRTIO_INPUT_CFG_ID_DEVIDS      0x03
#define VIRTIO_INPUT_CFG_PROP_BITS      0x10
#define VIRTIO_INPUT_CFG_EV_BITS        0x11
#define VIRTIO_INPUT_CFG_ABS_INFO       0x12
#define VIRTIO_INPUT_CFG_SIZE           136     /* 8 + 128-byte union */
#define VIRTIO_INPUT_CFG_PAYLOAD        128

/* Linux evdev types and codes used here */
#define EV_SYN                          0x00
#define EV_KEY                          0x01
#define EV_REL                          0x02
#define EV_ABS                          0x03
#define EV_MSC                          0x04
#define EV_LED                          0x11
#define EV_REP                          0x14
#define SYN_REPORT                      0
#define REL_X                           0x00
#define REL_Y                           0x01
#define REL_WHEEL                       0x08
#define ABS_X                           0x00
#define ABS_Y                           0x01
#define LED_NUML                        0x00
#define LED_CAPSL                       0x01
#define LED_SCROLLL                     0x02
#define BTN_LEFT                        0x110
#define BTN_RIGHT                       0x111
#define BTN_MIDDLE                      0x112
#define BTN_SIDE                        0x113
#define BTN_EXTRA                       0x114
#define BUS_VIRTUAL                     0x06

/* Events of one report kept until its SYN (keys, buttons, axes, SYN). */
#define VIRTIO_INPUT_MAX_PENDING        64

typedef struct VirtIOInputEvent {
    uint16_t type, code;
    uint32_t value;
} VirtIOInputEvent;

/* One answer of the configuration space: select/subsel -> payload. */
typedef struct VirtIOInputConfig {
    uint8_t select, subsel, size;
    uint8_t payload[VIRTIO_INPUT_CFG_PAYLOAD];
} VirtIOInputConfig;

typedef struct VirtIOInput {
    VirtIODevice vdev;                  /* first */
    VirtQueue *evt_vq, *sts_vq;

    char *serial;                       /* property */
    VirtIOInputConfig *cfg;             /* the device's answers */
    unsigned ncfg;
    uint8_t select, subsel;             /* what the driver asked for */

    VirtIOInputEvent pending[VIRTIO_INPUT_MAX_PENDING];
    unsigned npending;
    uint64_t dropped;                   /* reports lost: no buffers */
    uint32_t ledstate;                  /* EV_LED bits from the statusq */

    /* the device kind's hook for statusq events */
    void (*status)(struct VirtIOInput *vi, const VirtIOInputEvent *ev);
    VirtQueueElement elem;
} VirtIOInput;

/* Add an answer (a copy of @size bytes of @data) to the config table. */
void virtio_input_add_config(VirtIOInput *vi, uint8_t select, uint8_t subsel,
                             const void *data, uint8_t size);
/* Queue one event; an EV_SYN/SYN_REPORT sends the report (or drops it
 * whole when the driver has not posted buffers for all of it). */
void virtio_input_send(VirtIOInput *vi, uint16_t type, uint16_t code,
                       uint32_t value);
bool virtio_input_realize(VirtIOInput *vi, GError **errp);
void virtio_input_unrealize(VirtIOInput *vi);

extern const VirtioDeviceClass virtio_input_vdc;
extern const VMStateDescription vmstate_virtio_input;

#endif

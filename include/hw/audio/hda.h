/*
 * The HD Audio link between a controller (hw/audio/intel-hda.c) and its
 * codecs (hw/audio/hda-codec.c).  Spec: Intel High Definition Audio
 * Specification 1.0a, sections 4 (programming model), 7.3 (codec
 * parameters and controls).
 *
 * A controller owns an HDABus named "ID.0" (or "hda.N" without an id);
 * codecs attach with bus= (default: the last HDA bus created) and cad=
 * (codec address, default the first free one).  Commands go to the codec
 * by address; a codec answers through hda_codec_response(), solicited or
 * not.  Stream data moves on the codec's initiative: its audio voice asks
 * for data (playback) or has data (capture) on the audio timer, and the
 * codec calls hda_codec_xfer() for the stream tag its converter is bound
 * to, which runs the controller's BDL DMA for that stream.
 */
#ifndef HW_AUDIO_HDA_H
#define HW_AUDIO_HDA_H
#include "hw/qdev.h"

#define TYPE_HDA_CODEC      "hda-codec"
#define HDA_MAX_CODECS      15

typedef struct HDABus HDABus;
typedef struct HDACodecDevice HDACodecDevice;

typedef struct HDACodecOps {
    /* Run verb @verb (the command without its address and node) on node
     * @nid; answer with hda_codec_response(solicited = true). */
    void (*command)(HDACodecDevice *dev, uint32_t nid, uint32_t verb);
    /* The controller started or stopped a stream with tag @stnr. */
    void (*stream)(HDACodecDevice *dev, uint32_t stnr, bool running,
                   bool output);
} HDACodecOps;

typedef struct HDABusOps {
    void (*response)(HDACodecDevice *dev, bool solicited, uint32_t response);
    /* Move @len bytes of stream @stnr (direction @output) between guest
     * memory and @buf; false when no such stream is running. */
    bool (*xfer)(HDACodecDevice *dev, uint32_t stnr, bool output,
                 uint8_t *buf, uint32_t len);
} HDABusOps;

struct HDABus {
    char *name;
    void *ctrl;
    const HDABusOps *ops;
    GPtrArray *codecs;          /* HDACodecDevice *, attach order */
};

struct HDACodecDevice {
    DeviceState parent;
    /* properties */
    char *bus_name;
    int32_t cad;                /* codec address 0-14, -1: first free */
    /* set by the codec type's realize before the bus level sees it */
    const HDACodecOps *ops;
    HDABus *bus;
};

void hda_bus_init(HDABus *bus, const HDABusOps *ops, void *ctrl,
                  const char *dev_id);
void hda_bus_cleanup(HDABus *bus);
HDACodecDevice *hda_codec_find(HDABus *bus, uint32_t cad);

void hda_codec_response(HDACodecDevice *dev, bool solicited,
                        uint32_t response);
bool hda_codec_xfer(HDACodecDevice *dev, uint32_t stnr, bool output,
                    uint8_t *buf, uint32_t len);

#endif

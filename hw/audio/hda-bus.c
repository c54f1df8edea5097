/*
 * The HD Audio bus and the abstract "hda-codec" device type
 * (include/hw/audio/hda.h).
 */
#include "qemu/osdep.h"
#include "hw/audio/hda.h"

static GPtrArray *hda_buses;
static unsigned hda_bus_count;

void hda_bus_init(HDABus *bus, const HDABusOps *ops, void *ctrl,
                  const char *dev_id)
{
    bus->ops = ops;
    bus->ctrl = ctrl;
    bus->name = dev_id ? g_strdup_printf("%s.0", dev_id)
                       : g_strdup_printf("hda.%u", hda_bus_count);
    hda_bus_count++;
    bus->codecs = g_ptr_array_new();
    if (!hda_buses) {
        hda_buses = g_ptr_array_new();
    }
    g_ptr_array_add(hda_buses, bus);
}

void hda_bus_cleanup(HDABus *bus)
{
    if (hda_buses) {
        g_ptr_array_remove(hda_buses, bus);
    }
    for (guint i = 0; bus->codecs && i < bus->codecs->len; i++) {
        ((HDACodecDevice *)g_ptr_array_index(bus->codecs, i))->bus = NULL;
    }
    g_clear_pointer(&bus->codecs, g_ptr_array_unref);
    g_free(bus->name);
    bus->name = NULL;
}

static HDABus *hda_bus_find(const char *name)
{
    for (guint i = 0; hda_buses && i < hda_buses->len; i++) {
        HDABus *b = g_ptr_array_index(hda_buses, i);
        if (!strcmp(b->name, name)) {
            return b;
        }
    }
    return NULL;
}

HDACodecDevice *hda_codec_find(HDABus *bus, uint32_t cad)
{
    for (guint i = 0; bus->codecs && i < bus->codecs->len; i++) {
        HDACodecDevice *c = g_ptr_array_index(bus->codecs, i);
        if ((uint32_t)c->cad == cad) {
            return c;
        }
    }
    return NULL;
}

void hda_codec_response(HDACodecDevice *dev, bool solicited,
                        uint32_t response)
{
    if (dev->bus) {
        dev->bus->ops->response(dev, solicited, response);
    }
}

bool hda_codec_xfer(HDACodecDevice *dev, uint32_t stnr, bool output,
                    uint8_t *buf, uint32_t len)
{
    return dev->bus && dev->bus->ops->xfer(dev, stnr, output, buf, len);
}

static bool hda_codec_realize(DeviceState *dev, GError **errp)
{
    HDACodecDevice *c = (HDACodecDevice *)dev;
    HDABus *bus;

    if (c->bus_name) {
        bus = hda_bus_find(c->bus_name);
        if (!bus) {
            error_setg(errp, "Bus '%s' not found", c->bus_name);
            return false;
        }
    } else if (hda_buses && hda_buses->len) {
        bus = g_ptr_array_index(hda_buses, hda_buses->len - 1);
    } else {
        error_setg(errp, "No 'HDA' bus found for device '%s'",
                   dev->type->name);
        return false;
    }
    if (c->cad == -1) {
        for (c->cad = 0; c->cad < HDA_MAX_CODECS; c->cad++) {
            if (!hda_codec_find(bus, c->cad)) {
                break;
            }
        }
    }
    if (c->cad < 0 || c->cad >= HDA_MAX_CODECS) {
        error_setg(errp, "%s: cad must be 0 to %d (or the bus is full)",
                   dev->type->name, HDA_MAX_CODECS - 1);
        return false;
    }
    if (hda_codec_find(bus, c->cad)) {
        error_setg(errp, "%s: codec address %d is taken on %s",
                   dev->type->name, c->cad, bus->name);
        return false;
    }
    c->bus = bus;
    g_ptr_array_add(bus->codecs, c);
    return true;
}

static void hda_codec_unrealize(DeviceState *dev)
{
    HDACodecDevice *c = (HDACodecDevice *)dev;

    if (c->bus) {
        g_ptr_array_remove(c->bus->codecs, c);
        c->bus = NULL;
    }
}

static const Property hda_codec_props[] = {
    DEFINE_PROP("bus", HDACodecDevice, bus_name, PROP_STRING, NULL,
                "HDA bus: ID.0 of the controller (default: the last one)"),
    DEFINE_PROP("cad", HDACodecDevice, cad, PROP_INT32, "-1",
                "codec address 0-14 (default: the first free one)"),
    DEFINE_PROP_END_OF_LIST(),
};

static const DeviceType hda_codec_type = {
    .name = TYPE_HDA_CODEC,
    .parent = TYPE_DEVICE,
    .desc = "HD Audio codec",
    .instance_size = sizeof(HDACodecDevice),
    .abstract = true,
    .category = DEVICE_CATEGORY_SOUND,
    .props = hda_codec_props,
    .realize = hda_codec_realize,
    .unrealize = hda_codec_unrealize,
};

static void hda_bus_register_types(void)
{
    device_type_register(&hda_codec_type);
}
type_init(hda_bus_register_types)

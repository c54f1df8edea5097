/*
 * virtio-gpu-draw: a virtio-gpu-pci 2D driver run inside a guest at CPL 3
 * (VIRTIO 1.2, 4.1 transport, 5.7 GPU), with the screen checked by the
 * host (tests/guest/run-virtio-gpu-draw-test.py takes a QMP screendump at
 * each stop and compares it pixel for pixel).
 *
 *   - PCI: the first 1af4:1050 function (modern only), BAR4 mapped, the
 *     capability chain walked for the common and notify structures;
 *   - initialisation: reset, ACKNOWLEDGE, DRIVER, VERSION_1 + EDID,
 *     FEATURES_OK, the controlq (queue 0, split) in static memory,
 *     DRIVER_OK; requests are polled on the used ring (no interrupt);
 *   - GET_DISPLAY_INFO (head 0 enabled, 1280x800), GET_EDID;
 *   - a 256x192 B8G8R8X8 resource whose backing is the payload's own
 *     framebuffer in two entries, the picture of vbe_picture() in
 *     tests/qtest/display/test_display.py, TRANSFER_TO_HOST_2D,
 *     SET_SCANOUT, RESOURCE_FLUSH, then "virtio-gpu-draw: full ready";
 *   - a 64x32 rectangle at (96, 80) inverted in the framebuffer,
 *     transferred and flushed alone, then "virtio-gpu-draw: rect ready".
 * The host answers each "ready" with a byte on COM1.
 */
#include "guest.h"

#define MODERN_BAR_ADDR 0xfe100000u
#define QSIZE           8
#define W               256
#define H               192
#define RES_ID          1

static struct vring_desc desc[QSIZE] __attribute__((aligned(16)));
static volatile uint16_t avail[2 + QSIZE + 1] __attribute__((aligned(2)));
static volatile uint32_t used[1 + 2 * QSIZE + 1] __attribute__((aligned(4)));
static uint8_t req[128] __attribute__((aligned(8)));
static uint8_t resp[1100] __attribute__((aligned(8)));
static uint32_t fb[W * H] __attribute__((aligned(4096)));

static unsigned devfn;
static uintptr_t common, notify;
static uint32_t notify_mult;
static uint16_t avail_idx, used_seen;




static bool find_device(void)
{
    static const uint32_t ids[] = { 0x10501af4 };
    int d = pci_find_id(ids, ARRAY_SIZE(ids));

    devfn = d;
    return d >= 0;
}

static bool map_device(void)
{
    struct virtio_pci_caps c;

    virtio_pci_map(devfn, MODERN_BAR_ADDR, &c);
    common = c.common;
    notify = c.notify;
    notify_mult = c.notify_mult;
    return common && notify;
}

static bool init_device(void)
{
    mmio_write8(common + C_STATUS, 0);
    mmio_write8(common + C_STATUS, 1);
    mmio_write8(common + C_STATUS, 3);
    mmio_write32(common + C_DFSELECT, 0);
    report(mmio_read32(common + C_DF) & 2, "EDID offered");
    mmio_write32(common + C_GFSELECT, 0);
    mmio_write32(common + C_GF, 2);
    mmio_write32(common + C_GFSELECT, 1);
    mmio_write32(common + C_GF, 1);
    mmio_write8(common + C_STATUS, 0xb);
    if (!(mmio_read8(common + C_STATUS) & 8)) {
        return false;
    }
    mmio_write16(common + C_Q_SELECT, 0);
    mmio_write16(common + C_Q_SIZE, QSIZE);
    mmio_write64(common + C_Q_DESC, (uintptr_t)desc);
    mmio_write64(common + C_Q_AVAIL, (uintptr_t)avail);
    mmio_write64(common + C_Q_USED, (uintptr_t)used);
    mmio_write16(common + C_Q_ENABLE, 1);
    mmio_write8(common + C_STATUS, 0xf);
    return mmio_read8(common + C_STATUS) == 0xf;
}

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return v;
}

/* Send req[0..len) with the response in resp; returns the response type. */
static uint32_t command(uint32_t len)
{
    uint16_t slot = (avail_idx * 2) % QSIZE;
    uint64_t deadline = rdtsc() + tsc_hz();     /* one second */

    memset(resp, 0, sizeof(resp));
    desc[slot] = (struct vring_desc){ (uintptr_t)req, len, 1, slot + 1 };
    desc[slot + 1] = (struct vring_desc){ (uintptr_t)resp, sizeof(resp), 2,
                                          0 };
    avail[2 + avail_idx % QSIZE] = slot;
    barrier();
    avail[1] = ++avail_idx;
    barrier();
    mmio_write16(notify + 0 * notify_mult, 0);
    while ((uint16_t)(used[0] >> 16) == used_seen && rdtsc() < deadline) {
        cpu_relax();
    }
    if ((uint16_t)(used[0] >> 16) == used_seen) {
        report_info("no used buffer for command %#x", get32(req));
        return 0;
    }
    used_seen++;
    return get32(resp);
}

static void hdr(uint32_t type)
{
    memset(req, 0, sizeof(req));
    put32(req, type);
}

static uint32_t rect_command(uint32_t type, uint32_t x, uint32_t y,
                            uint32_t w, uint32_t h, uint32_t a, uint32_t b)
{
    hdr(type);
    put32(req + 24, x);
    put32(req + 28, y);
    put32(req + 32, w);
    put32(req + 36, h);
    put32(req + 40, a);
    put32(req + 44, b);
    return command(48);
}

static uint32_t transfer(uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
    uint64_t offset = ((uint64_t)y * W + x) * 4;

    hdr(0x105);
    put32(req + 24, x);
    put32(req + 28, y);
    put32(req + 32, w);
    put32(req + 36, h);
    memcpy(req + 40, &offset, 8);
    put32(req + 48, RES_ID);
    return command(56);
}

static void draw_picture(void)
{
    for (unsigned y = 0; y < H; y++) {
        for (unsigned x = 0; x < W; x++) {
            uint32_t r = x & 0xff, g = y & 0xff, b = (x * 3 + y * 5) & 0xff;

            if ((x / 64 + y / 64) % 2) {
                r ^= 0xff;
            }
            fb[y * W + x] = r << 16 | g << 8 | b;   /* B, G, R, X in memory */
        }
    }
}

static void wait_host(const char *what)
{
    printf("virtio-gpu-draw: %s ready\n", what);
    while (!(inb(COM1 + 5) & 1)) {
        cpu_relax();
    }
    (void)inb(COM1);
}

int main(void)
{
    uint64_t half = sizeof(fb) / 2;

    report_prefix("virtio-gpu-draw");
    if (!find_device()) {
        report(false, "no 1af4:1050 function");
        report_summary();
    }
    report(map_device(), "modern capabilities found");
    report(init_device(), "FEATURES_OK and DRIVER_OK");

    hdr(0x100);
    report(command(24) == 0x1101 && get32(resp + 24 + 16) == 1 &&
           get32(resp + 24 + 8) == 1280 && get32(resp + 24 + 12) == 800,
           "GET_DISPLAY_INFO: head 0 enabled, 1280x800");
    hdr(0x10a);
    report(command(32) == 0x1104 && get32(resp + 24) == 128 &&
           resp[32 + 1] == 0xff, "GET_EDID: 128 bytes");

    draw_picture();
    hdr(0x101);
    put32(req + 24, RES_ID);
    put32(req + 28, 2);                         /* B8G8R8X8 */
    put32(req + 32, W);
    put32(req + 36, H);
    report(command(40) == 0x1100, "RESOURCE_CREATE_2D %ux%u", W, H);
    hdr(0x106);
    put32(req + 24, RES_ID);
    put32(req + 28, 2);
    {
        uint64_t a0 = (uintptr_t)fb, a1 = (uintptr_t)fb + half;
        memcpy(req + 32, &a0, 8);
        put32(req + 40, half);
        memcpy(req + 48, &a1, 8);
        put32(req + 56, half);
    }
    report(command(64) == 0x1100, "ATTACH_BACKING in two entries");
    report(transfer(0, 0, W, H) == 0x1100, "TRANSFER_TO_HOST_2D");
    report(rect_command(0x103, 0, 0, W, H, 0, RES_ID) == 0x1100,
           "SET_SCANOUT 0");
    report(rect_command(0x104, 0, 0, W, H, RES_ID, 0) == 0x1100,
           "RESOURCE_FLUSH");
    wait_host("full");

    for (unsigned y = 80; y < 112; y++) {
        for (unsigned x = 96; x < 160; x++) {
            fb[y * W + x] ^= 0xffffff;
        }
    }
    report(transfer(96, 80, 64, 32) == 0x1100, "transfer of a rectangle");
    report(rect_command(0x104, 96, 80, 64, 32, RES_ID, 0) == 0x1100,
           "flush of the rectangle");
    wait_host("rect");
    report(rect_command(0x104, 0, 0, W + 1, H, RES_ID, 0) == 0x1205,
           "a flush outside the resource: ERR_INVALID_PARAMETER");
    report_summary();
}

/*
 * Device state round trips for every device type that has a state
 * description (a vmsd anywhere in its type chain), found through
 * device_type_list() so new devices are covered without touching this file:
 *
 *   create the device in a minimal machine (memory map, dummy GSI lines,
 *   a null chardev for chardev properties), drive it away from its reset
 *   state through its ports, save (A), reset, drive it into a different
 *   state (B), load A, save again: the result must equal A byte for byte.
 *
 * Then broken states (truncated, trailing bytes, a version the device does
 * not know) must be refused with an error, never crash, and leave the
 * device loadable.  States with corrupted field values must either be
 * refused or leave a device the guest can use without it misbehaving
 * (checked under ASan/UBSan by running the device afterwards).
 *
 * PCI functions get a PCI host bridge of their own for the test.  A
 * device that needs more than this minimal machine, or whose default
 * state is all there is to see, gets an entry in device_setups[] below.
 */
#include "qemu/osdep.h"
#include "hw/audio/hda.h"
#include "hw/boards.h"
#include "hw/qdev.h"
#include "hw/pci/pci.h"
#include "hw/pci-host/i440fx.h"
#include "hw/intc/apic.h"
#include "hw/i386/vmport.h"
#include "hw/nvram/fw_cfg.h"
#include "chardev/char.h"
#include "system/main-loop.h"
#include "system/blockdev.h"
#include "system/memory.h"
#include "system/timer.h"
#include "system/blockdev.h"
#include "block/block-backend.h"
#include "hw/scsi/scsi.h"
#include "hw/usb/usb.h"
#include "ui/input.h"

#define NULL_CHARDEV_ID "devstate-null"
#define VBLK_DRIVE_ID "devstate-vblk"
/* States up to this size are tried truncated/corrupted at every offset. */
#define ALL_OFFSETS_LIMIT 512

typedef struct DeviceSetup {
    const char *type;
    /* Extra properties, "key=value,key=value" (for example fixed ports). */
    const char *props;
    /*
     * Drive the device into a non-reset state through its ports; variants
     * 0 and 1 must lead to different states.
     */
    void (*poke)(DeviceState *dev, int variant);
    /*
     * Use every register once more, reads included, after a state with
     * corrupted values was loaded (default: poke variant 0).
     */
    void (*probe)(DeviceState *dev);
    /* Set when the device cannot be built here, saying why. */
    const char *skip;
    /* A controller the device plugs into (created on the test's PCI
     * host first, destroyed after), and work before it is created. */
    const char *hba;
    const char *hba_props;      /* the controller's properties */
    void (*prepare)(void);
    /* Undo what the pokes added beside the device (before it goes). */
    void (*cleanup)(DeviceState *dev);
    /* The PCI host bridge to create (default: the i440FX one). */
    const char *host;
} DeviceSetup;

static MachineState test_machine;

/* ---- port and memory helpers ----------------------------------------- */

static uint8_t in8(uint16_t port)
{
    uint64_t val;

    address_space_read_val(&address_space_io, port, &val, 1);
    return val;
}

static void out8(uint16_t port, uint8_t val)
{
    address_space_write_val(&address_space_io, port, val, 1);
}

static void out32(uint16_t port, uint32_t val)
{
    address_space_write_val(&address_space_io, port, val, 4);
}

static void mem_write64(uint64_t addr, uint64_t val)
{
    address_space_write_val(&address_space_memory, addr, val, 8);
}

/* ---- per-device setup ------------------------------------------------- */

/*
 * isa-serial at COM1: divisor, frame, FIFO with trigger level, loopback
 * with modem lines, interrupts enabled, bytes waiting in the receive FIFO
 * (which also arms the character-timeout timer), scratch.
 */
static void poke_serial(DeviceState *dev, int variant)
{
    const uint16_t base = 0x3f8;

    out8(base + 3, 0x80);                   /* DLAB */
    out8(base + 0, 0x01 + variant);         /* divisor low */
    out8(base + 1, 0x00);                   /* divisor high */
    out8(base + 3, 0x03 | (variant << 2));  /* 8N1 / 8N2 */
    out8(base + 2, 0xc1);                   /* FIFO on, trigger 14 */
    out8(base + 4, 0x1b);                   /* loop, OUT2, RTS, DTR */
    out8(base + 1, 0x0f);                   /* every interrupt source */
    for (int i = 0; i < 3 + variant; i++) {
        out8(base, 'a' + i);                /* looped back into the FIFO */
    }
    out8(base + 7, 0x5a ^ variant);         /* scratch */
}

/* Read every register (draining the FIFO), transmit, let timers run. */
static void probe_serial(DeviceState *dev)
{
    for (int round = 0; round < 20; round++) {
        for (uint16_t reg = 0; reg < 8; reg++) {
            in8(0x3f8 + reg);
        }
    }
    poke_serial(dev, 0);
    qemu_clock_virtual_advance_to(qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) +
                                  NANOSECONDS_PER_SECOND);
    in8(0x3f8 + 2);
}

static void poke_pc_testdev(DeviceState *dev, int variant)
{
    out32(0xe0, 0x12345678 ^ variant);
    mem_write64(0xff000000ULL + 0x100 * variant, 0x0123456789abcdefULL);
    mem_write64(0xff00fff8ULL, 0xfedcba9876543210ULL ^ variant);
}

/* PCI configuration mechanism #1 (ports 0xcf8/0xcfc), bus 0. */
static void pci_config_write8(int devfn, uint8_t reg, uint8_t val)
{
    out32(0xcf8, 0x80000000u | (uint32_t)devfn << 8 | (reg & 0xfc));
    out8(0xcfc + (reg & 3), val);
}

/*
 * Any PCI function: the interrupt line register is plain read/write
 * storage in every function's configuration space (PCI 3.0, 6.2.4).
 */
static void poke_pci_function(DeviceState *dev, int variant)
{
    pci_config_write8(PCI_DEVICE(dev)->devfn, PCI_INTERRUPT_LINE,
                      0x05 + variant);
}

/*
 * A function behind a bridge (a switch downstream port): its bus has no
 * number before firmware gives it one, so the configuration cycle goes to
 * its bus directly.
 */
static void poke_pci_behind_bridge(DeviceState *dev, int variant)
{
    PCIDevice *d = PCI_DEVICE(dev);

    pci_bus_config_write(pci_get_bus(d), d->devfn, PCI_INTERRUPT_LINE,
                         0x05 + variant, 1);
}

/* PIIX3: PIRQ routing registers 60h-63h as well. */
static void poke_piix3(DeviceState *dev, int variant)
{
    poke_pci_function(dev, variant);
    pci_config_write8(PCI_DEVICE(dev)->devfn, 0x60, 0x0a + variant);
    pci_config_write8(PCI_DEVICE(dev)->devfn, 0x63, 0x80 | variant);
}

/* PIIX3 IDE: the task file of an empty channel still latches (legacy
 * ports are always decoded), and the device control register. */
static void poke_piix_ide(DeviceState *dev, int variant)
{
    poke_pci_function(dev, variant);
    out8(0x1f2, 0x10 + variant);
    out8(0x175, 0x20 + variant);
    out8(0x376, variant ? 0x02 : 0x00);
}

/* The host bridge's own state is its configuration address register. */
static void poke_pci_host(DeviceState *dev, int variant)
{
    out32(0xcf8, 0x80000000u | (0x10 + variant) << 8);
}

/* q35 MCH: PAM0 and PCIEXBAR (enabled at a variant's address). */
static void poke_mch(DeviceState *dev, int variant)
{
    poke_pci_function(dev, variant);
    pci_config_write8(0, 0x90, 0x10 + 0x20 * variant);
    out32(0xcf8, 0x80000060);
    out32(0xcfc, 0xb0000001 + 0x10000000 * variant);
}

/* ICH9 LPC: PIRQ routes, PMBASE with ACPI_EN, PM1_EN, the TCO timer
 * value, RCBA and a device route there. */
static void poke_ich9_lpc(DeviceState *dev, int variant)
{
    unsigned devfn = PCI_DEVICE(dev)->devfn;

    poke_pci_function(dev, variant);
    pci_config_write8(devfn, 0x60, 0x0a + variant);
    pci_config_write8(devfn, 0x6b, 0x80 | variant);
    out32(0xcf8, 0x80000000u | devfn << 8 | 0x40);
    out32(0xcfc, 0x601);
    pci_config_write8(devfn, 0x44, 0x80);
    out8(0x602, 0x01 + variant);
    out8(0x672, 0x03 + variant);
    out32(0xcf8, 0x80000000u | devfn << 8 | 0xf0);
    out32(0xcfc, 0xfed1c001);
    address_space_write_val(&address_space_memory, 0xfed1f150,
                            0x3210 + variant, 2);
}

/* Port 92: the fast A20 gate bit (bit 0 would reset the machine). */
static void poke_port92(DeviceState *dev, int variant)
{
    out8(0x92, variant ? 0x00 : 0x02);
}

/* MC146818: the index register and a byte of battery-backed CMOS RAM. */
static void poke_rtc(DeviceState *dev, int variant)
{
    out8(0x70, 0x40 + variant);
    out8(0x71, 0x5a + variant);
}

/* 8237: a page register and channel 1's base address (two byte writes). */
static void poke_i8257(DeviceState *dev, int variant)
{
    out8(0x87, 0x10 + variant);
    out8(0x0c, 0);                          /* clear the byte flip-flop */
    out8(0x02, 0x34 + variant);
    out8(0x02, 0x12);
}

/* Floppy controller (no drives): DOR, SPECIFY, a SEEK's pending
 * interrupt and a CONFIGURE left half-written in the FIFO. */
static void poke_fdc(DeviceState *dev, int variant)
{
    static const uint8_t cmds[] = { 0x03, 0xa0, 0x02, 0x0f, 0x00, 5, 0x13 };

    out8(0x3f2, variant ? 0x1c : 0x2d);
    out8(0x3f7, variant);
    for (unsigned i = 0; i < sizeof(cmds); i++) {
        out8(0x3f5, cmds[i] + (i == 5 ? variant : 0));
    }
}

/* 8042: write the controller's command byte (RAM byte 0). */
static void poke_i8042(DeviceState *dev, int variant)
{
    out8(0x64, 0x60);
    out8(0x60, variant ? 0x45 : 0x65);
}

/* HPET: timer 0's comparator (the counter stays halted). */
static void poke_hpet(DeviceState *dev, int variant)
{
    mem_write64(0xfed00108ULL, 0x100000 + variant);
}

/* VGA: sequencer, attribute and DAC registers, a VBE mode (dispi index
 * and data as one 32-bit access: 0x1ce then 0x1d0). */
static void poke_vga(DeviceState *dev, int variant)
{
    poke_pci_function(dev, variant);
    out8(0x3c4, 0x02);
    out8(0x3c5, 0x03 + variant);
    out8(0x3c0, 0x05);
    out8(0x3c0, 0x11 + variant);
    out8(0x3c8, 0x20);
    out8(0x3c9, 0x3f - variant);
    out32(0x1ce, 0x01 | (640 + 8 * variant) << 16);
    out32(0x1ce, 0x04 | 0x41u << 16);
}

/*
 * SCSI devices on a virtio-scsi-pci: their state changes through their
 * block backend's callbacks, the monitor's way in (a unit attention, the
 * tray, GET EVENT STATUS NOTIFICATION's events).
 */
#define SCSI_HD_DRIVE "devstate-scsi-hd"

/* The vmmouse: its commands through the vmport (made in prepare, there
 * is no vCPU to send them through the port), a report from the input
 * layer; variants differ in the mode and the position. */
static DeviceState *vmmouse_vmport;

static uint32_t vmmouse_cmd(unsigned cmd, uint32_t ebx)
{
    VmportRegs r = { .eax = 0x564d5868, .ebx = ebx, .ecx = cmd };

    g_assert(vmport_run_registered(&r));
    return r.eax;
}

static void prepare_vmmouse(void)
{
    GError *err = NULL;

    vmmouse_vmport = device_new("vmport", &err);
    g_assert_no_error(err);
    g_assert(device_realize(vmmouse_vmport, &err));
}

static void poke_vmmouse(DeviceState *dev, int variant)
{
    vmmouse_cmd(VMPORT_CMD_VMMOUSE_COMMAND, 0x45414552);   /* READ_ID */
    vmmouse_cmd(VMPORT_CMD_VMMOUSE_COMMAND,
                variant ? 0x4c455252 : 0x53424152);     /* REL : ABS */
    qemu_input_queue_abs(NULL, INPUT_AXIS_X, 100 + variant, 0, 1000);
    qemu_input_queue_rel(NULL, INPUT_AXIS_X, 5);
    qemu_input_queue_btn(NULL, INPUT_BUTTON_LEFT, true);
    qemu_input_event_sync();
}

static void probe_vmmouse(DeviceState *dev)
{
    uint32_t st = vmmouse_cmd(VMPORT_CMD_VMMOUSE_STATUS, 0);

    vmmouse_cmd(VMPORT_CMD_VMMOUSE_DATA, MIN(st & 0xffff, 6));
    vmmouse_cmd(VMPORT_CMD_VMMOUSE_COMMAND, 0x53424152);
    poke_vmmouse(dev, 0);
    vmmouse_cmd(VMPORT_CMD_VMMOUSE_COMMAND, 0xf5);          /* DISABLE */
}

static void cleanup_vmmouse(DeviceState *dev)
{
    device_destroy(vmmouse_vmport);
    vmmouse_vmport = NULL;
}

/* vmgenid and vmcoreinfo: the fw_cfg device their files live in, and the
 * guest's DMA write into them (descriptor at 0x1000, data at 0x2000). */
#define FWCFG_DESC          0x1000
#define FWCFG_DATA          0x2000

static void prepare_fw_cfg(void)
{
    GError *err = NULL;

    g_assert_nonnull(fw_cfg_init_io_dma(0x510, 0x514, &err));
    g_assert_no_error(err);
}

static void cleanup_fw_cfg(DeviceState *dev)
{
    device_destroy((DeviceState *)fw_cfg_find());
}

static void fw_cfg_dma_write_file(const char *name, const void *data,
                                  uint32_t len)
{
    uint16_t key = fw_cfg_file_key(fw_cfg_find(), name);
    /* FWCfgDmaAccess, big-endian: control, length, address */
    uint32_t desc[4] = {
        GUINT32_TO_BE((uint32_t)key << 16 | FW_CFG_DMA_CTL_SELECT |
                      FW_CFG_DMA_CTL_WRITE),
        GUINT32_TO_BE(len), 0, GUINT32_TO_BE(FWCFG_DATA),
    };

    g_assert_cmphex(key, !=, FW_CFG_INVALID);
    address_space_write(&address_space_memory, FWCFG_DESC, desc, 16);
    address_space_write(&address_space_memory, FWCFG_DATA, data, len);
    out32(0x514, 0);
    out32(0x518, GUINT32_SWAP_LE_BE(FWCFG_DESC));
    address_space_read(&address_space_memory, FWCFG_DESC, desc, 4);
    g_assert_cmphex(desc[0], ==, 0);    /* no error bit */
}

/* The address the firmware writes (where the GUID then goes). */
static void poke_vmgenid(DeviceState *dev, int variant)
{
    uint8_t addr[8];

    stq_le_p(addr, 0x100000 + 0x1000 * variant + 40);
    fw_cfg_dma_write_file("etc/vmgenid_addr", addr, sizeof(addr));
}

/* The guest's note descriptor: ELF format, size and address. */
static void poke_vmcoreinfo(DeviceState *dev, int variant)
{
    uint8_t d[16] = { 0 };

    stw_le_p(d + 2, 1);
    stl_le_p(d + 4, 0x100 + variant);
    stq_le_p(d + 8, 0x300000);
    fw_cfg_dma_write_file("etc/vmcoreinfo", d, sizeof(d));
}

static void prepare_scsi_hd_drive(void)
{
    g_autofree char *path = NULL;
    g_autofree char *opts = NULL;
    GError *err = NULL;
    int fd;

    if (drive_find_by_id(SCSI_HD_DRIVE)) {
        return;
    }
    fd = g_file_open_tmp("devstate-scsi-XXXXXX", &path, &err);
    g_assert_no_error(err);
    g_assert_cmpint(ftruncate(fd, 1 * MiB), ==, 0);
    close(fd);
    opts = g_strdup_printf("if=none,id=%s,format=raw,file=%s", SCSI_HD_DRIVE,
                           path);
    if (!drive_new(opts, &err)) {
        g_error("scsi-hd drive: %s", err->message);
    }
    unlink(path);
}

static BlockBackend *scsi_backend(DeviceState *dev)
{
    for (unsigned i = 0; i < blk_list()->len; i++) {
        BlockBackend *blk = g_ptr_array_index(blk_list(), i);
        if (blk_get_attached_dev(blk) == dev) {
            return blk;
        }
    }
    g_assert_not_reached();
}

/*
 * A command on the device's own port, the SCSI bus: the request is
 * completed into a bus of the test's (the device does not look at the
 * adapter for that).  Synchronous commands only.
 */
static bool scsi_cmd_done;

static void scsi_test_complete(SCSIRequest *req)
{
    scsi_cmd_done = true;
}

static const SCSIBusInfo scsi_test_bus_info = {
    .complete = scsi_test_complete,
};

static void scsi_cmd(DeviceState *dev, const uint8_t *cdb, uint8_t *data,
                     size_t len)
{
    SCSIDevice *d = (SCSIDevice *)dev;
    static SCSIBus test_bus = { .info = &scsi_test_bus_info };
    g_autofree SCSIRequest *req = g_new0(SCSIRequest, 1);
    struct iovec iov = { data, len };

    g_assert_true(scsi_req_init(req, d->bus, d->id, d->lun, 0, cdb, 16));
    g_assert_true(scsi_req_parse(req, 16));
    req->bus = &test_bus;
    req->iov = &iov;
    req->niov = len ? 1 : 0;
    req->iov_size = len;
    req->iov_mode = req->mode;
    scsi_cmd_done = false;
    scsi_req_submit(req);
    g_assert_true(scsi_cmd_done);
}

/* scsi-hd: the reset's unit attention taken; variant 0 also turns the
 * write cache off (MODE SELECT, caching page). */
static void poke_scsi_hd(DeviceState *dev, int variant)
{
    static const uint8_t tur[16] = { 0x00 };
    static const uint8_t select[16] = { 0x15, 0x10, 0, 0, 24 };
    uint8_t page[24] = { [4] = 0x08, [5] = 18 };

    scsi_cmd(dev, tur, NULL, 0);
    if (!variant) {
        scsi_cmd(dev, select, page, sizeof(page));
    }
}

/* scsi-cd: the tray locked, and an eject request or the tray opened with
 * a medium change (the monitor's way in, through the backend). */
static void poke_scsi_cd(DeviceState *dev, int variant)
{
    static const uint8_t lock[16] = { 0x1e, 0, 0, 0, 1 };
    BlockBackend *blk = scsi_backend(dev);

    scsi_cmd(dev, lock, NULL, 0);
    if (variant) {
        blk_dev_change_media_cb(blk, false);
    } else {
        blk_dev_eject_request(blk, false);
    }
}

/* 8259 pair: initialise the master with a vector base, mask, ELCR. */
static void poke_i8259(DeviceState *dev, int variant)
{
    out8(0x20, 0x11);
    out8(0x21, 0x08 << variant);
    out8(0x21, 0x04);
    out8(0x21, 0x01);
    out8(0x21, 0xf0 | variant);
    out8(0x4d1, 0x04 << variant);
}

/* I/O APIC: redirection entry 3 and the register select. */
static void poke_ioapic(DeviceState *dev, int variant)
{
    address_space_write_val(&address_space_memory, 0xfec00000, 0x16, 4);
    address_space_write_val(&address_space_memory, 0xfec00010,
                            0x10040 + variant, 4);
}

/* Local APIC (CPU 0): x2APIC mode, enabled, a TPR and a timer count. */
static void poke_apic(DeviceState *dev, int variant)
{
    apic_msr_write(0, MSR_IA32_APICBASE, 0xfee00c00);
    apic_msr_write(0, MSR_X2APIC_FIRST + 0x0f, 0x1ff);
    apic_msr_write(0, MSR_X2APIC_FIRST + 0x08, 0x10 + variant);
    apic_msr_write(0, MSR_X2APIC_FIRST + 0x32, 0x20040);
    apic_msr_write(0, MSR_X2APIC_FIRST + 0x38, 1000 + variant);
}

/* Read the x2APIC registers, run its timer. */
static void probe_apic(DeviceState *dev)
{
    uint64_t v;

    for (uint32_t msr = MSR_X2APIC_FIRST; msr < MSR_X2APIC_FIRST + 0x40;
         msr++) {
        apic_msr_read(0, msr, &v);
    }
    poke_apic(dev, 0);
    qemu_clock_virtual_advance_to(qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) +
                                  100000);
    x86_cpu_ack_interrupt(0);
}

/* PIT: channel 0 in mode 2 with a count, channel 2 gated on. */
static void poke_pit(DeviceState *dev, int variant)
{
    out8(0x43, 0x34);
    out8(0x40, 100 + variant);
    out8(0x40, 0);
    out8(0x61, 0x01 | (variant << 1));
}

/* Read every counter, let its timer run. */
static void probe_pit(DeviceState *dev)
{
    for (int i = 0; i < 8; i++) {
        in8(0x40 + (i & 3));
        in8(0x61);
    }
    poke_pit(dev, 0);
    qemu_clock_virtual_advance_to(qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) +
                                  NANOSECONDS_PER_SECOND / 100);
}

/*
 * USB HID devices on a piix3-usb-uhci: input through the input layer
 * (ui/input.c) queues a report and moves the pointer/keys state.
 */
static void poke_usb_kbd(DeviceState *dev, int variant)
{
    qemu_input_event_send_key_qcode(NULL, variant ? Q_KEY_CODE_B
                                                  : Q_KEY_CODE_A, true);
}

static void poke_usb_pointer(DeviceState *dev, int variant)
{
    qemu_input_queue_abs(NULL, INPUT_AXIS_X, 100 + 300 * variant, 0, 1000);
    qemu_input_queue_rel(NULL, INPUT_AXIS_X, 5 + variant);
    qemu_input_queue_btn(NULL, INPUT_BUTTON_LEFT, true);
    qemu_input_event_sync();
}

/*
 * usb-uas on a qemu-xhci (SuperSpeed, streams): packets straight to the
 * device, as the controller would hand them over.  A scsi-hd goes on its
 * bus first; the pokes leave a task holding data in each variant (a
 * WRITE(10) half-way through its data-out, an INQUIRY's data-in), so the
 * tasks and their buffers travel in the state.
 */
static SCSIBus *uas_test_bus(DeviceState *dev)
{
    for (unsigned i = 0; i < 64; i++) {
        g_autofree char *name = g_strdup_printf("usb-uas%u.0", i);
        SCSIBus *bus = scsi_bus_find(name);
        if (bus && bus->hba == (void *)dev) {
            return bus;
        }
    }
    g_assert_not_reached();
}

static void usb_packet(USBDevice *d, int pid, unsigned ep, unsigned stream,
                       uint8_t *buf, size_t len)
{
    USBPacket p = { .pid = pid, .ep = ep, .buf = buf, .len = len,
                    .stream = stream };

    usb_handle_packet(d, &p);
}

static void usb_request(USBDevice *d, uint8_t type, uint8_t req,
                        uint16_t value)
{
    uint8_t setup[8] = { type, req, value, value >> 8, 0, 0, 0, 0 };

    usb_packet(d, USB_TOKEN_SETUP, 0, 0, setup, 8);
    usb_packet(d, USB_TOKEN_IN, 0, 0, setup, 0);
}

static void poke_usb_uas(DeviceState *dev, int variant)
{
    USBDevice *u = USB_DEVICE(dev);
    SCSIBus *bus = uas_test_bus(dev);
    uint8_t iu[32] = { 0x01, 0, 0, variant ? 5 : 3 };
    uint8_t data[256];
    GError *err = NULL;

    if (!scsi_device_find(bus, 0, 0)) {
        DeviceState *hd = device_new("scsi-hd", &err);
        g_assert_no_error(err);
        if (!device_set_prop(hd, "drive", SCSI_HD_DRIVE, &err) ||
            !device_set_prop(hd, "bus", bus->name, &err) ||
            !device_realize(hd, &err)) {
            g_error("scsi-hd on usb-uas: %s", err->message);
        }
    }
    usb_device_reset(u);                        /* the port reset */
    usb_request(u, 0x00, USB_REQ_SET_ADDRESS, 7);
    usb_request(u, 0x00, USB_REQ_SET_CONFIGURATION, 1);
    usb_request(u, 0x01, USB_REQ_SET_INTERFACE, 1);
    if (variant) {
        iu[16] = 0x12;                          /* INQUIRY, 36 bytes */
        iu[20] = 36;
        usb_packet(u, USB_TOKEN_OUT, 1, 0, iu, sizeof(iu));
    } else {
        iu[16] = 0x2a;                          /* WRITE (10), 1 block */
        iu[24] = 1;
        usb_packet(u, USB_TOKEN_OUT, 1, 0, iu, sizeof(iu));
        memset(data, 0x5a, sizeof(data));
        usb_packet(u, USB_TOKEN_OUT, 4, 3, data, sizeof(data));
    }
}

static void cleanup_usb_uas(DeviceState *dev)
{
    SCSIDevice *hd = scsi_device_find(uas_test_bus(dev), 0, 0);

    if (hd) {
        device_destroy(DEVICE(hd));
    }
}

/*
 * qemu-xhci with bulk streams: the driver's steps through BAR0 with a
 * usb-uas on port 1 (SuperSpeed: xHCI port 5): reset, DCBAA, command and
 * event rings, Enable Slot, Address Device, Configure Endpoint of a bulk
 * IN endpoint with MaxPStreams 1 (4 stream contexts), then a doorbell
 * for stream 1 + @variant, whose context the controller reads (its ring
 * is empty).  The endpoint's stream array travels in the state.
 */
#define XHCI_TEST_BAR   0xfe000000ull
static DeviceState *xhci_test_uas;

static void mmio_w32(uint64_t addr, uint32_t val)
{
    address_space_write_val(&address_space_memory, addr, val, 4);
}

static void ram_put(uint64_t addr, const void *buf, size_t len)
{
    address_space_write(&address_space_memory, addr, buf, len);
}

static void xhci_test_trb(uint64_t addr, uint64_t param, uint32_t status,
                          uint32_t control)
{
    mem_write64(addr, param);
    mmio_w32(addr + 8, status);
    mmio_w32(addr + 12, control | 1);
}

static void poke_xhci_streams(DeviceState *dev, int variant)
{
    const uint64_t bar = XHCI_TEST_BAR, op = bar + 0x40;
    unsigned devfn = PCI_DEVICE(dev)->devfn;
    uint8_t ctx[0x140] = { 0 };
    GError *err = NULL;

    if (!xhci_test_uas) {
        xhci_test_uas = device_new("usb-uas", &err);
        if (!xhci_test_uas || !device_realize(xhci_test_uas, &err)) {
            g_error("usb-uas on qemu-xhci: %s", err->message);
        }
    }
    out32(0xcf8, 0x80000000u | devfn << 8 | 0x10);
    out32(0xcfc, (uint32_t)bar);
    out32(0xcf8, 0x80000000u | devfn << 8 | 0x14);
    out32(0xcfc, bar >> 32);
    out32(0xcf8, 0x80000000u | devfn << 8 | 0x04);
    out32(0xcfc, 0x6);                              /* memory, master */
    mmio_w32(op, 2);                                /* HCRST */
    mmio_w32(op + 0x38, 2);                         /* 2 slots */
    mem_write64(0x100008, 0x101000);                /* DCBAA[1] */
    mmio_w32(op + 0x30, 0x100000);
    mmio_w32(op + 0x34, 0);
    mmio_w32(op + 0x18, 0x102000 | 1);              /* CRCR */
    mmio_w32(op + 0x1c, 0);
    mem_write64(0x103000, 0x104000);                /* ERST: 32 entries */
    mmio_w32(0x103008, 32);
    mmio_w32(bar + 0x1028, 1);
    mmio_w32(bar + 0x1038, 0x104000);
    mmio_w32(bar + 0x103c, 0);
    mmio_w32(bar + 0x1030, 0x103000);
    mmio_w32(bar + 0x1034, 0);
    mmio_w32(op, 1);                                /* run */
    /* Address Device: slot context (port 5, SuperSpeed), endpoint 0 */
    ctx[4] = 3;
    ctx[0x20 + 3] = (1 << 3) | 0;                   /* entries 1 */
    ctx[0x20 + 2] = 4 << 4;                         /* speed 4 */
    ctx[0x24 + 2] = 5;                              /* root port 5 */
    ctx[0x44] = (4 << 3) | 6;
    ctx[0x46] = 0x00;
    ctx[0x47] = 0x02;                               /* mps 512 */
    ctx[0x48] = 0x01;
    ctx[0x49] = 0x50;                               /* ring 0x105000 */
    ctx[0x4a] = 0x10;
    ram_put(0x106000, ctx, sizeof(ctx));
    /* Configure Endpoint: DCI 3 bulk IN, MaxPStreams 1, LSA */
    memset(ctx, 0, sizeof(ctx));
    ctx[4] = 1 | (1 << 3);
    ctx[0x20 + 3] = 3 << 3;
    ctx[0x80 + 1] = (1 << 2) | (1 << 7);            /* MaxPStreams 1, LSA */
    ctx[0x84] = (6 << 3) | 6;
    ctx[0x87] = 0x04;                               /* mps 1024 */
    ctx[0x89] = 0x70;                               /* array 0x107000 */
    ctx[0x8a] = 0x10;
    ram_put(0x107800, ctx, sizeof(ctx));
    for (unsigned sid = 1; sid < 4; sid++) {
        mem_write64(0x107000 + 16 * sid, (0x108000 + 0x400 * sid) | 3);
    }
    xhci_test_trb(0x102000, 0, 0, 9 << 10);                   /* Enable */
    xhci_test_trb(0x102010, 0x106000, 0, (11 << 10) | (1 << 24));
    xhci_test_trb(0x102020, 0x107800, 0, (12 << 10) | (1 << 24));
    mmio_w32(bar + 0x2000, 0);
    mmio_w32(bar + 0x2004, 3 | (1 + variant) << 16);
}

static void cleanup_xhci_streams(DeviceState *dev)
{
    if (xhci_test_uas) {
        device_destroy(xhci_test_uas);
        xhci_test_uas = NULL;
    }
}

/* HDA codecs: verbs straight to the codec (the answers go nowhere). */
static void poke_hda_codec(DeviceState *dev, int variant)
{
    HDACodecDevice *c = (HDACodecDevice *)dev;

    c->ops->command(c, 2, 0x70610 + variant);   /* DAC stream tag 1 */
    c->ops->command(c, 2, 0x24011 - variant);   /* its format */
    c->ops->command(c, 3, 0x70740 + variant);   /* pin control */
}

/* PC speaker: a tone on channel 2 for 20 ms moves the wave's phase. */
static void poke_pcspk(DeviceState *dev, int variant)
{
    out8(0x43, 0xb6);
    out8(0x42, variant ? 0x10 : 0x20);
    out8(0x42, 0x0a);
    out8(0x61, 0x3);
    qemu_clock_virtual_advance_to(qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) +
                                  NANOSECONDS_PER_SECOND / 50);
    out8(0x61, 0);
}

static const DeviceSetup device_setups[] = {
    { .type = "hda-duplex", .hba = "intel-hda", .poke = poke_hda_codec },
    { .type = "hda-output", .hba = "intel-hda", .poke = poke_hda_codec },
    { .type = "hda-micro", .hba = "intel-hda", .poke = poke_hda_codec },
    { .type = "isa-pcspk", .hba = "isa-pit", .poke = poke_pcspk },
    { .type = "isa-i8259", .poke = poke_i8259 },
    { .type = "ioapic", .poke = poke_ioapic },
    { .type = "apic", .poke = poke_apic, .probe = probe_apic },
    { .type = "isa-pit", .poke = poke_pit, .probe = probe_pit },
    { .type = "VGA", .poke = poke_vga },
    { .type = "isa-serial", .props = "iobase=0x3f8,irq=4",
      .poke = poke_serial, .probe = probe_serial },
    { .type = "pc-testdev", .poke = poke_pc_testdev },
    { .type = "PIIX3", .poke = poke_piix3 },
    { .type = "piix3-ide", .poke = poke_piix_ide },
    { .type = "i440FX-pcihost", .poke = poke_pci_host },
    { .type = "port92", .poke = poke_port92 },
    { .type = "mc146818rtc", .poke = poke_rtc },
    { .type = "i8257", .poke = poke_i8257 },
    { .type = "isa-fdc", .poke = poke_fdc },
    { .type = "i8042", .poke = poke_i8042 },
    /* the PS/2 mouse it wakes the driver with is the i8042's */
    { .type = "vmmouse", .hba = "i8042", .prepare = prepare_vmmouse,
      .poke = poke_vmmouse, .probe = probe_vmmouse,
      .cleanup = cleanup_vmmouse },
    { .type = "hpet", .poke = poke_hpet },
    { .type = "vmgenid", .prepare = prepare_fw_cfg, .poke = poke_vmgenid,
      .cleanup = cleanup_fw_cfg },
    { .type = "vmcoreinfo", .prepare = prepare_fw_cfg,
      .poke = poke_vmcoreinfo, .cleanup = cleanup_fw_cfg },
    /* a disk needs a drive: machine_setup() makes one */
    { .type = "virtio-blk-pci", .props = "drive=" VBLK_DRIVE_ID,
      .poke = poke_pci_function },
    { .type = "scsi-hd", .props = "drive=" SCSI_HD_DRIVE,
      .hba = "virtio-scsi-pci", .prepare = prepare_scsi_hd_drive,
      .poke = poke_scsi_hd },
    { .type = "scsi-cd", .hba = "virtio-scsi-pci", .poke = poke_scsi_cd },
    /* q35 (docs/q35.md) and the bridges (docs/pci.md) */
    { .type = "q35-pcihost", .poke = poke_pci_host },
    { .type = "mch", .host = "q35-pcihost", .poke = poke_mch },
    { .type = "ICH9-LPC", .poke = poke_ich9_lpc },
    { .type = "pci-bridge", .props = "chassis_nr=1",
      .poke = poke_pci_function },
    /* PCI Express bridges want a PCI Express bus (q35's pcie.0), a switch
     * downstream port its upstream port's */
    { .type = "pcie-pci-bridge", .host = "q35-pcihost",
      .poke = poke_pci_function },
    { .type = "x3130-upstream", .host = "q35-pcihost",
      .poke = poke_pci_function },
    { .type = "xio3130-downstream", .props = "bus=devstate-up,chassis=1",
      .host = "q35-pcihost", .hba = "x3130-upstream",
      .hba_props = "id=devstate-up", .poke = poke_pci_behind_bridge },
    { .type = "usb-kbd", .hba = "piix3-usb-uhci", .poke = poke_usb_kbd },
    { .type = "usb-mouse", .hba = "piix3-usb-uhci", .poke = poke_usb_pointer },
    { .type = "usb-tablet", .hba = "piix3-usb-uhci",
      .poke = poke_usb_pointer },
    { .type = "usb-hub", .hba = "piix3-usb-uhci" },
    { .type = "usb-serial", .props = "chardev=" NULL_CHARDEV_ID,
      .hba = "piix3-usb-uhci" },
    { .type = "usb-storage", .props = "drive=" SCSI_HD_DRIVE,
      .hba = "piix3-usb-uhci", .prepare = prepare_scsi_hd_drive },
    { .type = "usb-bot", .hba = "piix3-usb-uhci" },
    { .type = "qemu-xhci", .poke = poke_xhci_streams,
      .cleanup = cleanup_xhci_streams },
    { .type = "usb-uas", .hba = "qemu-xhci", .prepare = prepare_scsi_hd_drive,
      .poke = poke_usb_uas, .cleanup = cleanup_usb_uas },
#ifdef CONFIG_LIBUSB
    { .type = "usb-host",
      .skip = "needs a USB device of the host (libusb); none here" },
#endif
#ifdef CONFIG_USBREDIR
    { .type = "usb-redir", .props = "chardev=" NULL_CHARDEV_ID,
      .hba = "piix3-usb-uhci" },
#endif
};

/* Types without an entry of their own: PCI functions get the generic one. */
static const DeviceSetup pci_function_setup = { .poke = poke_pci_function };

static const DeviceSetup *find_setup(const DeviceType *type)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(device_setups); i++) {
        if (!strcmp(device_setups[i].type, type->name)) {
            return &device_setups[i];
        }
    }
    if (device_type_is_a(type, TYPE_PCI_DEVICE)) {
        return &pci_function_setup;
    }
    return NULL;
}

/* ---- the minimal machine ---------------------------------------------- */

static void dummy_gsi(void *opaque, int n, int level)
{
}

/* A 1 MiB raw drive (unlinked once open) for the disk devices. */
static void make_disk_drive(void)
{
    g_autofree char *path = NULL, *opts = NULL;
    GError *err = NULL;
    int fd = g_file_open_tmp("devstate-disk-XXXXXX", &path, &err);

    if (fd < 0 || ftruncate(fd, 1 << 20)) {
        g_error("disk image: %s", err ? err->message : g_strerror(errno));
    }
    close(fd);
    opts = g_strdup_printf("if=none,id=%s,format=raw,file=%s", VBLK_DRIVE_ID,
                           path);
    if (!drive_new(opts, &err)) {
        g_error("drive: %s", err->message);
    }
    unlink(path);
}

static void machine_setup(void)
{
    GError *err = NULL;

    main_loop_init();       /* takes the big lock device code expects */
    memory_init();
    /* Timers run only when a probe advances the clock, as under qtest. */
    qemu_clock_virtual_set_manual();
    /* RAM as the pc machine lays it out (chipset devices shadow it). */
    test_machine.ram_size = 16 * MiB;
    test_machine.below_4g_mem_size = test_machine.ram_size;
    memory_region_init_ram(&test_machine.ram, "ram", test_machine.ram_size);
    memory_region_init_alias(&test_machine.ram_below_4g, "ram-below-4g",
                             &test_machine.ram, 0, test_machine.ram_size);
    memory_region_add_subregion(get_system_memory(), 0,
                                &test_machine.ram_below_4g);
    for (unsigned i = 0; i < GSI_NUM_PINS; i++) {
        test_machine.gsi[i] = qemu_allocate_irq(dummy_gsi, NULL, i);
    }
    current_machine = &test_machine;
    if (!qemu_chr_new_from_spec(NULL_CHARDEV_ID, "null", &err)) {
        g_error("null chardev: %s", err->message);
    }
    make_disk_drive();
}

static bool has_vmsd(const DeviceType *type)
{
    for (; type; type = device_type_find(type->parent)) {
        if (type->vmsd) {
            return true;
        }
    }
    return false;
}

/* The description of the first section: the root-most one in the chain. */
static const VMStateDescription *first_vmsd(const DeviceType *type)
{
    const VMStateDescription *vmsd = NULL;

    for (; type; type = device_type_find(type->parent)) {
        if (type->vmsd) {
            vmsd = type->vmsd;
        }
    }
    return vmsd;
}

static bool set_props(DeviceState *dev, const char *props, GError **errp)
{
    g_auto(GStrv) pairs = props ? g_strsplit(props, ",", -1) : NULL;

    for (unsigned i = 0; pairs && pairs[i]; i++) {
        g_auto(GStrv) kv = g_strsplit(pairs[i], "=", 2);
        if (!kv[1] || !device_set_prop(dev, kv[0], kv[1], errp)) {
            return false;
        }
    }
    return true;
}

/* Every chardev property gets the null chardev. */
static bool set_chardevs(DeviceState *dev, GError **errp)
{
    for (const DeviceType *t = dev->type; t; t = device_type_find(t->parent)) {
        for (const Property *p = t->props; p && p->name; p++) {
            if (p->type == PROP_CHARDEV &&
                !device_set_prop(dev, p->name, NULL_CHARDEV_ID, errp)) {
                return false;
            }
        }
    }
    return true;
}

/* A PCI function needs a bus: give it a host bridge for the test. */
static DeviceState *create_pci_host(const DeviceType *type,
                                    const DeviceSetup *setup)
{
    DeviceState *host;
    GError *err = NULL;

    if (!device_type_is_a(type, TYPE_PCI_DEVICE) || pci_root_bus()) {
        return NULL;
    }
    host = device_new(setup && setup->host ? setup->host
                                           : TYPE_I440FX_PCI_HOST, &err);
    if (!host || !device_realize(host, &err)) {
        g_error("PCI host bridge for %s: %s", type->name, err->message);
    }
    return host;
}

static DeviceState *create(const DeviceType *type, const DeviceSetup *setup,
                           GError **errp)
{
    DeviceState *dev = device_new(type->name, errp);

    if (!dev) {
        return NULL;
    }
    if (!set_chardevs(dev, errp) ||
        !set_props(dev, setup ? setup->props : NULL, errp) ||
        !device_realize(dev, errp)) {
        device_destroy(dev);
        return NULL;
    }
    return dev;
}

/* ---- checks ----------------------------------------------------------- */

static GByteArray *save(DeviceState *dev)
{
    GByteArray *out = g_byte_array_new();
    GError *err = NULL;

    if (!device_save_state(dev, out, &err)) {
        g_error("%s: save failed: %s", dev->type->name, err->message);
    }
    return out;
}

static bool same(const GByteArray *a, const GByteArray *b)
{
    return a->len == b->len && !memcmp(a->data, b->data, a->len);
}

static void assert_load_ok(DeviceState *dev, const GByteArray *state)
{
    GError *err = NULL;

    if (!device_load_state(dev, state->data, state->len, &err)) {
        g_error("%s: loading its own state failed: %s", dev->type->name,
                err->message);
    }
}

static void assert_load_fails(DeviceState *dev, const uint8_t *buf,
                              size_t len, const char *what)
{
    GError *err = NULL;

    if (device_load_state(dev, buf, len, &err)) {
        g_error("%s: a %s state (%zu bytes) was accepted", dev->type->name,
                what, len);
    }
    g_assert(err && err->message && *err->message);
    g_error_free(err);
}

static void check_truncated(DeviceState *dev, const GByteArray *a)
{
    if (a->len <= ALL_OFFSETS_LIMIT) {
        for (size_t len = 0; len < a->len; len++) {
            assert_load_fails(dev, a->data, len, "truncated");
        }
        return;
    }
    const size_t lens[] = { 0, 1, 3, 4, 5, a->len / 2, a->len - 1 };
    for (unsigned i = 0; i < G_N_ELEMENTS(lens); i++) {
        assert_load_fails(dev, a->data, lens[i], "truncated");
    }
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}

/* A version newer than the device knows, or older than it accepts. */
static void check_versions(DeviceState *dev, const GByteArray *a)
{
    const VMStateDescription *vmsd = first_vmsd(dev->type);
    g_autofree uint8_t *copy = g_memdup2(a->data, a->len);

    g_assert_cmpuint(a->len, >=, 4);
    put_be32(copy, vmsd->version_id + 1);
    assert_load_fails(dev, copy, a->len, "newer-version");
    put_be32(copy, 0xffffffff);
    assert_load_fails(dev, copy, a->len, "version 0xffffffff");
    if (vmsd->minimum_version_id > 0) {
        put_be32(copy, vmsd->minimum_version_id - 1);
        assert_load_fails(dev, copy, a->len, "too-old-version");
    }
}

static void check_trailing(DeviceState *dev, const GByteArray *a)
{
    g_autofree uint8_t *longer = g_malloc0(a->len + 1);

    memcpy(longer, a->data, a->len);
    assert_load_fails(dev, longer, a->len + 1, "trailing-byte");
}

static bool is_sample_offset(size_t off, size_t len)
{
    return len <= ALL_OFFSETS_LIMIT || off < 64 || off >= len - 64 ||
           off % 1021 == 0;
}

/*
 * Corrupt one byte at a time.  A state the device accepts must be one it
 * can run with, so the device is then used through its ports (under
 * ASan/UBSan an out-of-range index shows up here).  A refused state is
 * not run: device_load_state() leaves the fields it loaded before the
 * refusal in place, so the caller must reset or reload the device.
 */
static void check_corrupted(DeviceState *dev, const GByteArray *a,
                            const DeviceSetup *setup)
{
    static const uint8_t junk[] = { 0xff, 0x80 };
    g_autofree uint8_t *copy = g_malloc(a->len);

    if (!setup || (!setup->probe && !setup->poke)) {
        return;
    }
    for (size_t off = 4; off < a->len; off++) {
        if (!is_sample_offset(off, a->len)) {
            continue;
        }
        for (unsigned j = 0; j < G_N_ELEMENTS(junk); j++) {
            memcpy(copy, a->data, a->len);
            copy[off] = junk[j];
            if (device_load_state(dev, copy, a->len, NULL)) {
                setup->probe ? setup->probe(dev) : setup->poke(dev, 0);
            }
            assert_load_ok(dev, a);
        }
    }
}

static void test_device_state(gconstpointer data)
{
    const DeviceType *type = data;
    const DeviceSetup *setup = find_setup(type);
    g_autoptr(GByteArray) a = NULL, after_reset = NULL, b = NULL, c = NULL;
    GError *err = NULL;
    DeviceState *dev, *pci_host, *hba = NULL;

    if (setup && setup->skip) {
        g_test_skip(setup->skip);
        return;
    }
    if (setup && setup->prepare) {
        setup->prepare();
    }
    if (setup && setup->hba) {
        const DeviceType *hba_type = device_type_find(setup->hba);
        pci_host = create_pci_host(hba_type, setup);
        hba = create(hba_type, &(DeviceSetup){ .props = setup->hba_props },
                     &err);
        g_assert_no_error(err);
    } else {
        pci_host = create_pci_host(type, setup);
    }
    dev = create(type, setup, &err);
    if (!dev) {
        /* Fail this type only: the others still get checked. */
        g_test_message("%s cannot be created in the minimal machine (%s): "
                       "give it an entry in device_setups[] in %s",
                       type->name, err->message, __FILE__);
        g_test_fail();
        g_error_free(err);
        if (hba) {
            device_destroy(hba);
        }
        if (pci_host) {
            device_destroy(pci_host);
        }
        return;
    }
    if (!setup || !setup->poke) {
        g_test_message("%s: no poke entry, only its reset state is checked",
                       type->name);
    }

    if (setup && setup->poke) {
        setup->poke(dev, 0);
    }
    a = save(dev);
    device_reset(dev);
    after_reset = save(dev);
    if (setup && setup->poke) {
        setup->poke(dev, 1);
        b = save(dev);
        /* Otherwise loading A would prove nothing. */
        g_assert(!same(a, b));
    }
    assert_load_ok(dev, a);
    c = save(dev);
    g_assert(same(a, c));

    check_truncated(dev, a);
    check_trailing(dev, a);
    check_versions(dev, a);
    check_corrupted(dev, a, setup);
    /* After all the refusals the device still takes a good state. */
    assert_load_ok(dev, after_reset);
    g_byte_array_unref(c);
    c = save(dev);
    g_assert(same(after_reset, c));

    if (setup && setup->cleanup) {
        setup->cleanup(dev);
    }
    device_destroy(dev);
    if (hba) {
        device_destroy(hba);
    }
    if (pci_host) {
        device_destroy(pci_host);
    }
}

/* The iteration must find the devices known to have state. */
static void test_coverage(void)
{
    g_autofree const DeviceType **types = device_type_list();
    unsigned found = 0;

    for (const DeviceType **t = types; *t; t++) {
        if (!strcmp((*t)->name, "isa-serial") ||
            !strcmp((*t)->name, "pc-testdev")) {
            g_assert(has_vmsd(*t));
            found++;
        }
    }
    g_assert_cmpuint(found, ==, 2);
    /* Every setup entry names a real type with state. */
    for (unsigned i = 0; i < G_N_ELEMENTS(device_setups); i++) {
        const DeviceType *t = device_type_find(device_setups[i].type);
        g_assert(t && has_vmsd(t));
    }
}

int main(int argc, char **argv)
{
    g_autofree const DeviceType **types = NULL;

    g_test_init(&argc, &argv, NULL);
    machine_setup();
    types = device_type_list();
    g_test_add_func("/device-state/coverage", test_coverage);
    for (const DeviceType **t = types; *t; t++) {
        if (!(*t)->abstract && has_vmsd(*t)) {
            g_autofree char *path = g_strdup_printf("/device-state/%s",
                                                    (*t)->name);
            g_test_add_data_func(path, *t, test_device_state);
        }
    }
    return g_test_run();
}

/*
 * fuzz-pc: a libFuzzer target over the whole "pc" machine.
 *
 * The machine is built once, in-process, by kvmpc_init() with the qtest
 * accelerator (no vCPU) and extra devices (two pci-testdevs, one with MSI
 * and MSI-X, two serial ports, a debugcon, pc-testdev).  Each input is a
 * byte string decoded into a sequence of operations: port and MMIO
 * accesses inside a table of the machine's device windows (the PCI BARs
 * included), PCI config cycles, writes of fuzzer bytes into guest RAM (DMA
 * descriptors, MSI targets) and bounded virtual-clock steps.  Every
 * operation becomes a qtest command line and runs through the qtest
 * command layer (qtest_run_command), so it takes exactly the path a qtest
 * client's command takes, and a trace of an input (FUZZ_PC_TRACE=1) is a
 * qtest script that reproduces it against the kvmpc binary.
 *
 * Between inputs the machine goes back to a known state: virtual clock 0,
 * a system reset of every device, guest RAM dropped (it reads zero again),
 * and the target's own set-up (BARs, decoding, the PM I/O base).  A fork
 * per input would isolate inputs better but libFuzzer's coverage counters
 * live in the process, and a reset costs microseconds; state a reset does
 * not clear is itself a bug worth finding.
 *
 * Built with -DFUZZ_AHCI this file is the fuzz-ahci target: the same
 * machine plus an ICH9 AHCI at 04.0 with a disk (port 0) and a CD-ROM
 * (port 1) of its own, reached through its BARs like any PCI function.
 * With -DFUZZ_PC_NIC it is fuzz-nic: an e1000 (08.0), an rtl8139
 * (09.0) and an e1000e (0a.0) joined by a hub.
 *
 * Built with -DFUZZ_PC_Q35 it is the fuzz-q35 target: the q35 machine
 * (MCH, ICH9 LPC/PM/TCO, SMBus, AHCI at 1f.2 with the if=ide drives) with
 * the same pci-testdevs and VGA, a pcie-root-port at 08.0 with a
 * pci-testdev behind it (bus 1) and a pci-bridge at 09.0 with a
 * pci-testdev in its slot 1 (bus 2), and an XIO3130 switch behind an
 * ioh3420 at 0a.0 (bus 3: upstream port; bus 4: its two downstream ports;
 * bus 5: a pci-testdev; bus 6: a pcie-pci-bridge; bus 7: a pci-testdev in
 * its slot 1); set-up enables ECAM at 0xb0000000, PMBASE 0x600, RCBA
 * 0xfed1c000 and the bridges' bus numbers, and inputs reach buses 1-7
 * through ECAM (docs/q35.md).
 * With -DFUZZ_PC_VGPU it is fuzz-vgpu: virtio-gpu-pci at 08.0, virtio-vga
 * at 09.0, virtio-tablet-pci at 0a.0 and virtio-keyboard-pci at 0b.0.
 * With -DFUZZ_PC_AUDIO it is fuzz-audio: intel-hda + hda-duplex at 08.0
 * and AC97 at 09.0.
 * Every pc target (all but fuzz-q35) has a pci-bridge at 1e.0 with a
 * pci-testdev in its slot 3: ACPI PCI hotplug's bus selector 1.
 *
 * An operation that runs longer than FUZZ_PC_HANG_MS (default 1000) of wall
 * clock aborts with "hang: <command> took N ms"; a watchdog thread does the
 * same for one that never returns, so libFuzzer records the input as a
 * crash either way.  docs/fuzzing.md describes the input format.
 */
#include "qemu/osdep.h"
#include "hw/boards.h"
#include "hw/pci/pci.h"
#include "hw/qdev.h"
#include "system/blockdev.h"
#include "system/memory.h"
#include "system/qtest.h"
#include "system/runstate.h"
#include "system/timer.h"
#include "system/vl.h"
#include "ui/console.h"
#include <signal.h>
#include <sys/mman.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the machine ---------------------------------------------------- */

#define FUZZ_BIOS_SIZE      (64 * KiB)

/*
 * pci-testdev sits at 02.0 (where the MSI reproducer in the regression
 * corpus expects it), with MSI and MSI-X so a fuzzed message can aim at
 * any address, the device's own BARs included.  The debugcon moves to
 * SeaBIOS's 0x402 because pc-testdev holds 0xe8-0xeb.  No isa-debug-exit:
 * it ends the process, which would look like a crash.
 */
#ifdef FUZZ_PC_Q35
#define FUZZ_MACHINE_TYPE   "q35"
#else
#define FUZZ_MACHINE_TYPE   "pc"
#endif

static const char *const machine_args[] = {
    "kvmpc", "-machine", FUZZ_MACHINE_TYPE, "-accel", "qtest", "-nodefaults",
    "-display", "none", "-m", "16M,slots=2,maxmem=48M", "-smp", "2",
    /* a DIMM at 4 GiB: the ACPI memory hotplug block at 0xa00 serves it
     * (docs/hotplug.md "Memory hotplug") */
    "-object", "memory-backend-ram,id=fuzz-dimm,size=16M",
    "-device", "pc-dimm,id=fuzz-dimm0,memdev=fuzz-dimm",
#ifdef FUZZ_PC_VC
    /*
     * fuzz-vc: COM1/COM2 and the debug console are vc text consoles
     * (ui/console-vc.c), so whatever the guest writes there goes through
     * the terminal parser and, at each screen-update, the glyph drawing.
     */
    "-serial", "vc:80Cx25C", "-serial", "vc:7Cx3C",
    "-chardev", "vc,id=fuzz-dbg,cols=20,rows=4",
#else
    "-serial", "null", "-serial", "null",
    "-chardev", "null,id=fuzz-dbg",
#endif
    "-device", "isa-debugcon,iobase=0x402,chardev=fuzz-dbg",
    /* every pc target: devices with guest-writable fw_cfg files, so fw_cfg
     * DMA writes (0x514) reach etc/vmgenid_addr (then vmgenid writes its
     * GUID wherever that points and raises GPE0 bit 5) and etc/vmcoreinfo
     * (docs/vmgenid.md) */
    "-device", "vmgenid", "-device", "vmcoreinfo",
    "-device", "pci-testdev,addr=02.0,msi-vectors=1,msix-vectors=4",
    "-device", "pci-testdev,addr=03.0,intx-pin=1,membar=1M",
    "-device", "pc-testdev",
#ifdef FUZZ_PC_VIRTIO
    /* fuzz-virtio: the virtio family on the same machine (docs/virtio.md) */
    "-device", "virtio-rng-pci,addr=04.0",
    /* free page hinting needs an I/O thread object (QEMU's rule); the
     * hint queue is 3, reporting 4 */
    "-object", "iothread,id=fuzz-io",
    "-device", ("virtio-balloon-pci,addr=05.0,free-page-reporting=on,"
                "free-page-hint=on,iothread=fuzz-io"),
    "-device",
    "virtio-rng-pci,addr=06.0,packed=on,disable-legacy=on,max-bytes=64,period=1",
#endif
    "-device", "VGA,addr=07.0,vgamem_mb=4,rombar=0",
#ifdef FUZZ_PC_VIRTIO
    /* two virtio-net functions on one hub: one's transmit is the other's
     * receive (docs/net.md); after VGA so earlier BARs keep their place */
    "-netdev", "hubport,id=fuzznet0,hubid=7",
    "-netdev", "hubport,id=fuzznet1,hubid=7",
    "-device", "virtio-net-pci,addr=08.0,netdev=fuzznet0,rombar=0",
    "-device",
    ("virtio-net-pci,addr=09.0,netdev=fuzznet1,rombar=0,"
     "mrg_rxbuf=off,packed=on"),
#endif
#ifdef FUZZ_AHCI
    "-device", "ich9-ahci,id=ahci0,addr=04.0",
#endif
#ifdef FUZZ_PC_Q35
    /* fuzz-q35: a root port and a PCI bridge, each with a testdev */
    "-device", "pcie-root-port,id=fuzz-rp,addr=08.0,chassis=1,slot=1",
    "-device", "pci-testdev,bus=fuzz-rp,intx-pin=1,msi-vectors=1",
    "-device", "pci-bridge,id=fuzz-br,addr=09.0,chassis_nr=2",
    "-device", "pci-testdev,bus=fuzz-br,addr=01.0,intx-pin=2",
    /* an XIO3130 switch behind an ioh3420 (0a.0, bus 3; a late function):
     * upstream port (bus 4), downstream port 0 (bus 5) with a testdev,
     * downstream port 1 (bus 6) with a pcie-pci-bridge (bus 7) and a
     * testdev in its slot 1 */
    "-device", "ioh3420,id=fuzz-rp2,addr=0a.0,chassis=3,slot=3",
    "-device", "x3130-upstream,id=fuzz-up,bus=fuzz-rp2",
    "-device", "xio3130-downstream,id=fuzz-dn0,bus=fuzz-up,addr=0,chassis=4,"
    "slot=4",
    "-device", "pci-testdev,bus=fuzz-dn0,intx-pin=1,msi-vectors=1",
    "-device", "xio3130-downstream,id=fuzz-dn1,bus=fuzz-up,addr=1,chassis=4,"
    "slot=5",
    "-device", "pcie-pci-bridge,id=fuzz-ppb,bus=fuzz-dn1",
    "-device", "pci-testdev,bus=fuzz-ppb,addr=01.0,intx-pin=3",
#endif
#ifdef FUZZ_PC_NIC
    /* fuzz-nic: e1000 at 08.0, rtl8139 at 09.0 and e1000e at 0a.0 on one
     * hub, so one's transmit is the others' receive and no frame leaves
     * the process (docs/net.md) */
    "-netdev", "hubport,id=fuzznic0,hubid=9",
    "-netdev", "hubport,id=fuzznic1,hubid=9",
    "-device", "e1000,addr=08.0,netdev=fuzznic0,rombar=0",
    "-device", "rtl8139,addr=09.0,netdev=fuzznic1,rombar=0",
    "-netdev", "hubport,id=fuzznic2,hubid=9",
    "-device", "e1000e,addr=0a.0,netdev=fuzznic2,rombar=0",
#endif
#ifdef FUZZ_PC_VGPU
    /* fuzz-vgpu: virtio-gpu, virtio-vga and virtio-input (docs/display.md);
     * a small host memory limit keeps resource allocation quick */
    "-device", "virtio-gpu-pci,addr=08.0,max_outputs=2,max_hostmem=4M",
    "-device", "virtio-vga,addr=09.0,vgamem_mb=4,rombar=0,max_hostmem=4M",
    "-device", "virtio-tablet-pci,addr=0a.0",
    "-device", "virtio-keyboard-pci,addr=0b.0,serial=fuzz",
#endif
#ifdef FUZZ_PC_USB
    /* fuzz-usb: UHCI at 08.0 and xHCI at 09.0, each with a usb-tablet
     * (port 1) and a usb-storage (port 2, drives added below); the xHCI
     * also has a usb-uas on port 3 (SuperSpeed: xHCI port 7, bulk
     * streams) with a scsi-hd on usb-hd2 */
    "-device", "piix3-usb-uhci,addr=08.0,id=fuzz-uhci",
    "-device", "usb-tablet,bus=fuzz-uhci.0,port=1",
    "-device", "qemu-xhci,addr=09.0,id=fuzz-xhci",
    "-device", "usb-tablet,bus=fuzz-xhci.0,port=1",
    /* ich9-usb-ehci1 at 0a.7 with its companion ich9-usb-uhci1 at 0a.0
     * (ports 1-2): a high-speed tablet on port 1, a full-speed keyboard
     * on port 2 that only the companion can run */
    "-device", "ich9-usb-ehci1,addr=0a.7,multifunction=on,id=fuzz-ehci",
    "-device",
    ("ich9-usb-uhci1,addr=0a.0,multifunction=on,"
     "masterbus=fuzz-ehci.0,firstport=0"),
    "-device", "usb-tablet,bus=fuzz-ehci.0,port=1",
    "-device", "usb-kbd,bus=fuzz-ehci.0,port=2",
#endif
#ifdef FUZZ_PC_AUDIO
    /* fuzz-audio: intel-hda with hda-duplex at 08.0, AC97 at 09.0, on a
     * "none" audiodev whose timer paces their DMA (docs/audio.md) */
    "-audiodev", "none,id=fuzz-snd",
    "-device", "intel-hda,addr=08.0",
    "-device", "hda-duplex,audiodev=fuzz-snd",
    "-device", "AC97,addr=09.0,audiodev=fuzz-snd",
#endif
#ifndef FUZZ_PC_Q35
    /* every pc target: a cold-plugged pci-bridge at 1e.0 with a
     * pci-testdev in its slot 3, so the ACPI PCI hotplug block's selector
     * 1 (BNUM) has a bus behind it (docs/hotplug.md); a late function */
    "-device", "pci-bridge,id=fuzz-hpbr,addr=1e.0,chassis_nr=30",
    "-device", "pci-testdev,bus=fuzz-hpbr,addr=03.0",
#endif
};

/* Where the target maps the BARs it programs (as firmware would). */
#define FUZZ_PCI_IO_BASE    0xc000
#define FUZZ_PCI_MEM_BASE   0xe0000000ULL
#define PCI_CONFIG_ENABLE   0x80000000u
#define PCI_COMMAND_DECODE  (PCI_COMMAND_IO | PCI_COMMAND_MEMORY | \
                             PCI_COMMAND_MASTER)

/*
 * Set-up after each reset that is not a BAR: the PIIX4 PM function's I/O
 * base at 0x600 with decoding on (PMBA 40h, PMREGMISC 80h), as SeaBIOS
 * programs it.  A device family that needs firmware set-up adds it here.
 */
#ifdef FUZZ_PC_Q35
/* q35: PCIEXBAR (MCH 60h), ICH9 PMBASE/ACPI_CNTL and RCBA (LPC 40h, 44h,
 * F0h) as SeaBIOS programs them; the root port's secondary bus 1, the
 * bridge's bus 2 (18h: primary, secondary, subordinate); the switch:
 * ioh3420 0a.0 buses 3-7, upstream port 03:00.0 4-7, downstream ports
 * 04:00.0 bus 5 and 04:01.0 6-7, pcie-pci-bridge 06:00.0 bus 7. */
static const char *const setup_commands[] = {
    "outl 0xcf8 0x80000060", "outl 0xcfc 0xb0000001",
    "outl 0xcf8 0x8000f840", "outl 0xcfc 0x601",
    "outl 0xcf8 0x8000f844", "outb 0xcfc 0x80",
    "outl 0xcf8 0x8000f8f0", "outl 0xcfc 0xfed1c001",
    "outl 0xcf8 0x80004018", "outl 0xcfc 0x00010100",
    "outl 0xcf8 0x80004818", "outl 0xcfc 0x00020200",
    "outl 0xcf8 0x80005018", "outl 0xcfc 0x00070300",
    "outl 0xcf8 0x80030018", "outl 0xcfc 0x00070403",
    "outl 0xcf8 0x80040018", "outl 0xcfc 0x00050504",
    "outl 0xcf8 0x80040818", "outl 0xcfc 0x00070604",
    "outl 0xcf8 0x80060018", "outl 0xcfc 0x00070706",
};
#else
/* pc: PIIX4 PMBA/PMREGMISC; the hotplug bridge at 1e.0 gets bus 1. */
static const char *const setup_commands[] = {
    "outl 0xcf8 0x80000b40", "outl 0xcfc 0x601",
    "outl 0xcf8 0x80000b80", "outb 0xcfc 0x1",
    "outl 0xcf8 0x8000f018", "outl 0xcfc 0x00010100",
};
#endif

/* ---- address windows ---------------------------------------------------
 *
 * An access names a window and an offset inside it (taken modulo the
 * size), so mutations of the offset stay on the device.  Index 0 is the
 * whole space: reproducers written as plain addresses use it.  The tables
 * only ever grow at the end, so the corpus keeps its meaning; window bytes
 * past the end wrap around.  Bytes 0x80 and up pick a PCI BAR of the right
 * kind instead (in devfn and BAR order), wherever it is mapped now.
 */
typedef struct Window {
    const char *name;
    uint64_t base;
    uint64_t size;
} Window;

static const Window pio_windows[] = {
    { "io", 0, 0x10000 },
    { "dma1", 0x00, 0x10 },
    { "dma-page", 0x80, 0x10 },
    { "dma2", 0xc0, 0x20 },
    { "i8042", 0x60, 0x5 },
    { "rtc", 0x70, 0x2 },
    { "port92", 0x92, 0x1 },
    { "apm", 0xb2, 0x2 },
    { "pc-testdev", 0xe0, 0xc },
    { "serial0", 0x3f8, 0x8 },
    { "serial1", 0x2f8, 0x8 },
    { "debugcon", 0x402, 0x1 },
    { "fw_cfg", 0x510, 0xc },
    { "acpi-pm", 0x600, 0x40 },
    { "pci-config", 0xcf8, 0x8 },
    { "gpe0", 0xafe0, 0x4 },
    { "pc-testdev-irq", 0x2000, 0x18 },
    { "ide0", 0x1f0, 0x8 },
    { "ide0-ctl", 0x3f6, 0x1 },
    { "ide1", 0x170, 0x8 },
    { "ide1-ctl", 0x376, 0x1 },
    { "fdc", 0x3f0, 0x6 },
    { "fdc-dir", 0x3f7, 0x1 },
    { "vga", 0x3b0, 0x30 },
    { "vbe", 0x1ce, 0x3 },
    { "pic-master", 0x20, 0x2 },
    { "pic-slave", 0xa0, 0x2 },
    { "elcr", 0x4d0, 0x2 },
    { "pit", 0x40, 0x4 },
    { "port61", 0x61, 0x1 },
    { "pcihp", 0xae00, 0x18 },
    { "memhp", 0xa00, 0x18 },
    { "cpuhp", 0xaf00, 0xc },           /* ACPI CPU hotplug, pc */
    { "cpuhp-q35", 0xcd8, 0xc },        /* ACPI CPU hotplug, q35 */
    { "pcihp-q35", 0xcc0, 0x18 },       /* ACPI PCI hotplug, q35 (ICH9) */
};

static const Window mmio_windows[] = {
    { "mem", 0, 4 * GiB },
    { "hpet", 0xfed00000, 0x400 },
    { "low-mem", 0, 1 * MiB },
    { "pc-testdev-iomem", 0xff000000, 0x10000 },
    { "bios", 4 * GiB - FUZZ_BIOS_SIZE, FUZZ_BIOS_SIZE },
    { "vga-window", 0xa0000, 0x20000 },
    { "ioapic", 0xfec00000, 0x100 },
    { "lapic", 0xfee00000, 0x1000 },
    { "dimm", 4 * GiB, 16 * MiB },
};

#define WINDOW_PCI_BAR      0x80

typedef struct FuzzBar {
    PCIDevice *dev;
    unsigned bar;
    uint64_t size;
    bool mem64;
    uint64_t planned;       /* where the target maps it after a reset */
} FuzzBar;

static GArray *io_bars, *mem_bars;      /* FuzzBar */
static GArray *pci_devfns;              /* unsigned, functions on bus 0 */

/* ---- operations --------------------------------------------------------
 *
 * One opcode byte (values past the last wrap around), then fixed
 * little-endian fields:
 *   0 in         win:1 size:1 off:2            size: 1 << (size % 3)
 *   1 out        win:1 size:1 off:2 val:4
 *   2 read       win:1 size:1 off:4            size: 1 << (size % 4)
 *   3 write      win:1 size:1 off:4 val:8
 *   4 ram-write  addr:4 len:1 data:len         addr modulo the RAM size
 *   5 clock      ns:4                          ns modulo 2^17 (131 us),
 *                                              2^21 ns per input at most
 *   6 cfg-read   dev:1 size:1 reg:1            dev: nth function on bus 0
 *   7 cfg-write  dev:1 size:1 reg:1 val:4
 *   8 clock-next                               to the next timer, <= 60 s
 *   9 screen-update                            every console draws
 *  10 intack     cpu:1                         the CPU's acknowledge cycle
 *  11 rdmsr      cpu:1 msr:1                   msr: see apic_msr_index()
 *  12 wrmsr      cpu:1 msr:1 val:8
 *  13 cpu-events cpu:1                         take NMI/INIT/SIPI/SMI
 * An operation cut short by the end of the input is dropped.
 */
enum {
    OP_IN, OP_OUT, OP_READ, OP_WRITE, OP_RAM_WRITE, OP_CLOCK,
    OP_CFG_READ, OP_CFG_WRITE, OP_CLOCK_NEXT, OP_SCREEN_UPDATE,
    OP_INTACK, OP_RDMSR, OP_WRMSR, OP_CPU_EVENTS,
    OP_COUNT
};

/*
 * clock steps are short, and all of an input's together no longer than
 * ~2 ms: a device timer programmed for its highest rate (the HPET's: a
 * period of one 10 ns tick) fires once per period of a step, so a long
 * step is a long loop that says nothing about the device (the clock stops
 * one step's loop after a million runs, over a second in the instrumented
 * build; many steps make a timeout).  clock-next reaches far deadlines in
 * one step, firing only the timers due then.
 */
#define CLOCK_STEP_MASK     ((1u << 17) - 1)
#define CLOCK_INPUT_MAX_NS  (1u << 21)
#define CLOCK_NEXT_MAX_NS   (60 * NANOSECONDS_PER_SECOND)

typedef struct Input {
    const uint8_t *p;
    size_t left;
    uint32_t clock_left;    /* ns the clock ops may still advance */
} Input;

static bool take(Input *in, void *buf, size_t n)
{
    if (in->left < n) {
        return false;
    }
    memcpy(buf, in->p, n);
    in->p += n;
    in->left -= n;
    return true;
}

static bool take_u8(Input *in, uint8_t *v)
{
    return take(in, v, 1);
}

static bool take_u16(Input *in, uint16_t *v)
{
    uint8_t b[2];

    if (!take(in, b, sizeof(b))) {
        return false;
    }
    *v = lduw_le_p(b);
    return true;
}

static bool take_u32(Input *in, uint32_t *v)
{
    uint8_t b[4];

    if (!take(in, b, sizeof(b))) {
        return false;
    }
    *v = ldl_le_p(b);
    return true;
}

static bool take_u64(Input *in, uint64_t *v)
{
    uint8_t b[8];

    if (!take(in, b, sizeof(b))) {
        return false;
    }
    *v = ldq_le_p(b);
    return true;
}

/* ---- hang detection ---------------------------------------------------- */

static int64_t hang_limit_ms = 1000;
static int trace;       /* FUZZ_PC_TRACE: 1 commands, 2 and replies */

/* The command in flight: its start (0: none) and text, for the watchdog. */
static int64_t op_start_us;
static char op_text[256];

static G_NORETURN void report_hang(const char *cmd, int64_t ms, bool done)
{
    static int reporting;

    /* The watchdog and the command's own check may both see it. */
    if (__atomic_exchange_n(&reporting, 1, __ATOMIC_ACQ_REL)) {
        for (;;) {
            pause();
        }
    }
    fprintf(stderr, "hang: %s took %" PRId64 " ms%s (limit %" PRId64
            " ms, FUZZ_PC_HANG_MS)\n", cmd, ms, done ? "" : " and runs on",
            hang_limit_ms);
    abort();
}

/*
 * A command that never returns cannot be timed by its caller: this thread
 * looks at the one in flight a few times per limit and aborts the process
 * for it (libFuzzer then saves the input, as for any crash).
 */
static gpointer watchdog(gpointer opaque)
{
    for (;;) {
        g_usleep(hang_limit_ms * 1000 / 4);
        int64_t start = __atomic_load_n(&op_start_us, __ATOMIC_ACQUIRE);
        if (start) {
            int64_t ms = (g_get_monotonic_time() - start) / 1000;
            if (ms > hang_limit_ms) {
                report_hang(op_text, ms, false);
            }
        }
    }
    return NULL;
}

/* ---- running commands -------------------------------------------------- */

/*
 * Run one qtest command, timed.  A FAIL reply means the target built a
 * bad command: a bug here, not in the machine, so stop loudly.  The one
 * exception is "FAIL #GP": an MSR access the CPU refuses (rdmsr/wrmsr of
 * a reserved x2APIC register, a bad value), which is the architecture's
 * answer to the input, not a bug.
 */
static void run(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static void run(const char *fmt, ...)
{
    g_autofree char *line = NULL;
    g_autofree char *reply = NULL;
    va_list ap;
    int64_t start, ms;

    va_start(ap, fmt);
    line = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (trace) {
        fprintf(stderr, "%s\n", line);
    }
    g_strlcpy(op_text, line, sizeof(op_text));
    start = g_get_monotonic_time();
    __atomic_store_n(&op_start_us, start, __ATOMIC_RELEASE);
    reply = qtest_run_command(line);
    __atomic_store_n(&op_start_us, 0, __ATOMIC_RELEASE);
    ms = (g_get_monotonic_time() - start) / 1000;
    if (ms > hang_limit_ms) {
        report_hang(line, ms, true);
    }
    if (trace > 1) {
        fprintf(stderr, "# %s\n", reply);
    }
    if (g_str_has_prefix(reply, "FAIL") &&
        !g_str_has_prefix(reply, "FAIL #GP")) {
        fprintf(stderr, "fuzz-pc: bad command '%s': %s\n", line, reply);
        abort();
    }
}

/*
 * What the main loop does between two commands of a qtest client: run
 * other sources (realtime timers, deferred work) and carry out requests.
 * Returns false when the machine asked to shut down or exit: the rest of
 * the input has no machine to talk to.  A reset request (0xcf9, port 0x92,
 * the i8042) is carried out here, as it would be.
 */
static bool block_io_pending(void)
{
    GPtrArray *nodes = bdrv_all_nodes();

    for (unsigned i = 0; i < nodes->len; i++) {
        if (bdrv_aio_in_flight(g_ptr_array_index(nodes, i))) {
            return true;
        }
    }
    return false;
}

/*
 * Asynchronous block requests (virtio-blk's) complete within the pass of
 * the operation that started them, and what their completions schedule
 * (a batched interrupt) runs too, so an input replays the same way every
 * time whatever the worker threads' timing.
 */
static bool main_loop_pass(void)
{
    int status;

    g_main_context_iteration(NULL, FALSE);
    if (block_io_pending()) {
        while (block_io_pending()) {
            g_main_context_iteration(NULL, TRUE);
        }
        g_main_context_iteration(NULL, FALSE);
    }
    return !main_loop_should_exit(&status);
}

/* ---- decoding ------------------------------------------------------------ */

static const char width_suffix[] = { 'b', 'w', 'l', 'q' };

static const FuzzBar *pick_bar(GArray *bars, uint8_t win)
{
    if (win < WINDOW_PCI_BAR || !bars->len) {
        return NULL;
    }
    return &g_array_index(bars, FuzzBar, (win - WINDOW_PCI_BAR) % bars->len);
}

/* @win's base and size; a BAR where it is mapped now (or will be). */
static void window_range(const Window *table, unsigned n, GArray *bars,
                         uint8_t win, uint64_t *base, uint64_t *size)
{
    const FuzzBar *b = pick_bar(bars, win);

    if (b) {
        uint64_t addr = pci_get_bar_addr(b->dev, b->bar);
        *base = addr == PCI_BAR_UNMAPPED ? b->planned : addr;
        *size = b->size;
        return;
    }
    *base = table[win % n].base;
    *size = table[win % n].size;
}

static bool op_pio(Input *in, bool write)
{
    uint8_t win, size;
    uint16_t off;
    uint32_t val = 0;
    uint64_t base, len;

    if (!take_u8(in, &win) || !take_u8(in, &size) || !take_u16(in, &off) ||
        (write && !take_u32(in, &val))) {
        return false;
    }
    window_range(pio_windows, ARRAY_SIZE(pio_windows), io_bars, win, &base,
                 &len);
    uint64_t port = (base + off % len) & 0xffff;
    char w = width_suffix[size % 3];
    if (write) {
        run("out%c 0x%" PRIx64 " 0x%" PRIx32, w, port, val);
    } else {
        run("in%c 0x%" PRIx64, w, port);
    }
    return true;
}

static bool op_mmio(Input *in, bool write)
{
    uint8_t win, size;
    uint32_t off;
    uint64_t val = 0, base, len;

    if (!take_u8(in, &win) || !take_u8(in, &size) || !take_u32(in, &off) ||
        (write && !take_u64(in, &val))) {
        return false;
    }
    window_range(mmio_windows, ARRAY_SIZE(mmio_windows), mem_bars, win,
                 &base, &len);
    uint64_t addr = base + off % len;
    char w = width_suffix[size % 4];
    if (write) {
        run("write%c 0x%" PRIx64 " 0x%" PRIx64, w, addr, val);
    } else {
        run("read%c 0x%" PRIx64, w, addr);
    }
    return true;
}

static bool op_ram_write(Input *in)
{
    static const char hex[] = "0123456789abcdef";
    uint32_t addr;
    uint8_t len;
    char digits[2 * 255 + 1];

    if (!take_u32(in, &addr) || !take_u8(in, &len) || in->left < len) {
        return false;
    }
    for (unsigned i = 0; i < len; i++) {
        digits[2 * i] = hex[in->p[i] >> 4];
        digits[2 * i + 1] = hex[in->p[i] & 15];
    }
    digits[2 * len] = '\0';
    in->p += len;
    in->left -= len;
    if (len) {
        run("write 0x%" PRIx64 " %u 0x%s",
            addr % current_machine->below_4g_mem_size, len, digits);
    }
    return true;
}

static bool op_clock(Input *in)
{
    uint32_t ns;

    if (!take_u32(in, &ns)) {
        return false;
    }
    ns = MIN(ns & CLOCK_STEP_MASK, in->clock_left);
    in->clock_left -= ns;
    if (ns) {
        run("clock_step %" PRIu32, ns);
    }
    return true;
}

static void op_clock_next(void)
{
    int64_t now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    int64_t deadline = qemu_clock_virtual_next_deadline();

    if (deadline >= 0) {
        int64_t step = MIN(MAX(deadline - now, 0), CLOCK_NEXT_MAX_NS);
        run("clock_step %" PRId64, step);
    }
}

/*
 * What a display front end's refresh does: every graphic console's device
 * draws what changed (the VGA renderer reading whatever the input left in
 * its registers and video memory).  Not a qtest command; the trace shows
 * it as a comment, and a qtest replay gets it from a "screendump".
 */
static void op_screen_update(void)
{
    if (trace) {
        fprintf(stderr, "# screen_update\n");
    }
    for (unsigned i = 0; i < 4; i++) {
        QemuConsole *con = qemu_console_lookup_by_index(i);
        if (con) {
            graphic_hw_update(con);
        }
    }
}

static uint32_t config_address(unsigned devfn, uint8_t reg)
{
    return PCI_CONFIG_ENABLE | devfn << 8 | (reg & 0xfc);
}

static bool op_config(Input *in, bool write)
{
    uint8_t dev, size, reg;
    uint32_t val = 0;

    if (!take_u8(in, &dev) || !take_u8(in, &size) || !take_u8(in, &reg) ||
        (write && !take_u32(in, &val))) {
        return false;
    }
    unsigned devfn = g_array_index(pci_devfns, unsigned,
                                   dev % pci_devfns->len);
    unsigned width = 1u << (size % 3);
    /* The data port offset selects the bytes, as a CPU's access would. */
    unsigned data_port = 0xcfc + (reg & (4 - width));
    run("outl 0xcf8 0x%" PRIx32, config_address(devfn, reg));
    if (write) {
        run("out%c 0x%x 0x%" PRIx32, width_suffix[size % 3], data_port, val);
    } else {
        run("in%c 0x%x", width_suffix[size % 3], data_port);
    }
    return true;
}

/*
 * The MSRs of the userspace LAPICs: 0 IA32_APIC_BASE, 1 IA32_TSC_DEADLINE,
 * then the x2APIC range 0x800-0x8ff.
 */
static uint32_t apic_msr_index(uint8_t n)
{
    return n == 0 ? 0x1b : n == 1 ? 0x6e0 : 0x800 + (uint8_t)(n - 2);
}

/* The CPU side of the LAPICs (qtest's kvmpc extensions). */
static bool op_cpu(Input *in, uint8_t op)
{
    uint8_t cpu, msr = 0;
    uint64_t val = 0;

    if (!take_u8(in, &cpu) ||
        ((op == OP_RDMSR || op == OP_WRMSR) && !take_u8(in, &msr)) ||
        (op == OP_WRMSR && !take_u64(in, &val))) {
        return false;
    }
    cpu %= MAX(current_machine->smp.cpus, 1u);
    switch (op) {
    case OP_INTACK:
        run("intack %u", cpu);
        break;
    case OP_RDMSR:
        run("rdmsr %u 0x%" PRIx32, cpu, apic_msr_index(msr));
        break;
    case OP_WRMSR:
        run("wrmsr %u 0x%" PRIx32 " 0x%" PRIx64, cpu, apic_msr_index(msr),
            val);
        break;
    default:
        run("cpu_events %u", cpu);
        break;
    }
    return true;
}

/* Decode and run one operation; false at the end of the input. */
static bool run_one_op(Input *in)
{
    uint8_t op;

    if (!take_u8(in, &op)) {
        return false;
    }
    switch (op % OP_COUNT) {
    case OP_IN:
        return op_pio(in, false);
    case OP_OUT:
        return op_pio(in, true);
    case OP_READ:
        return op_mmio(in, false);
    case OP_WRITE:
        return op_mmio(in, true);
    case OP_RAM_WRITE:
        return op_ram_write(in);
    case OP_CLOCK:
        return op_clock(in);
    case OP_CFG_READ:
        return op_config(in, false);
    case OP_CFG_WRITE:
        return op_config(in, true);
    case OP_CLOCK_NEXT:
        op_clock_next();
        return true;
    case OP_SCREEN_UPDATE:
        op_screen_update();
        return true;
    case OP_INTACK:
    case OP_RDMSR:
    case OP_WRMSR:
    case OP_CPU_EVENTS:
        return op_cpu(in, op % OP_COUNT);
    }
    g_assert_not_reached();
}

/* ---- set-up and reset ------------------------------------------------ */

/*
 * Functions the machine gained after inputs already named BARs and
 * functions by index: they are collected after all others, in this
 * order, so older inputs keep their meaning.  Append only.  A type name,
 * or "#ID" for the function with that id.
 */
static const char *const late_functions[] = {
    "piix3-ide",
    "VGA",
    "virtio-scsi-pci",
    "ioh3420",              /* fuzz-q35's switch */
    "#fuzz-hpbr",           /* the pc targets' hotplug bridge */
};

static int late_rank(const PCIDevice *dev)
{
    const char *id = DEVICE(dev)->id;

    for (unsigned i = 0; i < ARRAY_SIZE(late_functions); i++) {
        const char *want = late_functions[i];
        if (want[0] == '#' ? id && !strcmp(id, want + 1)
                           : !strcmp(DEVICE(dev)->type->name, want)) {
            return i;
        }
    }
    return -1;
}

static void collect_function(PCIBus *bus, PCIDevice *dev, void *opaque)
{
    unsigned devfn = dev->devfn;
    int want = *(const int *)opaque;

    if (late_rank(dev) != want) {
        return;
    }

    g_array_append_val(pci_devfns, devfn);
    for (unsigned bar = 0; bar < PCI_ROM_SLOT; bar++) {
        const PCIIORegion *r = &dev->io_regions[bar];
        if (!r->size) {
            continue;
        }
        FuzzBar b = {
            .dev = dev, .bar = bar, .size = r->size,
            .mem64 = r->type & PCI_BASE_ADDRESS_MEM_TYPE_64,
        };
        g_array_append_val(r->type & PCI_BASE_ADDRESS_SPACE_IO ? io_bars
                                                               : mem_bars, b);
    }
}

/* Addresses for every BAR, each aligned to its size, as firmware would. */
static void plan_bars(GArray *bars, uint64_t next)
{
    for (unsigned i = 0; i < bars->len; i++) {
        FuzzBar *b = &g_array_index(bars, FuzzBar, i);
        b->planned = ALIGN_UP(next, b->size);
        next = b->planned + b->size;
        /* FUZZ_PC_PRINT_BARS=1: where the BARs go, for writing seeds */
        if (getenv("FUZZ_PC_PRINT_BARS")) {
            fprintf(stderr, "bar %02x.%x/%u at 0x%" PRIx64 " size 0x%" PRIx64
                    "\n", PCI_SLOT(b->dev->devfn), PCI_FUNC(b->dev->devfn),
                    b->bar, b->planned, b->size);
        }
    }
}

static void program_bars(GArray *bars)
{
    for (unsigned i = 0; i < bars->len; i++) {
        const FuzzBar *b = &g_array_index(bars, FuzzBar, i);
        uint8_t reg = PCI_BASE_ADDRESS_0 + 4 * b->bar;
        run("outl 0xcf8 0x%" PRIx32, config_address(b->dev->devfn, reg));
        run("outl 0xcfc 0x%" PRIx64, b->planned & 0xffffffff);
        if (b->mem64) {
            run("outl 0xcf8 0x%" PRIx32,
                config_address(b->dev->devfn, reg + 4));
            run("outl 0xcfc 0x%" PRIx64, b->planned >> 32);
        }
    }
}

/* BARs, decoding and bus mastering, and the rest of the firmware set-up. */
static void setup_machine(void)
{
    program_bars(io_bars);
    program_bars(mem_bars);
    for (unsigned i = 0; i < pci_devfns->len; i++) {
        unsigned devfn = g_array_index(pci_devfns, unsigned, i);
        run("outl 0xcf8 0x%" PRIx32, config_address(devfn, PCI_COMMAND));
        run("outw 0xcfc 0x%x", PCI_COMMAND_DECODE);
    }
    for (unsigned i = 0; i < ARRAY_SIZE(setup_commands); i++) {
        run("%s", setup_commands[i]);
    }
}

/* @size bytes of @data in a new temporary file (@tmpl as g_file_open_tmp
 * takes it; NULL: GLib's default name); the caller frees the path. */
static char *write_temp_file(const char *tmpl, const uint8_t *data,
                             size_t size)
{
    GError *err = NULL;
    char *path;
    int fd = g_file_open_tmp(tmpl, &path, &err);

    if (fd < 0 || !g_file_set_contents(path, (const char *)data, size,
                                       &err)) {
        fprintf(stderr, "fuzz-pc: %s\n", err->message);
        exit(1);
    }
    close(fd);
    return path;
}

/*
 * IDE media: a small disk (zeroed again before every input, so an input
 * reads what it wrote itself) and a CD-ROM image whose every byte names
 * its offset, both unlinked once open.  Floppy A: a short image (the
 * first four cylinders of a 1.44 MB disk; the rest of the geometry reads
 * zeroes and refuses writes), zeroed like the disk, on the isa-fdc the
 * pc machine always has (DMA channel 2).
 */
#define FUZZ_DISK_SIZE      (256 * KiB)
#define FUZZ_CD_SIZE        (64 * KiB)
#define FUZZ_FLOPPY_SIZE    (64 * KiB)

static char *write_cd_image(void)
{
    g_autofree uint8_t *data = g_malloc(FUZZ_CD_SIZE);

    for (size_t i = 0; i < FUZZ_CD_SIZE; i++) {
        data[i] = i * 7 + i / 2048;
    }
    return write_temp_file("fuzz-pc-cd-XXXXXX", data, FUZZ_CD_SIZE);
}

/* Zero drive @id's image, @size bytes (a drive without a medium: none). */
static void zero_drive(const char *id, uint64_t size)
{
    DriveInfo *d = drive_find_by_id(id);

    if (d && blk_bs(d->blk)) {
        bdrv_pwrite_zeroes(blk_bs(d->blk), 0, size, 0, NULL);
    }
}

static void zero_disk(void)
{
    zero_drive("ide0-hd0", FUZZ_DISK_SIZE);
    zero_drive("floppy0", FUZZ_FLOPPY_SIZE);
    zero_drive("ahci-hd", FUZZ_DISK_SIZE);
    zero_drive("vblk-hd", FUZZ_DISK_SIZE);
    zero_drive("scsi-hd", FUZZ_DISK_SIZE);
    zero_drive("usb-hd0", FUZZ_DISK_SIZE);
    zero_drive("usb-hd1", FUZZ_DISK_SIZE);
    zero_drive("usb-hd2", FUZZ_DISK_SIZE);
}

/*
 * Back to power-on: the virtual clock to 0 first, so devices reset
 * against the same time in every input, then every device, then RAM
 * (anonymous memory: MADV_DONTNEED makes it read zero again, costing only
 * the pages the last input touched).  This is qemu_system_reset() without
 * its reset hooks: those rebuild the firmware tables from the machine's
 * configuration (the same tables every time, and most of a reset's cost);
 * a reset the input asks for (0xcf9, ...) runs them.  The set-up's BAR
 * moves render the memory map once, at the end of one transaction.
 */
static void reset_machine(void)
{
    qemu_clock_virtual_set_manual();
    devices_reset_all();
    zero_disk();
    madvise(memory_region_get_ram_ptr(&current_machine->ram),
            current_machine->ram_size, MADV_DONTNEED);
    if (trace) {
        fprintf(stderr, "# reset\n");
    }
    memory_region_transaction_begin();
    setup_machine();
    memory_region_transaction_commit();
}


/* The pc machine needs firmware; a blank image keeps inputs host-independent. */
static char *write_blank_bios(void)
{
    g_autofree uint8_t *zeros = g_malloc0(FUZZ_BIOS_SIZE);

    return write_temp_file("fuzz-pc-bios-XXXXXX", zeros, FUZZ_BIOS_SIZE);
}


static void read_environment(void)
{
    const char *limit = g_getenv("FUZZ_PC_HANG_MS");

    if (limit && atoi(limit) > 0) {
        hang_limit_ms = atoi(limit);
    }
    trace = g_getenv("FUZZ_PC_TRACE") ? atoi(g_getenv("FUZZ_PC_TRACE")) : 0;
}

static void build_machine(void)
{
    g_autofree char *bios = write_blank_bios();
    g_autofree uint8_t *zeros = g_malloc0(FUZZ_DISK_SIZE);
    g_autofree char *disk = write_temp_file("fuzz-pc-disk-XXXXXX", zeros,
                                            FUZZ_DISK_SIZE);
    g_autofree char *cd = write_cd_image();
    g_autofree char *floppy = write_temp_file("fuzz-pc-floppy-XXXXXX", zeros,
                                              FUZZ_FLOPPY_SIZE);
    g_autofree char *floppy_opt = g_strdup_printf(
        "if=floppy,index=0,format=raw,cache=unsafe,file=%s", floppy);
    g_autofree char *disk_opt = g_strdup_printf(
        "if=ide,index=0,format=raw,cache=unsafe,file=%s", disk);
    g_autofree char *cd_opt = g_strdup_printf(
        "if=ide,index=2,media=cdrom,format=raw,file=%s", cd);
    GPtrArray *argv = g_ptr_array_new();

    for (unsigned i = 0; i < ARRAY_SIZE(machine_args); i++) {
        g_ptr_array_add(argv, (char *)machine_args[i]);
    }
    g_ptr_array_add(argv, (char *)"-bios");
    g_ptr_array_add(argv, bios);
    g_ptr_array_add(argv, (char *)"-drive");
    g_ptr_array_add(argv, disk_opt);
    g_ptr_array_add(argv, (char *)"-drive");
    g_ptr_array_add(argv, cd_opt);
    g_ptr_array_add(argv, (char *)"-drive");
    g_ptr_array_add(argv, floppy_opt);
#ifdef FUZZ_PC_VIRTIO
    /* virtio-blk-pci at 0a.0, after the VGA and virtio-net: late, so the
     * dev numbers and BAR order of the other seeds stay as they were. */
    g_autofree char *vblk_disk = write_temp_file("fuzz-vblk-disk-XXXXXX",
                                                 zeros, FUZZ_DISK_SIZE);
    g_autofree char *vblk_opt = g_strdup_printf(
        "if=none,id=vblk-hd,format=raw,cache=unsafe,discard=unmap,file=%s",
        vblk_disk);
    const char *vblk_args[] = {
        "-drive", vblk_opt, "-device",
        "virtio-blk-pci,drive=vblk-hd,addr=0a.0,serial=fuzz",
    };
    for (unsigned i = 0; i < ARRAY_SIZE(vblk_args); i++) {
        g_ptr_array_add(argv, (char *)vblk_args[i]);
    }
    /* virtio-serial-pci at 0b.0 with a console and a named port, after
     * virtio-blk so the BARs of everything before stay put */
    static const char *const vser_args[] = {
        "-chardev", "null,id=fuzz-vser0", "-chardev", "null,id=fuzz-vser1",
        "-device", "virtio-serial-pci,id=fuzz-vser,addr=0b.0,max_ports=4",
        "-device", "virtconsole,chardev=fuzz-vser0,id=fuzz-con",
        "-device", "virtserialport,chardev=fuzz-vser1,nr=2,name=org.fuzz.0",
    };
    for (unsigned i = 0; i < ARRAY_SIZE(vser_args); i++) {
        g_ptr_array_add(argv, (char *)vser_args[i]);
    }
    /* virtio-scsi-pci at 0c.0 with a scsi-hd (target 0) and an empty
     * scsi-cd (target 1), after virtio-serial for the same reason */
    g_autofree char *scsi_disk = write_temp_file("fuzz-scsi-disk-XXXXXX",
                                                 zeros, FUZZ_DISK_SIZE);
    g_autofree char *scsi_hd_opt = g_strdup_printf(
        "if=none,id=scsi-hd,format=raw,cache=unsafe,discard=unmap,file=%s",
        scsi_disk);
    const char *scsi_args[] = {
        "-device", "virtio-scsi-pci,id=fuzz-scsi,addr=0c.0",
        "-device", "scsi-cd,bus=fuzz-scsi.0,scsi-id=1",
        "-drive", scsi_hd_opt,
        "-device", "scsi-hd,drive=scsi-hd,bus=fuzz-scsi.0,scsi-id=0",
    };
    for (unsigned i = 0; i < ARRAY_SIZE(scsi_args); i++) {
        g_ptr_array_add(argv, (char *)scsi_args[i]);
    }
#endif
#ifdef FUZZ_AHCI
    g_autofree char *ahci_disk = write_temp_file("fuzz-ahci-disk-XXXXXX",
                                                 zeros, FUZZ_DISK_SIZE);
    g_autofree char *ahci_hd_opt = g_strdup_printf(
        "if=none,id=ahci-hd,format=raw,cache=unsafe,file=%s", ahci_disk);
    g_autofree char *ahci_cd_opt = g_strdup_printf(
        "if=none,id=ahci-cd,media=cdrom,format=raw,file=%s", cd);
    const char *ahci_args[] = {
        "-drive", ahci_hd_opt, "-device", "ide-hd,drive=ahci-hd,bus=ahci0.0",
        "-drive", ahci_cd_opt, "-device", "ide-cd,drive=ahci-cd,bus=ahci0.1",
    };
    for (unsigned i = 0; i < ARRAY_SIZE(ahci_args); i++) {
        g_ptr_array_add(argv, (char *)ahci_args[i]);
    }
#endif
#ifdef FUZZ_PC_USB
    /* usb-hd0 on the UHCI, usb-hd1 on the xHCI, usb-hd2 behind usb-uas;
     * GLib's default temporary file names */
    char *usb_disk[3], *usb_opt[3];

    for (unsigned i = 0; i < ARRAY_SIZE(usb_disk); i++) {
        usb_disk[i] = write_temp_file(NULL, zeros, FUZZ_DISK_SIZE);
        usb_opt[i] = g_strdup_printf("if=none,id=usb-hd%u,format=raw,"
                                     "cache=unsafe,file=%s", i, usb_disk[i]);
    }
    const char *usb_args[] = {
        "-drive", usb_opt[0],
        "-device", "usb-storage,drive=usb-hd0,bus=fuzz-uhci.0,port=2",
        "-drive", usb_opt[1],
        "-device", "usb-storage,drive=usb-hd1,bus=fuzz-xhci.0,port=2",
        "-device", "usb-uas,id=fuzz-uas,bus=fuzz-xhci.0,port=3",
        "-drive", usb_opt[2],
        "-device", "scsi-hd,drive=usb-hd2,bus=fuzz-uas.0",
    };
    for (unsigned i = 0; i < ARRAY_SIZE(usb_args); i++) {
        g_ptr_array_add(argv, (char *)usb_args[i]);
    }
#endif
    if (trace) {
        g_autofree char *line = NULL;
        g_ptr_array_add(argv, NULL);
        line = g_strjoinv(" ", (char **)argv->pdata);
        g_ptr_array_remove_index(argv, argv->len - 1);
        fprintf(stderr, "# machine: %s -qtest stdio\n", line);
    }
    kvmpc_init(argv->len, (char **)argv->pdata);
    unlink(bios);   /* loaded into the ROM already */
    unlink(disk);   /* open already */
    unlink(cd);
    unlink(floppy);
#ifdef FUZZ_AHCI
    unlink(ahci_disk);
#endif
#ifdef FUZZ_PC_USB
    for (unsigned i = 0; i < ARRAY_SIZE(usb_disk); i++) {
        unlink(usb_disk[i]);
        g_free(usb_disk[i]);
        g_free(usb_opt[i]);
    }
#endif
#ifdef FUZZ_PC_VIRTIO
    unlink(vblk_disk);
    unlink(scsi_disk);
#endif
    g_ptr_array_free(argv, true);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static bool done;

    if (done) {
        return 0;
    }
    done = true;
    read_environment();
    build_machine();
    /* A guest's eject (0xae08, a root port's slot powered off) must not
     * take devices away from the inputs that follow. */
    qdev_set_unplug_blocked(true);
    /*
     * kvmpc asks GLib to turn these into shutdown requests; here the
     * process must die of them (libFuzzer installs its own handlers for
     * INT and TERM only where nobody else has one).
     */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);

    pci_devfns = g_array_new(false, false, sizeof(unsigned));
    io_bars = g_array_new(false, false, sizeof(FuzzBar));
    mem_bars = g_array_new(false, false, sizeof(FuzzBar));
    for (int rank = -1; rank < (int)ARRAY_SIZE(late_functions); rank++) {
        pci_for_each_device(pci_root_bus(), collect_function, &rank);
    }
    plan_bars(io_bars, FUZZ_PCI_IO_BASE);
    plan_bars(mem_bars, FUZZ_PCI_MEM_BASE);
    g_thread_unref(g_thread_new("fuzz-pc-watchdog", watchdog, NULL));
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Input in = { data, size, CLOCK_INPUT_MAX_NS };

    LLVMFuzzerInitialize(NULL, NULL);
    reset_machine();
    while (run_one_op(&in) && main_loop_pass()) {
    }
    return 0;
}

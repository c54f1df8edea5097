/*
 * The demo guest `make demo` boots: greets over COM1, shows what the
 * loader handed it, brings up the other CPUs, reads the RTC, and exits
 * through isa-debug-exit.  It doubles as a guest test (suite 'guest').
 *
 * With powerdown=wait on its command line it stays up instead, until the
 * ACPI power button (QMP system_powerdown, `virsh shutdown`), and then
 * powers off through the PIIX4's PM1a control register: what
 * tests/libvirt/test-libvirt.py needs of a domain's life cycle.
 */
#include "guest.h"

static volatile int hello_count;

static void ap_hello(int cpu)
{
    printf("  cpu %d (LAPIC ID %u) says hello\n", cpu, lapic_id());
    __atomic_fetch_add(&hello_count, 1, __ATOMIC_SEQ_CST);
}

static uint8_t cmos_read(uint8_t reg)
{
    outb(0x70, reg);
    return inb(0x71);
}

static unsigned bcd(uint8_t v)
{
    return (v >> 4) * 10 + (v & 0xf);
}

static void show_rtc(void)
{
    /* Wait for no update in progress (register A bit 7). */
    wait_until(!(cmos_read(0x0a) & 0x80), 100000);
    uint8_t h = cmos_read(4), m = cmos_read(2), s = cmos_read(0);
    bool binary = cmos_read(0x0b) & 0x04;
    printf("RTC time:     %02u:%02u:%02u UTC\n", binary ? h : bcd(h),
           binary ? m : bcd(m), binary ? s : bcd(s));
}

/* The ACPI PM1 block: PIIX4 power management (00:01.3, PMBA at 40h, 64
 * bytes) on pc, the ICH9 LPC bridge (00:1f.0, PMBASE at 40h, 128 bytes:
 * ICH9 datasheet 13.1.10) on q35; direct boot programs either as
 * SeaBIOS does.  In it PM1 status and enable (PWRBTN_STS/_EN, bit 8) and
 * PM1 control (SLP_EN, bit 13; SLP_TYP 0 is S5 in kvmpc's DSDT, as in
 * QEMU's, for both chipsets). */
#define PCI_ID_PIIX4_PM 0x71138086u     /* device << 16 | vendor */
#define PCI_ID_ICH9_LPC 0x29188086u
#define PM_BASE_REG     0x40
#define PM1_STS         0
#define PM1_EN          2
#define PM1_CNT         4
#define PWRBTN_STS      (1u << 8)
#define PWRBTN_EN       (1u << 8)
#define SLP_EN          (1u << 13)

static uint32_t pci_conf_read(unsigned dev, unsigned fn, unsigned reg)
{
    outl(0xcf8, 0x80000000u | dev << 11 | fn << 8 | reg);
    return inl(0xcfc);
}

/* The PM1 block's I/O base, or 0 when neither chipset is there. */
static uint16_t pm1_base(void)
{
    if (pci_conf_read(1, 3, 0) == PCI_ID_PIIX4_PM)
        return pci_conf_read(1, 3, PM_BASE_REG) & 0xffc0;
    if (pci_conf_read(0x1f, 0, 0) == PCI_ID_ICH9_LPC)
        return pci_conf_read(0x1f, 0, PM_BASE_REG) & 0xff80;
    return 0;
}

static noreturn void power_off_on_button(void)
{
    uint16_t pm = pm1_base();

    if (!pm) {
        printf("FAIL: no PIIX4 or ICH9 power management found\n");
        halt_forever();
    }
    /* the chipset sets PWRBTN_STS only while PWRBTN_EN is set (ACPI
     * 4.8.3.1), as an OS's SCI handler would have it */
    outw(pm + PM1_EN, inw(pm + PM1_EN) | PWRBTN_EN);
    printf("waiting for the ACPI power button (PM1 at 0x%x)\n", pm);
    while (!(inw(pm + PM1_STS) & PWRBTN_STS))
        udelay(10000);
    printf("power button pressed: powering off (S5)\n");
    outw(pm + PM1_STS, PWRBTN_STS);
    outw(pm + PM1_CNT, SLP_EN);
    printf("still running after S5\n");
    halt_forever();
}

int main(void)
{
    long cpus = cmdline_get_int("cpus", 2);

    printf("\n  *** Hello from a kvmpc guest! ***\n\n");
    printf("booted via:   %s\n", boot_protocol_name(boot.protocol));
    printf("command line: \"%s\"\n", boot.cmdline);
    printf("usable RAM:   %lu MiB (memory map: %d entries)\n",
           (unsigned long)(boot_ram_total() >> 20), boot.nr_mem);
    printf("running at:   CPL 3 with IOPL 3, drivers in user mode\n");
    show_rtc();

    printf("starting %ld more CPU(s) with INIT-SIPI-SIPI...\n", cpus - 1);
    int started = smp_start_aps(ap_hello, (int)cpus - 1, 10000000);
    wait_until(hello_count == cpus - 1, 1000000);
    report(started == cpus - 1 && hello_count == cpus - 1,
           "%d of %ld secondary CPU(s) said hello", hello_count, cpus - 1);
    report(boot_ram_total() > 0, "the loader reported RAM");
    char mode[8];
    if (cmdline_get("powerdown", mode, sizeof(mode)) && !strcmp(mode, "wait"))
        power_off_on_button();
    printf("\nbye! (exiting through isa-debug-exit)\n");
    report_summary();
}

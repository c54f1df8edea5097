/*
 * Intel 82371AB (PIIX4) function 3: power management (ACPI) at 00:01.3.
 *
 * Spec: Intel 82371AB PIIX4 datasheet, 3.4 (function 3 configuration:
 * PMBA 40h, DEVACTB 58h, PMREGMISC 80h) and 7.2 (power management I/O
 * registers); ACPI 1.0b/2.0 4.7 (PM1 event/control, PM timer, GPE0).
 *
 * The GPE0 block sits at 0xafe0 and the APM command port at 0xb2, where
 * QEMU puts them (include/hw/i386/pc-layout.h).
 */
#ifndef HW_ACPI_PIIX4_PM_H
#define HW_ACPI_PIIX4_PM_H

#define TYPE_PIIX4_PM           "PIIX4_PM"

/* disable_s4=0 was given: the DSDT and etc/system-states offer S4. */
bool piix4_pm_s4_offered(void);
/* ACPI PCI hotplug serves pci.0 (acpi-root-pci-hotplug=on, the default). */
bool piix4_pm_pci_hotplug_enabled(void);

/* Function 3 configuration registers. */
#define PIIX4_PMBA              0x40    /* PM I/O base: bits 15:6, bit 0 = 1 */
#define PIIX4_PMBA_MASK         0xffc0
#define PIIX4_PMBA_IO           0x01
#define PIIX4_DEVACTB           0x58
#define PIIX4_DEVACTB_APMC_EN   (1u << 25)
#define PIIX4_PMREGMISC         0x80
#define PIIX4_PMIOSE            0x01    /* PM I/O space enable */

/* PM I/O registers (offsets from PMBA; 64 bytes). */
#define PIIX4_PM_IO_SIZE        0x40
#define ACPI_PM1_STS            0x00
#define ACPI_PM1_EN             0x02
#define ACPI_PM1_CNT            0x04
#define ACPI_PM_TMR             0x08

/* PM1 status/enable bits (ACPI 4.7.3.1). */
#define ACPI_PM1_TMR            0x0001  /* TMR_STS / TMR_EN */
#define ACPI_PM1_BM_STS         0x0010
#define ACPI_PM1_GBL            0x0020  /* GBL_STS / GBL_EN */
#define ACPI_PM1_PWRBTN         0x0100  /* PWRBTN_STS / PWRBTN_EN */
#define ACPI_PM1_SLPBTN         0x0200
#define ACPI_PM1_RTC            0x0400  /* RTC_STS / RTC_EN */
#define ACPI_PM1_WAK_STS        0x8000

/* PM1 control bits (ACPI 4.7.3.2). */
#define ACPI_PM1_CNT_SCI_EN     0x0001
#define ACPI_PM1_CNT_BM_RLD     0x0002
#define ACPI_PM1_CNT_GBL_RLS    0x0004
#define ACPI_PM1_CNT_SLP_TYP_SHIFT 10
#define ACPI_PM1_CNT_SLP_TYP    (7u << ACPI_PM1_CNT_SLP_TYP_SHIFT)
#define ACPI_PM1_CNT_SLP_EN     0x2000

/* Sleep type values QEMU's DSDT uses (_S3 = 1, _S4 = 2, _S5 = 0). */
#define PIIX4_SLP_TYP_S5        0
#define PIIX4_SLP_TYP_S3        1
#define PIIX4_SLP_TYP_S4        2

/* The PM timer: 3.579545 MHz, 24 bits (ACPI 4.7.2.1). */
#define ACPI_PM_TIMER_FREQUENCY 3579545
#define ACPI_PM_TIMER_MASK      0xffffff

#endif

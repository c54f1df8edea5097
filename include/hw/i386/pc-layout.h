/*
 * Fixed addresses, ports and IRQs of the "pc" machine, shared by the
 * chipset models, the ACPI/SMBIOS table builders and the tests.  Values are
 * those QEMU's i440FX machine uses, so guests and firmware find the same
 * layout.
 */
#ifndef HW_I386_PC_LAYOUT_H
#define HW_I386_PC_LAYOUT_H

/* Interrupt controllers and timers (memory-mapped). */
#define PC_IOAPIC_BASE          0xfec00000ULL
#define PC_IOAPIC_ID            0
#define PC_HPET_BASE            0xfed00000ULL
#define PC_HPET_SIZE            0x400
#define PC_LAPIC_BASE           0xfee00000ULL

/* PCI host bridge (configuration mechanism #1). */
#define PC_PCI_CONFIG_ADDR      0xcf8
#define PC_PCI_CONFIG_DATA      0xcfc
#define PC_RESET_CONTROL        0xcf9   /* PIIX3 RCR */
#define PC_PCI_HOLE64_SIZE      (1ULL << 31)   /* 64-bit PCI window size */

/* PIIX4 power management function (ACPI), at 00:01.3. */
#define PC_ACPI_PM_BASE         0x600   /* PM1a_EVT_BLK */
#define PC_ACPI_PM1_EVT         (PC_ACPI_PM_BASE + 0x00)   /* 4 bytes */
#define PC_ACPI_PM1_CNT         (PC_ACPI_PM_BASE + 0x04)   /* 2 bytes */
#define PC_ACPI_PM_TMR          (PC_ACPI_PM_BASE + 0x08)   /* 4 bytes */
#define PC_ACPI_GPE0_BASE       0xafe0  /* GPE0_BLK, 4 bytes */
#define PC_ACPI_GPE0_LEN        4
#define PC_ACPI_SCI_IRQ         9
#define PC_ACPI_SMI_CMD         0xb2    /* APM control port */
#define PC_ACPI_ENABLE          0xf1
#define PC_ACPI_DISABLE         0xf0
#define PC_SMBUS_BASE           0xb100

/* Firmware configuration interface. */
#define PC_FW_CFG_IO_BASE       0x510   /* selector 0x510, data 0x511 */
#define PC_FW_CFG_DMA_BASE      0x514   /* 8-byte DMA address register */

/* Legacy ISA devices. */
#define PC_RTC_BASE             0x70
#define PC_RTC_IRQ              8
#define PC_I8042_DATA           0x60
#define PC_I8042_CMD            0x64
#define PC_KBD_IRQ              1
#define PC_MOUSE_IRQ            12
#define PC_PORT92               0x92
#define PC_PIT_IRQ              0       /* GSI 2 on the IOAPIC (MADT ISO) */

/* PCI devfns of the built-in functions. */
#define PC_DEVFN_I440FX         0x00    /* 00.0 */
#define PC_DEVFN_PIIX3          0x08    /* 01.0 */
#define PC_DEVFN_PIIX4_PM       0x0b    /* 01.3 */

#endif

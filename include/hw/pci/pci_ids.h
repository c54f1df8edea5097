/*
 * PCI vendor and device IDs of the functions kvmpc models (the values
 * QEMU uses, so guests bind the same drivers).
 */
#ifndef HW_PCI_PCI_IDS_H
#define HW_PCI_PCI_IDS_H

#define PCI_VENDOR_ID_INTEL             0x8086
#define PCI_DEVICE_ID_INTEL_82441       0x1237  /* i440FX host bridge */
#define PCI_DEVICE_ID_INTEL_82371SB_0   0x7000  /* PIIX3 ISA bridge */
#define PCI_DEVICE_ID_INTEL_82371SB_1   0x7010  /* PIIX3 IDE */
#define PCI_DEVICE_ID_INTEL_82371SB_2   0x7020  /* PIIX3 USB */
#define PCI_DEVICE_ID_INTEL_82371AB_3   0x7113  /* PIIX4 power management */
#define PCI_DEVICE_ID_INTEL_Q35_MCH     0x29c0  /* q35 MCH (host bridge) */
#define PCI_DEVICE_ID_INTEL_ICH9_8      0x2918  /* ICH9 LPC interface */
#define PCI_DEVICE_ID_INTEL_ICH9_6      0x2930  /* ICH9 SMBus controller */
#define PCI_DEVICE_ID_INTEL_IOH_EPORT   0x3420  /* ioh3420 root port */

#define PCI_VENDOR_ID_TI                0x104c
#define PCI_DEVICE_ID_TI_XIO3130U       0x8232  /* XIO3130 upstream port */
#define PCI_DEVICE_ID_TI_XIO3130D       0x8233  /* XIO3130 downstream port */

#define PCI_VENDOR_ID_REDHAT            0x1b36
#define PCI_DEVICE_ID_REDHAT_BRIDGE     0x0001  /* pci-bridge */
#define PCI_DEVICE_ID_REDHAT_TEST       0x0005  /* pci-testdev */
#define PCI_DEVICE_ID_REDHAT_PCIE_RP    0x000c  /* pcie-root-port */
#define PCI_DEVICE_ID_REDHAT_PCIE_BRIDGE 0x000e /* pcie-pci-bridge */

/* QEMU's default subsystem IDs ("Red Hat, Inc." / "QEMU Virtual Machine"). */
#define PCI_SUBVENDOR_ID_REDHAT_QUMRANET 0x1af4
#define PCI_SUBDEVICE_ID_QEMU            0x1100

#endif

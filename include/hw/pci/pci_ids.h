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

#define PCI_VENDOR_ID_REDHAT            0x1b36
#define PCI_DEVICE_ID_REDHAT_TEST       0x0005  /* pci-testdev */

/* QEMU's default subsystem IDs ("Red Hat, Inc." / "QEMU Virtual Machine"). */
#define PCI_SUBVENDOR_ID_REDHAT_QUMRANET 0x1af4
#define PCI_SUBDEVICE_ID_QEMU            0x1100

#endif

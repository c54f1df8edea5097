/*
 * Intel 82441FX (i440FX) PCI and memory controller: the PCI host bridge
 * (configuration mechanism #1, bus 0) and its PCI function 00.0 with the
 * PAM shadow-memory and SMRAM registers.
 *
 * Spec: Intel 82440FX PCIset datasheet (82441FX PMC), 3.2 (PCI
 * configuration registers: PAM0-PAM6 at 59h-5Fh, SMRAM at 72h).
 */
#ifndef HW_PCI_HOST_I440FX_H
#define HW_PCI_HOST_I440FX_H
#include "hw/pci/pci.h"

#define TYPE_I440FX_PCI_HOST    "i440FX-pcihost"
#define TYPE_I440FX_PCI_DEVICE  "i440FX"

/* PAM registers: PAM0 bits 7:4 = 0xf0000-0xfffff; PAM1-6 two 16 KiB
 * segments each from 0xc0000 (low nibble first). */
#define I440FX_PAM              0x59
#define I440FX_PAM_SIZE         7
#define I440FX_PAM_RE           0x1     /* reads go to DRAM */
#define I440FX_PAM_WE           0x2     /* writes go to DRAM */
#define I440FX_PAM_MODE_MASK    0x3
#define I440FX_PAM_BIOS_BASE    0xf0000
#define I440FX_PAM_BIOS_SIZE    0x10000
#define I440FX_PAM_EXPAN_BASE   0xc0000
#define I440FX_PAM_EXPAN_SIZE   0x4000
#define I440FX_PAM_SEGMENTS     13      /* 1 BIOS + 12 expansion */

/* SMRAM control register. */
#define I440FX_SMRAM            0x72
#define I440FX_SMRAM_C_BASE_SEG 0x07    /* fixed 010b: 0xa0000 */
#define I440FX_SMRAM_G_SMRAME   0x08
#define I440FX_SMRAM_D_LCK      0x10
#define I440FX_SMRAM_D_CLS      0x20
#define I440FX_SMRAM_D_OPEN     0x40
#define I440FX_SMRAM_DEFAULT    0x02
#define I440FX_SMRAM_WMASK      0x78
#define I440FX_SMRAM_BASE       0xa0000
#define I440FX_SMRAM_SIZE       0x20000

#endif

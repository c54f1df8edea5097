/*
 * PCI configuration space register layout.
 *
 * Spec: PCI Local Bus Specification, Revision 3.0:
 *   6.1  Configuration Space Organization (type 0 header)
 *   6.2  Functions of the configuration registers (command, status, BARs,
 *        expansion ROM base address)
 *   6.7  Capabilities List
 *   6.8.1 MSI capability, 6.8.2 MSI-X capability
 *   Appendix H: capability IDs
 */
#ifndef HW_PCI_PCI_REGS_H
#define HW_PCI_PCI_REGS_H

#define PCI_CONFIG_SPACE_SIZE       0x100
#define PCI_CONFIG_HEADER_SIZE      0x40
/* PCI Express Base Specification 4.0, 7.2.2: 4 KiB per function via ECAM. */
#define PCIE_CONFIG_SPACE_SIZE      0x1000

/* Type 0 header (6.1, figure 6-1). */
#define PCI_VENDOR_ID               0x00    /* 16 bits */
#define PCI_DEVICE_ID               0x02    /* 16 bits */
#define PCI_COMMAND                 0x04    /* 16 bits */
#define PCI_STATUS                  0x06    /* 16 bits */
#define PCI_REVISION_ID             0x08
#define PCI_CLASS_PROG              0x09    /* programming interface */
#define PCI_CLASS_DEVICE            0x0a    /* 16 bits: base class, sub-class */
#define PCI_CACHE_LINE_SIZE         0x0c
#define PCI_LATENCY_TIMER           0x0d
#define PCI_HEADER_TYPE             0x0e
#define PCI_BIST                    0x0f
#define PCI_BASE_ADDRESS_0          0x10    /* 6 dwords: 0x10 - 0x27 */
#define PCI_CARDBUS_CIS             0x28
#define PCI_SUBSYSTEM_VENDOR_ID     0x2c
#define PCI_SUBSYSTEM_ID            0x2e
#define PCI_ROM_ADDRESS             0x30
#define PCI_CAPABILITY_LIST         0x34
#define PCI_INTERRUPT_LINE          0x3c
#define PCI_INTERRUPT_PIN           0x3d
#define PCI_MIN_GNT                 0x3e
#define PCI_MAX_LAT                 0x3f

/* Command register (6.2.2). */
#define PCI_COMMAND_IO              0x0001
#define PCI_COMMAND_MEMORY          0x0002
#define PCI_COMMAND_MASTER          0x0004
#define PCI_COMMAND_SPECIAL         0x0008
#define PCI_COMMAND_INVALIDATE      0x0010
#define PCI_COMMAND_VGA_PALETTE     0x0020
#define PCI_COMMAND_PARITY          0x0040
#define PCI_COMMAND_SERR            0x0100
#define PCI_COMMAND_FAST_BACK       0x0200
#define PCI_COMMAND_INTX_DISABLE    0x0400

/* Status register (6.2.3). */
#define PCI_STATUS_INTERRUPT        0x0008
#define PCI_STATUS_CAP_LIST         0x0010
#define PCI_STATUS_66MHZ            0x0020
#define PCI_STATUS_FAST_BACK        0x0080
#define PCI_STATUS_PARITY           0x0100  /* master data parity error */
#define PCI_STATUS_DEVSEL_MEDIUM    0x0200
#define PCI_STATUS_DEVSEL_MASK      0x0600
#define PCI_STATUS_SIG_TARGET_ABORT 0x0800
#define PCI_STATUS_REC_TARGET_ABORT 0x1000
#define PCI_STATUS_REC_MASTER_ABORT 0x2000
#define PCI_STATUS_SIG_SYSTEM_ERROR 0x4000
#define PCI_STATUS_DETECTED_PARITY  0x8000
/* The error bits software clears by writing 1 (6.2.3). */
#define PCI_STATUS_W1C_BITS \
    (PCI_STATUS_PARITY | PCI_STATUS_SIG_TARGET_ABORT | \
     PCI_STATUS_REC_TARGET_ABORT | PCI_STATUS_REC_MASTER_ABORT | \
     PCI_STATUS_SIG_SYSTEM_ERROR | PCI_STATUS_DETECTED_PARITY)

/* Header type register (6.2.1). */
#define PCI_HEADER_TYPE_NORMAL          0x00
#define PCI_HEADER_TYPE_BRIDGE          0x01
#define PCI_HEADER_TYPE_MULTI_FUNCTION  0x80

/* Base address registers (6.2.5.1). */
#define PCI_NUM_BARS                    6
#define PCI_BASE_ADDRESS_SPACE_IO       0x01
#define PCI_BASE_ADDRESS_SPACE_MEMORY   0x00
#define PCI_BASE_ADDRESS_MEM_TYPE_MASK  0x06
#define PCI_BASE_ADDRESS_MEM_TYPE_32    0x00
#define PCI_BASE_ADDRESS_MEM_TYPE_64    0x04
#define PCI_BASE_ADDRESS_MEM_PREFETCH   0x08
#define PCI_BASE_ADDRESS_MEM_MASK       (~0x0fULL)
#define PCI_BASE_ADDRESS_IO_MASK        (~0x03ULL)

/* Expansion ROM base address (6.2.5.2). */
#define PCI_ROM_ADDRESS_ENABLE          0x01
#define PCI_ROM_ADDRESS_MASK            (~0x7ffULL)

/* Capability list (6.7): each entry starts with ID, next pointer. */
#define PCI_CAP_LIST_ID             0
#define PCI_CAP_LIST_NEXT           1
#define PCI_CAP_ID_PM               0x01
#define PCI_CAP_ID_AGP              0x02
#define PCI_CAP_ID_VPD              0x03
#define PCI_CAP_ID_SLOTID           0x04
#define PCI_CAP_ID_MSI              0x05
#define PCI_CAP_ID_HT               0x08
#define PCI_CAP_ID_VNDR             0x09
#define PCI_CAP_ID_SSVID            0x0d    /* bridge subsystem IDs */
#define PCI_CAP_ID_EXP              0x10
#define PCI_CAP_ID_MSIX             0x11

/* Power Management capability (PCI Bus Power Management Interface 1.2,
 * 3.2): PMC, then PMCSR with the power state in bits 1:0. */
#define PCI_PM_PMC                  2
#define PCI_PM_CAP_VER_1_2          0x0003
#define PCI_PM_CTRL                 4
#define PCI_PM_CTRL_STATE_MASK      0x0003
#define PCI_PM_SIZEOF               8

/* MSI capability (6.8.1). Offsets from the capability start. */
#define PCI_MSI_FLAGS               2       /* message control, 16 bits */
#define PCI_MSI_FLAGS_ENABLE        0x0001
#define PCI_MSI_FLAGS_QMASK         0x000e  /* multiple message capable */
#define PCI_MSI_FLAGS_QSIZE         0x0070  /* multiple message enable */
#define PCI_MSI_FLAGS_64BIT         0x0080
#define PCI_MSI_FLAGS_MASKBIT       0x0100  /* per-vector masking */
#define PCI_MSI_ADDRESS_LO          4
#define PCI_MSI_ADDRESS_HI          8       /* 64-bit only */
#define PCI_MSI_DATA_32             8
#define PCI_MSI_DATA_64             12
#define PCI_MSI_MASK_32             12
#define PCI_MSI_MASK_64             16
#define PCI_MSI_PENDING_32          16
#define PCI_MSI_PENDING_64          20
#define PCI_MSI_VECTORS_MAX         32

/* MSI-X capability (6.8.2). */
#define PCI_MSIX_FLAGS              2       /* message control, 16 bits */
#define PCI_MSIX_FLAGS_QSIZE        0x07ff  /* table size - 1 */
#define PCI_MSIX_FLAGS_MASKALL      0x4000
#define PCI_MSIX_FLAGS_ENABLE       0x8000
#define PCI_MSIX_TABLE              4       /* offset | BIR */
#define PCI_MSIX_PBA                8       /* offset | BIR */
#define PCI_MSIX_BIR_MASK           0x7
#define PCI_MSIX_CAP_SIZE           12
#define PCI_MSIX_ENTRY_SIZE         16
#define PCI_MSIX_ENTRY_ADDR_LO      0
#define PCI_MSIX_ENTRY_ADDR_HI      4
#define PCI_MSIX_ENTRY_DATA         8
#define PCI_MSIX_ENTRY_VECTOR_CTRL  12
#define PCI_MSIX_ENTRY_CTRL_MASKBIT 0x1

/* Type 1 header (PCI-to-PCI Bridge Architecture Specification 1.2, 3.2). */
#define PCI_PRIMARY_BUS             0x18
#define PCI_SECONDARY_BUS           0x19
#define PCI_SUBORDINATE_BUS         0x1a
#define PCI_SEC_LATENCY_TIMER       0x1b
#define PCI_IO_BASE                 0x1c
#define PCI_IO_LIMIT                0x1d
#define PCI_IO_RANGE_TYPE_MASK      0x0f
#define PCI_IO_RANGE_TYPE_32        0x01
#define PCI_IO_RANGE_MASK           (~0x0fU)
#define PCI_SEC_STATUS              0x1e    /* 16 bits */
#define PCI_MEMORY_BASE             0x20    /* 16 bits */
#define PCI_MEMORY_LIMIT            0x22
#define PCI_MEMORY_RANGE_MASK       (~0x0fU)
#define PCI_PREF_MEMORY_BASE        0x24
#define PCI_PREF_MEMORY_LIMIT       0x26
#define PCI_PREF_RANGE_TYPE_MASK    0x0f
#define PCI_PREF_RANGE_TYPE_64      0x01
#define PCI_PREF_RANGE_MASK         (~0x0fU)
#define PCI_PREF_BASE_UPPER32       0x28
#define PCI_PREF_LIMIT_UPPER32      0x2c
#define PCI_IO_BASE_UPPER16         0x30
#define PCI_IO_LIMIT_UPPER16        0x32
#define PCI_ROM_ADDRESS1            0x38
#define PCI_BRIDGE_CONTROL          0x3e    /* 16 bits */
#define PCI_BRIDGE_CTL_PARITY       0x0001
#define PCI_BRIDGE_CTL_SERR         0x0002
#define PCI_BRIDGE_CTL_ISA          0x0004
#define PCI_BRIDGE_CTL_VGA          0x0008
#define PCI_BRIDGE_CTL_VGA_16BIT    0x0010
#define PCI_BRIDGE_CTL_MASTER_ABORT 0x0020
#define PCI_BRIDGE_CTL_BUS_RESET    0x0040
#define PCI_BRIDGE_CTL_FAST_BACK    0x0080

/* PCI Express capability (PCIe Base 4.0, 7.5.3), offsets from its start. */
#define PCI_EXP_FLAGS               2       /* 16 bits */
#define PCI_EXP_FLAGS_VER2          0x0002
#define PCI_EXP_FLAGS_TYPE          0x00f0
#define PCI_EXP_FLAGS_TYPE_SHIFT    4
#define PCI_EXP_FLAGS_SLOT          0x0100
#define PCI_EXP_TYPE_ENDPOINT       0x0
#define PCI_EXP_TYPE_ROOT_PORT      0x4
#define PCI_EXP_TYPE_UPSTREAM       0x5
#define PCI_EXP_TYPE_DOWNSTREAM     0x6
#define PCI_EXP_TYPE_PCI_BRIDGE     0x7
#define PCI_EXP_TYPE_RC_END         0x9
#define PCI_EXP_DEVCAP              4
#define PCI_EXP_DEVCAP_RBER         0x00008000
#define PCI_EXP_DEVCAP_FLR          0x10000000  /* function level reset */
#define PCI_EXP_DEVCTL              8
#define PCI_EXP_DEVCTL_WMASK        0x7cff  /* error reporting, payload... */
#define PCI_EXP_DEVCTL_ERR_ENABLES  0x000f  /* CERE NFERE FERE URRE */
#define PCI_EXP_DEVCTL_BCR_FLR      0x8000  /* initiate FLR */
#define PCI_EXP_DEVSTA              10
#define PCI_EXP_DEVSTA_W1C          0x000f  /* CED NFED FED URD */
#define PCI_EXP_LNKCAP              12
#define PCI_EXP_LNKCAP_ASPMS_0S     0x00000400  /* L0s supported */
#define PCI_EXP_LNKCAP_PN_SHIFT     24
#define PCI_EXP_LNKCAP_DLLLARC      0x00100000
#define PCI_EXP_LNKCTL              16
#define PCI_EXP_LNKCTL_CCC          0x0040  /* common clock configuration */
#define PCI_EXP_LNKCTL_ES           0x0080  /* extended synch */
#define PCI_EXP_LNKSTA              18
#define PCI_EXP_LNKSTA_DLLLA        0x2000
#define PCI_EXP_SLTCAP              20
#define PCI_EXP_SLTCAP_ABP          0x00000001  /* attention button */
#define PCI_EXP_SLTCAP_PCP          0x00000002  /* power controller */
#define PCI_EXP_SLTCAP_MRLSP        0x00000004
#define PCI_EXP_SLTCAP_AIP          0x00000008  /* attention indicator */
#define PCI_EXP_SLTCAP_PIP          0x00000010  /* power indicator */
#define PCI_EXP_SLTCAP_HPS          0x00000020  /* hot-plug surprise */
#define PCI_EXP_SLTCAP_HPC          0x00000040  /* hot-plug capable */
#define PCI_EXP_SLTCAP_EIP          0x00020000  /* electromech. interlock */
#define PCI_EXP_SLTCAP_NCCS         0x00040000  /* no command completed */
#define PCI_EXP_SLTCAP_PSN_SHIFT    19
#define PCI_EXP_SLTCTL              24
#define PCI_EXP_SLTCTL_ABPE         0x0001
#define PCI_EXP_SLTCTL_PFDE         0x0002
#define PCI_EXP_SLTCTL_MRLSCE       0x0004
#define PCI_EXP_SLTCTL_PDCE         0x0008
#define PCI_EXP_SLTCTL_CCIE         0x0010
#define PCI_EXP_SLTCTL_HPIE         0x0020
#define PCI_EXP_SLTCTL_AIC          0x00c0
#define PCI_EXP_SLTCTL_PIC          0x0300
#define PCI_EXP_SLTCTL_PIC_ON       0x0100
#define PCI_EXP_SLTCTL_PIC_OFF      0x0300
#define PCI_EXP_SLTCTL_PCC          0x0400
#define PCI_EXP_SLTCTL_EIC          0x0800
#define PCI_EXP_SLTCTL_DLLSCE       0x1000
#define PCI_EXP_SLTSTA              26
#define PCI_EXP_SLTSTA_ABP          0x0001
#define PCI_EXP_SLTSTA_PFD          0x0002
#define PCI_EXP_SLTSTA_MRLSC        0x0004
#define PCI_EXP_SLTSTA_PDC          0x0008
#define PCI_EXP_SLTSTA_CC           0x0010
#define PCI_EXP_SLTSTA_MRLSS        0x0020
#define PCI_EXP_SLTSTA_PDS          0x0040
#define PCI_EXP_SLTSTA_EIS          0x0080
#define PCI_EXP_SLTSTA_DLLSC        0x0100
#define PCI_EXP_SLTSTA_W1C          0x011f
#define PCI_EXP_RTCTL               28
#define PCI_EXP_RTCAP               30
#define PCI_EXP_RTSTA               32
#define PCI_EXP_DEVCAP2             36
#define PCI_EXP_DEVCAP2_EFF         0x00100000  /* extended fmt field */
#define PCI_EXP_DEVCAP2_EETLPP      0x00200000  /* end-end TLP prefix */
#define PCI_EXP_DEVCTL2             40
#define PCI_EXP_DEVCTL2_EETLPPB     0x8000      /* end-end prefix blocking */
#define PCI_EXP_LNKCAP2             44
#define PCI_EXP_LNKCTL2             48
#define PCI_EXP_LNKSTA2             50
#define PCI_EXP_VER2_SIZEOF         0x3c

/* Extended capabilities (PCIe Base 4.0, 7.6): 32-bit header at 0x100+. */
#define PCI_EXT_CAP_ID_ERR          0x0001  /* Advanced Error Reporting */
#define PCI_EXT_CAP_ID_ACS          0x000d
#define PCI_ERR_SIZEOF              0x48
#define PCI_ERR_UNCOR_STATUS        4
#define PCI_ERR_UNCOR_MASK          8
#define PCI_ERR_UNCOR_SEVER         12
#define PCI_ERR_COR_STATUS          16
#define PCI_ERR_COR_MASK            20
#define PCI_ERR_CAP                 24
#define PCI_ERR_ROOT_COMMAND        44
#define PCI_ERR_ROOT_STATUS         48
#define PCI_ERR_UNC_SUPPORTED       0x003ff030  /* DLP..ACSV, UR... */
#define PCI_ERR_UNC_SEVER_DEFAULT   0x00062030
#define PCI_ERR_COR_SUPPORTED       0x0000f1c1
#define PCI_ERR_COR_MASK_DEFAULT    0x00002000  /* advisory non-fatal */

/* Class codes (Appendix D): base class << 8 | sub-class. */
#define PCI_CLASS_STORAGE_SCSI      0x0100
#define PCI_CLASS_STORAGE_IDE       0x0101
#define PCI_CLASS_NETWORK_ETHERNET  0x0200
#define PCI_CLASS_DISPLAY_VGA       0x0300
#define PCI_CLASS_BRIDGE_HOST       0x0600
#define PCI_CLASS_BRIDGE_ISA        0x0601
#define PCI_CLASS_BRIDGE_PCI        0x0604
#define PCI_CLASS_BRIDGE_OTHER      0x0680
#define PCI_CLASS_SERIAL_SMBUS      0x0c05
#define PCI_CLASS_SERIAL_USB        0x0c03
/* QEMU's value (base class 00h, sub-class ffh: what its virtio-rng,
 * virtio-balloon and pci-testdev report), not the PCI code 0xff00. */
#define PCI_CLASS_OTHERS            0x00ff

#endif

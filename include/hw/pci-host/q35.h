/*
 * The q35 chipset: MCH host bridge (hw/pci-host/q35.c), ICH9 LPC with its
 * power management (hw/isa/lpc_ich9.c) and SMBus (hw/i2c/ich9-smbus.c).
 * Register offsets from the Intel 3 Series Express Chipset (MCH) and ICH9
 * datasheets, values as QEMU 7.2.
 */
#ifndef HW_PCI_HOST_Q35_H
#define HW_PCI_HOST_Q35_H
#include "hw/pci/pci.h"
#include "hw/boards.h"

#define TYPE_Q35_HOST_DEVICE    "q35-pcihost"
#define TYPE_MCH_PCI_DEVICE     "mch"
#define TYPE_ICH9_LPC_DEVICE    "ICH9-LPC"
#define TYPE_ICH9_SMB_DEVICE    "ICH9-SMB"

/* ---- MCH (00.0) ------------------------------------------------------ */
#define MCH_HOST_BRIDGE_REVISION        0x00
#define MCH_PCIEXBAR                    0x60    /* 64 bits */
#define MCH_PCIEXBAR_DEFAULT            0xb0000000ULL
#define MCH_PCIEXBAR_ADMSK              0x0000000ff0000000ULL  /* 35:28 */
#define MCH_PCIEXBAR_128ADMSK           0x0000000008000000ULL  /* 27 */
#define MCH_PCIEXBAR_64ADMSK            0x0000000004000000ULL  /* 26 */
#define MCH_PCIEXBAR_LENGTH_MASK        0x6
#define MCH_PCIEXBAR_LENGTH_256M        0x0
#define MCH_PCIEXBAR_LENGTH_128M        0x2
#define MCH_PCIEXBAR_LENGTH_64M         0x4
#define MCH_PCIEXBAR_LENGTH_RVD         0x6
#define MCH_PCIEXBAREN                  0x1
#define MCH_PCIEXBAR_MAX                (256ULL << 20)
#define MCH_PAM0                        0x90
#define MCH_PAM_SIZE                    7
#define MCH_SMRAM                       0x9d
#define MCH_SMRAM_D_OPEN                0x40
#define MCH_SMRAM_D_CLS                 0x20
#define MCH_SMRAM_D_LCK                 0x10
#define MCH_SMRAM_G_SMRAME              0x08
#define MCH_SMRAM_C_BASE_SEG            0x02
#define MCH_SMRAM_DEFAULT               MCH_SMRAM_C_BASE_SEG
#define MCH_SMRAM_WMASK                 0x78
#define MCH_ESMRAMC                     0x9e
#define MCH_ESMRAMC_H_SMRAME            0x80
#define MCH_ESMRAMC_TSEG_SZ_MASK        0x06
#define MCH_ESMRAMC_T_EN                0x01
#define MCH_ESMRAMC_DEFAULT             0x38    /* SM_CACHE | SM_L1 | SM_L2 */
#define MCH_ESMRAMC_WMASK               0x87
#define MCH_EXT_TSEG_MBYTES             0x50

/* Memory layout (QEMU's pc_q35_init): low RAM up to 2 GiB when the RAM
 * would reach the ECAM window at 0xb0000000, else up to 0xb0000000. */
#define Q35_LOWMEM_SPLIT_LARGE          0x80000000ULL
#define Q35_LOWMEM_SPLIT                0xb0000000ULL
#define Q35_PCI_HOLE64_SIZE             (1ULL << 35)

/* ---- ICH9 LPC (1f.0) --------------------------------------------------- */
#define ICH9_LPC_DEVFN                  PCI_DEVFN(0x1f, 0)
#define ICH9_SATA_DEVFN                 PCI_DEVFN(0x1f, 2)
#define ICH9_SMB_DEVFN                  PCI_DEVFN(0x1f, 3)
#define ICH9_LPC_REVISION               0x02
#define ICH9_LPC_PMBASE                 0x40
#define ICH9_LPC_PMBASE_RTE             0x1
#define ICH9_LPC_PMBASE_MASK            0xff80
#define ICH9_LPC_ACPI_CTRL              0x44
#define ICH9_LPC_ACPI_CTRL_ACPI_EN      0x80
#define ICH9_LPC_ACPI_CTRL_SCI_IRQ_SEL  0x07
#define ICH9_LPC_PIRQA_ROUT             0x60
#define ICH9_LPC_PIRQE_ROUT             0x68
#define ICH9_LPC_PIRQ_ROUT_IRQEN        0x80
#define ICH9_LPC_PIRQ_ROUT_MASK         0x0f
#define ICH9_LPC_PIRQ_ROUT_DEFAULT      0x80
#define ICH9_LPC_NB_PIRQS               8
#define ICH9_LPC_GEN_PMCON_1            0xa0
#define ICH9_LPC_GEN_PMCON_1_SMI_LOCK   0x10
#define ICH9_LPC_GEN_PMCON_2            0xa2
#define ICH9_LPC_GEN_PMCON_3            0xa4
#define ICH9_LPC_RCBA                   0xf0
#define ICH9_LPC_RCBA_EN                0x1
#define ICH9_LPC_RCBA_BA_MASK           0xffffc000u

/* Chipset configuration registers (RCBA, 16 KiB). */
#define ICH9_CC_SIZE                    0x4000
#define ICH9_CC_D31IR                   0x3140
#define ICH9_CC_D30IR                   0x3142
#define ICH9_CC_D29IR                   0x3144
#define ICH9_CC_D28IR                   0x3146
#define ICH9_CC_D27IR                   0x3148
#define ICH9_CC_D26IR                   0x314c
#define ICH9_CC_D25IR                   0x3150
#define ICH9_CC_DIR_DEFAULT             0x3210  /* INTA-D -> PIRQA-D */
#define ICH9_CC_GCS                     0x3410
#define ICH9_CC_GCS_NO_REBOOT           0x20

/* ICH9 PM I/O (PMBASE, 128 bytes; SeaBIOS programs 0x600). */
#define ICH9_PMIO_SIZE                  0x80
#define ICH9_PMIO_PM1_STS               0x00
#define ICH9_PMIO_PM1_EN                0x02
#define ICH9_PMIO_PM1_CNT               0x04
#define ICH9_PMIO_PM1_TMR               0x08
#define ICH9_PMIO_GPE0_STS              0x20
#define ICH9_PMIO_GPE0_LEN              16
#define ICH9_PMIO_SMI_EN                0x30
#define ICH9_PMIO_SMI_EN_APMC_EN        0x20
#define ICH9_PMIO_SMI_EN_TCO_EN         0x2000
#define ICH9_PMIO_SMI_STS               0x34
#define ICH9_PMIO_SMI_STS_APM           0x20
#define ICH9_PMIO_TCO_BASE              0x60
#define ICH9_PMIO_TCO_SIZE              0x20
#define ICH9_APM_ACPI_ENABLE            0x02
#define ICH9_APM_ACPI_DISABLE           0x03
#define Q35_ACPI_PM_BASE                0x600

/* TCO registers (offsets in the TCO block). */
#define TCO_RLD                         0x00
#define TCO_DAT_IN                      0x02
#define TCO_DAT_OUT                     0x03
#define TCO1_STS                        0x04
#define TCO1_STS_TIMEOUT                0x0008
#define TCO2_STS                        0x06
#define TCO2_STS_SECOND_TO              0x0002
#define TCO2_STS_BOOT                   0x0004
#define TCO1_CNT                        0x08
#define TCO1_CNT_TMR_HLT                0x0800
#define TCO2_CNT                        0x0a
#define TCO_MESSAGE1                    0x0c
#define TCO_MESSAGE2                    0x0d
#define TCO_WDCNT                       0x0e
#define SW_IRQ_GEN                      0x10
#define TCO_TMR                         0x12
#define TCO_TMR_DEFAULT                 0x0004
#define TCO_TICK_NSEC                   600000000LL  /* 0.6 s */

/* ICH9 SMBus (1f.3). */
#define ICH9_SMB_REVISION               0x02
#define ICH9_SMB_BASE_BAR               4
#define ICH9_SMB_HOSTC                  0x40
#define ICH9_SMB_HOSTC_HST_EN           0x01
#define ICH9_SMB_IO_SIZE                0x20

/*
 * The q35 chipset: host bridge and bus "pcie.0", MCH at 00.0, ICH9 LPC at
 * 1f.0, ICH9 AHCI at 1f.2 (with the if=ide drives), SMBus at 1f.3.  Call
 * after RAM and the GSIs.
 */
bool q35_chipset_init(MachineState *ms, bool direct_boot, GError **errp);
/* ICH9 AHCI at 1f.2 with the -drive if=ide drives (hw/i386/pc_q35.c). */
bool q35_ahci_init(GError **errp);
/* The ECAM window now: false when PCIEXBAR is disabled. */
bool q35_ecam_window(uint64_t *base, uint64_t *size);
/* ICH9 INTx routing: slot/pin of a root-bus function to PIRQ 0-7. */
int ich9_lpc_route(unsigned slot, unsigned pin);
/* The PIRQ route register offset of PIRQ @n (0-7). */
unsigned ich9_lpc_pirq_reg(unsigned n);
/* ICH9-LPC.disable_s4=0 was given: \_S4 and etc/system-states offer S4. */
bool ich9_lpc_s4_offered(void);
/* Whether the LPC is present (the ACPI and fw_cfg builders ask). */
bool q35_machine_active(void);

#endif

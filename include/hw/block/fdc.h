/*
 * The ISA floppy disk controller (hw/block/fdc.c) and its drives:
 * "isa-fdc" (always on the pc machine, as QEMU's) and "floppy"
 * (-device floppy,drive=ID,unit=N; -fda/-fdb and -drive if=floppy attach
 * through the machine).
 */
#ifndef HW_BLOCK_FDC_H
#define HW_BLOCK_FDC_H
#include "hw/isa.h"

#define TYPE_ISA_FDC            "isa-fdc"
#define TYPE_FLOPPY             "floppy"

#define FDC_ISA_IOBASE          0x3f0
#define FDC_ISA_IRQ             6
#define FDC_ISA_DMA             2
#define FDC_MAX_DRIVES          2       /* units 0 (A:) and 1 (B:) */

/*
 * The pc machine's controller: create it, attach the if=floppy drives
 * and keep the CMOS floppy bytes (10h types, 14h equipment) current at
 * every reset.
 */
bool pc_fdc_init(GError **errp);

#endif

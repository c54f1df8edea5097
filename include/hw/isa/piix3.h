/*
 * Intel 82371SB (PIIX3) function 0: the PCI-to-ISA bridge at 00:01.0.
 *
 * Spec: Intel 82371FB (PIIX) and 82371SB (PIIX3) PCI ISA IDE Xcelerator
 * datasheet, 2.2 (PCI-to-ISA bridge configuration registers: PIRQRC[A:D]
 * at 60h-63h) and 2.6.2 / 4.1.x (Reset Control Register at I/O 0CF9h).
 */
#ifndef HW_ISA_PIIX3_H
#define HW_ISA_PIIX3_H

#define TYPE_PIIX3_DEVICE       "PIIX3"

#define PIIX_NUM_PIRQS          4
#define PIIX_NUM_PIC_IRQS       16
#define PIIX_PIRQCA             0x60    /* PIRQA route control; B-D follow */
#define PIIX_PIRQC_DISABLE      0x80    /* IRQEN# : routing disabled */
#define PIIX_PIRQC_IRQ_MASK     0x0f

/* Reset control register (I/O 0xcf9). */
#define PIIX_RCR_SYS_RST        0x02    /* 1: hard reset, 0: soft reset */
#define PIIX_RCR_RESET_CPU      0x04

#endif

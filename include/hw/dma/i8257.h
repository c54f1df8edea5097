/*
 * Intel 8237A DMA controller pair of the PC (hw/dma/i8257.c): registers
 * only, no transfers (no ISA DMA device exists in kvmpc).
 */
#ifndef HW_DMA_I8257_H
#define HW_DMA_I8257_H
#include "hw/isa.h"

#define TYPE_I8257              "i8257"

/* The PC's pair: 8-bit channels 0-3 and 16-bit channels 4-7. */
#define I8257_DMA1_BASE         0x00
#define I8257_DMA1_PAGE_BASE    0x80    /* 0x80 itself is the POST port */
#define I8257_DMA2_BASE         0xc0
#define I8257_DMA2_PAGE_BASE    0x88
#define I8257_DMA2_DSHIFT       1       /* registers on even ports */

#endif

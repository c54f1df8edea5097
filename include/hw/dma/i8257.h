/*
 * Intel 8237A DMA controller pair of the PC (hw/dma/i8257.c): registers
 * and transfers for ISA devices (the floppy controller on channel 2).
 *
 * A device registers a handler for its channel, asserts DREQ while it has
 * data to move and releases it when done.  Whenever the channel is granted
 * (DREQ held, channel unmasked, controller enabled) the controller calls
 * the handler, which moves bytes with i8257_dma_read_memory() /
 * i8257_dma_write_memory(); these return how much moved and say when the
 * count reached terminal count (TC), which ends the device's transfer as
 * the TC pin does.  When they move nothing without TC (the guest masked
 * the channel), the handler returns and is called again once the channel
 * is granted again.  Channels 0-3 are 8-bit (DMA1), 4-7 16-bit (DMA2:
 * whole words, lengths are rounded down to even).
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

#define I8257_NUM_CHANNELS      8

/* The channel is granted: move data now (see above). */
typedef void (*I8257TransferHandler)(void *opaque, unsigned nchan);

/* One handler per channel; registering NULL removes it. */
void i8257_register_channel(unsigned nchan, I8257TransferHandler fn,
                            void *opaque);
/* DREQ: held, the handler runs at once if the channel is granted. */
void i8257_hold_dreq(unsigned nchan);
void i8257_release_dreq(unsigned nchan);
/*
 * Memory to device (a "read" transfer in the 8237's words): up to @len
 * bytes from the channel's current address into @buf.  Device to memory
 * ("write" transfer): @len bytes of @buf to guest memory.  Both advance
 * the channel's address and count, stop at terminal count (*tc set then;
 * with auto-initialization the channel is reloaded and stays unmasked,
 * without it the channel is masked) and return the number of bytes
 * moved: 0 when the channel is not granted.  A channel programmed for the
 * other direction, or for verify, counts the transfer without touching
 * memory (the device then reads 0xff, an undriven bus).
 */
size_t i8257_dma_read_memory(unsigned nchan, void *buf, size_t len,
                             bool *tc);
size_t i8257_dma_write_memory(unsigned nchan, const void *buf, size_t len,
                              bool *tc);

#endif

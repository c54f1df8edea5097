/*
 * bios-stubs: the real-mode interrupt handlers behind the interrupt
 * vector table of a direct kernel boot (-kernel without firmware).
 *
 * PC firmware leaves every IVT entry pointing at a handler, so a guest
 * that goes back to real mode (or virtual-8086 mode) and takes an
 * interrupt returns safely.  kvmpc's direct boot runs no firmware; it
 * maps this image at the start of the F segment (linear 0xf0000,
 * segment 0xf000, offset = link address) and points the IVT at it
 * (hw/i386/bios-rom.c, layout in docs/firmware.md):
 *   software vectors           a bare IRET
 *   IRQ 0-7  (vectors 08-0fh)  non-specific EOI to the master 8259, IRET
 *   IRQ 8-15 (vectors 70-77h)  non-specific EOI to the slave, then to the
 *                              master (the cascade input, IRQ 2), IRET
 * EOI is OCW2 with EOI=1 (0x20) written to port 0x20 / 0xa0 (Intel 8259A
 * datasheet, "Operation Command Words").  AX is saved: a real-mode
 * handler may clobber nothing.
 *
 * The image starts with a header the machine reads to find the handlers
 * and the slot for the F-segment copy of the ACPI RSDP (ACPI 6.4
 * 5.2.5.1: 16-byte aligned in 0xe0000-0xfffff; 36 bytes hold an ACPI 2.0
 * RSDP):
 *   0   8 bytes  "KVMPCIVT"
 *   8   u16      offset of the IRET handler
 *   10  u16      offset of the master EOI handler
 *   12  u16      offset of the slave EOI handler
 *   14  u16      offset of the RSDP slot
 *   16  u16      size of the RSDP slot
 *
 * 16-bit real mode, GNU as syntax; linked at offset 0 of segment 0xf000.
 */
        .code16
        .text

        .set PIC1_CMD,          0x20
        .set PIC2_CMD,          0xa0
        .set OCW2_EOI,          0x20
        .set RSDP_SLOT_SIZE,    36

        .globl  _start
_start:
        .ascii  "KVMPCIVT"
        .word   iret_handler
        .word   eoi_master_handler
        .word   eoi_slave_handler
        .word   rsdp_slot
        .word   RSDP_SLOT_SIZE

iret_handler:
        iret

eoi_master_handler:
        push    %ax
        mov     $OCW2_EOI, %al
        out     %al, $PIC1_CMD
        pop     %ax
        iret

eoi_slave_handler:
        push    %ax
        mov     $OCW2_EOI, %al
        out     %al, $PIC2_CMD
        out     %al, $PIC1_CMD
        pop     %ax
        iret

        .balign 16
rsdp_slot:
        .fill   RSDP_SLOT_SIZE, 1, 0

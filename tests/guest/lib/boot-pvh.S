/*
 * Xen PVH entry (the x86/HVM direct boot ABI): an ELF note
 * XEN_ELFNOTE_PHYS32_ENTRY (type 18, name "Xen") gives the 32-bit entry
 * point.  Entered in 32-bit protected mode, flat segments, paging off,
 * EBX = physical address of struct hvm_start_info.
 */
#include "asm-defs.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18

        .section .note.Xen, "a", @note
        .align  4
        .long   4                       /* namesz */
        .long   4                       /* descsz */
        .long   XEN_ELFNOTE_PHYS32_ENTRY
        .asciz  "Xen"
        .long   _start

        .section .boot.head, "ax"
        .code32
        .globl  _start
_start:
        mov     %ebx, boot_info_ptr
        movl    $BOOT_PVH, boot_protocol
        jmp     start32

        .section .note.GNU-stack, "", @progbits

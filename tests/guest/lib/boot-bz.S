/*
 * Linux x86 boot protocol entries of the protected-mode part of a bzImage
 * (mkbzimage.py puts the setup header and bzsetup.S in front of it).
 *
 *   load address + 0x000: 32-bit entry.  Protected mode, paging off,
 *       ESI = struct boot_params (the zero page).  bzsetup.S jumps here
 *       when a BIOS-based loader ran the real-mode setup code.
 *   load address + 0x200: 64-bit entry.  Long mode, identity paging by
 *       the loader, RSI = struct boot_params.
 */
#include "asm-defs.h"

        .section .boot.head, "ax"
        .code32
        .globl  _start
_start:
        cli
        mov     %esi, boot_info_ptr
        movl    $BOOT_LINUX32, boot_protocol
        jmp     start32

        .org    0x200
        .code64
        .globl  startup_64
startup_64:
        cli
        cld
        mov     %rsi, boot_info_ptr
        movl    $BOOT_LINUX64, boot_protocol
        lgdt    gdt_desc
        mov     $pml4, %eax
        mov     %rax, %cr3
        pushq   $KCODE64
        pushq   $start64
        lretq

        .section .note.GNU-stack, "", @progbits

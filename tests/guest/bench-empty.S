/*
 * bench-empty: the smallest Multiboot payload.  Its 32-bit entry writes 0
 * to isa-debug-exit (port 0xf4) at once: it measures the emulator's start
 * to exit, nothing else.  Exit status 1 ((0 << 1) | 1).
 */
#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x00000003

        .section .boot.head, "ax"
        .code32
        .align  4
        .long   MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
        .globl  _start
_start:
        mov     $0xf4, %dx
        xor     %eax, %eax
        out     %eax, %dx
1:      cli
        hlt
        jmp     1b

/* lib/link.ld always emits a writable segment; an empty one makes QEMU's
 * multiboot ELF loader fail ("Error while fetching elf kernel from rom"). */
        .bss
        .skip   16

        .section .note.GNU-stack, "", @progbits

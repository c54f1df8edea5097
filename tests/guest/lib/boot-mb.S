/*
 * Multiboot v1 entry.  The header asks for page-aligned modules and the
 * memory information.  Built twice: as an ELF (the loader takes the load
 * addresses from the program headers; QEMU wants it converted to ELF32)
 * and, with -DMB_AOUT_KLUDGE, as a flat binary whose header carries the
 * load addresses (flag bit 16, the "a.out kludge").
 */
#include "asm-defs.h"

#define MB_FLAG_PAGE_ALIGN  0x00000001
#define MB_FLAG_MEMINFO     0x00000002
#define MB_FLAG_AOUT_KLUDGE 0x00010000

#ifdef MB_AOUT_KLUDGE
#define MB_FLAGS (MB_FLAG_PAGE_ALIGN | MB_FLAG_MEMINFO | MB_FLAG_AOUT_KLUDGE)
#else
#define MB_FLAGS (MB_FLAG_PAGE_ALIGN | MB_FLAG_MEMINFO)
#endif

        .section .boot.head, "ax"
        .code32
        .align  4
mb_header:
        .long   MULTIBOOT_HEADER_MAGIC
        .long   MB_FLAGS
        .long   -(MULTIBOOT_HEADER_MAGIC + MB_FLAGS)
#ifdef MB_AOUT_KLUDGE
        .long   mb_header               /* header_addr */
        .long   __image_start           /* load_addr */
        .long   _edata                  /* load_end_addr */
        .long   _end                    /* bss_end_addr */
        .long   _start                  /* entry_addr */
#endif

        .globl  _start
_start:
        mov     %eax, boot_magic
        mov     %ebx, boot_info_ptr
        movl    $BOOT_MULTIBOOT, boot_protocol
        jmp     start32

        .section .note.GNU-stack, "", @progbits

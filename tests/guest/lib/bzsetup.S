/*
 * Real-mode setup code of the test bzImage, for loaders that run it
 * (BIOS-based ones such as QEMU's linuxboot option ROM: they enter at
 * setup segment + 0x20 : 0 in real mode, DS = ES = SS = setup segment).
 * Loaders that use the 64-bit entry never run it.
 *
 * mkbzimage.py places this code at offset 0x1000 of the setup area (it is
 * linked at 0x1000) and points the jump at 0x200 to it.  Offsets 0-0xfff
 * of the loaded setup area hold the boot sector and the setup header as
 * the loader patched them, and zeros elsewhere: that is the zero page
 * (struct boot_params) handed to the kernel.  This code fills in its
 * e820 table from INT 15h AX=E820h, enables A20, switches to 32-bit
 * protected mode (flat CS 0x10, DS 0x18, as the boot protocol wants) and
 * jumps to code32_start with ESI = the zero page.
 *
 * Code is position independent in CS (CS = DS + 0x20); data is addressed
 * through DS, whose offsets equal the link addresses.
 */
#define BP_E820_ENTRIES 0x1e8
#define BP_E820_TABLE   0x2d0
#define HDR_CODE32_START 0x214
#define SMAP 0x534d4150

        .code16
        .text
        .globl  _start
_start:
        cli
        cld
        mov     %ds, %ax
        mov     %ax, %es
        mov     %ax, %ss
        mov     $0x9000, %sp

        /* e820 */
        xor     %ebx, %ebx
        mov     $BP_E820_TABLE, %di
        xor     %si, %si
1:      mov     $0xe820, %eax
        mov     $SMAP, %edx
        mov     $20, %ecx
        int     $0x15
        jc      2f
        cmp     $SMAP, %eax
        jne     2f
        inc     %si
        add     $20, %di
        cmp     $128, %si
        jae     2f
        test    %ebx, %ebx
        jnz     1b
2:      mov     %si, %ax
        movb    %al, BP_E820_ENTRIES

        /* A20 through port 0x92 */
        inb     $0x92, %al
        or      $0x02, %al
        and     $0xfe, %al
        outb    %al, $0x92

        /* linear address of the zero page, of the GDT, and of the stack */
        xor     %eax, %eax
        mov     %ds, %ax
        shl     $4, %eax
        mov     %eax, %esi                      /* zero page */
        lea     gdt(%esi), %ecx
        mov     %ecx, gdt_desc + 2
        movzwl  %sp, %edi
        add     %esi, %edi                      /* flat stack pointer */
        mov     HDR_CODE32_START, %ebx
        lgdtl   gdt_desc

        mov     %cr0, %eax
        or      $1, %eax
        mov     %eax, %cr0
        mov     $0x18, %ax
        mov     %ax, %ds
        mov     %ax, %es
        mov     %ax, %fs
        mov     %ax, %gs
        mov     %ax, %ss
        mov     %edi, %esp                      /* SS is 32-bit now: ESP is used */
        pushl   $0x10
        pushl   %ebx
        xor     %ebx, %ebx
        xor     %edi, %edi
        xor     %ebp, %ebp
        lretl                                   /* to code32_start, 32-bit */

        .align  8
gdt:
        .quad   0
        .quad   0
        .quad   0x00cf9a000000ffff              /* 0x10: flat code, 32-bit */
        .quad   0x00cf92000000ffff              /* 0x18: flat data */
gdt_desc:
        .word   gdt_desc - gdt - 1
        .long   0                               /* patched: linear address of gdt */

        .section .note.GNU-stack, "", @progbits

/*
 * Guest runtime: common 32-bit entry, switch to long mode, GDT/TSS/page
 * tables, interrupt entry points, the CPL 0 call gate (int3), the drop to
 * CPL 3 and the application-processor trampoline.
 *
 * Every boot protocol entry (boot-mb.S, boot-bz.S, boot-pvh.S) stores the
 * protocol and its info pointer in boot_protocol / boot_info_ptr and jumps
 * to start32 (32-bit protected mode, paging off) or start64 (long mode).
 *
 * Work done here runs at CPL 0, which the development hosts emulate one
 * instruction at a time: keep it short.  Everything else happens at CPL 3.
 */
#include "asm-defs.h"

/* ------------------------------------------------------------------ */
/* 32-bit protected mode, paging off: enter long mode.                 */

.macro ENTER_LONG_MODE target
        mov     %cr4, %eax
        or      $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
        mov     %eax, %cr4
        mov     $pml4, %eax
        mov     %eax, %cr3
        mov     $MSR_EFER, %ecx
        rdmsr
        or      $EFER_LME, %eax
        wrmsr
        mov     %cr0, %eax
        and     $0x9fffffff, %eax               /* clear CD, NW */
        or      $(CR0_PG | CR0_WP | CR0_NE | CR0_MP | CR0_PE), %eax
        mov     %eax, %cr0
        ljmp    $KCODE64, $\target
.endm

        .text
        .code32
        .globl  start32
start32:
        cli
        cld
        lgdt    gdt_desc
        ljmp    $KCODE32, $1f
1:      mov     $KDATA, %eax
        mov     %eax, %ds
        mov     %eax, %es
        mov     %eax, %ss
        xor     %eax, %eax
        mov     %eax, %fs
        mov     %eax, %gs
        ENTER_LONG_MODE start64

/* ------------------------------------------------------------------ */
/* Long mode, BSP.  Entered from start32 or from a 64-bit boot entry   */
/* (which has loaded gdt_desc and pml4 already).                       */

        .code64
        .globl  start64
start64:
        mov     $KDATA, %eax
        mov     %eax, %ds
        mov     %eax, %es
        mov     %eax, %ss
        xor     %eax, %eax
        mov     %eax, %fs
        mov     %eax, %gs
        mov     $(kstacks + KSTACK_SIZE), %rsp
        xor     %ebp, %ebp
        call    bsp_start_cpl0                  /* does not return */
1:      cli
        hlt
        jmp     1b

/*
 * enter_user(entry, stack_top, arg): iretq to CPL 3 with interrupts off
 * and IOPL 3 (which PVM hosts ignore: port I/O is allowed there by the
 * all-zero TSS I/O bitmap); entry(arg) runs on stack_top.  Does not
 * return.
 */
        .globl  enter_user
enter_user:
        mov     %rdi, %rcx
        mov     %rdx, %rdi
        sub     $8, %rsi                        /* as if called: rsp = 8 mod 16 */
        movq    $0, (%rsi)                      /* returning jumps to 0 */
        pushq   $(UDATA | 3)
        pushq   %rsi
        pushq   $0x3002                         /* IOPL 3, IF 0 */
        pushq   $(UCODE64 | 3)
        pushq   %rcx
        mov     $(UDATA | 3), %eax
        mov     %eax, %ds
        mov     %eax, %es
        xor     %eax, %eax
        xor     %ebx, %ebx
        xor     %ecx, %ecx
        xor     %edx, %edx
        xor     %esi, %esi
        xor     %ebp, %ebp
        xor     %r8d, %r8d
        xor     %r9d, %r9d
        xor     %r10d, %r10d
        xor     %r11d, %r11d
        iretq

/* ------------------------------------------------------------------ */
/* Interrupt and exception entry points: 256 slots of 16 bytes.        */
/* Vectors with a CPU error code: 8, 10-14, 17, 21, 29, 30.            */

        .align  16
        .globl  isr_table
isr_table:
        .set    vec, 0
        .rept   256
        .align  16
        .if vec < 32
        .if ((0x60227d00 >> vec) & 1) == 0
        pushq   $0
        .endif
        pushq   $vec
        jmp     exc_common
        .else
        pushq   $vec
        jmp     irq_common
        .endif
        .set    vec, vec + 1
        .endr

/*
 * Exceptions: save everything, call exception_dispatch(frame).  It
 * returns only if a registered handler fixed the fault up.
 */
exc_common:
        push    %rax
        push    %rbx
        push    %rcx
        push    %rdx
        push    %rsi
        push    %rdi
        push    %rbp
        push    %r8
        push    %r9
        push    %r10
        push    %r11
        push    %r12
        push    %r13
        push    %r14
        push    %r15
        cld
        mov     %rsp, %rdi
        call    exception_dispatch
        pop     %r15
        pop     %r14
        pop     %r13
        pop     %r12
        pop     %r11
        pop     %r10
        pop     %r9
        pop     %r8
        pop     %rbp
        pop     %rdi
        pop     %rsi
        pop     %rdx
        pop     %rcx
        pop     %rbx
        pop     %rax
        add     $16, %rsp                       /* vector, error code */
        iretq

/*
 * Hardware interrupts: save the caller-saved registers only and call
 * irq_dispatch(vector).  Stack: 5-word frame + vector + 9 regs + pad.
 */
irq_common:
        push    %rax
        push    %rcx
        push    %rdx
        push    %rsi
        push    %rdi
        push    %r8
        push    %r9
        push    %r10
        push    %r11
        cld
        mov     72(%rsp), %rdi
        sub     $8, %rsp
        call    irq_dispatch
        add     $8, %rsp
        pop     %r11
        pop     %r10
        pop     %r9
        pop     %r8
        pop     %rdi
        pop     %rsi
        pop     %rdx
        pop     %rcx
        pop     %rax
        add     $8, %rsp
        iretq

/*
 * The CPL 0 call gate: int3 (vector 3, DPL 3 interrupt gate), the only
 * CPL 3 -> CPL 0 transition that works on the development hosts besides
 * faults (see cpl0_call() in guest.h).
 * rdx = GATE_MAGIC marks a call; any other int3 is reported as a #BP.
 * rax = GATE_STI / GATE_CLI: set / clear IF in the caller's RFLAGS.
 * Otherwise rax = ((uint64_t (*)(uint64_t, uint64_t))rax)(rdi, rsi), run
 * on the CPU's CPL 0 stack with interrupts off.
 */
        .globl  cpl0_gate
cpl0_gate:
        cmp     $GATE_MAGIC, %rdx
        jne     isr_table + 3 * 16              /* a stray int3: #BP */
        cmp     $2, %rax
        jbe     2f
        cld
        sub     $8, %rsp                        /* 5-word frame: realign to 16 */
        call    *%rax
        add     $8, %rsp
        iretq
2:      cmp     $1, %rax
        jne     3f
        orq     $0x200, 16(%rsp)
        iretq
3:      andq    $-0x201, 16(%rsp)
        iretq

/* ------------------------------------------------------------------ */
/* Application processors.                                             */
/*                                                                     */
/* ap_trampoline..ap_trampoline_end is copied to a page below 1 MiB    */
/* whose number is the SIPI vector.  It runs in real mode with CS set  */
/* to the page's segment and IP 0, loads the GDT and jumps to          */
/* ap_entry32 in the image.                                            */

        .code16
        .globl  ap_trampoline, ap_trampoline_end
ap_trampoline:
        cli
        cld
        mov     %cs, %ax
        mov     %ax, %ds
        lgdtl   (ap_tramp_gdt_desc - ap_trampoline)
        mov     %cr0, %eax
        or      $CR0_PE, %eax
        mov     %eax, %cr0
        ljmpl   $KCODE32, $ap_entry32
        .align  8
ap_tramp_gdt_desc:
        .word   gdt_end - gdt - 1
        .long   gdt
ap_trampoline_end:

        .code32
ap_entry32:
        mov     $KDATA, %eax
        mov     %eax, %ds
        mov     %eax, %es
        mov     %eax, %ss
        xor     %eax, %eax
        mov     %eax, %fs
        mov     %eax, %gs
        ENTER_LONG_MODE ap_entry64

        .code64
ap_entry64:
        mov     $KDATA, %eax
        mov     %eax, %ds
        mov     %eax, %es
        mov     %eax, %ss
        mov     $1, %eax
        lock xadd %eax, ap_next_index
        cmp     $MAX_CPUS, %eax
        jae     ap_park
        mov     %eax, %edi
        lea     1(%rax), %rcx
        imul    $KSTACK_SIZE, %rcx, %rcx
        add     $kstacks, %rcx
        mov     %rcx, %rsp
        xor     %ebp, %ebp
        call    ap_start_cpl0                   /* does not return */
ap_park:
        lock incl ap_parked
1:      cli
        hlt
        jmp     1b

/* ------------------------------------------------------------------ */
/* Data that CPL 0 code uses before the BSS is cleared (at CPL 3).     */

        .data
        .globl  boot_protocol, boot_info_ptr, boot_magic, ap_next_index, ap_parked
        .align  8
boot_info_ptr:  .quad 0
boot_protocol:  .long 0
boot_magic:     .long 0
ap_next_index:  .long 1
ap_parked:      .long 0

        .align  16
        .globl  gdt, gdt_end, gdt_desc
gdt:
        .quad   0                               /* null */
        .quad   0x00af9a000000ffff              /* 0x08 kernel code, 64-bit */
        .quad   0x00cf92000000ffff              /* 0x10 kernel data */
        .quad   0x00cf9a000000ffff              /* 0x18 kernel code, 32-bit */
        .quad   0x00cff2000000ffff              /* 0x20 user data */
        .quad   0x00affa000000ffff              /* 0x28 user code, 64-bit */
        .quad   0x00cffa000000ffff              /* 0x30 user code, 32-bit */
        .fill   2 * MAX_CPUS, 8, 0              /* 0x38 TSS descriptors */
gdt_end:

        .align  8
        .word   0, 0, 0                         /* so that the base is 8-aligned */
gdt_desc:
        .word   gdt_end - gdt - 1
        .quad   gdt

/* TSSs and the shared, all-zero I/O permission bitmap with its 0xff
 * terminator.  Kept in .data so that it is zero whatever the loader does
 * with the BSS. */
        .align  4096
        .globl  tss_area, iobitmap
tss_area:
        .fill   MAX_CPUS * TSS_STRIDE, 1, 0
iobitmap:
        .fill   IOBITMAP_SIZE, 1, 0
        .byte   0xff
        .align  16

        .align  4096
        .globl  idt
idt:
        .fill   256 * 16, 1, 0

/*
 * Page tables: identity map of the first 4 GiB with 2 MiB pages, user
 * accessible (U/S), writable.  0xc0000000-0xffffffff (PCI hole, IOAPIC,
 * HPET, LAPIC) is uncached (PCD|PWT).  More of the address space (RAM
 * above 4 GiB) is mapped at run time from CPL 3 by paging_map_range().
 */
        .section .data.pagetables, "aw"
        .align  4096
        .globl  pml4, pdpt, pd_low
pml4:
        .quad   pdpt + 0x7
        .fill   511, 8, 0
pdpt:
        .quad   pd_low + 0x0007
        .quad   pd_low + 0x1007
        .quad   pd_low + 0x2007
        .quad   pd_low + 0x3007
        .fill   508, 8, 0
pd_low:
        .set    pde, 0
        .rept   2048
        .if pde >= 0x600
        .quad   (pde << 21) | 0x9f              /* P RW US PWT PCD PS */
        .else
        .quad   (pde << 21) | 0x87              /* P RW US PS */
        .endif
        .set    pde, pde + 1
        .endr

/* Stacks: allocated, not cleared (they are in use while the BSS is). */
        .section .stack, "aw", @nobits
        .align  4096
        .globl  kstacks, istacks, ustacks
kstacks:
        .skip   MAX_CPUS * KSTACK_SIZE
istacks:
        .skip   MAX_CPUS * ISTACK_SIZE
ustacks:
        .skip   MAX_CPUS * USTACK_SIZE

        .section .note.GNU-stack, "", @progbits

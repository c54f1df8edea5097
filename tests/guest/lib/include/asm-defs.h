/*
 * Constants shared by the guest runtime's assembly and C code.
 * Only preprocessor definitions: this file is included from .S files.
 */
#ifndef GUEST_ASM_DEFS_H
#define GUEST_ASM_DEFS_H

/* GDT selectors (see gdt in start.S). */
#define KCODE64         0x08
#define KDATA           0x10
#define KCODE32         0x18
#define UDATA           0x20    /* DPL 3 */
#define UCODE64         0x28    /* DPL 3 */
#define UCODE32         0x30    /* DPL 3, unused */
#define TSS_SEL(cpu)    (0x38 + 16 * (cpu))

/* Per-CPU resources are statically sized. */
#define MAX_CPUS        16
#define KSTACK_SIZE     8192    /* CPL 0 stack (TSS.RSP0) */
#define ISTACK_SIZE     4096    /* IST1: double fault, NMI, machine check */
#define USTACK_SIZE     32768   /* CPL 3 stack */

/* TSS layout: MAX_CPUS TSSs of TSS_STRIDE bytes, then one shared I/O
 * permission bitmap (8 KiB of zeros plus the 0xff terminator). */
#define TSS_STRIDE      128
#define IOBITMAP_SIZE   8192

/* How the payload was entered (boot_protocol). */
#define BOOT_MULTIBOOT  1       /* Multiboot v1, EAX=0x2badb002, EBX=info */
#define BOOT_LINUX32    2       /* Linux boot protocol, 32-bit entry, ESI=zero page */
#define BOOT_LINUX64    3       /* Linux boot protocol, 64-bit entry, RSI=zero page */
#define BOOT_PVH        4       /* Xen PVH, EBX=hvm_start_info */

/* Interrupt vectors used by the runtime (vector 3, int3, is the CPL 0
 * call gate; tests use 0x30-0xef). */
#define PIC_VECTOR_BASE     0x20    /* PIC master 0x20-0x27, slave 0x28-0x2f */
#define GATE_MAGIC          0x47415445  /* RDX at an int3 meant as a gate call */
#define SPURIOUS_VECTOR     0xff    /* LAPIC spurious vector */

/* Control registers and MSRs. */
#define CR0_PE          0x00000001
#define CR0_MP          0x00000002
#define CR0_NE          0x00000020
#define CR0_WP          0x00010000
#define CR0_PG          0x80000000
#define CR4_PAE         0x00000020
#define CR4_OSFXSR      0x00000200
#define CR4_OSXMMEXCPT  0x00000400
#define MSR_EFER        0xc0000080
#define EFER_LME        0x00000100

/* Multiboot v1 */
#define MULTIBOOT_HEADER_MAGIC      0x1badb002
#define MULTIBOOT_BOOTLOADER_MAGIC  0x2badb002

/* Load address of every payload (and of a bzImage's protected-mode part). */
#define PAYLOAD_LOAD_ADDR   0x100000

#endif

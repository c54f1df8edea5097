/*
 * linuxboot: an option ROM that boots the Linux kernel kvmpc hands over
 * through fw_cfg (-kernel/-initrd/-append with -machine firmware-boot=on).
 *
 * The BIOS (SeaBIOS) finds this ROM in fw_cfg "genroms/", runs its init
 * entry (which only returns) and lists its bootstrap entry vector (BEV,
 * from the PnP expansion header) as a boot device; the "bootorder" file
 * puts it first.  When booted, the BEV:
 *   1. checks the fw_cfg signature and that the DMA interface exists;
 *   2. reads the addresses and sizes of the setup code, command line,
 *      kernel and initrd (fw_cfg keys 0x07-0x18, little-endian u32);
 *   3. copies each blob to its address with one fw_cfg DMA transfer
 *      (DMA writes guest-physical memory directly, so nothing here needs
 *      to leave real mode to reach memory above 1 MiB);
 *   4. enters the kernel's real-mode setup code the way a 16-bit boot
 *      loader does (Linux Documentation/arch/x86/boot.rst, "Running the
 *      Kernel"): all data segments and SS at the setup segment, the stack
 *      just below the command line, CS = setup segment + 0x20, IP = 0.
 * kvmpc has already filled the setup header (cmd_line_ptr, heap_end_ptr,
 * ramdisk_image/size, type_of_loader, CAN_USE_HEAP), so the ROM copies
 * bytes and jumps.  On any failure it prints a line through INT 10h and
 * returns to the BIOS, which tries the next boot device.
 *
 * Layouts: IBM PC option ROM header (55 AA, size in 512-byte blocks,
 * entry at offset 3), Plug and Play BIOS Specification 1.0A, section 3.3
 * (the "$PnP" expansion header, pointer at offset 0x1a), QEMU
 * docs/specs/fw_cfg.rst (ports and the DMA descriptor, big-endian).
 * signrom.py fills in the size byte and the checksums.
 *
 * 16-bit real mode, GNU as syntax; linked at offset 0 of the ROM segment.
 */
        .code16
        .text

        .set FW_CFG_PORT_SEL,   0x510
        .set FW_CFG_PORT_DATA,  0x511
        .set FW_CFG_PORT_DMA,   0x514

        .set FW_CFG_SIGNATURE,  0x00
        .set FW_CFG_ID,         0x01
        .set FW_CFG_KERNEL_ADDR, 0x07
        .set FW_CFG_KERNEL_SIZE, 0x08
        .set FW_CFG_INITRD_ADDR, 0x0a
        .set FW_CFG_INITRD_SIZE, 0x0b
        .set FW_CFG_KERNEL_DATA, 0x11
        .set FW_CFG_INITRD_DATA, 0x12
        .set FW_CFG_CMDLINE_ADDR, 0x13
        .set FW_CFG_CMDLINE_SIZE, 0x14
        .set FW_CFG_CMDLINE_DATA, 0x15
        .set FW_CFG_SETUP_ADDR, 0x16
        .set FW_CFG_SETUP_SIZE, 0x17
        .set FW_CFG_SETUP_DATA, 0x18

        .set FW_CFG_SIG_QEMU,   0x554d4551      /* "QEMU", little-endian */
        .set FW_CFG_VERSION_DMA, 0x02
        .set DMA_CTL_ERROR,     0x01
        .set DMA_CTL_READ,      0x02
        .set DMA_CTL_SELECT,    0x08

        .set SETUP_CS_OFFSET,   0x20            /* setup entry: seg + 0x20 */
        .set SETUP_ADDR_LIMIT,  0x90000         /* below the EBDA */
        .set STACK_GAP,         16              /* stack top below cmdline */
        .set SEGMENT_SIZE,      0x10000

        /* Stack frame (SS:BP) of the boot entry. */
        .set FR_DESC,           0               /* FWCfgDmaAccess, 16 bytes */
        .set FR_SETUP_ADDR,     16
        .set FR_SETUP_SIZE,     20
        .set FR_KERNEL_ADDR,    24
        .set FR_KERNEL_SIZE,    28
        .set FR_CMDLINE_ADDR,   32
        .set FR_CMDLINE_SIZE,   36
        .set FR_INITRD_ADDR,    40
        .set FR_INITRD_SIZE,    44
        .set FRAME_SIZE,        48

        .globl  _start
_start:
        .byte   0x55, 0xaa
        .byte   0                       /* size / 512: signrom.py */
        jmp     rom_init                /* offset 3: initialisation */

        .org    0x18
        .word   0                       /* no PCI data structure */
        .word   pnp_header              /* PnP expansion header */

        .balign 16
pnp_header:
        .ascii  "$PnP"
        .byte   0x01                    /* structure revision */
        .byte   2                       /* length: 2 x 16 bytes */
        .word   0                       /* next header: none */
        .byte   0                       /* reserved */
        .byte   0                       /* checksum: signrom.py */
        .long   0                       /* device identifier */
        .word   manufacturer
        .word   product
        .byte   0, 0, 0                 /* device type code */
        .byte   0                       /* device indicators */
        .word   0                       /* boot connection vector */
        .word   0                       /* disconnect vector */
        .word   boot_entry              /* bootstrap entry vector */
        .word   0                       /* reserved */
        .word   0                       /* static resource information */

/* The BIOS calls this once at POST; everything happens at boot time. */
rom_init:
        lret

/* Bootstrap entry vector: load the kernel and run it, or return. */
boot_entry:
        pushal
        push    %ds
        push    %es
        sub     $FRAME_SIZE, %sp
        mov     %sp, %bp
        cld
        call    check_fw_cfg
        jc      fail
        call    read_layout
        jc      fail
        call    load_blobs
        jc      fail
        jmp     start_kernel

fail:   /* %si: message in this segment */
        mov     %cs, %ax
        mov     %ax, %ds
        call    print
        add     $FRAME_SIZE, %sp
        pop     %es
        pop     %ds
        popal
        lret

/* CF set (and %si = message) unless fw_cfg with DMA is present. */
check_fw_cfg:
        mov     $FW_CFG_SIGNATURE, %ax
        call    read32
        cmp     $FW_CFG_SIG_QEMU, %eax
        jne     1f
        mov     $FW_CFG_ID, %ax
        call    read32
        test    $FW_CFG_VERSION_DMA, %eax
        jz      2f
        clc
        ret
1:      mov     $msg_no_fw_cfg, %si
        stc
        ret
2:      mov     $msg_no_dma, %si
        stc
        ret

/* Read the addresses and sizes into the frame; check the setup block. */
read_layout:
        xor     %bx, %bx                /* item: key and frame slot */
1:      movzbw  %cs:layout_keys(%bx), %ax
        call    read32
        mov     %bx, %si
        shl     $2, %si
        mov     %eax, FR_SETUP_ADDR(%bp,%si)
        inc     %bx
        cmp     $LAYOUT_ITEMS, %bx
        jb      1b

        mov     $msg_no_kernel, %si
        cmpl    $0, FR_KERNEL_SIZE(%bp)
        je      1f
        mov     FR_SETUP_ADDR(%bp), %eax
        test    $0xf, %eax              /* a segment boundary ... */
        jnz     1f
        cmp     $SETUP_ADDR_LIMIT, %eax /* ... in conventional memory */
        jae     1f
        mov     FR_SETUP_SIZE(%bp), %ecx
        test    %ecx, %ecx
        jz      1f
        cmp     $SEGMENT_SIZE, %ecx
        ja      1f
        mov     FR_CMDLINE_ADDR(%bp), %edx
        cmp     %eax, %edx              /* the stack goes below it */
        jbe     1f
        clc
        ret
1:      stc
        ret

/* Copy setup, command line, kernel and initrd to their addresses. */
load_blobs:
        mov     $msg_dma_error, %si
        mov     $FW_CFG_SETUP_DATA, %ax
        mov     FR_SETUP_ADDR(%bp), %edi
        mov     FR_SETUP_SIZE(%bp), %ecx
        call    dma_read
        jc      1f
        mov     $FW_CFG_CMDLINE_DATA, %ax
        mov     FR_CMDLINE_ADDR(%bp), %edi
        mov     FR_CMDLINE_SIZE(%bp), %ecx
        call    dma_read
        jc      1f
        mov     $FW_CFG_KERNEL_DATA, %ax
        mov     FR_KERNEL_ADDR(%bp), %edi
        mov     FR_KERNEL_SIZE(%bp), %ecx
        call    dma_read
        jc      1f
        mov     $FW_CFG_INITRD_DATA, %ax
        mov     FR_INITRD_ADDR(%bp), %edi
        mov     FR_INITRD_SIZE(%bp), %ecx
        call    dma_read
1:      ret

/*
 * Enter the setup code: DS = ES = FS = GS = SS = setup segment, SP just
 * below the command line (at most the top of the segment), then a far
 * return to setup segment + 0x20 : 0.
 */
start_kernel:
        mov     FR_SETUP_ADDR(%bp), %eax
        mov     FR_CMDLINE_ADDR(%bp), %edx
        sub     %eax, %edx
        cmp     $SEGMENT_SIZE, %edx
        jbe     1f
        mov     $SEGMENT_SIZE, %edx
1:      sub     $STACK_GAP, %edx
        shr     $4, %eax
        cli
        mov     %ax, %ds
        mov     %ax, %es
        mov     %ax, %fs
        mov     %ax, %gs
        mov     %ax, %ss
        mov     %dx, %sp
        add     $SETUP_CS_OFFSET, %ax
        push    %ax
        push    $0
        lret

/* %ax = key; returns the item's first 4 bytes (little-endian) in %eax. */
read32:
        push    %ebx
        push    %cx
        push    %dx
        mov     $FW_CFG_PORT_SEL, %dx
        out     %ax, %dx
        mov     $FW_CFG_PORT_DATA, %dx
        xor     %ebx, %ebx
        mov     $4, %cx
1:      in      %dx, %al
        shr     $8, %ebx
        movzbl  %al, %eax
        shl     $24, %eax
        or      %eax, %ebx
        loop    1b
        mov     %ebx, %eax
        pop     %dx
        pop     %cx
        pop     %ebx
        ret

/*
 * One DMA read: %ax = key, %edi = guest-physical destination, %ecx =
 * length (0: nothing to do).  The descriptor lives in the frame.  CF set
 * when the device reports an error.
 */
dma_read:
        test    %ecx, %ecx
        jz      3f
        movzwl  %ax, %eax
        shl     $16, %eax
        or      $(DMA_CTL_SELECT | DMA_CTL_READ), %eax
        bswap   %eax
        mov     %eax, FR_DESC(%bp)
        bswap   %ecx
        mov     %ecx, FR_DESC+4(%bp)
        movl    $0, FR_DESC+8(%bp)      /* address bits 63..32 */
        bswap   %edi
        mov     %edi, FR_DESC+12(%bp)
        xor     %eax, %eax              /* descriptor: SS * 16 + BP */
        mov     %ss, %ax
        shl     $4, %eax
        movzwl  %bp, %ebx
        add     %ebx, %eax
        bswap   %eax
        mov     %eax, %ebx
        xor     %eax, %eax
        mov     $FW_CFG_PORT_DMA, %dx
        out     %eax, %dx               /* high half: 0 */
        mov     %ebx, %eax
        add     $4, %dx
        out     %eax, %dx               /* low half: starts the transfer */
1:      mov     FR_DESC(%bp), %eax
        bswap   %eax
        test    $~DMA_CTL_ERROR, %eax   /* still in progress */
        jnz     1b
        test    $DMA_CTL_ERROR, %eax
        jz      3f
        stc
        ret
3:      clc
        ret

/* Print the NUL-terminated string at DS:SI through INT 10h teletype. */
print:
        lodsb
        test    %al, %al
        jz      1f
        mov     $0x0e, %ah
        mov     $0x0007, %bx
        int     $0x10
        jmp     print
1:      ret

/* The fw_cfg keys read_layout reads, in the order of the frame slots
 * FR_SETUP_ADDR .. FR_INITRD_SIZE (4 bytes each). */
layout_keys:
        .byte   FW_CFG_SETUP_ADDR, FW_CFG_SETUP_SIZE
        .byte   FW_CFG_KERNEL_ADDR, FW_CFG_KERNEL_SIZE
        .byte   FW_CFG_CMDLINE_ADDR, FW_CFG_CMDLINE_SIZE
        .byte   FW_CFG_INITRD_ADDR, FW_CFG_INITRD_SIZE
        .set    LAYOUT_ITEMS, . - layout_keys

manufacturer:
        .asciz  "kvmpc"
product:
        .asciz  "Linux loader (fw_cfg DMA)"
msg_no_fw_cfg:
        .asciz  "linuxboot: no fw_cfg device\r\n"
msg_no_dma:
        .asciz  "linuxboot: fw_cfg has no DMA interface\r\n"
msg_no_kernel:
        .asciz  "linuxboot: no usable kernel in fw_cfg\r\n"
msg_dma_error:
        .asciz  "linuxboot: fw_cfg DMA transfer failed\r\n"

        .section .note.GNU-stack, "", @progbits

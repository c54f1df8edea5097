/*
 * Linux bzImage loader (Linux Documentation/arch/x86/boot.rst, "The
 * Linux/x86 Boot Protocol", and zero-page.rst for struct boot_params).
 *
 * Needs protocol 2.06 or later (cmdline_size).  The protected-mode kernel
 * is loaded at 1 MiB and entered directly, skipping the real-mode setup:
 * through the 64-bit entry (load address + 0x200, long mode with identity
 * paging, RSI = zero page) when the kernel has XLF_KERNEL_64 (protocol
 * 2.12+), otherwise through the 32-bit entry (code32_start, flat protected
 * mode, ESI = zero page).  The initrd goes as high as initrd_addr_max and
 * the RAM below 4 GiB allow, 4 KiB aligned.  boot_params.acpi_rsdp_addr
 * (zero-page.rst, 0x070; outside the setup header, so set whatever the
 * protocol version) gets the RSDP the machine installed
 * (hw/i386/acpi-direct.c); kernels that do not read it scan for it.
 */
#include "qemu/osdep.h"
#include "hw/i386/x86-boot.h"

/* setup header offsets in the file and in the zero page (boot.rst) */
#define HDR_SETUP_SECTS     0x1f1
#define HDR_VID_MODE        0x1fa
#define HDR_JUMP            0x200
#define HDR_MAGIC           0x202
#define HDR_VERSION         0x206
#define HDR_TYPE_OF_LOADER  0x210
#define HDR_LOADFLAGS       0x211
#define HDR_CODE32_START    0x214
#define HDR_RAMDISK_IMAGE   0x218
#define HDR_RAMDISK_SIZE    0x21c
#define HDR_HEAP_END_PTR    0x224
#define HDR_CMD_LINE_PTR    0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_KERNEL_ALIGN    0x230
#define HDR_RELOCATABLE     0x234
#define HDR_XLOADFLAGS      0x236
#define HDR_CMDLINE_SIZE    0x238
#define HDR_PREF_ADDRESS    0x258
#define HDR_INIT_SIZE       0x260

/* zero page (zero-page.rst) */
#define BP_ACPI_RSDP_ADDR    0x070     /* u64, every protocol version */
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE  0x0c4
#define BP_EXT_CMD_LINE_PTR  0x0c8
#define BP_E820_ENTRIES      0x1e8
#define BP_E820_TABLE        0x2d0
#define BP_E820_MAX          128
#define BP_SIZE              4096

#define LOADED_HIGH         0x01
#define CAN_USE_HEAP        0x80
#define XLF_KERNEL_64       0x01

#define LINUX_LOAD_ADDR     0x100000ULL
#define HDRS_MAGIC          0x53726448u     /* "HdrS" */

bool linux_bzimage_probe(const KernelImage *img)
{
    return image_has(img, HDR_MAGIC, 4) &&
           ldl_le_p(img->data + HDR_MAGIC) == HDRS_MAGIC;
}

bool linux_parse_setup(const KernelImage *img, LinuxSetupInfo *info,
                       GError **errp)
{
    const uint8_t *d = img->data;

    memset(info, 0, sizeof(*info));
    if (!linux_bzimage_probe(img)) {
        error_setg(errp, "'%s' is not a Linux kernel image", img->path);
        return false;
    }
    info->protocol = image_has(img, HDR_VERSION, 2) ?
                     lduw_le_p(d + HDR_VERSION) : 0;
    if (info->protocol < 0x206) {
        error_setg(errp, "'%s': Linux boot protocol %x.%02x is too old "
                   "(kvmpc needs 2.06 or later)", img->path,
                   info->protocol >> 8, info->protocol & 0xff);
        return false;
    }
    if (!image_has(img, 0, HDR_INIT_SIZE + 4)) {
        error_setg(errp, "'%s': truncated Linux setup header", img->path);
        return false;
    }
    info->setup_sects = d[HDR_SETUP_SECTS] ? d[HDR_SETUP_SECTS] : 4;
    info->setup_size = (info->setup_sects + 1) * 512;
    if (info->setup_size >= img->size) {
        error_setg(errp, "'%s': Linux setup code (%u bytes) fills the whole "
                   "file", img->path, info->setup_size);
        return false;
    }
    info->kernel_offset = info->setup_size;
    info->kernel_size = img->size - info->setup_size;
    info->loadflags = d[HDR_LOADFLAGS];
    if (!(info->loadflags & LOADED_HIGH)) {
        error_setg(errp, "'%s': zImage kernels (loaded low) are not "
                   "supported", img->path);
        return false;
    }
    info->code32_start = ldl_le_p(d + HDR_CODE32_START);
    info->initrd_addr_max = ldl_le_p(d + HDR_INITRD_ADDR_MAX);
    info->kernel_alignment = ldl_le_p(d + HDR_KERNEL_ALIGN);
    info->relocatable = d[HDR_RELOCATABLE];
    info->cmdline_size = ldl_le_p(d + HDR_CMDLINE_SIZE);
    if (info->protocol >= 0x20a) {
        info->pref_address = ldq_le_p(d + HDR_PREF_ADDRESS);
        info->init_size = ldl_le_p(d + HDR_INIT_SIZE);
    }
    if (info->protocol >= 0x20c) {
        info->xloadflags = lduw_le_p(d + HDR_XLOADFLAGS);
    }
    return true;
}

/* Copy the setup header into the zero page (boot.rst: "0x0202 + byte
 * value at offset 0x0201" is its end). */
static bool copy_setup_header(const KernelImage *img, uint8_t *bp,
                              GError **errp)
{
    uint64_t end = HDR_MAGIC + (uint64_t)img->data[HDR_JUMP + 1];

    if (end > BP_E820_TABLE || !image_has(img, HDR_SETUP_SECTS,
                                          end - HDR_SETUP_SECTS)) {
        error_setg(errp, "'%s': bad Linux setup header length", img->path);
        return false;
    }
    memcpy(bp + HDR_SETUP_SECTS, img->data + HDR_SETUP_SECTS,
           end - HDR_SETUP_SECTS);
    return true;
}

static void fill_e820(uint8_t *bp)
{
    unsigned n;
    const E820Entry *t = e820_get_table(&n);

    n = MIN(n, (unsigned)BP_E820_MAX);
    bp[BP_E820_ENTRIES] = n;
    for (unsigned i = 0; i < n; i++) {
        uint8_t *e = bp + BP_E820_TABLE + i * 20;
        stq_le_p(e, t[i].addr);
        stq_le_p(e + 8, t[i].size);
        stl_le_p(e + 16, t[i].type);
    }
}

static bool place_cmdline(MachineState *ms, const KernelImage *img,
                          const LinuxSetupInfo *info, uint8_t *bp,
                          GError **errp)
{
    const char *cmdline = ms->kernel_cmdline ? ms->kernel_cmdline : "";
    size_t len = strlen(cmdline);

    if (len > info->cmdline_size || len >= X86_BOOT_CMDLINE_MAX) {
        error_setg(errp, "kernel command line too long for '%s' (%zu bytes, "
                   "at most %u)", img->path, len,
                   MIN(info->cmdline_size,
                       (uint32_t)X86_BOOT_CMDLINE_MAX - 1));
        return false;
    }
    stl_le_p(bp + HDR_CMD_LINE_PTR, X86_BOOT_CMDLINE_ADDR);
    stl_le_p(bp + BP_EXT_CMD_LINE_PTR, 0);
    return x86_boot_write(X86_BOOT_CMDLINE_ADDR, cmdline, len + 1,
                          "the kernel command line", errp);
}

/* The initrd as high as the kernel allows, above the kernel's footprint. */
static bool place_initrd(MachineState *ms, const LinuxSetupInfo *info,
                         uint8_t *bp, GError **errp)
{
    g_autofree uint8_t *data = NULL;
    size_t size;
    uint64_t max, addr, kernel_end;

    if (!ms->initrd_filename) {
        return true;
    }
    if (!x86_boot_read_file(ms->initrd_filename, "initrd", UINT32_MAX, &data,
                            &size, errp)) {
        return false;
    }
    if (x86_boot_ram_below_4g(ms) <= LINUX_LOAD_ADDR) {
        error_setg(errp, "no RAM above 1 MiB for initrd '%s'",
                   ms->initrd_filename);
        return false;
    }
    max = MIN((uint64_t)info->initrd_addr_max, 0xffffffffULL);
    max = MIN(max, x86_boot_ram_below_4g(ms) - 1);
    kernel_end = ALIGN_UP(LINUX_LOAD_ADDR +
                          MAX((uint64_t)info->kernel_size, info->init_size),
                          4096);
    if (size > max + 1 || ALIGN_DOWN(max + 1 - size, 4096) < kernel_end) {
        error_setg(errp, "initrd '%s' (%zu bytes) does not fit in guest RAM "
                   "below 0x%" PRIx64, ms->initrd_filename, size, max + 1);
        return false;
    }
    addr = ALIGN_DOWN(max + 1 - size, 4096);
    if (!x86_boot_ram_range_ok(ms, addr, size)) {
        error_setg(errp, "initrd '%s' would overlap reserved memory at 0x%"
                   PRIx64, ms->initrd_filename, addr);
        return false;
    }
    stl_le_p(bp + HDR_RAMDISK_IMAGE, addr);
    stl_le_p(bp + HDR_RAMDISK_SIZE, size);
    stl_le_p(bp + BP_EXT_RAMDISK_IMAGE, 0);
    stl_le_p(bp + BP_EXT_RAMDISK_SIZE, 0);
    return x86_boot_write(addr, data, size, "the initrd", errp);
}

static bool load_protected_mode_kernel(MachineState *ms,
                                       const KernelImage *img,
                                       const LinuxSetupInfo *info,
                                       GError **errp)
{
    if (!x86_boot_ram_range_ok(ms, LINUX_LOAD_ADDR, info->kernel_size)) {
        error_setg(errp, "'%s': the kernel (%u bytes) does not fit in guest "
                   "RAM at 1 MiB", img->path, info->kernel_size);
        return false;
    }
    return x86_boot_write(LINUX_LOAD_ADDR, img->data + info->kernel_offset,
                          info->kernel_size, "the kernel", errp);
}

static void set_entry(const LinuxSetupInfo *info)
{
    bool entry64 = info->protocol >= 0x20c &&
                   (info->xloadflags & XLF_KERNEL_64);

    x86_boot_entry.rsi = X86_BOOT_INFO_ADDR;
    x86_boot_entry.rax = x86_boot_entry.rbx = 0;
    if (entry64) {
        x86_boot_entry.mode = X86_BOOT_LONG64;
        x86_boot_entry.rip = LINUX_LOAD_ADDR + 0x200;
    } else {
        /* 32-bit protocol: code32_start, which the kernel expects at the
         * address it is loaded at (1 MiB for bzImage) */
        x86_boot_entry.mode = X86_BOOT_PROT32;
        x86_boot_entry.rip = LINUX_LOAD_ADDR;
    }
}

bool linux_bzimage_load(MachineState *ms, const KernelImage *img,
                        GError **errp)
{
    LinuxSetupInfo info;
    g_autofree uint8_t *bp = g_malloc0(BP_SIZE);
    bool entry64;

    if (!linux_parse_setup(img, &info, errp) ||
        !copy_setup_header(img, bp, errp)) {
        return false;
    }
    entry64 = info.protocol >= 0x20c && (info.xloadflags & XLF_KERNEL_64);
    bp[HDR_TYPE_OF_LOADER] = 0xff;      /* "undefined" boot loader */
    bp[HDR_LOADFLAGS] = (info.loadflags | CAN_USE_HEAP);
    stw_le_p(bp + HDR_HEAP_END_PTR, 0xfe00);
    stw_le_p(bp + HDR_VID_MODE, 0xffff);    /* "normal" */
    stl_le_p(bp + HDR_CODE32_START, LINUX_LOAD_ADDR);
    fill_e820(bp);
    stq_le_p(bp + BP_ACPI_RSDP_ADDR, x86_boot_acpi_rsdp);
    if (!load_protected_mode_kernel(ms, img, &info, errp) ||
        !place_cmdline(ms, img, &info, bp, errp) ||
        !place_initrd(ms, &info, bp, errp) ||
        !x86_boot_write(X86_BOOT_INFO_ADDR, bp, BP_SIZE, "the zero page",
                        errp) ||
        !x86_boot_write_gdt(&x86_boot_entry, entry64, errp) ||
        (entry64 && !x86_boot_write_identity_map(&x86_boot_entry, errp))) {
        return false;
    }
    set_entry(&info);
    return true;
}

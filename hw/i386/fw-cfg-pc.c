/*
 * The pc machine's firmware interface: the fw_cfg device and everything it
 * carries for SeaBIOS (or another QEMU-aware firmware).
 *
 * Spec and reference behaviour:
 *   QEMU docs/specs/fw_cfg.rst (items and files), QEMU 7.2's
 *   hw/i386/fw_cfg.c, hw/nvram/fw_cfg.c and softmmu/vl.c for which items
 *   the pc machine provides and the -fw_cfg/-boot rules; SeaBIOS
 *   src/fw/paravirt.c (qemu_cfg_init: FW_CFG_NOGRAPHIC turns on its serial
 *   console "sercon" on COM1 unless etc/sercon-port says otherwise),
 *   src/boot.c (bootorder, etc/boot-menu-wait, etc/boot-fail-wait);
 *   Linux Documentation/arch/x86/boot.rst (the setup header fields a
 *   16-bit boot loader fills, for -kernel through the firmware).
 *
 * Items: signature, ID, UUID, RAM size, NOGRAPHIC, NB_CPUS, MAX_CPUS
 * (APIC ID limit), NUMA (node count, node per APIC ID, node sizes),
 * BOOT_MENU, IRQ0_OVERRIDE, legacy E820
 * (empty) and HPET; files: etc/e820, bootorder, bios-geometry,
 * etc/boot-fail-wait, etc/boot-menu-wait (splash-time), etc/system-states,
 * the ACPI tables and their loader script (and etc/vmgenid_guid with
 * -device vmgenid), the SMBIOS tables and anchor,
 * genroms/ option ROMs, bootsplash, and -fw_cfg user files.  The ACPI and
 * SMBIOS tables and the boot order are rebuilt at every reset, so they
 * describe devices added after machine init (-device) too.
 */
#include "qemu/osdep.h"
#include "qemu/keyval.h"
#include "hw/boards.h"
#include "hw/i386/pc.h"
#include "hw/i386/pc-layout.h"
#include "hw/i386/x86.h"
#include "hw/i386/acpi-build.h"
#include "hw/acpi/vmgenid.h"
#include "hw/acpi/piix4-pm.h"
#include "hw/pci-host/q35.h"
#include "hw/nvram/fw_cfg.h"
#include "hw/smbios/smbios.h"
#include "system/runstate.h"
#include "system/numa.h"
#include "target/i386/cpu.h"
#include <cpuid.h>

#define KVM_IDENTITY_BASE       0xfeffc000ULL   /* KVM's TSS + identity map */
#define KVM_IDENTITY_SIZE       0x4000
#define E820_FW_CFG_ENTRY_SIZE  20              /* le64 addr, le64 len, le32 */
#define AMD_HT_START            0xfd00000000ULL /* HyperTransport window */
#define AMD_HT_SIZE             0x300000000ULL
#define AMD_HT_MIN_PHYS_BITS    40
#define FW_CFG_NAME_MAX         (FW_CFG_MAX_FILE_PATH - 1)
#define BOOT_MENU_WAIT_MAX      0xffff
#define REBOOT_TIMEOUT_MAX      0xffff
#define LINUXBOOT_ROM_FILE      "linuxboot.bin"
#define LINUXBOOT_FW_CFG_NAME   "genroms/linuxboot.bin"
#define OPTION_ROM_MAX_SIZE     (16 * MiB)

/* ---- linuxboot: the 16-bit boot protocol (boot.rst) ---------------------- */

#define LX_SETUP_SECTS      0x1f1
#define LX_HEADER           0x202
#define LX_VERSION          0x206
#define LX_TYPE_OF_LOADER   0x210
#define LX_LOADFLAGS        0x211
#define LX_RAMDISK_IMAGE    0x218
#define LX_RAMDISK_SIZE     0x21c
#define LX_HEAP_END_PTR     0x224
#define LX_CMD_LINE_PTR     0x228
#define LX_INITRD_ADDR_MAX  0x22c
#define LX_CMDLINE_SIZE     0x238
#define LX_HEADER_END       0x268
#define LX_HDRS_MAGIC       0x53726448      /* "HdrS" */
#define LX_LOADED_HIGH      0x01
#define LX_CAN_USE_HEAP     0x80
#define LX_LOADER_QEMU      0xb0            /* type 0xB (QEMU), version 0 */
#define LX_REAL_ADDR        0x10000         /* setup (real-mode) code */
#define LX_CMDLINE_ADDR     0x20000
#define LX_PROT_ADDR        0x100000        /* bzImage protected-mode part */
#define LX_REAL_MAX         0xfe00          /* setup + heap in one segment */
#define LX_HEAP_GAP         0x200           /* between heap end and cmdline */
#define LX_OLD_CMDLINE_MAX  255
#define LX_OLD_INITRD_MAX   0x37ffffff
#define LX_FW_RESERVED      0x28000         /* firmware tables at top of RAM */
#define LX_PAGE_MASK        (~(uint64_t)4095)

/* -kernel for the firmware path: the blobs and where they go. */
typedef struct LinuxBootPlan {
    uint8_t *setup;         /* patched setup sectors */
    uint32_t setup_size;
    uint32_t real_addr, cmdline_addr, prot_addr, initrd_addr;
    const uint8_t *kernel;  /* protected-mode part, in the file buffer */
    uint32_t kernel_size;
} LinuxBootPlan;

/* The setup header of a bzImage a 16-bit loader can boot: its protocol. */
static bool linuxboot_check_header(const uint8_t *k, size_t ksize,
                                   const char *path, uint16_t *protocol,
                                   GError **errp)
{
    if (ksize < LX_HEADER_END || ldl_le_p(k + LX_HEADER) != LX_HDRS_MAGIC) {
        error_setg(errp, "firmware-boot: '%s' is not a Linux bzImage "
                   "(firmware-boot=on boots bzImage kernels only)", path);
        return false;
    }
    *protocol = lduw_le_p(k + LX_VERSION);
    if (*protocol < 0x202 || !(k[LX_LOADFLAGS] & LX_LOADED_HIGH)) {
        error_setg(errp, "firmware-boot: '%s': Linux boot protocol %x.%02x "
                   "is too old (2.02 bzImage needed)", path, *protocol >> 8,
                   *protocol & 0xff);
        return false;
    }
    return true;
}

/* Initrd at the top of what both the kernel and the firmware allow. */
static bool linuxboot_place_initrd(const uint8_t *k, uint16_t protocol,
                                   uint64_t initrd_size, uint64_t below_4g,
                                   LinuxBootPlan *p, GError **errp)
{
    uint64_t kernel_end = LX_PROT_ADDR + (uint64_t)p->kernel_size;
    uint64_t max = protocol >= 0x203 ? ldl_le_p(k + LX_INITRD_ADDR_MAX)
                                     : LX_OLD_INITRD_MAX;

    p->initrd_addr = 0;
    if (!initrd_size) {
        return true;
    }
    max = MIN(max, below_4g - LX_FW_RESERVED - 1);
    if (initrd_size > max ||
        ((max - initrd_size) & LX_PAGE_MASK) < kernel_end) {
        error_setg(errp, "firmware-boot: initrd (%" PRIu64 " bytes) does not "
                   "fit below 0x%" PRIx64 " with the kernel", initrd_size,
                   max);
        return false;
    }
    p->initrd_addr = (max - initrd_size) & LX_PAGE_MASK;
    return true;
}

/* The setup sectors as the loader hands them over (boot.rst fields). */
static void linuxboot_patch_setup(const uint8_t *k, uint64_t initrd_size,
                                  LinuxBootPlan *p)
{
    p->setup = g_memdup2(k, p->setup_size);
    p->setup[LX_TYPE_OF_LOADER] = LX_LOADER_QEMU;
    p->setup[LX_LOADFLAGS] |= LX_CAN_USE_HEAP;
    stw_le_p(p->setup + LX_HEAP_END_PTR,
             p->cmdline_addr - p->real_addr - LX_HEAP_GAP);
    stl_le_p(p->setup + LX_CMD_LINE_PTR, p->cmdline_addr);
    stl_le_p(p->setup + LX_RAMDISK_IMAGE, p->initrd_addr);
    stl_le_p(p->setup + LX_RAMDISK_SIZE, initrd_size);
}

/*
 * Where a 16-bit boot loader puts a bzImage (protocol 2.02+, loaded high)
 * in @below_4g bytes of RAM, and the setup header it hands over.  Pure;
 * every field of the file is checked before use.
 */
static bool linuxboot_plan(const uint8_t *k, size_t ksize, const char *path,
                           const char *cmdline, uint64_t initrd_size,
                           uint64_t below_4g, LinuxBootPlan *p,
                           GError **errp)
{
    uint16_t protocol;
    uint64_t cmdline_max;
    unsigned sects;

    if (!linuxboot_check_header(k, ksize, path, &protocol, errp)) {
        return false;
    }
    sects = k[LX_SETUP_SECTS] ? k[LX_SETUP_SECTS] : 4;
    p->setup_size = (sects + 1) * 512;
    if (p->setup_size >= ksize || p->setup_size > LX_REAL_MAX) {
        error_setg(errp, "firmware-boot: '%s': bad setup size %u", path,
                   p->setup_size);
        return false;
    }
    cmdline_max = protocol >= 0x206 ? ldl_le_p(k + LX_CMDLINE_SIZE)
                                    : LX_OLD_CMDLINE_MAX;
    if (strlen(cmdline) > cmdline_max) {
        error_setg(errp, "firmware-boot: kernel command line too long "
                   "(%zu bytes, '%s' takes %" PRIu64 ")", strlen(cmdline),
                   path, cmdline_max);
        return false;
    }
    p->real_addr = LX_REAL_ADDR;
    p->cmdline_addr = LX_CMDLINE_ADDR;
    p->prot_addr = LX_PROT_ADDR;
    p->kernel = k + p->setup_size;
    p->kernel_size = ksize - p->setup_size;
    if (below_4g < LX_PROT_ADDR + (uint64_t)p->kernel_size + LX_FW_RESERVED) {
        error_setg(errp, "firmware-boot: '%s' does not fit in RAM", path);
        return false;
    }
    if (!linuxboot_place_initrd(k, protocol, initrd_size, below_4g, p,
                                errp)) {
        return false;
    }
    linuxboot_patch_setup(k, initrd_size, p);
    return true;
}

/* ---- files on disk -------------------------------------------------------- */

static bool read_whole_file(const char *path, const char *what,
                            uint64_t max, char **data, gsize *size,
                            GError **errp)
{
    GError *err = NULL;

    if (!g_file_get_contents(path, data, size, &err)) {
        error_setg(errp, "could not open %s '%s': %s", what, path,
                   err->code == G_FILE_ERROR_NOENT ?
                   "No such file or directory" : err->message);
        g_error_free(err);
        return false;
    }
    if (max && *size > max) {
        error_setg(errp, "%s '%s' is too large (%zu bytes)", what, path,
                   (size_t)*size);
        g_free(*data);
        *data = NULL;
        return false;
    }
    return true;
}

/* A ROM named without a directory: -L dirs, next to the binary, datadir. */
static char *find_rom(const char *name)
{
    g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
    g_autofree char *exedir = exe ? g_path_get_dirname(exe) : NULL;
    g_autoptr(GPtrArray) dirs = g_ptr_array_new_with_free_func(g_free);

    if (strchr(name, '/') || g_file_test(name, G_FILE_TEST_EXISTS)) {
        return g_strdup(name);
    }
    for (unsigned i = 0; pc_config.firmware_dirs &&
                         pc_config.firmware_dirs[i]; i++) {
        g_ptr_array_add(dirs, g_strdup(pc_config.firmware_dirs[i]));
    }
    if (exedir) {
        g_ptr_array_add(dirs, g_build_filename(exedir, "pc-bios",
                                               "optionrom", NULL));
        g_ptr_array_add(dirs, g_build_filename(exedir, "..", "share",
                                               "kvmpc", NULL));
    }
    g_ptr_array_add(dirs, g_strdup(PC_DEFAULT_FIRMWARE_DIR));
    g_ptr_array_add(dirs, g_strdup("/usr/share/qemu"));
    for (unsigned i = 0; i < dirs->len; i++) {
        char *path = g_build_filename(g_ptr_array_index(dirs, i), name, NULL);
        if (g_file_test(path, G_FILE_TEST_EXISTS)) {
            return path;
        }
        g_free(path);
    }
    return g_strdup(name);
}

/* ---- -boot ---------------------------------------------------------------- */

typedef struct PcBootOptions {
    bool menu;
    int64_t splash_time;        /* -1: not given */
    int64_t reboot_timeout;     /* -1: never */
    bool strict;
    char *splash;               /* image file for the boot splash */
} PcBootOptions;

static bool parse_boot_int(const char *key, const char *v, int64_t min,
                           int64_t max, int64_t *out, GError **errp)
{
    char *end;
    long long n;

    errno = 0;
    n = strtoll(v, &end, 0);
    if (errno || end == v || *end || n < min || n > max) {
        error_setg(errp, "-boot %s=%s: %s is invalid, it should be a value "
                   "between %" PRId64 " and %" PRId64, key, v, key, min, max);
        return false;
    }
    *out = n;
    return true;
}

static bool parse_boot_pair(PcBootOptions *b, const KeyValPair *p,
                            GError **errp)
{
    GError *err = NULL;

    if (!strcmp(p->key, "order") || !strcmp(p->key, "once")) {
        return true;            /* CMOS boot order: hw/i386/pc-isa.c */
    }
    if (!strcmp(p->key, "menu") || !strcmp(p->key, "strict")) {
        if (!parse_bool(p->value, !strcmp(p->key, "menu") ? &b->menu
                                                          : &b->strict,
                        &err)) {
            error_setg(errp, "-boot %s=%s: %s", p->key, p->value,
                       err->message);
            g_error_free(err);
            return false;
        }
        return true;
    }
    if (!strcmp(p->key, "splash-time")) {
        return parse_boot_int(p->key, p->value, 0, BOOT_MENU_WAIT_MAX,
                              &b->splash_time, errp);
    }
    if (!strcmp(p->key, "reboot-timeout")) {
        return parse_boot_int(p->key, p->value, -1, REBOOT_TIMEOUT_MAX,
                              &b->reboot_timeout, errp);
    }
    if (!strcmp(p->key, "splash")) {
        g_free(b->splash);
        b->splash = g_strdup(p->value);
        return true;
    }
    error_setg(errp, "-boot %s: Invalid parameter '%s'", p->key, p->key);
    return false;
}

static bool parse_boot_options(MachineState *ms, PcBootOptions *b,
                               GError **errp)
{
    g_autoptr(GPtrArray) kv = NULL;

    *b = (PcBootOptions){ .splash_time = -1, .reboot_timeout = -1 };
    if (!ms->boot_order) {
        return true;
    }
    kv = keyval_parse_list(ms->boot_order, "order", errp);
    if (!kv) {
        return false;
    }
    for (unsigned i = 0; i < kv->len; i++) {
        if (!parse_boot_pair(b, g_ptr_array_index(kv, i), errp)) {
            return false;
        }
    }
    ms->boot_menu = b->menu;
    ms->boot_splash_time = b->splash_time;
    ms->boot_strict = b->strict;
    return true;
}

/* bootsplash.bmp / bootsplash.jpg, by the image's magic (as QEMU). */
static bool add_boot_splash(FWCfgState *s, const char *path, GError **errp)
{
    g_autofree char *data = NULL;
    gsize size;
    const char *name;

    if (!read_whole_file(path, "boot splash file", OPTION_ROM_MAX_SIZE,
                         &data, &size, errp)) {
        return false;
    }
    if (size >= 2 && data[0] == 'B' && data[1] == 'M') {
        name = "bootsplash.bmp";
    } else if (size >= 2 && (uint8_t)data[0] == 0xff &&
               (uint8_t)data[1] == 0xd8) {
        name = "bootsplash.jpg";
    } else {
        error_setg(errp, "-boot splash=%s: only BMP and JPEG images are "
                   "supported", path);
        return false;
    }
    return fw_cfg_add_file(s, name, data, size, errp);
}

static bool add_boot_files(FWCfgState *s, const PcBootOptions *b,
                           GError **errp)
{
    uint8_t fail_wait[4], menu_wait[2];

    fw_cfg_add_i16(s, FW_CFG_BOOT_MENU, b->menu);
    stl_le_p(fail_wait, (uint32_t)b->reboot_timeout);
    if (!fw_cfg_add_file(s, "etc/boot-fail-wait", fail_wait,
                         sizeof(fail_wait), errp)) {
        return false;
    }
    if (b->splash_time >= 0) {
        stw_le_p(menu_wait, b->splash_time);
        if (!fw_cfg_add_file(s, "etc/boot-menu-wait", menu_wait,
                             sizeof(menu_wait), errp)) {
            return false;
        }
    }
    fw_boot_order_set_strict(b->strict);
    return !b->splash || add_boot_splash(s, b->splash, errp);
}

/* ---- -fw_cfg ------------------------------------------------------------ */

static bool add_user_item(FWCfgState *s, const char *arg, GError **errp)
{
    g_autoptr(GHashTable) kv = keyval_parse(arg, "name", NULL);
    const char *name, *file, *str;
    g_autofree char *data = NULL;
    gsize size;
    GError *err = NULL;

    if (!kv) {
        error_setg(errp, "-fw_cfg %s: invalid option string", arg);
        return false;
    }
    name = g_hash_table_lookup(kv, "name");
    file = g_hash_table_lookup(kv, "file");
    str = g_hash_table_lookup(kv, "string");
    if (g_hash_table_lookup(kv, "gen_id")) {
        error_setg(errp, "-fw_cfg %s: gen_id is not supported", arg);
        return false;
    }
    if (!name || !!file + !!str != 1) {
        error_setg(errp, "-fw_cfg %s: name, plus exactly one of file and "
                   "string, are needed", arg);
        return false;
    }
    if (strlen(name) > FW_CFG_NAME_MAX) {
        error_setg(errp, "-fw_cfg %s: name too long (max. %d char)", arg,
                   FW_CFG_NAME_MAX);
        return false;
    }
    if (strncmp(name, "opt/", 4)) {
        fprintf(stderr, "kvmpc: warning: externally provided fw_cfg item "
                "names should be prefixed with \"opt/\"\n");
    }
    if (str) {
        data = g_strdup(str);
        size = strlen(str);     /* no NUL, as QEMU */
    } else if (!read_whole_file(file, "fw_cfg file", 0, &data, &size,
                                &err)) {
        error_setg(errp, "-fw_cfg %s: %s", arg, err->message);
        g_error_free(err);
        return false;
    }
    if (!fw_cfg_add_file(s, name, data, size, &err)) {
        error_setg(errp, "-fw_cfg %s: %s", arg, err->message);
        g_error_free(err);
        return false;
    }
    return true;
}

/* ---- -option-rom -------------------------------------------------------- */

static bool add_option_rom(FWCfgState *s, const char *arg, GError **errp)
{
    g_autoptr(GHashTable) kv = keyval_parse(arg, "romfile", errp);
    const char *rom, *idx;
    g_autofree char *path = NULL;
    g_autofree char *base = NULL;
    g_autofree char *fwname = NULL;
    g_autofree char *data = NULL;
    uint64_t bootindex = 0;
    gsize size;

    if (!kv || !(rom = g_hash_table_lookup(kv, "romfile"))) {
        error_setg(errp, "-option-rom %s: missing ROM file name", arg);
        return false;
    }
    idx = g_hash_table_lookup(kv, "bootindex");
    if (idx && (!parse_uint(idx, &bootindex, NULL) ||
                bootindex > INT32_MAX)) {
        error_setg(errp, "-option-rom %s: invalid bootindex '%s'", arg, idx);
        return false;
    }
    path = find_rom(rom);
    if (!read_whole_file(path, "option rom", OPTION_ROM_MAX_SIZE, &data,
                         &size, errp)) {
        return false;
    }
    base = g_path_get_basename(path);
    fwname = g_strdup_printf("genroms/%s", base);
    if (!fw_cfg_add_file(s, fwname, data, size, errp)) {
        return false;
    }
    if (idx) {
        g_autofree char *of = g_strdup_printf("/rom@%s", fwname);
        fw_boot_order_add(bootindex, of);
    }
    return true;
}

/* ---- -kernel through the firmware --------------------------------------- */

static void add_linuxboot_items(FWCfgState *s, const LinuxBootPlan *p,
                                const char *cmdline, const uint8_t *initrd,
                                size_t initrd_size)
{
    fw_cfg_add_i32(s, FW_CFG_SETUP_ADDR, p->real_addr);
    fw_cfg_add_i32(s, FW_CFG_SETUP_SIZE, p->setup_size);
    fw_cfg_add_bytes(s, FW_CFG_SETUP_DATA, p->setup, p->setup_size);
    fw_cfg_add_i32(s, FW_CFG_KERNEL_ADDR, p->prot_addr);
    fw_cfg_add_i32(s, FW_CFG_KERNEL_SIZE, p->kernel_size);
    fw_cfg_add_bytes(s, FW_CFG_KERNEL_DATA, p->kernel, p->kernel_size);
    fw_cfg_add_i32(s, FW_CFG_CMDLINE_ADDR, p->cmdline_addr);
    fw_cfg_add_i32(s, FW_CFG_CMDLINE_SIZE, strlen(cmdline) + 1);
    fw_cfg_add_string(s, FW_CFG_CMDLINE_DATA, cmdline);
    if (initrd_size) {
        fw_cfg_add_i32(s, FW_CFG_INITRD_ADDR, p->initrd_addr);
        fw_cfg_add_i32(s, FW_CFG_INITRD_SIZE, initrd_size);
        fw_cfg_add_bytes(s, FW_CFG_INITRD_DATA, initrd, initrd_size);
    }
}

static bool add_linuxboot_rom(FWCfgState *s, GError **errp)
{
    g_autofree char *path = find_rom(LINUXBOOT_ROM_FILE);
    g_autofree char *rom = NULL;
    gsize size;

    if (!read_whole_file(path, "option rom", OPTION_ROM_MAX_SIZE, &rom,
                         &size, errp) ||
        !fw_cfg_add_file(s, LINUXBOOT_FW_CFG_NAME, rom, size, errp)) {
        return false;
    }
    fw_boot_order_add(0, "/rom@" LINUXBOOT_FW_CFG_NAME);
    return true;
}

static bool add_linuxboot(MachineState *ms, FWCfgState *s, GError **errp)
{
    g_autofree char *kernel = NULL;
    g_autofree char *initrd = NULL;
    gsize ksize, isize = 0;
    const char *cmdline = ms->kernel_cmdline ? ms->kernel_cmdline : "";
    LinuxBootPlan plan = { 0 };
    bool ok;

    if (!read_whole_file(ms->kernel_filename, "kernel", 0, &kernel, &ksize,
                         errp)) {
        return false;
    }
    if (ms->initrd_filename &&
        !read_whole_file(ms->initrd_filename, "initrd", 0, &initrd, &isize,
                         errp)) {
        return false;
    }
    if (ksize > UINT32_MAX || isize > UINT32_MAX) {
        error_setg(errp, "firmware-boot: kernel or initrd larger than 4 GiB");
        return false;
    }
    ok = linuxboot_plan((const uint8_t *)kernel, ksize, ms->kernel_filename,
                        cmdline, isize, ms->below_4g_mem_size, &plan, errp);
    if (ok) {
        add_linuxboot_items(s, &plan, cmdline, (const uint8_t *)initrd,
                            isize);
        ok = add_linuxboot_rom(s, errp);
    }
    g_free(plan.setup);
    return ok;
}

/* ---- machine items ------------------------------------------------------ */

/* The guest's CPU vendor is AMD (the -cpu model or its vendor= override). */
static bool guest_cpu_is_amd(void)
{
    const X86CPUConfig *cfg = x86_cpu_current_config();
    unsigned eax, ebx = 0, ecx = 0, edx = 0;
    char vendor[13] = { 0 };

    if (cfg->vendor[0]) {
        return !strcmp(cfg->vendor, "AuthenticAMD");
    }
    if (strcmp(cfg->model, "host") && strcmp(cfg->model, "max")) {
        return true;        /* qemu64 is an AMD model, as in QEMU */
    }
    __get_cpuid(0, &eax, &ebx, &ecx, &edx);
    memcpy(vendor, &ebx, 4);
    memcpy(vendor + 4, &edx, 4);
    memcpy(vendor + 8, &ecx, 4);
    return !strcmp(vendor, "AuthenticAMD");
}

static unsigned host_phys_bits(void)
{
    unsigned eax = 0, ebx, ecx, edx;

    if (!__get_cpuid(0x80000008, &eax, &ebx, &ecx, &edx)) {
        return 36;
    }
    return eax & 0xff;
}

/*
 * QEMU 7.2 marks AMD's HyperTransport window below 1 TiB reserved for AMD
 * guests whose physical address width reaches it; kvmpc does too, unless
 * RAM already extends into it (QEMU would move RAM above 1 TiB instead).
 */
static bool want_amd_ht_hole(MachineState *ms)
{
    return guest_cpu_is_amd() && host_phys_bits() >= AMD_HT_MIN_PHYS_BITS &&
           PC_HIGHMEM_START + ms->above_4g_mem_size <= AMD_HT_START;
}

/* QEMU's etc/e820: KVM's reserved pages, the RAM ranges, AMD's HT hole. */
static bool add_e820(MachineState *ms, FWCfgState *s, GError **errp)
{
    uint8_t buf[4 * E820_FW_CFG_ENTRY_SIZE];
    size_t n = 0;
    const struct { uint64_t addr, size; uint32_t type; } e[] = {
        { KVM_IDENTITY_BASE, KVM_IDENTITY_SIZE, E820_RESERVED },
        { 0, ms->below_4g_mem_size, E820_RAM },
        { PC_HIGHMEM_START, ms->above_4g_mem_size, E820_RAM },
        { AMD_HT_START, want_amd_ht_hole(ms) ? AMD_HT_SIZE : 0,
          E820_RESERVED },
    };

    for (unsigned i = 0; i < ARRAY_SIZE(e); i++) {
        if (!e[i].size) {
            continue;
        }
        stq_le_p(buf + n, e[i].addr);
        stq_le_p(buf + n + 8, e[i].size);
        stl_le_p(buf + n + 16, e[i].type);
        n += E820_FW_CFG_ENTRY_SIZE;
    }
    return fw_cfg_add_file(s, "etc/e820", buf, n, errp);
}

static uint32_t apic_id_limit(MachineState *ms)
{
    X86CPUTopoInfo topo;

    x86_topo_info_from_smp(&ms->smp, &topo);
    return x86_apicid_from_cpu_idx(&topo, MAX(ms->smp.max_cpus, 1) - 1) + 1;
}

static bool graphics_off(MachineState *ms)
{
    const char *g = g_hash_table_lookup(ms->props, "graphics");
    bool on = true;

    return g && parse_bool(g, &on, NULL) && !on;
}

/*
 * FW_CFG_NUMA as SeaBIOS reads it (QEMU's fw_cfg_build_numa): 64-bit
 * little-endian words: the node count, the node of each APIC ID below
 * the APIC ID limit (0 where no CPU can be), then each node's RAM size.
 */
static uint8_t *build_numa_entry(MachineState *ms, uint32_t limit,
                                 size_t *len)
{
    unsigned nodes = numa_node_count(ms);
    uint8_t *w = g_malloc0((1 + (size_t)limit + nodes) * 8);
    X86CPUTopoInfo topo;

    x86_topo_info_from_smp(&ms->smp, &topo);
    stq_le_p(w, nodes);
    for (unsigned i = 0; nodes && i < MAX(ms->smp.max_cpus, 1u); i++) {
        uint32_t apic_id = x86_apicid_from_cpu_idx(&topo, i);

        if (apic_id < limit) {
            stq_le_p(w + 8 * (1 + apic_id), numa_cpu_node(ms, i));
        }
    }
    for (unsigned n = 0; n < nodes; n++) {
        stq_le_p(w + 8 * (1 + limit + n), ms->numa->nodes[n].node_mem);
    }
    *len = (1 + (size_t)limit + nodes) * 8;
    return w;
}

static void add_legacy_items(MachineState *ms, FWCfgState *s)
{
    uint32_t limit = apic_id_limit(ms);
    size_t numa_len;
    uint8_t *numa = build_numa_entry(ms, limit, &numa_len);
    uint8_t e820_legacy[4] = { 0 };

    fw_cfg_add_bytes(s, FW_CFG_UUID, ms->uuid, sizeof(ms->uuid));
    fw_cfg_add_i64(s, FW_CFG_RAM_SIZE, ms->ram_size);
    fw_cfg_add_i16(s, FW_CFG_NOGRAPHIC, graphics_off(ms));
    fw_cfg_add_i16(s, FW_CFG_NB_CPUS, ms->smp.cpus);
    fw_cfg_add_i16(s, FW_CFG_MAX_CPUS, limit);
    fw_cfg_add_bytes(s, FW_CFG_NUMA, numa, numa_len);
    g_free(numa);
    fw_cfg_add_i32(s, FW_CFG_IRQ0_OVERRIDE, 1);
    fw_cfg_add_bytes(s, FW_CFG_E820_TABLE, e820_legacy, sizeof(e820_legacy));
}

/* PIIX4 S-state table: bit 7 = state offered, bits 0-2 = SLP_TYP. */
static bool add_system_states(FWCfgState *s, GError **errp)
{
    uint8_t states[6] = { 0x80, 0, 0, 0x01, 0x02, 0x80 };

    if (piix4_pm_s4_offered() || ich9_lpc_s4_offered()) {
        states[4] |= 0x80;
    }

    return fw_cfg_add_file(s, "etc/system-states", states, sizeof(states),
                           errp);
}

static bool add_smbios_options(MachineState *ms, SmbiosOptions *o,
                               GError **errp)
{
    for (unsigned i = 0; ms->smbios_opts && i < ms->smbios_opts->len; i++) {
        const char *arg = g_ptr_array_index(ms->smbios_opts, i);
        GError *err = NULL;

        if (!smbios_parse_option(o, arg, &err)) {
            error_setg(errp, "-smbios %s: %s", arg, err->message);
            g_error_free(err);
            return false;
        }
    }
    /* As in QEMU, type=1,uuid= is the system UUID everywhere. */
    if (o->t1.have_uuid) {
        memcpy(ms->uuid, o->t1.uuid, sizeof(ms->uuid));
        ms->uuid_set = true;
    }
    return true;
}

static bool smbios_ep64(MachineState *ms, GError **errp, bool *ep64)
{
    const char *v = g_hash_table_lookup(ms->props, "smbios-entry-point-type");

    *ep64 = false;
    if (!v || !strcmp(v, "32")) {
        return true;
    }
    if (!strcmp(v, "64")) {
        *ep64 = true;
        return true;
    }
    error_setg(errp, "-machine smbios-entry-point-type=%s: expected 32 or "
               "64", v);
    return false;
}

/* ---- built at every reset ------------------------------------------------ */

typedef struct PcFirmware {
    MachineState *ms;
    FWCfgState *fw_cfg;
    SmbiosOptions smbios;
    bool smbios_ep64;
} PcFirmware;

static PcFirmware pc_fw;

/* QEMU's FW_CFG_HPET: u8 count, then 8 packed {u32 id, u64 addr, u16
 * min_tick, u8 page_prot}. */
static void add_hpet_item(FWCfgState *s, const AcpiPcConfig *cfg)
{
    uint8_t buf[1 + 8 * 15] = { 0 };

    if (cfg->hpet) {
        buf[0] = 1;
        stl_le_p(buf + 1, cfg->hpet_block_id);
        stq_le_p(buf + 5, PC_HPET_BASE);
    }
    fw_cfg_add_bytes(s, FW_CFG_HPET, buf, sizeof(buf));
}

static void update_acpi(PcFirmware *fw)
{
    AcpiPcConfig cfg;
    AcpiBuildTables t;
    GError *err = NULL;

    acpi_pc_config(fw->ms, &cfg);
    add_hpet_item(fw->fw_cfg, &cfg);
    if (!fw->ms->acpi) {
        /* acpi=off: no ACPI files in fw_cfg, so the firmware installs none */
        acpi_pc_config_cleanup(&cfg);
        return;
    }
    acpi_build(&cfg, &t);
    if (!fw_cfg_set_file(fw->fw_cfg, ACPI_BUILD_TABLE_FILE,
                         t.table_data->data, t.table_data->len, &err) ||
        !fw_cfg_set_file(fw->fw_cfg, ACPI_BUILD_RSDP_FILE, t.rsdp->data,
                         t.rsdp->len, &err) ||
        !fw_cfg_set_file(fw->fw_cfg, ACPI_BUILD_LOADER_FILE,
                         t.linker->cmds->data, t.linker->cmds->len, &err) ||
        (t.vmgenid->len &&
         !fw_cfg_set_file(fw->fw_cfg, VMGENID_GUID_FW_CFG_FILE,
                          t.vmgenid->data, t.vmgenid->len, &err))) {
        error_report_err(err);
    }
    acpi_build_tables_cleanup(&t);
    acpi_pc_config_cleanup(&cfg);
}

static void smbios_machine_info(MachineState *ms, SmbiosMachineInfo *m)
{
    unsigned eax = 0, ebx, ecx, edx = 0;
    unsigned per_socket = MAX(ms->smp.dies, 1) * MAX(ms->smp.cores, 1);

    __get_cpuid(1, &eax, &ebx, &ecx, &edx);
    *m = (SmbiosMachineInfo){
        .manufacturer = "QEMU",
        .product = ms->type->desc,
        .version = ms->type->name,
        .uuid = ms->uuid_set ? ms->uuid : NULL,
        .sockets = MAX(ms->smp.sockets, 1),
        .cores_per_socket = per_socket,
        .threads_per_socket = per_socket * MAX(ms->smp.threads, 1),
        .cpuid_version = eax,
        .cpuid_features = edx,
        .ram_size = ms->ram_size,
        .mem_start = { 0, PC_HIGHMEM_START },
        .mem_size = { ms->below_4g_mem_size, ms->above_4g_mem_size },
        .nr_mem_ranges = 2,
        .ep64 = pc_fw.smbios_ep64,
    };
}

static void update_smbios(PcFirmware *fw)
{
    g_autoptr(GByteArray) tables = g_byte_array_new();
    g_autoptr(GByteArray) anchor = g_byte_array_new();
    SmbiosMachineInfo m;
    GError *err = NULL;

    smbios_machine_info(fw->ms, &m);
    smbios_build(&fw->smbios, &m, tables, anchor);
    if (!fw_cfg_set_file(fw->fw_cfg, SMBIOS_TABLES_FILE, tables->data,
                         tables->len, &err) ||
        !fw_cfg_set_file(fw->fw_cfg, SMBIOS_ANCHOR_FILE, anchor->data,
                         anchor->len, &err)) {
        error_report_err(err);
    }
}

static void update_bootorder(PcFirmware *fw)
{
    size_t len;
    g_autofree char *order = fw_boot_order_build(&len);
    GError *err = NULL;

    if (!fw_cfg_set_file(fw->fw_cfg, "bootorder", order, len, &err)) {
        error_report_err(err);
    }
}

static void pc_firmware_reset(void *opaque)
{
    PcFirmware *fw = opaque;

    update_acpi(fw);
    update_smbios(fw);
    update_bootorder(fw);
}

/* ---- entry point ---------------------------------------------------------- */

/*
 * QEMU 7.2's etc/reserved-memory-end: with a device-memory region, the
 * GiB boundary after it, so SeaBIOS puts 64-bit BARs above the DIMMs.
 */
static bool add_reserved_memory_end(MachineState *ms, FWCfgState *s,
                                    GError **errp)
{
    uint8_t end[8];

    if (!ms->device_memory_size) {
        return true;
    }
    stq_le_p(end, pc_pci_hole64_start(ms));
    return fw_cfg_add_file(s, "etc/reserved-memory-end", end, sizeof(end),
                           errp);
}

static bool pc_firmware_files(MachineState *ms, FWCfgState *s,
                              const PcBootOptions *boot, GError **errp)
{
    if (!add_reserved_memory_end(ms, s, errp)) {
        return false;
    }
    if (!add_e820(ms, s, errp) || !add_boot_files(s, boot, errp) ||
        !add_system_states(s, errp) ||
        !fw_cfg_add_file(s, "bios-geometry", NULL, 0, errp) ||
        !fw_cfg_add_file(s, "bootorder", NULL, 0, errp)) {
        return false;
    }
    for (unsigned i = 0; ms->option_roms && i < ms->option_roms->len; i++) {
        if (!add_option_rom(s, g_ptr_array_index(ms->option_roms, i),
                            errp)) {
            return false;
        }
    }
    if (ms->kernel_filename && pc_config.firmware_boot &&
        !add_linuxboot(ms, s, errp)) {
        return false;
    }
    for (unsigned i = 0; ms->fw_cfg_items && i < ms->fw_cfg_items->len;
         i++) {
        if (!add_user_item(s, g_ptr_array_index(ms->fw_cfg_items, i),
                           errp)) {
            return false;
        }
    }
    return true;
}

bool pc_firmware_init(MachineState *ms, GError **errp)
{
    PcBootOptions boot;
    FWCfgState *s;
    bool ok;

    smbios_options_init(&pc_fw.smbios);
    if (!parse_boot_options(ms, &boot, errp) ||
        !add_smbios_options(ms, &pc_fw.smbios, errp) ||
        !smbios_ep64(ms, errp, &pc_fw.smbios_ep64)) {
        g_free(boot.splash);
        return false;
    }
    s = fw_cfg_init_io_dma(PC_FW_CFG_IO_BASE, PC_FW_CFG_DMA_BASE, errp);
    if (!s) {
        g_free(boot.splash);
        return false;
    }
    add_legacy_items(ms, s);
    ok = pc_firmware_files(ms, s, &boot, errp);
    g_free(boot.splash);
    if (!ok) {
        return false;
    }
    pc_fw.ms = ms;
    pc_fw.fw_cfg = s;
    /* Built now for early readers, again at each reset (after -device). */
    pc_firmware_reset(&pc_fw);
    qemu_register_reset(pc_firmware_reset, &pc_fw);
    return true;
}

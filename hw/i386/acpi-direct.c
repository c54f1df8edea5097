/*
 * ACPI tables for direct kernel boot (-kernel without firmware).
 *
 * With firmware, SeaBIOS reads etc/acpi/tables, etc/acpi/rsdp and the
 * etc/table-loader commands from fw_cfg (hw/i386/fw-cfg-pc.c) and places
 * and links the tables itself.  Direct boot skips the firmware, so kvmpc
 * builds the same tables (hw/i386/acpi-build.c) and carries out the same
 * commands host-side (format: include/hw/acpi/bios-linker-loader.h, as
 * SeaBIOS src/fw/romfile_loader.c runs them):
 *   ALLOCATE      place a file, aligned, in its zone
 *   ADD_POINTER   add a file's address to a 1/2/4/8-byte field
 *   ADD_CHECKSUM  set a byte so a range sums to zero
 *   WRITE_POINTER write a file's address into a device's writable fw_cfg
 *                 file (vmgenid's etc/vmgenid_addr), as the firmware's
 *                 fw_cfg DMA write would (fw_cfg_write_file)
 * in command order, on private copies of the files, then copies the
 * linked files into guest RAM; the pointers are written back last, once
 * the files are in guest RAM (a device may write into them at once).
 *
 * Layout (include/hw/i386/acpi-direct.h; the pc machine's e820 table,
 * hw/i386/pc.c pc_build_e820, marks it):
 *   "high" zone  0x90000-0x9fbff, E820_ACPI (ACPI 6.4 chapter 15,
 *                AddressRangeACPI, type 3): the tables.  Low memory, not the top
 *                of RAM as SeaBIOS does, so the loaders' placement of
 *                initrds and modules at the top of RAM is unchanged;
 *                63 KiB holds the tables of 255 CPUs with room to spare.
 *   "fseg" zone  the EBDA at 0x9fc00 (E820_RESERVED) from offset 0x100
 *                (its header comes first): the RSDP, 16-byte aligned.
 *                The F segment is read-only memory (the direct-boot ROM,
 *                hw/i386/bios-rom.c), so the loader cannot allocate
 *                there; bios-rom.c copies the linked RSDP into the ROM
 *                afterwards, where firmware keeps it.  The BDA word
 *                at 0x40e is set to the EBDA segment, so OSes that scan
 *                (ACPI 6.4 5.2.5.1 "Finding the RSDP on IA-PC Systems":
 *                first KiB of the EBDA, then 0xe0000-0xfffff) find either.
 * Boot protocols that carry the address get it as well: PVH
 * hvm_start_info.rsdp_paddr, Linux boot_params.acpi_rsdp_addr (0x070);
 * Multiboot has no field, its kernels scan.
 *
 * The tables are rebuilt and reinstalled at every reset (the guest may
 * have overwritten them, and -device/device_add may have changed what
 * they describe).
 */
#include "qemu/osdep.h"
#include "hw/i386/acpi-direct.h"
#include "hw/i386/acpi-build.h"
#include "hw/i386/x86-boot.h"
#include "system/memory.h"
#include "hw/nvram/fw_cfg.h"
#include "hw/acpi/vmgenid.h"

/* table-loader entry layout (bios-linker-loader.h) */
#define CMD_OFF             0
#define ALLOC_FILE          4
#define ALLOC_ALIGN         (ALLOC_FILE + BIOS_LINKER_LOADER_FILESZ)
#define ALLOC_ZONE          (ALLOC_ALIGN + 4)
#define PTR_DEST            4
#define PTR_SRC             (PTR_DEST + BIOS_LINKER_LOADER_FILESZ)
#define PTR_OFFSET          (PTR_SRC + BIOS_LINKER_LOADER_FILESZ)
#define PTR_SIZE            (PTR_OFFSET + 4)
#define CKSUM_FILE          4
#define CKSUM_OFFSET        (CKSUM_FILE + BIOS_LINKER_LOADER_FILESZ)
#define CKSUM_START         (CKSUM_OFFSET + 4)
#define CKSUM_LENGTH        (CKSUM_START + 4)
#define WRPTR_DEST          4
#define WRPTR_SRC           (WRPTR_DEST + BIOS_LINKER_LOADER_FILESZ)
#define WRPTR_OFFSET        (WRPTR_SRC + BIOS_LINKER_LOADER_FILESZ)
#define WRPTR_SRC_OFFSET    (WRPTR_OFFSET + 4)
#define WRPTR_SIZE          (WRPTR_SRC_OFFSET + 4)

/* Alignments beyond a page make no sense in a 63 KiB area. */
#define LOADER_MAX_ALIGN    4096

typedef struct LoaderZone {
    const char *name;
    uint64_t base, next, end;   /* [base, end), free from next */
} LoaderZone;

typedef struct Loader {
    AcpiDirectFile *files;
    GByteArray **data;          /* private, patched copies of the files */
    unsigned nr_files;
    LoaderZone high, fseg;
    unsigned cmd_index;         /* for messages */
    GArray *write_pointers;     /* LoaderWritePointer, run after placing */
} Loader;

typedef struct LoaderWritePointer {
    char dest[BIOS_LINKER_LOADER_FILESZ];
    uint32_t offset;
    uint8_t size;
    uint64_t value;
    unsigned cmd_index;
} LoaderWritePointer;

/* ---- the command interpreter -------------------------------------------- */

static bool loader_fail(Loader *l, GError **errp, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static bool loader_fail(Loader *l, GError **errp, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    error_setg(errp, "ACPI table-loader command %u: %s", l->cmd_index, msg);
    return false;
}

/* Index of the file named by the 56-byte field at @field; -1 if none. */
static int loader_file(Loader *l, const uint8_t *field, GError **errp)
{
    size_t len = strnlen((const char *)field, BIOS_LINKER_LOADER_FILESZ);

    if (len == 0 || len == BIOS_LINKER_LOADER_FILESZ) {
        loader_fail(l, errp, "bad file name");
        return -1;
    }
    for (unsigned i = 0; i < l->nr_files; i++) {
        if (strlen(l->files[i].name) == len &&
            !memcmp(l->files[i].name, field, len)) {
            return i;
        }
    }
    loader_fail(l, errp, "unknown file '%.*s'", (int)len,
                (const char *)field);
    return -1;
}

/* Like loader_file(), and the file must have been allocated already. */
static int loader_placed_file(Loader *l, const uint8_t *field,
                              GError **errp)
{
    int f = loader_file(l, field, errp);

    if (f >= 0 && !l->files[f].addr) {
        loader_fail(l, errp, "file '%s' used before ALLOCATE",
                    l->files[f].name);
        return -1;
    }
    return f;
}

static bool loader_allocate(Loader *l, const uint8_t *e, GError **errp)
{
    int f = loader_file(l, e + ALLOC_FILE, errp);
    uint32_t align = ldl_le_p(e + ALLOC_ALIGN);
    uint8_t zone_id = e[ALLOC_ZONE];
    LoaderZone *zone;
    uint64_t addr, len;

    if (f < 0) {
        return false;
    }
    if (l->files[f].addr) {
        return loader_fail(l, errp, "'%s' allocated twice", l->files[f].name);
    }
    if (!align || (align & (align - 1)) || align > LOADER_MAX_ALIGN) {
        return loader_fail(l, errp, "bad alignment %u", align);
    }
    if (zone_id == BIOS_LINKER_LOADER_ALLOC_ZONE_HIGH) {
        zone = &l->high;
    } else if (zone_id == BIOS_LINKER_LOADER_ALLOC_ZONE_FSEG) {
        zone = &l->fseg;
    } else {
        return loader_fail(l, errp, "unknown zone %u", zone_id);
    }
    addr = ALIGN_UP(zone->next, align);
    len = l->data[f]->len;
    if (addr > zone->end || len > zone->end - addr) {
        return loader_fail(l, errp, "'%s' (%" PRIu64 " bytes) does not fit "
                           "in the %s (0x%" PRIx64 "-0x%" PRIx64 ")",
                           l->files[f].name, len, zone->name, zone->base,
                           zone->end - 1);
    }
    l->files[f].addr = addr;
    zone->next = addr + len;
    return true;
}

static bool loader_add_pointer(Loader *l, const uint8_t *e, GError **errp)
{
    int dst = loader_placed_file(l, e + PTR_DEST, errp);
    int src = dst < 0 ? -1 : loader_placed_file(l, e + PTR_SRC, errp);
    uint32_t off = ldl_le_p(e + PTR_OFFSET);
    uint8_t size = e[PTR_SIZE];
    GByteArray *d;
    uint64_t val = 0;

    if (src < 0) {
        return false;
    }
    d = l->data[dst];
    if (size != 1 && size != 2 && size != 4 && size != 8) {
        return loader_fail(l, errp, "bad pointer size %u", size);
    }
    if (off > d->len || size > d->len - off) {
        return loader_fail(l, errp, "pointer at 0x%x outside '%s'", off,
                           l->files[dst].name);
    }
    for (unsigned i = 0; i < size; i++) {
        val |= (uint64_t)d->data[off + i] << (8 * i);
    }
    val += l->files[src].addr;
    if (size < 8 && (val >> (8 * size))) {
        return loader_fail(l, errp, "address 0x%" PRIx64 " does not fit a "
                           "%u-byte pointer", val, size);
    }
    for (unsigned i = 0; i < size; i++) {
        d->data[off + i] = val >> (8 * i);
    }
    return true;
}

static bool loader_add_checksum(Loader *l, const uint8_t *e, GError **errp)
{
    int f = loader_placed_file(l, e + CKSUM_FILE, errp);
    uint32_t off = ldl_le_p(e + CKSUM_OFFSET);
    uint32_t start = ldl_le_p(e + CKSUM_START);
    uint32_t len = ldl_le_p(e + CKSUM_LENGTH);
    GByteArray *d;
    uint8_t sum = 0;

    if (f < 0) {
        return false;
    }
    d = l->data[f];
    if (start > d->len || len > d->len - start || off >= d->len) {
        return loader_fail(l, errp, "checksum range outside '%s'",
                           l->files[f].name);
    }
    for (uint32_t i = 0; i < len; i++) {
        sum += d->data[start + i];
    }
    d->data[off] -= sum;
    return true;
}

/*
 * SeaBIOS's checks (romfile_loader_write_pointer): the source placed,
 * src_offset inside it, a 1/2/4/8-byte pointer the address fits in.  The
 * destination is checked when it is written (fw_cfg_write_file).
 */
static bool loader_write_pointer(Loader *l, const uint8_t *e, GError **errp)
{
    int src = loader_placed_file(l, e + WRPTR_SRC, errp);
    size_t dlen = strnlen((const char *)e + WRPTR_DEST,
                          BIOS_LINKER_LOADER_FILESZ);
    LoaderWritePointer w = {
        .offset = ldl_le_p(e + WRPTR_OFFSET),
        .size = e[WRPTR_SIZE],
        .cmd_index = l->cmd_index,
    };
    uint32_t src_off = ldl_le_p(e + WRPTR_SRC_OFFSET);

    if (src < 0) {
        return false;
    }
    if (dlen == 0 || dlen == BIOS_LINKER_LOADER_FILESZ) {
        return loader_fail(l, errp, "bad file name");
    }
    if (w.size != 1 && w.size != 2 && w.size != 4 && w.size != 8) {
        return loader_fail(l, errp, "bad pointer size %u", w.size);
    }
    if (src_off >= l->data[src]->len) {
        return loader_fail(l, errp, "offset 0x%x outside '%s'", src_off,
                           l->files[src].name);
    }
    w.value = l->files[src].addr + src_off;
    if (w.size < 8 && (w.value >> (8 * w.size))) {
        return loader_fail(l, errp, "address 0x%" PRIx64 " does not fit a "
                           "%u-byte pointer", w.value, w.size);
    }
    memcpy(w.dest, e + WRPTR_DEST, dlen);
    g_array_append_val(l->write_pointers, w);
    return true;
}

static bool loader_run_write_pointers(Loader *l, GError **errp)
{
    FWCfgState *fw_cfg = fw_cfg_find();

    for (unsigned i = 0; i < l->write_pointers->len; i++) {
        const LoaderWritePointer *w =
            &g_array_index(l->write_pointers, LoaderWritePointer, i);
        uint8_t le[8];

        l->cmd_index = w->cmd_index;
        stq_le_p(le, w->value);
        if (!fw_cfg || !fw_cfg_write_file(fw_cfg, w->dest, w->offset, le,
                                          w->size)) {
            return loader_fail(l, errp, "cannot write a %u-byte pointer "
                               "at 0x%x of fw_cfg file '%s'", w->size,
                               w->offset, w->dest);
        }
    }
    return true;
}

static bool loader_run_cmd(Loader *l, const uint8_t *e, GError **errp)
{
    uint32_t cmd = ldl_le_p(e + CMD_OFF);

    switch (cmd) {
    case BIOS_LINKER_LOADER_CMD_ALLOCATE:
        return loader_allocate(l, e, errp);
    case BIOS_LINKER_LOADER_CMD_ADD_POINTER:
        return loader_add_pointer(l, e, errp);
    case BIOS_LINKER_LOADER_CMD_ADD_CHECKSUM:
        return loader_add_checksum(l, e, errp);
    case BIOS_LINKER_LOADER_CMD_WRITE_POINTER:
        return loader_write_pointer(l, e, errp);
    default:
        return loader_fail(l, errp, "unsupported command %u", cmd);
    }
}

static bool loader_write_files(Loader *l, GError **errp)
{
    /* no stale tables or RSDP from before a reset */
    if (!x86_boot_zero(ACPI_DIRECT_TABLES_BASE, ACPI_DIRECT_TABLES_SIZE,
                       "the ACPI tables area", errp) ||
        !x86_boot_zero(ACPI_DIRECT_EBDA_BASE, ACPI_DIRECT_EBDA_SIZE,
                       "the EBDA", errp)) {
        return false;
    }
    for (unsigned i = 0; i < l->nr_files; i++) {
        if (l->files[i].addr &&
            !x86_boot_write(l->files[i].addr, l->data[i]->data,
                            l->data[i]->len, "an ACPI table", errp)) {
            return false;
        }
    }
    return true;
}

bool acpi_direct_run_loader(const GByteArray *cmds, AcpiDirectFile *files,
                            unsigned nr_files, GError **errp)
{
    Loader l = {
        .files = files,
        .nr_files = nr_files,
        .data = g_new0(GByteArray *, MAX(nr_files, 1u)),
        .high = { "ACPI tables area", ACPI_DIRECT_TABLES_BASE,
                  ACPI_DIRECT_TABLES_BASE, ACPI_DIRECT_TABLES_END },
        .fseg = { "EBDA", ACPI_DIRECT_RSDP_ZONE, ACPI_DIRECT_RSDP_ZONE,
                  ACPI_DIRECT_RSDP_ZONE_END },
        .write_pointers = g_array_new(FALSE, TRUE,
                                      sizeof(LoaderWritePointer)),
    };
    bool ok = true;

    for (unsigned i = 0; i < nr_files; i++) {
        files[i].addr = 0;
        l.data[i] = g_byte_array_sized_new(files[i].blob->len);
        g_byte_array_append(l.data[i], files[i].blob->data,
                            files[i].blob->len);
    }
    if (cmds->len % BIOS_LINKER_LOADER_ENTRY_SIZE) {
        error_setg(errp, "ACPI table-loader: %u bytes is not a whole number "
                   "of commands", cmds->len);
        ok = false;
    }
    for (size_t off = 0; ok && off < cmds->len;
         off += BIOS_LINKER_LOADER_ENTRY_SIZE) {
        l.cmd_index = off / BIOS_LINKER_LOADER_ENTRY_SIZE;
        ok = loader_run_cmd(&l, cmds->data + off, errp);
    }
    ok = ok && loader_write_files(&l, errp) &&
         loader_run_write_pointers(&l, errp);
    g_array_free(l.write_pointers, TRUE);
    for (unsigned i = 0; i < nr_files; i++) {
        g_byte_array_unref(l.data[i]);
        if (!ok) {
            files[i].addr = 0;
        }
    }
    g_free(l.data);
    return ok;
}

/* ---- the machine's tables ------------------------------------------------ */

/* Point the BDA at the EBDA, for guests that scan for the RSDP. */
static bool set_bda_ebda_pointer(GError **errp)
{
    uint8_t seg[2];

    stw_le_p(seg, ACPI_DIRECT_EBDA_BASE >> 4);
    return x86_boot_write(ACPI_DIRECT_BDA_EBDA, seg, sizeof(seg),
                          "the BIOS data area", errp);
}

static bool install_tables(const AcpiBuildTables *t, GError **errp)
{
    enum { FILE_TABLES, FILE_RSDP, FILE_VMGENID };
    AcpiDirectFile files[] = {
        [FILE_TABLES] = { .name = ACPI_BUILD_TABLE_FILE,
                          .blob = t->table_data },
        [FILE_RSDP] = { .name = ACPI_BUILD_RSDP_FILE, .blob = t->rsdp },
        [FILE_VMGENID] = { .name = VMGENID_GUID_FW_CFG_FILE,
                           .blob = t->vmgenid },
    };
    /* etc/vmgenid_guid only with -device vmgenid */
    unsigned nr = t->vmgenid->len ? ARRAY_SIZE(files) : FILE_VMGENID;

    if (!acpi_direct_run_loader(t->linker->cmds, files, nr, errp)) {
        return false;
    }
    if (!files[FILE_RSDP].addr) {
        error_setg(errp, "ACPI table-loader placed no RSDP");
        return false;
    }
    x86_boot_acpi_rsdp = files[FILE_RSDP].addr;
    return set_bda_ebda_pointer(errp);
}

bool acpi_direct_install(MachineState *ms, GError **errp)
{
    AcpiPcConfig cfg;
    AcpiBuildTables tables;
    bool ok;

    x86_boot_acpi_rsdp = 0;
    acpi_pc_config(ms, &cfg);
    acpi_build(&cfg, &tables);
    ok = install_tables(&tables, errp);
    acpi_build_tables_cleanup(&tables);
    acpi_pc_config_cleanup(&cfg);
    return ok;
}

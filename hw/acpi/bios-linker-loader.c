/*
 * BIOS linker/loader commands ("etc/table-loader").
 *
 * Format: QEMU's hw/acpi/bios-linker-loader.c command layout, executed by
 * SeaBIOS (src/fw/romfile_loader.c) and OVMF (AcpiPlatformDxe); see the
 * header for the entry layouts.  WRITE_POINTER (QEMU 2.9+, for vmgenid)
 * makes the firmware write a blob's address back into a writable fw_cfg
 * file through the DMA interface, so the device learns where it went.  Every command is checked here against the
 * blobs it names, so a table builder bug trips an assertion at build time
 * instead of handing the firmware a command it would reject.
 */
#include "qemu/osdep.h"
#include "hw/acpi/bios-linker-loader.h"

typedef struct BIOSLinkerFile {
    char *name;
    GByteArray *blob;
} BIOSLinkerFile;

static void linker_file_free(gpointer p)
{
    BIOSLinkerFile *f = p;

    g_free(f->name);
    g_free(f);
}

BIOSLinker *bios_linker_loader_new(void)
{
    BIOSLinker *l = g_new0(BIOSLinker, 1);

    l->cmds = g_byte_array_new();
    l->files = g_ptr_array_new_with_free_func(linker_file_free);
    return l;
}

void bios_linker_loader_free(BIOSLinker *linker)
{
    if (!linker) {
        return;
    }
    g_byte_array_unref(linker->cmds);
    g_ptr_array_free(linker->files, TRUE);
    g_free(linker);
}

static const BIOSLinkerFile *linker_find(BIOSLinker *l, const char *name)
{
    for (unsigned i = 0; i < l->files->len; i++) {
        const BIOSLinkerFile *f = g_ptr_array_index(l->files, i);
        if (!strcmp(f->name, name)) {
            return f;
        }
    }
    return NULL;
}

/* A zeroed entry appended to the command list; returns its start. */
static uint8_t *linker_new_entry(BIOSLinker *l, uint32_t cmd)
{
    size_t off = l->cmds->len;

    g_byte_array_set_size(l->cmds, off + BIOS_LINKER_LOADER_ENTRY_SIZE);
    memset(l->cmds->data + off, 0, BIOS_LINKER_LOADER_ENTRY_SIZE);
    stl_le_p(l->cmds->data + off, cmd);
    return l->cmds->data + off;
}

static void linker_put_name(uint8_t *dst, const char *name)
{
    size_t n = strlen(name);

    g_assert(n < BIOS_LINKER_LOADER_FILESZ);
    memcpy(dst, name, n);
}

void bios_linker_loader_alloc(BIOSLinker *linker, const char *file,
                              GByteArray *blob, uint32_t align, bool fseg)
{
    BIOSLinkerFile *f = g_new0(BIOSLinkerFile, 1);
    uint8_t *e;

    g_assert(!linker_find(linker, file));
    g_assert(align && !(align & (align - 1)));
    f->name = g_strdup(file);
    f->blob = blob;
    g_ptr_array_add(linker->files, f);

    e = linker_new_entry(linker, BIOS_LINKER_LOADER_CMD_ALLOCATE);
    linker_put_name(e + 4, file);
    stl_le_p(e + 4 + BIOS_LINKER_LOADER_FILESZ, align);
    e[8 + BIOS_LINKER_LOADER_FILESZ] = fseg ?
        BIOS_LINKER_LOADER_ALLOC_ZONE_FSEG : BIOS_LINKER_LOADER_ALLOC_ZONE_HIGH;
}

void bios_linker_loader_add_pointer(BIOSLinker *linker,
                                    const char *dest_file,
                                    uint32_t dst_offset, uint8_t size,
                                    const char *src_file,
                                    uint32_t src_offset)
{
    const BIOSLinkerFile *dst = linker_find(linker, dest_file);
    const BIOSLinkerFile *src = linker_find(linker, src_file);
    uint8_t *e;

    g_assert(dst && src);
    g_assert(size == 1 || size == 2 || size == 4 || size == 8);
    g_assert(dst_offset <= dst->blob->len &&
             size <= dst->blob->len - dst_offset);
    g_assert(src_offset < src->blob->len);
    /* The field holds the offset into the source; the firmware adds the
     * source's address. */
    for (unsigned i = 0; i < size; i++) {
        dst->blob->data[dst_offset + i] = (uint64_t)src_offset >> (8 * i);
    }

    e = linker_new_entry(linker, BIOS_LINKER_LOADER_CMD_ADD_POINTER);
    linker_put_name(e + 4, dest_file);
    linker_put_name(e + 4 + BIOS_LINKER_LOADER_FILESZ, src_file);
    stl_le_p(e + 4 + 2 * BIOS_LINKER_LOADER_FILESZ, dst_offset);
    e[8 + 2 * BIOS_LINKER_LOADER_FILESZ] = size;
}

void bios_linker_loader_add_checksum(BIOSLinker *linker, const char *file,
                                     uint32_t start, uint32_t len,
                                     uint32_t offset)
{
    const BIOSLinkerFile *f = linker_find(linker, file);
    uint8_t *e;

    g_assert(f);
    g_assert(start <= f->blob->len && len <= f->blob->len - start);
    g_assert(offset >= start && offset < start + len);
    /* The firmware sums the range with this byte as it is: keep it 0. */
    f->blob->data[offset] = 0;

    e = linker_new_entry(linker, BIOS_LINKER_LOADER_CMD_ADD_CHECKSUM);
    linker_put_name(e + 4, file);
    stl_le_p(e + 4 + BIOS_LINKER_LOADER_FILESZ, offset);
    stl_le_p(e + 8 + BIOS_LINKER_LOADER_FILESZ, start);
    stl_le_p(e + 12 + BIOS_LINKER_LOADER_FILESZ, len);
}

void bios_linker_loader_write_pointer(BIOSLinker *linker,
                                      const char *dest_file,
                                      uint32_t dst_offset, uint8_t size,
                                      const char *src_file,
                                      uint32_t src_offset)
{
    const BIOSLinkerFile *src = linker_find(linker, src_file);
    uint8_t *e;

    /* The destination is a device's writable fw_cfg file, not a blob the
     * linker allocates: only the source is known here. */
    g_assert(src);
    g_assert(size == 1 || size == 2 || size == 4 || size == 8);
    g_assert(src_offset < src->blob->len);

    e = linker_new_entry(linker, BIOS_LINKER_LOADER_CMD_WRITE_POINTER);
    linker_put_name(e + 4, dest_file);
    linker_put_name(e + 4 + BIOS_LINKER_LOADER_FILESZ, src_file);
    stl_le_p(e + 4 + 2 * BIOS_LINKER_LOADER_FILESZ, dst_offset);
    stl_le_p(e + 8 + 2 * BIOS_LINKER_LOADER_FILESZ, src_offset);
    e[12 + 2 * BIOS_LINKER_LOADER_FILESZ] = size;
}

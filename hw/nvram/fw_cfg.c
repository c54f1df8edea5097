/*
 * QEMU firmware configuration device (fw_cfg), I/O port flavour.
 *
 * Spec: QEMU docs/specs/fw_cfg.rst.
 *   - "Selector (Control) Register": a 16-bit write to the selector port
 *     picks an item and rewinds its offset.
 *   - "Data Register": each 8-bit read returns the next byte of the item;
 *     past the end (or for an absent item) it reads 0.  Writes through the
 *     data register are ignored (removed in QEMU 2.4).
 *   - "File Directory" (key 0x19): be32 count, then per file be32 size,
 *     be16 select, be16 reserved, char name[56]; sorted by name.
 *   - "DMA Interface": the guest writes the guest-physical address of a
 *     FWCfgDmaAccess {be32 control, be32 length, be64 address} to the
 *     64-bit big-endian DMA address register (high half at +0, low half at
 *     +4; writing the low half starts the transfer).  Control bits: error,
 *     read, skip, select (key in bits 16-31), write.  On completion the
 *     device stores the control word back: 0, or the error bit.  Reading
 *     the register returns the signature "QEMU CFG".
 *
 * Files a device adds with fw_cfg_add_file_callback() and read_only false
 * are writable through the DMA interface only (QEMU's
 * fw_cfg_add_file_callback / FWCfgEntry.allow_write): a write must lie
 * wholly inside the file from the current offset, or it sets the error bit
 * and changes nothing; the offset advances by what the file had room for
 * either way, as in QEMU.  A write to anything else (a read-only file, a
 * numbered item, nothing selected) sets the error bit.  The data is read
 * from the guest into a scratch buffer first, so a descriptor that points
 * half outside RAM never leaves the file half written.  The device is
 * told (write callback) after a successful write.
 * Every guest-supplied address and length is checked: DMA only reaches
 * RAM/ROM of the guest-physical address space (through dma_read/dma_write)
 * and never wraps around the end of the address space.
 */
#include "qemu/osdep.h"
#include "hw/nvram/fw_cfg.h"
#include "hw/qdev.h"
#include "system/memory.h"

#define FW_CFG_CTL_SIZE     2   /* selector (16-bit) + data (8-bit) */
#define FW_CFG_DMA_SIZE     8   /* 64-bit DMA address register */
#define FW_CFG_MAX_ENTRY    (FW_CFG_FILE_FIRST + FW_CFG_FILE_SLOTS)
#define FW_CFG_SIGNATURE_STR "QEMU"
#define FW_CFG_DMA_CHUNK    4096

typedef struct FWCfgEntry {
    uint8_t *data;          /* g_malloc'd, NULL when unset */
    uint32_t len;
} FWCfgEntry;

typedef struct FWCfgFile {
    char name[FW_CFG_MAX_FILE_PATH];
    uint8_t *data;
    uint32_t len;
    /* fw_cfg_add_file_callback(): @data belongs to the device */
    bool device_owned;
    bool allow_write;
    FWCfgWriteCallback write_cb;
    void *cb_opaque;
} FWCfgFile;

struct FWCfgState {
    DeviceState parent;

    /* properties */
    uint32_t iobase;
    uint32_t dma_iobase;    /* 0: no DMA interface */

    /* state (migrated) */
    uint16_t cur_entry;
    uint32_t cur_offset;
    uint64_t dma_addr;

    /* items: [0] generic keys, [1] arch-local keys */
    FWCfgEntry entries[2][FW_CFG_MAX_ENTRY];
    GPtrArray *files;       /* FWCfgFile *, sorted by name */

    MemoryRegion ctl_io;
    MemoryRegion dma_io;
};

static FWCfgState *fw_cfg_singleton;

/* ---- big-endian helpers ----------------------------------------------- */

static uint32_t ldl_be(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static uint64_t ldq_be(const uint8_t *p)
{
    return (uint64_t)ldl_be(p) << 32 | ldl_be(p + 4);
}

static void stl_be(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}

static void stw_be(uint8_t *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = v;
}

/* ---- items --------------------------------------------------------------- */

static FWCfgEntry *fw_cfg_entry(FWCfgState *s, uint16_t key)
{
    unsigned arch = !!(key & FW_CFG_ARCH_LOCAL);
    unsigned idx = key & FW_CFG_ENTRY_MASK;

    if (key == FW_CFG_INVALID || idx >= FW_CFG_MAX_ENTRY) {
        return NULL;
    }
    return &s->entries[arch][idx];
}

static void fw_cfg_set_entry(FWCfgState *s, uint16_t key, uint8_t *data,
                             uint32_t len)
{
    FWCfgEntry *e = fw_cfg_entry(s, key);

    g_assert(e);
    g_free(e->data);
    e->data = data;
    e->len = len;
}

void fw_cfg_add_bytes(FWCfgState *s, uint16_t key, const void *data,
                      size_t len)
{
    g_assert(len <= UINT32_MAX);
    g_assert((key & FW_CFG_ENTRY_MASK) < FW_CFG_FILE_FIRST);
    fw_cfg_set_entry(s, key, len ? g_memdup2(data, len) : NULL, len);
}

void fw_cfg_add_string(FWCfgState *s, uint16_t key, const char *value)
{
    fw_cfg_add_bytes(s, key, value, strlen(value) + 1);
}

void fw_cfg_add_i16(FWCfgState *s, uint16_t key, uint16_t value)
{
    uint8_t b[2];

    stw_le_p(b, value);
    fw_cfg_add_bytes(s, key, b, sizeof(b));
}

void fw_cfg_add_i32(FWCfgState *s, uint16_t key, uint32_t value)
{
    uint8_t b[4];

    stl_le_p(b, value);
    fw_cfg_add_bytes(s, key, b, sizeof(b));
}

void fw_cfg_add_i64(FWCfgState *s, uint16_t key, uint64_t value)
{
    uint8_t b[8];

    stq_le_p(b, value);
    fw_cfg_add_bytes(s, key, b, sizeof(b));
}

/* ---- files -------------------------------------------------------------- */

static int fw_cfg_file_index(FWCfgState *s, const char *name)
{
    for (unsigned i = 0; i < s->files->len; i++) {
        FWCfgFile *f = g_ptr_array_index(s->files, i);
        if (!strcmp(f->name, name)) {
            return i;
        }
    }
    return -1;
}

/* Rebuild the directory item and point each file's key at its data. */
static void fw_cfg_update_dir(FWCfgState *s)
{
    uint32_t n = s->files->len;
    size_t len = 4 + (size_t)n * FW_CFG_FILE_ENTRY_SIZE;
    uint8_t *dir = g_malloc0(len);

    stl_be(dir, n);
    for (uint32_t i = 0; i < n; i++) {
        FWCfgFile *f = g_ptr_array_index(s->files, i);
        uint8_t *ent = dir + 4 + i * FW_CFG_FILE_ENTRY_SIZE;
        FWCfgEntry *e = &s->entries[0][FW_CFG_FILE_FIRST + i];

        stl_be(ent, f->len);
        stw_be(ent + 4, FW_CFG_FILE_FIRST + i);
        memcpy(ent + 8, f->name, strlen(f->name));
        /* Entries alias the file's buffer; the file owns it. */
        e->data = f->data;
        e->len = f->len;
    }
    for (uint32_t i = n; i < FW_CFG_FILE_SLOTS; i++) {
        s->entries[0][FW_CFG_FILE_FIRST + i] = (FWCfgEntry){ 0 };
    }
    fw_cfg_set_entry(s, FW_CFG_FILE_DIR, dir, len);
}

static bool fw_cfg_check_file_name(const char *name, GError **errp)
{
    if (!name[0]) {
        error_setg(errp, "fw_cfg: empty file name");
        return false;
    }
    if (strlen(name) > FW_CFG_MAX_FILE_PATH - 1) {
        error_setg(errp, "fw_cfg: name too long (max. %d char): %s",
                   FW_CFG_MAX_FILE_PATH - 1, name);
        return false;
    }
    return true;
}

static int fw_cfg_file_cmp(gconstpointer a, gconstpointer b)
{
    const FWCfgFile *fa = *(FWCfgFile *const *)a;
    const FWCfgFile *fb = *(FWCfgFile *const *)b;

    return strcmp(fa->name, fb->name);
}

bool fw_cfg_add_file(FWCfgState *s, const char *name, const void *data,
                     size_t len, GError **errp)
{
    FWCfgFile *f;

    if (!fw_cfg_check_file_name(name, errp)) {
        return false;
    }
    if (fw_cfg_file_index(s, name) >= 0) {
        error_setg(errp, "fw_cfg: duplicate fw_cfg file name: %s", name);
        return false;
    }
    if (s->files->len >= FW_CFG_FILE_SLOTS) {
        error_setg(errp, "fw_cfg: no more file slots (max. %d) for %s",
                   FW_CFG_FILE_SLOTS, name);
        return false;
    }
    if (len > UINT32_MAX) {
        error_setg(errp, "fw_cfg: file %s is too large", name);
        return false;
    }
    f = g_new0(FWCfgFile, 1);
    g_strlcpy(f->name, name, sizeof(f->name));
    f->data = len ? g_memdup2(data, len) : NULL;
    f->len = len;
    g_ptr_array_add(s->files, f);
    g_ptr_array_sort(s->files, fw_cfg_file_cmp);
    fw_cfg_update_dir(s);
    return true;
}

bool fw_cfg_add_file_callback(FWCfgState *s, const char *name,
                              void *data, size_t len,
                              FWCfgWriteCallback write_cb, void *opaque,
                              bool read_only, GError **errp)
{
    FWCfgFile *f;
    int idx;

    g_assert(data && len);
    if (!fw_cfg_add_file(s, name, NULL, 0, errp)) {
        return false;
    }
    if (len > UINT32_MAX) {
        fw_cfg_remove_file(s, name);
        error_setg(errp, "fw_cfg: file %s is too large", name);
        return false;
    }
    idx = fw_cfg_file_index(s, name);
    f = g_ptr_array_index(s->files, idx);
    f->data = data;
    f->len = len;
    f->device_owned = true;
    f->allow_write = !read_only;
    f->write_cb = write_cb;
    f->cb_opaque = opaque;
    fw_cfg_update_dir(s);
    return true;
}

void fw_cfg_remove_file(FWCfgState *s, const char *name)
{
    int idx = fw_cfg_file_index(s, name);
    uint16_t key;

    if (idx < 0) {
        return;
    }
    key = FW_CFG_FILE_FIRST + idx;
    g_ptr_array_remove_index(s->files, idx);
    /* Keys are reassigned: a selection of this file or a later one would
     * now name another file. */
    if (s->cur_entry != FW_CFG_INVALID &&
        !(s->cur_entry & FW_CFG_ARCH_LOCAL) &&
        (s->cur_entry & FW_CFG_ENTRY_MASK) >= key) {
        s->cur_entry = FW_CFG_INVALID;
    }
    fw_cfg_update_dir(s);
}

bool fw_cfg_dma_enabled(FWCfgState *s)
{
    return s->dma_iobase != 0;
}

bool fw_cfg_set_file(FWCfgState *s, const char *name, const void *data,
                     size_t len, GError **errp)
{
    int idx = fw_cfg_file_index(s, name);
    FWCfgFile *f;

    if (idx < 0) {
        return fw_cfg_add_file(s, name, data, len, errp);
    }
    if (len > UINT32_MAX) {
        error_setg(errp, "fw_cfg: file %s is too large", name);
        return false;
    }
    f = g_ptr_array_index(s->files, idx);
    if (f->device_owned) {
        error_setg(errp, "fw_cfg: file %s belongs to a device", name);
        return false;
    }
    g_free(f->data);
    f->data = len ? g_memdup2(data, len) : NULL;
    f->len = len;
    fw_cfg_update_dir(s);
    return true;
}

bool fw_cfg_has_file(FWCfgState *s, const char *name)
{
    return fw_cfg_file_index(s, name) >= 0;
}

const uint8_t *fw_cfg_get_file(FWCfgState *s, const char *name, size_t *len)
{
    int idx = fw_cfg_file_index(s, name);
    FWCfgFile *f;

    if (idx < 0) {
        *len = 0;
        return NULL;
    }
    f = g_ptr_array_index(s->files, idx);
    *len = f->len;
    return f->data;
}

uint16_t fw_cfg_file_key(FWCfgState *s, const char *name)
{
    int idx = fw_cfg_file_index(s, name);

    return idx < 0 ? FW_CFG_INVALID : FW_CFG_FILE_FIRST + idx;
}

static void fw_cfg_file_free(gpointer p)
{
    FWCfgFile *f = p;

    if (!f->device_owned) {
        g_free(f->data);
    }
    g_free(f);
}

/* ---- traditional interface ---------------------------------------------- */

/* The file behind the selected key, or NULL (a numbered item, nothing). */
static FWCfgFile *fw_cfg_current_file(FWCfgState *s)
{
    unsigned idx = s->cur_entry & FW_CFG_ENTRY_MASK;

    if (s->cur_entry == FW_CFG_INVALID || (s->cur_entry & FW_CFG_ARCH_LOCAL) ||
        idx < FW_CFG_FILE_FIRST || idx - FW_CFG_FILE_FIRST >= s->files->len) {
        return NULL;
    }
    return g_ptr_array_index(s->files, idx - FW_CFG_FILE_FIRST);
}

static void fw_cfg_select(FWCfgState *s, uint16_t key)
{
    s->cur_offset = 0;
    s->cur_entry = fw_cfg_entry(s, key) ? key : FW_CFG_INVALID;
}

/* The selected item, or NULL when nothing (valid) is selected. */
static const FWCfgEntry *fw_cfg_current(FWCfgState *s)
{
    return s->cur_entry == FW_CFG_INVALID ? NULL
                                          : fw_cfg_entry(s, s->cur_entry);
}

static uint8_t fw_cfg_read_byte(FWCfgState *s)
{
    const FWCfgEntry *e = fw_cfg_current(s);

    if (!e || !e->data || s->cur_offset >= e->len) {
        return 0;
    }
    return e->data[s->cur_offset++];
}

static uint64_t fw_cfg_ctl_read(void *opaque, uint64_t addr, unsigned size)
{
    FWCfgState *s = opaque;

    /* Only byte reads are valid (at either port), as in QEMU. */
    if (size != 1) {
        return (1ULL << (size * 8)) - 1;
    }
    return fw_cfg_read_byte(s);
}

static void fw_cfg_ctl_write(void *opaque, uint64_t addr, uint64_t val,
                             unsigned size)
{
    FWCfgState *s = opaque;

    /* 16-bit writes select; byte writes to the data port are ignored. */
    if (size == 2 && addr == 0) {
        fw_cfg_select(s, val);
    }
}

static const MemoryRegionOps fw_cfg_ctl_ops = {
    .read = fw_cfg_ctl_read,
    .write = fw_cfg_ctl_write,
    .min_access_size = 1,
    .max_access_size = 2,
};

/* ---- DMA interface ------------------------------------------------------ */

/* [addr, addr + len) is guest RAM/ROM throughout (no MMIO, no hole). */
static bool dma_range_is_memory(uint64_t addr, uint64_t len)
{
    while (len) {
        const FlatRange *r = address_space_lookup(&address_space_memory,
                                                  addr);
        uint64_t n;

        if (!r || r->mr->type == MR_IO) {
            return false;
        }
        n = MIN(len, r->start + r->size - addr);
        addr += n;
        len -= n;
    }
    return true;
}

/* Guest [addr, addr + len) is memory a DMA may read or write. */
static bool dma_dest_ok(uint64_t addr, uint64_t len)
{
    return len <= UINT64_MAX - addr && dma_range_is_memory(addr, len);
}

static bool fw_cfg_dma_zero(uint64_t addr, uint64_t len)
{
    static const uint8_t zeros[FW_CFG_DMA_CHUNK];

    while (len) {
        uint64_t n = MIN(len, sizeof(zeros));
        if (dma_write(addr, zeros, n) != MEMTX_OK) {
            return false;
        }
        addr += n;
        len -= n;
    }
    return true;
}

typedef enum FWCfgDmaOp {
    FW_CFG_DMA_OP_NONE,
    FW_CFG_DMA_OP_READ,
    FW_CFG_DMA_OP_WRITE,
    FW_CFG_DMA_OP_SKIP,
} FWCfgDmaOp;

static FWCfgDmaOp fw_cfg_dma_op(uint32_t control)
{
    if (control & FW_CFG_DMA_CTL_READ) {
        return FW_CFG_DMA_OP_READ;
    }
    if (control & FW_CFG_DMA_CTL_WRITE) {
        return FW_CFG_DMA_OP_WRITE;
    }
    if (control & FW_CFG_DMA_CTL_SKIP) {
        return FW_CFG_DMA_OP_SKIP;
    }
    return FW_CFG_DMA_OP_NONE;
}

/* Accepted write: the bytes, then the device is told. */
static void fw_cfg_file_store(FWCfgFile *f, uint32_t offset,
                              const uint8_t *buf, uint32_t n)
{
    memcpy(f->data + offset, buf, n);
    if (f->write_cb) {
        f->write_cb(f->cb_opaque, offset, n);
    }
}

bool fw_cfg_write_file(FWCfgState *s, const char *name, uint32_t offset,
                       const void *data, uint32_t len)
{
    int idx = fw_cfg_file_index(s, name);
    FWCfgFile *f = idx < 0 ? NULL : g_ptr_array_index(s->files, idx);

    if (!f || !f->allow_write || offset > f->len || len > f->len - offset) {
        return false;
    }
    fw_cfg_file_store(f, offset, data, len);
    return true;
}

/*
 * A DMA write of @length bytes from guest @address into the selected file
 * at the current offset (QEMU's rules, see the header comment).
 */
static uint32_t fw_cfg_dma_write_file(FWCfgState *s, uint64_t address,
                                      uint32_t length)
{
    const FWCfgEntry *e = fw_cfg_current(s);
    FWCfgFile *f = fw_cfg_current_file(s);
    g_autofree uint8_t *buf = NULL;
    uint32_t offset = s->cur_offset, n;
    bool ok;

    /* Nothing there to write: the error bit, the offset stays. */
    if (!e || !e->data || offset >= e->len) {
        return FW_CFG_DMA_CTL_ERROR;
    }
    /* Any item: the offset moves over what it has room for (QEMU). */
    n = MIN(length, e->len - offset);
    s->cur_offset += n;
    if (!f || !f->allow_write || n != length) {
        return FW_CFG_DMA_CTL_ERROR;
    }
    buf = g_malloc(n);
    ok = dma_dest_ok(address, n) && dma_read(address, buf, n) == MEMTX_OK;
    if (!ok) {
        return FW_CFG_DMA_CTL_ERROR;
    }
    fw_cfg_file_store(f, offset, buf, n);
    return 0;
}

/*
 * Move up to @length bytes of the selected item to guest @address (read),
 * or just advance over them (skip), or write them (writable files).
 * Returns the control word to report.
 */
static uint32_t fw_cfg_dma_run(FWCfgState *s, FWCfgDmaOp op,
                               uint64_t address, uint32_t length)
{
    const FWCfgEntry *e = fw_cfg_current(s);
    uint32_t avail = 0, n;

    if (op == FW_CFG_DMA_OP_NONE || length == 0) {
        return 0;
    }
    if (op == FW_CFG_DMA_OP_WRITE) {
        return fw_cfg_dma_write_file(s, address, length);
    }
    if (e && e->data && s->cur_offset < e->len) {
        avail = e->len - s->cur_offset;
    }
    n = MIN(length, avail);
    if (op == FW_CFG_DMA_OP_READ) {
        if (!dma_dest_ok(address, length)) {
            return FW_CFG_DMA_CTL_ERROR;
        }
        if (n && dma_write(address, e->data + s->cur_offset, n) !=
            MEMTX_OK) {
            return FW_CFG_DMA_CTL_ERROR;
        }
        /* Past the end of the item the guest gets zeros. */
        if (!fw_cfg_dma_zero(address + n, length - n)) {
            return FW_CFG_DMA_CTL_ERROR;
        }
    }
    s->cur_offset += n;
    return 0;
}

/* Report the outcome in the descriptor's control word (RAM only). */
static void fw_cfg_dma_status(uint64_t desc, uint32_t control)
{
    uint8_t status[4];

    if (dma_dest_ok(desc, sizeof(status))) {
        stl_be(status, control);
        dma_write(desc, status, sizeof(status));
    }
}

static void fw_cfg_dma_transfer(FWCfgState *s)
{
    uint64_t desc = s->dma_addr;
    uint8_t raw[FW_CFG_DMA_ACCESS_SIZE];
    uint32_t control, length;
    uint64_t address;

    s->dma_addr = 0;    /* reset before the next access */
    if (!dma_dest_ok(desc, sizeof(raw)) ||
        dma_read(desc, raw, sizeof(raw)) != MEMTX_OK) {
        fw_cfg_dma_status(desc, FW_CFG_DMA_CTL_ERROR);
        return;
    }
    control = ldl_be(raw);
    length = ldl_be(raw + 4);
    address = ldq_be(raw + 8);

    if (control & FW_CFG_DMA_CTL_SELECT) {
        fw_cfg_select(s, control >> 16);
    }
    fw_cfg_dma_status(desc, fw_cfg_dma_run(s, fw_cfg_dma_op(control),
                                           address, length));
}

static uint64_t fw_cfg_dma_read(void *opaque, uint64_t addr, unsigned size)
{
    uint64_t v = 0;

    /* The register reads as the big-endian signature "QEMU CFG". */
    for (unsigned i = 0; i < size && addr + i < FW_CFG_DMA_SIZE; i++) {
        uint8_t b = FW_CFG_DMA_SIGNATURE >> (8 * (7 - (addr + i)));
        v |= (uint64_t)b << (8 * i);
    }
    return v;
}

static void fw_cfg_dma_write(void *opaque, uint64_t addr, uint64_t val,
                             unsigned size)
{
    FWCfgState *s = opaque;
    /* The port is big-endian: the first byte written is the MSB. */
    uint32_t be = GUINT32_SWAP_LE_BE((uint32_t)val);

    if (size != 4) {
        return;
    }
    if (addr == 0) {
        s->dma_addr = (uint64_t)be << 32;
    } else if (addr == 4) {
        s->dma_addr |= be;
        fw_cfg_dma_transfer(s);
    }
}

static const MemoryRegionOps fw_cfg_dma_ops = {
    .read = fw_cfg_dma_read,
    .write = fw_cfg_dma_write,
    .min_access_size = 1,
    .max_access_size = 4,
};

/* ---- device ------------------------------------------------------------- */

static bool fw_cfg_realize(DeviceState *dev, GError **errp)
{
    FWCfgState *s = (FWCfgState *)dev;
    uint32_t features = FW_CFG_VERSION;

    if (fw_cfg_singleton) {
        error_setg(errp, "fw_cfg: only one fw_cfg device is supported");
        return false;
    }
    if (s->iobase > 0xffff - FW_CFG_CTL_SIZE ||
        s->dma_iobase > 0xffff - FW_CFG_DMA_SIZE) {
        error_setg(errp, "fw_cfg: I/O port out of range");
        return false;
    }
    s->files = g_ptr_array_new_with_free_func(fw_cfg_file_free);
    s->cur_entry = FW_CFG_INVALID;

    memory_region_init_io(&s->ctl_io, &fw_cfg_ctl_ops, s, "fwcfg",
                          FW_CFG_CTL_SIZE);
    memory_region_add_subregion(get_system_io(), s->iobase, &s->ctl_io);
    if (s->dma_iobase) {
        memory_region_init_io(&s->dma_io, &fw_cfg_dma_ops, s, "fwcfg.dma",
                              FW_CFG_DMA_SIZE);
        memory_region_add_subregion(get_system_io(), s->dma_iobase,
                                    &s->dma_io);
        features |= FW_CFG_VERSION_DMA;
    }

    fw_cfg_add_bytes(s, FW_CFG_SIGNATURE, FW_CFG_SIGNATURE_STR,
                     strlen(FW_CFG_SIGNATURE_STR));
    fw_cfg_add_i32(s, FW_CFG_ID, features);
    fw_cfg_update_dir(s);
    fw_cfg_singleton = s;
    return true;
}

static void fw_cfg_unrealize(DeviceState *dev)
{
    FWCfgState *s = (FWCfgState *)dev;

    memory_region_del_subregion(get_system_io(), &s->ctl_io);
    memory_region_destroy(&s->ctl_io);
    if (s->dma_iobase) {
        memory_region_del_subregion(get_system_io(), &s->dma_io);
        memory_region_destroy(&s->dma_io);
    }
    for (unsigned a = 0; a < 2; a++) {
        for (unsigned i = 0; i < FW_CFG_FILE_FIRST; i++) {
            g_free(s->entries[a][i].data);
        }
    }
    g_ptr_array_free(s->files, TRUE);
    if (fw_cfg_singleton == s) {
        fw_cfg_singleton = NULL;
    }
}

static void fw_cfg_reset(DeviceState *dev)
{
    FWCfgState *s = (FWCfgState *)dev;

    fw_cfg_select(s, FW_CFG_SIGNATURE);
    s->dma_addr = 0;
}

static int fw_cfg_post_load(void *opaque, int version_id)
{
    FWCfgState *s = opaque;

    /* Items are rebuilt by the machine; drop a selection that is gone. */
    if (s->cur_entry != FW_CFG_INVALID && !fw_cfg_entry(s, s->cur_entry)) {
        s->cur_entry = FW_CFG_INVALID;
    }
    return 0;
}

static const VMStateField fw_cfg_fields[] = {
    VMSTATE_UINT16(cur_entry, FWCfgState),
    VMSTATE_UINT32(cur_offset, FWCfgState),
    VMSTATE_UINT64(dma_addr, FWCfgState),
    VMSTATE_END_OF_LIST(),
};

static const VMStateDescription vmstate_fw_cfg = {
    .name = "fw_cfg",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = fw_cfg_post_load,
    .fields = fw_cfg_fields,
};

static const Property fw_cfg_props[] = {
    DEFINE_PROP("iobase", FWCfgState, iobase, PROP_UINT32, "0x510",
                "selector port (data at iobase + 1)"),
    DEFINE_PROP("dma_iobase", FWCfgState, dma_iobase, PROP_UINT32, "0x514",
                "DMA address register port (0 = no DMA interface)"),
    DEFINE_PROP_END_OF_LIST(),
};

static const DeviceType fw_cfg_io_type = {
    .name = TYPE_FW_CFG_IO,
    .parent = TYPE_DEVICE,
    .desc = "QEMU firmware configuration interface (I/O ports)",
    .instance_size = sizeof(FWCfgState),
    .props = fw_cfg_props,
    .realize = fw_cfg_realize,
    .unrealize = fw_cfg_unrealize,
    .reset = fw_cfg_reset,
    .vmsd = &vmstate_fw_cfg,
};

FWCfgState *fw_cfg_init_io_dma(uint16_t iobase, uint16_t dma_iobase,
                               GError **errp)
{
    DeviceState *dev = device_new(TYPE_FW_CFG_IO, errp);
    g_autofree char *io = g_strdup_printf("%u", iobase);
    g_autofree char *dma = g_strdup_printf("%u", dma_iobase);

    if (!dev) {
        return NULL;
    }
    if (!device_set_prop(dev, "iobase", io, errp) ||
        !device_set_prop(dev, "dma_iobase", dma, errp) ||
        !device_realize(dev, errp)) {
        device_destroy(dev);
        return NULL;
    }
    return (FWCfgState *)dev;
}

FWCfgState *fw_cfg_find(void)
{
    return fw_cfg_singleton;
}

/* ---- boot order --------------------------------------------------------- */

typedef struct BootEntry {
    int32_t bootindex;
    unsigned seq;           /* registration order, for ties */
    char *path;
} BootEntry;

static GPtrArray *boot_entries;
static unsigned boot_seq;
static bool boot_strict;

static void boot_entry_free(gpointer p)
{
    BootEntry *b = p;

    g_free(b->path);
    g_free(b);
}

void fw_boot_order_add(int32_t bootindex, const char *of_path)
{
    BootEntry *b = g_new0(BootEntry, 1);

    if (!boot_entries) {
        boot_entries = g_ptr_array_new_with_free_func(boot_entry_free);
    }
    b->bootindex = bootindex;
    b->seq = boot_seq++;
    b->path = g_strdup(of_path);
    g_ptr_array_add(boot_entries, b);
}

void fw_boot_order_remove(const char *of_path)
{
    for (unsigned i = 0; boot_entries && i < boot_entries->len; i++) {
        BootEntry *b = g_ptr_array_index(boot_entries, i);
        if (!strcmp(b->path, of_path)) {
            g_ptr_array_remove_index(boot_entries, i);
            return;
        }
    }
}

void fw_boot_order_set_strict(bool strict)
{
    boot_strict = strict;
}

static int boot_entry_cmp(gconstpointer a, gconstpointer b)
{
    const BootEntry *x = *(BootEntry *const *)a;
    const BootEntry *y = *(BootEntry *const *)b;

    if (x->bootindex != y->bootindex) {
        return x->bootindex < y->bootindex ? -1 : 1;
    }
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* QEMU's format: paths joined by '\n', NUL-terminated, HALT when strict. */
char *fw_boot_order_build(size_t *len)
{
    GString *s = g_string_new(NULL);

    if (boot_entries) {
        g_ptr_array_sort(boot_entries, boot_entry_cmp);
        for (unsigned i = 0; i < boot_entries->len; i++) {
            BootEntry *b = g_ptr_array_index(boot_entries, i);
            if (s->len) {
                g_string_append_c(s, '\n');
            }
            g_string_append(s, b->path);
        }
    }
    if (boot_strict && s->len) {
        g_string_append(s, "\nHALT");
    }
    *len = s->len ? s->len + 1 : 0;
    return g_string_free(s, FALSE);
}

static void fw_cfg_register(void)
{
    device_type_register(&fw_cfg_io_type);
}
type_init(fw_cfg_register)

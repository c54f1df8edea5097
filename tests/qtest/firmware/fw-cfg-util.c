/*
 * fw_cfg test helpers (see fw-cfg-util.h).  Layouts: QEMU
 * docs/specs/fw_cfg.rst; linker commands: QEMU's bios-linker-loader as
 * SeaBIOS src/fw/romfile_loader.c runs them.
 */
#include "fw-cfg-util.h"
#include <string.h>
#include <sys/wait.h>

#define DMA_DESC_ADDR       0x10000ULL      /* scratch guest RAM */
#define DMA_BUF_ADDR        0x200000ULL
#define DMA_BUF_MAX         (64u << 20)
#define FILE_ENTRY_SIZE     64
#define LOADER_ENTRY_SIZE   128
#define LOADER_FILESZ       56
#define CMD_ALLOCATE        1
#define CMD_ADD_POINTER     2
#define CMD_ADD_CHECKSUM    3
#define CMD_WRITE_POINTER   4
#define DMA_PTR_ADDR        0x10100ULL      /* scratch: a pointer to write */
#define ZONE_HIGH           1
#define ZONE_FSEG           2
#define FAKE_HIGH_BASE      0x07f00000ULL   /* where "the firmware" puts */
#define FAKE_FSEG_BASE      0x000f5000ULL   /* high and F-segment blobs */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

void fw_cfg_select(QTestState *s, uint16_t key)
{
    qtest_outw(s, FW_CFG_CTL, key);
}

void fw_cfg_read(QTestState *s, void *buf, size_t len)
{
    uint8_t *p = buf;

    for (size_t i = 0; i < len; i++) {
        p[i] = qtest_inb(s, FW_CFG_DATA);
    }
}

void fw_cfg_read_entry(QTestState *s, uint16_t key, void *buf, size_t len)
{
    fw_cfg_select(s, key);
    fw_cfg_read(s, buf, len);
}

uint16_t fw_cfg_get_u16(QTestState *s, uint16_t key)
{
    uint8_t b[2];

    fw_cfg_read_entry(s, key, b, sizeof(b));
    return b[0] | b[1] << 8;
}

uint32_t fw_cfg_get_u32(QTestState *s, uint16_t key)
{
    uint8_t b[4];

    fw_cfg_read_entry(s, key, b, sizeof(b));
    return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
}

uint64_t fw_cfg_get_u64(QTestState *s, uint16_t key)
{
    uint8_t b[8];
    uint64_t v = 0;

    fw_cfg_read_entry(s, key, b, sizeof(b));
    for (int i = 7; i >= 0; i--) {
        v = v << 8 | b[i];
    }
    return v;
}

bool fw_cfg_find_file(QTestState *s, const char *name, uint16_t *key,
                      uint32_t *size)
{
    uint8_t cnt[4];
    uint32_t n;

    fw_cfg_read_entry(s, FW_CFG_FILE_DIR, cnt, sizeof(cnt));
    n = be32(cnt);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t e[FILE_ENTRY_SIZE];
        fw_cfg_read(s, e, sizeof(e));
        if (!strncmp((const char *)e + 8, name, FILE_ENTRY_SIZE - 8)) {
            *size = be32(e);
            *key = e[4] << 8 | e[5];
            return true;
        }
    }
    return false;
}

uint32_t fw_cfg_dma(QTestState *s, uint64_t desc_addr, uint32_t control,
                    uint32_t length, uint64_t buf_addr)
{
    uint8_t d[16];

    d[0] = control >> 24;
    d[1] = control >> 16;
    d[2] = control >> 8;
    d[3] = control;
    d[4] = length >> 24;
    d[5] = length >> 16;
    d[6] = length >> 8;
    d[7] = length;
    for (int i = 0; i < 8; i++) {
        d[8 + i] = buf_addr >> (8 * (7 - i));
    }
    qtest_memwrite(s, desc_addr, d, sizeof(d));
    qtest_outl(s, FW_CFG_DMA, GUINT32_SWAP_LE_BE((uint32_t)(desc_addr >> 32)));
    qtest_outl(s, FW_CFG_DMA + 4, GUINT32_SWAP_LE_BE((uint32_t)desc_addr));
    qtest_memread(s, desc_addr, d, 4);
    return be32(d);
}

uint8_t *fw_cfg_get_file(QTestState *s, const char *name, size_t *len)
{
    uint16_t key;
    uint32_t size;
    uint8_t *buf;

    if (!fw_cfg_find_file(s, name, &key, &size)) {
        *len = 0;
        return NULL;
    }
    g_assert_cmpuint(size, <=, DMA_BUF_MAX);
    buf = g_malloc0(size + 1);
    if (size) {
        g_assert_cmphex(fw_cfg_dma(s, DMA_DESC_ADDR,
                                   (uint32_t)key << 16 | DMA_CTL_SELECT |
                                   DMA_CTL_READ, size, DMA_BUF_ADDR), ==, 0);
        qtest_bufread(s, DMA_BUF_ADDR, buf, size);
    }
    *len = size;
    return buf;
}

int run_kvmpc_expect_fail(const char *args, char **err_out)
{
    g_autofree char *cmd = g_strdup_printf(
        "timeout 60 %s -accel qtest -nodefaults -display none %s",
        qtest_kvmpc_binary(), args);
    g_auto(GStrv) argv = NULL;
    g_autofree char *out = NULL;
    GError *err = NULL;
    int status;

    g_assert(g_shell_parse_argv(cmd, NULL, &argv, &err));
    g_assert(g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                          &out, err_out, &status, &err));
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---- linker ---------------------------------------------------------------- */

static LinkedBlob *linked_find(LinkedTables *lt, const char *name)
{
    for (unsigned i = 0; i < lt->nr; i++) {
        if (!strncmp(lt->blobs[i].name, name, LOADER_FILESZ)) {
            return &lt->blobs[i];
        }
    }
    return NULL;
}

static void link_allocate(QTestState *s, LinkedTables *lt, const uint8_t *e,
                          uint64_t *high, uint64_t *fseg)
{
    uint32_t align = e[4 + LOADER_FILESZ] | e[5 + LOADER_FILESZ] << 8 |
                     e[6 + LOADER_FILESZ] << 16 |
                     (uint32_t)e[7 + LOADER_FILESZ] << 24;
    uint8_t zone = e[8 + LOADER_FILESZ];
    LinkedBlob *b;
    uint64_t *next;

    g_assert_cmpuint(lt->nr, <, G_N_ELEMENTS(lt->blobs));
    g_assert(align && !(align & (align - 1)));
    g_assert(zone == ZONE_HIGH || zone == ZONE_FSEG);
    b = &lt->blobs[lt->nr++];
    memcpy(b->name, e + 4, LOADER_FILESZ);
    b->name[LOADER_FILESZ - 1] = 0;
    b->data = fw_cfg_get_file(s, b->name, &b->len);
    g_assert_nonnull(b->data);
    next = zone == ZONE_FSEG ? fseg : high;
    b->addr = (*next + align - 1) & ~(uint64_t)(align - 1);
    *next = b->addr + b->len;
    if (zone == ZONE_FSEG) {
        g_assert_cmphex(*next, <=, 0x100000);
    }
}

static void link_pointer(LinkedTables *lt, const uint8_t *e)
{
    LinkedBlob *dst = linked_find(lt, (const char *)e + 4);
    LinkedBlob *src = linked_find(lt, (const char *)e + 4 + LOADER_FILESZ);
    const uint8_t *f = e + 4 + 2 * LOADER_FILESZ;
    uint32_t off = f[0] | f[1] << 8 | f[2] << 16 | (uint32_t)f[3] << 24;
    uint8_t size = f[4];
    uint64_t v = 0;

    g_assert(dst && src);
    g_assert(size == 1 || size == 2 || size == 4 || size == 8);
    g_assert_cmpuint(off + size, <=, dst->len);
    for (int i = size - 1; i >= 0; i--) {
        v = v << 8 | dst->data[off + i];
    }
    g_assert_cmpuint(v, <, src->len);       /* an offset into the source */
    v += src->addr;
    for (unsigned i = 0; i < size; i++) {
        dst->data[off + i] = v >> (8 * i);
    }
    lt->pointers++;
}

uint8_t byte_sum(const uint8_t *p, size_t len)
{
    uint8_t s = 0;

    for (size_t i = 0; i < len; i++) {
        s += p[i];
    }
    return s;
}

static void link_checksum(LinkedTables *lt, const uint8_t *e)
{
    LinkedBlob *b = linked_find(lt, (const char *)e + 4);
    const uint8_t *f = e + 4 + LOADER_FILESZ;
    uint32_t off = f[0] | f[1] << 8 | f[2] << 16 | (uint32_t)f[3] << 24;
    uint32_t start = f[4] | f[5] << 8 | f[6] << 16 | (uint32_t)f[7] << 24;
    uint32_t len = f[8] | f[9] << 8 | f[10] << 16 | (uint32_t)f[11] << 24;

    g_assert(b);
    g_assert_cmpuint((uint64_t)start + len, <=, b->len);
    g_assert_cmpuint(off, <, b->len);
    /* SeaBIOS: subtract the range's sum */
    b->data[off] -= byte_sum(b->data + start, len);
    lt->checksums++;
}

/* A blob the firmware hands to a device: its bytes are in guest RAM. */
static void link_place_in_guest(QTestState *s, LinkedBlob *b)
{
    if (!b->in_guest) {
        qtest_memwrite(s, b->addr, b->data, b->len);
        b->in_guest = true;
    }
}

/*
 * SeaBIOS's romfile_loader_write_pointer: the address of src + src_offset
 * into fw_cfg file dest at offset, by an fw_cfg DMA write (select + write
 * at offset 0, as qemu_cfg_write_file does; skip first otherwise).
 */
static void link_write_pointer(QTestState *s, LinkedTables *lt,
                               const uint8_t *e)
{
    LinkedBlob *src = linked_find(lt, (const char *)e + 4 + LOADER_FILESZ);
    const uint8_t *f = e + 4 + 2 * LOADER_FILESZ;
    uint32_t off = ldl_le(f), src_off = ldl_le(f + 4);
    uint8_t size = f[8], ptr[8];
    char dest[LOADER_FILESZ];
    uint64_t v;
    uint32_t dsize;
    uint16_t key;

    memcpy(dest, e + 4, LOADER_FILESZ);
    dest[LOADER_FILESZ - 1] = 0;
    g_assert(src);
    g_assert(fw_cfg_find_file(s, dest, &key, &dsize));
    g_assert(size == 1 || size == 2 || size == 4 || size == 8);
    g_assert_cmpuint((uint64_t)off + size, <=, dsize);
    g_assert_cmpuint(src_off, <, src->len);
    link_place_in_guest(s, src);
    v = src->addr + src_off;
    for (unsigned i = 0; i < 8; i++) {
        ptr[i] = v >> (8 * i);
    }
    qtest_memwrite(s, DMA_PTR_ADDR, ptr, size);
    if (off) {
        g_assert_cmphex(fw_cfg_dma(s, DMA_DESC_ADDR,
                                   (uint32_t)key << 16 | DMA_CTL_SELECT |
                                   DMA_CTL_SKIP, off, 0), ==, 0);
        g_assert_cmphex(fw_cfg_dma(s, DMA_DESC_ADDR, DMA_CTL_WRITE, size,
                                   DMA_PTR_ADDR), ==, 0);
    } else {
        g_assert_cmphex(fw_cfg_dma(s, DMA_DESC_ADDR,
                                   (uint32_t)key << 16 | DMA_CTL_SELECT |
                                   DMA_CTL_WRITE, size, DMA_PTR_ADDR), ==, 0);
    }
    lt->write_pointers++;
}

void acpi_link_tables(QTestState *s, LinkedTables *lt)
{
    size_t len;
    g_autofree uint8_t *loader = fw_cfg_get_file(s, "etc/table-loader", &len);
    uint64_t high = FAKE_HIGH_BASE, fseg = FAKE_FSEG_BASE;

    memset(lt, 0, sizeof(*lt));
    g_assert_nonnull(loader);
    g_assert_cmpuint(len % LOADER_ENTRY_SIZE, ==, 0);
    for (size_t off = 0; off < len; off += LOADER_ENTRY_SIZE) {
        const uint8_t *e = loader + off;
        uint32_t cmd = e[0] | e[1] << 8 | e[2] << 16 | (uint32_t)e[3] << 24;

        switch (cmd) {
        case CMD_ALLOCATE:
            link_allocate(s, lt, e, &high, &fseg);
            break;
        case CMD_ADD_POINTER:
            link_pointer(lt, e);
            break;
        case CMD_ADD_CHECKSUM:
            link_checksum(lt, e);
            break;
        case CMD_WRITE_POINTER:
            link_write_pointer(s, lt, e);
            break;
        default:
            g_assert_cmpuint(cmd, ==, 0);   /* padding */
        }
    }
}

void acpi_linked_free(LinkedTables *lt)
{
    for (unsigned i = 0; i < lt->nr; i++) {
        g_free(lt->blobs[i].data);
    }
    memset(lt, 0, sizeof(*lt));
}

const uint8_t *acpi_linked_ptr(const LinkedTables *lt, uint64_t addr,
                               size_t len)
{
    for (unsigned i = 0; i < lt->nr; i++) {
        const LinkedBlob *b = &lt->blobs[i];
        if (addr >= b->addr && addr - b->addr <= b->len &&
            len <= b->len - (addr - b->addr)) {
            return b->data + (addr - b->addr);
        }
    }
    return NULL;
}
